"""`s3ep redrive`: put dead letters back in the queue once their cause is fixed.

- The queue's DLQ is redriven by SQS itself (`StartMessageMoveTask`, source the DLQ, no
  destination: back to the queue it came from; docs/aws-semantics.md S13), watched with
  `ListMessageMoveTasks` until it ends. It is refused while the function-errors or
  dispatcher-executions-failed alarm is in ALARM: the messages would only fail again and spend
  their receives.
- `--list` moves nothing: it prints each dead letter's object key with the last failure the shim
  logged for it (one JSON record per failed call in the function's log group, `logger`
  `s3ep_shim`, see runtime/s3ep_shim.py).
- `--rule-dlq` resends what EventBridge parked in the rule DLQ (the raw S3 event, with
  `ERROR_CODE`/`ERROR_MESSAGE` attributes) in the queue's body shape (`message_body`, the one
  definition shared with the rule's input transformer), deleting each only after its send
  succeeded, so an interruption loses nothing (at worst one message is sent twice).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from s3ep_pulumi.builders.event_pattern import message_body
from s3ep_pulumi.errors import S3epError
from s3ep_pulumi.local.stack_outputs import Deployed, queue_url_by_name

# Alarms that say the dispatcher or the function is failing: a redrive would only fail again.
BLOCKING_ALARMS = ("function-errors", "dispatcher-executions-failed")
PEEK_VISIBILITY_SECONDS = 30  # a listed message stays hidden this long, then is released
SHIM_LOGGER = "s3ep_shim"
LOG_LOOKBACK_SECONDS = 14 * 24 * 3600  # the DLQ's default retention: older failures are gone
MOVE_POLL_SECONDS = 0.5
ENDED = ("COMPLETED", "CANCELLED", "FAILED")


class RedriveRefused(S3epError):
    """A redrive would fail again: an alarm that watches the function or the dispatcher fires."""


class MoveTaskFailed(S3epError):
    """SQS ended the redrive task as FAILED or CANCELLED."""


@dataclass(frozen=True)
class DeadLetter:
    """One message of a DLQ, as `--list` shows it."""

    message_id: str
    key: str | None  # None when the body is not an s3ep S3 event
    failures: int  # failure records the shim logged for the key
    last_error: str | None  # the newest of them, or the message's s3ep-reason


def blocking_alarms(deployed: Deployed) -> list[tuple[str, str]]:
    """(alarm, state reason) of each blocking alarm now in ALARM."""
    names = [deployed.names.alarm(key) for key in BLOCKING_ALARMS]
    found = boto3.client("cloudwatch").describe_alarms(AlarmNames=names)["MetricAlarms"]
    return [(a["AlarmName"], a.get("StateReason", "")) for a in found if a["StateValue"] == "ALARM"]


def refuse_if_failing(deployed: Deployed) -> None:
    firing = blocking_alarms(deployed)
    if firing:
        names = ", ".join(name for name, _ in firing)
        raise RedriveRefused(
            f"{names} in ALARM: the dispatcher or the function is failing, so redriven messages "
            "would fail again; fix the cause first (docs/operations.md), or pass --force"
        )


def peek(queue_url: str) -> list[dict[str, Any]]:
    """Every visible message of a queue, with its attributes, left in the queue: each is hidden
    while the queue is paged through, then made visible again."""
    sqs, seen = boto3.client("sqs"), []
    while batch := sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
        MessageAttributeNames=["All"],
    ).get("Messages", []):
        seen += batch
    for m in seen:
        sqs.change_message_visibility(
            QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    return seen


def body_key(body: str) -> str | None:
    try:
        details = json.loads(body).get("s3_details")
    except (ValueError, AttributeError):
        return None
    key = details.get("key") if isinstance(details, dict) else None
    return key if isinstance(key, str) else None


def describe_failure(record: dict[str, Any]) -> str:
    """A shim failure record in a few words: `ValueError: boom` or `statusCode 500`."""
    if record.get("outcome") == "failed":
        return f"statusCode {record.get('statusCode')}"
    if record.get("outcome") == "raised":
        return f"{record.get('error')}: {record.get('message')}"
    return str(record.get("reason") or record.get("outcome"))


def failure_records(
    log_group: str, since_seconds: float = LOG_LOOKBACK_SECONDS
) -> Iterator[dict[str, Any]]:
    """The shim's failure records in the function's log group, oldest first. The filter is a
    plain term (the records are JSON lines with `"logger": "s3ep_shim"`); each line is parsed
    here."""
    logs = boto3.client("logs")
    kwargs: dict[str, Any] = {
        "logGroupName": log_group,
        "filterPattern": f'"{SHIM_LOGGER}"',
        "startTime": int((time.time() - since_seconds) * 1000),
    }
    while True:
        page = logs.filter_log_events(**kwargs)
        for event in page.get("events", []):
            try:
                record = json.loads(event["message"])
            except ValueError:
                continue
            if (
                isinstance(record, dict)
                and record.get("logger") == SHIM_LOGGER
                and record.get("level") == "ERROR"
            ):
                yield record
        if not page.get("nextToken"):
            return
        kwargs["nextToken"] = page["nextToken"]


def list_dead_letters(deployed: Deployed) -> list[DeadLetter]:
    """What a redrive would move: each DLQ message's key and the failures logged for it."""
    messages = peek(deployed.output("dlq_url"))
    by_key: dict[str, list[dict[str, Any]]] = {}
    for record in failure_records(deployed.names.function_log_group):
        if isinstance(record.get("key"), str):
            by_key.setdefault(record["key"], []).append(record)
    out = []
    for m in messages:
        key = body_key(m["Body"])
        records = by_key.get(key, []) if key is not None else []
        reason = m.get("MessageAttributes", {}).get("s3ep-reason", {}).get("StringValue")
        last = describe_failure(records[-1]) if records else reason
        out.append(DeadLetter(m["MessageId"], key, len(records), last))
    return sorted(out, key=lambda d: (d.key is None, d.key or "", d.message_id))


