"""The shim in front of the user's handler: pacing on the lane grid, outcomes, failure records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from s3ep_pulumi.runtime import s3ep_shim
from s3ep_pulumi.runtime.s3ep_shim import dispatch, next_slot

BODY = json.dumps(
    {
        "s3_details": {
            "bucket": "b",
            "key": "uploads/a.jpg",
            "event_type": "Object Created",
            "event_time": "2026-11-29T10:00:00Z",
            "object": {"key": "uploads/a.jpg", "size": 1},
        }
    }
)


class Clock:
    """A fake clock whose sleep advances time."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def ok(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "key": event["s3_details"]["key"]}


def control(**overrides: Any) -> dict[str, Any]:
    return {"lane": 1, "lanes": 4, "rate": 5.0, **overrides}


def test_lanes_own_disjoint_grid_points_so_starts_are_never_closer_than_one_step() -> None:
    # 4 lanes at 5 starts/s: a 0.2 s grid, lane j takes the points n with n % 4 == j
    slots = {lane: next_slot(1000.0, lane, 4, 5.0) for lane in range(4)}
    assert slots == pytest.approx({0: 1000.0, 1: 1000.2, 2: 1000.4, 3: 1000.6})
    for tenth in range(0, 200, 7):
        for lane in range(4):
            slot = next_slot(1000.0 + tenth / 10, lane, 4, 5.0)
            assert round(slot / 0.2) % 4 == lane
            assert slot >= 1000.0 + tenth / 10 - s3ep_shim.TOLERANCE_FRACTION * 0.2


def test_a_start_a_little_late_keeps_its_slot_and_a_later_one_takes_the_next() -> None:
    step = 0.2
    tolerance = s3ep_shim.TOLERANCE_FRACTION * step  # 0.05 s
    assert next_slot(1000.0 + tolerance * 0.9, 0, 4, 5.0) == 1000.0
    assert next_slot(1000.0 + tolerance * 1.1, 0, 4, 5.0) == pytest.approx(1000.8)


def test_the_shim_sleeps_until_the_lanes_slot_then_runs_the_handler() -> None:
    clock = Clock(1000.05)
    result = dispatch({"body": BODY, "s3ep": control()}, None, ok, clock=clock, sleep=clock.sleep)
    # the answer names the grid point the handler started on (lateness is measured against it)
    assert result == {
        "outcome": "ok",
        "result": {"statusCode": 200, "key": "uploads/a.jpg"},
        "slot": 1000.2,
    }
    # slot 1000.2, then it holds the slot until it is out of tolerance for the next call
    assert clock.slept == [0.15, 0.05]


