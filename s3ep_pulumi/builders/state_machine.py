"""The dispatcher's Amazon States Language definition, generated from Python dicts.

One execution (started by the schedule) does:

    Init -> Probe (queue empty? -> Idle) -> LastCycle (what the last execution measured)
         -> Plan (how many lanes, each lane's first receive report, and the clock)
         -> Acquire the lease (held by another? -> Busy) -> Lanes: a Map of up to
         `max_concurrency` lanes -> Release the lease (keeping the lanes' measured cycle)

Each lane is a worker that invokes one message at a time, so at most `max_concurrency`
invocations are ever in flight; the lease (one DynamoDB item, taken with a conditional write,
with a fencing counter) keeps a second execution from running lanes at the same time. A lane
loops:

    Clock + Fits (what it can still start?) -> Renew (is the lease still ours?)
        -> Receive (1, 2, 4, ... up to batch_size)
        -> Batch (a Map, one message at a time) -> DeleteSucceeded -> NextRound?

and each message goes:

    Invoke (the shim checks the body and paces the start to the lane's slot)
        ok -> Succeeded (deleted with the batch)   failed / raised -> RetryLater -> Failed
        deferred -> Pace (Wait) -> Invoke          expired -> Release (visible again with the
        malformed -> Quarantine (to the DLQ)                  lane's ChangeMessageVisibilityBatch)
                     -> DeleteQuarantined -> Quarantined

A message is deleted only after its invocation succeeded. A failed one becomes visible again
after `failed_retry_delay_seconds`, and the queue's redrive policy moves it to the DLQ after
`max_receive_count` receives. A lane receives only as many messages as it can still start
before the start window closes (the shim's receive report), because every receive counts
towards the DLQ. Every SQS call retries SQS's refusals; one that still fails ends only its own
message's path (`Left`: the message is visible again after its visibility timeout) or its lane
(`SqsFailed`), never the Map. Only JSONPath is used (moto does not evaluate JSONata), so the
lease's clock comes from the shim's Plan answer (docs/dispatch.md, "The lease").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s3ep_pulumi.model import budget
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
# What SQS answers when it refuses a call for now, as Step Functions names the errors of its
# AWS SDK integrations (`Sqs.<Code>Exception`, docs/aws-semantics.md F1 and S11); the SDK's
# client-side and generic service errors; a task timeout.
TRANSIENT_SQS_ERRORS = [
    "Sqs.RequestThrottledException",
    "Sqs.KmsThrottledException",
    "Sqs.OverLimitException",
    "Sqs.SdkClientException",
    "Sqs.SqsException",
    "States.Timeout",
]
# What DynamoDB answers when it refuses a write for now, as the optimized integration names its
# errors (`DynamoDB.<Code>`, docs/aws-semantics.md F12); a task timeout.
TRANSIENT_DYNAMODB_ERRORS = [
    "DynamoDB.ProvisionedThroughputExceededException",
    "DynamoDB.RequestLimitExceeded",
    "DynamoDB.ThrottlingException",
    "DynamoDB.InternalServerErrorException",
    "DynamoDB.TransactionConflictException",
    "States.Timeout",
]
# A conditional write whose condition did not hold (D1).
CONDITION_FAILED = ["DynamoDB.ConditionalCheckFailedException"]
# The lease's item, and the names of its attributes (ExpressionAttributeNames, so no attribute
# name can collide with a DynamoDB reserved word).
LEASE_KEY = {"pk": {"S": "lease"}}
LEASE_NAMES = {
    "#holder": "holder",
    "#expires": "expires",
    "#fence": "fence",
    "#renewed": "renewed",
    "#cycle": "cycle",
}
CATCH_ALL = ["States.ALL"]


@dataclass(frozen=True)
class DispatcherTargets:
    """The URLs and ARNs the definition refers to."""

    queue_url: str
    dlq_url: str
    table_name: str
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


def _sqs(
    action: str, parameters: dict[str, Any], *, failed: str | None = None, **fields: Any
) -> State:
    """An `aws-sdk:sqs` task, retried on SQS's refusals with the backoff the timing model counts
    (1 + 2 + 4 s at most). With `failed`, an error that outlives the retries goes there (with
    `$.sqs_error`) instead of failing the scope."""
    catch = [{"ErrorEquals": CATCH_ALL, "ResultPath": "$.sqs_error", "Next": failed}]
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::aws-sdk:sqs:{action}",
        "Parameters": parameters,
        "Retry": [
            _retry(
                TRANSIENT_SQS_ERRORS,
                budget.SQS_RETRY_ATTEMPTS,
                budget.SQS_RETRY_INTERVAL_SECONDS,
                budget.SQS_RETRY_BACKOFF_RATE,
                budget.SQS_RETRY_MAX_DELAY_SECONDS,
            )
        ],
        **({"Catch": catch} if failed else {}),
        **fields,
    }


def _lease(
    action: str,
    update: str,
    condition: str,
    values: dict[str, Any],
    *,
    table: str,
    lost: str,
    lost_on: list[str] = CONDITION_FAILED,
    returns: str | None = None,
    **fields: Any,
) -> State:
    """A conditional `dynamodb:<action>` on the lease item, retried on DynamoDB's refusals like an
    SQS task. A failed condition (or any of `lost_on`) goes to `lost` (with `$.lease_error`)."""
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::dynamodb:{action}",
        "Parameters": {
            "TableName": table,
            "Key": LEASE_KEY,
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {
                k: v for k, v in LEASE_NAMES.items() if k in update or k in condition
            },
            "ExpressionAttributeValues": values,
            **({"ReturnValues": returns} if returns else {}),
        },
        "Retry": [
            _retry(
                TRANSIENT_DYNAMODB_ERRORS,
                budget.SQS_RETRY_ATTEMPTS,
                budget.SQS_RETRY_INTERVAL_SECONDS,
                budget.SQS_RETRY_BACKOFF_RATE,
                budget.SQS_RETRY_MAX_DELAY_SECONDS,
            )
        ],
        "Catch": [{"ErrorEquals": lost_on, "ResultPath": "$.lease_error", "Next": lost}],
        **fields,
    }


# ExpressionAttributeValues naming this execution's lease (`$.lease`: holder and fence).
MINE = {":me": {"S.$": "$.lease.holder"}, ":fence": {"N.$": "$.lease.fence"}}


def _receive(
    name: str,
    check: str,
    parameters: dict[str, Any],
    *,
    into: str,
    found: str,
    empty: str,
    comment: str | None = None,
    failed: str | None = None,
) -> dict[str, State]:
    """A receiveMessage task into `$.<into>.messages`, and the Choice that follows it."""
    fields = {"Comment": comment} if comment else {}
    return {
        name: _sqs(
            "receiveMessage",
            parameters,
            failed=failed,
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
    """States run for one received message. Each path ends in a Pass that reports to the lane:
    `report` (the lane's receive report: the shim's after a success, else the one the lane
    had), and `delete`, or `expired` and `release`, when the message needs them."""
    d = args.dispatch
    handle = {"QueueUrl": t.queue_url, "ReceiptHandle.$": "$.message.ReceiptHandle"}
    return {
        "Invoke": {
            "Type": "Task",
            "Comment": (
                "The shim checks the body (not an S3 event: `malformed`, the handler is not "
                "called), waits for the lane's start slot, then runs the handler."
            ),
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {
                "FunctionName": t.function_arn,
                # `after`: this message's previous answer (after a deferral: when the message
                # first arrived, so the wait is no part of the lane's cycle), "none" at first
                "Payload": {
                    "body.$": "$.message.Body",
                    "after.$": "$.result.payload",
                    "s3ep.$": "$.control",
                },
            },
            "TimeoutSeconds": args.budget.invoke_task_timeout_seconds,
            "ResultSelector": {"payload.$": "$.Payload"},
            "ResultPath": "$.result",
            "Retry": [_lambda_retry(args)],
            "Catch": [{"ErrorEquals": CATCH_ALL, "ResultPath": "$.error", "Next": "RetryLater"}],
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
        "Succeeded": _report(
            "Deleted with the lane's batch (one DeleteMessageBatch per receive).",
            "$.result.payload.report",
            delete={"Id.$": "$.message.MessageId", "ReceiptHandle.$": "$.message.ReceiptHandle"},
        ),
        "RetryLater": _sqs(
            "changeMessageVisibility",
            {**handle, "VisibilityTimeout": d.failed_retry_delay_seconds},
            failed="Left",
            Comment="Failed: kept, visible again after the retry delay (DLQ after max receives).",
            ResultPath=None,
            Next="Failed",
        ),
        "Failed": _report("Tried again after the retry delay."),
        "Release": _report(
            "Not started before the window closed: the lane makes it visible again at once.",
            expired=True,
            release={
                "Id.$": "$.message.MessageId",
                "ReceiptHandle.$": "$.message.ReceiptHandle",
                "VisibilityTimeout": 0,
            },
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
            failed="Left",
            Comment="Not an S3 event: park it in the DLQ without running the handler.",
            ResultPath=None,
            Next="DeleteQuarantined",
        ),
        "DeleteQuarantined": _sqs(
            "deleteMessage", handle, failed="Left", ResultPath=None, Next="Quarantined"
        ),
        "Quarantined": _report("In the DLQ, deleted from the queue."),
        "Left": _report(
            "SQS kept refusing this message's call: it stays in the queue and is visible again "
            "after its visibility timeout (a quarantined one may then reach the DLQ twice)."
        ),
    }


def _report(comment: str, report: str = "$.report", **fields: Any) -> State:
    """The last state of a message's path: what the lane needs from it."""
    return {
        "Type": "Pass",
        "Comment": comment,
        "Parameters": {**fields, "report.$": report},
        "End": True,
    }


