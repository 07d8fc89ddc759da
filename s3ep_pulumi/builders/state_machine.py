"""The dispatcher's Amazon States Language definition, generated from Python dicts.

One execution (started by the schedule) does:

    Init -> Probe (queue empty? -> Idle) -> Offer + Take the lease (held? -> Busy)
         -> Lanes: a Map of `max_concurrency` lanes -> Release the lease

Each lane is a worker that invokes one message at a time, so at most `max_concurrency`
invocations are ever in flight; the lease (one FIFO message group) keeps a second execution
from running lanes at the same time. A lane loops:

    Receive (1, 2, 4, ... up to batch_size) -> Batch (a Map, one message at a time) -> NextRound?

and each message goes:

    IsS3Event? -> Invoke (the shim paces the start to the lane's slot)
        ok -> Succeeded (deleted with the batch)   failed / raised -> RetryLater
        deferred -> Pace (Wait) -> Invoke          expired -> Release (visible again now)
        malformed / not an S3 event -> Quarantine (to the DLQ) -> DeleteQuarantined

A message is deleted only after its invocation succeeded. A failed one becomes visible again
after `failed_retry_delay_seconds`, and the queue's redrive policy moves it to the DLQ after
`max_receive_count` receives. Only JSONPath is used (JSONata needs a JVM in the emulator).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s3ep_pulumi.builders.event_pattern import BODY_SHAPE
from s3ep_pulumi.model.args import S3EventProcessorArgs

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
LEASE_GROUP = "s3ep-lease"


@dataclass(frozen=True)
class DispatcherTargets:
    """The URLs and ARNs the definition refers to."""

    queue_url: str
    dlq_url: str
    lease_url: str
    function_arn: str


def _retry(errors: list[str], attempts: int, interval: int, backoff: float, cap: int) -> State:
    return {
        "ErrorEquals": errors,
        "IntervalSeconds": interval,
        "MaxAttempts": attempts,
        "BackoffRate": backoff,
        "MaxDelaySeconds": cap,
        "JitterStrategy": "FULL",
    }


def _sqs(action: str, parameters: dict[str, Any], **fields: Any) -> State:
    """An `aws-sdk:sqs` task, retried on transient SQS errors (1 + 2 + 4 s at most)."""
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::aws-sdk:sqs:{action}",
        "Parameters": parameters,
        "Retry": [_retry(TRANSIENT_SDK_ERRORS, 3, 1, 2.0, 4)],
        **fields,
    }


def _receive(
    name: str,
    check: str,
    parameters: dict[str, Any],
    *,
    into: str,
    found: str,
    empty: str,
    comment: str | None = None,
) -> dict[str, State]:
    """A receiveMessage task into `$.<into>.messages`, and the Choice that follows it."""
    fields = {"Comment": comment} if comment else {}
    return {
        name: _sqs(
            "receiveMessage",
            parameters,
            ResultSelector={"messages.$": "$"},
            ResultPath=f"$.{into}",
            Next=check,
            **fields,
        ),
        check: {
            "Type": "Choice",
            "Choices": [
                {"Variable": f"$.{into}.messages.Messages", "IsPresent": True, "Next": found}
            ],
            "Default": empty,
        },
    }


def _message_states(args: S3EventProcessorArgs, t: DispatcherTargets) -> dict[str, State]:
    """States run for one received message. Each path ends with {"expired": bool}."""
    d, r = args.dispatch, args.dispatch.retry
    handle = {"QueueUrl": t.queue_url, "ReceiptHandle.$": "$.message.ReceiptHandle"}
    return {
        "IsS3Event": {
            "Type": "Choice",
            "Comment": "Only bodies shaped by the rule's input transformer reach the function.",
            "Choices": [
                {"Variable": "$.message.Body", "StringMatches": BODY_SHAPE, "Next": "Invoke"}
            ],
            "Default": "Quarantine",
        },
        "Invoke": {
            "Type": "Task",
            "Comment": "The shim waits for the lane's start slot, then runs the handler.",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": t.function_arn,
                "Payload": {"body.$": "$.message.Body", "s3ep.$": "$.control"},
            },
            "TimeoutSeconds": args.budget.invoke_task_timeout_seconds,
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
            "Catch": [
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "RetryLater"}
            ],
            "Next": "Outcome",
        },
        "Outcome": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.result.payload.outcome", "StringEquals": "ok", "Next": "Succeeded"},
                {
                    "Variable": "$.result.payload.outcome",
                    "StringEquals": "deferred",
                    "Next": "Pace",
                },
                {
                    "Variable": "$.result.payload.outcome",
                    "StringEquals": "expired",
                    "Next": "Release",
                },
                {
                    "Variable": "$.result.payload.outcome",
                    "StringEquals": "malformed",
                    "Next": "Quarantine",
                },
            ],
            "Default": "RetryLater",
        },
        "Pace": {
            "Type": "Wait",
            "Comment": "The lane's slot is far off: wait here (free) rather than in Lambda.",
            "SecondsPath": "$.result.payload.wait_seconds",
            "Next": "Invoke",
        },
        "Succeeded": {
            "Type": "Pass",
            "Comment": "Deleted with the lane's batch (one DeleteMessageBatch per receive).",
            "Parameters": {
                "expired": False,
                "delete": {
                    "Id.$": "$.message.MessageId",
                    "ReceiptHandle.$": "$.message.ReceiptHandle",
                },
            },
            "End": True,
        },
        "RetryLater": _sqs(
            "changeMessageVisibility",
            {**handle, "VisibilityTimeout": d.failed_retry_delay_seconds},
            Comment="Failed: kept, visible again after the retry delay (DLQ after max receives).",
            ResultSelector={"expired": False},
            End=True,
        ),
        "Release": _sqs(
            "changeMessageVisibility",
            {**handle, "VisibilityTimeout": 0},
            Comment="Not started before the window closed: visible again at once.",
            ResultSelector={"expired": True},
            End=True,
        ),
        "Quarantine": _sqs(
            "sendMessage",
            {
                "QueueUrl": t.dlq_url,
                "MessageBody.$": "$.message.Body",
                "MessageAttributes": {
                    "s3ep-reason": {"DataType": "String", "StringValue": "not an S3 event"}
                },
            },
            Comment="Not an S3 event: park it in the DLQ without running the handler.",
            ResultPath=None,
            Next="DeleteQuarantined",
        ),
        "DeleteQuarantined": _sqs(
            "deleteMessage", handle, ResultSelector={"expired": False}, End=True
        ),
    }


def _lane_states(args: S3EventProcessorArgs, t: DispatcherTargets) -> dict[str, State]:
    """States of one lane: receive a batch, invoke it message by message, repeat."""
    d = args.dispatch
    rounds = args.budget.lane_rounds
    next_round: list[State] = [
        {"Variable": "$.expired", "BooleanEquals": True, "Next": "WindowClosed"},
    ]
    if rounds is not None:
        next_round.append(
            {"Variable": "$.round", "NumericGreaterThanEquals": rounds, "Next": "RoundsSpent"}
        )
    return {
        **_receive(
            "Receive",
            "AnyMessages",
            {
                "QueueUrl": t.queue_url,
                "MaxNumberOfMessages.$": "$.take",
                "WaitTimeSeconds": d.receive_wait_seconds,
            },
            into="received",
            found="Batch",
            empty="Drained",
        ),
        "Batch": {
            "Type": "Map",
            "Comment": "One message at a time: a lane has at most one invocation in flight.",
            "ItemsPath": "$.received.messages.Messages",
            "MaxConcurrency": 1,
            "ItemSelector": {
                "message.$": "$$.Map.Item.Value",
                "control": {
                    "lane.$": "$.lane",
                    "lanes": d.max_concurrency,
                    "rate": d.rate_per_second,
                    "started.$": "$.started",
                    "start_by": args.budget.start_window_seconds,
                },
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "IsS3Event",
                "States": _message_states(args, t),
            },
            "ResultSelector": {"flags.$": "$[*].expired", "deletes.$": "$[*].delete"},
            "ResultPath": "$.outcomes",
            "Next": "CountRound",
        },
        "CountRound": {
            "Type": "Pass",
            "Parameters": {
                "lane.$": "$.lane",
                "started.$": "$.started",
                "round.$": "States.MathAdd($.round, 1)",
                "take.$": "States.ArrayGetItem($.ramp, $.take)",
                "ramp.$": "$.ramp",
                "expired.$": "States.ArrayContains($.outcomes.flags, true)",
                "deletes.$": "$.outcomes.deletes",
                "succeeded.$": "States.ArrayLength($.outcomes.deletes)",
            },
            "Next": "AnySucceeded",
        },
        "AnySucceeded": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.succeeded", "NumericGreaterThan": 0, "Next": "DeleteSucceeded"}
            ],
            "Default": "NextRound",
        },
        "DeleteSucceeded": _sqs(
            "deleteMessageBatch",
            {"QueueUrl": t.queue_url, "Entries.$": "$.deletes"},
            Comment=(
                "Only messages whose invocation succeeded. An entry SQS fails to delete "
                "reappears and is processed again: a duplicate, never a loss."
            ),
            ResultPath=None,
            Next="NextRound",
        ),
        "NextRound": {"Type": "Choice", "Choices": next_round, "Default": "Receive"},
        "Drained": _lane_end("drained"),
        "WindowClosed": _lane_end("window closed"),
        **({"RoundsSpent": _lane_end("rounds spent")} if rounds is not None else {}),
    }


def _lane_end(reason: str) -> State:
    """A lane's last state: which lane, and why it stopped."""
    return {"Type": "Pass", "Parameters": {"lane.$": "$.lane", "ended": reason}, "End": True}


