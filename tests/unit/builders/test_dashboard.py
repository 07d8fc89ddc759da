"""The dashboard: the whole pipeline on one screen, every line on this processor's resources."""

from __future__ import annotations

from typing import Any

from helpers import config, evaluate

from s3ep_pulumi.builders.dashboard import WIDTH, DashboardTargets, MappingFigures, body
from s3ep_pulumi.local.capture import ACCOUNT_ID, REGION, Capture

DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:img-dispatcher"


def metric_lines(dashboard_body: dict[str, Any]) -> list[list[Any]]:
    """Every metric line (not expressions) of every metric widget."""
    return [
        line
        for w in dashboard_body["widgets"]
        if w["type"] == "metric"
        for line in w["properties"]["metrics"]
        if isinstance(line[0], str)
    ]


def dimensions(line: list[Any]) -> dict[str, str]:
    pairs = [x for x in line[2:] if not isinstance(x, dict)]
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


def component_names(capture: Capture) -> set[str]:
    """Every physical name and ARN the component declared, and its function's alias."""
    out: set[str] = set()
    for r in capture.resources:
        for key in ("name", "arn"):
            if isinstance(r.state.get(key), str):
                out.add(r.state[key])
        if r.type == "aws:lambda/alias:Alias":
            out.add(f"{r.inputs['functionName']}:{r.inputs['name']}")
    return out


def test_every_metric_names_a_resource_of_this_component() -> None:
    capture = evaluate(config(function={"scale_on_queue_depth": True}))
    dashboard = capture.one(DASHBOARD)
    lines = metric_lines(dashboard.prop("dashboardBody"))
    known = component_names(capture)
    # rule 5, queue 3, dead letters 3, dispatcher 9, function 7, concurrency 3, provisioned 3
    assert len(lines) == 33
    for line in lines:
        dims = dimensions(line)
        assert dims, line
        for value in dims.values():
            assert value in known, line


def test_stages_read_left_to_right(minimal: Capture) -> None:
    widgets = minimal.one(DASHBOARD).prop("dashboardBody")["widgets"]
    graphs = sorted(
        (w["x"], w["y"], w["properties"]["title"]) for w in widgets if w["type"] == "metric"
    )
    assert [(x, title) for x, _, title in graphs] == [
        (0, "1 Rule: events matched and delivered"),
        (4, "2 Queue: depth"),
        (4, "2 Queue: age of oldest message (s)"),
        (8, "3 Dead letters"),
        (12, "4 Dispatcher: executions"),
        (12, "4 Dispatcher: execution time (ms)"),
        (16, "5 Function: invocations"),
        (16, "5 Function: duration (ms)"),
        (20, "6 Function: concurrency"),
    ]
    assert all(w["x"] + w["width"] <= 24 for w in widgets)


