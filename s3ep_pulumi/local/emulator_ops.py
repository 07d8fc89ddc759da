"""What the operations commands need from the emulator beyond the data path of `emulator.py`.

- `message_move_tasks()`: SQS `StartMessageMoveTask`, `ListMessageMoveTasks` and
  `CancelMessageMoveTask` (the DLQ redrive API), which moto 5.2 does not implement, modelled as
  the API reference documents them (docs/aws-semantics.md, S13): the source must be a queue that
  is the dead-letter queue of another queue; without `DestinationArn` messages go back to their
  original source queue (here: the one queue whose redrive policy names the DLQ); one active
  task per queue; `MaxNumberOfMessagesPerSecond` at most 500 (without it, "the system will
  optimize the rate": modelled as 500/s); the task runs asynchronously and moves the messages
  visible when it starts (`ApproximateNumberOfMessagesToMove`) as new messages (new id, receive
  count 0); `ListMessageMoveTasks` returns the most recent tasks first (default 1, at most 10),
  with `TaskHandle` only while RUNNING.
- `materialise_operations(capture)`: the alarms and log groups the component declared.
- `lambda_logs(log_group)`: what Lambda does with a function's stdout: each line the shim logs
  becomes an event of the function's log group (the emulator runs the shim in-process).
- `outputs_of(capture, emulated)`: what `pulumi stack output --json` would print for the
  emulated stack, for `--outputs FILE`.

Use inside `moto.mock_aws(config=EMULATOR_CONFIG)`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from s3ep_pulumi.local.capture import Capture
from s3ep_pulumi.local.emulator import Emulated
from s3ep_pulumi.runtime import s3ep_shim

# "The maximum value for messages per second is 500" (StartMessageMoveTask, API reference).
MOVE_MAX_PER_SECOND = 500
# "Gets the most recent message movement tasks (up to 10)"; MaxResults "default is 1".
LIST_MOVE_TASKS_MAX = 10


@dataclass
class MoveTask:
    handle: str
    source_arn: str
    destination_arn: str | None  # as requested: None means "back to the original source"
    rate: int | None
    to_move: int
    started_ms: int
    status: str = "RUNNING"
    moved: int = 0
    failure: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    def entry(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Status": self.status,
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": self.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started_ms,
        }
        if self.status == "RUNNING":
            out["TaskHandle"] = self.handle
        if self.destination_arn is not None:
            out["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.failure is not None:
            out["FailureReason"] = self.failure
        return out


@contextmanager
def message_move_tasks() -> Iterator[list[MoveTask]]:
    """Add the DLQ redrive API to moto's SQS for the duration; yields every task started."""
    from moto.core.responses import ActionResult
    from moto.sqs.exceptions import SQSException
    from moto.sqs.models import Queue, SQSBackend
    from moto.sqs.responses import SQSResponse

    tasks: list[MoveTask] = []
    lock = threading.Lock()

    def queue_of(backend: SQSBackend, arn: str) -> Queue:
        for q in backend.queues.values():
            if q.queue_arn == arn:
                return q
        raise SQSException(
            "ResourceNotFoundException",
            f"The resource that you specified for the ARN {arn} does not exist.",
        )

    def run(task: MoveTask, backend: SQSBackend, source: Queue, destination: Queue) -> None:
        interval = 1.0 / (task.rate or MOVE_MAX_PER_SECOND)
        try:
            for message in list(source.messages)[: task.to_move]:
                if task.cancel.is_set():
                    task.status = "CANCELLED"
                    return
                with lock:
                    if message not in source._messages:
                        continue
                    source._messages.remove(message)
                    attributes = message.message_attributes
                    backend.send_message(destination.name, message.body, attributes)
                    task.moved += 1
                time.sleep(interval)
            task.status = "COMPLETED"
        except Exception as error:  # the task fails, as SQS reports it
            task.status, task.failure = "FAILED", str(error)

    def start_message_move_task(self: SQSResponse) -> ActionResult:
        backend = self.sqs_backend
        source = queue_of(backend, self._get_param("SourceArn"))
        sources = backend.list_dead_letter_source_queues(source.name)
        if not sources:
            raise SQSException(
                "UnsupportedOperation",
                "Source queue must be configured as a Dead Letter Queue.",
            )
        destination_arn = self._get_param("DestinationArn")
        rate = self._get_param("MaxNumberOfMessagesPerSecond")
        if rate is not None and not 1 <= int(rate) <= MOVE_MAX_PER_SECOND:
            raise SQSException(
                "InvalidParameterValue",
                f"MaxNumberOfMessagesPerSecond must be between 1 and {MOVE_MAX_PER_SECOND}.",
            )
        destination = queue_of(backend, destination_arn) if destination_arn else sources[0]
        with lock:
            if any(t.status == "RUNNING" and t.source_arn == source.queue_arn for t in tasks):
                raise SQSException(
                    "UnsupportedOperation",
                    "There is already a task running. Only one active task is allowed for a "
                    "source queue arn at a given time.",
                )
            task = MoveTask(
                handle=str(uuid.uuid4()),
                source_arn=source.queue_arn,
                destination_arn=destination_arn,
                rate=int(rate) if rate is not None else None,
                to_move=len(source.messages),
                started_ms=int(time.time() * 1000),
            )
            tasks.append(task)
        threading.Thread(target=run, args=(task, backend, source, destination), daemon=True).start()
        return ActionResult({"TaskHandle": task.handle})

    def list_message_move_tasks(self: SQSResponse) -> ActionResult:
        source = queue_of(self.sqs_backend, self._get_param("SourceArn"))
        limit = min(int(self._get_param("MaxResults") or 1), LIST_MOVE_TASKS_MAX)
        mine = [t for t in tasks if t.source_arn == source.queue_arn]
        return ActionResult({"Results": [t.entry() for t in reversed(mine)][:limit]})

    def cancel_message_move_task(self: SQSResponse) -> ActionResult:
        handle = self._get_param("TaskHandle")
        task = next((t for t in tasks if t.handle == handle and t.status == "RUNNING"), None)
        if task is None:
            raise SQSException("ResourceNotFoundException", f"No running task {handle}.")
        task.cancel.set()
        task.status = "CANCELLING"
        return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})

    added = {
        "start_message_move_task": start_message_move_task,
        "list_message_move_tasks": list_message_move_tasks,
        "cancel_message_move_task": cancel_message_move_task,
    }
    for name, method in added.items():
        setattr(SQSResponse, name, method)
    try:
        yield tasks
    finally:
        for task in tasks:
            task.cancel.set()
        for name in added:
            delattr(SQSResponse, name)


