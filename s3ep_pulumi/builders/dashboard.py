"""The processor's CloudWatch dashboard body, built from dicts by a pure function.

One screen, the pipeline read left to right, one column per stage:

    rule | queue | dead letters | dispatcher (or event source mapping) | function | concurrency

with the alarms' states above the columns. Every metric names a resource of this processor in
its dimensions (a test checks it), so two processors never share a graph line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from s3ep_pulumi.builders import scaling
from s3ep_pulumi.model import limits

Widget = dict[str, Any]
COLUMNS = 6
WIDTH = limits.DASHBOARD_GRID_WIDTH // COLUMNS
HEIGHT = 6
HEADER_HEIGHT = 2
ALARMS_HEIGHT = 3
PERIOD_SECONDS = 60


@dataclass(frozen=True)
class MappingFigures:
    """The event source mapping engine's settings, shown where the dispatcher's graphs would be
    (the mapping publishes no metrics of its own unless its metrics config is turned on)."""

    max_concurrency: int
    batch_size: int


@dataclass(frozen=True)
class DashboardTargets:
    """Resolved names and ARNs the dashboard shows."""

    region: str
    rule: str
    queue: str
    dlqs: list[str]  # the queue's DLQ, the rule's DLQ and, for a created function, its DLQ
    state_machine_arn: str | None  # None with the event source mapping engine
    function: str
    alias: str | None = None  # the `live` alias, if any
    alarm_arns: list[str] = field(default_factory=list)
    messages_per_instance: int | None = None  # the scaling target, when scaling on queue depth
    run_state_machine_arn: str | None = None  # STANDARD: the EXPRESS runs of the parent
    mapping: MappingFigures | None = None  # the event source mapping engine: no state machine


def metric(namespace: str, name: str, dimensions: dict[str, str], **options: Any) -> list[Any]:
    """One metric line in the dashboard's compact array form."""
    line: list[Any] = [namespace, name]
    for key, value in dimensions.items():
        line += [key, value]
    return [*line, options] if options else line


def _graph(
    title: str,
    column: int,
    row: int,
    metrics: list[list[Any]],
    region: str,
    *,
    stat: str,
    horizontal: list[dict[str, Any]] | None = None,
) -> Widget:
    properties: dict[str, Any] = {
        "title": title,
        "region": region,
        "view": "timeSeries",
        "stacked": False,
        "period": PERIOD_SECONDS,
        "stat": stat,
        "metrics": metrics,
    }
    if horizontal:
        properties["annotations"] = {"horizontal": horizontal}
    return {
        "type": "metric",
        "x": column * WIDTH,
        "y": row * HEIGHT,
        "width": WIDTH,
        "height": HEIGHT,
        "properties": properties,
    }


def _stage_widgets(t: DashboardTargets) -> list[Widget]:
    r = t.region
    rule = {"RuleName": t.rule}
    queue = {"QueueName": t.queue}
    function = {"FunctionName": t.function}
    widgets = [
        _graph(
            "1 Rule: events matched and delivered",
            0,
            0,
            [
                metric("AWS/Events", "MatchedEvents", rule, label="matched"),
                metric("AWS/Events", "Invocations", rule, label="delivered"),
                metric("AWS/Events", "FailedInvocations", rule, label="failed"),
                metric("AWS/Events", "InvocationsSentToDlq", rule, label="to rule DLQ"),
                metric("AWS/Events", "InvocationsFailedToBeSentToDlq", rule, label="lost"),
            ],
            r,
            stat="Sum",
        ),
        _graph(
            "2 Queue: depth",
            1,
            0,
            [
                metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", queue, label="waiting"),
                metric(
                    "AWS/SQS", "ApproximateNumberOfMessagesNotVisible", queue, label="in flight"
                ),
            ],
            r,
            stat="Maximum",
        ),
        _graph(
            "2 Queue: age of oldest message (s)",
            1,
            1,
            [metric("AWS/SQS", "ApproximateAgeOfOldestMessage", queue, label="oldest")],
            r,
            stat="Maximum",
        ),
        _graph(
            "3 Dead letters",
            2,
            0,
            [
                metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": q}, label=q)
                for q in t.dlqs
            ],
            r,
            stat="Maximum",
        ),
        *(_mapping_widgets(t.mapping) if t.mapping is not None else _dispatcher_widgets(t)),
        _graph(
            "5 Function: invocations",
            4,
            0,
            [
                metric("AWS/Lambda", "Invocations", function, label="invocations"),
                metric("AWS/Lambda", "Errors", function, label="errors"),
                metric("AWS/Lambda", "Throttles", function, label="throttles"),
            ],
            r,
            stat="Sum",
        ),
        _graph(
            "5 Function: duration (ms)",
            4,
            1,
            [
                metric("AWS/Lambda", "Duration", function, stat=s, label=s)
                for s in ("p50", "p90", "p99", "Maximum")
            ],
            r,
            stat="Average",
        ),
        _graph(
            "6 Function: concurrency",
            5,
            0,
            [metric("AWS/Lambda", "ConcurrentExecutions", function, label="concurrent")]
            + (
                [
                    metric(
                        "AWS/Lambda",
                        name,
                        {**function, "Resource": f"{t.function}:{t.alias}"},
                        label=label,
                        **({"stat": "Sum"} if name.endswith("Invocations") else {}),
                    )
                    for name, label in (
                        ("ProvisionedConcurrentExecutions", "provisioned, busy"),
                        ("ProvisionedConcurrencySpilloverInvocations", "spilled over (sum)"),
                    )
                ]
                if t.alias
                else []
            ),
            r,
            stat="Maximum",
        ),
    ]
    if t.alias:
        alias = {**function, "Resource": f"{t.function}:{t.alias}"}
        lines = [
            metric(
                "AWS/Lambda",
                "ProvisionedConcurrencyUtilization",
                alias,
                label="utilisation (0-1)",
                yAxis="right",
            )
        ]
        horizontal = None
        if t.messages_per_instance is not None:
            # The scaling signal exactly as Application Auto Scaling computes it.
            lines += [
                metric(
                    "AWS/SQS",
                    "ApproximateNumberOfMessagesVisible",
                    queue,
                    id="visible",
                    stat="Average",
                    visible=False,
                ),
                metric(
                    "AWS/Lambda",
                    "ProvisionedConcurrentExecutions",
                    alias,
                    id="in_use",
                    visible=False,
                ),
                [{"expression": "FILL(in_use, 0)", "id": "busy", "visible": False}],
                [
                    {
                        "expression": scaling.SIGNAL_EXPRESSION,
                        "id": scaling.SIGNAL_ID,
                        "label": "visible messages per instance (scaling signal)",
                    }
                ],
            ]
            horizontal = [{"label": "scaling target", "value": t.messages_per_instance}]
        widgets.append(
            _graph(
                "6 Provisioned concurrency",
                5,
                1,
                lines,
                r,
                stat="Maximum",
                horizontal=horizontal,
            )
        )
    return widgets


