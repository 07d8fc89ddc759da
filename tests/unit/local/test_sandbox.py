"""The function's execution environments (local/sandbox.py) with a tiny package, no emulator:
what the process sees, warm reuse, the timeout, a dying runtime, an init that fails; and the
local AWS endpoint's routing (local/aws_endpoint.py)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from s3ep_pulumi.component.archive import build_package, shim_files
from s3ep_pulumi.local import aws_endpoint
from s3ep_pulumi.local.sandbox import Function, InitFailed, Sandboxes, lambda_environment

HANDLER = """\
    import json, os, sys, time

    def handler(event, context):
        key = event["s3_details"]["key"]
        if key == "slow":
            time.sleep(2)
        if key == "exit":
            os._exit(4)
        if key == "raise":
            raise LookupError("no such thing")
        return {"pid": os.getpid(), "remaining": context.get_remaining_time_in_millis(),
                "stage": os.environ.get("STAGE"), "region": os.environ["AWS_REGION"],
                "path": sys.path[:2]}
    """


def payload(key: str) -> dict[str, object]:
    details = {"bucket": "b", "key": key, "event_type": "Object Created"}
    return {"body": json.dumps({"s3_details": details}), "s3ep": {}}


def function(tmp_path: Path, source: str, timeout: float = 1.0) -> Function:
    folder = tmp_path / "fn"
    folder.mkdir()
    (folder / "app.py").write_text(textwrap.dedent(source))
    package = build_package(folder, tmp_path / "build", shim_files())
    return Function(
        name="f",
        arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        package=package.path,
        entry="s3ep_shim.handler",
        handler="app.handler",
        runtime="python3.12",
        timeout=timeout,
        memory_mb=128,
        environment={"S3EP_HANDLER": "app.handler", "STAGE": "t", "AWS_REGION": "eu-west-9"},
        log_group="/aws/lambda/f",
    )


@pytest.fixture
def boxes(tmp_path: Path) -> Iterator[Sandboxes]:
    with (tmp_path / "function.log").open("w") as log:
        fn = function(tmp_path, HANDLER)
        sandboxes = Sandboxes(fn, tmp_path / "scratch", log, "http://127.0.0.1:1", "us-east-1")
        sandboxes.start()
        yield sandboxes
        sandboxes.close()


def test_an_environment_is_kept_warm_and_sees_the_package_first(boxes: Sandboxes) -> None:
    first, second = boxes.invoke(payload("a")), boxes.invoke(payload("b"))
    assert first.error_type is None and second.error_type is None
    a, b = first.result["result"], second.result["result"]
    assert a["pid"] == b["pid"] != 0 and boxes.cold_starts == 1
    assert 0 < a["remaining"] <= 1000
    # the declared variable, and Lambda's region: a declared AWS_REGION cannot replace it
    assert (a["stage"], a["region"]) == ("t", "us-east-1")
    assert a["path"] == [str(boxes.task_root), str(boxes.runtime_dir)]
    assert [(c.key, c.error) for c in first.calls] == [("a", None)]


def test_a_call_past_the_timeout_is_sandbox_timedout_and_its_environment_is_replaced(
    boxes: Sandboxes,
) -> None:
    slow = boxes.invoke(payload("slow"))
    assert (slow.error_type, [(c.key, c.error) for c in slow.calls]) == (
        "Sandbox.Timedout",
        [("slow", "Sandbox.Timedout")],
    )
    assert slow.error_message.endswith("Task timed out after 1.00 seconds")
    assert boxes.invoke(payload("a")).error_type is None
    assert boxes.cold_starts == 2  # Lambda resets a timed-out environment


def test_a_runtime_that_exits_is_runtime_exit_error_and_a_raise_is_its_type(
    boxes: Sandboxes,
) -> None:
    gone = boxes.invoke(payload("exit"))
    assert gone.error_type == "Runtime.ExitError"
    assert gone.error_message.endswith("Runtime exited with error: exit status 4")
    raised = boxes.invoke(payload("raise"))
    assert (raised.error_type, raised.error_message) == ("LookupError", "no such thing")
    assert [(c.key, c.error) for c in raised.calls] == [("raise", "LookupError")]


def test_an_sqs_batch_runs_in_the_clean_process_and_answers_its_failed_records(
    boxes: Sandboxes,
) -> None:
    # GIVEN the event source mapping's event: a good record, one whose handler raises, and a
    # body that is no S3 event
    def record(message_id: str, body: str) -> dict[str, object]:
        return {
            "messageId": message_id,
            "receiptHandle": f"rh-{message_id}",
            "body": body,
            "attributes": {"ApproximateReceiveCount": "1"},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
            "awsRegion": "us-east-1",
        }

    batch = {
        "Records": [
            record("m1", str(payload("a")["body"])),
            record("m2", str(payload("raise")["body"])),
            record("m3", "{}"),
        ]
    }
    # WHEN the package's shim is invoked with it, in a process of its own
    answer = boxes.invoke(batch)
    # THEN Lambda gets a partial batch response naming the raise and the malformed body; the
    # handler ran for the two S3 events only, and one raise did not stop the batch
    assert answer.error_type is None
    assert answer.result == {
        "batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m3"}]
    }
    assert [(c.key, c.error) for c in answer.calls] == [("a", None), ("raise", "LookupError")]


def test_a_missing_module_fails_the_init_naming_it_and_the_file_that_imports_it(
    tmp_path: Path,
) -> None:
    fn = function(tmp_path, "import helpers_of_mine\ndef handler(event, context): ...\n")
    with (tmp_path / "function.log").open("w") as log:
        boxes = Sandboxes(fn, tmp_path / "scratch", log, "http://127.0.0.1:1", "us-east-1")
        with pytest.raises(InitFailed) as error:
            boxes.start()
    answer = error.value.answer
    assert (answer["errorType"], answer["module"], answer["importer"]) == (
        "ModuleNotFoundError",
        "helpers_of_mine",
        "app.py",
    )


def test_the_environment_is_lambdas_with_the_declared_variables_and_no_local_aws_config(
    tmp_path: Path,
) -> None:
    fn = function(tmp_path, HANDLER)
    env = lambda_environment(fn, Path("/task"), Path("/runtime"), "http://127.0.0.1:9", "us-east-1")
    assert env["STAGE"] == "t" and env["S3EP_HANDLER"] == "app.handler"
    assert env["AWS_REGION"] == "us-east-1"  # reserved: the declared value is ignored, as on AWS
    assert (env["LAMBDA_TASK_ROOT"], env["_HANDLER"]) == ("/task", "s3ep_shim.handler")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"
    assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"]
    assert not {"PYTHONPATH", "VIRTUAL_ENV", "HOME"} & set(env)


@pytest.mark.parametrize(
    ("authorization", "path", "expected"),
    [
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/sqs/aws4_request, Signed...",
            "/",
            ("sqs", "eu-west-1"),
        ),
        (
            None,
            "/b/k?X-Amz-Credential=AKID%2F20260101%2Fus-east-2%2Fs3%2Faws4_request&X-Amz-Date=1",
            ("s3", "us-east-2"),
        ),
        (None, "/b/k", ("s3", "us-east-1")),
    ],
)
def test_the_endpoint_routes_by_the_signatures_scope(
    authorization: str | None, path: str, expected: tuple[str, str]
) -> None:
    assert aws_endpoint.scope(authorization, path, "us-east-1") == expected
    assert aws_endpoint.aws_host("states", "eu-west-1") == "states.eu-west-1.amazonaws.com"
    assert aws_endpoint.aws_host("iam", "eu-west-1") == "iam.amazonaws.com"
