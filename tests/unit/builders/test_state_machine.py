"""The generated definition, checked statically: every state is reachable, every transition
lands on a state of its own scope, and the settings reach the states that use them."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import config

from s3ep_pulumi.builders.state_machine import DispatcherTargets, definition, parent_definition
from s3ep_pulumi.model import budget
from s3ep_pulumi.model.args import S3EventProcessorArgs

TARGETS = DispatcherTargets(
    queue_url="https://q/queue",
    dlq_url="https://q/dlq",
    table_name="img-dispatch",
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
)


RUN_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:img-dispatcher-run"


def build(**dispatch: Any) -> dict[str, Any]:
    """The definition that drains the queue: under STANDARD, the run the parent starts."""
    args = S3EventProcessorArgs.model_validate(config(dispatch=dispatch))
    return definition(args, TARGETS, handover=args.dispatch.workflow_type != "STANDARD")


def parent(**dispatch: Any) -> dict[str, Any]:
    args = S3EventProcessorArgs.model_validate(config(dispatch={"workflow_type": "STANDARD"}))
    return parent_definition(args, RUN_ARN)


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
    control = {
        "lanes": 7,
        "rate": 3.5,
        "started.$": "$.started",
        "start_by": 240 - 128,  # the tail counts the 2 s the shim may wait for a slot
        "lead": 2 + 1.0,  # the long poll and the receive's margin
        "batch": 4,
    }
    # one report per lane, planned by the shim for a handler running its whole timeout
    plan = machine["States"]["Plan"]
    assert plan["Parameters"]["Payload"] == {"s3ep": {**control, "plan": 60, "lease": 300}}
    lanes = machine["States"]["Lanes"]
    assert lanes["ItemsPath"] == "$.plan.lanes"
    assert lanes["MaxConcurrency"] == 7
    lane = lanes["ItemProcessor"]["States"]
    assert lanes["ItemProcessor"]["StartAt"] == "Clock"
    assert lane["Receive"]["Parameters"]["MaxNumberOfMessages.$"] == "$.take"
    assert lanes["ItemSelector"]["take"] == 1
    # a lane's receives grow 1, 2, 4, 4, ...: a small burst reaches every lane
    assert lanes["ItemSelector"]["ramp"] == [1, 2, 4, 4, 4]
    assert lane["Batch"]["MaxConcurrency"] == 1
    assert lane["Batch"]["ItemSelector"]["control"] == {
        **control,
        "lane.$": "$.lane",
        "cycle.$": "$.report.cycle",
    }


def test_a_lane_receives_only_what_it_can_still_start() -> None:
    lane = build(batch_size=4)["States"]["Lanes"]["ItemProcessor"]["States"]
    assert lane["Clock"]["Parameters"]["limit.$"] == (
        "States.ArrayGetItem($.report.cutoffs, States.MathAdd($.take, -1))"
    )
    assert lane["Fits"]["Choices"] == [
        {"Variable": "$.clock.now", "StringLessThanEqualsPath": "$.clock.limit", "Next": "Renew"},
        {
            "Variable": "$.clock.now",
            "StringLessThanEqualsPath": "$.report.cutoffs[0]",
            "Next": "One",
        },
    ]
    assert lane["Fits"]["Default"] == "WindowClosed"
    assert lane["One"] == {"Type": "Pass", "Result": 1, "ResultPath": "$.take", "Next": "Renew"}
    # the newest report of a round is its last message's
    assert lane["CountRound"]["Parameters"]["report.$"] == (
        "States.ArrayGetItem($.outcomes.reports, "
        "States.MathAdd(States.ArrayLength($.outcomes.reports), -1))"
    )
    iteration = lane["Batch"]["ItemProcessor"]["States"]
    ends = {n for n, s in iteration.items() if s.get("End")}
    assert ends == {"Succeeded", "Failed", "Release", "Quarantined", "Left"}
    assert all("report.$" in iteration[n]["Parameters"] for n in ends)
    assert iteration["Succeeded"]["Parameters"]["report.$"] == "$.result.payload.report"


def test_every_body_goes_to_the_shim_which_answers_malformed_for_what_is_not_an_s3_event() -> None:
    iteration = build()["States"]["Lanes"]["ItemProcessor"]["States"]["Batch"]["ItemProcessor"]
    assert iteration["StartAt"] == "Invoke"
    assert {
        "Variable": "$.result.payload.outcome",
        "StringEquals": "malformed",
        "Next": "Quarantine",
    } in iteration["States"]["Outcome"]["Choices"]
    assert not [
        s
        for s in iteration["States"].values()
        if s["Type"] == "Choice" and s is not iteration["States"]["Outcome"]
    ]


def test_no_lane_counts_rounds_against_a_history_plan() -> None:
    # a STANDARD parent's history grows per run, not per message: its runs are EXPRESS
    for machine in (build(), build(workflow_type="STANDARD")):
        lane = machine["States"]["Lanes"]["ItemProcessor"]["States"]
        assert "RoundsSpent" not in lane
        assert [c["Next"] for c in lane["NextRound"]["Choices"]] == [
            "ReleaseUnstarted",
            "SqsFailed",
        ]


def test_a_run_reports_to_its_parent_instead_of_handing_over() -> None:
    express, run = build()["States"], build(workflow_type="STANDARD")["States"]
    assert set(express) - set(run) == {"HandOver", "Handover"}
    assert set(run) - set(express) == {"AnyLeft", "WorkLeft"}
    assert run["More"]["Next"] == "AnyLeft"
    assert run["More"]["Catch"][0]["Next"] == "Done"  # SQS could not say: the parent ends
    assert run["AnyLeft"] == {
        "Type": "Choice",
        "Choices": [{"Variable": "$.more.visible", "StringEquals": "0", "Next": "Done"}],
        "Default": "WorkLeft",
    }
    reports = {
        name: (run[name]["Type"], run[name]["Result"], run[name]["End"])
        for name in ("WorkLeft", "Done", "Busy", "Idle")
    }
    assert reports == {
        "WorkLeft": ("Pass", {"held": True, "more": True}, True),
        "Done": ("Pass", {"held": True, "more": False}, True),
        "Busy": ("Pass", {"held": False, "more": False}, True),  # the lease was taken
        "Idle": ("Pass", {"held": False, "more": False}, True),
    }
    # everything before the release is today's EXPRESS definition
    for name in set(express) & set(run) - {"More", "Done", "Busy", "Idle"}:
        assert run[name] == express[name], name


def test_the_standard_parent_loops_over_runs_and_hands_over_after_its_rounds() -> None:
    machine = parent()
    assert machine["StartAt"] == "Init"
    states = machine["States"]
    assert list(states) == ["Init", "Run", "Again", "Successor", "RunFailed", "Done"]
    assert states["Init"] == {
        "Type": "Pass",
        "Parameters": {"chain.$": "$.chain", "round": 0},
        "Next": "Run",
    }
    run = states["Run"]
    assert run["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert run["Parameters"] == {
        "StateMachineArn": RUN_ARN,
        "Input": {
            "trigger": "round",
            "chain.$": "$.chain",
            "round.$": "States.MathAdd($.round, 1)",
            "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
        },
    }
    assert run["TimeoutSeconds"] == 240 + 60  # no run outlives its lease
    # .sync:2 answers DescribeExecution with Input and Output as JSON: keep the loop's state
    assert run["ResultSelector"] == {
        "chain.$": "$.Input.chain",
        "round.$": "$.Input.round",
        "held.$": "$.Output.held",
        "more.$": "$.Output.more",
    }
    assert "ResultPath" not in run
    assert run["Retry"] == [
        {
            "ErrorEquals": ["StepFunctions.ExecutionLimitExceeded"],
            "IntervalSeconds": 1,
            "MaxAttempts": budget.PARENT_RUN_RETRY_ATTEMPTS,
            "BackoffRate": 2.0,
            "JitterStrategy": "FULL",
        }
    ]
    assert run["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RunFailed"}
    ]
    assert run["Next"] == "Again"
    held_and_more = [
        {"Variable": "$.held", "BooleanEquals": True},
        {"Variable": "$.more", "BooleanEquals": True},
    ]
    assert states["Again"]["Choices"] == [
        {
            "And": [*held_and_more, {"Variable": "$.round", "NumericLessThan": 1_000}],
            "Next": "Run",
        },
        {
            "And": [*held_and_more, {"Variable": "$.chain", "NumericLessThan": 999}],
            "Next": "Successor",
        },
    ]
    assert states["Again"]["Default"] == "Done"
    successor = states["Successor"]
    assert successor["Resource"] == "arn:aws:states:::states:startExecution"
    assert successor["Parameters"] == {
        "StateMachineArn.$": "$$.StateMachine.Id",
        "Input": {"trigger": "successor", "chain.$": "States.MathAdd($.chain, 1)"},
    }
    assert successor["Catch"][0]["Next"] == "Done" and successor["Next"] == "Done"
    assert states["RunFailed"]["Type"] == "Fail"
    assert states["RunFailed"]["Error"] == "s3ep.RunFailed"
    assert states["Done"] == {"Type": "Succeed"}


def test_the_parents_rounds_bound_is_the_budgets() -> None:
    (loop, _) = parent()["States"]["Again"]["Choices"]
    assert loop["And"][2]["NumericLessThan"] == budget.PARENT_ROUNDS_MAX


def test_the_parent_takes_two_transitions_per_round() -> None:
    # Run and Again; every other state runs once per parent execution
    states = parent()["States"]
    loop = {name for name, s in states.items() if "Run" in successors(s)}
    assert loop == {"Init", "Again"}
    assert successors(states["Run"]) == ["Again", "RunFailed"]


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


# What SQS answers when it refuses a call for now, as Step Functions names the errors of its AWS
# SDK integrations (docs/aws-semantics.md F1, S11), the SDK's client-side and generic service
# errors, and a task timeout.
TRANSIENT_SQS_ERRORS = {
    "Sqs.RequestThrottledException",
    "Sqs.KmsThrottledException",
    "Sqs.OverLimitException",
    "Sqs.SdkClientException",
    "Sqs.SqsException",
    "States.Timeout",
}


def states_with_scope(machine: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(the Map states it runs in, its name, the state) for every state, nested ones too."""
    out: list[tuple[str, str, dict[str, Any]]] = []

    def walk(scope: dict[str, Any], inside: str) -> None:
        for name, state in scope["States"].items():
            out.append((inside, name, state))
            if "ItemProcessor" in state:
                walk(state["ItemProcessor"], f"{inside}/{name}")

    walk(machine, "")
    return out


