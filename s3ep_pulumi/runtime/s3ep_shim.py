"""The s3ep shim: the Lambda entry point that sits in front of the user's handler.

Packaged at the root of the function's zip (standard library only). The dispatcher invokes it
with a control block and the queue message body:

    {"body": "<the SQS message body>", "after": {<this message's previous answer, a deferral>},
     "s3ep": {"lane": 2, "lanes": 10, "rate": 10.0, "started": "<ISO time>", "start_by": 83,
        "lead": 3.0, "batch": 10, "cycle": 0.6, "began": 1800000000.2, "measured": "0.150",
        "index": 0}}

and it answers with an outcome the state machine branches on:

    ok        the handler returned (no statusCode >= 400)        -> delete the message
    failed    the handler returned a statusCode >= 400           -> retry later, then DLQ
    malformed the body is not an s3ep S3 event                    -> DLQ, handler not called
    deferred  the lane's next start slot is more than DEFER_AFTER_SECONDS away: the dispatcher
              waits `wait_seconds` (cheaply, in Step Functions), then invokes again with this
              answer as `after` (its `arrived`: when the message first reached the shim)
    expired   the execution's start window is over                -> release the message

A handler that raises is re-raised: Lambda reports it, the dispatcher catches it.

With the event source mapping engine, Lambda invokes the shim with an SQS batch event
(`{"Records": [{"messageId", "body", "eventSource": "aws:sqs", ...}, ...]}`). Each record's body
is validated and handled as above, one after the other, and the shim answers with a partial
batch response, `{"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}`: the records
whose handler raised, returned a statusCode >= 400, or whose body is malformed (logged, the
handler not called). Lambda deletes every other record; the failed ones reappear after the
queue's visibility timeout and reach its DLQ after max_receive_count receives. One failed record
never fails the others, and the shim itself never raises for a batch (a raise would fail all).

With `ok` comes the lane's receive `report`: for k = 1 .. batch, the last second (UTC,
"YYYY-MM-DDTHH:MM:SS") at which the lane can still receive k messages and start every one of them
before the window closes, given its pacing and this handler's duration. The lane compares the
time with it before each receive (a receive counts towards the DLQ even if the message is never
started, docs/dispatch.md). Once per execution, before the lanes start, the dispatcher asks for
every lane's first report with `"plan": <seconds a handler may run>` and no body: the answer is
`planned`, with one report per lane, assuming every handler runs that long, and the `clock` the
dispatcher's lease needs (Step Functions has no arithmetic on times): `now` and `expires`
(now + the control block's `lease` seconds), epoch milliseconds as decimal strings, the form of a
DynamoDB number.

How many lanes: `lanes` in the Plan's control block is a ceiling (`max_concurrency`). With a rate,
the Plan runs only as many lanes as the handler needs to keep up, `lanes_for`: ceil(rate x cycle
x (1 + LANE_HEADROOM)), from the cycle the last execution measured (`last`: the lease item as
DynamoDB's GetItem answers it, its `cycle` written when that execution released the lease). A
lane measures its cycle itself: the seconds from one handler start to the lane's next call
(the handler, and the dispatcher's own time per message; not the wait for a slot), averaged in
the report's `measured`. Nothing measured yet: every lane of the ceiling.

Pacing: starts live on a grid of 1/rate seconds counted from the Unix epoch; lane j of N owns the
grid points n with n % N == j, so two lanes of an execution never share a point; the next
execution's lanes start after every answer of this one's, which holds each point until its
tolerance has passed, so their points are later ones, whatever their N. A lane starts at its
next free point; a start up to TOLERANCE_FRACTION/rate late keeps its point. Hence
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
# The dispatcher's own time per message between two handler calls of a lane (state transitions,
# the Lambda call's latency): generous, because a lane that receives a message it then cannot
# start spends one of the message's receives.
STEP_SECONDS = 0.5
# With a rate, an execution runs ceil(rate x cycle x (1 + LANE_HEADROOM)) lanes (at most
# max_concurrency): enough that a lane whose cycle runs this much over the measured one still
# makes each of its grid points. Fewer lanes mean a shorter lane period and less Lambda time spent
# waiting for a slot; a lane that misses its point waits a whole period for the next one.
LANE_HEADROOM = 0.25
# Weight of a new sample in a lane's running mean of its measured cycle.
MEASURE_WEIGHT = 0.25
REQUIRED_DETAILS = ("bucket", "key", "event_type")
SQS_EVENT_SOURCE = "aws:sqs"  # a record's eventSource in an SQS event source mapping's batch

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


def last_slot(end: float, lane: int, lanes: int, rate: float) -> float:
    """Epoch time of the lane's last grid point not after `end`."""
    step = 1.0 / rate
    n = math.floor(end / step + 1e-9)
    n -= (n - lane) % lanes
    return n * step


