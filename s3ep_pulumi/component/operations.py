"""What an on-call engineer runs on: provisioned concurrency scaled on the queue's depth, the
alarms and their topic, and the dashboard (docs/operations.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import cast

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam, scaling
from s3ep_pulumi.builders.alarms import AlarmTargets, alarm_specs
from s3ep_pulumi.builders.dashboard import DashboardTargets, MappingFigures
from s3ep_pulumi.builders.dashboard import body as dashboard_body
from s3ep_pulumi.component.context import Context, json_doc
from s3ep_pulumi.component.dispatcher import Dispatcher
from s3ep_pulumi.component.encryption import Encryption
from s3ep_pulumi.component.function import Function
from s3ep_pulumi.model import resources
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.monitoring import AlarmTopicKey
from s3ep_pulumi.model.naming import Names


@dataclass(frozen=True)
class Alarms:
    topic_arn: pulumi.Output[str] | None  # None when no alarm is enabled
    alarm_arns: tuple[pulumi.Output[str], ...]


def scaling_policy(
    ctx: Context, args: S3EventProcessorArgs, function: Function
) -> aws.appautoscaling.Policy | None:
    """Provisioned concurrency on the alias, between min and max, tracking the queue's backlog
    per provisioned instance (scaling.py and docs/operations.md explain the signal)."""
    f = args.function
    if not f.scale_on_queue_depth:
        return None
    # scaling implies the alias and its provisioned concurrency (FunctionConfig.provisioned)
    assert function.alias is not None and function.provisioned is not None
    target = aws.appautoscaling.Target(
        f"{ctx.name}-scaling-target",
        service_namespace=scaling.SERVICE_NAMESPACE,
        scalable_dimension=scaling.SCALABLE_DIMENSION,
        resource_id=scaling.resource_id(args.function_name, function.alias),
        min_capacity=f.min_provisioned_concurrency,
        max_capacity=f.max_provisioned_concurrency,
        opts=ctx.opts(depends_on=[function.provisioned]),
    )
    return aws.appautoscaling.Policy(
        f"{ctx.name}-scaling-policy",
        name=args.names.scaling_policy,
        policy_type=scaling.POLICY_TYPE,
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration=cast(
            aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgsDict,
            scaling.target_tracking(
                args.names.queue, args.function_name, function.alias, f.messages_per_instance
            ),
        ),
        opts=ctx.opts(),
    )


def alarms(
    ctx: Context,
    args: S3EventProcessorArgs,
    encryption: Encryption,
    dispatcher: Dispatcher | None,
) -> Alarms:
    """Every enabled alarm (`alarm_specs`), with ALARM and OK actions to the topic. Without a
    dispatcher (the event source mapping engine), none of the state machine's."""
    n = args.names
    topic_key = resources.alarm_topic_key(args)
    if topic_key is None:
        return Alarms(topic_arn=None, alarm_arns=())
    topic_arn = _alarm_topic(ctx, args, encryption, topic_key)
    alarm_arns = []
    specs = alarm_specs(
        args,
        AlarmTargets(
            queue=n.queue,
            dlq=n.dlq,
            rule_dlq=n.rule_dlq,
            function_dlq=resources.function_dlq(args),
            rule=n.rule,
            function=args.function_name,
            state_machine_arn=dispatcher.state_machine.arn if dispatcher is not None else None,
            run_state_machine_arn=(
                dispatcher.run.state_machine.arn
                if dispatcher is not None and dispatcher.run is not None
                else None
            ),
        ),
    )
    for spec in specs:
        spec = dict(spec)
        key = spec.pop("key")
        alarm = aws.cloudwatch.MetricAlarm(
            f"{ctx.name}-alarm-{key}",
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
            tags=ctx.tags,
            opts=ctx.opts(),
            **spec,
        )
        alarm_arns.append(alarm.arn)
    return Alarms(topic_arn=topic_arn, alarm_arns=tuple(alarm_arns))


