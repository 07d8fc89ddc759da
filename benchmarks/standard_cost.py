"""What a STANDARD dispatcher (a STANDARD parent over EXPRESS runs) uses per object, measured
in the emulator.

Drives a backlog through the component's own declarations in moto, STANDARD dispatcher, and
counts from the histories: the parent's state transitions (billed at $25 per million), its
runs (EXPRESS: requests and billed seconds), the SQS requests and the lease's DynamoDB writes.
`measure_standard` returns the figures per object; `__main__` prints them as a table, for the
default budget (one run drains a short backlog) and a short one (several runs per parent).

    .venv/bin/python benchmarks/standard_cost.py                 # 300 objects, ~2 minutes
    .venv/bin/python benchmarks/standard_cost.py --objects 1000 --handler 0.8
"""

from __future__ import annotations

import argparse
import itertools
import time
from typing import Any

import boto3
from harness import ROOT, sleeping  # noqa: F401 (sets up path, cwd, credentials)
from moto import mock_aws

from s3ep_pulumi import S3EventProcessor, S3EventProcessorArgs
from s3ep_pulumi.local import cost as pricing
from s3ep_pulumi.local.capture import run_program
from s3ep_pulumi.local.emulator import EMULATOR_CONFIG, materialise, patched_seams

RATE = 10.0
CONCURRENCY = 10
FUNCTION_MEMORY_GB = 256 / 1024  # the model's default memory_size
RUNS = itertools.count()


def measure_standard(
    objects: int,
    handler_seconds: float,
    *,
    rate: float | None = RATE,
    concurrency: int = CONCURRENCY,
    max_execution_seconds: int | None = None,
    function_timeout: int | None = None,
) -> dict[str, float]:
    """Upload `objects`, let the schedule fire once (and once more while the first parent runs:
    a busy poll, counted apart) and drain the queue with a STANDARD dispatcher. Per object: the
    parents' transitions, their runs and the runs' billed seconds, SQS and DynamoDB requests,
    and the Step Functions dollars per million objects; and what one busy poll costs."""
    dispatch: dict[str, Any] = {
        "workflow_type": "STANDARD",
        "max_concurrency": concurrency,
        "rate_per_second": rate,
    }
    function: dict[str, Any] = {"source_dir": "functions/process_object", "handler": "app.handler"}
    if max_execution_seconds is not None:  # a short run: a short tail too
        dispatch |= {"max_execution_seconds": max_execution_seconds}
        dispatch |= {"retry": {"max_delay_seconds": 1}}
    if function_timeout is not None:
        function |= {"timeout": function_timeout}
    args = S3EventProcessorArgs.model_validate(
        {"name_prefix": "bench", "dispatch": dispatch, "function": function}
    )
    capture = run_program(lambda: S3EventProcessor("bench", args))
    with mock_aws(config=EMULATOR_CONFIG), patched_seams(sleeping(handler_seconds)) as recorder:
        emu = materialise(capture)
        s3 = boto3.client("s3")
        for i in range(objects):
            s3.put_object(Bucket=emu.bucket, Key=f"in/{i:06d}.jpg", Body=b"x")
        began = time.monotonic()
        parents = [emu.start_poller(f"run-{next(RUNS)}")]
        time.sleep(1)  # the next tick of the schedule, while the first parent runs
        busy_arn = emu.start_poller(f"busy-{next(RUNS)}")
        emu.wait(busy_arn)
        busy = emu.usage(busy_arn)
        ended: set[str] = set()  # the first parent and every successor it started
        while pending := [a for a in [*parents, *recorder.handovers] if a not in ended]:
            for arn in pending:
                emu.wait(arn, timeout=1800)
                ended.add(arn)
        parents = list(dict.fromkeys([*parents, *recorder.handovers]))
        seconds = time.monotonic() - began
        usage = pricing.Usage(objects=objects)
        rounds = 0
        for arn in parents:
            usage += emu.usage(arn)
            rounds += len(emu.runs(arn))
        left = emu.counts()["queue"]
    assert left == 0 and len(recorder.invocations) == objects, "every object exactly once"
    usage.extra_invocations = recorder.invokes - len(recorder.invocations)
    usage.pacing_gb_seconds = recorder.pacing_seconds() * FUNCTION_MEMORY_GB
    priced = pricing.cost(usage, "STANDARD", triggers_per_object=0.0)
    return {
        "objects": objects,
        "handler_seconds": handler_seconds,
        "parents": len(parents),
        "runs": rounds,
        "parent_transitions_per_object": usage.per_object("transitions"),
        "runs_per_object": usage.per_object("run_executions"),
        "run_seconds_per_object": usage.per_object("run_billed_seconds"),
        "run_transitions_per_object": usage.per_object("run_transitions"),
        "sqs_requests_per_object": usage.per_object("sqs_requests"),
        "dynamodb_requests_per_object": usage.per_object("dynamodb_requests"),
        "step_functions_per_million": priced.step_functions,
        "sqs_dynamodb_per_million": priced.sqs,
        "achieved_per_second": recorder.start_rate(),
        "seconds": seconds,
        "busy_poll_parent_transitions": busy.transitions,
        "busy_poll_run_transitions": busy.run_transitions,
    }


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "-|-".join("-" * w for w in widths)]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=300)
    parser.add_argument("--handler", type=float, default=0.05, help="handler seconds")
    parser.add_argument(
        "--short-budget",
        type=int,
        default=52,
        help="max_execution_seconds of the second row (a 10 s window: several runs)",
    )
    opts = parser.parse_args()
    header = [
        "budget",
        "objects",
        "parents",
        "runs",
        "achieved/s",
        "parent transitions/obj",
        "runs/obj",
        "run exec-s/obj",
        "SQS req/obj",
        "DynamoDB req/obj",
        "Step Functions $/M",
        "SQS+DynamoDB $/M",
        "busy poll (parent + run transitions)",
    ]
    rows = []
    for budget in (None, opts.short_budget):
        m = measure_standard(
            opts.objects,
            opts.handler,
            max_execution_seconds=budget,
            function_timeout=None if budget is None else 1,
        )
        rows.append(
            [
                "240 s (default)" if budget is None else f"{budget} s, 1 s function timeout",
                str(m["objects"]),
                str(m["parents"]),
                str(m["runs"]),
                f"{m['achieved_per_second']:.2f}",
                f"{m['parent_transitions_per_object']:.3f}",
                f"{m['runs_per_object']:.4f}",
                f"{m['run_seconds_per_object']:.3f}",
                f"{m['sqs_requests_per_object']:.3f}",
                f"{m['dynamodb_requests_per_object']:.3f}",
                f"${m['step_functions_per_million']:,.3f}",
                f"${m['sqs_dynamodb_per_million']:,.3f}",
                f"{m['busy_poll_parent_transitions']} + {m['busy_poll_run_transitions']}",
            ]
        )
        print(f"  {rows[-1][0]}: {m['seconds']:.0f} s", flush=True)
    print()
    print(
        f"STANDARD dispatcher (parent over EXPRESS runs), K={CONCURRENCY} R={RATE:g}, handler "
        f"{opts.handler:g} s; Step Functions = parent transitions at $25/M + runs as EXPRESS "
        "(requests, 64 MB-s); pacing, triggers and logs left out"
    )
    print(table(rows, header))


if __name__ == "__main__":
    main()
