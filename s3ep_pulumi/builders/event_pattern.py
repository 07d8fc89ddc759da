"""The EventBridge side of the pipeline, as pure data: the rule's event pattern and the input
transformer that turns an S3 event into the function's payload before it reaches the queue."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
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


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def _at_path(event: Mapping[str, Any], path: str) -> Any:
    """The value at an input path of the form `$.a.b-c` (names only, as INPUT_PATHS uses)."""
    value: Any = event
    for name in path.removeprefix("$.").split("."):
        value = value[name]
    return value


def message_body(event: Mapping[str, Any]) -> str:
    """The queue message body the rule's input transformer makes of `event` (an S3 event as S3
    sends it to EventBridge: `detail-type`, `time`, `detail.bucket`, `detail.object`).

    The one definition of the body besides the transformer itself: INPUT_TEMPLATE rendered with
    INPUT_PATHS as EventBridge renders it (a placeholder inside a JSON string takes the string's
    characters, JSON-escaped; outside one, the value as JSON). Used where s3ep enqueues an event
    itself: `s3ep redrive --rule-dlq` (raw events parked in the rule DLQ) and `s3ep backfill`
    (objects already in the bucket). A missing path raises KeyError.
    """
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(INPUT_TEMPLATE):
        char = INPUT_TEMPLATE[i]
        match = _PLACEHOLDER.match(INPUT_TEMPLATE, i) if char == "<" else None
        if match and match.group(1) in INPUT_PATHS:
            value = _at_path(event, INPUT_PATHS[match.group(1)])
            text = json.dumps(value)
            out.append(text[1:-1] if in_string and isinstance(value, str) else text)
            i = match.end()
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        i += 1
    return "".join(out)


def key_matches(key: str, prefixes: Sequence[str], suffixes: Sequence[str]) -> bool:
    """Whether the rule's key filters (`key_filters`) let `key` through: one prefix (if any are
    given) and one suffix (if any are given)."""
    return (not prefixes or any(key.startswith(p) for p in prefixes)) and (
        not suffixes or any(key.endswith(s) for s in suffixes)
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