def _lambda_retry(args: S3EventProcessorArgs) -> State:
    r = args.dispatch.retry
    return _retry(
        TRANSIENT_LAMBDA_ERRORS,
        r.max_attempts,
        r.interval_seconds,
        r.backoff_rate,
        r.max_delay_seconds,
    )


def _control(args: S3EventProcessorArgs) -> dict[str, Any]:
    """What the shim needs to pace a lane and to report what it can still receive."""
    d, b = args.dispatch, args.budget
    return {
        "lanes": d.max_concurrency,
        "rate": d.rate_per_second,
        "started.$": "$.started",
        "start_by": b.start_window_seconds,
        "lead": b.receive_lead_seconds,
        "batch": d.batch_size,
    }


def _lane_states(args: S3EventProcessorArgs, t: DispatcherTargets) -> dict[str, State]:
    """States of one lane: check the lease is still this execution's, receive what it can still
    start, invoke it message by message, delete the successes, repeat."""
    d = args.dispatch
    next_round: list[State] = [
        {"Variable": "$.expired", "BooleanEquals": True, "Next": "ReleaseUnstarted"},
        {"Variable": "$.sqs_error", "IsPresent": True, "Next": "SqsFailed"},
    ]
    return {
        "Clock": {
            "Type": "Pass",
            "Comment": "Now, and the last second at which `take` messages can still all start.",
            "Parameters": {
                "now.$": "$$.State.EnteredTime",
                "limit.$": "States.ArrayGetItem($.report.cutoffs, States.MathAdd($.take, -1))",
            },
            "ResultPath": "$.clock",
            "Next": "Fits",
        },
        "Fits": {
            "Type": "Choice",
            "Comment": (
                "A receive counts towards the DLQ even if the message is never started: take "
                "only what the lane can start before the window closes. The report's times are "
                "whole seconds (YYYY-MM-DDTHH:MM:SS); EnteredTime adds a fraction and a zone, so "
                "the string comparison holds only before that second."
            ),
            "Choices": [
                {
                    "Variable": "$.clock.now",
                    "StringLessThanEqualsPath": "$.clock.limit",
                    "Next": "Renew",
                },
                {
                    "Variable": "$.clock.now",
                    "StringLessThanEqualsPath": "$.report.cutoffs[0]",
                    "Next": "One",
                },
            ],
            "Default": "WindowClosed",
        },
        "One": {"Type": "Pass", "Result": 1, "ResultPath": "$.take", "Next": "Renew"},
        "Renew": _lease(
            "updateItem",
            "SET #renewed = :at",
            "#holder = :me AND #fence = :fence",
            {**MINE, ":at": {"S.$": "$$.State.EnteredTime"}},
            table=t.table_name,
            lost="LeaseLost",
            lost_on=CATCH_ALL,
            Comment=(
                "The fence: before each receive, the lease must still be this execution's. A "
                "lane whose lease was taken over (it outlived it) holds nothing here and ends."
            ),
            ResultPath=None,
            Next="Receive",
        ),
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
            failed="SqsFailed",
        ),
        "Batch": {
            "Type": "Map",
            "Comment": "One message at a time: a lane has at most one invocation in flight.",
            "ItemsPath": "$.received.messages.Messages",
            "MaxConcurrency": 1,
            "ItemSelector": {
                "message.$": "$$.Map.Item.Value",
                "report.$": "$.report",
                "result": {"payload": {"outcome": "none"}},
                "control": _lane_control(args),
            },
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": "Invoke",
                "States": _message_states(args, t),
            },
            "ResultSelector": {
                "flags.$": "$[*].expired",
                "deletes.$": "$[*].delete",
                "releases.$": "$[*].release",
                "reports.$": "$[*].report",
            },
            "ResultPath": "$.outcomes",
            "Next": "CountRound",
        },
        "CountRound": {
            "Type": "Pass",
            "Parameters": {
                "lane.$": "$.lane",
                "lanes.$": "$.lanes",
                "started.$": "$.started",
                "lease.$": "$.lease",
                "round.$": "States.MathAdd($.round, 1)",
                "take.$": "States.ArrayGetItem($.ramp, $.take)",
                "ramp.$": "$.ramp",
                "report.$": (
                    "States.ArrayGetItem($.outcomes.reports, "
                    "States.MathAdd(States.ArrayLength($.outcomes.reports), -1))"
                ),
                # only a receive's first message measures the lane's cycle (the shim's
                # `measured_cycle`): its report carries the lane's mean
                "first.$": "States.ArrayGetItem($.outcomes.reports, 0)",
                "expired.$": "States.ArrayContains($.outcomes.flags, true)",
                "releases.$": "$.outcomes.releases",
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
            failed="NextRound",
            Comment=(
                "Only messages whose invocation succeeded. An entry SQS fails to delete "
                "reappears and is processed again: a duplicate, never a loss. If SQS refuses "
                "the whole call, the lane stops after this round."
            ),
            ResultPath=None,
            Next="NextRound",
        ),
        "NextRound": {"Type": "Choice", "Choices": next_round, "Default": "Clock"},
        "ReleaseUnstarted": _sqs(
            "changeMessageVisibilityBatch",
            {"QueueUrl": t.queue_url, "Entries.$": "$.releases"},
            failed="WindowClosed",
            Comment=(
                "Messages the lane received but could not start before the window closed: "
                "visible again at once (if SQS refuses, after their visibility timeout)."
            ),
            ResultPath=None,
            Next="WindowClosed",
        ),
        "Drained": _lane_end("drained"),
        "WindowClosed": _lane_end("window closed"),
        "SqsFailed": _lane_end("sqs failed"),
        "LeaseLost": _lane_end("lease lost"),
    }


