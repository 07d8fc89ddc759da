"""What tests share besides fixtures: configs that validate, the component evaluated under
recording mocks, the event files under tests/events/, and EventBridge's input transformer,
emulated for the pure tests of what the pipeline does to a message.

Import it as `from helpers import ...` (pytest puts tests/ on sys.path); conftest.py only
registers fixtures.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from s3ep_pulumi import S3EventProcessor, S3EventProcessorArgs
from s3ep_pulumi.local.capture import Capture, run_program

ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = ROOT / "tests" / "events"

# The Step Functions dispatcher, named: without a rate, `dispatch.engine: auto` would choose the
# event source mapping (MAPPING has that engine).
MINIMAL: dict[str, Any] = {
    "name_prefix": "img",
    "dispatch": {"engine": "step_functions"},
    "function": {"source_dir": "functions/process_object", "handler": "app.handler"},
}
# The smallest config with the event source mapping engine (auto, no rate).
MAPPING: dict[str, Any] = {
    "name_prefix": "img",
    "function": {"source_dir": "functions/process_object", "handler": "app.handler"},
}


def config(**sections: Any) -> dict[str, Any]:
    """MINIMAL with sections merged in (one level deep)."""
    out = copy.deepcopy(MINIMAL)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def evaluate(raw: dict[str, Any] | S3EventProcessorArgs, name: str = "images") -> Capture:
    """Declare one processor under mocks and return every recorded resource."""
    return run_program(lambda: S3EventProcessor(name, raw))


def load_event(name: str) -> dict[str, Any]:
    """tests/events/<name>.json: `object_created` and `object_deleted` are the handler's events
    (the message bodies the shim passes on); `eventbridge_*` are events as S3 sends them to
    EventBridge, before the rule's input transformer."""
    event: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return event


_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def json_path(event: Mapping[str, Any], path: str) -> Any:
    """The value at a JSONPath of the form EventBridge input paths use: `$.a.b-c.d` (names only,
    no indexes or filters). A missing name raises KeyError: a test event must carry every path."""
    if path == "$":
        return event
    if not path.startswith("$."):
        raise ValueError(f"{path!r}: expected '$.name.name...'")
    value: Any = event
    for name in path[2:].split("."):
        value = value[name]
    return value


def transform_input(event: Mapping[str, Any], paths: Mapping[str, str], template: str) -> str:
    """What an EventBridge input transformer sends for `event`: `template` with each `<var>` of
    `paths` replaced by the value at its path.

    Outside a JSON string a placeholder becomes the value as JSON (an object stays an object, a
    number a number). Inside a JSON string (`"<key>"`, or `"s3://<bucket>/<key>"`) a string value
    goes in as its characters, with `"` and `\\` escaped as EventBridge escapes them, so the
    result is still JSON. Other `<...>` text is left alone (EventBridge's reserved
    `<aws.events.*>` variables are not used by s3ep).
    """
    out: list[str] = []
    in_string = False
    i = 0
    while i < len(template):
        char = template[i]
        match = _PLACEHOLDER.match(template, i) if char == "<" else None
        if match and match.group(1) in paths:
            value = json_path(event, paths[match.group(1)])
            if in_string and isinstance(value, str):
                out.append(json.dumps(value)[1:-1])
            else:
                out.append(json.dumps(value))
            i = match.end()
            continue
        if char == '"':
            in_string = not in_string
        elif char == "\\" and in_string:  # an escape: the next character is not a quote
            out.append(template[i : i + 2])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)
