"""The Step Functions dispatcher that drains the queue into the function, its lease table, and
the schedule that starts a poller every poll interval. Under STANDARD the dispatcher is a parent
that loops over EXPRESS runs of a second state machine, which do the per-message work."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam
from s3ep_pulumi.builders.state_machine import DispatcherTargets, definition, parent_definition
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

# The type of the state machine that does the per-message work under a STANDARD parent.
RUN_WORKFLOW_TYPE = "EXPRESS"


@dataclass(frozen=True)
class Run:
    """STANDARD only: the EXPRESS state machine the parent runs once per round."""

    state_machine: aws.sfn.StateMachine
    role: GrantedRole
    log_group: aws.cloudwatch.LogGroup


@dataclass(frozen=True)
class Dispatcher:
    state_machine: aws.sfn.StateMachine
    role: GrantedRole
    log_group: aws.cloudwatch.LogGroup
    table: aws.dynamodb.Table
    run: Run | None = None  # STANDARD: the per-round EXPRESS runs


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


def _log_group(
    ctx: Context, args: S3EventProcessorArgs, encryption: Encryption, role: str, name: str
) -> aws.cloudwatch.LogGroup:
    """A state machine's log group: the dispatcher's retention, the log groups' key."""
    return aws.cloudwatch.LogGroup(
        f"{ctx.name}-{role}-logs",
        name=name,
        retention_in_days=resources.dispatcher_log_retention_days(args),
        kms_key_id=encryption.log_group_key(args),
        tags=ctx.tags,
        opts=ctx.opts(depends_on=encryption.ready),
    )


def _worker_role(
    ctx: Context,
    args: S3EventProcessorArgs,
    queues: Queues,
    function: Function,
    table: aws.dynamodb.Table,
    table_key: pulumi.Input[str],
    *,
    role: str,
    name: str,
    machine_arn: pulumi.Output[str],
    hands_over: bool,
) -> GrantedRole:
    """The role of the state machine that drains the queue: queue, DLQ, lease, function, and
    (`hands_over`, EXPRESS alone) its own state machine for the handover."""
    d = args.dispatch
    return ctx.role(
        role,
        name,
        json_doc(iam.states_assume_role, ctx.account, machine_arn),
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
                state_machine_arn=machine if hands_over else None,
            ),
            queues.queue.arn,
            queues.dlq.arn,
            table.arn,
            function.arn,
            queues.key_arn,
            table_key,
            machine_arn,
        ),
    )


def _state_machine(
    ctx: Context,
    args: S3EventProcessorArgs,
    role_name: str,
    name: str,
    workflow_type: str,
    role: GrantedRole,
    log_group: aws.cloudwatch.LogGroup,
    body: pulumi.Output[str],
    depends_on: list[pulumi.Resource] | None = None,
) -> aws.sfn.StateMachine:
    """A dispatcher state machine: logs at the configured level into `log_group`, traced."""
    d = args.dispatch
    return aws.sfn.StateMachine(
        f"{ctx.name}-{role_name}",
        name=name,
        type=workflow_type,
        role_arn=role.arn,
        definition=body,
        logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
            level=d.log_level,
            include_execution_data=d.include_execution_data,
            log_destination=log_group.arn.apply(lambda arn: f"{arn}:*"),
        ),
        tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=d.tracing),
        tags=resources.state_machine_tags(args, ctx.tags),
        opts=ctx.opts(depends_on=[*role.ready, *(depends_on or [])]),
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
    log_group = _log_group(ctx, args, encryption, "dispatcher", n.dispatcher_log_group)

    def worker_definition(handover: bool) -> pulumi.Output[str]:
        return pulumi.Output.all(
            queues.queue.url, queues.dlq.url, table.name, function.invoke_arn
        ).apply(
            lambda v: json.dumps(
                definition(
                    args,
                    DispatcherTargets(
                        queue_url=v[0], dlq_url=v[1], table_name=v[2], function_arn=v[3]
                    ),
                    handover=handover,
                ),
                indent=2,
            )
        )

    run: Run | None = None
    if d.workflow_type == "STANDARD":
        # The parent (STANDARD) loops; each round one EXPRESS run does the per-message work.
        run_arn = ctx.arn("states", f"stateMachine:{n.run_state_machine}")
        run_log_group = _log_group(ctx, args, encryption, "dispatcher-run", n.run_log_group)
        run_role = _worker_role(
            ctx,
            args,
            queues,
            function,
            table,
            table_key,
            role="dispatcher-run",
            name=n.run_role,
            machine_arn=run_arn,
            hands_over=False,
        )
        run_machine = _state_machine(
            ctx,
            args,
            "dispatcher-run",
            n.run_state_machine,
            RUN_WORKFLOW_TYPE,
            run_role,
            run_log_group,
            worker_definition(handover=False),
        )
        run = Run(state_machine=run_machine, role=run_role, log_group=run_log_group)
        role = ctx.role(
            "dispatcher",
            n.dispatcher_role,
            json_doc(iam.states_assume_role, ctx.account, state_machine_arn),
            json_doc(
                lambda machine, runs, rule: iam.dispatcher_parent_policy(
                    state_machine_arn=machine,
                    run_state_machine_arn=runs,
                    run_executions_arns=iam.run_execution_arns(runs),
                    sync_rule_arn=rule,
                    tracing=d.tracing,
                    logging=d.logging_enabled,
                ),
                state_machine_arn,
                run_arn,
                ctx.arn("events", f"rule/{iam.SYNC_EXECUTION_RULE}"),
            ),
        )
        machine = _state_machine(
            ctx,
            args,
            "dispatcher",
            n.state_machine,
            d.workflow_type,
            role,
            log_group,
            run_arn.apply(lambda arn: json.dumps(parent_definition(args, arn), indent=2)),
            depends_on=[run_machine],
        )
    else:
        role = _worker_role(
            ctx,
            args,
            queues,
            function,
            table,
            table_key,
            role="dispatcher",
            name=n.dispatcher_role,
            machine_arn=state_machine_arn,
            hands_over=True,
        )
        machine = _state_machine(
            ctx,
            args,
            "dispatcher",
            n.state_machine,
            d.workflow_type,
            role,
            log_group,
            worker_definition(handover=True),
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
    return Dispatcher(state_machine=machine, role=role, log_group=log_group, table=table, run=run)
