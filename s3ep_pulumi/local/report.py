"""What a `s3ep simulate` run showed: pure functions from plain records to numbers and pages.

`summarise` turns the handler calls, the uploads and the queues' final state into a `Summary`
(the counts must add up: every matched object is processed, dead-lettered or still queued, or it
is lost); `violations` lists what breaks a guarantee of docs/dispatch.md; `timeline_svg` and
`html_report` draw the run (one lane per concurrency slot, queue depth below), self-contained.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

# Windows (seconds) over which the rate bound of docs/dispatch.md is checked.
RATE_WINDOWS_SECONDS = (1.0, 2.0, 4.0)


@dataclass(frozen=True)
class Call:
    """One handler call: when it ran and how it ended (`error` None when it succeeded)."""

    key: str
    start: float  # epoch seconds
    end: float
    error: str | None  # exception type, 'statusCode 500', 'Sandbox.Timedout'


@dataclass(frozen=True)
class Sample:
    """The pipeline at one moment of the run."""

    at: float  # epoch seconds
    queue: int  # messages in the queue, visible or in flight
    dlq: int
    in_flight: int  # handler calls running


@dataclass
class Summary:
    stack: str
    uploaded: int
    ignored: int  # uploads outside the filters
    matched: int  # messages that reached the queue
    expected_matches: int  # uploads inside the filters
    processed: int  # matched objects with a successful handler call
    retried: int  # handler calls beyond the first per object
    dead_lettered: int  # messages in the DLQ at the end
    lost: int  # matched objects neither processed, dead-lettered nor still queued
    left_in_queue: int
    processed_twice: int
    reached_unmatched: int  # handler calls for keys outside the filters
    failures: dict[str, int]  # failed calls by error
    throttles: int
    max_in_flight: int
    max_concurrency: int
    achieved_rate: float  # handler starts per second, first start to last
    configured_rate: float | None
    max_starts: dict[str, int]  # window seconds -> most starts seen in one window
    latency_p50: float | None  # seconds from upload to the end of the successful call
    latency_p95: float | None
    executions: dict[str, int]  # how pollers ended: Done, Busy, Idle, LanesFailed, FAILED ...
    elapsed_seconds: float
    cost_per_million: float | None  # orchestration dollars per million objects, this run
    cost_breakdown: dict[str, float] = field(default_factory=dict)
    deviations: list[str] = field(default_factory=list)
    drained: bool = True
    engine: str = "step_functions"  # dispatch.engine, resolved: who drained the queue

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "violations": violations(self)}


def percentile(values: Sequence[float], p: float) -> float | None:
    """Linear interpolation between closest ranks; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def max_starts_in_window(starts: Iterable[float], seconds: float) -> int:
    """Most starts inside any closed window of `seconds`."""
    ordered = sorted(starts)
    j = best = 0
    for i, s in enumerate(ordered):
        while j < len(ordered) and ordered[j] <= s + seconds:
            j += 1
        best = max(best, j - i)
    return best


def start_rate(starts: Iterable[float]) -> float:
    ordered = sorted(starts)
    if len(ordered) < 2 or ordered[-1] == ordered[0]:
        return 0.0
    return (len(ordered) - 1) / (ordered[-1] - ordered[0])


def max_in_flight(calls: Iterable[Call]) -> int:
    edges = sorted(e for c in calls for e in ((c.start, 1), (c.end, -1)))
    current = peak = 0
    for _, delta in edges:
        current += delta
        peak = max(peak, current)
    return peak


