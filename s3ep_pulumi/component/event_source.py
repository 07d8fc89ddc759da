"""The event source mapping engine: Lambda's SQS event source mapping drains the queue into the
function's `live` alias, at most `dispatch.max_concurrency` invocations at once, each with up to
`dispatch.batch_size` messages (docs/dispatch.md, "The event source mapping engine")."""

from __future__ import annotations

import pulumi_aws as aws

from s3ep_pulumi.component.context import Context
from s3ep_pulumi.component.function import Function
from s3ep_pulumi.component.queues import Queues
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.sections import (
    MAPPING_BATCHING_WINDOW_SECONDS,
    MAPPING_FUNCTION_RESPONSE_TYPES,
)


def event_source_mapping(
    ctx: Context, args: S3EventProcessorArgs, queues: Queues, function: Function
) -> aws.lambda_.EventSourceMapping | None:
    """`f"{name}-event-source"`, when the engine is the mapping (else None). The shim answers
    each batch with `batchItemFailures`, so only failed messages return to the queue. Lambda
    polls with the function's role, so the mapping waits for its policy (it checks the role
    when the mapping is created)."""
    d = args.dispatch
    if d.uses_dispatcher:
        return None
    ready = function.role.ready if function.role is not None else []
    return aws.lambda_.EventSourceMapping(
        f"{ctx.name}-event-source",
        event_source_arn=queues.queue.arn,
        function_name=function.invoke_arn,
        batch_size=d.batch_size,
        maximum_batching_window_in_seconds=MAPPING_BATCHING_WINDOW_SECONDS,
        scaling_config=aws.lambda_.EventSourceMappingScalingConfigArgs(
            maximum_concurrency=d.max_concurrency
        ),
        function_response_types=list(MAPPING_FUNCTION_RESPONSE_TYPES),
        enabled=True,
        tags=ctx.tags,
        opts=ctx.opts(depends_on=ready),
    )
