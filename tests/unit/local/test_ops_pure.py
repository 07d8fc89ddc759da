"""The decisions of the operations commands that need no AWS: what a parked event becomes, and
what a backfill lists."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import MINIMAL, config, load_event

from s3ep_pulumi.builders.event_pattern import message_body
from s3ep_pulumi.errors import S3epError
from s3ep_pulumi.local.backfill import BackfillError, plan
from s3ep_pulumi.local.redrive import describe_failure, queue_body
from s3ep_pulumi.local.stack_outputs import Deployed
from s3ep_pulumi.model.args import S3EventProcessorArgs


def test_a_raw_s3_event_from_the_rule_dlq_becomes_the_transformers_body() -> None:
    event = load_event("eventbridge_object_created")
    assert queue_body(json.dumps(event)) == message_body(event)


def test_a_body_already_shaped_is_resent_as_it_is_and_anything_else_stays() -> None:
    shaped = json.dumps(load_event("object_created"))
    assert queue_body(shaped) == shaped
    assert queue_body("not json") is None
    assert queue_body('{"detail-type": "Object Created"}') is None  # no detail
    assert queue_body("[1, 2]") is None


@pytest.mark.parametrize(
    ("record", "text"),
    [
        ({"outcome": "raised", "error": "ValueError", "message": "boom"}, "ValueError: boom"),
        ({"outcome": "failed", "statusCode": 503}, "statusCode 503"),
        ({"outcome": "malformed", "reason": "s3_details lacks key"}, "s3_details lacks key"),
    ],
)
def test_each_shim_failure_record_reads_in_a_few_words(record: dict[str, Any], text: str) -> None:
    assert describe_failure(record) == text


def deployed(**sections: Any) -> Deployed:
    args = S3EventProcessorArgs.model_validate(config(**sections) if sections else MINIMAL)
    return Deployed("ops", args, {"bucket_name": "img-bucket"})


def test_a_backfill_lists_the_stacks_prefixes_or_the_narrower_prefix_asked() -> None:
    stack = deployed(bucket={"prefixes": ["uploads/", "incoming/"]})
    assert plan(stack, None, None).listing_prefixes == ["uploads/", "incoming/"]
    assert plan(stack, "uploads/2026/", None).listing_prefixes == ["uploads/2026/"]
    assert plan(stack, "up", None).listing_prefixes == ["uploads/"]
    assert plan(deployed(), None, None).listing_prefixes == [""]


def test_a_backfill_keeps_the_queue_under_half_the_depth_alarm() -> None:
    p = plan(deployed(monitoring={"alarms": {"queue_depth": {"threshold": 8}}}), None, None)
    assert (p.high_water, p.batch, p.alarm_threshold) == (4, 4, 8)
    assert plan(deployed(), None, None).batch == 10


@pytest.mark.parametrize(
    ("sections", "prefix", "message"),
    [
        (
            {"bucket": {"event_types": ["deleted"]}},
            None,
            "stack 'ops' processes only deleted events; a backfill enqueues existing objects as "
            "'created' events",
        ),
        (
            {"bucket": {"prefixes": ["uploads/"]}},
            "other/",
            "--prefix 'other/' is outside the stack's prefixes (uploads/): no object under it "
            "would reach the function",
        ),
    ],
)
def test_a_backfill_the_stack_cannot_take_is_refused(
    sections: dict[str, Any], prefix: str | None, message: str
) -> None:
    with pytest.raises(BackfillError) as error:
        plan(deployed(**sections), prefix, None)
    assert str(error.value) == message
    assert isinstance(error.value, S3epError)
