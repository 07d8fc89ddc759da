"""What the dispatcher costs per million objects, measured in the emulator.

Drives a backlog through the component's own declarations in moto (S3 -> EventBridge -> SQS ->
Step Functions -> the shim and a handler that takes HANDLER_SECONDS), for each workflow type,
and prices what the executions used (s3ep_pulumi/local/cost.py) beside, in the same run, the
event source mapping engine (dispatch.engine, no rate; benchmarks/esm_cost.py) and a baseline of
one execution per object.

The lanes of an execution are sized from the cycle the previous one measured (kept on the lease
item), so each design first runs a warm-up backlog (not counted) and then the measured one; the
row "first execution" is the same design without the warm-up: every lane of max_concurrency, as
before issue 13. The Lambda time spent waiting for start slots is priced at each `--memory`
(x86_64 unless `--architecture arm64`), and every paced start's lateness against its grid point
is reported (p50/p90/p99/max, ms).

    .venv/bin/python benchmarks/dispatch_cost.py --objects 300 --memory 256,1024   # ~15 minutes
    .venv/bin/python benchmarks/dispatch_cost.py --quick                            # < 5 minutes
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import boto3
from esm_cost import measure_event_source_mapping
from harness import ROOT, sleeping  # noqa: F401 (sets up path, cwd, credentials)
from moto import mock_aws

from s3ep_pulumi import S3EventProcessor, S3EventProcessorArgs
from s3ep_pulumi.local import cost as pricing
from s3ep_pulumi.local.capture import run_program
from s3ep_pulumi.local.emulator import EMULATOR_CONFIG, Emulated, materialise, patched_seams

HANDLER_SECONDS = 0.05  # a quick handler: lanes wait for their slots most of the time
BUSY_HANDLER_SECONDS = 0.8  # close to max_concurrency / rate: lanes are busy, little waiting
POLLS_PER_HOUR = 60  # the schedule, at the default poll interval of one minute
RUNS = itertools.count()


def processor(
    workflow: str, rate: float | None, concurrency: int, architecture: str = "x86_64"
) -> S3EventProcessorArgs:
    return S3EventProcessorArgs.model_validate(
        {
            "name_prefix": "bench",
            "dispatch": {
                "workflow_type": workflow,
                "max_concurrency": concurrency,
                "rate_per_second": rate,
            },
            "function": {
                "source_dir": "functions/process_object",
                "handler": "app.handler",
                "architecture": architecture,
            },
        }
    )


@dataclass
class Measured:
    usage: pricing.Usage  # pacing_gb_seconds holds Lambda seconds: priced per memory later
    busy_poll: pricing.Usage
    seconds: float  # first start to last end
    rate: float  # achieved starts per second
    lanes: list[int]  # lanes of each execution that ran lanes
    lateness: list[float]  # seconds each paced start came after its grid point, sorted


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of sorted `values` (nearest rank)."""
    return values[max(0, math.ceil(q * len(values)) - 1)] if values else float("nan")


def drain(emu: Emulated, recorder: Any, busy_probe: bool) -> tuple[list[str], Any]:
    """Start a poll and wait for it and its handover chain; with `busy_probe`, also one poll
    while it runs (it finds the lease taken). The executions, and that busy poll's usage."""
    runs: list[str] = []
    busy = None
    while emu.counts()["queue"]:
        first = emu.start_poller(f"run-{next(RUNS)}")
        runs.append(first)
        if busy_probe and busy is None:  # the next tick of the schedule, while the first runs
            time.sleep(1)
            second = emu.start_poller(f"busy-{next(RUNS)}")
            emu.wait(second)
            busy = emu.usage(second)
        emu.wait(first, timeout=900)
        # and every successor it handed over to, until the chain ended
        while pending := [a for a in recorder.handovers if a not in runs]:
            for arn in pending:
                emu.wait(arn, timeout=900)
                runs.append(arn)
    return runs, busy


