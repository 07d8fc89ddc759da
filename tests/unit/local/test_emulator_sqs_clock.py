"""The emulator's SQS clock (docs/aws-semantics.md S15): moto reads the time through datetime
arithmetic for every queued message on every receive; the emulator reads the same clock directly
and must answer exactly as moto does: visibility, delay and retention."""

from __future__ import annotations

import time
from typing import Any

import boto3
from moto import mock_aws
from moto.sqs import models as sqs_models

from s3ep_pulumi.local.emulator import EMULATOR_CONFIG, patched_seams


def ok(event: dict[str, Any], context: Any) -> dict[str, int]:
    return {"statusCode": 200}


def bodies(sqs: Any, url: str, visibility: int = 30) -> list[str]:
    answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility)
    return sorted(m["Body"] for m in answer.get("Messages", []))


def test_the_emulators_sqs_clock_keeps_visibility_delay_and_retention_as_moto_answers_them(
    aws_env: dict[str, str],
) -> None:
    original = sqs_models.unix_time_millis
    with mock_aws(config=EMULATOR_CONFIG), patched_seams(ok):
        assert sqs_models.unix_time_millis is not original
        # the same clock as moto's, to the millisecond
        assert abs(sqs_models.unix_time_millis() - original()) < 50
        sqs = boto3.client("sqs")
        url = sqs.create_queue(QueueName="clock")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="now")
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=2)
        # a delayed message is not received before its delay, a received one stays hidden
        assert bodies(sqs, url, visibility=1) == ["now"]
        assert bodies(sqs, url) == []
        time.sleep(2.2)
        # both visible again: the visibility timeout (1 s) and the delay (2 s) are over
        assert bodies(sqs, url) == ["later", "now"]
        # a message past its retention is never returned (moto's check, read from the queue)
        short = sqs.create_queue(QueueName="short", Attributes={"MessageRetentionPeriod": "60"})
        sqs.send_message(QueueUrl=short["QueueUrl"], MessageBody="old")
        queue = sqs_models.sqs_backends["123456789012"]["us-east-1"].get_queue("short")
        for message in queue._messages:
            message.sent_timestamp -= 61_000  # sent 61 s ago: retention ran out
        assert bodies(sqs, short["QueueUrl"]) == []
    # restored when the emulator closes
    assert sqs_models.unix_time_millis is original
