"""Lambda's SQS event source mapping, modelled on moto: the event source mapping engine's drain.

moto runs an event source mapping only with Docker (it invokes the function in a container), so
here it is modelled after what AWS documents (docs/aws-semantics.md, L11-L16), driven by what the
component declared (the `aws.lambda_.EventSourceMapping`'s inputs, `MappingSettings.declared`):

- `MaximumConcurrency` pollers, each a loop: receive up to `BatchSize` messages (a long poll,
  with the queue's own visibility timeout), invoke the function synchronously with the SQS
  event (`Records`: messageId, receiptHandle, body, attributes with ApproximateReceiveCount,
  messageAttributes, md5OfBody, eventSource `aws:sqs`, eventSourceARN, awsRegion), then delete
  what AWS deletes. One invocation per poller at a time, so never more than `MaximumConcurrency`
  in flight, as the setting promises.
- The invoke goes through moto's Lambda API, so `emulator.patched_seams` answers it: the
  function's real package in its sandbox (`s3ep simulate`) or a handler in this process, and
  the Recorder records every handler call's start and end.
- What is deleted (`to_delete`), with `ReportBatchItemFailures`: every record not named in
  `batchItemFailures` (an empty or missing list, or an empty or null response: all of them);
  nothing when the function failed (an error, a timeout) or the response is invalid (not JSON,
  not an object, an itemIdentifier that is empty, null, misspelt or not in the batch). Without
  it: everything, unless the function failed. What is not deleted reappears after the queue's
  visibility timeout, and its receive count moves it to the DLQ after `maxReceiveCount`.
- A throttled invoke (`TooManyRequestsException`) is retried with a growing back-off until the
  batch's visibility timeout would run out; then the batch is left to reappear.

Deviations: Lambda starts with five pollers and adds up to 300 a minute, and scales them back on
errors; here all `MaximumConcurrency` pollers start at once. The long poll waits `wait_seconds`
(Lambda's 20 s by default; shorter in tests, so that stopping is quick).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from s3ep_pulumi.local.capture import Capture

MAPPING_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping"
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# Lambda long-polls the queue, 20 s per receive (the most SQS allows).
LAMBDA_LONG_POLL_SECONDS = 20
# A throttled invoke is retried after this many seconds, doubling, at most THROTTLE_BACKOFF_MAX.
THROTTLE_BACKOFF_SECONDS = 0.05
THROTTLE_BACKOFF_MAX_SECONDS = 1.0
SQS_EVENT_SOURCE = "aws:sqs"


@dataclass(frozen=True)
class MappingSettings:
    """What the declared mapping says; `function_name` and `qualifier` as Lambda's Invoke takes
    them (the `live` alias of an ARN `...:function:<name>:live`)."""

    function_name: str
    qualifier: str | None
    batch_size: int
    maximum_concurrency: int
    report_batch_item_failures: bool
    enabled: bool

    @classmethod
    def declared(cls, capture: Capture) -> MappingSettings:
        """The settings of the one event source mapping `capture` declares."""
        inputs = capture.one(MAPPING_TYPE).inputs
        function = str(inputs["functionName"])
        name, qualifier = function, None
        if function.startswith("arn:"):
            parts = function.split(":")
            name, qualifier = parts[6], (parts[7] if len(parts) > 7 else None)
        return cls(
            function_name=name,
            qualifier=qualifier,
            batch_size=int(inputs.get("batchSize") or 10),
            maximum_concurrency=int((inputs.get("scalingConfig") or {})["maximumConcurrency"]),
            report_batch_item_failures=REPORT_BATCH_ITEM_FAILURES
            in (inputs.get("functionResponseTypes") or []),
            enabled=bool(inputs.get("enabled", True)),
        )


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda invokes the function with for messages as `ReceiveMessage` returns
    them (with `AttributeNames=["All"]`)."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes") or {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "dataType": value.get("DataType"),
                    }
                    for name, value in (m.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": SQS_EVENT_SOURCE,
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def to_delete(
    message_ids: list[str], function_error: bool, payload: bytes | str, report: bool
) -> list[str]:
    """The records Lambda deletes after one invocation (see the module docstring)."""
    if function_error:
        return []
    if not report:
        return list(message_ids)
    try:
        response = json.loads(payload) if payload else None
    except ValueError:
        return []  # an invalid JSON response: the whole batch failed
    if response is None:
        return list(message_ids)
    if not isinstance(response, dict):
        return []
    failures = response.get("batchItemFailures")
    if failures is None:
        return list(message_ids)
    if not isinstance(failures, list):
        return []
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return []  # empty, null, misspelt or unknown: the whole batch failed
        failed.add(identifier)
    return [m for m in message_ids if m not in failed]


@dataclass
class MappingFigures:
    """What the emulated mapping did: every SQS request it made, by action (what SQS bills),
    its invocations and their outcomes, the messages it deleted."""

    sqs_requests: Counter[str] = field(default_factory=Counter)
    invocations: int = 0
    throttled: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    deleted: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, action: str) -> None:
        with self._lock:
            self.sqs_requests[action] += 1

    def add(self, **amounts: int) -> None:
        with self._lock:
            for name, amount in amounts.items():
                setattr(self, name, getattr(self, name) + amount)

    def outcome(self, name: str) -> None:
        with self._lock:
            self.outcomes[name] += 1

    @property
    def total_sqs_requests(self) -> int:
        return sum(self.sqs_requests.values())


class EmulatedMapping:
    """The mapping's pollers against the emulated queue (use inside `mock_aws` and
    `patched_seams`); `running()` starts and stops them."""

    def __init__(
        self,
        settings: MappingSettings,
        queue_url: str,
        *,
        wait_seconds: int = LAMBDA_LONG_POLL_SECONDS,
    ) -> None:
        self.settings = settings
        self.queue_url = queue_url
        self.wait_seconds = wait_seconds
        self.figures = MappingFigures()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        sqs = boto3.client("sqs")
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["QueueArn", "VisibilityTimeout"]
        )["Attributes"]
        self.queue_arn = str(attributes["QueueArn"])
        self.visibility_seconds = float(attributes["VisibilityTimeout"])
        self.region = self.queue_arn.split(":")[3]

    def start(self) -> None:
        if not self.settings.enabled:
            return
        # Every poller's clients first (creating them is slow), so that all start polling at once.
        clients = [
            (boto3.client("sqs"), boto3.client("lambda"))
            for _ in range(self.settings.maximum_concurrency)
        ]
        for n, (sqs, lam) in enumerate(clients):
            thread = threading.Thread(
                target=self._poll, args=(sqs, lam), name=f"s3ep-esm-poller-{n}", daemon=True
            )
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        self._threads.clear()

    @contextmanager
    def running(self) -> Iterator[EmulatedMapping]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    def _poll(self, sqs: Any, lam: Any) -> None:
        while not self._stop.is_set():
            self.poll_once(sqs, lam)

    def poll_once(self, sqs: Any, lam: Any) -> int:
        """One poller's round: receive, invoke, delete. The number of messages received."""
        self.figures.count("ReceiveMessage")
        received_at = time.monotonic()
        messages = sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.settings.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        ids = [str(m["MessageId"]) for m in messages]
        answer = self._invoke(lam, sqs_event(messages, self.queue_arn, self.region), received_at)
        if answer is None:  # throttled until the batch's visibility ran out: it reappears
            self.figures.outcome("throttled")
            return len(messages)
        function_error, payload = answer
        deleting = to_delete(ids, function_error, payload, self.settings.report_batch_item_failures)
        self.figures.outcome(
            "function-error"
            if function_error
            else "succeeded"
            if len(deleting) == len(ids)
            else "partial"
            if deleting
            else "all-failed"
        )
        handles = {str(m["MessageId"]): str(m["ReceiptHandle"]) for m in messages}
        for start in range(0, len(deleting), 10):  # DeleteMessageBatch takes at most 10
            chunk = deleting[start : start + 10]
            self.figures.count("DeleteMessageBatch")
            sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": handles[m]} for i, m in enumerate(chunk)],
            )
        self.figures.add(deleted=len(deleting))
        return len(messages)

    def _invoke(
        self, lam: Any, event: dict[str, Any], received_at: float
    ) -> tuple[bool, bytes] | None:
        """(function error?, response payload); None when throttled past the visibility."""
        from botocore.exceptions import ClientError

        backoff = THROTTLE_BACKOFF_SECONDS
        kwargs: dict[str, Any] = {
            "FunctionName": self.settings.function_name,
            "Payload": json.dumps(event).encode(),
        }
        if self.settings.qualifier is not None:
            kwargs["Qualifier"] = self.settings.qualifier
        while True:
            try:
                response = lam.invoke(**kwargs)
            except ClientError as error:
                if error.response["Error"]["Code"] != "TooManyRequestsException":
                    raise
                self.figures.add(throttled=1)
                if time.monotonic() + backoff >= received_at + self.visibility_seconds:
                    return None
                time.sleep(backoff)
                backoff = min(2 * backoff, THROTTLE_BACKOFF_MAX_SECONDS)
                continue
            self.figures.add(invocations=1)
            return "FunctionError" in response, response["Payload"].read()


def queue_depth(queue_url: str) -> tuple[int, int]:
    """(visible, in flight or hidden) messages of a queue."""
    attrs = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def wait_until_drained(queue_url: str, timeout: float, step: float = 0.1) -> bool:
    """Wait until the queue holds nothing, visible or in flight; whether it did in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue_depth(queue_url) == (0, 0):
            return True
        time.sleep(step)
    return queue_depth(queue_url) == (0, 0)


def with_visibility(capture: Capture, seconds: int) -> Capture:
    """The capture with the main queue's visibility timeout set to `seconds` (to compress the
    retries of failed messages in tests; the rest as declared)."""
    from dataclasses import replace

    changed = []
    for r in capture.resources:
        if r.type == "aws:sqs/queue:Queue" and r.inputs.get("redrivePolicy"):
            r = replace(r, inputs={**r.inputs, "visibilityTimeoutSeconds": seconds})
        changed.append(r)
    return Capture(changed, dict(capture.outputs))