def measure(
    args: S3EventProcessorArgs,
    objects: int,
    handler_seconds: float = HANDLER_SECONDS,
    warmup: int = 0,
) -> Measured:
    """Run `warmup` objects first in two executions (not counted: they measure the handler's
    cycle for the next one, as earlier executions do in steady operation), then `objects`."""
    capture = run_program(lambda: S3EventProcessor("bench", args))
    with mock_aws(config=EMULATOR_CONFIG), patched_seams(sleeping(handler_seconds)) as recorder:
        emu = materialise(capture)
        s3 = boto3.client("s3")
        # two warm-up executions: the first runs every lane (nothing measured yet), the second
        # is sized from it and measures again with the lanes it will run
        for n, half in enumerate((warmup // 2, warmup - warmup // 2) if warmup else ()):
            for i in range(half):
                s3.put_object(Bucket=emu.bucket, Key=f"warm/{n}-{i:06d}.jpg", Body=b"x")
            drain(emu, recorder, busy_probe=False)
        if warmup:
            with recorder._lock:
                recorder.invocations.clear()
                recorder.invokes, recorder.invoke_seconds = 0, 0.0
                recorder.handovers.clear()
        for i in range(objects):
            s3.put_object(Bucket=emu.bucket, Key=f"in/{i:06d}.jpg", Body=b"x")
        runs, busy = drain(emu, recorder, busy_probe=True)
        usage = pricing.Usage(objects=objects)
        lanes = []
        for arn in runs:
            usage += emu.usage(arn)
            output = json.loads(emu.wait(arn).get("output") or "{}")
            if isinstance(output.get("lanes"), list):
                lanes.append(len(output["lanes"]))
    starts = recorder.starts()
    usage.extra_invocations = recorder.invokes - len(recorder.invocations)
    usage.pacing_gb_seconds = recorder.pacing_seconds()  # seconds; x memory when priced
    assert len(recorder.invocations) == objects, "every object exactly once"
    assert busy is not None
    return Measured(
        usage,
        busy,
        max(i.end for i in recorder.invocations) - starts[0],
        recorder.start_rate(),
        lanes,
        recorder.lateness(),
    )


def at_memory(usage: pricing.Usage, memory_mb: int) -> pricing.Usage:
    """`usage` with its Lambda seconds spent pacing as GB-seconds at `memory_mb`."""
    return dataclasses.replace(usage, pacing_gb_seconds=usage.pacing_gb_seconds * memory_mb / 1024)


def per_execution_baseline(workflow: str, objects: int) -> pricing.Usage:
    """One execution per object (e.g. a rule target starting the workflow): Invoke, done."""
    definition = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "baseline", "Payload.$": "$"},
                "End": True,
            }
        },
    }
    body = json.dumps({"s3_details": {"bucket": "b", "key": "k", "event_type": "Object Created"}})
    with mock_aws(config=EMULATOR_CONFIG), patched_seams(sleeping(HANDLER_SECONDS)):
        iam = boto3.client("iam")
        role = iam.create_role(RoleName="b", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        boto3.client("lambda").create_function(
            FunctionName="baseline",
            Runtime="python3.12",
            Role=role,
            Handler="h.h",
            Code={"ZipFile": b"x"},
        )
        sfn = boto3.client("stepfunctions")
        machine = sfn.create_state_machine(
            name="baseline", definition=json.dumps(definition), roleArn=role, type=workflow
        )["stateMachineArn"]
        usage = pricing.Usage(objects=objects)
        arns = [
            sfn.start_execution(
                stateMachineArn=machine, name=f"b{i}", input=json.dumps({"body": body})
            )["executionArn"]
            for i in range(objects)
        ]
        emu = Emulated("", "", "", "", machine)
        for arn in arns:
            emu.wait(arn)
            usage += emu.usage(arn)
    return usage


def triggers_per_object(rate: float) -> float:
    return POLLS_PER_HOUR / 3600 / rate


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "-|-".join("-" * w for w in widths)]
    out += [" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(out)


def money(value: float) -> str:
    return f"${value:,.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=60, help="objects run first, not counted")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--sweep", type=float, nargs="*", default=[2, 5, 20])
    parser.add_argument("--memory", default="256,1024", help="function memory, MB, comma-separated")
    parser.add_argument("--architecture", choices=("x86_64", "arm64"), default="x86_64")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="200 objects; EXPRESS and STANDARD at 0.05 s, the mapping and the baselines, no sweep",
    )
    opts = parser.parse_args()
    memories = [int(m) for m in opts.memory.split(",")]
    arch = opts.architecture
    objects = 200 if opts.quick else opts.objects
    warmup = min(opts.warmup, 40) if opts.quick else opts.warmup

    header = [
        "design",
        "objects",
        "lanes",
        "achieved/s",
        "late p50/p90/p99/max ms",
        "transitions/obj",
        "exec-s/obj",
        "SQS req/obj",
        "DynamoDB req/obj",
        "extra invokes/obj",
        "pacing s/obj",
        "Step Functions",
        "SQS+DynamoDB",
        "Lambda pacing",
        "triggers",
        "logs",
        "total $/M objects",
    ]
    tables: dict[int, list[list[str]]] = {m: [] for m in memories}

    def row(
        name: str,
        u: pricing.Usage,
        workflow: str,
        m: Measured | None = None,
        trigger: pricing.Usage | None = None,
        triggers: float = 0.0,
    ) -> None:
        late = m.lateness if m else []
        spread = "/".join(f"{1000 * percentile(late, q):.0f}" for q in (0.5, 0.9, 0.99, 1.0))
        for memory in memories:
            c = pricing.cost(
                at_memory(u, memory),
                workflow,
                trigger=trigger,
                triggers_per_object=triggers,
                architecture=arch,
            )
            tables[memory].append(
                [
                    name,
                    str(u.objects),
                    ",".join(map(str, sorted(set(m.lanes)))) if m and m.lanes else "-",
                    f"{m.rate:.2f}" if m else "-",
                    spread if late else "-",
                    f"{u.per_object('transitions'):.2f}",
                    f"{u.per_object('billed_seconds'):.3f}",
                    f"{(u.sqs_requests + u.fifo_requests) / u.objects:.3f}",
                    f"{u.per_object('dynamodb_requests'):.3f}",
                    f"{u.per_object('extra_invocations'):.3f}",
                    f"{u.per_object('pacing_gb_seconds'):.3f}",
                    money(c.step_functions),
                    money(c.sqs),
                    money(c.lambda_pacing),
                    money(c.triggers),
                    money(c.logs),
                    money(c.total),
                ]
            )

    designs: list[tuple[str, float, int, str]] = [
        ("EXPRESS", HANDLER_SECONDS, warmup, ""),
        ("EXPRESS", HANDLER_SECONDS, 0, ", first execution (every lane)"),
        ("STANDARD", HANDLER_SECONDS, warmup, ""),
    ]
    if not opts.quick:
        designs += [("EXPRESS", BUSY_HANDLER_SECONDS, warmup, "")]
    for workflow, seconds, warm, label in designs:
        args = processor(workflow, opts.rate, opts.concurrency, arch)
        m = measure(args, objects, seconds, warmup=warm)
        name = f"s3ep {workflow} K={opts.concurrency} R={opts.rate:g}, handler {seconds:g} s{label}"
        row(name, m.usage, workflow, m, m.busy_poll, triggers_per_object(m.rate))
        print(
            f"  {name}: lanes {m.lanes}, SQS requests by action {m.usage.sqs_by_action}, "
            f"busy poll {m.busy_poll.transitions} transitions, {m.seconds:.0f} s",
            flush=True,
        )
    baseline_objects = 50 if opts.quick else max(50, objects // 5)
    for workflow in ("EXPRESS", "STANDARD"):
        u = per_execution_baseline(workflow, baseline_objects)
        row(f"one {workflow} execution per object", u, workflow)
    # the event source mapping engine (dispatch.engine, no rate), measured in the emulator
    esm = measure_event_source_mapping(objects, HANDLER_SECONDS)
    sqs = esm["sqs_per_million"]
    print(
        f"  {esm['design']}: SQS requests by action {esm['sqs_by_action']}, "
        f"{esm['invocations_per_object']:.2f} invocations per object, "
        f"max in flight {esm['max_in_flight']}",
        flush=True,
    )
    for memory in memories:
        tables[memory].append(
            [
                esm["design"] + " (no rate)",
                str(objects),
                "-",
                f"{esm['achieved_starts_per_second']:.2f}",
                "-",
                *["0", "0", f"{esm['sqs_requests_per_object']:.3f}", "0", "0", "0"],
                *[money(0), money(sqs), money(0), money(0), money(0), money(sqs)],
            ]
        )
    for memory in memories:
        print()
        print(
            f"Cost per million objects at {memory} MB ({arch}), us-east-1 list prices (baselines "
            f"with the {HANDLER_SECONDS:g} s handler); the handler's own Lambda compute and "
            "EventBridge delivery left out"
        )
        print(table(tables[memory], header))
    if opts.quick:
        return

    sweep_rows: list[list[str]] = []
    for rate in [*opts.sweep, opts.rate]:
        count = max(50, int(rate * 20))
        for workflow in ("EXPRESS", "STANDARD"):
            m = measure(processor(workflow, rate, opts.concurrency, arch), count, warmup=warmup)
            priced = [
                pricing.cost(
                    at_memory(m.usage, memory),
                    workflow,
                    trigger=m.busy_poll,
                    triggers_per_object=triggers_per_object(m.rate),
                    architecture=arch,
                )
                for memory in memories
            ]
            c = priced[0]
            sweep_rows.append(
                [
                    f"{rate:g}",
                    workflow,
                    str(count),
                    ",".join(map(str, sorted(set(m.lanes)))),
                    f"{m.rate:.2f}",
                    f"{m.usage.per_object('transitions'):.2f}",
                    f"{m.usage.per_object('billed_seconds'):.3f}",
                    f"{m.usage.per_object('pacing_gb_seconds'):.3f}",
                    money(c.step_functions),
                    money(c.sqs + c.triggers + c.logs),
                    *[money(p.lambda_pacing) for p in priced],
                    *[money(p.total) for p in priced],
                ]
            )
    print()
    print(
        "How the cost moves with the rate (max_concurrency "
        f"{opts.concurrency}; per million objects)"
    )
    print(
        table(
            sweep_rows,
            [
                "rate/s",
                "type",
                "objects",
                "lanes",
                "achieved/s",
                "transitions/obj",
                "exec-s/obj",
                "pacing s/obj",
                "Step Functions",
                "SQS+triggers+logs",
                *[f"pacing at {m} MB" for m in memories],
                *[f"total at {m} MB" for m in memories],
            ],
        )
    )


if __name__ == "__main__":
    main()