def _dispatcher_widgets(t: DashboardTargets) -> list[Widget]:
    """Column 4 with the Step Functions dispatcher: its executions and their time. STANDARD:
    the runs' executions beside the parent's, and the runs' time (the parent's is the sum of
    its rounds)."""
    r, machine = t.region, {"StateMachineArn": str(t.state_machine_arn)}
    run = {"StateMachineArn": t.run_state_machine_arn} if t.run_state_machine_arn else None
    timed = run or machine
    return [
        _graph(
            "4 Dispatcher: executions",
            3,
            0,
            [
                metric("AWS/States", name, machine, label=label)
                for name, label in (
                    ("ExecutionsStarted", "started"),
                    ("ExecutionsSucceeded", "succeeded"),
                    ("ExecutionsFailed", "failed"),
                    ("ExecutionsTimedOut", "timed out"),
                    ("ExecutionsAborted", "aborted"),
                    ("ExecutionThrottled", "throttled"),
                )
            ]
            + (
                [
                    metric("AWS/States", name, run, label=label)
                    for name, label in (
                        ("ExecutionsStarted", "runs started"),
                        ("ExecutionsFailed", "runs failed"),
                        ("ExecutionsTimedOut", "runs timed out"),
                    )
                ]
                if run
                else []
            ),
            r,
            stat="Sum",
        ),
        _graph(
            "4 Dispatcher: execution time (ms)" if run is None else "4 Dispatcher: run time (ms)",
            3,
            1,
            [
                metric("AWS/States", "ExecutionTime", timed, stat=s, label=s)
                for s in ("p50", "p99", "Maximum")
            ],
            r,
            stat="Average",
        ),
    ]


def _mapping_widgets(m: MappingFigures) -> list[Widget]:
    """Column 4 with the event source mapping engine: what it is set to; its work shows in the
    queue (2) and the function (5, 6) columns."""
    return [
        {
            "type": "text",
            "x": 3 * WIDTH,
            "y": 0,
            "width": WIDTH,
            "height": HEIGHT,
            "properties": {
                "markdown": (
                    "## 4 Event source mapping\n"
                    f"Lambda polls the queue: at most {m.max_concurrency} invocations at once, "
                    f"up to {m.batch_size} messages each. Failed messages return to the queue "
                    "(partial batch responses) and reach the DLQ after max_receive_count "
                    "receives. No state machine: see 2 (queue) and 5-6 (function)."
                )
            },
        }
    ]


def body(title: str, t: DashboardTargets) -> dict[str, Any]:
    """The dashboard body (serialise with json.dumps)."""
    header: Widget = {
        "type": "text",
        "x": 0,
        "y": 0,
        "width": limits.DASHBOARD_GRID_WIDTH,
        "height": HEADER_HEIGHT,
        "properties": {
            "markdown": (
                f"# {title}\n"
                "S3 bucket -> 1 rule -> 2 queue -> 3 dead letters -> "
                f"4 {'event source mapping' if t.mapping is not None else 'dispatcher'} -> "
                "5 function -> 6 concurrency. Each alarm's description names its runbook in "
                "docs/operations.md."
            )
        },
    }
    widgets = [header]
    if t.alarm_arns:
        assert len(t.alarm_arns) <= limits.DASHBOARD_ALARM_WIDGET_MAX_ALARMS
        widgets.append(
            {
                "type": "alarm",
                "x": 0,
                "y": HEADER_HEIGHT,
                "width": limits.DASHBOARD_GRID_WIDTH,
                "height": ALARMS_HEIGHT,
                "properties": {"title": "Alarms", "alarms": t.alarm_arns},
            }
        )
    # The stage columns start below the header and, if any, the alarms.
    top = widgets[-1]["y"] + widgets[-1]["height"]
    stages = [{**w, "y": top + w["y"]} for w in _stage_widgets(t)]
    return {"widgets": widgets + stages}
