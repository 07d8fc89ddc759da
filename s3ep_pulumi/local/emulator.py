"""Run a captured processor in moto: S3 -> EventBridge -> SQS -> Step Functions -> handler.

Everything is built from what the component declared (a `Capture`), never from a second copy of
the wiring. These seams of moto are adjusted so it behaves like AWS (see docs/aws-semantics.md):

- moto sends S3 events to rule targets without applying the target's input transformer (and
  without the `ingestion-time` its transformer needs); AWS applies it.
- without Docker, moto answers a Lambda invoke with canned bytes; here an `Invoker` answers
  it: the function's own package in processes of its own, as Lambda runs it (`sandbox.py`,
  what `s3ep simulate` does), or a handler in this process behind the shim (`in_process`,
  fast, for tests that script the handler). Every handler call's start and end is recorded.
- moto's SQS receive is not atomic: two threads receiving at once can both take the same
  message (SQS hides a message from every other receiver the moment one receives it). Here
  receives are serialised; the long poll still waits without holding anyone up.
- moto's DynamoDB conditional writes are not atomic across threads (read, check, write); DynamoDB's
  are. Here item writes are serialised, so two pollers never both take the lease.
- moto's Step Functions interpreter names the errors of `aws-sdk:sqs:*` tasks `sqs.<Name>Exception`;
  AWS names them `Sqs.<Name>Exception` (so a Retry on `Sqs.RequestThrottledException` matches).
  Here they get AWS's names.
- moto never deletes a message whose retention ran out (and only half-receives it); SQS deletes
  it, counted from when it was sent, in flight or not (docs/aws-semantics.md S4, note 2). Here
  every receive, delete, visibility change and attribute read first deletes the queue's expired
  messages; `retention_scale` compresses retention (a factor on every queue's declared period)
  so tests can reach it without waiting minutes.
- moto's interpreter cannot run the `states:startExecution` integration (it hands the `Input`
  object to the SDK, which wants a string, and needs a `Name`); Step Functions starts the named
  state machine with that input, under a generated name. Here it does (a handover), unless
  `handover=False`: then the call succeeds and starts nothing, as if the successor were lost
  (the design tolerates it: the schedule carries on), so a test can drive one execution at a
  time.
- moto's interpreter runs `states:startExecution.sync:2` only after that same start, and then
  polls the child every 0.5 s. Here the child is started as above (a run of a STANDARD parent,
  recorded in `Recorder.runs`, never skipped by `handover=False`) and waited for at once; moto
  then answers what Step Functions answers: DescribeExecution with `Input` and `Output` parsed
  as JSON, or, when the child did not succeed, the task fails with `States.TaskFailed` and the
  description as its cause (docs/aws-semantics.md F16).
- moto's SQS never throttles. `patched_seams(sqs_faults=...)` fails chosen SQS calls of the state
  machine as SQS does when it refuses them (`RequestThrottled`, `KmsThrottled`, `OverLimit`), at
  the point where the interpreter calls SQS, so the task sees the error AWS reports.

Use inside `moto.mock_aws(config=EMULATOR_CONFIG)`.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3

from s3ep_pulumi.local import cost
from s3ep_pulumi.local.capture import Capture
from s3ep_pulumi.model.sections import SCHEDULE_INPUT
from s3ep_pulumi.runtime import s3ep_shim

LONG_POLL_STEP_SECONDS = 0.05
# How often the emulator looks whether a run a STANDARD parent awaits has ended.
SYNC_POLL_SECONDS = 0.02
# SQS error codes the fault seam can answer with, and their messages. "Request is throttled." is
# the message seen in AWS SDK traces of a throttled SQS call (docs/aws-semantics.md, S11); the
# other two are the error shapes' descriptions in the SQS API model.
SQS_FAULT_MESSAGES = {
    "RequestThrottled": "Request is throttled.",
    "KmsThrottled": "Amazon Web Services KMS throttles requests for the following conditions.",
    "OverLimit": "The specified action violates a limit.",
}
# The HTTP status of those refusals in the same traces.
SQS_FAULT_STATUS = 403
EMULATOR_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}

Handler = Callable[[dict[str, Any], Any], Any]
# (integration action, e.g. "receiveMessage"; the call's parameters) -> an SQS error code to fail
# that call with (a key of SQS_FAULT_MESSAGES), or None to let it through.
SqsFaults = Callable[[str, dict[str, Any]], str | None]


@dataclass(frozen=True)
class SqsFault:
    """One SQS call of the state machine that the fault seam refused."""

    action: str
    parameters: dict[str, Any]
    code: str


@dataclass
class Invocation:
    key: str
    start: float
    end: float
    error: str | None
    status_code: int | None = None  # a statusCode the handler returned, if any
    slot: float | None = None  # the grid point the shim started it on (with a rate)

    @property
    def succeeded(self) -> bool:
        """As the shim judges it: returned, without a statusCode >= 400."""
        return self.error is None and (self.status_code is None or self.status_code < 400)


@dataclass
class Recorder:
    """Every handler call, thread-safe (the Map runs iterations in threads)."""

    invocations: list[Invocation] = field(default_factory=list)
    throttles: int = 0
    sqs_faults: list[SqsFault] = field(default_factory=list)  # SQS calls the seam refused
    invokes: int = 0  # every invocation that reached the shim
    handovers: list[str] = field(default_factory=list)  # executions started by an execution
    runs: list[str] = field(default_factory=list)  # runs a STANDARD parent started and awaited
    invoke_seconds: float = 0.0  # their total run time, pacing sleeps included
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invoked(self, seconds: float) -> None:
        with self._lock:
            self.invokes += 1
            self.invoke_seconds += seconds

    def pacing_seconds(self) -> float:
        """Lambda time spent outside the handler: waiting for start slots, mostly."""
        return self.invoke_seconds - sum(i.end - i.start for i in self.invocations)

    def add(self, invocation: Invocation) -> None:
        with self._lock:
            self.invocations.append(invocation)

    def throttled(self) -> None:
        with self._lock:
            self.throttles += 1

    def refused(self, fault: SqsFault) -> None:
        with self._lock:
            self.sqs_faults.append(fault)

    def starts(self) -> list[float]:
        return sorted(i.start for i in self.invocations)

    def keys(self) -> list[str]:
        return [i.key for i in self.invocations]

    def lateness(self) -> list[float]:
        """Seconds each paced start came after its grid point, sorted (the shim answers the
        point it started on; starts without one, as without a rate, are left out)."""
        return sorted(i.start - i.slot for i in self.invocations if i.slot is not None)

    def max_starts_in_window(self, seconds: float) -> int:
        """Most handler starts inside any closed window of `seconds`."""
        starts = self.starts()
        j, best = 0, 0
        for i, s in enumerate(starts):
            while j < len(starts) and starts[j] <= s + seconds:
                j += 1
            best = max(best, j - i)
        return best

    def start_rate(self) -> float:
        """Starts per second from the first start to the last."""
        starts = self.starts()
        if len(starts) < 2:
            return 0.0
        return (len(starts) - 1) / (starts[-1] - starts[0])

    def max_in_flight(self) -> int:
        edges = sorted(
            [(i.start, 1) for i in self.invocations] + [(i.end, -1) for i in self.invocations],
            key=lambda e: (e[0], e[1]),
        )
        current = peak = 0
        for _, delta in edges:
            current += delta
            peak = max(peak, current)
        return peak


@dataclass
class Invoked:
    """One invocation as Lambda answers it: the function's result, or its error (Lambda's
    `errorType` and `errorMessage`), and the handler calls made inside it (none when the shim
    did not call the handler: malformed, deferred, expired)."""

    result: Any = None
    error_type: str | None = None
    error_message: str = ""
    calls: list[Invocation] = field(default_factory=list)


# Answers one invocation of the function: the payload the dispatcher sent -> Lambda's answer.
Invoker = Callable[[dict[str, Any]], Invoked]


def in_process(handler: Handler) -> Invoker:
    """The shim and `handler`, called in this process (no package, no timeout, no Lambda
    runtime): for tests that script the handler and read what it recorded."""

    def invoke(payload: dict[str, Any]) -> Invoked:
        calls: list[Invocation] = []

        def recorded(event: dict[str, Any], context: Any) -> Any:
            key = str(event["s3_details"]["key"])
            start = time.time()
            try:
                result = handler(event, context)
            except Exception as error:
                calls.append(Invocation(key, start, time.time(), type(error).__name__))
                raise
            code = s3ep_shim.status_code(result)
            calls.append(Invocation(key, start, time.time(), None, code))
            return result

        try:
            if s3ep_shim.is_sqs_batch(payload):  # the event source mapping engine
                result = s3ep_shim.dispatch_batch(payload, None, recorded)
            else:
                result = s3ep_shim.dispatch(payload, None, recorded)
        except Exception as error:  # the handler's failure is Lambda's "Unhandled" error
            return Invoked(error_type=type(error).__name__, error_message=str(error), calls=calls)
        if calls and isinstance(result, dict) and isinstance(result.get("slot"), float):
            calls[-1].slot = result["slot"]
        return Invoked(result=result, calls=calls)

    return invoke


@contextmanager
def patched_seams(
    handler: Handler | None = None,
    throttle: Callable[[dict[str, Any]], bool] | None = None,
    sqs_faults: SqsFaults | None = None,
    retention_scale: float = 1.0,
    handover: bool = True,
    *,
    invoker: Invoker | None = None,
) -> Iterator[Recorder]:
    """Answer moto's Lambda invokes with `invoker` (or `handler` behind the shim, in this
    process), and apply input transformers to S3 events. `throttle(payload)` true answers that
    invoke as Lambda does when the function is out of concurrency (TooManyRequestsException),
    before anything runs. A code from `sqs_faults(action, parameters)` fails that SQS call of
    the state machine as SQS would, so its task fails with `Sqs.<Code>Exception`; every refusal
    is recorded."""
    from moto.awslambda.exceptions import LambdaClientError
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.dynamodb.models import DynamoDBBackend
    from moto.events.models import Rule
    from moto.sqs import models as sqs_models
    from moto.sqs.models import SQSBackend
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as aws_sdk,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_sfn,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
        ResourceCondition,
    )

    if (handler is None) == (invoker is None):
        raise TypeError("patched_seams: give a handler or an invoker")
    answer = invoker or in_process(handler)  # type: ignore[arg-type]
    recorder = Recorder()

    def invoke(
        self: Any,
        function_name: str,
        qualifier: str,
        body: bytes,
        headers: Any,
        response_headers: Any,
    ) -> str:
        payload = json.loads(body)
        if throttle is not None and throttle(payload):
            recorder.throttled()
            raise LambdaClientError("TooManyRequestsException", "Rate Exceeded.")
        began = time.time()
        try:
            invoked = answer(payload)
        finally:
            recorder.invoked(time.time() - began)
        for call in invoked.calls:
            recorder.add(call)
        if invoked.error_type is not None:  # the function's failure: Lambda's "Unhandled"
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(
                {"errorMessage": invoked.error_message, "errorType": invoked.error_type}
            )
        return json.dumps(invoked.result)

    original_send = Rule.send_to_targets

    def send_to_targets(self: Any, event: dict[str, Any], transform_input: bool = True) -> None:
        now = datetime.datetime.now(datetime.UTC).isoformat()
        original_send(self, {"ingestion-time": now, **event}, True)  # type: ignore[typeddict-item]

    original_receive = SQSBackend.receive_message
    receive_lock = threading.RLock()  # moto's receive reads attributes, which expire messages

    def expire(backend: Any, queue_name: str) -> None:
        # SQS deletes a message once its retention has run out, counted from when it was sent,
        # even while it is in flight: gone for receives, deletes and visibility changes alike.
        queue = backend.get_queue(queue_name)
        kept_ms = float(queue.message_retention_period) * retention_scale * 1000
        now_ms = time.time() * 1000
        with receive_lock:
            for message in [m for m in queue._messages if m.sent_timestamp + kept_ms <= now_ms]:
                queue._messages.remove(message)
                queue.pending_messages.discard(message)
                queue.deleted_messages.update(message.all_receipt_handles)

    def expiring(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, queue_name: str, *rest: Any, **kwargs: Any) -> Any:
            expire(self, queue_name)
            return original(self, queue_name, *rest, **kwargs)

        return call

    retention_seams = {
        name: getattr(SQSBackend, name)
        for name in (
            "delete_message",
            "change_message_visibility",
            "change_message_visibility_batch",
            "get_queue_attributes",
        )
    }

    def receive_message(
        self: Any,
        queue_name: str,
        count: int,
        wait_seconds_timeout: int,
        visibility_timeout: int,
        message_attribute_names: list[str] | None = None,
    ) -> Any:
        # One receive at a time picks and hides its messages, as in SQS; the long poll waits
        # outside the lock so other receivers are not held up.
        deadline = time.monotonic() + wait_seconds_timeout
        while True:
            expire(self, queue_name)
            with receive_lock:
                found = original_receive(
                    self, queue_name, count, 0, visibility_timeout, message_attribute_names
                )
            if found or time.monotonic() >= deadline:
                return found
            time.sleep(LONG_POLL_STEP_SECONDS)

    task = aws_sdk.StateTaskServiceAwsSdk
    original_sdk_call = task._eval_service_task

    def sdk_call(self: Any, normalised_parameters: dict[str, Any], **rest: Any) -> None:
        # The interpreter is about to call SQS: refuse the call as SQS would. The task's error
        # handling (`_from_error`) then names it as Step Functions does.
        resource = self.resource
        if sqs_faults is not None and resource.api_name == "sqs":
            code = sqs_faults(resource.api_action, normalised_parameters)
            if code is not None:
                recorder.refused(SqsFault(resource.api_action, normalised_parameters, code))
                raise sqs_error(code, resource.api_action)
        original_sdk_call(self, normalised_parameters=normalised_parameters, **rest)

    sfn_task = state_task_service_sfn.StateTaskServiceSfn
    original_sfn_call = sfn_task._eval_service_task

    def sfn_call(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: Any,
        state_credentials: Any,
    ) -> None:
        if self._get_boto_service_action() != "start_execution":
            original_sfn_call(
                self, env, resource_runtime_part, normalised_parameters, state_credentials
            )
            return
        waits = self.resource.condition == ResourceCondition.Sync2
        if not handover and not waits:
            env.stack.append({"ExecutionArn": "not-started", "StartDate": "1970-01-01T00:00:00"})
            return
        # As Step Functions does: the input object serialised, a name generated when none given.
        given = normalised_parameters.get("Input", {})
        started = boto3.client("stepfunctions").start_execution(
            stateMachineArn=normalised_parameters["StateMachineArn"],
            name=normalised_parameters.get("Name") or str(uuid.uuid4()),
            input=given if isinstance(given, str) else json.dumps(given),
        )
        with recorder._lock:
            (recorder.runs if waits else recorder.handovers).append(started["executionArn"])
        if waits:  # the child's end, without moto's 0.5 s polling interval
            sfn = boto3.client("stepfunctions")
            while (
                sfn.describe_execution(executionArn=started["executionArn"])["status"] == "RUNNING"
                and env.is_running()
            ):
                time.sleep(SYNC_POLL_SECONDS)
        env.stack.append(
            {"ExecutionArn": started["executionArn"], "StartDate": started["startDate"].isoformat()}
        )

    original_sync2 = sfn_task._build_sync2_resolver

    def sync2_resolver(self: Any, *args: Any, **kwargs: Any) -> Callable[[], Any]:
        # moto answers DescribeExecution's camelCase keys; Step Functions answers them in
        # PascalCase (ExecutionArn, Input, Output, InputDetails.Included, ...).
        resolve: Callable[[], Any] = original_sync2(self, *args, **kwargs)  # type: ignore[assignment]

        def resolved() -> Any:
            out = resolve()
            return _pascal_case(out) if isinstance(out, dict) else out

        return resolved

    # A DynamoDB write with a condition is atomic (check and write as one step); moto reads the
    # item, checks, then writes, so two threads can both pass the same condition (two lease
    # holders). Here item writes are serialised, as DynamoDB's are per item.
    item_lock = threading.Lock()
    item_seams = {
        name: getattr(DynamoDBBackend, name) for name in ("put_item", "update_item", "delete_item")
    }

    def atomic(original: Callable[..., Any]) -> Callable[..., Any]:
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            with item_lock:
                return original(self, *args, **kwargs)

        return call

    # moto's SQS reads the clock through datetime arithmetic for every message of the queue on
    # every call, and checks a received message's retention by computing every queue attribute
    # (each a scan of the queue): a receive took 31 ms with 100 messages queued and 1.2 s with
    # 3,000, where SQS's latency does not grow with the queue's depth. The same clock, read
    # directly, and the retention read from the queue keep moto's answers and drop that cost
    # (docs/aws-semantics.md S15).
    clock_seams = {name: getattr(sqs_models, name) for name in ("unix_time", "unix_time_millis")}
    original_retention = SQSBackend.is_message_valid_based_on_retention_period

    def unix_time(dt: datetime.datetime | None = None) -> float:
        return clock_seams["unix_time"](dt) if dt is not None else time.time()

    def unix_time_millis(dt: datetime.datetime | None = None) -> float:
        return clock_seams["unix_time_millis"](dt) if dt is not None else time.time() * 1000.0

    def retention_valid(self: Any, queue_name: str, message: Any) -> bool:
        kept = float(self.get_queue(queue_name).message_retention_period)
        return bool(kept + message.sent_timestamp / 1000 > time.time())

    original_invoke = LambdaSimpleBackend.invoke
    names = aws_sdk._SERVICE_ERROR_NAMES
    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign,assignment]
    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]
    SQSBackend.receive_message = receive_message  # type: ignore[method-assign]
    task._eval_service_task = sdk_call  # type: ignore[method-assign,assignment]
    aws_sdk._SERVICE_ERROR_NAMES = {**names, "sqs": "Sqs"}  # Step Functions' spelling
    for name, original in retention_seams.items():
        setattr(SQSBackend, name, expiring(original))
    sfn_task._eval_service_task = sfn_call  # type: ignore[method-assign]
    sfn_task._build_sync2_resolver = sync2_resolver  # type: ignore[method-assign]
    for name, original in item_seams.items():
        setattr(DynamoDBBackend, name, atomic(original))
    setattr(sqs_models, "unix_time", unix_time)  # noqa: B010 (a module attribute moto reads)
    setattr(sqs_models, "unix_time_millis", unix_time_millis)  # noqa: B010
    SQSBackend.is_message_valid_based_on_retention_period = retention_valid  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        LambdaSimpleBackend.invoke = original_invoke  # type: ignore[method-assign]
        Rule.send_to_targets = original_send  # type: ignore[method-assign]
        SQSBackend.receive_message = original_receive  # type: ignore[method-assign]
        task._eval_service_task = original_sdk_call  # type: ignore[method-assign]
        aws_sdk._SERVICE_ERROR_NAMES = names
        for name, original in retention_seams.items():
            setattr(SQSBackend, name, original)
        sfn_task._eval_service_task = original_sfn_call  # type: ignore[method-assign]
        sfn_task._build_sync2_resolver = original_sync2  # type: ignore[method-assign]
        for name, original in item_seams.items():
            setattr(DynamoDBBackend, name, original)
        for name, original in clock_seams.items():
            setattr(sqs_models, name, original)
        SQSBackend.is_message_valid_based_on_retention_period = original_retention  # type: ignore[method-assign]


def _pascal_case(description: dict[str, Any]) -> dict[str, Any]:
    """A DescribeExecution answer as a `.sync:2` task returns it: keys in PascalCase, also in
    the `*Details` objects; `Input` and `Output` (already parsed) left as they are."""

    def upper(key: str) -> str:
        return key[:1].upper() + key[1:]

    return {
        upper(k): ({upper(a): b for a, b in v.items()} if k.endswith("Details") else v)
        for k, v in description.items()
    }


def sqs_error(code: str, action: str) -> Exception:
    """The exception boto3 raises when SQS refuses `action` with `code` (e.g. RequestThrottled),
    as the SDK integration would receive it."""
    response: Any = {
        "Error": {"Code": code, "Message": SQS_FAULT_MESSAGES[code]},
        "ResponseMetadata": {"HTTPStatusCode": SQS_FAULT_STATUS, "RequestId": str(uuid.uuid4())},
    }
    error_class = boto3.client("sqs").exceptions.from_code(code)
    error: Exception = error_class(response, action[0].upper() + action[1:])
    return error


@dataclass
class Emulated:
    bucket: str
    queue_url: str
    dlq_url: str
    table_name: str | None  # None with the event source mapping engine (no dispatcher)
    state_machine_arn: str | None
    run_state_machine_arn: str | None = None  # STANDARD: the EXPRESS runs of the parent

    def counts(self) -> dict[str, int]:
        sqs = boto3.client("sqs")
        out = {}
        for label, url in (("queue", self.queue_url), ("dlq", self.dlq_url)):
            attrs = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            out[label] = int(attrs["ApproximateNumberOfMessages"]) + int(
                attrs["ApproximateNumberOfMessagesNotVisible"]
            )
        return out

    def start_poller(self, name: str) -> str:
        """Start one execution as the schedule would; its ARN."""
        sfn = boto3.client("stepfunctions")
        return str(
            sfn.start_execution(
                stateMachineArn=self.state_machine_arn, name=name, input=SCHEDULE_INPUT
            )["executionArn"]
        )

    def wait(self, execution_arn: str, timeout: float = 120) -> dict[str, Any]:
        """Wait for an execution to end; its description."""
        sfn = boto3.client("stepfunctions")
        deadline = time.monotonic() + timeout
        while (desc := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {execution_arn} still running after {timeout} s")
            time.sleep(0.05)
        return dict(desc)

    def run_poller(self, name: str, timeout: float = 120) -> dict[str, Any]:
        """Start one execution as the schedule would and wait for it to end."""
        return self.wait(self.start_poller(name), timeout)

    def states_entered(self, execution_arn: str) -> list[str]:
        """Names of the states an execution entered, in order."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.history(execution_arn)
            if e["type"].endswith("StateEntered") and "stateEnteredEventDetails" in e
        ]

    def runs(self, execution_arn: str) -> list[str]:
        """The runs a STANDARD parent started and awaited, in order (none for EXPRESS)."""
        return cost.runs_started(self.history(execution_arn))

    def lanes_intervals(self, execution_arn: str) -> list[tuple[float, float]]:
        """When an ended execution ran its lanes: its own (EXPRESS), or each of its runs' (a
        STANDARD parent); empty if none did."""
        runs = self.runs(execution_arn) or [execution_arn]
        return [i for i in map(self.lanes_interval, runs) if i is not None]

    def lanes_interval(self, execution_arn: str) -> tuple[float, float] | None:
        """When an ended execution ran its lanes (entered and left `Lanes`, epoch seconds), or
        None if it did not (it found the queue empty or the lease taken)."""
        times = [
            e["timestamp"].timestamp()
            for e in self.history(execution_arn)
            if e["type"] in ("MapStateEntered", "MapStateExited")
            and (e.get("stateEnteredEventDetails") or e.get("stateExitedEventDetails") or {}).get(
                "name"
            )
            == "Lanes"
        ]
        return (times[0], times[-1]) if len(times) == 2 else None

    def usage(self, execution_arn: str) -> cost.Usage:
        """What an ended execution used, as `cost` prices it; a STANDARD parent's includes
        its runs' (EXPRESS, priced as such)."""
        d = boto3.client("stepfunctions").describe_execution(executionArn=execution_arn)
        seconds = (d["stopDate"] - d["startDate"]).total_seconds()
        events = self.history(execution_arn)
        own = cost.usage_from_history(events, seconds=seconds)
        return cost.with_runs(own, [self.usage(run) for run in cost.runs_started(events)])

    def lease(self) -> dict[str, Any]:
        """The lease item as DynamoDB holds it (empty before the first acquisition)."""
        item = boto3.client("dynamodb").get_item(
            TableName=self.table_name, Key={"pk": {"S": "lease"}}, ConsistentRead=True
        )
        return dict(item.get("Item", {}))

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        sfn = boto3.client("stepfunctions")
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = sfn.get_execution_history(**kwargs)
            events += page["events"]
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]


