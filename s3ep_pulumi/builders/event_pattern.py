"""The EventBridge side of the pipeline, as pure data: the rule's event pattern and the input
transformer that turns an S3 event into the function's payload before it reaches the queue."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

DETAIL_TYPES = {"created": "Object Created", "deleted": "Object Deleted"}

# The queue message body EventBridge makes of an S3 event: {"s3_details": {...}}. Strings are
# quoted placeholders (EventBridge escapes them); `object` is the S3 object record as JSON (key,
# size, etag, version-id and sequencer, whichever the event carries). The dispatcher reads the
# body as JSON (the shim's `parse_body`): its spacing and key order do not matter.
INPUT_PATHS = {
    "bucket": "$.detail.bucket.name",
    "key": "$.detail.object.key",
    "object": "$.detail.object",
    "event_type": "$.detail-type",
    "event_time": "$.time",
}
INPUT_TEMPLATE = (
    '{"s3_details": {"bucket": "<bucket>", "key": "<key>", "event_type": "<event_type>", '
    '"event_time": "<event_time>", "object": <object>}}'
)


def _wildcard_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*")


def key_filters(prefixes: Sequence[str], suffixes: Sequence[str]) -> list[dict[str, str]]:
    """EventBridge content filters on the object key.

    A key must match one prefix AND one suffix. Lists of filters are OR'ed by EventBridge, so each
    (prefix, suffix) pair becomes one `wildcard` filter `prefix*suffix`.
    """
    if prefixes and suffixes:
        return [
            {"wildcard": f"{_wildcard_escape(p)}*{_wildcard_escape(s)}"}
            for p in prefixes
            for s in suffixes
        ]
    if prefixes:
        return [{"prefix": p} for p in prefixes]
    return [{"suffix": s} for s in suffixes]


def event_pattern(
    bucket_name: str,
    event_types: Sequence[str],
    prefixes: Sequence[str],
    suffixes: Sequence[str],
) -> dict[str, Any]:
    """Pattern matching this bucket's events of these types, on keys passing the filters."""
    detail: dict[str, Any] = {"bucket": {"name": [bucket_name]}}
    if prefixes or suffixes:
        detail["object"] = {"key": key_filters(prefixes, suffixes)}
    return {
        "source": ["aws.s3"],
        "detail-type": [DETAIL_TYPES[t] for t in dict.fromkeys(event_types)],
        "detail": detail,
    }


def event_pattern_json(
    bucket_name: str,
    event_types: Sequence[str],
    prefixes: Sequence[str],
    suffixes: Sequence[str],
) -> str:
    return json.dumps(event_pattern(bucket_name, event_types, prefixes, suffixes))
