"""The generated definition, checked statically: every state is reachable, every transition
lands on a state of its own scope, and the settings reach the states that use them."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import config

from s3ep_pulumi.builders.state_machine import DispatcherTargets, definition
from s3ep_pulumi.model.args import S3EventProcessorArgs

TARGETS = DispatcherTargets(
    queue_url="https://q/queue",
    dlq_url="https://q/dlq",
    lease_url="https://q/lease.fifo",
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
)


def build(**dispatch: Any) -> dict[str, Any]:
    return definition(S3EventProcessorArgs.model_validate(config(dispatch=dispatch)), TARGETS)


def scopes(machine: dict[str, Any]) -> list[dict[str, Any]]:
    """The machine and every nested ItemProcessor."""
    out = [machine]
    for state in machine["States"].values():
        if "ItemProcessor" in state:
            out += scopes(state["ItemProcessor"])
    return out


def successors(state: dict[str, Any]) -> list[str]:
    out = [state[k] for k in ("Next", "Default") if k in state]
    out += [c["Next"] for c in state.get("Choices", [])]
    out += [c["Next"] for c in state.get("Catch", [])]
    return out


@pytest.mark.parametrize(
    "dispatch",
    [{}, {"rate_per_second": 10}, {"workflow_type": "STANDARD", "max_concurrency": 4}],
    ids=["express", "rate", "standard"],
)
def test_every_state_is_reachable_and_every_transition_stays_in_its_scope(
    dispatch: dict[str, Any],
) -> None:
    for scope in scopes(build(**dispatch)):
        names = set(scope["States"])
        seen, todo = set(), [scope["StartAt"]]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            assert name in names, name
            seen.add(name)
            state = scope["States"][name]
            todo += successors(state)
            assert successors(state) or state.get("End") or state["Type"] in {"Succeed", "Fail"}
        assert seen == names


def test_lanes_invoke_one_message_at_a_time_and_run_max_concurrency_at_once() -> None:
    machine = build(max_concurrency=7, rate_per_second=3.5, batch_size=4)
    assert machine["States"]["Init"]["Parameters"]["lanes"] == list(range(7))
    lanes = machine["States"]["Lanes"]
    assert lanes["MaxConcurrency"] == 7
    lane = lanes["ItemProcessor"]["States"]
    assert lane["Receive"]["Parameters"]["MaxNumberOfMessages.$"] == "$.take"
    assert lanes["ItemSelector"]["take"] == 1
    # a lane's receives grow 1, 2, 4, 4, ...: a small burst reaches every lane
    assert lanes["ItemSelector"]["ramp"] == [1, 2, 4, 4, 4]
    assert lane["Batch"]["MaxConcurrency"] == 1
    assert lane["Batch"]["ItemSelector"]["control"] == {
        "lane.$": "$.lane",
        "lanes": 7,
        "rate": 3.5,
        "started.$": "$.started",
        "start_by": 240 - 128,  # the tail counts the 2 s the shim may wait for a slot
    }


def test_only_standard_executions_count_rounds() -> None:
    express = build()["States"]["Lanes"]["ItemProcessor"]["States"]
    standard = build(workflow_type="STANDARD")["States"]["Lanes"]["ItemProcessor"]["States"]
    assert "RoundsSpent" not in express
    assert standard["NextRound"]["Choices"][1] == {
        "Variable": "$.round",
        "NumericGreaterThanEquals": 5,
        "Next": "RoundsSpent",
    }


def test_transient_lambda_errors_are_retried_with_the_configured_backoff() -> None:
    machine = build(
        retry={"max_attempts": 4, "interval_seconds": 2, "backoff_rate": 3, "max_delay_seconds": 20}
    )
    batch = machine["States"]["Lanes"]["ItemProcessor"]["States"]["Batch"]
    (retry,) = batch["ItemProcessor"]["States"]["Invoke"]["Retry"]
    assert "Lambda.TooManyRequestsException" in retry["ErrorEquals"]
    assert "Lambda.ServiceException" in retry["ErrorEquals"]
    assert "Lambda.SdkClientException" in retry["ErrorEquals"]
    assert {
        k: retry[k] for k in ("MaxAttempts", "IntervalSeconds", "BackoffRate", "MaxDelaySeconds")
    } == {
        "MaxAttempts": 4,
        "IntervalSeconds": 2,
        "BackoffRate": 3.0,
        "MaxDelaySeconds": 20,
    }
