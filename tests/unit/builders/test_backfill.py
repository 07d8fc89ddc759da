"""The backfill as pure data: an existing object's event, and the Distributed Map's definition.

moto's Step Functions interpreter does not run a Distributed Map with an S3 `ItemReader`, so the
definition is checked here by structure; the direct backfill (the same body) runs in
tests/emulator/test_ops.py.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
from typing import Any

import pytest

from s3ep_pulumi.builders.backfill import backfill_definition, key_choice, listing_event
from s3ep_pulumi.builders.event_pattern import key_matches, message_body
from s3ep_pulumi.runtime.s3ep_shim import parse_body

MODIFIED = datetime.datetime(2026, 11, 30, 8, 15, 2, 123000, tzinfo=datetime.UTC)
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/img-queue"


def test_a_listed_object_becomes_the_body_its_created_event_would_have() -> None:
    event = listing_event("img-bucket", "uploads/cat.jpg", 5000, '"abc123"', MODIFIED)
    assert json.loads(message_body(event)) == {
        "s3_details": {
            "bucket": "img-bucket",
            "key": "uploads/cat.jpg",
            "event_type": "Object Created",
            "event_time": "2026-11-30T08:15:02Z",
            "object": {"key": "uploads/cat.jpg", "size": 5000, "etag": "abc123"},
        }
    }
    assert parse_body(message_body(event))["s3_details"]["key"] == "uploads/cat.jpg"


def definition(**overrides: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "bucket": "img-bucket",
        "queue_url": QUEUE,
        "prefixes": ["uploads/"],
        "suffixes": [".jpg", ".png"],
        "max_concurrency": 10,
        "items_per_batch": 100,
    }
    return backfill_definition(**{**kwargs, **overrides})


def test_the_distributed_map_reads_the_bucket_listing_in_batches() -> None:
    enqueue = definition()["States"]["Enqueue"]
    assert enqueue["ItemReader"] == {
        "Resource": "arn:aws:states:::s3:listObjectsV2",
        "Parameters": {"Bucket": "img-bucket", "Prefix.$": "$.prefix"},
    }
    assert enqueue["ItemBatcher"] == {"MaxItemsPerBatch": 100}
    assert enqueue["MaxConcurrency"] == 10
    assert enqueue["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "EXPRESS",
    }
    objects = enqueue["ItemProcessor"]["States"]["Objects"]
    assert objects["ItemsPath"] == "$.Items"  # a batch's input is {"Items": [...]}


def test_each_listed_object_is_shaped_with_the_fields_of_message_body() -> None:
    states = definition()["States"]["Enqueue"]["ItemProcessor"]["States"]["Objects"]
    per_object = states["ItemProcessor"]["States"]
    shaped = per_object["Shape"]["Parameters"]["s3_details"]
    event = listing_event("img-bucket", "k", 1, '"e"', MODIFIED)
    expected = json.loads(message_body(event))["s3_details"]
    assert {k.removesuffix(".$") for k in shaped} == set(expected)
    assert {k.removesuffix(".$") for k in shaped["object"]} == set(expected["object"])
    assert shaped["bucket"] == "img-bucket" and shaped["event_type"] == "Object Created"
    assert per_object["Send"]["Parameters"] == {
        "QueueUrl": QUEUE,
        "MessageBody.$": "States.JsonToString($)",
    }


@pytest.mark.parametrize(
    ("prefixes", "suffixes"),
    [(["uploads/"], [".jpg", ".png"]), ([], [".jpg"]), (["a*b/"], []), ([], [])],
)
@pytest.mark.parametrize(
    "key", ["uploads/a.jpg", "uploads/a.gif", "other/a.png", "a*b/x", "axb/x", ""]
)
def test_the_choice_keeps_exactly_the_keys_the_rule_would(
    prefixes: list[str], suffixes: list[str], key: str
) -> None:
    rule = key_choice(prefixes, suffixes, "$.Key")
    rules = rule.get("Or", [rule])
    # StringMatches: `*` any run of characters, `\*` a literal star (as fnmatch with [*])
    globs = [r["StringMatches"].replace("\\*", "[*]") for r in rules]
    assert any(fnmatch.fnmatchcase(key, g) for g in globs) is key_matches(key, prefixes, suffixes)