@pytest.mark.parametrize(
    "dispatch",
    [{}, {"rate_per_second": 10}, {"workflow_type": "STANDARD", "max_concurrency": 4}],
    ids=["express", "rate", "standard"],
)
def test_every_sqs_task_retries_refusals_and_in_a_lane_catches_what_outlives_the_retries(
    dispatch: dict[str, Any],
) -> None:
    sqs_tasks = [
        (inside, name, state)
        for inside, name, state in states_with_scope(build(**dispatch))
        if state.get("Resource", "").startswith("arn:aws:states:::aws-sdk:sqs:")
    ]
    assert len(sqs_tasks) >= 7
    for inside, name, state in sqs_tasks:
        (retry,) = state["Retry"]
        assert set(retry["ErrorEquals"]) == TRANSIENT_SQS_ERRORS, name
        assert len(retry["ErrorEquals"]) == len(TRANSIENT_SQS_ERRORS), name
        # 1 + 2 + 4 s at most, with full jitter: what the timing model counts (model/budget.py)
        assert {k: v for k, v in retry.items() if k != "ErrorEquals"} == {
            "IntervalSeconds": 1,
            "MaxAttempts": 3,
            "BackoffRate": 2.0,
            "MaxDelaySeconds": 4,
            "JitterStrategy": "FULL",
        }, name
        if inside:  # a lane's or one message's SQS call: its failure must not fail the Map
            assert [c["ErrorEquals"] for c in state.get("Catch", [])] == [["States.ALL"]], name