def test_a_sleep_that_overruns_the_tolerance_waits_for_the_lanes_next_slot() -> None:
    class Oversleeping(Clock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if len(self.slept) == 1:
                self.now += 0.1  # the first sleep returns 100 ms late: past the 50 ms tolerance

    clock = Oversleeping(1000.05)
    result = dispatch({"body": BODY, "s3ep": control()}, None, ok, clock=clock, sleep=clock.sleep)
    assert result["outcome"] == "ok"
    # slot 1000.2 missed (woke at 1000.3), so the next one of lane 1: 1001.0
    assert clock.slept == [0.15, 0.7, 0.05]


def test_a_far_slot_is_waited_for_in_step_functions_not_in_lambda() -> None:
    clock = Clock(1000.05)
    result = dispatch(
        {"body": BODY, "s3ep": control(lanes=4, rate=0.5, lane=2)},
        None,
        ok,
        clock=clock,
        sleep=clock.sleep,
    )
    # grid of 2 s; lane 2 owns 1004.0: 3.95 s away, wait 3 whole seconds waking >= 0.2 s early
    assert result == {"outcome": "deferred", "wait_seconds": 3, "arrived": 1000.05}
    assert clock.slept == []


def test_without_a_rate_the_handler_runs_at_once() -> None:
    clock = Clock(1000.05)
    result = dispatch(
        {"body": BODY, "s3ep": control(rate=None)}, None, ok, clock=clock, sleep=clock.sleep
    )
    assert result["outcome"] == "ok"
    assert clock.slept == []


def test_after_the_start_window_nothing_runs() -> None:
    calls: list[Any] = []
    clock = Clock(1_800_000_000.0 + 101)  # 101 s after 2027-01-15T08:00:00Z
    result = dispatch(
        {"body": BODY, "s3ep": control(started="2027-01-15T08:00:00.000Z", start_by=100)},
        None,
        lambda e, c: calls.append(e),
        clock=clock,
        sleep=clock.sleep,
    )
    assert result == {"outcome": "expired"}
    assert calls == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("hello", "the message body is not JSON: Expecting value: line 1 column 1 (char 0)"),
        ('{"s3_details": []}', "the message body has no s3_details object"),
        ('{"s3_details": {"bucket": "b"}}', "s3_details lacks key, event_type"),
        (None, "the message body is not a string"),
    ],
)
def test_a_body_that_is_not_an_s3_event_is_malformed_and_the_handler_never_runs(
    body: Any, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = dispatch({"body": body, "s3ep": control(rate=None)}, None, ok)
    assert result == {"outcome": "malformed", "reason": reason}
    assert json.loads(capsys.readouterr().out)["reason"] == reason


def test_a_status_code_of_400_or_more_fails_and_leaves_a_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = dispatch(
        {"body": BODY, "s3ep": control(rate=None)}, None, lambda e, c: {"statusCode": 503}
    )
    assert result == {"outcome": "failed", "statusCode": 503, "result": {"statusCode": 503}}
    assert json.loads(capsys.readouterr().out) == {
        "logger": "s3ep_shim",
        "level": "ERROR",
        "outcome": "failed",
        "bucket": "b",
        "key": "uploads/a.jpg",
        "statusCode": 503,
    }


def test_a_raising_handler_is_recorded_and_re_raised_for_lambda_to_report(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def boom(event: dict[str, Any], context: Any) -> None:
        raise TimeoutError("downstream slow")

    with pytest.raises(TimeoutError):
        dispatch({"body": BODY, "s3ep": control(rate=None)}, None, boom)
    record = json.loads(capsys.readouterr().out)
    assert (record["key"], record["error"], record["message"]) == (
        "uploads/a.jpg",
        "TimeoutError",
        "downstream slow",
    )


def test_the_lambda_entry_point_loads_the_handler_named_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    (tmp_path / "user_app.py").write_text(
        "def handler(event, context):\n    return {'seen': event['s3_details']['key']}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(s3ep_shim, "_HANDLERS", {})
    monkeypatch.setenv("S3EP_HANDLER", "user_app.handler")
    result = s3ep_shim.handler({"body": BODY, "s3ep": control(rate=None)}, None)
    assert result == {"outcome": "ok", "result": {"seen": "uploads/a.jpg"}}
    monkeypatch.setenv("S3EP_HANDLER", "user_app.nothing_here")
    with pytest.raises(ValueError, match=r"'user_app\.nothing_here': user_app has no function"):
        s3ep_shim.handler({"body": BODY}, None)


START = "2027-01-15T08:00:00.000Z"  # epoch 1_800_000_000
WINDOW = {"started": START, "start_by": 100, "lead": 3.0, "batch": 3}  # closes at 08:01:40


def test_the_plan_gives_every_lane_the_last_seconds_it_can_still_receive_1_2_3_messages() -> None:
    # without a rate: k messages need the receive's lead and (k - 1) handler runs of 5 s plus
    # the dispatcher's step, so a receive of 3 must be over by 100 - 3 - 2 x 5.5 = 86 s
    clock = Clock(1_800_000_000.25)
    result = dispatch(
        {"s3ep": {**WINDOW, "lanes": 2, "rate": None, "plan": 5, "lease": 300}},
        None,
        ok,
        clock=clock,
    )
    report = {"cutoffs": ["2027-01-15T08:01:37", "2027-01-15T08:01:31", "2027-01-15T08:01:26"]}
    # and the lease's clock: now, and now + the lease, in epoch milliseconds as DynamoDB numbers;
    # no lane has started or measured anything yet
    assert result == {
        "outcome": "planned",
        "clock": {"now": "1800000000250", "expires": "1800000300250"},
        "count": 2,
        "lanes": [
            {"lane": j, "report": {**report, "cycle": 5.5, "began": 0, "measured": "0"}}
            for j in range(2)
        ],
    }


def test_with_a_rate_a_lane_counts_its_own_start_slots_back_from_the_window_end() -> None:
    # 4 lanes at 2/s: lane 1's last point before 08:01:40 is 08:01:38.5; a 5.5 s cycle takes
    # 3 of its 2 s periods, so each further message moves the cutoff 6 s earlier
    result = dispatch({"s3ep": {**WINDOW, "lanes": 4, "rate": 2.0, "plan": 5}}, None, ok)
    assert result["lanes"][1]["report"]["cutoffs"] == [
        "2027-01-15T08:01:35",
        "2027-01-15T08:01:29",
        "2027-01-15T08:01:23",
    ]
    assert result["lanes"][0]["report"]["cutoffs"][0] == "2027-01-15T08:01:37"  # 08:01:40 - 3


def test_a_success_reports_what_the_lane_can_still_receive_from_the_handlers_duration() -> None:
    clock = Clock(1_800_000_010.0)

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        clock.sleep(0.3)
        return {"statusCode": 200}

    control = {**WINDOW, "lane": 0, "lanes": 2, "rate": None, "cycle": 4.0}
    result = dispatch({"body": BODY, "s3ep": control}, None, slow, clock=clock, sleep=clock.sleep)
    # the estimate falls by half at most: max(0.3 + 0.5, 4.0 / 2) = 2 s per message; the lane's
    # first call has no earlier start to measure its cycle from
    assert result["report"] == {
        "cutoffs": ["2027-01-15T08:01:37", "2027-01-15T08:01:35", "2027-01-15T08:01:33"],
        "cycle": 2.0,
        "began": 1_800_000_010.0,
        "measured": "0",
    }
    control["cycle"] = 1.0
    result = dispatch({"body": BODY, "s3ep": control}, None, slow, clock=clock, sleep=clock.sleep)
    assert result["report"]["cycle"] == pytest.approx(0.8)


def test_a_cutoff_compares_as_a_string_with_step_functions_entered_time() -> None:
    # what `Fits` asks: StringLessThanEqualsPath, EnteredTime <= cutoff
    def fits(now: str) -> bool:
        return now <= "2027-01-15T08:01:37"

    assert fits("2027-01-15T08:01:36.999Z")  # AWS's EnteredTime (milliseconds, Z)
    assert not fits("2027-01-15T08:01:37.000Z")  # the second itself is already too late
    assert fits("2027-01-15T08:01:36.999999+00:00")  # moto's EnteredTime
    assert not fits("2027-01-15T08:01:37+00:00")


# --- how many lanes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "cycle", "lanes"),
    [
        (10.0, 0.15, 2),  # 10/s x 0.15 s x 1.25 = 1.875
        (10.0, 0.4, 5),  # exactly 5: no lane more
        (10.0, 0.5, 7),  # 6.25
        (10.0, 0.9, 10),  # 11.25, capped at max_concurrency
        (2.0, 0.05, 1),  # at least one
        (None, 0.15, 10),  # no rate: the concurrency is the point, every lane
        (10.0, None, 10),  # nothing measured yet: every lane
    ],
)
def test_an_execution_runs_as_many_lanes_as_the_measured_cycle_needs_at_the_rate(
    rate: float | None, cycle: float | None, lanes: int
) -> None:
    assert s3ep_shim.LANE_HEADROOM == 0.25
    assert s3ep_shim.lanes_for(10, rate, cycle) == lanes


@pytest.mark.parametrize(
    ("answer", "cycle"),
    [
        ({"Item": {"pk": {"S": "lease"}, "cycle": {"N": "0.150"}}}, 0.15),
        ({}, None),  # no lease item yet: the first execution
        ({"Item": {"pk": {"S": "lease"}, "fence": {"N": "3"}}}, None),  # never measured
        ({"Item": {"cycle": {"N": "0"}}}, None),  # the last execution measured nothing
        ({"Item": {"cycle": {"S": "0.2"}}}, None),
        (None, None),
    ],
)
def test_the_last_cycle_is_read_from_the_lease_item_as_dynamodb_answers_it(
    answer: Any, cycle: float | None
) -> None:
    assert s3ep_shim.stored_cycle(answer) == cycle


def test_the_plan_sizes_the_lanes_from_the_last_executions_cycle() -> None:
    # 10 lanes at most, 10/s; the last execution measured 0.3 s: ceil(10 x 0.3 x 1.25) = 4 lanes,
    # each owning every 4th point of the 0.1 s grid (a 0.4 s lane period)
    last = {"Item": {"pk": {"S": "lease"}, "cycle": {"N": "0.300"}}}
    plan = {**WINDOW, "lanes": 10, "rate": 10.0, "plan": 5, "lease": 300, "last": last}
    result = dispatch({"s3ep": plan}, None, ok, clock=Clock(1_800_000_000.0))
    assert result["count"] == 4
    assert [lane["lane"] for lane in result["lanes"]] == [0, 1, 2, 3]
    # lane 3's last point before 08:01:40 is 08:01:39.9 (point 18_000_000_999, 999 % 4 == 3);
    # a 5.5 s cycle is 14 of its 0.4 s periods
    assert result["lanes"][3]["report"]["cutoffs"] == [
        "2027-01-15T08:01:36",
        "2027-01-15T08:01:31",
        "2027-01-15T08:01:25",
    ]
    # the first execution (no item) runs every lane
    result = dispatch({"s3ep": {**plan, "last": {}}}, None, ok, clock=Clock(1_800_000_000.0))
    assert result["count"] == 10


def run_lane(clock: Clock, **control_fields: Any) -> dict[str, Any]:
    """One message of lane 0 of 2 at 10/s, arriving at the clock's time."""
    lane = {**WINDOW, "lane": 0, "lanes": 2, "rate": 10.0, "cycle": 1.0, **control_fields}
    body = {"body": BODY, "s3ep": lane}
    if "after" in control_fields:
        body["after"] = lane.pop("after")
    return dispatch(body, None, ok, clock=clock, sleep=clock.sleep)


def test_a_lane_measures_its_cycle_from_its_last_start_to_its_next_call() -> None:
    # the lane's previous handler began at ...10.0 and the next receive's first message arrives
    # 0.12 s later: the handler, and the dispatcher's own time (its wait for the slot is not in it)
    clock = Clock(1_800_000_010.12)
    result = run_lane(clock, began=1_800_000_010.0, measured="0", index=0)
    assert result["report"]["measured"] == "0.120"
    assert result["slot"] == 1_800_000_010.2  # lane 0 of 2 at 10/s: every 0.2 s
    assert result["report"]["began"] == 1_800_000_010.2
    # then a running mean, a new sample weighing a quarter: 0.2 + 0.25 x (0.28 - 0.2) = 0.22
    clock = Clock(1_800_000_010.48)
    result = run_lane(clock, began=1_800_000_010.2, measured="0.200", index=0)
    assert result["report"]["measured"] == "0.220"


def test_only_a_receives_first_message_measures_and_a_sample_counts_at_most_twice_the_mean() -> (
    None
):
    clock = Clock(1_800_000_011.0)
    # a later message of the batch carries the report of the lane's previous round: its `began`
    # is not the lane's last start, so the mean passes through
    result = run_lane(clock, began=1_800_000_010.0, measured="0.150", index=3)
    assert result["report"]["measured"] == "0.150"
    # after a deferral, the sample ends at the message's first arrival (0.25 s after the lane's
    # last start), not at this call after Step Functions' wait: 0.15 + 0.25 x 0.1 = 0.175
    clock = Clock(1_800_000_011.0)
    deferred = {"outcome": "deferred", "wait_seconds": 3, "arrived": 1_800_000_010.25}
    result = run_lane(clock, began=1_800_000_010.0, measured="0.150", index=0, after=deferred)
    assert result["report"]["measured"] == "0.175"
    # a sample of 1 s (say the lane's last message failed, so its report is older) counts as
    # 0.3 s: 0.15 + 0.25 x (0.3 - 0.15) = 0.1875
    clock = Clock(1_800_000_011.0)
    result = run_lane(clock, began=1_800_000_010.0, measured="0.150", index=0)
    assert result["report"]["measured"] == "0.188"


# --- the event source mapping engine: SQS batches -----------------------------------------------


def sqs_record(message_id: str, body: str, receives: int = 1) -> dict[str, Any]:
    """One record of an SQS event source mapping's event, as Lambda sends it."""
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receives)},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:img-queue",
        "awsRegion": "us-east-1",
    }


