"""`s3ep check`: the policy pack and parliament on whole stacks, without the Pulumi CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pulumi_aws as aws
import pytest
from helpers import ROOT, config, evaluate

from s3ep_pulumi import S3EventProcessor
from s3ep_pulumi.local.capture import run_program
from s3ep_pulumi.local.check import evaluate as check
from s3ep_pulumi.local.check import policy_resources
from s3ep_pulumi.local.cli import main
from s3ep_pulumi.local.iam_lint import lint_capture
from s3ep_pulumi.local.synth import synth_stack

COMPONENT = "urn:pulumi:dev::s3ep::s3ep:index:S3EventProcessor"
BROAD = {"Sid": "Broad", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}


def mandatory(capture_violations: list) -> list[tuple[str, str]]:
    return [(v.rule, v.urn.rsplit("::", 1)[1]) for v in capture_violations if v.mandatory]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_pass_every_mandatory_rule_and_lint_clean(stack: str) -> None:
    capture = synth_stack(stack)
    assert mandatory(check(capture)) == []
    assert lint_capture(capture) == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_check_command_passes_on_shipped_stacks(
    stack: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--stack", stack]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith(f"stack {stack}: ")
    assert "0 mandatory" in last and "0 IAM lint finding(s)" in last


def test_resources_carry_the_urn_and_dependencies_the_engine_would_give() -> None:
    capture = evaluate(config())
    resources = {r.name: r for r in policy_resources(capture, outputs=False)}
    block = resources["images-bucket-public-access-block"]
    assert block.urn == (
        f"{COMPONENT}$aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock::"
        "images-bucket-public-access-block"
    )
    assert [d.name for d in block.property_dependencies["bucket"]] == ["images-bucket"]
    assert block.props["blockPublicAcls"] is True


def test_a_broad_extra_statement_passes_the_model_but_not_the_pack() -> None:
    # GIVEN a user who widens the function's role through the escape hatch
    raw = config(
        function={
            "source_dir": "functions/process_object",
            "handler": "app.handler",
            "extra_policy_statements": [BROAD],
        }
    )
    # WHEN the stack is evaluated and checked
    capture = evaluate(raw)
    # THEN the pack rejects it at the function's policy, and parliament agrees
    assert mandatory(check(capture)) == [
        ("iam-no-wildcard-action", "images-function-policy"),
        ("iam-no-wildcard-resource", "images-function-policy"),
    ]
    (finding,) = lint_capture(capture)
    assert (finding.resource, finding.issue) == ("images-function-policy", "RESOURCE_STAR")


def test_an_unencrypted_queue_next_to_the_component_is_caught() -> None:
    def program() -> None:
        S3EventProcessor("images", config())
        # A queue declared by hand in the same stack, without encryption, policy or DLQ.
        aws.sqs.Queue("side-queue", name="side-queue", sqs_managed_sse_enabled=False)

    capture = run_program(program)
    assert mandatory(check(capture)) == [
        ("sqs-queue-encrypted", "side-queue"),
        ("sqs-queue-tls-only", "side-queue"),
        ("sqs-queue-has-dlq", "side-queue"),
    ]


def test_a_queue_whose_timeout_was_lowered_behind_the_models_back_is_caught() -> None:
    capture = evaluate(config())
    queue = capture.one("aws:sqs/queue:Queue", "images-queue")
    # e.g. a stack transform rewriting the queue after the model validated it
    queue.inputs["visibilityTimeoutSeconds"] = 60.0
    queue.state["visibilityTimeoutSeconds"] = 60.0
    (violation,) = [v for v in check(capture) if v.mandatory]
    assert violation.rule == "sqs-visibility-covers-dispatcher"
    assert violation.message == (
        "visibilityTimeoutSeconds 60 is below 2602, the longest its dispatcher images-dispatcher "
        "may hold a message"
    )


BAD_STACK = """config:
  s3ep:processor:
    name_prefix: bad
    dispatch: {{engine: step_functions}}
    function:
      source_dir: {root}/functions/process_object
      handler: app.handler
      extra_policy_statements:
        - {{Effect: Allow, Action: 's3:*', Resource: '*'}}
"""


MAPPING_STACK = """config:
  s3ep:processor:
    name_prefix: esm
    dispatch: {{engine: event_source_mapping, max_concurrency: 20, batch_size: 5}}
    security:
      create_kms_key: true
      permissions_boundary_arn: arn:aws:iam::123456789012:policy/boundary
    function:
      source_dir: {root}/functions/process_object
      handler: app.handler