def test_alarm_widget_shows_every_alarm(minimal: Capture) -> None:
    widgets = minimal.one(DASHBOARD).prop("dashboardBody")["widgets"]
    (alarm_widget,) = [w for w in widgets if w["type"] == "alarm"]
    alarm_arns = [r.state["arn"] for r in minimal.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")]
    assert sorted(alarm_widget["properties"]["alarms"]) == sorted(alarm_arns)
    assert len(alarm_arns) == 13  # EXPRESS: no aborted-executions alarm


def test_dashboard_is_named_for_the_processor_and_can_be_turned_off(minimal: Capture) -> None:
    assert minimal.one(DASHBOARD).inputs["dashboardName"] == "img-pipeline"
    assert evaluate(config(monitoring={"dashboard": False})).of_type(DASHBOARD) == []


TARGETS = DashboardTargets(
    region="eu-west-1",
    rule="p-s3-events",
    queue="p-queue",
    dlqs=["p-dlq", "p-rule-dlq"],
    state_machine_arn="arn:aws:states:eu-west-1:111122223333:stateMachine:p-dispatcher",
    function="p-fn",
)


def test_body_shows_every_stage_metric_the_issue_asks_for() -> None:
    names = {(line[0], line[1]) for line in metric_lines(body("t", TARGETS))}
    assert names >= {
        ("AWS/Events", "MatchedEvents"),
        ("AWS/Events", "FailedInvocations"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/States", "ExecutionsStarted"),
        ("AWS/States", "ExecutionTime"),
        ("AWS/Lambda", "Invocations"),
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/Lambda", "Duration"),
        ("AWS/Lambda", "ConcurrentExecutions"),
    }
    duration = [line for line in metric_lines(body("t", TARGETS)) if line[1] == "Duration"]
    assert [line[-1]["stat"] for line in duration] == ["p50", "p90", "p99", "Maximum"]
    assert all(
        w.get("properties", {}).get("region", "eu-west-1") == "eu-west-1"
        for w in body("t", TARGETS)["widgets"]
    )


def test_provisioned_concurrency_graphs_appear_only_with_an_alias() -> None:
    def pc_lines(targets: DashboardTargets) -> list[list[Any]]:
        return [line for line in metric_lines(body("t", targets)) if "Provisioned" in line[1]]

    assert pc_lines(TARGETS) == []
    with_alias = DashboardTargets(**{**TARGETS.__dict__, "alias": "live"})
    utilisation = [line for line in pc_lines(with_alias) if line[1].endswith("Utilization")]
    assert dimensions(utilisation[0]) == {"FunctionName": "p-fn", "Resource": "p-fn:live"}


def test_scaling_signal_and_its_target_are_drawn_when_scaling() -> None:
    scaled = DashboardTargets(**{**TARGETS.__dict__, "alias": "live", "messages_per_instance": 7})
    (widget,) = [
        w
        for w in body("t", scaled)["widgets"]
        if w["type"] == "metric" and w["properties"]["title"] == "6 Provisioned concurrency"
    ]
    assert widget["properties"]["annotations"] == {
        "horizontal": [{"label": "scaling target", "value": 7}]
    }
    expressions = [
        m[0]["expression"] for m in widget["properties"]["metrics"] if isinstance(m[0], dict)
    ]
    assert expressions == ["FILL(in_use, 0)", "visible / IF(busy < 1, 1, busy)"]


def test_stage_columns_start_right_below_the_header_and_the_alarms() -> None:
    def first_graph_row(targets: DashboardTargets) -> int:
        return min(w["y"] for w in body("t", targets)["widgets"] if w["type"] == "metric")

    assert first_graph_row(TARGETS) == 2
    with_alarms = DashboardTargets(**{**TARGETS.__dict__, "alarm_arns": ["arn:a"]})
    assert first_graph_row(with_alarms) == 5


def test_a_standard_dispatcher_shows_its_runs_and_their_time() -> None:
    capture = evaluate(config(dispatch={"workflow_type": "STANDARD"}))
    dashboard = capture.one(DASHBOARD).prop("dashboardBody")
    lines = metric_lines(dashboard)
    run = f"{MACHINE_ARN}-run"
    runs = sorted(line[1] for line in lines if dimensions(line) == {"StateMachineArn": run})
    assert runs == [
        "ExecutionTime",  # the runs' time: the parent's is the sum of its rounds
        "ExecutionTime",
        "ExecutionTime",
        "ExecutionsFailed",
        "ExecutionsStarted",
        "ExecutionsTimedOut",
    ]
    parent = [line[1] for line in lines if dimensions(line) == {"StateMachineArn": MACHINE_ARN}]
    assert "ExecutionTime" not in parent and "ExecutionsStarted" in parent
    for line in lines:
        for value in dimensions(line).values():
            assert value in component_names(capture), line


def test_with_the_event_source_mapping_column_4_describes_it_and_no_state_machine_is_graphed() -> (
    None
):
    mapped = DashboardTargets(
        **{**TARGETS.__dict__, "state_machine_arn": None, "mapping": MappingFigures(20, 5)}
    )
    page = body("t", mapped)
    assert not [line for line in metric_lines(page) if line[0] == "AWS/States"]
    (column_4,) = [w for w in page["widgets"] if w["type"] == "text" and w["x"] == 3 * WIDTH]
    assert column_4["properties"]["markdown"].startswith(
        "## 4 Event source mapping\nLambda polls the queue: at most 20 invocations at once, "
        "up to 5 messages each."
    )
    assert "4 event source mapping -> 5 function" in page["widgets"][0]["properties"]["markdown"]
    # the queue, dead letter and function graphs stay
    names = {(line[0], line[1]) for line in metric_lines(page)}
    assert {("AWS/SQS", "ApproximateAgeOfOldestMessage"), ("AWS/Lambda", "Errors")} <= names