def test_the_lease_is_taken_checked_and_released_with_conditional_writes_on_one_item() -> None:
    machine = build()
    states = machine["States"]
    lane = states["Lanes"]["ItemProcessor"]["States"]
    lease_tasks = {
        name: state
        for _, name, state in states_with_scope(machine)
        if state.get("Resource", "").startswith("arn:aws:states:::dynamodb:")
    }
    assert sorted(lease_tasks) == ["Acquire", "ReleaseAfterError", "ReleaseLease", "Renew"]
    for name, state in lease_tasks.items():
        assert state["Resource"] == "arn:aws:states:::dynamodb:updateItem", name
        assert state["Parameters"]["Key"] == {"pk": {"S": "lease"}}, name
        assert state["Parameters"]["ConditionExpression"], name
        (retry,) = state["Retry"]
        assert "DynamoDB.ConditionalCheckFailedException" not in retry["ErrorEquals"], name
    # free, or its holder's time ran out; the fence grows with each holder
    acquire = states["Acquire"]["Parameters"]
    assert acquire["ConditionExpression"] == "attribute_not_exists(#holder) OR #expires < :now"
    assert acquire["UpdateExpression"] == "SET #holder = :me, #expires = :expires ADD #fence :one"
    assert acquire["ExpressionAttributeValues"][":now"] == {"N.$": "$.plan.clock.now"}
    assert acquire["ReturnValues"] == "UPDATED_NEW"
    assert states["Acquire"]["Catch"] == [
        {
            "ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"],
            "ResultPath": "$.lease_error",
            "Next": "Busy",
        }
    ]
    assert states["HasWork"]["Default"] == "Plan"
    assert states["Plan"]["Next"] == "Acquire"
    # a lane checks its fence before every receive, and holds nothing when it ends there
    renew = lane["Renew"]
    assert renew["Parameters"]["ConditionExpression"] == "#holder = :me AND #fence = :fence"
    assert [c["Next"] for c in renew["Catch"]] == ["LeaseLost"]
    assert renew["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    assert renew["Next"] == "Receive"
    # released on the way out, whichever way; a release that finds the lease taken over is fine
    for name, then in (("ReleaseLease", "More"), ("ReleaseAfterError", "LanesFailed")):
        release = states[name]
        assert release["Parameters"]["UpdateExpression"] == "REMOVE #holder, #expires"
        assert release["Parameters"]["ConditionExpression"] == "#holder = :me AND #fence = :fence"
        assert release["Next"] == then
        assert [c["Next"] for c in release["Catch"]] == [then]
    assert states["Lanes"]["Catch"][0]["Next"] == "ReleaseAfterError"


def test_an_execution_that_ends_with_work_left_starts_its_successor_with_a_bounded_chain() -> None:
    states = build()["States"]
    assert states["Init"]["Parameters"]["chain.$"] == "$.chain"
    assert states["More"]["Resource"] == "arn:aws:states:::aws-sdk:sqs:getQueueAttributes"
    assert [c["Next"] for c in states["More"]["Catch"]] == ["Done"]
    empty, spent = states["HandOver"]["Choices"]
    assert empty == {"Variable": "$.more.visible", "StringEquals": "0", "Next": "Done"}
    assert spent == {
        "Variable": "$.chain",
        "NumericGreaterThanEquals": 999,  # budget.HANDOVER_CHAIN_MAX - 1
        "Next": "Done",
    }
    assert states["HandOver"]["Default"] == "Handover"
    handover = states["Handover"]
    assert handover["Resource"] == "arn:aws:states:::states:startExecution"
    assert handover["Parameters"] == {
        "StateMachineArn.$": "$$.StateMachine.Id",
        "Input": {"trigger": "handover", "chain.$": "States.MathAdd($.chain, 1)"},
    }
    assert [c["Next"] for c in handover["Catch"]] == ["Done"]
    # only after the lease was released on the normal path; never after a failure
    assert states["ReleaseLease"]["Next"] == "More"
    assert states["ReleaseAfterError"]["Next"] == "LanesFailed"


def test_every_state_of_the_parent_is_reachable() -> None:
    machine = parent()
    seen, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += successors(machine["States"][name])
    assert seen == set(machine["States"])