def summarise(
    *,
    stack: str,
    uploads: dict[str, float],
    expected: set[str],
    matched: int,
    calls: Sequence[Call],
    dead_keys: Sequence[str | None],
    left_in_queue: int,
    throttles: int,
    max_concurrency: int,
    configured_rate: float | None,
    executions: dict[str, int],
    elapsed_seconds: float,
    cost_per_million: float | None = None,
    cost_breakdown: dict[str, float] | None = None,
    deviations: Sequence[str] = (),
    drained: bool = True,
    engine: str = "step_functions",
) -> Summary:
    """`uploads` key -> upload time; `expected` the keys inside the filters; `dead_keys` the key
    of each DLQ message (None for a body that is not an S3 event)."""
    per_key = Counter(c.key for c in calls)
    succeeded = [c for c in calls if c.error is None]
    ok_keys = Counter(c.key for c in succeeded)
    first_success: dict[str, float] = {}
    for c in sorted(succeeded, key=lambda c: c.end):
        first_success.setdefault(c.key, c.end)
    dead = {k for k in dead_keys if k is not None}
    accounted = len(expected & (set(ok_keys) | dead))
    latencies = [first_success[k] - uploads[k] for k in first_success if k in uploads]
    return Summary(
        stack=stack,
        uploaded=len(uploads),
        ignored=len(uploads) - len(expected),
        matched=matched,
        expected_matches=len(expected),
        processed=len(expected & set(ok_keys)),
        retried=sum(n - 1 for n in per_key.values()),
        dead_lettered=len(dead_keys),
        lost=max(0, len(expected) - accounted - left_in_queue),
        left_in_queue=left_in_queue,
        processed_twice=sum(1 for n in ok_keys.values() if n > 1),
        reached_unmatched=sum(1 for c in calls if c.key not in expected),
        failures=dict(sorted(Counter(c.error for c in calls if c.error is not None).items())),
        throttles=throttles,
        max_in_flight=max_in_flight(calls),
        max_concurrency=max_concurrency,
        achieved_rate=start_rate(c.start for c in calls),
        configured_rate=configured_rate,
        max_starts={
            f"{w:g}": max_starts_in_window((c.start for c in calls), w)
            for w in RATE_WINDOWS_SECONDS
        },
        latency_p50=percentile(latencies, 50),
        latency_p95=percentile(latencies, 95),
        executions=dict(sorted(executions.items())),
        elapsed_seconds=elapsed_seconds,
        cost_per_million=cost_per_million,
        cost_breakdown=dict(cost_breakdown or {}),
        deviations=list(deviations),
        drained=drained,
        engine=engine,
    )


def violations(s: Summary) -> list[str]:
    """Every way the run broke a promise of the pipeline, one sentence each (empty: none)."""
    out = []
    if s.lost:
        out.append(f"{s.lost} matched object(s) lost: neither processed, in the DLQ nor queued")
    if not s.drained:
        out.append(f"{s.left_in_queue} message(s) still queued when the run's time was up")
    if s.matched != s.expected_matches:
        out.append(
            f"{s.matched} message(s) reached the queue, {s.expected_matches} upload(s) match "
            "the filters: the rule's pattern does not do what the bucket settings say"
        )
    if s.reached_unmatched:
        out.append(f"{s.reached_unmatched} handler call(s) for keys outside the filters")
    if s.processed_twice:
        out.append(f"{s.processed_twice} object(s) processed successfully more than once")
    if s.max_in_flight > s.max_concurrency:
        out.append(
            f"{s.max_in_flight} handler calls in flight at once, above max_concurrency "
            f"{s.max_concurrency}"
        )
    if s.configured_rate:
        for window, starts in s.max_starts.items():
            bound = math.ceil(s.configured_rate * float(window)) + 1
            if starts > bound:
                out.append(
                    f"{starts} starts within {window} s, above the bound ceil(R x W) + 1 = {bound}"
                )
    failed = {k: v for k, v in s.executions.items() if k in ("LanesFailed", "FAILED", "TIMED_OUT")}
    if failed:
        out.append(f"poller execution(s) failed: {failed}")
    return out


# --- the timeline ------------------------------------------------------------------------------

WIDTH, LANE_HEIGHT, DEPTH_HEIGHT, MARGIN = 960, 22, 140, 50
COLOURS = {"ok": "#2e7d32", "failed": "#c62828", "timeout": "#ef6c00"}


def assign_slots(calls: Sequence[Call]) -> list[int]:
    """A concurrency slot for each call (same order): the lowest slot free at its start."""
    ends: list[float] = []
    slots = [0] * len(calls)
    for i in sorted(range(len(calls)), key=lambda i: (calls[i].start, calls[i].end)):
        c = calls[i]
        free = next((n for n, end in enumerate(ends) if end <= c.start), None)
        if free is None:
            ends.append(c.end)
            free = len(ends) - 1
        else:
            ends[free] = c.end
        slots[i] = free
    return slots


def _colour(call: Call) -> str:
    if call.error is None:
        return COLOURS["ok"]
    return COLOURS["timeout"] if call.error == "Sandbox.Timedout" else COLOURS["failed"]


