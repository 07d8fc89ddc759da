"""How fast the dispatcher starts a backlog, and whether its bounds hold, measured in the emulator.

For each regime (rate-bound, concurrency-bound, mixed) one execution drains a backlog; then a
sustained backlog is run with the schedule firing every POLL_SECONDS while executions run
(three overlap at any time), over several executions. Printed as a table: achieved start rate
against min(R, K/d), the most invocations in flight against K, and the most starts in any 1 s
and 3 s window against ceil(R W) + 1.

    .venv/bin/python benchmarks/dispatch_throughput.py           # about 4 minutes
    .venv/bin/python benchmarks/dispatch_throughput.py --quick   # the single-execution regimes
"""

from __future__ import annotations

import argparse
import itertools
import math
import time
from dataclasses import dataclass
from typing import Any

import boto3
from harness import ROOT, sleeping  # noqa: F401 (sets up path, cwd, credentials)
from moto import mock_aws

from s3ep_pulumi import S3EventProcessor, S3EventProcessorArgs
from s3ep_pulumi.local.capture import run_program
from s3ep_pulumi.local.emulator import (
    EMULATOR_CONFIG,
    Emulated,
    Recorder,
    materialise,
    patched_seams,
)

# The sustained backlog: a 52 s budget leaves a 12 s start window (at function.timeout 1 s);
# a poll every 4 s keeps three executions overlapping while one runs lanes.
SUSTAINED_BUDGET_SECONDS = 52
POLL_SECONDS = 4.0
RUNS = itertools.count()


@dataclass(frozen=True)
class Regime:
    label: str
    lanes: int
    rate: float | None
    handler_seconds: float
    objects: int

    @property
    def target(self) -> float:
        bound = self.lanes / self.handler_seconds
        return min(self.rate, bound) if self.rate else bound


REGIMES = [
    Regime("rate-bound K=4 R=5 d=0.05", 4, 5.0, 0.05, 60),
    Regime("concurrency-bound K=4 d=1", 4, None, 1.0, 40),
    Regime("mixed K=10 R=10 d=0.8", 10, 10.0, 0.8, 150),
]


def processor(regime: Regime, budget: int | None = None) -> S3EventProcessorArgs:
    dispatch: dict[str, Any] = {
        "engine": "step_functions",  # also for the regime without a rate
        "max_concurrency": regime.lanes,
        "rate_per_second": regime.rate,
        "receive_wait_seconds": 0,
        "batch_size": 4,
    }
    function: dict[str, Any] = {"source_dir": "functions/process_object", "handler": "app.handler"}
    if budget is not None:
        dispatch |= {"max_execution_seconds": budget, "retry": {"max_delay_seconds": 1}}
        function |= {"timeout": 1}
    return S3EventProcessorArgs.model_validate(
        {"name_prefix": "bench", "dispatch": dispatch, "function": function}
    )


def upload(emu: Emulated, n: int) -> None:
    s3 = boto3.client("s3")
    for i in range(n):
        s3.put_object(Bucket=emu.bucket, Key=f"uploads/{i:05d}.jpg", Body=b"x")


def run(regime: Regime, sustained: bool, budget: int = SUSTAINED_BUDGET_SECONDS) -> list[str]:
    args = processor(regime, budget if sustained else None)
    capture = run_program(lambda: S3EventProcessor("bench", args))
    with mock_aws(config=EMULATOR_CONFIG), patched_seams(sleeping(regime.handler_seconds)) as rec:
        emu = materialise(capture)
        upload(emu, regime.objects)
        if sustained:
            arns = []
            while emu.counts()["queue"] and len(arns) < 40:
                arns.append(emu.start_poller(f"tick-{next(RUNS)}"))
                time.sleep(POLL_SECONDS)
            done: list[str] = []
            while pending := [a for a in [*arns, *rec.handovers] if a not in done]:
                for arn in pending:
                    emu.wait(arn, timeout=200)
                    done.append(arn)
            spans = sorted(s for s in (emu.lanes_interval(a) for a in done) if s is not None)
        else:
            arn = emu.start_poller(f"run-{next(RUNS)}")
            emu.wait(arn, timeout=600)
            spans = [s for s in [emu.lanes_interval(arn)] if s is not None]
    return row(regime, rec, spans, args.budget.start_window_seconds if sustained else None)


def row(
    regime: Regime, rec: Recorder, spans: list[tuple[float, float]], window: float | None
) -> list[str]:
    """One table row; `window` is the start window of a sustained run's executions."""
    rate = rec.start_rate()
    bound = (
        [f"{rec.max_starts_in_window(w)} / {math.ceil(regime.rate * w) + 1}" for w in (1.0, 3.0)]
        if regime.rate
        else ["-", "-"]
    )
    label = regime.label + (f", sustained (3 pollers, {window:g} s windows)" if window else "")
    gaps = [b[0] - a[1] for a, b in itertools.pairwise(spans)]
    holders = sum(1 for a, b in itertools.pairwise(spans) if b[0] < a[1])
    return [
        label,
        str(len(rec.invocations)),
        str(len(spans)),
        f"{sum(gaps) / len(gaps):.2f}" if gaps else "-",
        str(holders),
        f"{rate:.2f}",
        f"{regime.target:.2f}",
        f"{100 * rate / regime.target:.0f} %",
        f"{rec.max_in_flight()} / {regime.lanes}",
        *bound,
    ]


HEADER = [
    "regime",
    "starts",
    "executions",
    "mean gap s",
    "overlaps",
    "achieved/s",
    "min(R, K/d)",
    "share",
    "max in flight / K",
    "max in 1 s / bound",
    "max in 3 s / bound",
]


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    line = " | ".join(h.ljust(w) for h, w in zip(HEADER, widths, strict=True))
    rule = "-|-".join("-" * w for w in widths)
    body = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, rule, *body])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the single-execution regimes only")
    parser.add_argument("--only", help="run the regimes whose label contains this")
    parser.add_argument(
        "--sustained-only", action="store_true", help="skip the single-execution regimes"
    )
    parser.add_argument(
        "--sustained-budget",
        type=int,
        default=SUSTAINED_BUDGET_SECONDS,
        help=f"max_execution_seconds of the sustained runs (default {SUSTAINED_BUDGET_SECONDS})",
    )
    parser.add_argument(
        "--sustained-windows",
        type=int,
        default=0,
        help="backlog of a sustained run, in start windows' worth of starts (default: 400 objects)",
    )
    options = parser.parse_args()
    regimes = [r for r in REGIMES if not options.only or options.only in r.label]
    rows = [] if options.sustained_only else [run(r, sustained=False) for r in regimes]
    if not options.quick:
        for r in regimes:
            if not r.rate:
                continue
            objects = 400
            if options.sustained_windows:
                window = processor(r, options.sustained_budget).budget.start_window_seconds
                objects = math.ceil(options.sustained_windows * window * r.target)
            backlog = Regime(r.label, r.lanes, r.rate, r.handler_seconds, objects)
            rows.append(run(backlog, sustained=True, budget=options.sustained_budget))
    print(table(rows))


if __name__ == "__main__":
    main()
