"""The pure parts of `s3ep simulate`: keys, overrides, the summary's arithmetic, the timeline."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import config, evaluate

from s3ep_pulumi.local.report import (
    Call,
    Sample,
    assign_slots,
    percentile,
    summarise,
    timeline_svg,
)
from s3ep_pulumi.local.simulate import (
    SimulationError,
    matches_filters,
    runtime_deviation,
    synthetic_keys,
    unmatched_keys,
    with_retry_delay,
)


def test_synthetic_keys_take_the_first_prefix_and_each_suffix_in_turn() -> None:
    assert synthetic_keys(3, ["uploads/", "b/"], [".jpg", ".png"]) == [
        "uploads/sim-0000.jpg",
        "uploads/sim-0001.png",
        "uploads/sim-0002.jpg",
    ]


def test_unmatched_keys_miss_the_suffix_or_the_prefix_and_none_exist_without_filters() -> None:
    keys = unmatched_keys(2, ["uploads/"], [".jpg"])
    assert keys == ["uploads/ignored-0000.s3ep-ignored", "s3ep-ignored/ignored-0001.jpg"]
    assert not any(matches_filters(k, ["uploads/"], [".jpg"]) for k in keys)
    assert unmatched_keys(5, [], []) == []


def test_the_retry_delay_override_changes_only_the_retry_later_visibility() -> None:
    raw = config(dispatch={"failed_retry_delay_seconds": 17})
    definition = evaluate(raw).one("aws:sfn/stateMachine:StateMachine").prop("definition")
    before, after = json.dumps(definition), json.dumps(with_retry_delay(definition, 2))
    assert before.count('"VisibilityTimeout": 17') == 1
    assert after.replace('"VisibilityTimeout": 2}', '"VisibilityTimeout": 17}') == before


def test_a_runtime_other_than_this_python_is_a_deviation() -> None:
    assert runtime_deviation("python3.11", (3, 11)) is None
    assert runtime_deviation("python3.12", (3, 11)) == (
        "function.runtime: declared python3.12, simulated on Python 3.11"
    )
    with pytest.raises(SimulationError, match=r"cannot be simulated by Python 4\.0"):
        runtime_deviation("python3.12", (4, 0))


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([], 50) is None


def test_slots_reuse_the_lowest_free_one() -> None:
    calls = [Call("a", 0, 2, None), Call("b", 1, 3, None), Call("c", 2, 4, None)]
    assert assign_slots(calls) == [0, 1, 0]


KEYS = ["in/a", "in/b", "in/c", "in/d"]


def summary(
    calls: list[Call], dead: list[str | None], left: int = 0, matched: int = 4
) -> dict[str, Any]:
    return summarise(
        stack="t",
        uploads={**{k: 0.0 for k in KEYS}, "x/ignored": 0.0},
        expected=set(KEYS),
        matched=matched,
        calls=calls,
        dead_keys=dead,
        left_in_queue=left,
        throttles=0,
        max_concurrency=2,
        configured_rate=1.0,
        executions={"Done": 1},
        elapsed_seconds=10.0,
    ).to_json()


def test_the_counts_add_up_processed_retried_dead_lettered_and_none_lost() -> None:
    calls = [
        Call("in/a", 1, 2, None),
        Call("in/b", 2, 3, "RuntimeError"),
        Call("in/b", 4, 5, None),
        Call("in/c", 6, 7, "statusCode 500"),
        Call("in/c", 8, 9, "statusCode 500"),
        Call("in/d", 10, 11, None),
    ]
    s = summary(calls, ["in/c"])
    assert (s["uploaded"], s["ignored"], s["processed"], s["retried"]) == (5, 1, 3, 2)
    assert (s["dead_lettered"], s["lost"], s["max_in_flight"]) == (1, 0, 1)
    assert s["failures"] == {"RuntimeError": 1, "statusCode 500": 2}
    assert (s["latency_p50"], s["latency_p95"]) == (5.0, pytest.approx(10.4))
    assert s["violations"] == []


def test_an_object_neither_processed_nor_dead_lettered_nor_queued_is_lost() -> None:
    s = summary([Call("in/a", 0, 1, None), Call("in/b", 1, 2, None)], [], left=1)
    assert s["lost"] == 1
    assert s["violations"] == ["1 matched object(s) lost: neither processed, in the DLQ nor queued"]


def test_broken_limits_and_filters_are_violations() -> None:
    calls = [Call(k, 0.1 * i, 5, None) for i, k in enumerate(KEYS)] + [
        Call("x/ignored", 0.5, 0.6, None)
    ]
    assert summary(calls, [], matched=5)["violations"] == [
        "5 message(s) reached the queue, 4 upload(s) match the filters: the rule's pattern "
        "does not do what the bucket settings say",
        "1 handler call(s) for keys outside the filters",
        "5 handler calls in flight at once, above max_concurrency 2",
        "5 starts within 1 s, above the bound ceil(R x W) + 1 = 2",
        "5 starts within 2 s, above the bound ceil(R x W) + 1 = 3",
    ]  # 5 starts in 4 s is within that window's bound of 5


def test_the_timeline_draws_one_bar_per_call_and_the_queue_depth() -> None:
    calls = [Call("in/a", 100.0, 101.0, None), Call("in/b", 100.5, 102.0, "Sandbox.Timedout")]
    svg = timeline_svg(calls, [Sample(100.0, 2, 0, 0), Sample(101.0, 1, 0, 2)], 100.0)
    assert svg.count("<rect ") == 2
    assert "<title>in/b: 1.500 s, Sandbox.Timedout</title>" in svg
    assert "peak 2" in svg and svg.count("<polyline ") == 2
