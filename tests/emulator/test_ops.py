"""The operations commands (`s3ep redrive`, `status`, `backfill`) end to end in moto.

GIVEN a processor declared under mocks and materialised into moto (data path, alarms, log
groups; the shim's log lines reach the function's log group as Lambda sends stdout there; SQS's
DLQ redrive API modelled, moto lacks it), its stack file and its outputs file (what
`pulumi stack output --json` prints), WHEN a command runs through `cli.main`, THEN the queues,
the handler's calls and the printed figures agree.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from helpers import config, evaluate, load_event
from moto import mock_aws

from s3ep_pulumi.builders.event_pattern import message_body
from s3ep_pulumi.local import cli
from s3ep_pulumi.local.capture import Capture
from s3ep_pulumi.local.emulator import (
    EMULATOR_CONFIG,
    Emulated,
    Recorder,
    materialise,
    patched_seams,
)
from s3ep_pulumi.local.emulator_ops import (
    lambda_logs,
    materialise_operations,
    message_move_tasks,
    outputs_of,
)
from s3ep_pulumi.model.args import S3EventProcessorArgs

pytestmark = [pytest.mark.emulator, pytest.mark.usefixtures("aws_env")]

STACK = "ops"
RUNS = itertools.count()
RAW = config(
    name_prefix="ops",
    bucket={"prefixes": ["uploads/"], "suffixes": [".jpg"]},
    queue={"max_receive_count": 2},
    dispatch={"receive_wait_seconds": 0, "failed_retry_delay_seconds": 0, "max_concurrency": 2},
    function={"timeout": 5},
)


@dataclass
class Ops:
    emu: Emulated
    rec: Recorder
    capture: Capture
    args: S3EventProcessorArgs
    stacks_dir: Path
    outputs: Path
    capsys: pytest.CaptureFixture[str]

    def run(self, *argv: str, outputs: bool = True) -> tuple[int, str, str]:
        """`s3ep <argv> --stack ops` with this stack's files: (exit status, stdout, stderr); the
        text output with its line wrapping undone (rich wraps at the console width)."""
        self.capsys.readouterr()
        extra = ["--stack", STACK, "--stacks-dir", str(self.stacks_dir)]
        if outputs:
            extra += ["--outputs", str(self.outputs)]
        code = cli.main([*argv, *extra])
        captured = self.capsys.readouterr()
        out = captured.out if "--json" in argv else " ".join(captured.out.split())
        return code, out, captured.err

    def poll(self) -> None:
        result = self.emu.run_poller(f"poll-{next(RUNS)}")
        assert result["status"] == "SUCCEEDED", result

    def depth(self, url: str) -> int:
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def url(self, name: str) -> str:
        return str(boto3.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])

    def upload(self, keys: list[str]) -> None:
        s3 = boto3.client("s3")
        for key in keys:
            s3.put_object(Bucket=self.emu.bucket, Key=key, Body=b"x")


def visible(url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def write_stack(directory: Path, raw: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"Pulumi.{STACK}.yaml").write_text(
        yaml.safe_dump({"config": {"aws:region": "us-east-1", "s3ep:processor": raw}})
    )
    return directory


@contextmanager
def deployed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    handler: Callable[[dict[str, Any], Any], Any],
    raw: dict[str, Any] = RAW,
) -> Iterator[Ops]:
    capture = evaluate(raw)
    args = S3EventProcessorArgs.model_validate(raw)
    with (
        mock_aws(config=EMULATOR_CONFIG),
        patched_seams(handler) as recorder,
        message_move_tasks(),
    ):
        emu = materialise(capture)
        materialise_operations(capture)
        outputs = tmp_path / "outputs.json"
        outputs.write_text(json.dumps(outputs_of(capture, emu)))
        with lambda_logs(args.names.function_log_group):
            yield Ops(
                emu, recorder, capture, args, write_stack(tmp_path / "stacks", raw), outputs, capsys
            )


def failing_for(broken: set[str]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        key = event["s3_details"]["key"]
        if key in broken:
            raise ValueError(f"cannot read {key}")
        return {"statusCode": 200}

    return handler


def dead_letter(ops: Ops, keys: list[str]) -> None:
    """Upload `keys` and poll until each failed max_receive_count times and sits in the DLQ."""
    ops.upload(keys)
    for _ in range(6):
        ops.poll()
        if ops.depth(ops.emu.dlq_url) == len(keys):
            return
    raise AssertionError(f"DLQ holds {ops.depth(ops.emu.dlq_url)}, expected {len(keys)}")


# --- redrive ------------------------------------------------------------------------------------


def test_redrive_lists_then_moves_the_dead_letters_back_and_the_handler_gets_each_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = {"uploads/a.jpg", "uploads/b.jpg"}
    with deployed(tmp_path, capsys, failing_for(broken)) as ops:
        dead_letter(ops, sorted(broken))

        code, out, _ = ops.run("redrive", "--list")
        assert code == 0
        assert "ops-dlq: 2 message(s) would move" in out
        assert "uploads/a.jpg" in out and "ValueError: cannot read uploads/a.jpg" in out
        assert ops.depth(ops.emu.dlq_url) == 2  # listing moves nothing

        broken.clear()  # the cause is fixed
        calls_before = len(ops.rec.invocations)
        code, out, _ = ops.run("redrive", "--max-per-second", "50")
        assert code == 0, out
        assert "moved 2 message(s) from ops-dlq back to ops-queue (COMPLETED)" in out
        assert ops.depth(ops.emu.dlq_url) == 0
        ops.poll()
        assert ops.depth(ops.emu.queue_url) == 0 and ops.depth(ops.emu.dlq_url) == 0
    after = ops.rec.invocations[calls_before:]
    assert sorted(i.key for i in after) == sorted({"uploads/a.jpg", "uploads/b.jpg"})
    assert all(i.succeeded for i in after)


def test_redrive_is_refused_while_the_function_errors_alarm_fires(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with deployed(tmp_path, capsys, failing_for({"uploads/a.jpg"})) as ops:
        dead_letter(ops, ["uploads/a.jpg"])
        boto3.client("cloudwatch").set_alarm_state(
            AlarmName="ops-function-errors", StateValue="ALARM", StateReason="5 errors"
        )
        code, _, err = ops.run("redrive")
        assert code == 2
        assert err.startswith("error: ops-function-errors in ALARM: the dispatcher or the function")
        assert len(err.strip().splitlines()) == 1
        assert ops.depth(ops.emu.dlq_url) == 1  # nothing moved


def test_the_move_task_model_follows_the_sqs_api(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with deployed(tmp_path, capsys, failing_for(set())) as ops:
        sqs = boto3.client("sqs")
        queue_arn = json.loads(ops.outputs.read_text())["queue_arn"]
        with pytest.raises(sqs.exceptions.ClientError, match="UnsupportedOperation"):
            sqs.start_message_move_task(SourceArn=queue_arn)  # not a DLQ
        dlq_arn = json.loads(ops.outputs.read_text())["dlq_arn"]
        assert ops.run("redrive")[:2] == (0, "nothing to redrive: ops-dlq is empty")
        for i in range(3):
            sqs.send_message(QueueUrl=ops.emu.dlq_url, MessageBody=f"m{i}")
        sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=5)
        with pytest.raises(sqs.exceptions.ClientError, match="already a task running"):
            sqs.start_message_move_task(SourceArn=dlq_arn)
        running = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
        assert [t["Status"] for t in running] == ["RUNNING"] and "TaskHandle" in running[0]
        assert running[0]["ApproximateNumberOfMessagesToMove"] == 3
        assert "DestinationArn" not in running[0]  # back to the original source queue
        time.sleep(1.0)
        done = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
        assert [(t["Status"], t["ApproximateNumberOfMessagesMoved"]) for t in done] == [
            ("COMPLETED", 3)
        ]
        assert "TaskHandle" not in done[0]
        assert ops.depth(ops.emu.queue_url) == 3


def test_rule_dlq_events_are_resent_in_the_queue_body_shape_and_reach_the_handler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with deployed(tmp_path, capsys, failing_for(set())) as ops:
        sqs = boto3.client("sqs")
        rule_dlq = ops.url("ops-rule-dlq")
        event = load_event("eventbridge_object_created")
        event["detail"]["bucket"]["name"] = ops.emu.bucket
        event["detail"]["object"]["key"] = "uploads/parked.jpg"
        sqs.send_message(
            QueueUrl=rule_dlq,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "ERROR_CODE": {"DataType": "String", "StringValue": "SQS.KmsAccessDenied"}
            },
        )
        sqs.send_message(QueueUrl=rule_dlq, MessageBody="not an event")
        # a send that fails deletes nothing: the parked event is still there
        good = ops.outputs.read_text()
        ops.outputs.write_text(json.dumps({**json.loads(good), "queue_url": f"{rule_dlq}-gone"}))
        code, _, err = ops.run("redrive", "--rule-dlq")
        assert code == 2 and err.startswith("error: SendMessage failed")
        assert visible(rule_dlq) == 2  # both released at once, not in 30 s
        ops.outputs.write_text(good)
        code, out, _ = ops.run("redrive", "--rule-dlq")
        assert code == 0
        assert "resent 1 event(s) from ops-rule-dlq to ops-queue; 1 left (not S3 events)" in out
        assert ops.depth(rule_dlq) == 1
        ops.poll()
        assert ops.rec.keys() == ["uploads/parked.jpg"]
        assert ops.depth(ops.emu.queue_url) == 0


def test_message_body_equals_what_the_rules_input_transformer_delivers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same S3 event through the emulated rule (moto's transformer) and `message_body`."""
    with deployed(tmp_path, capsys, failing_for(set())) as ops:
        event = load_event("eventbridge_object_created")
        event["detail"]["bucket"]["name"] = ops.emu.bucket
        boto3.client("events").put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Time": event["time"],
                }
            ]
        )
        messages = boto3.client("sqs").receive_message(QueueUrl=ops.emu.queue_url)["Messages"]
    delivered = json.loads(messages[0]["Body"])
    shaped = json.loads(message_body(event))
    # moto renders `time` as a Unix float through the transformer (docs/aws-semantics.md E3)
    delivered["s3_details"].pop("event_time"), shaped["s3_details"].pop("event_time")
    assert delivered == shaped


