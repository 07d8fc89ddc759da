"""Bad input to the operations commands is one line on stderr and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from helpers import MINIMAL

from s3ep_pulumi.local import cli, stack_outputs

COMMANDS = ["redrive", "status", "backfill"]


@pytest.fixture
def stacks(tmp_path: Path) -> Path:
    directory = tmp_path / "stacks"
    directory.mkdir()
    (directory / "Pulumi.ops.yaml").write_text(
        yaml.safe_dump({"config": {"s3ep:processor": MINIMAL}})
    )
    return directory


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return code, err.strip()


@pytest.mark.parametrize("command", COMMANDS)
def test_an_unknown_stack_is_one_line(
    command: str, stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run(capsys, command, "--stack", "nope", "--stacks-dir", str(stacks))
    assert code == 2
    assert err.startswith("error: unknown stack 'nope': no ") and "(stacks here: ops)" in err


@pytest.mark.parametrize("command", COMMANDS)
def test_no_pulumi_cli_and_no_outputs_file_is_one_line(
    command: str, stacks: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_outputs.shutil, "which", lambda name: None)
    code, err = run(capsys, command, "--stack", "ops", "--stacks-dir", str(stacks))
    assert (code, err) == (
        2,
        "error: no Pulumi CLI on PATH to read stack 'ops''s outputs: pass --outputs FILE "
        "(from `pulumi stack output --json --stack ops > FILE`)",
    )


def test_an_outputs_file_that_is_not_json_is_one_line(
    stacks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "out.json"
    bad.write_text("queue_url: x")
    code, err = run(
        capsys, "redrive", "--stack", "ops", "--stacks-dir", str(stacks), "--outputs", str(bad)
    )
    assert code == 2 and err.startswith(f"error: --outputs {bad}: not JSON")


def test_a_stack_without_a_dlq_output_is_one_line(
    stacks: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "out.json"
    outputs.write_text(json.dumps({"queue_url": "https://sqs/x"}))
    code, err = run(
        capsys,
        "redrive",
        "--force",
        "--stack",
        "ops",
        "--stacks-dir",
        str(stacks),
        "--outputs",
        str(outputs),
    )
    assert (code, err) == (
        2,
        "error: stack 'ops' has no output 'dlq_url' (outputs: queue_url); deploy it with "
        "`pulumi up` first",
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_no_credentials_is_one_line(
    command: str,
    stacks: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    outputs = tmp_path / "out.json"
    outputs.write_text(
        json.dumps(
            {
                "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/img-queue",
                "dlq_url": "https://sqs.us-east-1.amazonaws.com/123456789012/img-dlq",
                "dlq_arn": "arn:aws:sqs:us-east-1:123456789012:img-dlq",
                "bucket_name": "img-bucket",
                "state_machine_arn": "arn:aws:states:us-east-1:123456789012:stateMachine:x",
            }
        )
    )
    code, err = run(
        capsys, command, "--stack", "ops", "--stacks-dir", str(stacks), "--outputs", str(outputs)
    )
    assert code == 2
    assert err.startswith("error: no AWS credentials: set AWS_PROFILE")


def test_outputs_come_from_the_automation_api_where_the_pulumi_cli_exists(
    stacks: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi import automation

    asked: list[tuple[str, str]] = []

    class Stack:
        def outputs(self) -> dict[str, automation.OutputValue]:
            return {"queue_url": automation.OutputValue("https://sqs/q", False)}

    def select_stack(stack_name: str, work_dir: str) -> Stack:
        asked.append((stack_name, work_dir))
        return Stack()

    monkeypatch.setattr(stack_outputs.shutil, "which", lambda name: "/usr/local/bin/pulumi")
    monkeypatch.setattr(automation, "select_stack", select_stack)
    deployed = stack_outputs.load("ops", None, stacks)
    assert deployed.outputs == {"queue_url": "https://sqs/q"}
    assert asked == [("ops", str(stacks.parent))]
    assert deployed.names.rule_dlq == "img-rule-dlq"


def test_a_stack_pulumi_does_not_know_is_one_line(
    stacks: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pulumi import automation

    def select_stack(stack_name: str, work_dir: str) -> None:
        raise automation.errors.CommandError(
            automation.CommandResult("", "error: no stack named 'ops' found", 255)
        )

    monkeypatch.setattr(stack_outputs.shutil, "which", lambda name: "/usr/local/bin/pulumi")
    monkeypatch.setattr(automation, "select_stack", select_stack)
    code, err = run(capsys, "status", "--stack", "ops", "--stacks-dir", str(stacks))
    assert code == 2
    assert err == "error: pulumi cannot read stack 'ops': no stack named 'ops' found"
