"""The Step Functions dispatcher that drains the queue into the function, its lease table, and
the schedule that starts a poller every poll interval."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam
from s3ep_pulumi.builders.state_machine import DispatcherTargets, definition
from s3ep_pulumi.component.context import Context, GrantedRole, json_doc
from s3ep_pulumi.component.encryption import Encryption
from s3ep_pulumi.component.function import Function
from s3ep_pulumi.component.queues import Queues
from s3ep_pulumi.model import resources
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.sections import (
    SCHEDULE_FLEXIBLE_WINDOW,
    SCHEDULE_INPUT,
    SCHEDULE_RETRY_ATTEMPTS,
)


@dataclass(frozen=True)
class Dispatcher:
    state_machine: aws.sfn.StateMachine
    role: GrantedRole
    log_group: aws.cloudwatch.LogGroup
    table: aws.dynamodb.Table


def dispatch_table(
    ctx: Context, args: S3EventProcessorArgs, encryption: Encryption
) -> aws.dynamodb.Table:
    """`f"{name}-dispatch"`: the dispatcher's lease (one item, conditional writes). On demand, so
    an idle processor costs nothing; point-in-time recovery on; encrypted with the component's
    key when there is one, else with an AWS owned key."""
    key = encryption.processor_key_arn
    return aws.dynamodb.Table(
        f"{ctx.name}-dispatch",
        name=args.names.dispatch_table,
        billing_mode="PAY_PER_REQUEST",
        hash_key="pk",
        attributes=[aws.dynamodb.TableAttributeArgs(name="pk", type="S")],
        point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
        server_side_encryption=(
            aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=key)
            if key is not None
            else None
        ),
        tags=ctx.tags,
        opts=ctx.opts(depends_on=encryption.ready),
    )


def dispatcher(
    ctx: Context,
    args: S3EventProcessorArgs,
    queues: Queues,
    function: Function,
    encryption: Encryption,
) -> Dispatcher:
    d, n = args.dispatch, args.names
    table = dispatch_table(ctx, args, encryption)
    table_key = encryption.processor_key_arn if encryption.processor_key_arn is not None else ""
    state_machine_arn = ctx.arn("states", f"stateMachine:{n.state_machine}")
    log_group = aws.cloudwatch.LogGroup(
        f"{ctx.name}-dispatcher-logs",
        name=n.dispatcher_log_group,
        retention_in_days=resources.dispatcher_log_retention_days(args),
        kms_key_id=encryption.log_group_key(args),
        tags=ctx.tags,
        opts=ctx.opts(depends_on=encryption.ready),
    )
    role = ctx.role(
        "dispatcher",
        n.dispatcher_role,
        json_doc(iam.states_assume_role, ctx.account, state_machine_arn),
        json_doc(
            lambda queue, dlq, lease, fn, qkey, tkey, machine: iam.dispatcher_policy(
                queue_arn=queue,
                dlq_arn=dlq,
                table_arn=lease,
                function_arn=fn,
                queue_kms_key_arn=qkey,
                tracing=d.tracing,
                logging=d.logging_enabled,
                table_kms_key_arn=tkey or None,
                state_machine_arn=machine,
            ),
            queues.queue.arn,
            queues.dlq.arn,
            table.arn,
            function.arn,
            queues.key_arn,
            table_key,
            state_machine_arn,
        ),
    )
    machine = aws.sfn.StateMachine(
        f"{ctx.name}-dispatcher",
        name=n.state_machine,
        type=d.workflow_type,
        role_arn=role.arn,
        definition=pulumi.Output.all(
            queues.queue.url, queues.dlq.url, table.name, function.invoke_arn
        ).apply(
            lambda v: json.dumps(
                definition(
                    args,
                    DispatcherTargets(
                        queue_url=v[0], dlq_url=v[1], table_name=v[2], function_arn=v[3]
                    ),
                ),
                indent=2,
            )
        ),
        logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
            level=d.log_level,
            include_execution_data=d.include_execution_data,
            log_destination=log_group.arn.apply(lambda arn: f"{arn}:*"),
        ),
        tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=d.tracing),
        tags=resources.state_machine_tags(args, ctx.tags),
        opts=ctx.opts(depends_on=role.ready),
    )
    # The poll trigger: EventBridge Scheduler starts a poller every poll interval.
    scheduler_role = ctx.role(
        "scheduler",
        n.scheduler_role,
        json_doc(iam.scheduler_assume_role, ctx.account),
        json_doc(iam.scheduler_policy, machine.arn),
    )
    aws.scheduler.Schedule(
        f"{ctx.name}-poll",
        name=n.schedule,
        schedule_expression=d.schedule_expression,
        flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(
            mode=SCHEDULE_FLEXIBLE_WINDOW
        ),
        target=aws.scheduler.ScheduleTargetArgs(
            arn=machine.arn,
            role_arn=scheduler_role.arn,
            input=SCHEDULE_INPUT,
            retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=d.schedule_max_event_age_seconds,
                maximum_retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
            ),
        ),
        opts=ctx.opts(depends_on=scheduler_role.ready),
    )
    return Dispatcher(state_machine=machine, role=role, log_group=log_group, table=table)