"""


def test_check_passes_a_stack_on_the_event_source_mapping_engine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a stack whose queue is drained by the event source mapping (with the component's key)
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.esm.yaml").write_text(MAPPING_STACK.format(root=ROOT))
    monkeypatch.chdir(tmp_path)
    # WHEN it is checked; THEN every rule of the pack passes and parliament finds nothing
    assert main(["check", "--stack", "esm"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].endswith(
        "0 mandatory and 0 advisory violation(s), 0 IAM lint finding(s)"
    ), out
    capture = synth_stack("esm")
    assert capture.one("aws:lambda/eventSourceMapping:EventSourceMapping").inputs[
        "functionResponseTypes"
    ] == ["ReportBatchItemFailures"]
    assert "event_source_mapping_uuid" in capture.outputs
    assert "state_machine_arn" not in capture.outputs


def test_check_command_fails_on_a_bad_stack_and_prints_urn_and_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(BAD_STACK.format(root=ROOT))
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--stack", "bad"]) == 1
    out = capsys.readouterr().out
    assert (
        "MANDATORY iam-no-wildcard-action  urn:pulumi:bad::s3ep::s3ep:index:S3EventProcessor"
        "$aws:iam/rolePolicy:RolePolicy::bad-function-policy\n"
        "          statement (no Sid) allows s3:*\n"
        "          fix: list the exact actions the role needs "
        "(s3ep: function.extra_policy_statements)\n"
    ) in out
    assert "IAM-LINT  RESOURCE_STAR  bad-function-policy" in out
    assert out.splitlines()[-1].endswith(
        "2 mandatory and 5 advisory violation(s), 1 IAM lint finding(s)"
    )


def test_policy_config_tunes_levels_as_pulumi_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "policy-config.json"
    settings.write_text(
        json.dumps(
            {
                "iam-permissions-boundary": "disabled",
                "log-group-kms": {"enforcementLevel": "mandatory"},
            }
        )
    )
    assert main(["check", "--stack", "dev", "--policy-config", str(settings)]) == 1
    out = capsys.readouterr().out
    assert "iam-permissions-boundary" not in out
    assert out.splitlines()[-1] == (
        "stack dev: 49 resources, 2 mandatory and 0 advisory violation(s), 0 IAM lint finding(s)"
    )


def test_policy_config_naming_an_unknown_rule_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = tmp_path / "policy-config.json"
    settings.write_text(json.dumps({"no-such-rule": "advisory"}))
    assert main(["check", "--stack", "dev", "--policy-config", str(settings)]) == 2
    assert capsys.readouterr().err == "error: policy config: unknown rule(s) no-such-rule\n"


def test_the_pack_loads_its_rules_without_pulumi_aws() -> None:
    code = (
        "import sys; import s3ep_pulumi.policy as rules; "
        "print(len(rules.POLICIES), 'pulumi_aws' in sys.modules, 'pydantic' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out == "38 False False\n"


# What the policy package may import of s3ep_pulumi; everything else must be the standard library
# or what pulumi_policy itself loads (pulumi, grpc, protobuf).
POLICY_MAY_IMPORT = {
    "s3ep_pulumi",
    "s3ep_pulumi.model",
    "s3ep_pulumi.model.security",
    "s3ep_pulumi.model.limits",
}


def test_the_policy_package_imports_only_pulumi_policy_the_stdlib_and_model_facts() -> None:
    code = (
        "import sys; import pulumi_policy; before = set(sys.modules); "
        "import s3ep_pulumi.policy; print(*sorted(set(sys.modules) - before))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = [
        m
        for m in loaded
        if m.split(".")[0] not in sys.stdlib_module_names
        and m not in POLICY_MAY_IMPORT
        and m.split(".")[:2] != ["s3ep_pulumi", "policy"]
    ]
    assert outside == []
    assert "s3ep_pulumi.policy.iam" in loaded  # the import really ran


def test_pack_files_are_complete() -> None:
    assert (
        (ROOT / "policy" / "PulumiPolicy.yaml").read_text().startswith("runtime:\n  name: python")
    )
    assert "pulumi-policy" in (ROOT / "policy" / "requirements.txt").read_text()
    assert "PolicyPack(" in (ROOT / "policy" / "__main__.py").read_text()


def test_security_doc_tables_are_generated_from_the_code() -> None:
    from s3ep_pulumi.local.security_docs import OUT, render

    text = (ROOT / OUT).read_text()
    assert text == render(text), "run `make docs` and commit the result"
    assert text.count('<a id="') == 38


@pytest.mark.parametrize(
    ("stack", "advisories"),
    # prod's log groups use its customer key (security.kms_key_arn): no log-group-kms advisory
    [("dev", {"log-group-kms", "iam-permissions-boundary"}), ("prod", set())],
)
def test_shipped_stacks_advisory_findings_are_the_documented_ones(
    stack: str, advisories: set[str]
) -> None:
    assert {v.rule for v in check(synth_stack(stack))} == advisories


def test_check_warns_of_the_account_prerequisites_the_config_shows_without_failing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN prod: reserved concurrency, scaling, a VPC, and an existing bucket's notifications
    # WHEN it is checked
    assert main(["check", "--stack", "prod"]) == 0
    # THEN each prerequisite is one WARN line, and the exit status is still the pack's
    warnings = [line for line in capsys.readouterr().out.splitlines() if line.startswith("WARN")]
    assert [line.split()[1] for line in warnings] == [
        "reserved-concurrency",
        "scaling-service-linked-role",
        "vpc-route-to-s3",
        "bucket-notifications-replaced",
    ]
    assert "acme-prod-ingest" in warnings[3]


def test_check_warns_of_nothing_on_dev(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--stack", "dev"]) == 0
    assert not any(line.startswith("WARN") for line in capsys.readouterr().out.splitlines())


def test_a_standard_dispatchers_two_state_machines_pass_every_rule_and_lint_clean() -> None:
    from helpers import config, evaluate

    def found(workflow_type: str) -> tuple[list[str], set[tuple[str, str]]]:
        capture = evaluate(config(dispatch={"workflow_type": workflow_type}))
        assert lint_capture(capture) == []
        machines = [m.name for m in capture.of_type("aws:sfn/stateMachine:StateMachine")]
        return machines, {(v.rule, v.urn.rsplit("::", 1)[1]) for v in check(capture)}

    (express_machines, express), (standard_machines, standard) = found("EXPRESS"), found("STANDARD")
    assert express_machines == ["images-dispatcher"]
    assert standard_machines == ["images-dispatcher-run", "images-dispatcher"]
    # logging and tracing rules pass for both machines; the run's role and log group get the
    # same advisories as the dispatcher's (no permissions boundary, no key configured here)
    assert not {rule for rule, _ in standard if rule.startswith("sfn-")}
    assert standard - express == {
        ("iam-permissions-boundary", "images-dispatcher-run-role"),
        ("log-group-kms", "images-dispatcher-run-logs"),
    }
