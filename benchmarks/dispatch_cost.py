"""What the dispatcher costs per million objects, measured in the emulator.

Drives a backlog through the component's own declarations in moto (S3 -> EventBridge -> SQS ->
Step Functions -> the shim and a handler that takes HANDLER_SECONDS), for each workflow type,
and prices what the executions used (s3ep_pulumi/local/cost.py) beside two baselines computed in the
same run: one execution per object, and an SQS event source mapping straight to Lambda.

    .venv/bin/python benchmarks/dispatch_cost.py            # 1,000 objects at 10/s, ~5 minutes
    .venv/bin/python benchmarks/dispatch_cost.py --objects 200 --quick
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
for k, v in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
}.items():
    os.environ.setdefault(k, v)

from s3ep_pulumi import S3EventProcessor, S3EventProcessorArgs  # noqa: E402
from s3ep_pulumi.local import cost as pricing  # noqa: E402
from s3ep_pulumi.local.capture import run_program  # noqa: E402
from s3ep_pulumi.local.emulator import EMULATOR_CONFIG, Emulated, materialise, patched_seams  # noqa: E402

HANDLER_SECONDS = 0.05  # a quick handler: lanes wait for their slots most of the time
BUSY_HANDLER_SECONDS = 0.8  # close to max_concurrency / rate: lanes are busy, little waiting
FUNCTION_MEMORY_GB = 256 / 1024  # the model's default memory_size
POLLS_PER_HOUR = 60  # the schedule, at the default poll interval of one minute
# SQS event source mapping (baseline): Lambda long-polls with at least 5 pollers; each receive
# returns up to a batch of 10 and each batch is deleted with one DeleteMessageBatch.
# https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
ESM_BATCH = 10
RUNS = itertools.count()


def sleeping(seconds: float) -> Any:
    def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
        time.sleep(seconds)
        return {"statusCode": 200}

    return handler


def processor(workflow: str, rate: float | None, concurrency: int) -> S3EventProcessorArgs:
    return S3EventProcessorArgs.model_validate(
        {
            "name_prefix": "bench",
            "dispatch": {
                "workflow_type": workflow,
                "max_concurrency": concurrency,
                "rate_per_second": rate,
            },
            "function": {"source_dir": "functions/process_object", "handler": "app.handler"},
        }
    )


@dataclass
class Measured:
    usage: pricing.Usage
    busy_poll: pricing.Usage
    seconds: float  # first start to last end
    rate: float  # achieved starts per second


def measure(
    args: S3EventProcessorArgs, objects: int, handler_seconds: float = HANDLER_SECONDS
) -> Measured:
    capture = run_program(lambda: S3EventProcessor("bench", args))
    with mock_aws(config=EMULATOR_CONFIG), patched_seams(sleeping(handler_seconds)) as recorder:
        emu = materialise(capture)
        s3 = boto3.client("s3")
        for i in range(objects):
            s3.put_object(Bucket=emu.bucket, Key=f"in/{i:06d}.jpg", Body=b"x")
        usage, busy = pricing.Usage(objects=objects), None
        runs: list[str] = []
        while emu.counts()["queue"]:
            first = emu.start_poller(f"run-{next(RUNS)}")
            runs.append(first)
            if busy is None:  # the next tick of the schedule, while the first one runs
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
        for arn in runs:
            usage += emu.usage(arn)
    starts = recorder.starts()
    usage.extra_invocations = recorder.invokes - len(recorder.invocations)
    usage.pacing_gb_seconds = recorder.pacing_seconds() * FUNCTION_MEMORY_GB
    assert len(recorder.invocations) == objects, "every object exactly once"
    assert busy is not None
    return Measured(
        usage, busy, max(i.end for i in recorder.invocations) - starts[0], recorder.start_rate()
    )


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


def esm_baseline(objects: int, rate: float) -> pricing.Cost:
    """SQS event source mapping: no orchestration; its SQS requests and its idle pollers."""
    requests = objects / ESM_BATCH * 2  # a receive and a DeleteMessageBatch per batch
    hours = objects / rate / 3600
    idle_pollers_requests = 5 * 3 * 60 * hours  # 5 pollers, one 20 s long poll each
    sqs = (requests + idle_pollers_requests) * pricing.SQS_STANDARD_PER_REQUEST
    return pricing.Cost(0.0, sqs * pricing.MILLION / objects, 0.0, 0.0, 0.0)


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
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--sweep", type=float, nargs="*", default=[2, 5, 20])
    parser.add_argument("--quick", action="store_true", help="sweep with 10 s of objects each")
    opts = parser.parse_args()

    header = [
        "design",
        "objects",
        "achieved/s",
        "transitions/obj",
        "exec-s/obj",
        "SQS req/obj",
        "DynamoDB req/obj",
        "extra invokes/obj",
        "pacing GB-s/obj",
        "Step Functions",
        "SQS+DynamoDB",
        "Lambda pacing",
        "triggers",
        "logs",
        "total $/M objects",
    ]
    rows: list[list[str]] = []

    def row(name: str, u: pricing.Usage, c: pricing.Cost, achieved: float | None) -> None:
        rows.append(
            [
                name,
                str(u.objects),
                f"{achieved:.2f}" if achieved else "-",
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

    for workflow, seconds in (
        ("EXPRESS", HANDLER_SECONDS),
        ("STANDARD", HANDLER_SECONDS),
        ("EXPRESS", BUSY_HANDLER_SECONDS),
    ):
        m = measure(processor(workflow, opts.rate, opts.concurrency), opts.objects, seconds)
        c = pricing.cost(
            m.usage, workflow, trigger=m.busy_poll, triggers_per_object=triggers_per_object(m.rate)
        )
        name = f"s3ep {workflow} K={opts.concurrency} R={opts.rate:g}, handler {seconds:g} s"
        row(name, m.usage, c, m.rate)
        print(
            f"  {workflow}: SQS requests by action {m.usage.sqs_by_action}, "
            f"busy poll {m.busy_poll.transitions} transitions, {m.seconds:.0f} s",
            flush=True,
        )
    baseline_objects = max(50, opts.objects // 5)
    for workflow in ("EXPRESS", "STANDARD"):
        u = per_execution_baseline(workflow, baseline_objects)
        row(
            f"one {workflow} execution per object",
            u,
            pricing.cost(u, workflow, triggers_per_object=0.0),
            None,
        )
    esm = esm_baseline(opts.objects, opts.rate)
    rows.append(
        [
            "SQS event source mapping",
            str(opts.objects),
            "-",
            "0",
            "0",
            "0.200",
            "0",
            "0",
            "0",
            money(0),
            money(esm.sqs),
            money(0),
            money(0),
            money(0),
            money(esm.total),
        ]
    )
    print()
    print(
        "Orchestration cost per million objects, us-east-1 list prices (baselines with the "
        f"{HANDLER_SECONDS:g} s handler); the handler's own Lambda compute and EventBridge "
        "delivery left out"
    )
    print(table(rows, header))

    sweep_rows: list[list[str]] = []
    for rate in [*opts.sweep, opts.rate]:
        objects = int(rate * 10) if opts.quick else max(50, int(rate * 20))
        for workflow in ("EXPRESS", "STANDARD"):
            m = measure(processor(workflow, rate, opts.concurrency), objects)
            c = pricing.cost(
                m.usage,
                workflow,
                trigger=m.busy_poll,
                triggers_per_object=triggers_per_object(m.rate),
            )
            sweep_rows.append(
                [
                    f"{rate:g}",
                    workflow,
                    str(objects),
                    f"{m.rate:.2f}",
                    f"{m.usage.per_object('transitions'):.2f}",
                    f"{m.usage.per_object('billed_seconds'):.3f}",
                    money(c.step_functions),
                    money(c.sqs + c.triggers + c.logs),
                    money(c.lambda_pacing),
                    money(c.total),
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
                "achieved/s",
                "transitions/obj",
                "exec-s/obj",
                "Step Functions",
                "SQS+triggers+logs",
                "Lambda pacing",
                "total",
            ],
        )
    )


if __name__ == "__main__":
    main()