def waiting(queue_url: str) -> int:
    """Messages in a queue: visible and in flight."""
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def start_redrive(deployed: Deployed, max_per_second: int | None) -> str:
    """Start SQS's redrive of the DLQ back to the queue; the task handle."""
    params: dict[str, Any] = {"SourceArn": deployed.output("dlq_arn")}
    if max_per_second is not None:
        params["MaxNumberOfMessagesPerSecond"] = max_per_second
    return str(boto3.client("sqs").start_message_move_task(**params)["TaskHandle"])


def latest_task(source_arn: str) -> dict[str, Any] | None:
    results = boto3.client("sqs").list_message_move_tasks(SourceArn=source_arn, MaxResults=1)
    found = results.get("Results", [])
    return dict(found[0]) if found else None


def wait_for_task(
    source_arn: str,
    on_progress: Callable[[int, int], None] = lambda moved, total: None,
    poll_seconds: float = MOVE_POLL_SECONDS,
) -> dict[str, Any]:
    """Follow the source queue's latest move task until it ends; its last entry.
    `on_progress(moved, to_move)` after each look."""
    while True:
        task = latest_task(source_arn)
        if task is None:
            raise MoveTaskFailed(f"no message move task on {source_arn}")
        on_progress(
            int(task.get("ApproximateNumberOfMessagesMoved", 0)),
            int(task.get("ApproximateNumberOfMessagesToMove", 0)),
        )
        if task["Status"] in ENDED:
            if task["Status"] != "COMPLETED":
                reason = task.get("FailureReason", "")
                raise MoveTaskFailed(f"redrive task ended {task['Status']} {reason}".strip())
            return task
        time.sleep(poll_seconds)


@dataclass(frozen=True)
class Resent:
    """What `--rule-dlq` did."""

    sent: int
    kept: int  # messages left in the rule DLQ: not S3 events, so not resent


def queue_body(parked: str) -> str | None:
    """The queue body for a message of the rule DLQ: a raw S3 event shaped as the input
    transformer shapes it, a body already in that shape as it is, anything else None."""
    try:
        event = json.loads(parked)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    if isinstance(event.get("s3_details"), dict):
        return parked
    try:
        return message_body(event)
    except (KeyError, TypeError):
        return None


def resend_rule_dlq(
    deployed: Deployed, on_sent: Callable[[int], None] = lambda sent: None
) -> Resent:
    """Send every parked event of the rule DLQ to the queue in the queue's body shape; delete
    each from the rule DLQ only after the queue accepted it."""
    sqs = boto3.client("sqs")
    rule_dlq = queue_url_by_name(deployed.names.rule_dlq)
    queue = deployed.output("queue_url")
    sent, kept, held = 0, [], []

    def release(messages: list[dict[str, Any]]) -> None:
        for m in messages:
            sqs.change_message_visibility(
                QueueUrl=rule_dlq, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )

    try:
        while batch := sqs.receive_message(
            QueueUrl=rule_dlq, MaxNumberOfMessages=10, VisibilityTimeout=PEEK_VISIBILITY_SECONDS
        ).get("Messages", []):
            held = list(batch)
            for m in batch:
                body = queue_body(m["Body"])
                if body is None:
                    kept.append(m)
                    held.remove(m)
                    continue
                sqs.send_message(QueueUrl=queue, MessageBody=body)  # raises: the message stays
                sqs.delete_message(QueueUrl=rule_dlq, ReceiptHandle=m["ReceiptHandle"])
                held.remove(m)
                sent += 1
                on_sent(sent)
    finally:
        release(kept + held)  # visible again at once, for the next run or the console
    return Resent(sent, len(kept))
