"""The dispatcher's Amazon States Language definition, generated from Python dicts.

One execution runs rounds until the queue is empty or its round budget is spent:

    Receive -> AnyMessages? -> Dispatch (Map, MaxConcurrency) -> NextRound? -> Receive ...

Each Map iteration handles one message:

    Pace (Wait, only with a rate limit) -> IsS3Event? -> Invoke -> Succeeded? -> Delete
                                               |            |           `-> (failed: kept)
                                               |            `-> Catch -> (failed: kept)
                                               `-> Quarantine (to DLQ) -> DeleteQuarantined

A failed message is NOT deleted: it becomes visible again after the visibility timeout and the
queue's redrive policy moves it to the DLQ after `max_receive_count` receives.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from s3ep_pulumi import limits
from s3ep_pulumi.config import DispatchConfig
from s3ep_pulumi.event_pattern import BODY_SHAPE

State = dict[str, Any]

# Errors that mean "try again later", not "this message is bad".
TRANSIENT_LAMBDA_ERRORS = [
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.EC2ThrottledException",
    "Lambda.ResourceNotReadyException",
]
TRANSIENT_SDK_ERRORS = ["Sqs.SdkClientException", "Sqs.SqsException", "States.Timeout"]


@dataclass(frozen=True)
class DispatcherTargets:
    """The ARNs and URLs the definition refers to."""

    queue_url: str
    dlq_url: str
    function_arn: str


def pacing_delays(batch_size: int, rate_per_second: float | None) -> list[int]:
    """Whole seconds each of a batch's messages waits before its invocation starts.

    Step Functions waits in whole seconds, so with a rate limit R the i-th message of a batch
    starts floor(i / R) seconds into the round: never more than ceil(R) starts per second.
    Without a rate limit every delay is 0 and only MaxConcurrency bounds the starts.
    """
    if not rate_per_second:
        return [0] * batch_size
    return [math.floor(i / rate_per_second) for i in range(batch_size)]


def round_worst_case_seconds(dispatch: DispatchConfig, invoke_worst_seconds: float) -> int:
    """Longest one round (receive + dispatch of one batch) can take."""
    waves = math.ceil(dispatch.batch_size / dispatch.max_concurrency)
    stagger = max(pacing_delays(dispatch.batch_size, dispatch.rate_per_second))
    return math.ceil(dispatch.receive_wait_seconds + stagger + waves * invoke_worst_seconds)


def max_rounds(dispatch: DispatchConfig, invoke_worst_seconds: float) -> int:
    """Rounds one execution may run so that it always ends within its time budget."""
    budget = dispatch.max_execution_seconds
    if dispatch.workflow_type == "EXPRESS":
        budget = min(budget, limits.EXPRESS_DURATION_MAX_SECONDS - 30)
    return max(1, budget // round_worst_case_seconds(dispatch, invoke_worst_seconds))


def _retry(errors: list[str], attempts: int, interval: int, backoff: float, cap: int) -> State:
    return {
        "ErrorEquals": errors,
        "IntervalSeconds": interval,
        "MaxAttempts": attempts,
        "BackoffRate": backoff,
        "MaxDelaySeconds": cap,
        "JitterStrategy": "FULL",
    }


def _sqs_retry() -> list[State]:
    return [_retry(TRANSIENT_SDK_ERRORS, 3, 1, 2.0, 10)]


def _iteration(
    dispatch: DispatchConfig, targets: DispatcherTargets, function_timeout: int
) -> State:
    """States run for each received message."""
    r = dispatch.retry
    states: dict[str, State] = {}
    if dispatch.rate_per_second:
        states["Pace"] = {"Type": "Wait", "SecondsPath": "$.delay", "Next": "IsS3Event"}
    states |= {
        "IsS3Event": {
            "Type": "Choice",
            "Comment": "Only bodies shaped by the rule's input transformer reach the function.",
            "Choices": [
                {
                    "Variable": "$.message.Body",
                    "StringMatches": BODY_SHAPE,
                    "Next": "Invoke",
                }
            ],
            "Default": "Quarantine",
        },
        "Invoke": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": targets.function_arn,
                "Payload.$": "States.StringToJson($.message.Body)",
            },
            "TimeoutSeconds": function_timeout + 5,
            "ResultSelector": {"payload.$": "$.Payload"},
            "ResultPath": "$.result",
            "Retry": [
                _retry(
                    TRANSIENT_LAMBDA_ERRORS,
                    r.max_attempts,
                    r.interval_seconds,
                    r.backoff_rate,
                    r.max_delay_seconds,
                )
            ],
            "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}],
            "Next": "Succeeded",
        },
        "Succeeded": {
            "Type": "Choice",
            "Comment": "A statusCode >= 400 in the result is a failure, like a raised error.",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.result.payload.statusCode", "IsPresent": True},
                        {"Variable": "$.result.payload.statusCode", "IsNumeric": True},
                        {
                            "Variable": "$.result.payload.statusCode",
                            "NumericGreaterThanEquals": 400,
                        },
                    ],
                    "Next": "FailedStatus",
                }
            ],
            "Default": "Delete",
        },
        "Delete": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sqs:deleteMessage",
            "Parameters": {
                "QueueUrl": targets.queue_url,
                "ReceiptHandle.$": "$.message.ReceiptHandle",
            },
            "ResultSelector": {"deleted": True},
            "Retry": _sqs_retry(),
            "End": True,
        },
        "FailedStatus": {
            "Type": "Pass",
            "Comment": "Kept in the queue: visible again after the visibility timeout.",
            "Parameters": {
                "failed": True,
                "messageId.$": "$.message.MessageId",
                "statusCode.$": "$.result.payload.statusCode",
            },
            "End": True,
        },
        "Failed": {
            "Type": "Pass",
            "Comment": "Kept in the queue: visible again after the visibility timeout.",
            "Parameters": {
                "failed": True,
                "messageId.$": "$.message.MessageId",
                "error.$": "$.error",
            },
            "End": True,
        },
        "Quarantine": {
            "Type": "Task",
            "Comment": "Not an S3 event: park it in the DLQ without invoking the function.",
            "Resource": "arn:aws:states:::aws-sdk:sqs:sendMessage",
            "Parameters": {
                "QueueUrl": targets.dlq_url,
                "MessageBody.$": "$.message.Body",
                "MessageAttributes": {
                    "s3ep-reason": {"DataType": "String", "StringValue": "not an S3 event"}
                },
            },
            "ResultPath": None,
            "Retry": _sqs_retry(),
            "Next": "DeleteQuarantined",
        },
        "DeleteQuarantined": {
            "Type": "Task",
            "Resource": "arn:aws:states:::aws-sdk:sqs:deleteMessage",
            "Parameters": {
                "QueueUrl": targets.queue_url,
                "ReceiptHandle.$": "$.message.ReceiptHandle",
            },
            "ResultSelector": {"quarantined": True},
            "Retry": _sqs_retry(),
            "End": True,
        },
    }
    start = "Pace" if dispatch.rate_per_second else "IsS3Event"
    return {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": start, "States": states}


def definition(
    dispatch: DispatchConfig,
    targets: DispatcherTargets,
    *,
    function_timeout: int,
    invoke_worst_seconds: float,
) -> dict[str, Any]:
    """The whole state machine definition for these targets and settings."""
    rounds = max_rounds(dispatch, invoke_worst_seconds)
    return {
        "Comment": (
            f"s3ep dispatcher: drains the queue into the function, at most "
            f"{dispatch.max_concurrency} in flight"
            + (
                f", at most {dispatch.rate_per_second:g} starts/s"
                if dispatch.rate_per_second
                else ""
            )
            + f", {rounds} rounds per execution."
        ),
        "StartAt": "Init",
        "States": {
            "Init": {
                "Type": "Pass",
                "Parameters": {
                    "round": 0,
                    "delays": pacing_delays(dispatch.batch_size, dispatch.rate_per_second),
                },
                "Next": "Receive",
            },
            "Receive": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sqs:receiveMessage",
                "Parameters": {
                    "QueueUrl": targets.queue_url,
                    "MaxNumberOfMessages": dispatch.batch_size,
                    "WaitTimeSeconds": dispatch.receive_wait_seconds,
                },
                "ResultSelector": {"messages.$": "$"},
                "ResultPath": "$.received",
                "Retry": _sqs_retry(),
                "Next": "AnyMessages",
            },
            "AnyMessages": {
                "Type": "Choice",
                "Choices": [
                    {
                        "Variable": "$.received.messages.Messages",
                        "IsPresent": True,
                        "Next": "Dispatch",
                    }
                ],
                "Default": "Drained",
            },
            "Dispatch": {
                "Type": "Map",
                "ItemsPath": "$.received.messages.Messages",
                "MaxConcurrency": dispatch.max_concurrency,
                "ItemSelector": {
                    "message.$": "$$.Map.Item.Value",
                    "delay.$": "States.ArrayGetItem($.delays, $$.Map.Item.Index)",
                },
                "ItemProcessor": _iteration(dispatch, targets, function_timeout),
                "ResultPath": None,
                "Next": "CountRound",
            },
            "CountRound": {
                "Type": "Pass",
                "Parameters": {"round.$": "States.MathAdd($.round, 1)", "delays.$": "$.delays"},
                "Next": "NextRound",
            },
            "NextRound": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.round", "NumericLessThan": rounds, "Next": "Receive"}],
                "Default": "BudgetSpent",
            },
            "BudgetSpent": {
                "Type": "Succeed",
                "Comment": "The next scheduled poller carries on with what is left.",
            },
            "Drained": {"Type": "Succeed"},
        },
    }