def _second(epoch: float) -> str:
    """The whole second at or before `epoch`, as "YYYY-MM-DDTHH:MM:SS" (UTC). Step Functions'
    `$$.State.EnteredTime` starts with the same digits, so comparing the two as strings says
    whether that time is before this second: `now <= cutoff` only if now's second is earlier,
    which errs on the early side by less than a second."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(math.floor(epoch)))


def receive_cutoffs(control: dict[str, Any], cycle: float, lane: int) -> list[str]:
    """Index k - 1: the last second at which `lane` can receive k messages and start each one
    before the start window closes, if every message takes `cycle` seconds of the lane's time.
    A receive takes up to `lead` seconds before the first call reaches the shim; with a rate,
    message i starts on the lane's grid, ceil(cycle / period) lane periods after message i - 1."""
    end = _epoch(control["started"]) + float(control["start_by"])
    lead, batch, rate = float(control["lead"]), int(control["batch"]), control.get("rate")
    if rate:
        lanes = int(control["lanes"])
        period = lanes / float(rate)
        per_message = period * max(1, math.ceil(cycle / period - 1e-9))
        latest = last_slot(end, lane, lanes, float(rate)) - lead
    else:
        per_message, latest = cycle, end - lead
    return [_second(latest - k * per_message) for k in range(batch)]


def receive_report(
    control: dict[str, Any], seconds: float, began: float = 0.0, measured: float | None = None
) -> dict[str, Any]:
    """The lane's receive report after a handler that began at `began` and ran `seconds`. The
    lane's estimate of a message's cost falls by at most half per message, so one quick call
    after slow ones does not make the lane over-receive. `began` and `measured` (the lane's mean
    cycle so far, as a DynamoDB number; "0" for none) come back with the lane's next call."""
    cycle = max(seconds + STEP_SECONDS, float(control.get("cycle") or 0.0) / 2)
    return {
        "cutoffs": receive_cutoffs(control, cycle, int(control["lane"])),
        "cycle": cycle,
        "began": round(began, 3),
        "measured": f"{measured:.3f}" if measured else "0",
    }


def lanes_for(ceiling: int, rate: float | None, cycle: float | None) -> int:
    """How many lanes an execution runs: with a rate and a measured `cycle` (seconds a lane
    needs per message, waits excluded), enough to start `rate` per second with LANE_HEADROOM to
    spare, at most `ceiling`; otherwise `ceiling`."""
    if not rate or cycle is None or cycle <= 0:
        return ceiling
    needed = math.ceil(float(rate) * cycle * (1 + LANE_HEADROOM) - 1e-9)
    return min(ceiling, max(1, needed))


def stored_cycle(last: Any) -> float | None:
    """The cycle the last execution measured, from DynamoDB's GetItem answer for the lease item
    (`{"Item": {"cycle": {"N": "0.15"}}}`); None when there is none (the first execution)."""
    item = last.get("Item") if isinstance(last, dict) else None
    value = item.get("cycle") if isinstance(item, dict) else None
    number = value.get("N") if isinstance(value, dict) else None
    try:
        cycle = float(number) if isinstance(number, str) else None
    except ValueError:
        return None
    return cycle if cycle is not None and math.isfinite(cycle) and cycle > 0 else None


def plan(control: dict[str, Any], now: float) -> dict[str, Any]:
    """Every lane's first receive report, before any handler ran: each may take `plan` s; how
    many lanes (`count`, `lanes_for` the last execution's measured cycle); and the lease's clock
    at `now` (epoch seconds)."""
    cycle = float(control["plan"]) + STEP_SECONDS
    lease = float(control.get("lease") or 0)
    count = lanes_for(int(control["lanes"]), control.get("rate"), stored_cycle(control.get("last")))
    sized = {**control, "lanes": count}
    return {
        "outcome": "planned",
        "clock": {
            "now": str(math.floor(now * 1000)),
            "expires": str(math.ceil((now + lease) * 1000)),
        },
        "count": count,
        "lanes": [
            {
                "lane": lane,
                "report": {
                    "cutoffs": receive_cutoffs(sized, cycle, lane),
                    "cycle": cycle,
                    "began": 0,
                    "measured": "0",
                },
            }
            for lane in range(count)
        ],
    }


