"""The processor's CloudWatch alarms, as a pure function of the config and resource names.

`alarm_specs` returns one dict per alarm, keyed like `aws.cloudwatch.MetricAlarm`'s arguments
(snake_case) plus `key`, the alarm's short name. Every description says what the alarm means
and what to do first, and points at its runbook section in docs/operations.md. The component
adds the actions (the SNS topic) and tags; nothing else about an alarm is decided there.

Dimension values may be strings or, inside the component, `pulumi.Output`s of strings (the
state machine ARN is only known once region and account are); this module never looks at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s3ep_pulumi.model import limits
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.monitoring import AlarmSettings

Spec = dict[str, Any]
RUNBOOK = "docs/operations.md"
AT_OR_ABOVE = "GreaterThanOrEqualToThreshold"


@dataclass(frozen=True)
class AlarmTargets:
    """The names (and one ARN) that alarm dimensions refer to."""

    queue: str
    dlq: str
    rule_dlq: str
    function_dlq: str | None  # None for an existing function: the component made no DLQ
    rule: str
    function: str
    state_machine_arn: Any  # str, or a pulumi Output of one; None with the event source mapping
    # STANDARD: the EXPRESS state machine the parent runs each round (str or Output), else None
    run_state_machine_arn: Any = None


def _spec(
    key: str,
    settings: AlarmSettings,
    *,
    namespace: str,
    metric: str,
    dimensions: dict[str, Any],
    stat: str,
    threshold: float,
    meaning: str,
    first_step: str,
    names_prefix: str,
) -> Spec:
    description = f"{meaning} First: {first_step} Runbook: {RUNBOOK}#{key}"
    assert len(description) <= limits.ALARM_DESCRIPTION_MAX, key
    spec: Spec = {
        "key": key,
        "name": f"{names_prefix}-{key}",
        "alarm_description": description,
        "namespace": namespace,
        "metric_name": metric,
        "dimensions": dimensions,
        "period": settings.period_seconds,
        "evaluation_periods": settings.evaluation_periods,
        "threshold": threshold,
        "comparison_operator": AT_OR_ABOVE,
        "treat_missing_data": settings.treat_missing_data,
    }
    # Percentiles are "extended statistics" in the PutMetricAlarm API.
    spec["extended_statistic" if stat.startswith("p") else "statistic"] = stat
    if settings.datapoints_to_alarm is not None:
        spec["datapoints_to_alarm"] = settings.datapoints_to_alarm
    return spec


def alarm_specs(args: S3EventProcessorArgs, t: AlarmTargets) -> list[Spec]:
    """Every enabled alarm of this processor, in pipeline order (rule -> queue -> dispatcher ->
    function). Empty when alarms are off."""
    a = args.monitoring.alarms
    if not a.enabled:
        return []
    prefix = args.name_prefix
    timeout_ms = args.budget.lambda_timeout_seconds * 1000
    duration_ms = round(timeout_ms * a.function_duration.threshold / 100)

    def spec(key: str, settings: AlarmSettings, **kw: Any) -> Spec | None:
        if not settings.enabled:
            return None
        kw.setdefault("threshold", settings.threshold)
        return _spec(key, settings, names_prefix=prefix, **kw)

    # Which engine drains the queue: its alarms, and who the queue and function alarms blame.
    mapping = not args.dispatch.uses_dispatcher
    drainer = "the event source mapping" if mapping else "the dispatcher"
    sqs = {"namespace": "AWS/SQS", "stat": "Maximum"}
    lam = {"namespace": "AWS/Lambda", "dimensions": {"FunctionName": t.function}}
    sfn = {"namespace": "AWS/States", "dimensions": {"StateMachineArn": t.state_machine_arn}}
    rule = {"namespace": "AWS/Events", "dimensions": {"RuleName": t.rule}, "stat": "Sum"}
    dlqs = [
        (
            "dlq-messages",
            t.dlq,
            "Messages failed max_receive_count times (or were not S3 events) and were moved "
            "to the dead-letter queue; their objects are not processed.",
            "read one message and the function's errors for its key; fix the cause, then "
            "redrive the DLQ to the queue.",
        ),
        (
            "rule-dlq-messages",
            t.rule_dlq,
            "EventBridge could not deliver S3 events to the queue and parked them in the rule "
            "DLQ; those objects were never queued.",
            "check the queue policy and the queue's KMS key policy (events.amazonaws.com must be "
            "allowed), then resend the parked events.",
        ),
    ]
    if t.function_dlq is not None:
        dlqs.append(
            (
                "function-dlq-messages",
                t.function_dlq,
                "An asynchronous invocation of the function failed (not one of the "
                "dispatcher's: those stay in the queue).",
                "find who invokes the function asynchronously and read its errors.",
            )
        )
    specs = [
        spec(
            "rule-failed-invocations",
            a.rule_failed_invocations,
            metric="FailedInvocations",
            meaning="EventBridge failed permanently to deliver S3 events to the queue.",
            first_step="check the queue policy (this rule may send) and the queue's KMS key "
            "policy; look for events in the rule DLQ.",
            **rule,
        ),
        spec(
            "rule-dlq-delivery-failures",
            a.rule_failed_invocations,
            metric="InvocationsFailedToBeSentToDlq",
            meaning="EventBridge could neither deliver S3 events to the queue nor park them in "
            "the rule DLQ: those events are lost.",
            first_step="check the rule DLQ's queue policy and KMS key; list the bucket's recent "
            "objects to reprocess them.",
            **rule,
        ),
        spec(
            "queue-depth",
            a.queue_depth,
            metric="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": t.queue},
            meaning=f"Messages are piling up in the queue: {drainer} is not keeping up or "
            "not running.",
            first_step=(
                "check the event source mapping is Enabled (aws lambda get-event-source-mapping) "
                "and function throttles and errors."
                if mapping
                else "on the dashboard, check dispatcher executions (are pollers starting?) and "
                "function throttles and errors."
            ),
            **sqs,
        ),
        spec(
            "queue-oldest-message-age",
            a.oldest_message_age,
            metric="ApproximateAgeOfOldestMessage",
            dimensions={"QueueName": t.queue},
            meaning="The oldest message has waited too long: work is stuck or falling behind.",
            first_step=(
                "check the event source mapping's State and LastProcessingResult and whether "
                "one message fails again and again (function errors, its key in the logs)."
                if mapping
                else "check whether the dispatcher runs (ExecutionsStarted) and whether one "
                "message fails again and again (function errors, its key in the logs)."
            ),
            **sqs,
        ),
        *(
            spec(
                key,
                a.dlq_messages,
                metric="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": queue},
                meaning=meaning,
                first_step=first_step,
                **sqs,
            )
            for key, queue, meaning, first_step in dlqs
        ),
        # The dispatcher's alarms: none with the event source mapping (no state machine).
        *(
            spec(
                key,
                settings,
                metric=metric,
                stat="Sum",
                meaning=meaning,
                first_step=first_step,
                **sfn,
            )
            for key, settings, metric, meaning, first_step in (
                (
                    "dispatcher-executions-failed",
                    a.dispatcher_failed,
                    "ExecutionsFailed",
                    "Dispatcher executions failed (SQS calls or the definition, not the function: "
                    "its failures are caught).",
                    "read the error in the dispatcher's log group.",
                ),
                (
                    "dispatcher-executions-timed-out",
                    a.dispatcher_timed_out,
                    "ExecutionsTimedOut",
                    "Dispatcher executions ran past their time limit; messages they held become "
                    "visible again and are retried.",
                    "compare ExecutionTime with dispatch.max_execution_seconds and the "
                    "function's duration.",
                ),
                # STANDARD only: EXPRESS executions cannot be stopped, so the metric is empty.
                *(
                    [
                        (
                            "dispatcher-executions-aborted",
                            a.dispatcher_aborted,
                            "ExecutionsAborted",
                            "Dispatcher executions were stopped from outside.",
                            "find who called StopExecution (CloudTrail).",
                        )
                    ]
                    if args.dispatch.executions_can_be_aborted
                    else []
                ),
                (
                    "dispatcher-executions-throttled",
                    a.dispatcher_throttled,
                    "ExecutionThrottled",
                    "Step Functions throttled the dispatcher's state transitions.",
                    "check the account's Step Functions quotas in this region.",
                ),
            )
            if not mapping
        ),
        # STANDARD: the runs the parent starts fail and time out on their own (a failed run
        # also fails its parent, RunFailed); their cause is in the run's log group.
        *(
            spec(
                key,
                settings,
                metric=metric,
                stat="Sum",
                meaning=meaning,
                first_step=first_step,
                namespace="AWS/States",
                dimensions={"StateMachineArn": t.run_state_machine_arn},
            )
            for key, settings, metric, meaning, first_step in (
                (
                    "dispatcher-run-executions-failed",
                    a.dispatcher_failed,
                    "ExecutionsFailed",
                    "Runs of the STANDARD dispatcher failed (SQS calls or the definition, not "
                    "the function: its failures are caught); the parent failed with them.",
                    "read the error in the dispatcher run's log group.",
                ),
                (
                    "dispatcher-run-executions-timed-out",
                    a.dispatcher_timed_out,
                    "ExecutionsTimedOut",
                    "Runs of the STANDARD dispatcher ran past EXPRESS's 5 minutes; messages they "
                    "held become visible again and are retried.",
                    "compare the run's ExecutionTime with dispatch.max_execution_seconds and "
                    "the function's duration.",
                ),
            )
            if t.run_state_machine_arn is not None
        ),
        spec(
            "function-errors",
            a.function_errors,
            metric="Errors",
            stat="Sum",
            meaning=(
                "The function failed a whole batch (timed out, or the shim itself failed); its "
                "messages are retried after the visibility timeout, then moved to the DLQ."
                if mapping
                else "The function raised or timed out; each failed message is retried after "
                "dispatch.failed_retry_delay_seconds, then moved to the DLQ."
            ),
            first_step="read the function's JSON logs for level ERROR.",
            **lam,
        ),
        spec(
            "function-throttles",
            a.function_throttles,
            metric="Throttles",
            stat="Sum",
            meaning=f"Invocations were refused for lack of concurrency; {drainer} retries "
            "them, but processing slows down.",
            first_step="compare ConcurrentExecutions with reserved concurrency and the "
            "account's limit.",
            **lam,
        ),
        spec(
            "function-duration",
            a.function_duration,
            metric="Duration",
            stat="p99",
            threshold=duration_ms,
            meaning=f"p99 duration reached {a.function_duration.threshold:g}% of the "
            f"{args.budget.lambda_timeout_seconds} s timeout: invocations are about to time out.",
            first_step="check what the function waits on (X-Ray traces); raise its memory or "
            "timeout.",
            **lam,
        ),
    ]
    return [s for s in specs if s is not None]
