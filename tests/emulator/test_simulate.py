"""`s3ep simulate`, end to end: the shipped dev stack in moto with its own example handler, failure
injection, and the inputs it must refuse with one line and exit status 2."""

from __future__ import annotations

import importlib.metadata
import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from s3ep_pulumi.local.cli import main
from s3ep_pulumi.runtime import s3ep_shim

pytestmark = pytest.mark.emulator


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = main(["simulate", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_the_dev_stack_processes_a_burst_with_its_own_handler_and_the_counts_add_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the dev stack as shipped (5 lanes, 5 starts/s, prefix uploads/, .jpg and .png)
    # WHEN 6 objects and 2 decoys are uploaded and two pollers overlap
    code, s = run_json(
        capsys,
        "--stack", "dev", "--objects", "6", "--overlap", "--out", str(tmp_path),
        "--report", str(tmp_path / "timeline.html"),
    )  # fmt: skip
    # THEN every matched object is processed once by the example handler, nothing is lost
    assert code == 0, s["violations"]
    assert (s["uploaded"], s["ignored"], s["matched"], s["expected_matches"]) == (8, 2, 6, 6)
    assert (s["processed"], s["retried"], s["dead_lettered"], s["lost"]) == (6, 0, 0, 0)
    assert s["left_in_queue"] == 0 and s["violations"] == []
    assert s["max_in_flight"] <= s["max_concurrency"] == 5
    assert s["configured_rate"] == 5.0 and 0 < s["achieved_rate"] <= 5.5
    # one poller held the lease and ran the lanes; the other found it taken, or nothing left
    assert s["executions"]["Done"] == 1 and sum(s["executions"].values()) == 2
    assert 0 < s["latency_p50"] <= s["latency_p95"]
    assert s["cost_per_million"] > 0
    assert s["deviations"][0] == (
        "pollers start back to back, not every 1 min (the schedule's interval)"
    )
    # the example handler really read each object from the emulated bucket and hashed it
    logs = [json.loads(line) for line in (tmp_path / "function.log").read_text().splitlines()]
    hashed = sorted(r["key"] for r in logs if r.get("message") == "object processed")
    assert hashed == [f"uploads/sim-{i:04d}{'.jpg' if i % 2 == 0 else '.png'}" for i in range(6)]
    assert {r["size"] for r in logs if r.get("message") == "object processed"} == {1024}
    assert {r["function_name"] for r in logs if "function_name" in r} == {"s3ep-dev-processor"}
    page = (tmp_path / "timeline.html").read_text()
    assert page.count("<rect ") == 6 and "Queue depth" in page


def test_failure_injection_sends_the_failing_keys_to_the_dlq_after_max_receive_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the dev stack keeps max_receive_count 5; --retry-delay 0 compresses its 30 s retry delay
    code, s = run_json(
        capsys,
        "--stack", "dev", "--objects", "5", "--fail-keys", "*sim-0001*", "--retry-delay", "0",
        "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, s["violations"]
    assert (s["matched"], s["processed"], s["dead_lettered"], s["lost"]) == (5, 4, 1, 0)
    assert s["retried"] == 4  # the failing key was tried max_receive_count (5) times
    assert s["failures"] == {"InjectedFailure": 5}
    # the function's log (a second run in this process: loggers from the first import still
    # write to it) has the handler's lines and the shim's error record for each failure
    logs = [json.loads(line) for line in (tmp_path / "function.log").read_text().splitlines()]
    assert len([r for r in logs if r.get("message") == "object processed"]) == 4
    assert [r["key"] for r in logs if r.get("logger") == "s3ep_shim"] == [
        "uploads/sim-0001.png"
    ] * 5
    assert (
        "dispatch.failed_retry_delay_seconds: declared 30 s, simulated 0 s (--retry-delay)"
        in s["deviations"]
    )


def write_stack(root: Path, function: str, handler_source: str | None = None) -> None:
    (root / "stacks").mkdir()
    (root / "stacks" / "Pulumi.t.yaml").write_text(
        textwrap.dedent(
            """\
            config:
              s3ep:processor:
                name_prefix: sim-t
                bucket: {prefixes: [in/], suffixes: [.txt]}
                queue: {max_receive_count: 2}
                dispatch:
                  engine: step_functions
                  max_concurrency: 2
                  batch_size: 1
                  receive_wait_seconds: 0
                  failed_retry_delay_seconds: 0
            """
        )
        + textwrap.indent(function, "    ")
    )
    if handler_source is not None:
        (root / "fn").mkdir()
        (root / "fn" / "app.py").write_text(textwrap.dedent(handler_source))


FUNCTION = "function: {source_dir: fn, handler: app.handler, timeout: 1, runtime: python3.11}\n"


def test_a_call_past_the_timeout_or_that_kills_its_runtime_fails_as_lambda_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(
        tmp_path,
        FUNCTION,
        """\
        import os, time
        def handler(event, context):
            assert os.environ["S3EP_HANDLER"] == "app.handler"
            assert 0 < context.get_remaining_time_in_millis() <= 1000
            key = event["s3_details"]["key"]
            if key.endswith("slow.txt"):
                time.sleep(1.5)
            if key.endswith("exit.txt"):
                os._exit(3)
            return {"statusCode": 200, "request": context.aws_request_id}
        """,
    )
    monkeypatch.chdir(tmp_path)
    files = write_files(tmp_path, ("a.txt", "b.txt", "slow.txt", "exit.txt"))
    code, s = run_json(capsys, "--stack", "t", "--from-dir", str(files))
    assert code == 0, s["violations"]
    # each bad key is tried max_receive_count (2) times, its environment killed or gone each time
    assert (s["matched"], s["processed"], s["dead_lettered"], s["lost"]) == (4, 2, 2, 0)
    assert s["failures"] == {"Sandbox.Timedout": 2, "Runtime.ExitError": 2}
    assert s["ignored"] == 2  # the decoys: in/ with another suffix, and outside in/


def write_files(root: Path, names: tuple[str, ...] = ("a.txt", "b.txt", "slow.txt")) -> Path:
    folder = root / "files"
    folder.mkdir()
    for name in names:
        (folder / name).write_text(name)
    return folder


PROBE = """\
    import importlib.util, json, os, sys
    import boto3

    def handler(event, context):
        details = event["s3_details"]
        body = boto3.client("s3").get_object(Bucket=details["bucket"], Key=details["key"])["Body"]
        found = {m: importlib.util.find_spec(m) is not None for m in ("pytest", "moto", "pulumi")}
        print(json.dumps({
            "probe": details["key"], "read": body.read().decode(), "pid": os.getpid(),
            "path": sys.path, "cwd": os.getcwd(), "task_root": os.environ["LAMBDA_TASK_ROOT"],
            "stage": os.environ.get("STAGE"), "boto3": boto3.__file__, "found": found,
            "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "files": sorted(os.listdir()),
        }))
        return {"statusCode": 200}
    """


def test_the_handler_runs_from_its_package_in_a_process_with_only_what_lambda_provides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a handler that reports where it runs, and a declared environment variable
    function = (
        "function: {source_dir: fn, handler: app.handler, timeout: 5, runtime: python3.11,\n"
        "           environment: {STAGE: probe}}\n"
    )
    write_stack(tmp_path, function, PROBE)
    monkeypatch.chdir(tmp_path)
    # WHEN the stack is simulated
    code, s = run_json(capsys, "--stack", "t", "--from-dir", str(write_files(tmp_path)))
    # THEN each object was read from the emulated bucket by a process of its own
    assert code == 0, s["violations"]
    probes = [
        json.loads(line)
        for line in (tmp_path / "out" / "t" / "function.log").read_text().splitlines()
        if line.startswith('{"probe"')
    ]
    assert sorted((p["probe"], p["read"]) for p in probes) == [
        ("in/a.txt", "a.txt"),
        ("in/b.txt", "b.txt"),
        ("in/slow.txt", "slow.txt"),
    ]
    probe = probes[0]
    assert probe["pid"] != os.getpid()
    assert (probe["stage"], probe["function"]) == ("probe", "sim-t-processor")
    # started from the unpacked zip the component built: the package first on the path
    assert probe["cwd"] == probe["task_root"] == probe["path"][0]
    assert probe["files"] == ["app.py", "s3ep_shim.py"]
    # with boto3 from the runtime's folder, and no site-packages: pytest, moto, pulumi are
    # importable in this test but not there
    assert Path(probe["boto3"]).parent.parent == Path(probe["path"][1])
    assert not any("site-packages" in entry for entry in probe["path"])
    assert probe["found"] == {"pytest": False, "moto": False, "pulumi": False}


EXAMPLE = Path(__file__).resolve().parents[2] / "functions" / "process_object"


def test_the_example_without_its_packaged_dependencies_fails_with_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the example function built without its requirements (Powertools not in the zip):
    # it imports in the dev virtualenv, which has Powertools, but not on Lambda
    function = (
        f"function: {{source_dir: {EXAMPLE}, handler: app.handler, package_requirements: false}}\n"
    )
    write_stack(tmp_path, function)
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "--stack", "t", "--objects", "2"]) == 2
    assert capsys.readouterr().err == (
        "error: the function's package has no module 'aws_lambda_powertools' (imported by "
        f"app.py): set function.package_requirements: true to install {EXAMPLE}/requirements.txt,"
        " or set function.layers; the Lambda runtime provides only the standard library and "
        "boto3\n"
    )


def test_with_the_powertools_layer_instead_the_example_runs_and_the_layer_is_a_deviation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    function = (
        f"function: {{source_dir: {EXAMPLE}, handler: app.handler, package_requirements: false,"
        " powertools_layer: true}\n"
    )
    write_stack(tmp_path, function)
    monkeypatch.chdir(tmp_path)
    code, s = run_json(capsys, "--stack", "t", "--objects", "2")
    assert code == 0, s["violations"]
    assert (s["matched"], s["processed"], s["lost"]) == (2, 2, 0)
    version = importlib.metadata.version("aws-lambda-powertools")
    assert (
        f"function.powertools_layer: emulated by the aws-lambda-powertools {version} installed "
        "here, not the layer (version 27, Powertools 3.23.0)"
    ) in s["deviations"]


def test_a_handler_that_imports_a_module_of_the_dev_virtualenv_fails_although_it_imports_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a handler that imports pytest, which this virtualenv has and the package has not
    write_stack(tmp_path, FUNCTION, "import pytest\ndef handler(event, context): ...\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path / "fn"))
    assert callable(s3ep_shim.load_handler("app.handler"))  # in this process it imports
    sys.modules.pop("app")
    # WHEN it is simulated THEN it fails as it would on Lambda: one line, exit status 2
    assert main(["simulate", "--stack", "t", "--objects", "2"]) == 2
    assert capsys.readouterr().err == (
        "error: the function's package has no module 'pytest' (imported by app.py): add it to "
        "fn/requirements.txt or set function.layers; the Lambda runtime provides only the "
        "standard library and boto3\n"
    )


@pytest.mark.parametrize(
    ("function", "source", "error"),
    [
        (
            FUNCTION,
            "import no_such_dependency\ndef handler(event, context): ...\n",
            "error: the function's package has no module 'no_such_dependency' (imported by "
            "app.py): add it to fn/requirements.txt or set function.layers; the Lambda runtime "
            "provides only the standard library and boto3\n",
        ),
        (
            FUNCTION,
            "raise RuntimeError('DB_URL is not set')\n",
            "error: handler app.handler: importing it from source_dir fn raised RuntimeError: "
            "DB_URL is not set\n",
        ),
        (
            FUNCTION,
            "def main(event, context): ...\n",
            "error: handler app.handler in source_dir fn: S3EP_HANDLER='app.handler': app has "
            "no function handler\n",
        ),
        (
            "function: {existing_function_arn: 'arn:aws:lambda:us-east-1:123456789012:"
            "function:f'}\n",
            None,
            "error: function.existing_function_arn is set: the stack invokes a function it does "
            "not build, so there is no handler code to run; simulate a stack with "
            "function.source_dir\n",
        ),
    ],
    ids=["import-error", "raises-at-import", "no-such-function", "existing-function"],
)
def test_a_handler_or_stack_that_cannot_run_is_one_line_and_exit_2(
    function: str,
    source: str | None,
    error: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_stack(tmp_path, function, source)
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "--stack", "t", "--objects", "2"]) == 2
    assert capsys.readouterr().err == error


def test_an_unknown_stack_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--stack", "staging"]) == 2
    assert capsys.readouterr().err == (
        "error: unknown stack 'staging': no stacks/Pulumi.staging.yaml (stacks here: dev, prod)\n"
    )


def test_a_missing_source_dir_names_the_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, FUNCTION)  # no fn/ folder
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "--stack", "t"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: stacks/Pulumi.t.yaml: 1 configuration problem(s):\n")
    assert "  - function.source_dir: folder 'fn' does not exist" in err


