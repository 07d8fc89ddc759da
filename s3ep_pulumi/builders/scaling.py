"""Provisioned concurrency scaled on queue depth: the Application Auto Scaling target tracking
configuration, as a pure function of names. docs/operations.md explains the signal.

The signal is the queue's backlog per provisioned instance in use:

    visible / max(in_use, 1)

`visible` is the queue's ApproximateNumberOfMessagesVisible; `in_use` is the alias's
ProvisionedConcurrentExecutions (the provisioned instances busy with an invocation). Target
tracking sets capacity = current capacity x signal / target. While there is a backlog the
dispatcher keeps every provisioned instance busy (spill-over runs on demand), so `in_use` equals
the current capacity and the new capacity is visible / messages_per_instance, as promised. With no
backlog the signal is 0 and capacity falls to the minimum. Lambda publishes no metric of the
allocated capacity itself, which is why the busy instances stand in for it.
"""

from __future__ import annotations

from typing import Any

SERVICE_NAMESPACE = "lambda"
SCALABLE_DIMENSION = "lambda:function:ProvisionedConcurrency"
POLICY_TYPE = "TargetTrackingScaling"
# SQS and Lambda publish these metrics once a minute: a faster reaction only sees the same point.
SCALE_OUT_COOLDOWN_SECONDS = 60
# Keep warm instances for a while after a burst; a scale-in that is reversed a minute later pays
# the provisioning time twice.
SCALE_IN_COOLDOWN_SECONDS = 300
METRIC_PERIOD_SECONDS = 60
SIGNAL_ID = "backlog_per_instance"
SIGNAL_EXPRESSION = "visible / IF(busy < 1, 1, busy)"


def resource_id(function_name: str, alias: str) -> str:
    """Application Auto Scaling's id of an alias's provisioned concurrency."""
    return f"function:{function_name}:{alias}"


def signal_queries(queue_name: str, function_name: str, alias: str) -> list[dict[str, Any]]:
    """The metric-math queries of the signal (snake_case, as pulumi-aws takes them)."""

    def stat(metric: str, namespace: str, dimensions: dict[str, str], statistic: str) -> Any:
        return {
            "metric": {
                "namespace": namespace,
                "metric_name": metric,
                "dimensions": [{"name": k, "value": v} for k, v in dimensions.items()],
            },
            "stat": statistic,
        }

    return [
        {
            "id": "visible",
            "metric_stat": stat(
                "ApproximateNumberOfMessagesVisible",
                "AWS/SQS",
                {"QueueName": queue_name},
                "Average",
            ),
            "return_data": False,
        },
        {
            "id": "in_use",
            "metric_stat": stat(
                "ProvisionedConcurrentExecutions",
                "AWS/Lambda",
                {"FunctionName": function_name, "Resource": f"{function_name}:{alias}"},
                "Maximum",
            ),
            "return_data": False,
        },
        # An idle function publishes no ProvisionedConcurrentExecutions; count that as 0 busy.
        {"id": "busy", "expression": "FILL(in_use, 0)", "return_data": False},
        {
            "id": SIGNAL_ID,
            "expression": SIGNAL_EXPRESSION,
            "label": "Visible messages per provisioned instance",
            "return_data": True,
        },
    ]


def target_tracking(
    queue_name: str, function_name: str, alias: str, messages_per_instance: int
) -> dict[str, Any]:
    """`target_tracking_scaling_policy_configuration` for `aws.appautoscaling.Policy`."""
    return {
        "target_value": float(messages_per_instance),
        "scale_in_cooldown": SCALE_IN_COOLDOWN_SECONDS,
        "scale_out_cooldown": SCALE_OUT_COOLDOWN_SECONDS,
        "customized_metric_specification": {
            "metrics": signal_queries(queue_name, function_name, alias),
        },
    }
