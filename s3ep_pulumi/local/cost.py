"""What the dispatcher adds to the bill, from what an emulated run used: pure functions.

`usage_from_history` reads Step Functions execution histories (as `get_execution_history`
returns them); `Usage` adds the Lambda-side figures the emulator records; `cost` prices it per
million objects at us-east-1 list prices. Left out on purpose, because every design pays them:
the handler's own Lambda invocation and compute, and EventBridge's delivery to SQS.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

# --- us-east-1 list prices (checked 2026-11) ---------------------------------------------------
# https://aws.amazon.com/step-functions/pricing/
STANDARD_PER_TRANSITION = 0.025 / 1_000
EXPRESS_PER_REQUEST = 1.00 / 1_000_000
EXPRESS_PER_GB_SECOND = 0.00001667  # first tier
EXPRESS_MEMORY_GB = 64 / 1024  # billed in 64 MB chunks; a dispatcher execution needs one
EXPRESS_BILLING_STEP_SECONDS = 0.1  # duration rounded up to 100 ms
# https://aws.amazon.com/sqs/pricing/
SQS_STANDARD_PER_REQUEST = 0.40 / 1_000_000
SQS_FIFO_PER_REQUEST = 0.50 / 1_000_000
# https://aws.amazon.com/dynamodb/pricing/on-demand/ (write request units; a conditional write
# whose condition fails is billed too)
DYNAMODB_PER_WRITE = 0.625 / 1_000_000
# https://aws.amazon.com/lambda/pricing/
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
# https://aws.amazon.com/eventbridge/pricing/ (Scheduler invocations)
SCHEDULER_PER_INVOCATION = 1.00 / 1_000_000
# https://aws.amazon.com/cloudwatch/pricing/ (Logs ingestion, standard class)
LOGS_PER_GB = 0.50
# Bytes one ERROR-level Step Functions log event takes (event JSON with error and cause).
LOG_EVENT_BYTES = 1_024

MILLION = 1_000_000
ERROR_EVENTS = ("Failed", "TimedOut", "Aborted")


@dataclass
class Usage:
    """Resources one run used; add runs with `+`."""

    objects: int = 0
    executions: int = 0
    transitions: int = 0
    billed_seconds: float = 0.0  # EXPRESS duration, each execution rounded up to 100 ms
    sqs_requests: int = 0
    fifo_requests: int = 0
    dynamodb_requests: int = 0  # the lease's writes
    extra_invocations: int = 0  # invocations beyond one per object (deferrals, malformed)
    pacing_gb_seconds: float = 0.0  # Lambda time spent waiting for a start slot
    error_log_events: int = 0
    sqs_by_action: dict[str, int] = field(default_factory=dict)
    # A STANDARD parent's EXPRESS runs (`with_runs`): priced per request and duration whatever
    # the parent's type. Their SQS and DynamoDB requests and error events are in the fields
    # above; their transitions only here (an EXPRESS run is not billed by transition).
    run_executions: int = 0
    run_billed_seconds: float = 0.0
    run_transitions: int = 0

    def __add__(self, other: Usage) -> Usage:
        out = Usage()
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, dict):
                setattr(out, f.name, {k: a.get(k, 0) + b.get(k, 0) for k in {*a, *b}})
            else:
                setattr(out, f.name, a + b)
        return out

    def per_object(self, name: str) -> float:
        return float(getattr(self, name)) / self.objects if self.objects else 0.0


def billed_seconds(seconds: float) -> float:
    steps = math.ceil(round(seconds / EXPRESS_BILLING_STEP_SECONDS, 6))
    return steps * EXPRESS_BILLING_STEP_SECONDS


def usage_from_history(
    events: Iterable[Mapping[str, Any]],
    *,
    seconds: float,
    fifo_queue_urls: frozenset[str] | set[str] = frozenset(),
) -> Usage:
    """One execution's usage: transitions as Step Functions bills them (each state entered, and
    each retry, which shows as another TaskScheduled inside the same state), the SQS requests
    its tasks made, its error events (what ERROR-level logging writes)."""
    usage = Usage(executions=1, billed_seconds=billed_seconds(seconds))
    scheduled_in_state = 0
    for event in events:
        kind = str(event["type"])
        if kind.endswith("StateEntered"):
            usage.transitions += 1
            scheduled_in_state = 0
        elif kind == "TaskScheduled":
            details = event["taskScheduledEventDetails"]
            scheduled_in_state += 1
            if scheduled_in_state > 1:
                usage.transitions += 1  # a retry
            if details["resourceType"] == "aws-sdk:sqs":
                url = json.loads(details.get("parameters") or "{}").get("QueueUrl")
                if url in fifo_queue_urls:
                    usage.fifo_requests += 1
                else:
                    usage.sqs_requests += 1
                action = str(details["resource"])
                usage.sqs_by_action[action] = usage.sqs_by_action.get(action, 0) + 1
            elif details["resourceType"] == "dynamodb":
                usage.dynamodb_requests += 1
        if kind.endswith(ERROR_EVENTS):
            usage.error_log_events += 1
    return usage


# What a STANDARD parent's Run task is called in its history (`startExecution.sync:2`).
SYNC_RUN_RESOURCE = "startExecution.sync:2"


def runs_started(events: Iterable[Mapping[str, Any]]) -> list[str]:
    """The executions a parent started and awaited (`startExecution.sync:2`), in order: each
    `TaskSubmitted` event's `ExecutionArn`."""
    out = []
    for event in events:
        details = event.get("taskSubmittedEventDetails") or {}
        if event["type"] == "TaskSubmitted" and details.get("resource") == SYNC_RUN_RESOURCE:
            out.append(str(json.loads(details["output"])["ExecutionArn"]))
    return out


