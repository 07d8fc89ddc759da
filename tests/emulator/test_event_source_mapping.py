"""The event source mapping engine end to end in moto: S3 -> EventBridge -> SQS -> the emulated
SQS event source mapping (s3ep_pulumi/local/emulator_esm.py) -> the shim -> the handler.

Each test declares a processor on the mapping engine under mocks, materialises it into moto and
runs the mapping's pollers as the declared mapping says (MaximumConcurrency, BatchSize,
ReportBatchItemFailures). The queue's visibility timeout is compressed to 1 s (declared: six
function timeouts), so failed messages come back within seconds.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from helpers import MAPPING, evaluate
from moto import mock_aws

from s3ep_pulumi.local.emulator import (
    EMULATOR_CONFIG,
    Emulated,
    Recorder,
    materialise,
    patched_seams,
)
from s3ep_pulumi.local.emulator_esm import (
    EmulatedMapping,
    MappingSettings,
    wait_until_drained,
    with_visibility,
)

pytestmark = [pytest.mark.emulator, pytest.mark.usefixtures("aws_env")]

MAX_RECEIVE_COUNT = 2
VISIBILITY_SECONDS = 1


def mapping_config(max_concurrency: int = 4, batch_size: int = 3) -> dict[str, Any]:
    return {
        **MAPPING,
        "queue": {"max_receive_count": MAX_RECEIVE_COUNT},
        "dispatch": {"max_concurrency": max_concurrency, "batch_size": batch_size},
        "function": {**MAPPING["function"], "timeout": 5},
    }


@contextmanager
def pipeline(
    raw: dict[str, Any], handler: Callable[[dict[str, Any], Any], Any]
) -> Iterator[tuple[Emulated, Recorder, EmulatedMapping]]:
    capture = evaluate(raw)
    with mock_aws(config=EMULATOR_CONFIG), patched_seams(handler) as recorder:
        emu = materialise(with_visibility(capture, VISIBILITY_SECONDS))
        mapping = EmulatedMapping(MappingSettings.declared(capture), emu.queue_url, wait_seconds=1)
        with mapping.running():
            yield emu, recorder, mapping


def upload(emu: Emulated, keys: list[str]) -> None:
    s3 = boto3.client("s3")
    for key in keys:
        s3.put_object(Bucket=emu.bucket, Key=key, Body=b"x")


def keys(n: int, prefix: str = "uploads/") -> list[str]:
    return [f"{prefix}{i:03d}.jpg" for i in range(n)]


def dead_letters(dlq_url: str) -> list[str | None]:
    """The object key of every message in the DLQ (None for a body that is no S3 event)."""
    sqs, out = boto3.client("sqs"), []
    while messages := sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        for m in messages:
            try:
                out.append(json.loads(m["Body"])["s3_details"]["key"])
            except (ValueError, KeyError, TypeError):
                out.append(None)
    return out


def drained(emu: Emulated, timeout: float = 60) -> None:
    assert wait_until_drained(emu.queue_url, timeout), emu.counts()


def test_the_mapping_is_driven_by_what_the_component_declared() -> None:
    capture = evaluate(mapping_config(max_concurrency=7, batch_size=5))
    assert MappingSettings.declared(capture) == MappingSettings(
        function_name="img-processor",
        qualifier="live",
        batch_size=5,
        maximum_concurrency=7,
        report_batch_item_failures=True,
        enabled=True,
    )


def test_a_burst_is_processed_exactly_once_with_at_most_max_concurrency_in_flight() -> None:
    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        time.sleep(0.1)
        return {"statusCode": 200}

    # GIVEN a mapping of at most 4 concurrent invocations, 3 messages each
    with pipeline(mapping_config(max_concurrency=4, batch_size=3), slow) as (emu, rec, mapping):
        # WHEN a burst of 40 objects arrives
        upload(emu, keys(40))
        drained(emu)
        counts = emu.counts()
    # THEN every object was handled exactly once, all deleted, none dead-lettered
    assert sorted(rec.keys()) == keys(40)
    assert counts == {"queue": 0, "dlq": 0}
    assert mapping.figures.deleted == 40
    # never more than max_concurrency handlers at once, and the mapping reached it
    assert rec.max_in_flight() == 4
    # at most 3 messages per invocation: at least 14 invocations, one batch delete each
    assert mapping.figures.invocations >= 14
    assert mapping.figures.sqs_requests["DeleteMessageBatch"] == mapping.figures.invocations
    assert mapping.figures.outcomes == Counter(succeeded=mapping.figures.invocations)


def test_failing_keys_reach_the_dlq_after_max_receive_count_attempts_and_the_rest_once() -> None:
    raising = {"uploads/raise-1.jpg", "uploads/raise-2.jpg"}
    refused = {"uploads/refused.jpg"}  # a statusCode >= 400 is a failure too

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        key = event["s3_details"]["key"]
        if key in raising:
            raise RuntimeError(f"cannot process {key}")
        return {"statusCode": 500 if key in refused else 200}

    good = keys(12)
    with pipeline(mapping_config(max_concurrency=3, batch_size=5), handler) as (emu, rec, mapping):
        upload(emu, [*good, *sorted(raising), *sorted(refused)])
        drained(emu)
        dlq = dead_letters(emu.dlq_url)
    calls = Counter(rec.keys())
    # THEN each failing key was tried max_receive_count times, then moved to the DLQ
    assert sorted(k for k in dlq if k is not None) == sorted(raising | refused)
    assert {k: calls[k] for k in raising | refused} == dict.fromkeys(
        raising | refused, MAX_RECEIVE_COUNT
    )
    # the others, batched with them, were handled and deleted once: one failure never fails
    # the rest of its batch
    assert {k: calls[k] for k in good} == dict.fromkeys(good, 1)
    assert mapping.figures.deleted == len(good)
    # and the counts add up: processed + dead letters = uploaded, nothing lost
    assert len(good) + len(dlq) == len(good) + len(raising) + len(refused)


def test_a_malformed_body_reaches_the_dlq_without_a_handler_call() -> None:
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event["s3_details"]["key"])
        return {"statusCode": 200}

    with pipeline(mapping_config(), handler) as (emu, rec, mapping):
        # GIVEN a message that is not an S3 event, next to a real one
        boto3.client("sqs").send_message(QueueUrl=emu.queue_url, MessageBody='{"hello": 1}')
        upload(emu, ["uploads/real.jpg"])
        drained(emu)
        dlq = dead_letters(emu.dlq_url)
    # THEN the shim failed it without calling the handler, and after max_receive_count
    # receives the redrive policy moved it to the DLQ (nothing lost)
    assert dlq == [None]
    assert seen == ["uploads/real.jpg"] == rec.keys()
    assert mapping.figures.deleted == 1