def _lane_control(args: S3EventProcessorArgs) -> dict[str, Any]:
    """The control block of a lane's message: the Plan's, with this execution's lane count, the
    lane, and what its report carries (the receive estimate, its last start, its measured cycle),
    and which message of the receive this is (only the first measures the lane's cycle)."""
    return {
        **{k: v for k, v in _control(args).items() if k != "lanes"},
        "lanes.$": "$.lanes",
        "lane.$": "$.lane",
        "cycle.$": "$.report.cycle",
        "began.$": "$.report.began",
        "measured.$": "$.first.measured",
        "index.$": "$$.Map.Item.Index",
    }


def _lane_end(reason: str) -> State:
    """A lane's last state: which lane, why it stopped, and the cycle it measured ("0": none)."""
    return {
        "Type": "Pass",
        "Parameters": {"lane.$": "$.lane", "ended": reason, "cycle.$": "$.first.measured"},
        "End": True,
    }


def _release(t: DispatcherTargets, then: str, *, keep_cycle: bool = False, **fields: Any) -> State:
    """Free the lease if this execution still holds it, then go to `then` either way. With
    `keep_cycle`, the lease item keeps the cycle lane 0 measured (the next Plan sizes its lanes
    from it; "0" when nothing was measured, and the next execution runs every lane)."""
    update, values = "REMOVE #holder, #expires", dict(MINE)
    if keep_cycle:
        update += " SET #cycle = :cycle"
        values[":cycle"] = {"N.$": "States.ArrayGetItem($.lanes[*].cycle, 0)"}
    return _lease(
        "updateItem",
        update,
        "#holder = :me AND #fence = :fence",
        values,
        table=t.table_name,
        lost=then,
        ResultPath=None,
        Next=then,
        **fields,
    )