def test_a_report_that_is_neither_html_nor_svg_is_refused_before_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulate", "--stack", "dev", "--report", "t.png"]) == 2
    assert capsys.readouterr().err == (
        "error: --report t.png: write .html (summary and timeline) or .svg\n"
    )


MAPPING_STACK = """\
    config:
      s3ep:processor:
        name_prefix: sim-m
        bucket: {prefixes: [in/], suffixes: [.txt]}
        queue: {max_receive_count: 2}
        dispatch: {max_concurrency: 3, batch_size: 4}
        function: {source_dir: fn, handler: app.handler, timeout: 2, runtime: python3.11}
    """
MAPPING_HANDLER = """\
    def handler(event, context):
        key = event["s3_details"]["key"]
        return {"statusCode": 500 if key.endswith("0003.txt") else 200, "key": key}
    """


def test_a_stack_on_the_event_source_mapping_engine_simulates_with_the_same_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a stack without a rate (the event source mapping engine) whose handler refuses one
    # key, and an injected failure for another
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.m.yaml").write_text(textwrap.dedent(MAPPING_STACK))
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text(textwrap.dedent(MAPPING_HANDLER))
    monkeypatch.chdir(tmp_path)
    # WHEN it is simulated, the queue's visibility (the mapping's retry delay) compressed to 1 s
    code, s = run_json(
        capsys,
        "--stack", "m", "--objects", "10", "--fail-keys", "*sim-0001*", "--retry-delay", "1",
    )  # fmt: skip
    # THEN the counts add up as with the dispatcher: processed, failed to the DLQ, nothing lost
    assert code == 0, s["violations"]
    assert s["engine"] == "event_source_mapping"
    assert (s["matched"], s["processed"], s["dead_lettered"], s["lost"]) == (10, 8, 2, 0)
    # each failing key was tried max_receive_count (2) times, in batches with the others
    assert s["failures"] == {"InjectedFailure": 2, "statusCode 500": 2}
    assert s["retried"] == 2
    assert s["max_in_flight"] <= s["max_concurrency"] == 3
    assert s["executions"].get("partial", 0) >= 1  # invocations with a partial batch response
    assert 0 < s["cost_per_million"] < 1  # SQS requests only
    assert s["deviations"][0].startswith("the event source mapping's pollers all start at once")
    assert (
        "queue visibility timeout (the mapping's retry delay): declared 12 s, simulated 1 s "
        "(--retry-delay)" in s["deviations"]
    )