def measured_cycle(control: dict[str, Any], arrived: float) -> float | None:
    """The lane's running mean of its cycle, with this call's sample if it has one: the seconds
    from the lane's previous handler start (`began`, from the report the lane holds) to this
    call's arrival, which is the handler's run and the dispatcher's own time, no slot wait
    (after a deferral, `arrived` is the message's first arrival: Step Functions' wait is left
    out).

    Only the first message of a receive (`index` 0) has a sample: a batch's messages all carry
    the report of the lane's previous round (a Map's iterations cannot see each other), so only
    for the first is `began` the lane's last start. That cycle holds the round's own calls
    (delete, fence, receive): the longest a lane has between two starts, the one its period
    must cover. A sample counts at most twice the mean, so a lane whose last message failed (its
    report is older) moves the mean up by a quarter at most."""
    began = float(control.get("began") or 0)
    try:
        mean = float(control.get("measured") or 0)
    except (TypeError, ValueError):
        mean = 0.0
    first = int(control.get("index") or 0) == 0
    if began <= 0 or not first or arrived <= began:
        return mean if mean > 0 else None
    sample = arrived - began
    if mean <= 0:
        return sample
    return mean + MEASURE_WEIGHT * (min(sample, 2 * mean) - mean)


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
    if control.get("plan") is not None:
        return plan(control, clock())
    try:
        payload = parse_body(event.get("body"))
    except Malformed as error:
        _log({"level": "ERROR", "outcome": "malformed", "reason": str(error)})
        return {"outcome": "malformed", "reason": str(error)}

    now = clock()
    after = event.get("after")
    arrived = now
    if isinstance(after, dict) and after.get("outcome") == "deferred" and after.get("arrived"):
        arrived = float(after["arrived"])  # the wait in Step Functions is no part of the cycle
    measured = measured_cycle(control, arrived)
    started, start_by = control.get("started"), control.get("start_by")
    if started is not None and start_by is not None and now > _epoch(started) + start_by:
        return {"outcome": "expired"}
    rate = control.get("rate")
    slot_end: float | None = None
    slot: float | None = None
    if rate:
        while True:  # until the clock is on a slot of the lane, within tolerance
            slot = next_slot(now, int(control["lane"]), int(control["lanes"]), float(rate))
            if slot - now > DEFER_AFTER_SECONDS:
                # Whole seconds (a Wait's resolution), waking LAUNCH_MARGIN_SECONDS or more early.
                wait = math.floor(slot - now - LAUNCH_MARGIN_SECONDS)
                return {"outcome": "deferred", "wait_seconds": wait, "arrived": round(arrived, 3)}
            if slot <= now:
                break
            sleep(slot - now)  # a sleep that overruns the tolerance moves on to the next slot
            now = clock()
        # The lane's next call must not find this slot still within tolerance.
        slot_end = slot + TOLERANCE_FRACTION / float(rate)

    details = payload["s3_details"]
    began = clock()
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
        return {"outcome": "failed", "statusCode": code, "result": result, **_slot(slot)}
    if "lead" not in control:  # not invoked by a lane that receives by the report
        return {"outcome": "ok", "result": result, **_slot(slot)}
    report = receive_report(control, clock() - began, began, measured)
    return {"outcome": "ok", "result": result, "report": report, **_slot(slot)}


def _slot(slot: float | None) -> dict[str, Any]:
    """The grid point the handler started on (epoch seconds), for whoever measures lateness."""
    return {} if slot is None else {"slot": round(slot, 4)}


def is_sqs_batch(event: Any) -> bool:
    """The event is an SQS event source mapping's batch (every record from `aws:sqs`)."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == SQS_EVENT_SOURCE for r in records)
    )


def dispatch_batch(event: dict[str, Any], context: Any, handler: Handler) -> dict[str, Any]:
    """Validate and run every record of an SQS batch; the partial batch response naming the
    records that failed (see the module docstring)."""
    failures = []
    for record in event["Records"]:
        message_id = record.get("messageId")
        if not _record_succeeded(record, context, handler):
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _record_succeeded(record: dict[str, Any], context: Any, handler: Handler) -> bool:
    message_id = record.get("messageId")
    receives = (record.get("attributes") or {}).get("ApproximateReceiveCount")
    try:
        payload = parse_body(record.get("body"))
    except Malformed as error:
        _log(
            {
                "level": "ERROR",
                "outcome": "malformed",
                "messageId": message_id,
                "receiveCount": receives,
                "reason": str(error),
            }
        )
        return False
    details = payload["s3_details"]
    try:
        result = handler(payload, context)
    except Exception as error:
        _log(
            {
                "level": "ERROR",
                "outcome": "raised",
                "messageId": message_id,
                "bucket": details["bucket"],
                "key": details["key"],
                "error": type(error).__name__,
                "message": str(error),
            }
        )
        return False
    code = status_code(result)
    if code is not None and code >= 400:
        _log(
            {
                "level": "ERROR",
                "outcome": "failed",
                "messageId": message_id,
                "bucket": details["bucket"],
                "key": details["key"],
                "statusCode": code,
            }
        )
        return False
    return True


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
    if is_sqs_batch(event):  # the event source mapping engine
        return dispatch_batch(event, context, _HANDLERS[spec])
    return dispatch(event, context, _HANDLERS[spec])
