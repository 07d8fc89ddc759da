"""The `s3ep` command, run as a user would run it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ROOT

from s3ep_pulumi.local.cli import SCHEMA_PATH, main, schema_text


def test_committed_schema_matches_the_model() -> None:
    committed = (ROOT / SCHEMA_PATH).read_text()
    assert committed == schema_text(), "run `make schema` and commit the result"


def test_schema_describes_every_section() -> None:
    schema = json.loads(schema_text())
    assert schema["title"] == "s3ep:processor"
    assert schema["required"] == ["name_prefix"]
    assert set(schema["properties"]) == {
        "name_prefix",
        "tags",
        "bucket",
        "queue",
        "dispatch",
        "function",
        "security",
        "monitoring",
        "backfill",
    }
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_synth_prints_the_resource_tree_and_writes_the_definition(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "--stack", stack, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "aws:sfn/stateMachine:StateMachine" in out
    assert (
        "state_machine_arn = arn:aws:states:us-east-1:123456789012:"
        f"stateMachine:s3ep-{stack}-dispatcher" in out
    )
    definition = json.loads((tmp_path / "state-machine.asl.json").read_text())
    assert definition["StartAt"] == "Init"
    assert (tmp_path / "state-machine.mmd").read_text().startswith("stateDiagram-v2\n")
    pipeline = (tmp_path / "pipeline.mmd").read_text()
    assert f'Q["SQS queue<br/>s3ep-{stack}-queue"]' in pipeline


def test_synth_of_an_unknown_stack_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["synth", "--stack", "staging"]) == 2
    err = capsys.readouterr().err
    assert (
        err == "error: unknown stack 'staging': no stacks/Pulumi.staging.yaml "
        "(stacks here: dev, prod)\n"
    )


def test_synth_of_an_invalid_stack_lists_every_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(
        "config:\n  s3ep:processor:\n    name_prefix: Bad\n    dispatch: {batch_size: 20}\n"
        "    function:\n"
        "      existing_function_arn: 'arn:aws:lambda:us-east-1:123456789012:function:f'\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["synth", "--stack", "bad"]) == 2
    assert capsys.readouterr().err == (
        "error: stacks/Pulumi.bad.yaml: 2 configuration problem(s):\n"
        "  - name_prefix: String should match pattern '^[a-z][a-z0-9-]*[a-z0-9]$'\n"
        "  - dispatch.batch_size: Input should be less than or equal to 10\n"
    )


def test_configuration_reference_is_generated_from_the_model() -> None:
    from s3ep_pulumi.local.docgen import OUT, render

    assert (ROOT / OUT).read_text() == render(), "run `make docs` and commit the result"


def test_dispatch_doc_shows_the_generated_state_machine_of_the_dev_stack(tmp_path: Path) -> None:
    assert main(["synth", "--stack", "dev", "--out", str(tmp_path)]) == 0
    diagram = (tmp_path / "state-machine.mmd").read_text()
    assert f"```mermaid\n{diagram}```" in (ROOT / "docs" / "dispatch.md").read_text()
