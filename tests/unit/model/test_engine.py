"""`dispatch.engine`: one derived decision (`resolved_engine`) and the rules that keep the event
source mapping engine's configuration meaningful, each with its exact error."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import MAPPING
from pydantic import ValidationError

from s3ep_pulumi import S3EventProcessorArgs


def mapped(**dispatch: Any) -> dict[str, Any]:
    return {**MAPPING, "dispatch": dispatch}


def errors(raw: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as exc_info:
        S3EventProcessorArgs.model_validate(raw)
    return [
        (".".join(str(p) for p in e["loc"]), e["msg"])
        for e in exc_info.value.errors(include_url=False)
    ]


@pytest.mark.parametrize(
    ("dispatch", "engine"),
    [
        ({}, "event_source_mapping"),  # auto without a rate: the mapping has no rate limit
        ({"rate_per_second": 5}, "step_functions"),  # auto with a rate: only the dispatcher paces
        ({"engine": "step_functions"}, "step_functions"),
        ({"engine": "event_source_mapping"}, "event_source_mapping"),
    ],
)
def test_auto_resolves_to_the_mapping_without_a_rate_and_to_the_dispatcher_with_one(
    dispatch: dict[str, Any], engine: str
) -> None:
    args = S3EventProcessorArgs.model_validate(mapped(**dispatch))
    assert args.dispatch.resolved_engine == engine
    assert args.dispatch.uses_dispatcher == (engine == "step_functions")


def test_the_mapping_has_no_rate_limit() -> None:
    assert errors(mapped(engine="event_source_mapping", rate_per_second=5)) == [
        (
            "dispatch.rate_per_second",
            "the event source mapping engine has no rate limit (only maximum concurrency); "
            "remove rate_per_second or set dispatch.engine: step_functions",
        )
    ]


def test_the_mappings_maximum_concurrency_is_at_least_two() -> None:
    assert errors(mapped(max_concurrency=1)) == [
        (
            "dispatch.max_concurrency",
            "an SQS event source mapping's maximum concurrency is at least 2; raise it, or set "
            "dispatch.engine: step_functions (with a rate_per_second) for a single invocation "
            "at a time",
        )
    ]
    # the dispatcher runs a single lane happily
    S3EventProcessorArgs.model_validate(mapped(engine="step_functions", max_concurrency=1))


def test_each_dispatcher_setting_given_to_the_mapping_engine_is_one_error_naming_it() -> None:
    assert errors(
        mapped(workflow_type="EXPRESS", poll_interval_minutes=2, retry={"max_attempts": 1})
    ) == [
        (
            f"dispatch.{field}",
            f"'{field}' is a setting of the Step Functions dispatcher, and this processor uses "
            "the event source mapping engine (dispatch.engine auto without rate_per_second); "
            "set dispatch.engine: step_functions or remove it",
        )
        for field in ("workflow_type", "poll_interval_minutes", "retry")
    ]
    # an explicit engine is named as such; the default values alone are no error
    ((where, message),) = errors(mapped(engine="event_source_mapping", log_level="ALL"))
    assert where == "dispatch.log_level"
    assert "(dispatch.engine: event_source_mapping)" in message
    S3EventProcessorArgs.model_validate(mapped(batch_size=5, max_concurrency=20))


def test_reserved_concurrency_below_the_mappings_concurrency_would_throttle_it() -> None:
    raw = {
        **mapped(max_concurrency=10),
        "function": {**MAPPING["function"], "reserved_concurrency": 5},
    }
    assert errors(raw) == [
        (
            "function.reserved_concurrency",
            "is below dispatch.max_concurrency (10), so the event source mapping (Lambda "
            "throttles it when reserved concurrency is below its maximum concurrency) would be "
            "throttled; raise it or lower max_concurrency",
        )
    ]


def test_a_visibility_timeout_below_six_function_timeouts_is_rejected_for_the_mapping() -> None:
    raw = {**MAPPING, "queue": {"visibility_timeout_seconds": 300}}
    assert errors(raw) == [
        (
            "queue.visibility_timeout_seconds",
            "must be at least 360 s, six times the function's timeout: the Lambda guide asks "
            "this of an event source mapping's queue, so a batch Lambda retries after a "
            "throttle is not received twice; raise it or omit it to use that value",
        )
    ]
    # the dispatcher's worst case (2602 s) does not apply to the mapping
    ok = S3EventProcessorArgs.model_validate(
        {**MAPPING, "queue": {"visibility_timeout_seconds": 360}}
    )
    assert ok.budget.visibility_timeout_seconds == 360