def _last_cycle(t: DispatcherTargets) -> State:
    """Read the cycle the last holder's lanes measured (a consistent read of the lease item),
    for the Plan. Nothing there (the first execution) is an answer without `Item`."""
    return {
        "Type": "Task",
        "Comment": (
            "The cycle the last execution measured, kept on the lease item: the Plan runs only "
            "as many lanes as the handler needs (nothing kept: every lane)."
        ),
        "Resource": "arn:aws:states:::dynamodb:getItem",
        "Parameters": {
            "TableName": t.table_name,
            "Key": LEASE_KEY,
            "ConsistentRead": True,
        },
        "Retry": [
            _retry(
                TRANSIENT_DYNAMODB_ERRORS,
                budget.SQS_RETRY_ATTEMPTS,
                budget.SQS_RETRY_INTERVAL_SECONDS,
                budget.SQS_RETRY_BACKOFF_RATE,
                budget.SQS_RETRY_MAX_DELAY_SECONDS,
            )
        ],
        "ResultSelector": {"answer.$": "$"},
        "ResultPath": "$.last",
        "Next": "Plan",
    }


def definition(
    args: S3EventProcessorArgs, targets: DispatcherTargets, *, handover: bool = True
) -> dict[str, Any]:
    """The whole state machine definition for these settings and targets. With `handover`
    (EXPRESS), an execution that ends with work left starts its successor; without it (the run
    a STANDARD parent starts each round, `parent_definition`), it ends with `{"held", "more"}`:
    whether it held the lease, and whether work was left when it released it."""
    d, b = args.dispatch, args.budget
    lanes = _lane_states(args, targets)
    rate = f", at most {d.rate_per_second:g} starts/s" if d.rate_per_second else ""
    out: dict[str, Any] = {
        "Comment": (
            f"s3ep dispatcher{'' if handover else ' run'}: {d.max_concurrency} lanes drain the "
            f"queue into the function, at most {d.max_concurrency} in flight{rate}; "
            f"starts for {b.start_window_seconds} s."
        ),
        "StartAt": "Init",
        "States": {
            "Init": {
                "Type": "Pass",
                "Parameters": {"started.$": "$$.State.EnteredTime", "chain.$": "$.chain"},
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
                "Default": "LastCycle",
            },
            "LastCycle": _last_cycle(targets),
            "Plan": {
                "Type": "Task",
                "Comment": (
                    "How many lanes (with a rate: as many as the last measured cycle needs, at "
                    "most max_concurrency), each lane's first receive report, assuming every "
                    "handler runs its whole timeout (the lanes refine it as handlers return), "
                    "and the clock the lease needs: Step Functions has no arithmetic on times. "
                    "The handler is not called."
                ),
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": targets.function_arn,
                    "Payload": {
                        "s3ep": {
                            **_control(args),
                            "plan": args.function.timeout,
                            "lease": b.lease_seconds,
                            "last.$": "$.last.answer",
                        }
                    },
                },
                "TimeoutSeconds": b.invoke_task_timeout_seconds,
                "ResultSelector": {
                    "count.$": "$.Payload.count",
                    "lanes.$": "$.Payload.lanes",
                    "clock.$": "$.Payload.clock",
                },
                "ResultPath": "$.plan",
                "Retry": [_lambda_retry(args)],
                "Catch": [
                    {"ErrorEquals": CATCH_ALL, "ResultPath": "$.error", "Next": "LanesFailed"}
                ],
                "Next": "Acquire",
            },
            "Acquire": _lease(
                "updateItem",
                "SET #holder = :me, #expires = :expires ADD #fence :one",
                "attribute_not_exists(#holder) OR #expires < :now",
                {
                    ":me": {"S.$": "$$.Execution.Id"},
                    ":expires": {"N.$": "$.plan.clock.expires"},
                    ":now": {"N.$": "$.plan.clock.now"},
                    ":one": {"N": "1"},
                },
                table=targets.table_name,
                lost="Busy",
                returns="UPDATED_NEW",
                Comment=(
                    "The lease is free, or its holder's time ran out (it died): take it for "
                    "this execution's whole budget and a margin. The fence grows with every "
                    "holder, so a holder that was taken over can tell."
                ),
                ResultSelector={"fence.$": "$.Attributes.fence.N"},
                ResultPath="$.lease",
                Next="Hold",
            ),
            "Hold": {
                "Type": "Pass",
                "Parameters": {
                    "started.$": "$.started",
                    "chain.$": "$.chain",
                    "plan.$": "$.plan",
                    "lease": {"holder.$": "$$.Execution.Id", "fence.$": "$.lease.fence"},
                },
                "Next": "Lanes",
            },
            "Lanes": {
                "Type": "Map",
                "ItemsPath": "$.plan.lanes",
                "MaxConcurrency": d.max_concurrency,
                "ItemSelector": {
                    "lane.$": "$$.Map.Item.Value.lane",
                    "lanes.$": "$.plan.count",
                    "report.$": "$$.Map.Item.Value.report",
                    "first": {"measured": "0"},
                    "started.$": "$.started",
                    "lease.$": "$.lease",
                    "round": 0,
                    "take": 1,
                    "ramp": d.receive_ramp(),
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Clock",
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
            "ReleaseLease": _release(
                targets,
                "More",
                keep_cycle=True,
                Comment=(
                    "Free the lease (if it is still ours); the fence is kept, never reset, and "
                    "so is the cycle the lanes measured, for the next Plan."
                ),
            ),
            "More": _more(
                targets,
                "Work left? Then the next execution starts now, not at the next tick.",
                "HandOver",
            ),
            "HandOver": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.more.visible", "StringEquals": "0", "Next": "Done"},
                    {
                        "Variable": "$.chain",
                        "NumericGreaterThanEquals": budget.HANDOVER_CHAIN_MAX - 1,
                        "Next": "Done",
                    },
                ],
                "Default": "Handover",
            },
            "Handover": {
                "Type": "Task",
                "Comment": (
                    "Start the successor (fire and forget); it acquires the lease like any "
                    "poll. If it cannot be started, the schedule carries on."
                ),
                "Resource": "arn:aws:states:::states:startExecution",
                "Parameters": {
                    "StateMachineArn.$": "$$.StateMachine.Id",
                    "Input": {"trigger": "handover", "chain.$": "States.MathAdd($.chain, 1)"},
                },
                "Retry": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 1,
                        "JitterStrategy": "FULL",
                    }
                ],
                "Catch": [
                    {"ErrorEquals": CATCH_ALL, "ResultPath": "$.handover_error", "Next": "Done"}
                ],
                "ResultPath": None,
                "Next": "Done",
            },
            "ReleaseAfterError": _release(targets, "LanesFailed"),
            "LanesFailed": {
                "Type": "Fail",
                "Error": "s3ep.LanesFailed",
                "Cause": (
                    "The lanes could not be planned or a lane failed unexpectedly; messages it "
                    "held reappear after their visibility timeout."
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
    if not handover:
        out["States"] = {**out["States"], **_report_states(targets)}
        for name in ("HandOver", "Handover"):
            del out["States"][name]
    return out


def _more(targets: DispatcherTargets, comment: str, then: str) -> State:
    """After the release: is work left in the queue? (SQS unable to say counts as no.)"""
    return _sqs(
        "getQueueAttributes",
        {"QueueUrl": targets.queue_url, "AttributeNames": ["ApproximateNumberOfMessages"]},
        failed="Done",
        Comment=comment,
        ResultSelector={"visible.$": "$.Attributes.ApproximateNumberOfMessages"},
        ResultPath="$.more",
        Next=then,
    )


def _reported(comment: str, *, held: bool, more: bool) -> State:
    """A last state of a run: what its parent needs to decide on another round."""
    return {"Type": "Pass", "Comment": comment, "Result": {"held": held, "more": more}, "End": True}


def _report_states(targets: DispatcherTargets) -> dict[str, State]:
    """A run's last states when its parent loops instead of a handover: the same `More` probe
    after the release, then `{"held", "more"}` for the parent."""
    return {
        "More": _more(targets, "Work left? Then the parent runs another round at once.", "AnyLeft"),
        "AnyLeft": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.more.visible", "StringEquals": "0", "Next": "Done"}],
            "Default": "WorkLeft",
        },
        "WorkLeft": _reported("Held the lease; work is left.", held=True, more=True),
        "Done": _reported(
            "Held the lease; the queue is empty (or SQS could not say).", held=True, more=False
        ),
        "Busy": _reported(
            "Another execution holds the lease and is draining the queue: the parent ends.",
            held=False,
            more=False,
        ),
        "Idle": _reported("The queue is empty: the parent ends.", held=False, more=False),
    }


def parent_definition(args: S3EventProcessorArgs, run_state_machine_arn: str) -> dict[str, Any]:
    """The STANDARD dispatcher: a parent that runs the dispatcher's run (an EXPRESS state
    machine, `definition(..., handover=False)`) once per round and waits for it
    (`startExecution.sync:2`), while the run held the lease and left work, for at most
    PARENT_ROUNDS_MAX rounds; then it starts its successor (fire and forget). Two state
    transitions per round (Run, Again), whatever the run did."""
    d = args.dispatch
    held_and_more: list[State] = [
        {"Variable": "$.held", "BooleanEquals": True},
        {"Variable": "$.more", "BooleanEquals": True},
    ]
    return {
        "Comment": (
            f"s3ep dispatcher (STANDARD): runs {run_state_machine_arn.rsplit(':', 1)[-1]} "
            f"(EXPRESS, {d.max_execution_seconds} s each) round after round while it held the "
            f"lease and left work, at most {budget.PARENT_ROUNDS_MAX} rounds, then hands over."
        ),
        "StartAt": "Init",
        "States": {
            "Init": {
                "Type": "Pass",
                "Parameters": {"chain.$": "$.chain", "round": 0},
                "Next": "Run",
            },
            "Run": {
                "Type": "Task",
                "Comment": (
                    "One run: probe, plan, lease, lanes, release. The .sync:2 result echoes the "
                    "run's input and output as JSON; the parent keeps only what it loops on."
                ),
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {
                    "StateMachineArn": run_state_machine_arn,
                    "Input": {
                        "trigger": "round",
                        "chain.$": "$.chain",
                        "round.$": "States.MathAdd($.round, 1)",
                        "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id",
                    },
                },
                "TimeoutSeconds": args.budget.lease_seconds,
                "ResultSelector": {
                    "chain.$": "$.Input.chain",
                    "round.$": "$.Input.round",
                    "held.$": "$.Output.held",
                    "more.$": "$.Output.more",
                },
                "Retry": [
                    {
                        "ErrorEquals": ["StepFunctions.ExecutionLimitExceeded"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": budget.PARENT_RUN_RETRY_ATTEMPTS,
                        "BackoffRate": 2.0,
                        "JitterStrategy": "FULL",
                    }
                ],
                "Catch": [{"ErrorEquals": CATCH_ALL, "ResultPath": "$.error", "Next": "RunFailed"}],
                "Next": "Again",
            },
            "Again": {
                "Type": "Choice",
                "Comment": (
                    "Another round at once while the run held the lease and left work; a run "
                    "that found the lease taken or the queue empty ends the parent."
                ),
                "Choices": [
                    {
                        "And": [
                            *held_and_more,
                            {
                                "Variable": "$.round",
                                "NumericLessThan": budget.PARENT_ROUNDS_MAX,
                            },
                        ],
                        "Next": "Run",
                    },
                    {
                        "And": [
                            *held_and_more,
                            {
                                "Variable": "$.chain",
                                "NumericLessThan": budget.HANDOVER_CHAIN_MAX - 1,
                            },
                        ],
                        "Next": "Successor",
                    },
                ],
                "Default": "Done",
            },
            "Successor": {
                "Type": "Task",
                "Comment": (
                    "Rounds spent with work left: start the next parent (fire and forget), so "
                    "this history stays small. If it cannot be started, the schedule carries on."
                ),
                "Resource": "arn:aws:states:::states:startExecution",
                "Parameters": {
                    "StateMachineArn.$": "$$.StateMachine.Id",
                    "Input": {"trigger": "successor", "chain.$": "States.MathAdd($.chain, 1)"},
                },
                "Retry": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 1,
                        "MaxAttempts": 1,
                        "JitterStrategy": "FULL",
                    }
                ],
                "Catch": [
                    {"ErrorEquals": CATCH_ALL, "ResultPath": "$.successor_error", "Next": "Done"}
                ],
                "ResultPath": None,
                "Next": "Done",
            },
            "RunFailed": {
                "Type": "Fail",
                "Error": "s3ep.RunFailed",
                "Cause": (
                    "A run of the dispatcher failed or could not be started; its own execution "
                    "(and alarm) says why. The schedule starts the next parent."
                ),
            },
            "Done": {"Type": "Succeed"},
        },
    }
