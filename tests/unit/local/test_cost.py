"""What the dispatcher adds to the bill (local/cost.py): usage read from execution histories and
priced per million objects, in exact dollars for given usage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from s3ep_pulumi.local import cost
from s3ep_pulumi.local.cost import Cost, Usage, billed_seconds, usage_from_history

QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/img-queue"
LEASE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/img-lease.fifo"


def dollars(value: float) -> Any:
    """Equal to the dollar figure, to a millionth of a cent (float sums are not exact)."""
    return pytest.approx(value, abs=1e-8)


def scheduled(resource: str, queue_url: str | None = None, kind: str = "aws-sdk:sqs") -> Any:
    parameters = json.dumps({"QueueUrl": queue_url}) if queue_url else None
    details = {"resourceType": kind, "resource": resource, "parameters": parameters}
    return {"type": "TaskScheduled", "taskScheduledEventDetails": details}


def test_list_prices_per_million_units() -> None:
    per_million = {
        "STANDARD transitions": cost.STANDARD_PER_TRANSITION,
        "EXPRESS requests": cost.EXPRESS_PER_REQUEST,
        "SQS standard requests": cost.SQS_STANDARD_PER_REQUEST,
        "SQS FIFO requests": cost.SQS_FIFO_PER_REQUEST,
        "Lambda requests": cost.LAMBDA_PER_REQUEST,
        "Scheduler invocations": cost.SCHEDULER_PER_INVOCATION,
    }
    assert {k: round(v * 1e6, 9) for k, v in per_million.items()} == {
        "STANDARD transitions": 25.0,
        "EXPRESS requests": 1.0,
        "SQS standard requests": 0.4,
        "SQS FIFO requests": 0.5,
        "Lambda requests": 0.2,
        "Scheduler invocations": 1.0,
    }
    assert (cost.EXPRESS_PER_GB_SECOND, cost.LAMBDA_ARM_PER_GB_SECOND) == (0.00001667, 0.0000133334)
    assert (cost.EXPRESS_MEMORY_GB, cost.LOGS_PER_GB, cost.LOG_EVENT_BYTES) == (0.0625, 0.5, 1024)


@pytest.mark.parametrize(
    ("seconds", "billed"),
    [(0.0, 0.0), (0.01, 0.1), (0.1, 0.1), (0.3, 0.3), (0.1000001, 0.2), (1.23, 1.3), (4.0, 4.0)],
)
def test_express_duration_is_billed_in_started_100_ms_steps(seconds: float, billed: float) -> None:
    assert billed_seconds(seconds) == pytest.approx(billed, abs=1e-12)


def test_usage_counts_transitions_retries_sqs_requests_by_queue_and_error_events() -> None:
    history = [
        {"type": "ExecutionStarted"},
        {"type": "PassStateEntered"},
        {"type": "TaskStateEntered"},
        scheduled("receiveMessage", QUEUE_URL),
        {"type": "TaskSucceeded"},
        {"type": "TaskStateEntered"},
        scheduled("sendMessage", LEASE_URL),
        {"type": "TaskFailed"},
        scheduled("sendMessage", LEASE_URL),  # the retry: another transition in the same state
        {"type": "TaskSucceeded"},
        {"type": "TaskStateEntered"},
        scheduled("invoke", kind="lambda"),
        {"type": "TaskTimedOut"},
        {"type": "ExecutionFailed"},
    ]
    usage = usage_from_history(history, seconds=0.42, fifo_queue_urls={LEASE_URL})
    assert usage == Usage(
        executions=1,
        transitions=5,
        billed_seconds=0.5,
        sqs_requests=1,
        fifo_requests=2,
        error_log_events=3,
        sqs_by_action={"receiveMessage": 1, "sendMessage": 2},
    )


def test_usages_add_field_by_field_and_merge_the_action_counts() -> None:
    a = Usage(objects=2, executions=1, transitions=3, sqs_by_action={"receiveMessage": 1})
    b = Usage(objects=3, billed_seconds=0.5, sqs_by_action={"receiveMessage": 2, "sendMessage": 1})
    assert a + b == Usage(
        objects=5,
        executions=1,
        transitions=3,
        billed_seconds=0.5,
        sqs_by_action={"receiveMessage": 3, "sendMessage": 1},
    )


def test_per_object_divides_by_objects_and_is_zero_without_any() -> None:
    assert Usage(objects=4, transitions=10).per_object("transitions") == 2.5
    assert Usage(transitions=10).per_object("transitions") == 0.0


RUN = Usage(
    objects=1_000,
    executions=1_000,
    transitions=9_000,
    billed_seconds=250.0,
    sqs_requests=3_000,
    fifo_requests=2_000,
    extra_invocations=50,
    pacing_gb_seconds=10.0,
    error_log_events=4,
)


def test_standard_cost_per_million_objects() -> None:
    priced = cost.cost(RUN, "STANDARD", triggers_per_object=0.5)
    assert priced == Cost(
        step_functions=dollars(225.0),  # 9 transitions an object at $25 a million
        sqs=dollars(2.2),  # 3 standard at $0.40 and 2 FIFO requests at $0.50 a million
        lambda_pacing=dollars(0.143334),  # 0.05 invocations at $0.20 a million + 0.01 GB-s
        triggers=dollars(0.5),  # half a million polls at $1 a million
        logs=dollars(0.002048),  # 4 KiB of error events a thousand objects at $0.50 a GB
    )
    assert priced.total == dollars(227.845382)


def test_express_cost_is_requests_and_64_mb_duration_not_transitions() -> None:
    priced = cost.cost(RUN, "EXPRESS", triggers_per_object=0.0)
    # a million executions at $1, plus 250,000 s x 0.0625 GB at $0.00001667 a GB-second
    assert priced.step_functions == dollars(1.26046875)
    assert priced.triggers == 0.0
    assert priced.total == dollars(1.26046875 + 2.2 + 0.143334 + 0.002048)


def test_a_poll_that_finds_the_lease_taken_is_paid_on_every_trigger() -> None:
    poll = Usage(executions=1, transitions=4, billed_seconds=0.1, sqs_requests=1, fifo_requests=1)
    standard = cost.cost(RUN, "STANDARD", trigger=poll, triggers_per_object=2.0)
    express = cost.cost(RUN, "EXPRESS", trigger=poll, triggers_per_object=2.0)
    # two million polls: $2 of Scheduler, plus each poll's own Step Functions and SQS bill
    assert standard.triggers == dollars(2.0 + 2e6 * (4 * 0.000025 + 0.4e-6 + 0.5e-6))  # 203.8
    assert standard.triggers == dollars(203.8)
    assert express.triggers == dollars(2.0 + 2e6 * (1e-6 + 0.1 * 0.0625 * 0.00001667 + 0.9e-6))
    assert express.triggers == dollars(6.008375)


def test_a_run_that_processed_nothing_has_no_cost_per_object() -> None:
    with pytest.raises(ValueError, match=r"usage\.objects must be positive"):
        cost.cost(cost.Usage(objects=0), "EXPRESS", triggers_per_object=0)


def test_the_leases_dynamodb_writes_are_counted_and_priced_with_the_queue_requests() -> None:
    events = [
        {"type": "TaskStateEntered"},
        scheduled("updateItem", kind="dynamodb"),
        {"type": "TaskStateEntered"},
        scheduled("updateItem", kind="dynamodb"),
        scheduled("updateItem", kind="dynamodb"),  # a retry: billed again
    ]
    usage = cost.usage_from_history(events, seconds=0.05)
    assert (usage.dynamodb_requests, usage.sqs_requests, usage.transitions) == (3, 0, 3)
    usage.objects = 1_000
    # 3 writes a thousand objects: 3,000 a million objects, at $0.625 a million write units
    assert cost.cost(usage, "EXPRESS", triggers_per_object=0).sqs == dollars(0.001875)


def submitted(execution_arn: str, resource: str = "startExecution.sync:2") -> Any:
    details = {
        "resourceType": "states",
        "resource": resource,
        "output": json.dumps({"ExecutionArn": execution_arn, "StartDate": "2026-01-01"}),
    }
    return {"type": "TaskSubmitted", "taskSubmittedEventDetails": details}


def test_a_parents_runs_are_the_executions_its_sync_tasks_started() -> None:
    events = [
        {"type": "PassStateEntered"},
        submitted("arn:run-1"),
        {"type": "TaskSucceeded"},
        submitted("arn:other", resource="startExecution.sync"),  # not a .sync:2 run
        submitted("arn:run-2"),
    ]
    assert cost.runs_started(events) == ["arn:run-1", "arn:run-2"]


def test_a_standard_parent_pays_its_transitions_and_its_express_runs_by_request_and_time() -> None:
    # GIVEN a parent of 4 transitions over two runs (EXPRESS: their transitions are not billed)
    parent = Usage(executions=1, transitions=4, billed_seconds=30.0, objects=1_000)
    runs = [
        Usage(
            executions=1,
            transitions=3_000,
            billed_seconds=20.0,
            sqs_requests=200,
            dynamodb_requests=50,
            error_log_events=1,
            sqs_by_action={"receiveMessage": 100},
        ),
        Usage(
            executions=1,
            transitions=1_000,
            billed_seconds=10.0,
            sqs_requests=100,
            dynamodb_requests=20,
            sqs_by_action={"receiveMessage": 50},
        ),
    ]
    # WHEN its usage includes its runs'
    usage = cost.with_runs(parent, runs)
    # THEN the runs' requests add up, their executions and time are kept apart
    assert (usage.transitions, usage.executions, usage.billed_seconds) == (4, 1, 30.0)
    assert (usage.run_executions, usage.run_billed_seconds, usage.run_transitions) == (
        2,
        30.0,
        4_000,
    )
    assert (usage.sqs_requests, usage.dynamodb_requests, usage.error_log_events) == (300, 70, 1)
    assert usage.sqs_by_action == {"receiveMessage": 150}
    priced = cost.cost(usage, "STANDARD", triggers_per_object=0.0)
    # per million objects: 4,000 transitions at $25 a million; 2,000 runs at $1 a million and
    # 30,000 s x 0.0625 GB at $0.00001667 a GB-second
    assert priced.step_functions == dollars(
        4_000 * 25e-6 + 2_000 * 1e-6 + 30_000 * 0.0625 * 0.00001667
    )
    assert priced.sqs == dollars(300_000 * 0.4e-6 + 70_000 * 0.625e-6)