def _queue_attributes(inputs: dict[str, Any], queue_arns: dict[str, str]) -> dict[str, str]:
    attrs = {}
    if inputs.get("fifoQueue"):
        attrs["FifoQueue"] = "true"
    for wire, attr in (
        ("visibilityTimeoutSeconds", "VisibilityTimeout"),
        ("messageRetentionSeconds", "MessageRetentionPeriod"),
        ("maxMessageSize", "MaximumMessageSize"),
    ):
        if inputs.get(wire) is not None:
            attrs[attr] = str(int(inputs[wire]))
    if inputs.get("redrivePolicy"):
        policy = json.loads(inputs["redrivePolicy"])
        attrs["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": queue_arns[policy["deadLetterTargetArn"]],
                "maxReceiveCount": int(policy["maxReceiveCount"]),
            }
        )
    return attrs


def materialise(capture: Capture) -> Emulated:
    """Create in moto every resource of the data path that `capture` declared, with the
    declared attributes (to compress time, change the declaration, e.g. a shorter
    `dispatch.failed_retry_delay_seconds`)."""
    s3, sqs, events = boto3.client("s3"), boto3.client("sqs"), boto3.client("events")
    sfn, lam, iam = boto3.client("stepfunctions"), boto3.client("lambda"), boto3.client("iam")

    buckets = capture.of_type("aws:s3/bucket:Bucket")
    bucket = buckets[0].inputs["bucket"] if buckets else capture.outputs["bucket_name"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(
        Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )

    # Queues: DLQs first, so redrive policies can name them. Declared ARN -> emulated ARN.
    queues = sorted(
        capture.of_type("aws:sqs/queue:Queue"), key=lambda r: "redrivePolicy" in r.inputs
    )
    arns: dict[str, str] = {}
    urls: dict[str, str] = {}
    for q in queues:
        attrs = _queue_attributes(q.inputs, arns)
        url = sqs.create_queue(QueueName=q.inputs["name"], Attributes=attrs)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        arns[q.state["arn"]], urls[q.state["url"]] = arn, url

    rule = capture.one("aws:cloudwatch/eventRule:EventRule")
    events.put_rule(Name=rule.inputs["name"], EventPattern=rule.inputs["eventPattern"])
    target = capture.one("aws:cloudwatch/eventTarget:EventTarget")
    transformer = target.inputs["inputTransformer"]
    events.put_targets(
        Rule=rule.inputs["name"],
        Targets=[
            {
                "Id": target.inputs["targetId"],
                "Arn": arns[target.inputs["arn"]],
                "InputTransformer": {
                    "InputPathsMap": transformer["inputPaths"],
                    "InputTemplate": transformer["inputTemplate"],
                },
            }
        ],
    )

    role = iam.create_role(RoleName="s3ep-emulator", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for fn in capture.of_type("aws:lambda/function:Function"):
        lam.create_function(
            FunctionName=fn.inputs["name"],
            Runtime=fn.inputs["runtime"],
            Role=role,
            Handler=fn.inputs["handler"],
            Code={"ZipFile": b"in-process"},
        )
    queue = next(r for r in queues if "redrivePolicy" in r.inputs)
    dlq_arn = json.loads(queue.inputs["redrivePolicy"])["deadLetterTargetArn"]
    dlq = next(r for r in queues if r.state["arn"] == dlq_arn)
    if capture.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        # The event source mapping engine: no dispatcher; emulator_esm.py runs the mapping.
        return Emulated(bucket, urls[queue.state["url"]], urls[dlq.state["url"]], None, None)
    table = capture.one("aws:dynamodb/table:Table")
    boto3.client("dynamodb").create_table(
        TableName=table.inputs["name"],
        BillingMode=table.inputs["billingMode"],
        KeySchema=[{"AttributeName": table.inputs["hashKey"], "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": a["name"], "AttributeType": a["type"]}
            for a in table.inputs["attributes"]
        ],
    )

    def create(machine: Any, arns: dict[str, str]) -> str:
        definition = machine.inputs["definition"]
        # same account and region: URLs only differ by host
        for declared, emulated in {**urls, **arns}.items():
            definition = definition.replace(declared, emulated)
        return str(
            sfn.create_state_machine(
                name=machine.inputs["name"],
                definition=definition,
                roleArn=role,
                type=machine.inputs["type"],
            )["stateMachineArn"]
        )

    # A STANDARD parent's run first, so the parent's definition can name it.
    run = capture.dispatcher_run()
    run_arn = create(run, {}) if run is not None else None
    declared_run = run.state["arn"] if run is not None else None
    arn = create(
        capture.dispatcher(),
        {declared_run: run_arn} if declared_run and run_arn else {},
    )
    return Emulated(
        bucket,
        urls[queue.state["url"]],
        urls[dlq.state["url"]],
        table.inputs["name"],
        arn,
        run_arn,
    )
