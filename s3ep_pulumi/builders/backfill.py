"""Backfill as pure data: the S3 event an object already in the bucket stands for, and the
Step Functions definition that enqueues a large bucket's objects (a Distributed Map over the
bucket listing).

Both produce the queue's message body: `listing_event` feeds `event_pattern.message_body`, the
one definition of that body shared with the rule's input transformer; the Distributed Map builds
the same fields from S3's listing (`s3:listObjectsV2` item reader: Key, Size, ETag,
LastModified) with a Pass state.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from s3ep_pulumi.builders.event_pattern import DETAIL_TYPES
from s3ep_pulumi.builders.iam import LOG_DELIVERY_ACTIONS, XRAY_ACTIONS

CREATED = DETAIL_TYPES["created"]
LIST_OBJECTS_READER = "arn:aws:states:::s3:listObjectsV2"
SEND_MESSAGE = "arn:aws:states:::aws-sdk:sqs:sendMessage"


def iso_time(when: datetime.datetime) -> str:
    """An S3 event's `time`: UTC, whole seconds, `Z`."""
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def listing_event(
    bucket: str, key: str, size: int, etag: str, last_modified: datetime.datetime
) -> dict[str, Any]:
    """The `Object Created` event S3 would have sent for an object of a listing. S3 lists the
    ETag in quotes; events carry it bare. A listing has no version id or sequencer."""
    return {
        "detail-type": CREATED,
        "source": "aws.s3",
        "time": iso_time(last_modified),
        "detail": {
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag.strip('"')},
        },
    }


def _pattern_escape(text: str) -> str:
    """A literal for `StringMatches`, where `*` is the wildcard and `\\` escapes."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


def key_choice(prefixes: Sequence[str], suffixes: Sequence[str], variable: str) -> dict[str, Any]:
    """A Choice rule true when the key at `variable` passes the rule's key filters (one prefix
    and one suffix, each list optional), as `event_pattern.key_matches` decides."""
    patterns = [f"{_pattern_escape(p)}*" for p in prefixes] or ["*"]
    if suffixes:
        patterns = [f"{p}{_pattern_escape(s)}" for p in patterns for s in suffixes]
    rules = [{"Variable": variable, "StringMatches": p} for p in patterns]
    return rules[0] if len(rules) == 1 else {"Or": rules}


def backfill_definition(
    *,
    bucket: str,
    queue_url: str,
    prefixes: Sequence[str],
    suffixes: Sequence[str],
    max_concurrency: int,
    items_per_batch: int,
) -> dict[str, Any]:
    """A Distributed Map over `bucket`'s listing (execution input `{"prefix": "..."}`): each
    child execution (EXPRESS) takes one batch of listed objects and sends one message per
    object that passes the key filters, in the queue's body shape."""
    body = {
        "s3_details": {
            "bucket": bucket,
            "key.$": "$.Key",
            "event_type": CREATED,
            "event_time.$": "$.LastModified",
            "object": {
                "key.$": "$.Key",
                "size.$": "$.Size",
                "etag.$": "States.ArrayGetItem(States.StringSplit($.ETag, '\"'), 0)",
            },
        }
    }
    match = key_choice(prefixes, suffixes, "$.Key")
    per_object = {
        "ProcessorConfig": {"Mode": "INLINE"},
        "StartAt": "Match",
        "States": {
            "Match": {"Type": "Choice", "Choices": [{**match, "Next": "Shape"}], "Default": "Skip"},
            "Skip": {"Type": "Pass", "End": True},
            "Shape": {"Type": "Pass", "Parameters": body, "Next": "Send"},
            "Send": {
                "Type": "Task",
                "Resource": SEND_MESSAGE,
                "Parameters": {"QueueUrl": queue_url, "MessageBody.$": "States.JsonToString($)"},
                "Retry": [
                    {
                        "ErrorEquals": ["Sqs.RequestThrottledException", "Sqs.SdkClientException"],
                        "IntervalSeconds": 1,
                        "BackoffRate": 2.0,
                        "MaxAttempts": 5,
                    }
                ],
                "ResultPath": None,
                "End": True,
            },
        },
    }
    return {
        "Comment": "s3ep backfill: enqueue the objects already in the bucket, as S3 events.",
        "StartAt": "Enqueue",
        "States": {
            "Enqueue": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": LIST_OBJECTS_READER,
                    "Parameters": {"Bucket": bucket, "Prefix.$": "$.prefix"},
                },
                "ItemBatcher": {"MaxItemsPerBatch": items_per_batch},
                "MaxConcurrency": max_concurrency,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "EXPRESS"},
                    "StartAt": "Objects",
                    "States": {
                        "Objects": {
                            "Type": "Map",
                            "ItemsPath": "$.Items",
                            "ItemProcessor": per_object,
                            "End": True,
                        }
                    },
                },
                "ResultPath": None,
                "End": True,
            }
        },
    }


def backfill_policy(
    *,
    bucket_arn: str,
    queue_arn: str,
    state_machine_arn: str,
    child_execution_arns: list[str],
    queue_kms_key_arn: str | None,
    tracing: bool,
    logging: bool,
) -> dict[str, Any]:
    """The backfill machine's role: list the bucket, send to the queue, and run its own child
    executions (a Distributed Map starts them: `states:StartExecution` on the machine itself,
    `DescribeExecution`/`StopExecution` on its children: `execution:<machine>/<map run>:<name>`
    and, EXPRESS children, `express:<machine>/<map run>:<name>:<id>`, as the Step Functions
    guide's "IAM policies for using Distributed Map states" lists), trace and log."""

    def allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
        return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}

    statements = [
        allow("ListBucket", ["s3:ListBucket"], [bucket_arn]),
        allow("Enqueue", ["sqs:SendMessage"], [queue_arn]),
        allow("StartChildren", ["states:StartExecution"], [state_machine_arn]),
        allow(
            "WatchChildren",
            ["states:DescribeExecution", "states:StopExecution"],
            child_execution_arns,
        ),
    ]
    if queue_kms_key_arn:
        statements.append(
            allow("QueueKey", ["kms:GenerateDataKey", "kms:Decrypt"], [queue_kms_key_arn])
        )
    if tracing:
        statements.append(allow("Tracing", XRAY_ACTIONS, ["*"]))
    if logging:
        statements.append(allow("LogDelivery", LOG_DELIVERY_ACTIONS, ["*"]))
    return {"Version": "2012-10-17", "Statement": statements}