# --- status -------------------------------------------------------------------------------------


def publish(namespace: str, metric: str, dimensions: dict[str, str], value: float) -> None:
    """A datapoint as the service would publish it (moto publishes none)."""
    boto3.client("cloudwatch").put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": metric,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                "Value": value,
            }
        ],
    )


def test_status_figures_match_the_emulated_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with deployed(tmp_path, capsys, failing_for({"uploads/bad.jpg"})) as ops:
        dead_letter(ops, ["uploads/bad.jpg"])
        ops.upload(["uploads/ok.jpg"])
        ops.poll()
        ops.upload(["uploads/later-1.jpg", "uploads/later-2.jpg", "other/skip.jpg"])
        sqs = boto3.client("sqs")
        sqs.send_message(QueueUrl=ops.url("ops-rule-dlq"), MessageBody="{}")
        boto3.client("cloudwatch").set_alarm_state(
            AlarmName="ops-dlq-messages", StateValue="ALARM", StateReason="1 dead letter"
        )
        publish("AWS/Lambda", "Invocations", {"FunctionName": "ops-processor"}, ops.rec.invokes)
        publish("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "ops-queue"}, 42)
        time.sleep(1.1)  # moto counts a datapoint from the next second on
        code, out, _ = ops.run("status", "--json")
        assert code == 0
        figures = json.loads(out)
        code, text, _ = ops.run("status")
        assert code == 0
        # an execution holds the lease while its item has a holder whose expiry is ahead
        boto3.client("dynamodb").put_item(
            TableName="ops-dispatch",
            Item={
                "pk": {"S": "lease"},
                "holder": {"S": "poll-1"},
                "expires": {"N": str(int((time.time() + 60) * 1000))},
                "fence": {"N": "1"},
            },
        )
        assert json.loads(ops.run("status", "--json")[1])["lease"] == "held"
    queues = {q["role"]: q for q in figures["queues"]}
    assert (queues["queue"]["visible"], queues["queue"]["in_flight"]) == (2, 0)
    assert queues["queue"]["oldest_age_seconds"] == 42
    assert (queues["dlq"]["visible"], queues["rule-dlq"]["visible"]) == (1, 1)
    alarms = {a["name"]: a["state"] for a in figures["alarms"]}
    assert alarms["ops-dlq-messages"] == "ALARM"
    assert figures["alarms"][0]["name"] == "ops-dlq-messages"  # firing alarms first
    assert {s for n, s in alarms.items() if n != "ops-dlq-messages"} == {"OK"}  # moto starts OK
    assert figures["executions"] is None
    assert figures["executions_note"].startswith("not available for EXPRESS")
    assert figures["lease"] == "free"
    assert figures["invocations"] == ops.rec.invokes
    assert figures["achieved_rate"] == pytest.approx(ops.rec.invokes / 900)
    assert figures["configured_rate"] is None
    assert "ops-dlq-messages" in text and "ALARM" in text
    assert "dispatcher executions: not available for EXPRESS" in text
    assert f"({ops.rec.invokes} invocations), no rate limit (max_concurrency 2)" in text


def test_status_lists_recent_executions_of_a_standard_dispatcher(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = {**RAW, "dispatch": {**RAW["dispatch"], "workflow_type": "STANDARD"}}
    with deployed(tmp_path, capsys, failing_for(set()), raw) as ops:
        ops.upload(["uploads/a.jpg"])
        ops.poll()
        ops.poll()
        code, out, _ = ops.run("status", "--json")
        text = ops.run("status")[1]
    assert code == 0
    executions = json.loads(out)["executions"]
    assert [e["status"] for e in executions] == ["SUCCEEDED", "SUCCEEDED"]
    assert all(e["name"].startswith("poll-") and e["stopped"] for e in executions)
    assert "dispatcher executions (STANDARD, most recent first)" in text


# --- backfill -----------------------------------------------------------------------------------

BACKFILL = config(
    **{**RAW, "monitoring": {"alarms": {"queue_depth": {"threshold": 8}}}},
)
INSIDE = [f"uploads/{i:03d}.jpg" for i in range(25)]
OUTSIDE = ["uploads/skip.gif", "other/skip.jpg", "uploads.jpg"]


def existing_objects(ops: Ops) -> None:
    """Objects written before the bucket sent events to EventBridge (before the stack)."""
    s3 = boto3.client("s3")
    s3.put_bucket_notification_configuration(Bucket=ops.emu.bucket, NotificationConfiguration={})
    ops.upload(INSIDE + OUTSIDE)
    s3.put_bucket_notification_configuration(
        Bucket=ops.emu.bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    assert ops.depth(ops.emu.queue_url) == 0


@contextmanager
def dispatching(ops: Ops) -> Iterator[list[int]]:
    """Pollers back to back, as the schedule would run them, and the queue's visible depth
    sampled meanwhile (yielded: every sample)."""
    import threading

    stop, samples = threading.Event(), [0]

    def poll() -> None:
        while not stop.is_set():
            ops.poll()

    def sample() -> None:
        sqs = boto3.client("sqs")
        while not stop.is_set():
            attributes = sqs.get_queue_attributes(
                QueueUrl=ops.emu.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            samples.append(int(attributes["ApproximateNumberOfMessages"]))
            time.sleep(0.02)

    threads = [threading.Thread(target=poll), threading.Thread(target=sample)]
    for t in threads:
        t.start()
    try:
        yield samples
    finally:
        stop.set()
        for t in threads:
            t.join()


def test_backfill_reaches_the_handler_once_per_matching_object_without_tripping_the_alarm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = ("--checkpoint", str(tmp_path / "cp.json"))
    with deployed(tmp_path, capsys, failing_for(set()), BACKFILL) as ops:
        existing_objects(ops)
        code, out, _ = ops.run("backfill", "--dry-run", *cp)
        assert code == 0
        assert out == (
            f"25 object(s) of s3://{ops.emu.bucket}/uploads/ would be enqueued to ops-queue, "
            "no rate limit: as fast as the dispatcher drains the queue; the queue kept at or "
            "below 4 visible message(s) (queue-depth alarm at 8)"
        )
        assert ops.depth(ops.emu.queue_url) == 0  # a dry run sends nothing
        with dispatching(ops) as depths:
            code, out, _ = ops.run("backfill", *cp)
            assert code == 0, out
            deadline = time.monotonic() + 60
            while len(ops.rec.invocations) < len(INSIDE) and time.monotonic() < deadline:
                time.sleep(0.1)
        assert "enqueued 25 object(s)" in out
        assert max(depths) <= 4  # never near the alarm's 8
        code, again, _ = ops.run("backfill", *cp)
        assert code == 0 and "nothing to do" in again
        assert ops.depth(ops.emu.queue_url) == 0 and ops.depth(ops.emu.dlq_url) == 0
    assert sorted(ops.rec.keys()) == INSIDE  # each once; nothing outside the filters


def test_an_interrupted_backfill_resumes_after_the_last_enqueued_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from s3ep_pulumi.local import backfill

    checkpoint = tmp_path / "cp.json"
    raw = {**RAW, "monitoring": {"alarms": {"queue_depth": {"threshold": 100}}}}
    with deployed(tmp_path, capsys, failing_for(set()), raw) as ops:
        existing_objects(ops)
        real, calls = backfill.send_batch, []

        def flaky(queue_url: str, bodies: list[str]) -> None:
            calls.append(len(bodies))
            if len(calls) == 2:  # the second batch: SQS refuses it
                boto3.client("sqs").send_message_batch(QueueUrl="nope", Entries=[])
            real(queue_url, bodies)

        monkeypatch.setattr(backfill, "send_batch", flaky)
        code, _, err = ops.run("backfill", "--checkpoint", str(checkpoint))
        assert code == 2 and err.startswith("error: SendMessageBatch failed")
        assert ops.depth(ops.emu.queue_url) == 10  # the first batch only
        saved = next(iter(json.loads(checkpoint.read_text()).values()))
        assert saved["after"] == {"uploads/": "uploads/009.jpg"} and not saved["done"]
        code, out, _ = ops.run("backfill", "--checkpoint", str(checkpoint), "--dry-run")
        assert "15 object(s)" in out and "resuming: 10 already enqueued" in out
        code, out, _ = ops.run("backfill", "--checkpoint", str(checkpoint))
        assert code == 0 and "enqueued 15 object(s)" in out and "(25 in all, resumed)" in out
        for _ in range(4):
            ops.poll()
    assert sorted(ops.rec.keys()) == INSIDE


def test_backfill_bodies_are_the_rules_shape_and_the_filters_apply_to_since_and_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cp = ("--checkpoint", str(tmp_path / "cp.json"))
    with deployed(tmp_path, capsys, failing_for(set())) as ops:
        existing_objects(ops)
        code, out, _ = ops.run("backfill", "--dry-run", "--since", "2999-01-01", *cp)
        assert code == 0 and out.startswith("0 object(s)")
        code, _, err = ops.run("backfill", "--prefix", "other/", *cp)
        assert code == 2
        assert err.strip() == (
            "error: --prefix 'other/' is outside the stack's prefixes (uploads/): no object "
            "under it would reach the function"
        )
        code, out, _ = ops.run("backfill", "--prefix", "uploads/00", *cp)
        assert code == 0 and "enqueued 10 object(s)" in out
        messages = boto3.client("sqs").receive_message(
            QueueUrl=ops.emu.queue_url, MaxNumberOfMessages=1
        )["Messages"]
        head = boto3.client("s3").head_object(Bucket=ops.emu.bucket, Key="uploads/000.jpg")
        code, _, err = ops.run("backfill", "--distributed", *cp)
        assert code == 2 and "declares no backfill state machine" in err
    details = json.loads(messages[0]["Body"])["s3_details"]
    assert details == {
        "bucket": ops.emu.bucket,
        "key": "uploads/000.jpg",
        "event_type": "Object Created",
        "event_time": head["LastModified"].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "object": {"key": "uploads/000.jpg", "size": 1, "etag": head["ETag"].strip('"')},
    }


def test_distributed_starts_the_backfill_machine_once_per_listing_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """moto 5.2's ASL parser rejects `ItemBatcher`, so the declared Distributed Map cannot run
    here (its structure is tested in tests/unit/builders/test_backfill.py); a stand-in machine
    of the same name shows what the command starts."""
    raw = {
        **RAW,
        "bucket": {"prefixes": ["uploads/", "incoming/"]},
        "backfill": {"enabled": True},
    }
    with deployed(tmp_path, capsys, failing_for(set()), raw) as ops:
        sfn = boto3.client("stepfunctions")
        declared = ops.capture.one("aws:sfn/stateMachine:StateMachine", "images-backfill")
        with pytest.raises(sfn.exceptions.ClientError, match="ItemBatcher"):
            sfn.create_state_machine(
                name="probe", definition=declared.inputs["definition"], roleArn=ROLE
            )
        stand_in = sfn.create_state_machine(
            name="ops-backfill",
            definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
            roleArn=ROLE,
        )["stateMachineArn"]
        code, out, _ = ops.run("backfill", "--distributed")
        assert code == 0, out
        runs = sfn.list_executions(stateMachineArn=stand_in)["executions"]
        inputs = sorted(
            json.loads(sfn.describe_execution(executionArn=r["executionArn"])["input"])["prefix"]
            for r in runs
        )
    assert inputs == ["incoming/", "uploads/"]
    assert out.count("started arn:aws:states:us-east-1:123456789012:execution:ops-backfill:") == 2


ROLE = "arn:aws:iam::123456789012:role/s3ep-emulator"