def with_runs(parent: Usage, runs: Iterable[Usage]) -> Usage:
    """A STANDARD parent's usage with its EXPRESS runs': their executions, billed seconds and
    transitions kept apart (priced as EXPRESS), their requests and error events added."""
    out = parent + Usage()
    for run in runs:
        out.run_executions += run.executions + run.run_executions
        out.run_billed_seconds += run.billed_seconds + run.run_billed_seconds
        out.run_transitions += run.transitions + run.run_transitions
        out.sqs_requests += run.sqs_requests
        out.fifo_requests += run.fifo_requests
        out.dynamodb_requests += run.dynamodb_requests
        out.error_log_events += run.error_log_events
        out.extra_invocations += run.extra_invocations
        out.pacing_gb_seconds += run.pacing_gb_seconds
        for action, n in run.sqs_by_action.items():
            out.sqs_by_action[action] = out.sqs_by_action.get(action, 0) + n
    return out


@dataclass(frozen=True)
class Cost:
    """Dollars per million objects, by what pays."""

    step_functions: float
    sqs: float
    lambda_pacing: float
    triggers: float
    logs: float

    @property
    def total(self) -> float:
        return self.step_functions + self.sqs + self.lambda_pacing + self.triggers + self.logs


def cost(
    usage: Usage, workflow_type: str, *, trigger: Usage | None = None, triggers_per_object: float
) -> Cost:
    """Price `usage` per million objects; `trigger` is one poll that found the lease taken
    (or the queue empty), paid `triggers_per_object` times per object."""
    if usage.objects <= 0:
        raise ValueError("usage.objects must be positive: a cost per object needs objects")
    scale = MILLION / usage.objects

    def express(executions: int, seconds: float) -> float:
        return (
            executions * EXPRESS_PER_REQUEST + seconds * EXPRESS_MEMORY_GB * EXPRESS_PER_GB_SECOND
        )

    def step_functions(u: Usage) -> float:
        runs = express(u.run_executions, u.run_billed_seconds)
        if workflow_type == "STANDARD":
            return u.transitions * STANDARD_PER_TRANSITION + runs
        return express(u.executions, u.billed_seconds) + runs

    def sqs(u: Usage) -> float:
        return (
            u.sqs_requests * SQS_STANDARD_PER_REQUEST
            + u.fifo_requests * SQS_FIFO_PER_REQUEST
            + u.dynamodb_requests * DYNAMODB_PER_WRITE
        )

    polls = triggers_per_object * MILLION
    poll_cost = polls * SCHEDULER_PER_INVOCATION
    if trigger is not None:
        poll_cost += polls * (step_functions(trigger) + sqs(trigger))
    return Cost(
        step_functions=step_functions(usage) * scale,
        sqs=sqs(usage) * scale,
        lambda_pacing=(
            usage.extra_invocations * LAMBDA_PER_REQUEST
            + usage.pacing_gb_seconds * LAMBDA_ARM_PER_GB_SECOND
        )
        * scale,
        triggers=poll_cost,
        logs=usage.error_log_events * LOG_EVENT_BYTES / 1e9 * LOGS_PER_GB * scale,
    )
