"""The s3ep shim: the Lambda entry point that sits in front of the user's handler.

Packaged at the root of the function's zip (standard library only). The dispatcher invokes it
with a control block and the queue message body:

    {"body": "<the SQS message body>", "s3ep": {"lane": 2, "lanes": 10, "rate": 10.0,
                                             "started": "<ISO time>", "start_by": 83}}

and it answers with an outcome the state machine branches on:

    ok        the handler returned (no statusCode >= 400)        -> delete the message
    failed    the handler returned a statusCode >= 400           -> retry later, then DLQ
    malformed the body is not an s3ep S3 event                    -> DLQ, handler not called
    deferred  the lane's next start slot is more than DEFER_AFTER_SECONDS away: the dispatcher
              waits `wait_seconds` (cheaply, in Step Functions), then invokes again
    expired   the execution's start window is over                -> release the message

A handler that raises is re-raised: Lambda reports it, the dispatcher catches it.

Pacing: starts live on a grid of 1/rate seconds counted from the Unix epoch; lane j of N owns the
grid points n with n % N == j, so two lanes never share a point, across executions too. A lane
starts at its next free point; a start up to TOLERANCE_FRACTION/rate late keeps its point. Hence
any W-second window holds at most ceil(rate * W) + 1 starts (docs/dispatch.md has the proof).
"""

from __future__ import annotations

import datetime
import importlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

HANDLER_ENV = "S3EP_HANDLER"
CONTROL_KEY = "s3ep"
DEFER_AFTER_SECONDS = 1.2  # longer waits are done by Step Functions, not billed Lambda time
LAUNCH_MARGIN_SECONDS = 0.2  # Step Functions wakes this much before the slot, then we sleep
TOLERANCE_FRACTION = 0.25  # a start this many grid steps late still counts as on its slot
REQUIRED_DETAILS = ("bucket", "key", "event_type")

Handler = Callable[[dict[str, Any], Any], Any]


class Malformed(ValueError):
    """The message body is not an S3 event shaped by the rule's input transformer."""


def next_slot(now: float, lane: int, lanes: int, rate: float) -> float:
    """Epoch time of the lane's first grid point not more than the tolerance in the past."""
    step = 1.0 / rate
    earliest = now - TOLERANCE_FRACTION * step
    n = math.ceil(earliest / step - 1e-9)
    n += (lane - n) % lanes
    return n * step


def parse_body(body: Any) -> dict[str, Any]:
    """The handler's event from the message body, or `Malformed` saying what is wrong."""
    if not isinstance(body, str):
        raise Malformed("the message body is not a string")
    try:
        event = json.loads(body)
    except ValueError as error:
        raise Malformed(f"the message body is not JSON: {error}") from None
    details = event.get("s3_details") if isinstance(event, dict) else None
    if not isinstance(details, dict):
        raise Malformed("the message body has no s3_details object")
    missing = [k for k in REQUIRED_DETAILS if not isinstance(details.get(k), str)]
    if missing:
        raise Malformed(f"s3_details lacks {', '.join(missing)}")
    return dict(event)


def _epoch(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _log(record: dict[str, Any]) -> None:
    """One JSON line on stdout: CloudWatch Logs keeps it with the invocation's request id."""
    print(json.dumps({"logger": "s3ep_shim", **record}, default=str), file=sys.stdout)


def status_code(result: Any) -> int | None:
    code = result.get("statusCode") if isinstance(result, dict) else None
    return code if isinstance(code, int) and not isinstance(code, bool) else None


def dispatch(
    event: dict[str, Any],
    context: Any,
    handler: Handler,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Pace, validate and run one message; see the module docstring for the outcomes."""
    control = event.get(CONTROL_KEY) or {}
    try:
        payload = parse_body(event.get("body"))
    except Malformed as error:
        _log({"level": "ERROR", "outcome": "malformed", "reason": str(error)})
        return {"outcome": "malformed", "reason": str(error)}

    now = clock()
    started, start_by = control.get("started"), control.get("start_by")
    if started is not None and start_by is not None and now > _epoch(started) + start_by:
        return {"outcome": "expired"}
    rate = control.get("rate")
    slot_end = None
    if rate:
        while True:  # until the clock is on a slot of the lane, within tolerance
            slot = next_slot(now, int(control["lane"]), int(control["lanes"]), float(rate))
            if slot - now > DEFER_AFTER_SECONDS:
                # Whole seconds (a Wait's resolution), waking LAUNCH_MARGIN_SECONDS or more early.
                wait = math.floor(slot - now - LAUNCH_MARGIN_SECONDS)
                return {"outcome": "deferred", "wait_seconds": wait}
            if slot <= now:
                break
            sleep(slot - now)  # a sleep that overruns the tolerance moves on to the next slot
            now = clock()
        # The lane's next call must not find this slot still within tolerance.
        slot_end = slot + TOLERANCE_FRACTION / float(rate)

    details = payload["s3_details"]
    try:
        result = _run(handler, payload, context, clock, sleep, slot_end)
    except Exception as error:
        _log(
            {
                "level": "ERROR",
                "outcome": "raised",
                "bucket": details["bucket"],
                "key": details["key"],
                "error": type(error).__name__,
                "message": str(error),
            }
        )
        raise
    code = status_code(result)
    if code is not None and code >= 400:
        _log(
            {
                "level": "ERROR",
                "outcome": "failed",
                "bucket": details["bucket"],
                "key": details["key"],
                "statusCode": code,
            }
        )
        return {"outcome": "failed", "statusCode": code, "result": result}
    return {"outcome": "ok", "result": result}


def _run(
    handler: Handler,
    payload: dict[str, Any],
    context: Any,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    slot_end: float | None,
) -> Any:
    try:
        return handler(payload, context)
    finally:
        if slot_end is not None and (rest := slot_end - clock()) > 0:
            sleep(rest)


def load_handler(spec: str) -> Handler:
    """'package.module.function' -> the function (imported once per container)."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(f"{HANDLER_ENV}={spec!r}: expected 'module.function'")
    handler = getattr(importlib.import_module(module_name), function_name, None)
    if not callable(handler):
        raise ValueError(f"{HANDLER_ENV}={spec!r}: {module_name} has no function {function_name}")
    return handler  # type: ignore[no-any-return]


_HANDLERS: dict[str, Handler] = {}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (handler setting `s3ep_shim.handler`)."""
    spec = os.environ[HANDLER_ENV]
    if spec not in _HANDLERS:
        _HANDLERS[spec] = load_handler(spec)
    return dispatch(event, context, _HANDLERS[spec])