def body_for(key: str) -> str:
    event = json.loads(BODY)
    event["s3_details"]["key"] = event["s3_details"]["object"]["key"] = key
    return json.dumps(event)


def entry_point(monkeypatch: pytest.MonkeyPatch, handler: Any) -> None:
    """`s3ep_shim.handler` with `handler` as the user's (S3EP_HANDLER names it)."""
    monkeypatch.setattr(s3ep_shim, "_HANDLERS", {"user_app.handler": handler})
    monkeypatch.setenv("S3EP_HANDLER", "user_app.handler")


def test_an_sqs_batch_that_all_succeeds_answers_no_batch_item_failures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        seen.append(event["s3_details"]["key"])
        return {"statusCode": 200}

    entry_point(monkeypatch, handler)
    event = {"Records": [sqs_record("m1", body_for("a.jpg")), sqs_record("m2", body_for("b.jpg"))]}
    # an empty list: Lambda treats the batch as a complete success and deletes every record
    assert s3ep_shim.handler(event, None) == {"batchItemFailures": []}
    assert seen == ["a.jpg", "b.jpg"]  # the same event the dispatcher's path gives, in order


def test_in_an_sqs_batch_a_raise_and_a_status_of_400_fail_only_their_own_record(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        key = event["s3_details"]["key"]
        if key == "raises.jpg":
            raise TimeoutError("downstream slow")
        return {"statusCode": 503 if key == "refused.jpg" else 200}

    entry_point(monkeypatch, handler)
    event = {
        "Records": [
            sqs_record("m1", body_for("raises.jpg"), receives=2),
            sqs_record("m2", body_for("fine.jpg")),
            sqs_record("m3", body_for("refused.jpg")),
            sqs_record("m4", body_for("also-fine.jpg")),
        ]
    }
    assert s3ep_shim.handler(event, None) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]
    }
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert logged == [
        {
            "logger": "s3ep_shim",
            "level": "ERROR",
            "outcome": "raised",
            "messageId": "m1",
            "bucket": "b",
            "key": "raises.jpg",
            "error": "TimeoutError",
            "message": "downstream slow",
        },
        {
            "logger": "s3ep_shim",
            "level": "ERROR",
            "outcome": "failed",
            "messageId": "m3",
            "bucket": "b",
            "key": "refused.jpg",
            "statusCode": 503,
        },
    ]


def test_a_malformed_record_is_logged_and_failed_without_calling_the_handler(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[str] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event["s3_details"]["key"])
        return {"statusCode": 200}

    entry_point(monkeypatch, handler)
    event = {
        "Records": [
            sqs_record("bad", "not json", receives=3),
            sqs_record("good", body_for("a.jpg")),
        ]
    }
    # failed, so the queue's redrive policy moves it to the DLQ after max_receive_count receives
    assert s3ep_shim.handler(event, None) == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert calls == ["a.jpg"]
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record == {
        "logger": "s3ep_shim",
        "level": "ERROR",
        "outcome": "malformed",
        "messageId": "bad",
        "receiveCount": "3",
        "reason": "the message body is not JSON: Expecting value: line 1 column 1 (char 0)",
    }


def test_only_records_from_sqs_make_a_batch_event() -> None:
    assert s3ep_shim.is_sqs_batch({"Records": [sqs_record("m1", BODY)]})
    assert not s3ep_shim.is_sqs_batch({"Records": []})
    assert not s3ep_shim.is_sqs_batch({"Records": [{"eventSource": "aws:s3"}]})
    assert not s3ep_shim.is_sqs_batch({"body": BODY, "s3ep": {}})
