"""`s3ep status`: one look at a deployed processor, for on-call.

What it reads, and from where:

- queue, DLQ, rule DLQ (and function DLQ) depths: SQS `GetQueueAttributes` (visible and in
  flight); the queue's oldest message age: CloudWatch `AWS/SQS ApproximateAgeOfOldestMessage`
  (Maximum over the last 5 minutes; SQS publishes it once a minute, none when the queue is idle).
- alarm states: CloudWatch `DescribeAlarms` on the processor's prefix.
- dispatcher executions: `ListExecutions` (10 most recent) for a STANDARD machine; AWS does not
  support it for EXPRESS ones (docs/aws-semantics.md F8), so for those it says so. For both, the
  endings of the last 15 minutes from `AWS/States` metrics (ExecutionsSucceeded, ...Failed,
  ...TimedOut, ...Aborted).
- the lease holder: `lease_state` (the FIFO lease queue today; see there).
- with the event source mapping engine (`dispatch.engine`) there is no state machine and no
  lease: the mapping's state instead, `GetEventSourceMapping` on the stack output
  `event_source_mapping_uuid` (State, LastProcessingResult, BatchSize, MaximumConcurrency).
- achieved rate: `AWS/Lambda Invocations` summed over the last 900 s, / 900, against
  `dispatch.rate_per_second`. It counts every invocation of the function, the dispatcher's
  planning and deferred calls included, so it is an upper bound on handler starts.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import asdict, dataclass
from typing import Any

import boto3

from s3ep_pulumi.builders.state_machine import LEASE_KEY
from s3ep_pulumi.local.stack_outputs import Deployed

RATE_WINDOW_SECONDS = 900
AGE_WINDOW_SECONDS = 300
RECENT_EXECUTIONS = 10
ENDINGS = {
    "succeeded": "ExecutionsSucceeded",
    "failed": "ExecutionsFailed",
    "timed_out": "ExecutionsTimedOut",
    "aborted": "ExecutionsAborted",
}
MAPPING_NOTE = (
    "none: this processor uses the event source mapping engine (Lambda polls the queue; no "
    "state machine, no lease)"
)
EXPRESS_NOTE = (
    "not available for EXPRESS: AWS does not support ListExecutions for EXPRESS state machines; "
    "read the log group {log_group}"
)


@dataclass(frozen=True)
class QueueFigures:
    role: str  # queue, dlq, rule-dlq, function-dlq
    name: str
    visible: int
    in_flight: int
    oldest_age_seconds: float | None = None  # CloudWatch; None without datapoints


@dataclass(frozen=True)
class AlarmFigures:
    name: str
    state: str
    reason: str


@dataclass(frozen=True)
class ExecutionFigures:
    name: str
    status: str
    started: str
    stopped: str | None


@dataclass
class Status:
    stack: str
    queues: list[QueueFigures]
    alarms: list[AlarmFigures]
    workflow_type: str
    executions: list[ExecutionFigures] | None  # None: not available (EXPRESS)
    executions_note: str
    endings: dict[str, int]  # the last 15 minutes, from AWS/States metrics
    lease: str  # "held", "free" or "unknown"
    invocations: int  # AWS/Lambda Invocations over the last RATE_WINDOW_SECONDS
    achieved_rate: float  # invocations / RATE_WINDOW_SECONDS
    configured_rate: float | None  # dispatch.rate_per_second; None: no rate limit
    max_concurrency: int
    engine: str = "step_functions"  # dispatch.engine, resolved
    # The event source mapping engine: the mapping as Lambda describes it (None otherwise, or
    # when the stack has no event_source_mapping_uuid output yet).
    mapping: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def metric_value(
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    statistic: str,
    seconds: int,
) -> float | None:
    """One statistic of a metric over the last `seconds`, as one period; None without data."""
    end = _now()
    points = boto3.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()],
        StartTime=end - datetime.timedelta(seconds=seconds),
        EndTime=end,
        Period=seconds,
        Statistics=[statistic],
    )["Datapoints"]
    if not points:
        return None
    values = [float(p[statistic]) for p in points]
    return sum(values) if statistic == "Sum" else max(values)


def queue_figures(role: str, name: str, url: str, with_age: bool = False) -> QueueFigures:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    age = (
        metric_value(
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            {"QueueName": name},
            "Maximum",
            AGE_WINDOW_SECONDS,
        )
        if with_age
        else None
    )
    return QueueFigures(
        role,
        name,
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        age,
    )


def _url_or_none(name: str) -> str | None:
    sqs = boto3.client("sqs")
    try:
        return str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
    except sqs.exceptions.QueueDoesNotExist:
        return None


def lease_state(table: str, now: float | None = None) -> str:
    """Whether an execution holds the dispatcher's lease: "held", "free" or "unknown" (no table).

    The lease is the item `pk = "lease"` of the dispatch table: held while it has a `holder` whose
    `expires` (epoch milliseconds, from the shim's clock) is still ahead; the dispatcher removes
    both when it releases.
    """
    client = boto3.client("dynamodb")
    try:
        item = client.get_item(TableName=table, Key=LEASE_KEY, ConsistentRead=True).get("Item")
    except client.exceptions.ResourceNotFoundException:
        return "unknown"
    if not item or "holder" not in item:
        return "free"
    expires_ms = float(item.get("expires", {}).get("N", "0"))
    return "held" if expires_ms > 1000 * (time.time() if now is None else now) else "free"


def alarm_figures(prefix: str) -> list[AlarmFigures]:
    pages = boto3.client("cloudwatch").get_paginator("describe_alarms")
    out = []
    for page in pages.paginate(AlarmNamePrefix=f"{prefix}-"):
        for a in page["MetricAlarms"]:
            out.append(AlarmFigures(a["AlarmName"], a["StateValue"], a.get("StateReason", "")))
    return sorted(out, key=lambda a: (a.state != "ALARM", a.name))


def recent_executions(state_machine_arn: str) -> list[ExecutionFigures]:
    found = boto3.client("stepfunctions").list_executions(
        stateMachineArn=state_machine_arn, maxResults=RECENT_EXECUTIONS
    )["executions"]
    return [
        ExecutionFigures(
            e["name"],
            e["status"],
            e["startDate"].isoformat(timespec="seconds"),
            e["stopDate"].isoformat(timespec="seconds") if e.get("stopDate") else None,
        )
        for e in found
    ]


def status(deployed: Deployed) -> Status:
    names, args = deployed.names, deployed.args
    queues = [queue_figures("queue", names.queue, deployed.output("queue_url"), with_age=True)]
    queues.append(queue_figures("dlq", names.dlq, deployed.output("dlq_url")))
    for role, name in (("rule-dlq", names.rule_dlq), ("function-dlq", names.function_dlq)):
        url = _url_or_none(name)
        if url is not None:
            queues.append(queue_figures(role, name, url))
    function = deployed.outputs.get("function_name") or args.function_name
    if not args.dispatch.uses_dispatcher:
        return _mapping_status(deployed, queues, function)
    machine = deployed.output("state_machine_arn")
    workflow = args.dispatch.workflow_type
    if workflow == "EXPRESS":
        executions = None
        note = EXPRESS_NOTE.format(log_group=names.dispatcher_log_group)
    else:
        executions, note = recent_executions(machine), ""
    endings = {
        label: int(
            metric_value("AWS/States", metric, {"StateMachineArn": machine}, "Sum", 900) or 0
        )
        for label, metric in ENDINGS.items()
    }
    invocations = int(
        metric_value(
            "AWS/Lambda", "Invocations", {"FunctionName": function}, "Sum", RATE_WINDOW_SECONDS
        )
        or 0
    )
    return Status(
        stack=deployed.stack,
        queues=queues,
        alarms=alarm_figures(args.name_prefix),
        workflow_type=workflow,
        executions=executions,
        executions_note=note,
        endings=endings,
        lease=lease_state(names.dispatch_table),
        invocations=invocations,
        achieved_rate=invocations / RATE_WINDOW_SECONDS,
        configured_rate=args.dispatch.rate_per_second,
        max_concurrency=args.dispatch.max_concurrency,
    )


def mapping_figures(mapping_uuid: str | None) -> dict[str, Any] | None:
    """The event source mapping as Lambda describes it, or None without its UUID."""
    if not mapping_uuid:
        return None
    found = boto3.client("lambda").get_event_source_mapping(UUID=mapping_uuid)
    return {
        "uuid": mapping_uuid,
        "state": found.get("State"),
        "last_processing_result": found.get("LastProcessingResult"),
        "batch_size": found.get("BatchSize"),
        "maximum_concurrency": (found.get("ScalingConfig") or {}).get("MaximumConcurrency"),
        "function_response_types": found.get("FunctionResponseTypes", []),
    }


def _invocations(function: str) -> int:
    return int(
        metric_value(
            "AWS/Lambda", "Invocations", {"FunctionName": function}, "Sum", RATE_WINDOW_SECONDS
        )
        or 0
    )


def _mapping_status(deployed: Deployed, queues: list[QueueFigures], function: str) -> Status:
    """`status` of a processor on the event source mapping engine: no executions, no lease."""
    args = deployed.args
    invocations = _invocations(function)
    return Status(
        stack=deployed.stack,
        queues=queues,
        alarms=alarm_figures(args.name_prefix),
        workflow_type="none",
        executions=None,
        executions_note=MAPPING_NOTE,
        endings={},
        lease="none (event source mapping engine)",
        invocations=invocations,
        achieved_rate=invocations / RATE_WINDOW_SECONDS,
        configured_rate=None,
        max_concurrency=args.dispatch.max_concurrency,
        engine=args.dispatch.resolved_engine,
        mapping=mapping_figures(deployed.outputs.get("event_source_mapping_uuid")),
    )