def materialise_operations(capture: Capture) -> list[str]:
    """Create the declared alarms (moto starts them OK; AWS at INSUFFICIENT_DATA) and log groups;
    the alarm names."""
    cloudwatch, logs = boto3.client("cloudwatch"), boto3.client("logs")
    for group in capture.of_type("aws:cloudwatch/logGroup:LogGroup"):
        logs.create_log_group(logGroupName=group.inputs["name"])
    names = []
    for alarm in capture.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        i = alarm.inputs
        kwargs: dict[str, Any] = {
            "AlarmName": i["name"],
            "EvaluationPeriods": int(i["evaluationPeriods"]),
            "Threshold": float(i["threshold"]),
            "ComparisonOperator": i["comparisonOperator"],
            "AlarmDescription": i.get("alarmDescription", ""),
        }
        if i.get("metricName"):
            kwargs |= {
                "MetricName": i["metricName"],
                "Namespace": i["namespace"],
                "Period": int(i["period"]),
                "Dimensions": [
                    {"Name": k, "Value": str(v)} for k, v in (i.get("dimensions") or {}).items()
                ],
            }
            if i.get("extendedStatistic"):
                kwargs["ExtendedStatistic"] = i["extendedStatistic"]
            else:
                kwargs["Statistic"] = i.get("statistic", "Maximum")
        cloudwatch.put_metric_alarm(**kwargs)
        names.append(i["name"])
    return names


@contextmanager
def lambda_logs(log_group: str, stream: str = "2026/12/01/[$LATEST]emulated") -> Iterator[None]:
    """Each JSON line the shim logs is also put in `log_group`, as Lambda sends a function's
    stdout to CloudWatch Logs."""
    logs = boto3.client("logs")
    logs.create_log_stream(logGroupName=log_group, logStreamName=stream)
    original = s3ep_shim._log
    lock = threading.Lock()

    def log(record: dict[str, Any]) -> None:
        original(record)
        message = json.dumps({"logger": "s3ep_shim", **record}, default=str)
        with lock:
            logs.put_log_events(
                logGroupName=log_group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": message}],
            )

    s3ep_shim._log = log
    try:
        yield
    finally:
        s3ep_shim._log = original


def outputs_of(capture: Capture, emulated: Emulated) -> dict[str, Any]:
    """The stack outputs of the emulated stack (`pulumi stack output --json`): the declared ones
    with the emulated queue URLs and state machine ARN."""
    sqs = boto3.client("sqs")

    def arn(url: str) -> str:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(attributes["Attributes"]["QueueArn"])

    return {
        **capture.outputs,
        "bucket_name": emulated.bucket,
        "queue_url": emulated.queue_url,
        "queue_arn": arn(emulated.queue_url),
        "dlq_url": emulated.dlq_url,
        "dlq_arn": arn(emulated.dlq_url),
        "state_machine_arn": emulated.state_machine_arn,
    }
