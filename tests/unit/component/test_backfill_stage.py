"""The backfill stage: declared only with `backfill.enabled`, with its own least-privilege role."""

from __future__ import annotations

from helpers import MINIMAL, config, evaluate

from s3ep_pulumi.builders.iam import LOG_DELIVERY_ACTIONS, XRAY_ACTIONS
from s3ep_pulumi.local.check import evaluate as check
from s3ep_pulumi.local.iam_lint import lint_capture

MACHINE = "aws:sfn/stateMachine:StateMachine"


def test_no_backfill_machine_by_default() -> None:
    capture = evaluate(MINIMAL)
    assert [m.inputs["name"] for m in capture.of_type(MACHINE)] == ["img-dispatcher"]
    assert "img-backfill-role" not in [
        r.inputs["name"] for r in capture.of_type("aws:iam/role:Role")
    ]


def test_enabled_backfill_declares_a_standard_distributed_map_and_its_role() -> None:
    capture = evaluate(
        config(bucket={"prefixes": ["uploads/"]}, backfill={"enabled": True, "max_concurrency": 4})
    )
    machine = capture.one(MACHINE, "images-backfill")
    assert machine.inputs["name"] == "img-backfill" and machine.inputs["type"] == "STANDARD"
    enqueue = machine.prop("definition")["States"]["Enqueue"]
    assert enqueue["ItemReader"]["Parameters"]["Bucket"] == "img-123456789012-us-east-1-an"
    assert enqueue["MaxConcurrency"] == 4
    role = capture.one("aws:iam/role:Role", "images-backfill-role")
    assert role.inputs["name"] == "img-backfill-role"
    trust = role.prop("assumeRolePolicy")["Statement"][0]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":stateMachine:img-backfill")
    policy = capture.one("aws:iam/rolePolicy:RolePolicy", "images-backfill-policy").prop("policy")
    assert {s["Sid"]: (s["Action"], s["Resource"]) for s in policy["Statement"]} == {
        "ListBucket": (["s3:ListBucket"], ["arn:aws:s3:::img-123456789012-us-east-1-an"]),
        "Enqueue": (["sqs:SendMessage"], ["arn:aws:sqs:us-east-1:123456789012:img-queue"]),
        "StartChildren": (
            ["states:StartExecution"],
            ["arn:aws:states:us-east-1:123456789012:stateMachine:img-backfill"],
        ),
        "WatchChildren": (
            ["states:DescribeExecution", "states:StopExecution"],
            [
                "arn:aws:states:us-east-1:123456789012:execution:img-backfill/*:*",
                "arn:aws:states:us-east-1:123456789012:express:img-backfill/*:*:*",
            ],
        ),
        "Tracing": (XRAY_ACTIONS, ["*"]),
        "LogDelivery": (LOG_DELIVERY_ACTIONS, ["*"]),
    }
    logging = machine.inputs["loggingConfiguration"]
    assert logging["level"] == "ERROR" and logging["includeExecutionData"] is False
    group = capture.one("aws:cloudwatch/logGroup:LogGroup", "images-backfill-logs")
    assert group.inputs["name"] == "/aws/vendedlogs/states/img-backfill"


def test_a_stack_with_backfill_passes_the_policy_pack_and_the_iam_lint() -> None:
    capture = evaluate(config(backfill={"enabled": True}))
    mandatory = [v for v in check(capture, {}) if v.mandatory]
    assert mandatory == []
    assert lint_capture(capture) == []