def _alarm_topic(
    ctx: Context, args: S3EventProcessorArgs, encryption: Encryption, topic_key: AlarmTopicKey
) -> pulumi.Output[str]:
    """The topic every alarm sends to: an existing one, or one the component creates, encrypted
    as `topic_key` says, that only this processor's alarms may publish to."""
    a, n = args.monitoring.alarms, args.names
    key_arn: pulumi.Input[str]
    match topic_key:
        case "existing-topic":
            assert a.topic_arn is not None  # the source says so
            return pulumi.Output.from_input(a.topic_arn)
        case "given-key":
            assert a.kms_key_arn is not None  # the source says so
            key_arn = a.kms_key_arn
        case "component-key":
            # The processor's key (security.create_kms_key); its policy admits CloudWatch.
            assert encryption.key_arn is not None  # the source says so
            key_arn = encryption.key_arn
        case "own-key":
            key_arn = _alarm_topic_key(ctx, n)
    topic = aws.sns.Topic(
        f"{ctx.name}-alarms",
        name=n.alarm_topic,
        kms_master_key_id=key_arn,
        tags=ctx.tags,
        opts=ctx.opts(),
    )
    alarm_prefix = ctx.arn("cloudwatch", f"alarm:{n.alarm('')}")
    aws.sns.TopicPolicy(
        f"{ctx.name}-alarms-policy",
        arn=topic.arn,
        policy=json_doc(iam.alarm_topic_policy, topic.arn, ctx.account, alarm_prefix),
        opts=ctx.opts(),
    )
    for email in a.emails:
        aws.sns.TopicSubscription(
            f"{ctx.name}-{Names.email_subscription(email)}",
            topic=topic.arn,
            protocol="email",
            endpoint=email,
            opts=ctx.opts(),
        )
    return topic.arn


def _alarm_topic_key(ctx: Context, n: Names) -> pulumi.Output[str]:
    """CloudWatch cannot use the AWS-managed SNS key, so the topic gets its own key."""
    key = aws.kms.Key(
        f"{ctx.name}-alarms-key",
        description=f"Encrypts the alarm topic {n.alarm_topic}",
        enable_key_rotation=True,
        policy=json_doc(iam.alarm_topic_key_policy, ctx.account, ctx.partition),
        tags=ctx.tags,
        opts=ctx.opts(),
    )
    aws.kms.Alias(
        f"{ctx.name}-alarms-key-alias",
        name=n.alarm_topic_key_alias,
        target_key_id=key.key_id,
        opts=ctx.opts(),
    )
    return key.arn


def dashboard(
    ctx: Context,
    args: S3EventProcessorArgs,
    function: Function,
    dispatcher: Dispatcher | None,
    alarms: Alarms,
) -> aws.cloudwatch.Dashboard | None:
    """One screen for the whole pipeline, left to right, with the alarms' states on top."""
    n = args.names
    if not args.monitoring.dashboard:
        return None

    def render(region: str, machine: str | None, run: str | None, *alarm_arns: str) -> str:
        targets = DashboardTargets(
            region=region,
            rule=n.rule,
            queue=n.queue,
            dlqs=resources.dead_letter_queues(args),
            state_machine_arn=machine,
            function=args.function_name,
            alias=function.alias,
            alarm_arns=list(alarm_arns),
            messages_per_instance=args.function.scaling_messages_per_instance,
            mapping=(
                None
                if args.dispatch.uses_dispatcher
                else MappingFigures(args.dispatch.max_concurrency, args.dispatch.batch_size)
            ),
            run_state_machine_arn=run,
        )
        return json.dumps(dashboard_body(f"s3ep {ctx.name}", targets))

    return aws.cloudwatch.Dashboard(
        f"{ctx.name}-dashboard",
        dashboard_name=n.dashboard,
        dashboard_body=pulumi.Output.all(
            ctx.region,
            dispatcher.state_machine.arn if dispatcher is not None else None,
            (
                dispatcher.run.state_machine.arn
                if dispatcher is not None and dispatcher.run is not None
                else None
            ),
            *alarms.alarm_arns,
        ).apply(lambda v: render(*v)),
        opts=ctx.opts(),
    )
