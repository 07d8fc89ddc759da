"""The timing model is computed once, into a frozen Budget, and every cross-field rule is
registered where the configuration reference can list it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from helpers import MAPPING, MINIMAL, config

from s3ep_pulumi import S3EventProcessorArgs
from s3ep_pulumi.local.docgen import render, rule_lines
from s3ep_pulumi.model import budget
from s3ep_pulumi.model.budget import Budget
from s3ep_pulumi.model.rules import RULES


def test_budget_is_computed_once_and_frozen() -> None:
    args = S3EventProcessorArgs.model_validate(MINIMAL)
    assert args.budget is args.budget
    with pytest.raises(dataclasses.FrozenInstanceError):
        args.budget.lease_seconds = 1  # type: ignore[misc]


def test_budget_of_the_defaults() -> None:
    budget = S3EventProcessorArgs.model_validate(MINIMAL).budget
    assert budget == Budget(
        lambda_timeout_seconds=60,
        pace_wait_worst_seconds=0.0,
        invoke_worst_case_seconds=4 * 60 + 1 + 2 + 4,
        message_worst_case_seconds=247 + 10,
        in_flight_worst_case_seconds=2 + 10 * 257 + 30,
        visibility_timeout_seconds=2602,
        tail_worst_case_seconds=1 + 60 + 5 + 30 + 30,
        start_window_seconds=240 - 126,
        lease_seconds=300,
        invoke_task_timeout_seconds=65,
        receive_lead_seconds=2 + 1.0,
        lane_batch_bytes=10 * (16_384 + 2_048),
        mapping_visibility_seconds=6 * 60,
    )


def test_a_standard_dispatchers_budget_is_its_runs_budget() -> None:
    # Under STANDARD the per-message work runs in EXPRESS runs of the same budget: no history
    # plan per lane or message is left in the timing model.
    express = S3EventProcessorArgs.model_validate(MINIMAL).budget
    standard = S3EventProcessorArgs.model_validate(config(dispatch={"workflow_type": "STANDARD"}))
    assert standard.budget == express


def test_the_mapping_engines_visibility_timeout_is_six_function_timeouts() -> None:
    # The Lambda guide: at least six times the function's timeout (plus the batching window, 0)
    defaults = S3EventProcessorArgs.model_validate(MAPPING).budget
    assert defaults.visibility_timeout_seconds == 6 * 60 == 360
    longer = S3EventProcessorArgs.model_validate(
        {**MAPPING, "function": {**MAPPING["function"], "timeout": 900}}
    ).budget
    assert longer.visibility_timeout_seconds == 5400
    configured = S3EventProcessorArgs.model_validate(
        {**MAPPING, "queue": {"visibility_timeout_seconds": 1000}}
    ).budget
    assert configured.visibility_timeout_seconds == 1000


def test_sqs_retries_are_what_the_timing_model_counts() -> None:
    # 3 retries after at most 1, 2 and 4 s: a message's bookkeeping (its visibility change) is
    # 7 s of backoff plus latency, and the three SQS calls of an execution's end (a lane's
    # delete and release, the lease) fit the dispatcher's overhead in the tail
    assert budget.SQS_RETRY_WORST_SECONDS == 1 + 2 + 4
    assert budget.MESSAGE_OVERHEAD_SECONDS == 7 + budget.SQS_CALL_LATENCY_SECONDS == 10
    assert 3 * budget.MESSAGE_OVERHEAD_SECONDS <= budget.DISPATCH_OVERHEAD_SECONDS


def test_a_copy_with_other_settings_gets_its_own_budget() -> None:
    args = S3EventProcessorArgs.model_validate(MINIMAL)
    assert args.budget.lane_batch_bytes == 10 * (16_384 + 2_048)
    fewer = args.model_copy(update={"dispatch": args.dispatch.model_copy(update={"batch_size": 2})})
    assert fewer.budget.lane_batch_bytes == 2 * (16_384 + 2_048)


def test_a_standard_parents_rounds_keep_its_history_far_below_the_limit() -> None:
    # per round: Run (entered, exited; the attempt that runs the child: scheduled, started,
    # submitted, succeeded; two refused starts retried: 3 each) and Again (entered, exited)
    assert budget.PARENT_EVENTS_PER_ROUND == 2 + 4 + 2 * 3 + 2 == 14
    # the execution's start and end, Init, Successor (2 attempts), Done
    assert budget.PARENT_EVENTS_FIXED == 2 + 2 + 8 + 2 == 14
    assert budget.PARENT_ROUNDS_MAX == 1_000
    assert budget.PARENT_HISTORY_EVENTS_WORST == 14 + 1_000 * 14 == 14_014
    assert budget.PARENT_HISTORY_EVENTS_WORST <= budget.HISTORY_BUDGET_SHARE * 25_000


def test_every_cross_field_rule_is_in_the_configuration_reference() -> None:
    text = Path("docs/configuration.md").read_text()
    assert text == render(), "run `make docs` and commit the result"
    assert len(RULES) == 25
    for r in RULES:
        assert f"- {r.summary}" in text
    # the section validators too: alarms' evaluation window, Dynatrace's and Splunk's sources
    assert len(rule_lines()) == len(RULES) + 3
