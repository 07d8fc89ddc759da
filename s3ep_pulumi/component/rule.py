"""The EventBridge rule that matches the bucket's object events and sends them to the queue."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_aws as aws

from s3ep_pulumi.builders import iam
from s3ep_pulumi.builders.event_pattern import INPUT_PATHS, INPUT_TEMPLATE, event_pattern_json
from s3ep_pulumi.component.context import Context, json_doc
from s3ep_pulumi.component.queues import Queues
from s3ep_pulumi.component.storage import Storage
from s3ep_pulumi.model import limits
from s3ep_pulumi.model.args import S3EventProcessorArgs


@dataclass(frozen=True)
class Rule:
    rule: aws.cloudwatch.EventRule


def rule(ctx: Context, args: S3EventProcessorArgs, storage: Storage, queues: Queues) -> Rule:
    b, n = args.bucket, args.names
    # Matches this bucket's events of the configured types on keys passing the filters.
    rule = aws.cloudwatch.EventRule(
        f"{ctx.name}-rule",
        name=n.rule,
        description=f"S3 object events of {ctx.name} to its queue",
        event_pattern=storage.bucket_name.apply(
            lambda bucket: event_pattern_json(bucket, b.event_types, b.prefixes, b.suffixes)
        ),
        tags=ctx.tags,
        opts=ctx.opts(),
    )
    # The queue accepts messages from this rule only, over TLS only.
    queue_policy = aws.sqs.QueuePolicy(
        f"{ctx.name}-queue-policy",
        queue_url=queues.queue.url,
        policy=json_doc(iam.queue_policy, queues.queue.arn, rule.arn),
        opts=ctx.opts(),
    )
    aws.sqs.QueuePolicy(
        f"{ctx.name}-rule-dlq-policy",
        queue_url=queues.rule_dlq.url,
        policy=json_doc(iam.queue_policy, queues.rule_dlq.arn, rule.arn),
        opts=ctx.opts(),
    )
    # Rule -> queue, with the payload shaped for the function, retried as long and as often as
    # EventBridge allows before the event goes to the rule DLQ.
    aws.cloudwatch.EventTarget(
        f"{ctx.name}-rule-target",
        rule=rule.name,
        target_id=n.rule_target,
        arn=queues.queue.arn,
        input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
            input_paths=INPUT_PATHS,
            input_template=INPUT_TEMPLATE,
        ),
        retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
            maximum_event_age_in_seconds=limits.EVENTBRIDGE_TARGET_EVENT_AGE_MAX_SECONDS,
            maximum_retry_attempts=limits.EVENTBRIDGE_TARGET_RETRY_ATTEMPTS_MAX,
        ),
        dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
            arn=queues.rule_dlq.arn,
        ),
        opts=ctx.opts(depends_on=[queue_policy]),
    )
    return Rule(rule=rule)