def definition(args: S3EventProcessorArgs, targets: DispatcherTargets) -> dict[str, Any]:
    """The whole state machine definition for these settings and targets."""
    d = args.dispatch
    lease = {"QueueUrl": targets.lease_url}
    lanes = _lane_states(args, targets)
    rate = f", at most {d.rate_per_second:g} starts/s" if d.rate_per_second else ""
    return {
        "Comment": (
            f"s3ep dispatcher: {d.max_concurrency} lanes drain the queue into the function, at "
            f"most {d.max_concurrency} in flight{rate}; "
            f"starts for {args.budget.start_window_seconds} s."
        ),
        "StartAt": "Init",
        "States": {
            "Init": {
                "Type": "Pass",
                "Parameters": {
                    "started.$": "$$.State.EnteredTime",
                    "lanes": list(range(d.max_concurrency)),
                },
                "Next": "Probe",
            },
            "Probe": _sqs(
                "getQueueAttributes",
                {"QueueUrl": targets.queue_url, "AttributeNames": ["ApproximateNumberOfMessages"]},
                Comment="An empty queue ends the execution here: the cheapest idle poll.",
                ResultSelector={"visible.$": "$.Attributes.ApproximateNumberOfMessages"},
                ResultPath="$.probe",
                Next="HasWork",
            ),
            "HasWork": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.probe.visible", "StringEquals": "0", "Next": "Idle"}],
                "Default": "Offer",
            },
            "Offer": _sqs(
                "sendMessage",
                {
                    **lease,
                    "MessageBody": "lease",
                    "MessageGroupId": LEASE_GROUP,
                    "MessageDeduplicationId.$": "$$.Execution.Name",
                },
                Comment="Make sure a lease token exists (one per execution, deduplicated).",
                ResultPath=None,
                Next="Take",
            ),
            **_receive(
                "Take",
                "Leased",
                {
                    **lease,
                    "MaxNumberOfMessages": 1,
                    "VisibilityTimeout": args.budget.lease_seconds,
                    "WaitTimeSeconds": 0,
                },
                into="lease",
                found="Hold",
                empty="Busy",
                comment=(
                    "A FIFO group hands out nothing while one of its messages is in flight: "
                    "receiving a token means no other execution holds the lease."
                ),
            ),
            "Hold": {
                "Type": "Pass",
                "Parameters": {
                    "started.$": "$.started",
                    "lanes.$": "$.lanes",
                    "token.$": "$.lease.messages.Messages[0]",
                },
                "Next": "Lanes",
            },
            "Lanes": {
                "Type": "Map",
                "ItemsPath": "$.lanes",
                "MaxConcurrency": d.max_concurrency,
                "ItemSelector": {
                    "lane.$": "$$.Map.Item.Value",
                    "started.$": "$.started",
                    "round": 0,
                    "take": 1,
                    "ramp": d.receive_ramp(),
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Receive",
                    "States": lanes,
                },
                "ResultPath": "$.lanes",
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": "$.error",
                        "Next": "ReleaseAfterError",
                    }
                ],
                "Next": "ReleaseLease",
            },
            "ReleaseLease": _sqs(
                "deleteMessage",
                {**lease, "ReceiptHandle.$": "$.token.ReceiptHandle"},
                ResultPath=None,
                Next="Done",
            ),
            "ReleaseAfterError": _sqs(
                "deleteMessage",
                {**lease, "ReceiptHandle.$": "$.token.ReceiptHandle"},
                ResultPath=None,
                Next="LanesFailed",
            ),
            "LanesFailed": {
                "Type": "Fail",
                "Error": "s3ep.LanesFailed",
                "Cause": (
                    "A lane failed unexpectedly; its messages reappear after their visibility "
                    "timeout."
                ),
            },
            "Busy": {
                "Type": "Succeed",
                "Comment": "Another execution holds the lease and is draining the queue.",
            },
            "Idle": {"Type": "Succeed"},
            "Done": {"Type": "Succeed"},
        },
    }