def timeline_svg(calls: Sequence[Call], samples: Sequence[Sample], t0: float) -> str:
    """Handler calls as bars, one row per concurrency slot, and queue depth over time."""
    slots = assign_slots(calls)
    lanes = max(slots, default=-1) + 1
    t_end = max([c.end for c in calls] + [s.at for s in samples] + [t0 + 1])
    span = t_end - t0
    plot = WIDTH - 2 * MARGIN

    def x(t: float) -> float:
        return MARGIN + (t - t0) / span * plot

    lanes_height = max(lanes, 1) * LANE_HEIGHT
    depth_top = MARGIN + lanes_height + 40
    height = depth_top + DEPTH_HEIGHT + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11">',
        f'<text x="{MARGIN}" y="{MARGIN - 20}" font-size="13">Handler calls, one row per '
        "concurrency slot (green ok, red failed, orange timed out)</text>",
    ]
    for lane in range(lanes):
        y = MARGIN + lane * LANE_HEIGHT
        parts.append(f'<text x="{MARGIN - 8}" y="{y + 15}" text-anchor="end">{lane + 1}</text>')
    for call, lane in zip(calls, slots, strict=True):
        y = MARGIN + lane * LANE_HEIGHT + 3
        w = max(x(call.end) - x(call.start), 1.0)
        label = html.escape(f"{call.key}: {call.end - call.start:.3f} s, {call.error or 'ok'}")
        parts.append(
            f'<rect x="{x(call.start):.1f}" y="{y}" width="{w:.1f}" height="{LANE_HEIGHT - 6}" '
            f'fill="{_colour(call)}"><title>{label}</title></rect>'
        )
    step = _tick_step(span)
    tick = 0.0
    while tick <= span + 1e-9:
        tx = x(t0 + tick)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{MARGIN}" x2="{tx:.1f}" y2="{depth_top + DEPTH_HEIGHT}" '
            'stroke="#ddd"/>'
            f'<text x="{tx:.1f}" y="{depth_top + DEPTH_HEIGHT + 15}" text-anchor="middle">'
            f"{tick:g} s</text>"
        )
        tick += step
    peak = max([s.queue for s in samples] + [s.dlq for s in samples] + [1])
    parts.append(
        f'<text x="{MARGIN}" y="{depth_top - 8}" font-size="13">Queue depth (blue, peak {peak}) '
        "and DLQ (red)</text>"
    )

    def y_of(value: int) -> float:
        return depth_top + DEPTH_HEIGHT - value / peak * DEPTH_HEIGHT

    for attr, colour in (("queue", "#1565c0"), ("dlq", "#c62828")):
        points = " ".join(f"{x(s.at):.1f},{y_of(getattr(s, attr)):.1f}" for s in samples)
        if points:
            parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _tick_step(span: float) -> float:
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600):
        if span / step <= 12:
            return float(step)
    return 1200.0


def summary_rows(s: Summary) -> list[tuple[str, str]]:
    """(label, value) lines of the summary table, in reading order."""

    def secs(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f} s"

    rate = f"{s.configured_rate:g}/s" if s.configured_rate else "no limit"
    failures = ", ".join(f"{k} x{v}" for k, v in s.failures.items()) or "none"
    mapping = s.engine == "event_source_mapping"
    drainer = "the event source mapping" if mapping else "the dispatcher"
    rows = [
        ("uploaded", f"{s.uploaded} ({s.ignored} outside the filters)"),
        ("matched", f"{s.matched} reached the queue (expected {s.expected_matches})"),
        ("processed", str(s.processed)),
        ("retried", f"{s.retried} extra handler call(s); failures: {failures}"),
        ("throttled", f"{s.throttles} invoke(s), retried by {drainer}"),
        ("in DLQ", str(s.dead_lettered)),
        ("still queued", str(s.left_in_queue)),
        ("lost", f"{s.lost} (must be 0)"),
        ("max in flight", f"{s.max_in_flight} (limit {s.max_concurrency})"),
        ("start rate", f"{s.achieved_rate:.2f}/s achieved, {rate} configured"),
        ("latency", f"p50 {secs(s.latency_p50)}, p95 {secs(s.latency_p95)} (upload to done)"),
        (
            "mapping invocations" if mapping else "pollers",
            ", ".join(f"{k} x{v}" for k, v in s.executions.items()) or "none",
        ),
        ("elapsed", secs(s.elapsed_seconds)),
    ]
    if s.cost_per_million is not None:
        rows.append(
            (
                "orchestration cost",
                f"${s.cost_per_million:,.2f} per million objects at this rate "
                "(estimate from this run; us-east-1 list prices, handler compute excluded)",
            )
        )
    rows += [("deviation", d) for d in s.deviations]
    return rows


def html_report(s: Summary, svg: str) -> str:
    """One self-contained page: the summary table, the violations and the timeline."""
    rows = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in summary_rows(s)
    )
    problems = violations(s)
    verdict = (
        "<p class=ok>Every matched object was processed or dead-lettered; no guarantee broken.</p>"
        if not problems
        else "<ul class=bad>" + "".join(f"<li>{html.escape(p)}</li>" for p in problems) + "</ul>"
    )
    title = html.escape(f"s3ep simulate --stack {s.stack}")
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>"
        "body{font-family:sans-serif;margin:2em}th{text-align:left;padding-right:1em}"
        ".ok{color:#2e7d32}.bad{color:#c62828}</style></head><body>\n"
        f"<h1>{title}</h1>\n{verdict}\n<table>\n{rows}\n</table>\n{svg}</body></html>\n"
    )
