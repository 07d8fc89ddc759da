"""What the event source mapping engine costs per million objects, measured in the emulator.

Drives a backlog through the component's own declarations in moto (S3 -> EventBridge -> SQS ->
the emulated SQS event source mapping, s3ep_pulumi/local/emulator_esm.py -> the shim and a
handler that takes `handler_seconds`) and counts what the mapping called: SQS requests
(receives, empty long polls included, and batch deletes) and Lambda invocations, per object.
They are priced with the us-east-1 list prices of s3ep_pulumi/local/cost.py. Left out, as in
benchmarks/dispatch_cost.py: the handler's own compute and EventBridge's delivery to SQS.

    .venv/bin/python benchmarks/esm_cost.py                  # 1,000 objects, ~1 minute
    .venv/bin/python benchmarks/esm_cost.py --objects 200 --handler-seconds 0.2

`measure_event_source_mapping` is the function benchmarks/dispatch_cost.py can fold in as a row.
"""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any

import boto3
from harness import ROOT, sleeping  # noqa: F401 (sets up path, cwd, credentials)
from moto import mock_aws

from s3ep_pulumi import S3EventProcessor
from s3ep_pulumi.local import cost as pricing
from s3ep_pulumi.local.capture import run_program
from s3ep_pulumi.local.emulator import EMULATOR_CONFIG, materialise, patched_seams
from s3ep_pulumi.local.emulator_esm import (
    EmulatedMapping,
    MappingSettings,
    wait_until_drained,
)

MAX_CONCURRENCY = 10
BATCH_SIZE = 10
# The emulated mapping's long poll: Lambda's 20 s would only make the benchmark end later; the
# empty receives at the end (one per poller) are counted either way.
WAIT_SECONDS = 1
DRAIN_TIMEOUT_SECONDS = 600


def processor(
    max_concurrency: int = MAX_CONCURRENCY, batch_size: int = BATCH_SIZE
) -> dict[str, Any]:
    """A processor on the event source mapping engine (no rate_per_second)."""
    return {
        "name_prefix": "bench",
        "dispatch": {
            "engine": "event_source_mapping",
            "max_concurrency": max_concurrency,
            "batch_size": batch_size,
        },
        "function": {"source_dir": "functions/process_object", "handler": "app.handler"},
    }


def measure_event_source_mapping(objects: int, handler_seconds: float) -> dict[str, Any]:
    """Process a backlog of `objects` through the emulated mapping, each handler call taking
    `handler_seconds`; what the mapping used per object and what it costs per million."""

    raw = processor()
    capture = run_program(lambda: S3EventProcessor("bench", raw))
    with mock_aws(config=EMULATOR_CONFIG), patched_seams(sleeping(handler_seconds)) as rec:
        emu = materialise(capture)
        s3 = boto3.client("s3")
        for i in range(objects):  # the backlog first: the mapping starts on a full queue
            s3.put_object(Bucket=emu.bucket, Key=f"uploads/{i:06d}.jpg", Body=b"x")
        mapping = EmulatedMapping(
            MappingSettings.declared(capture), emu.queue_url, wait_seconds=WAIT_SECONDS
        )
        with mapping.running():
            drained = wait_until_drained(emu.queue_url, DRAIN_TIMEOUT_SECONDS)
        counts = emu.counts()
    handled = Counter(rec.keys())
    if not drained or counts != {"queue": 0, "dlq": 0} or len(handled) != objects:
        raise RuntimeError(f"the backlog was not processed: {counts}, drained {drained}")
    figures = mapping.figures
    sqs_per_object = figures.total_sqs_requests / objects
    invocations_per_object = figures.invocations / objects
    return {
        "design": (
            f"s3ep event source mapping K={MAX_CONCURRENCY} batch={BATCH_SIZE}, "
            f"handler {handler_seconds:g} s"
        ),
        "objects": objects,
        "sqs_requests_per_object": sqs_per_object,
        "sqs_by_action": dict(figures.sqs_requests),
        "invocations_per_object": invocations_per_object,
        "achieved_starts_per_second": rec.start_rate(),
        "max_in_flight": rec.max_in_flight(),
        # SQS delivers at least once: a message handled twice is counted, not an error
        "handled_twice": sum(1 for n in handled.values() if n > 1),
        "sqs_per_million": sqs_per_object * pricing.SQS_STANDARD_PER_REQUEST * pricing.MILLION,
        # informative: the dispatcher invokes once per object, the mapping once per batch
        "lambda_requests_per_million": invocations_per_object
        * pricing.LAMBDA_PER_REQUEST
        * pricing.MILLION,
    }


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("-|-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--handler-seconds", type=float, default=0.05)
    opts = parser.parse_args()
    m = measure_event_source_mapping(opts.objects, opts.handler_seconds)
    header = [
        "design",
        "objects",
        "achieved/s",
        "max in flight",
        "SQS req/obj",
        "invokes/obj",
        "SQS $/M objects",
        "(Lambda requests $/M)",
    ]
    row = [
        m["design"],
        str(m["objects"]),
        f"{m['achieved_starts_per_second']:.2f}",
        str(m["max_in_flight"]),
        f"{m['sqs_requests_per_object']:.3f}",
        f"{m['invocations_per_object']:.3f}",
        f"${m['sqs_per_million']:.3f}",
        f"${m['lambda_requests_per_million']:.3f}",
    ]
    print(table([row], header))
    print(f"SQS requests by action: {m['sqs_by_action']}; handled twice: {m['handled_twice']}")


if __name__ == "__main__":
    main()
