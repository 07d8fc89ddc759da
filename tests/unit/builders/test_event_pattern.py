"""The EventBridge side of the pipeline, as pure data: the rule's event pattern (exact JSON) and
the input transformer's chain from an S3 event, as S3 sends it to EventBridge, to the event the
user's handler receives: transformer -> queue message body -> the shim's `parse_body` (the
dispatcher's gate)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import load_event, transform_input

from s3ep_pulumi.builders.event_pattern import (
    INPUT_PATHS,
    INPUT_TEMPLATE,
    event_pattern,
    event_pattern_json,
    key_filters,
)
from s3ep_pulumi.runtime.s3ep_shim import Malformed, parse_body

BUCKET = "img-bucket"


def body_for(event: dict[str, Any]) -> str:
    """The queue message body EventBridge sends for `event`."""
    return transform_input(event, INPUT_PATHS, INPUT_TEMPLATE)


# --- the event pattern ----------------------------------------------------------------------


def test_pattern_without_filters_matches_every_object_of_this_bucket() -> None:
    assert event_pattern(BUCKET, ["created"], [], []) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [BUCKET]}},
    }


def test_pattern_json_is_the_pattern_serialised() -> None:
    assert event_pattern_json(BUCKET, ["created", "deleted"], ["uploads/"], []) == (
        '{"source": ["aws.s3"], "detail-type": ["Object Created", "Object Deleted"], '
        '"detail": {"bucket": {"name": ["img-bucket"]}, '
        '"object": {"key": [{"prefix": "uploads/"}]}}}'
    )


def test_event_types_map_to_detail_types_once_each_in_the_order_given() -> None:
    pattern = event_pattern(BUCKET, ["deleted", "created", "deleted"], [], [])
    assert pattern["detail-type"] == ["Object Deleted", "Object Created"]


def test_prefixes_alone_are_prefix_filters_any_of_which_matches() -> None:
    assert event_pattern(BUCKET, ["created"], ["uploads/", "incoming/"], [])["detail"] == {
        "bucket": {"name": [BUCKET]},
        "object": {"key": [{"prefix": "uploads/"}, {"prefix": "incoming/"}]},
    }


def test_suffixes_alone_are_suffix_filters_any_of_which_matches() -> None:
    assert key_filters([], [".jpg", ".png"]) == [{"suffix": ".jpg"}, {"suffix": ".png"}]


def test_prefixes_and_suffixes_become_one_wildcard_per_pair() -> None:
    assert key_filters(["uploads/", "raw/"], [".jpg", ".png"]) == [
        {"wildcard": "uploads/*.jpg"},
        {"wildcard": "uploads/*.png"},
        {"wildcard": "raw/*.jpg"},
        {"wildcard": "raw/*.png"},
    ]


def test_wildcard_escapes_stars_and_backslashes_in_prefixes_and_suffixes() -> None:
    assert key_filters(["a*b/", "c\\d/"], [".x*"]) == [
        {"wildcard": "a\\*b/*.x\\*"},
        {"wildcard": "c\\\\d/*.x\\*"},
    ]


# --- the input transformer ------------------------------------------------------------------


def test_input_paths_read_bucket_key_object_type_and_time_of_the_s3_event() -> None:
    assert INPUT_PATHS == {
        "bucket": "$.detail.bucket.name",
        "key": "$.detail.object.key",
        "object": "$.detail.object",
        "event_type": "$.detail-type",
        "event_time": "$.time",
    }


def test_created_event_reaches_the_handler_with_the_key_exactly_as_s3_sent_it() -> None:
    # GIVEN an S3 "Object Created" event as EventBridge receives it (S3 URL-encodes the key)
    event = load_event("eventbridge_object_created")
    # WHEN the rule's transformer shapes it and the dispatcher and the shim take the body
    body = body_for(event)
    # THEN the body passes the gate and the handler gets exactly this
    assert parse_body(body) == {
        "s3_details": {
            "bucket": "s3ep-dev-bucket",
            "key": "uploads/my+file%3D1.jpg",
            "event_type": "Object Created",
            "event_time": "2024-05-01T12:00:00Z",
            "object": {
                "key": "uploads/my+file%3D1.jpg",
                "size": 11,
                "etag": "5eb63bbbe01eeed093cb22bb8f5acdc3",
                "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mro8e",
                "sequencer": "00663230A0C1D2E3F4",
            },
        }
    }


def test_deleted_event_reaches_the_handler_with_the_object_fields_it_carries() -> None:
    body = body_for(load_event("eventbridge_object_deleted"))
    assert parse_body(body) == load_event("object_deleted")


def test_a_key_with_quotes_and_backslashes_still_makes_a_json_body() -> None:
    event = load_event("eventbridge_object_created")
    event["detail"]["object"]["key"] = 'say "hi"\\now.txt'
    body = body_for(event)
    assert parse_body(body)["s3_details"]["key"] == 'say "hi"\\now.txt'


def test_the_gate_reads_structure_not_bytes() -> None:
    good = json.loads(body_for(load_event("eventbridge_object_created")))
    compact = json.dumps(good, separators=(",", ":"))
    reordered = json.dumps({"s3_details": dict(reversed(good["s3_details"].items()))}, indent=2)
    assert parse_body(compact) == parse_body(reordered) == good
    for other in (
        json.dumps({"s3_details": {"bucket": "b", "key": "k"}}),
        json.dumps(load_event("eventbridge_object_created")),  # not transformed
    ):
        with pytest.raises(Malformed):
            parse_body(other)


# --- the helpers that emulate EventBridge and Step Functions --------------------------------


def test_transform_input_puts_json_values_outside_strings_and_characters_inside() -> None:
    event = {"a": {"n": 3, "s": 'x"y'}, "t": "T"}
    paths = {"n": "$.a.n", "s": "$.a.s", "obj": "$.a", "t": "$.t"}
    template = '{"n": <n>, "s": "<s>", "both": "<t>-<n>", "obj": <obj>, "other": "<nope>"}'
    assert json.loads(transform_input(event, paths, template)) == {
        "n": 3,
        "s": 'x"y',
        "both": "T-3",
        "obj": {"n": 3, "s": 'x"y'},
        "other": "<nope>",
    }


# --- the body s3ep builds itself (redrive --rule-dlq, backfill) --------------------------------


@pytest.mark.parametrize("key", ["uploads/cat.jpg", 'uploads/a "quoted" \\ key.jpg', "ünï/c.jpg"])
def test_message_body_is_what_the_input_transformer_makes_of_the_same_event(key: str) -> None:
    from s3ep_pulumi.builders.event_pattern import message_body

    event = load_event("eventbridge_object_created")
    event["detail"]["object"]["key"] = key
    assert message_body(event) == body_for(event)
    assert parse_body(message_body(event))["s3_details"]["key"] == key


@pytest.mark.parametrize(
    ("key", "expected"),
    [("uploads/a.jpg", True), ("uploads/a.gif", False), ("other/a.jpg", False)],
)
def test_key_matches_applies_a_prefix_and_a_suffix_as_the_rule_does(
    key: str, expected: bool
) -> None:
    from s3ep_pulumi.builders.event_pattern import key_matches

    assert key_matches(key, ["uploads/"], [".jpg", ".png"]) is expected
    assert key_matches(key, [], []) is True
