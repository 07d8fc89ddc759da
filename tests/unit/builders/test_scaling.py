"""Provisioned concurrency scaled on queue depth: published function, alias, the dispatcher on
the alias, and a target tracking policy on the backlog per provisioned instance."""

from __future__ import annotations

from helpers import config, evaluate

from s3ep_pulumi.builders import scaling
from s3ep_pulumi.local.capture import ACCOUNT_ID, REGION, Capture

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:img-processor"
SCALED = {"scale_on_queue_depth": True, "messages_per_instance": 20}


def scaled(**function: object) -> Capture:
    return evaluate(
        config(
            function={
                "source_dir": "functions/process_object",
                "handler": "app.handler",
                **SCALED,
                **function,
            }
        )
    )


def test_scaling_publishes_the_function_and_the_dispatcher_invokes_the_alias() -> None:
    capture = scaled()
    assert capture.one("aws:lambda/function:Function").inputs["publish"] is True
    alias = capture.one("aws:lambda/alias:Alias")
    assert (alias.inputs["name"], alias.inputs["functionVersion"]) == ("live", "1")
    definition = capture.one("aws:sfn/stateMachine:StateMachine").prop("definition")
    lane = definition["States"]["Lanes"]["ItemProcessor"]["States"]
    invoke = lane["Batch"]["ItemProcessor"]["States"]["Invoke"]
    assert invoke["Parameters"]["FunctionName"] == f"{FUNCTION_ARN}:live"


def test_provisioned_concurrency_starts_at_the_minimum_unless_given() -> None:
    pc = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"
    assert (
        scaled(min_provisioned_concurrency=2).one(pc).inputs["provisionedConcurrentExecutions"] == 2
    )
    assert scaled(provisioned_concurrency=4).one(pc).inputs["provisionedConcurrentExecutions"] == 4


def test_scalable_target_is_the_alias_between_min_and_max() -> None:
    target = scaled(min_provisioned_concurrency=2, max_provisioned_concurrency=8).one(
        "aws:appautoscaling/target:Target"
    )
    assert target.inputs == {
        "serviceNamespace": "lambda",
        "scalableDimension": "lambda:function:ProvisionedConcurrency",
        "resourceId": "function:img-processor:live",
        "minCapacity": 2,
        "maxCapacity": 8,
    }


def test_policy_tracks_visible_messages_per_busy_provisioned_instance() -> None:
    policy = scaled().one("aws:appautoscaling/policy:Policy")
    assert policy.inputs["name"] == "img-queue-depth"
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    assert policy.inputs["resourceId"] == "function:img-processor:live"
    tracking = policy.inputs["targetTrackingScalingPolicyConfiguration"]
    assert tracking["targetValue"] == 20
    assert (tracking["scaleOutCooldown"], tracking["scaleInCooldown"]) == (60, 300)
    queries = {q["id"]: q for q in tracking["customizedMetricSpecification"]["metrics"]}
    assert queries["visible"]["metricStat"] == {
        "metric": {
            "namespace": "AWS/SQS",
            "metricName": "ApproximateNumberOfMessagesVisible",
            "dimensions": [{"name": "QueueName", "value": "img-queue"}],
        },
        "stat": "Average",
    }
    assert queries["in_use"]["metricStat"] == {
        "metric": {
            "namespace": "AWS/Lambda",
            "metricName": "ProvisionedConcurrentExecutions",
            "dimensions": [
                {"name": "FunctionName", "value": "img-processor"},
                {"name": "Resource", "value": "img-processor:live"},
            ],
        },
        "stat": "Maximum",
    }
    assert queries["busy"]["expression"] == "FILL(in_use, 0)"
    signal = queries["backlog_per_instance"]
    assert signal["expression"] == "visible / IF(busy < 1, 1, busy)"
    # exactly one query returns data: the signal
    assert [q["id"] for q in queries.values() if q["returnData"]] == ["backlog_per_instance"]


def _desired(capacity: int, visible: float, busy: float, target: float) -> float:
    """Target tracking's rule: capacity x metric / target, with our metric."""
    metric = visible / (1 if busy < 1 else busy)
    return capacity * metric / target


def test_signal_gives_visible_over_target_when_every_instance_is_busy() -> None:
    # 5 provisioned and busy, 300 waiting, 20 per instance: 15 instances wanted
    assert _desired(5, 300, 5, 20) == 15
    # idle function with a backlog (no data point): scale from the current capacity
    assert _desired(1, 60, 0, 20) == 3
    # nothing waiting: down to the minimum
    assert _desired(8, 0, 0, 20) == 0
    assert scaling.SIGNAL_EXPRESSION == "visible / IF(busy < 1, 1, busy)"


def test_no_scaling_without_the_flag(minimal: Capture) -> None:
    assert minimal.of_type("aws:appautoscaling/target:Target") == []
    assert minimal.of_type("aws:appautoscaling/policy:Policy") == []
    assert minimal.of_type("aws:lambda/alias:Alias") == []
    assert minimal.one("aws:lambda/function:Function").inputs["publish"] is False
