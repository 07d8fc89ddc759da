"""The queue between EventBridge and the dispatcher, its DLQ and the rule's DLQ, all encrypted
alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam
from s3ep_pulumi.component.context import Context, json_doc
from s3ep_pulumi.component.encryption import Encryption
from s3ep_pulumi.model import resources
from s3ep_pulumi.model.args import S3EventProcessorArgs


@dataclass(frozen=True)
class Queues:
    queue: aws.sqs.Queue
    dlq: aws.sqs.Queue
    rule_dlq: aws.sqs.Queue
    encryption: dict[str, Any]  # every queue's encryption settings, the function's DLQ's too
    key_arn: pulumi.Input[str] | None = None  # their customer key; None: SQS-managed encryption


def queue_encryption(args: S3EventProcessorArgs, encryption: Encryption) -> dict[str, Any]:
    """Encryption settings of every queue (`resources.queue_key`)."""
    key: pulumi.Input[str] | None
    match resources.queue_key(args):
        case "given-key":
            key = resources.given_queue_key_arn(args)
        case "component-key":
            key = encryption.key_arn
        case "sqs-managed":
            return {"sqs_managed_sse_enabled": True}
    return {
        "kms_master_key_id": key,
        "kms_data_key_reuse_period_seconds": args.queue.kms_data_key_reuse_seconds,
    }


def tls_only_policy(ctx: Context, role: str, queue: aws.sqs.Queue) -> aws.sqs.QueuePolicy:
    """`f"{name}-{role}-policy"`: the queue refuses requests without TLS."""
    return aws.sqs.QueuePolicy(
        f"{ctx.name}-{role}-policy",
        queue_url=queue.url,
        policy=json_doc(lambda arn: iam.queue_policy(arn, None), queue.arn),
        opts=ctx.opts(),
    )


def queues(ctx: Context, args: S3EventProcessorArgs, encryption: Encryption) -> Queues:
    q, n = args.queue, args.names
    enc = queue_encryption(args, encryption)
    # Dead letters: kept for the longest retention, so nothing ages out before a human looks.
    dlq = aws.sqs.Queue(
        f"{ctx.name}-dlq",
        name=n.dlq,
        message_retention_seconds=q.dlq_retention_seconds,
        tags=ctx.tags,
        opts=ctx.opts(),
        **enc,
    )
    # The buffer between EventBridge and the dispatcher.
    queue = aws.sqs.Queue(
        f"{ctx.name}-queue",
        name=n.queue,
        visibility_timeout_seconds=args.budget.visibility_timeout_seconds,
        message_retention_seconds=q.message_retention_seconds,
        max_message_size=q.max_message_size_bytes,
        receive_wait_time_seconds=args.dispatch.receive_wait_seconds,
        redrive_policy=json_doc(lambda arn: iam.redrive_policy(arn, q.max_receive_count), dlq.arn),
        tags=ctx.tags,
        opts=ctx.opts(),
        **enc,
    )
    # Only the main queue may redrive into the DLQ.
    aws.sqs.RedriveAllowPolicy(
        f"{ctx.name}-dlq-redrive-allow",
        queue_url=dlq.url,
        redrive_allow_policy=json_doc(iam.redrive_allow_policy, queue.arn),
        opts=ctx.opts(),
    )
    tls_only_policy(ctx, "dlq", dlq)
    # Events EventBridge could not deliver to the queue (e.g. a KMS key it may not use).
    rule_dlq = aws.sqs.Queue(
        f"{ctx.name}-rule-dlq",
        name=n.rule_dlq,
        message_retention_seconds=q.dlq_retention_seconds,
        tags=ctx.tags,
        opts=ctx.opts(),
        **enc,
    )
    return Queues(
        queue=queue,
        dlq=dlq,
        rule_dlq=rule_dlq,
        encryption=enc,
        key_arn=enc.get("kms_master_key_id"),
    )
