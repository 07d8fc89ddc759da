"""`s3ep simulate`, end to end: the shipped dev stack in moto with its own example handler, failure
injection, and the inputs it must refuse with one line and exit status 2."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from s3ep_pulumi.local.cli import main

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


def test_a_call_past_the_timeout_fails_as_sandbox_timedout_and_ends_in_the_dlq(
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
            if event["s3_details"]["key"].endswith("slow.txt"):
                time.sleep(1.5)
            return {"statusCode": 200, "request": context.aws_request_id}
        """,
    )
    monkeypatch.chdir(tmp_path)
    code, s = run_json(capsys, "--stack", "t", "--from-dir", str(write_files(tmp_path)))
    assert code == 0, s["violations"]
    assert (s["matched"], s["processed"], s["dead_lettered"], s["lost"]) == (3, 2, 1, 0)
    assert s["failures"] == {"Sandbox.Timedout": 2}
    assert s["ignored"] == 2  # the decoys: in/ with another suffix, and outside in/


def write_files(root: Path) -> Path:
    folder = root / "files"
    folder.mkdir()
    for name in ("a.txt", "b.txt", "slow.txt"):
        (folder / name).write_text(name)
    return folder


@pytest.mark.parametrize(
    ("function", "source", "error"),
    [
        (
            FUNCTION,
            "import no_such_dependency\ndef handler(event, context): ...\n",
            "error: handler app.handler: cannot import it from source_dir fn: No module named "
            "'no_such_dependency' (a module missing from the folder, or a dependency not "
            "installed here)\n",
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
