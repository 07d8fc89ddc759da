"""The backfill state machine (`backfill.enabled`): a Distributed Map over the bucket listing
that enqueues existing objects, started by `s3ep backfill --distributed`. Declared only when
enabled; it is never scheduled."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam
from s3ep_pulumi.builders.backfill import backfill_definition, backfill_policy
from s3ep_pulumi.component.context import Context, json_doc
from s3ep_pulumi.component.encryption import Encryption
from s3ep_pulumi.component.queues import Queues
from s3ep_pulumi.component.storage import Storage
from s3ep_pulumi.model import resources
from s3ep_pulumi.model.args import S3EventProcessorArgs

# A Distributed Map runs in a STANDARD parent; its children are EXPRESS (the definition).
WORKFLOW_TYPE = "STANDARD"


@dataclass(frozen=True)
class Backfill:
    state_machine: aws.sfn.StateMachine
    role: aws.iam.Role


def backfill(
    ctx: Context,
    args: S3EventProcessorArgs,
    storage: Storage,
    queues: Queues,
    encryption: Encryption,
) -> Backfill | None:
    b, n = args.backfill, args.names
    if not b.enabled:
        return None
    d = args.dispatch  # logging and tracing as the dispatcher's
    machine_arn = ctx.arn("states", f"stateMachine:{n.backfill_state_machine}")
    children = [
        ctx.arn("states", f"execution:{n.backfill_state_machine}/*:*"),
        ctx.arn("states", f"express:{n.backfill_state_machine}/*:*:*"),
    ]
    log_group = aws.cloudwatch.LogGroup(
        f"{ctx.name}-backfill-logs",
        name=n.backfill_log_group,
        retention_in_days=resources.dispatcher_log_retention_days(args),
        kms_key_id=encryption.log_group_key(args),
        tags=ctx.tags,
        opts=ctx.opts(depends_on=encryption.ready),
    )
    role = ctx.role(
        "backfill",
        n.backfill_role,
        json_doc(iam.states_assume_role, ctx.account, machine_arn),
        json_doc(
            lambda bucket, queue, machine, key, *child: backfill_policy(
                bucket_arn=bucket,
                queue_arn=queue,
                state_machine_arn=machine,
                child_execution_arns=list(child),
                queue_kms_key_arn=key,
                tracing=d.tracing,
                logging=d.logging_enabled,
            ),
            storage.bucket_arn,
            queues.queue.arn,
            machine_arn,
            queues.key_arn,
            *children,
        ),
    )
    # The machine: list, filter, shape, send.
    machine = aws.sfn.StateMachine(
        f"{ctx.name}-backfill",
        name=n.backfill_state_machine,
        type=WORKFLOW_TYPE,
        role_arn=role.arn,
        definition=pulumi.Output.all(storage.bucket_name, queues.queue.url).apply(
            lambda v: json.dumps(
                backfill_definition(
                    bucket=v[0],
                    queue_url=v[1],
                    prefixes=args.bucket.prefixes,
                    suffixes=args.bucket.suffixes,
                    max_concurrency=b.max_concurrency,
                    items_per_batch=b.items_per_batch,
                ),
                indent=2,
            )
        ),
        logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
            level=d.log_level,
            include_execution_data=False,  # object keys stay out of the logs
            log_destination=log_group.arn.apply(lambda arn: f"{arn}:*"),
        ),
        tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=d.tracing),
        tags=ctx.tags,
        opts=ctx.opts(depends_on=role.ready),
    )
    return Backfill(state_machine=machine, role=role.role)
