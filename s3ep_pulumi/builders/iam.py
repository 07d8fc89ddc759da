"""IAM and resource policy documents, as pure functions of ARNs.

Every statement names exact actions on exact resources. The few places where AWS accepts only
`*` as the resource are collected in `WILDCARD_RESOURCE_EXCEPTIONS`, each with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from s3ep_pulumi.model.security import WILDCARD_RESOURCE_EXCEPTIONS

Doc = dict[str, Any]

XRAY_ACTIONS = [a for a in WILDCARD_RESOURCE_EXCEPTIONS if a.startswith("xray:")]
LOG_DELIVERY_ACTIONS = [a for a in WILDCARD_RESOURCE_EXCEPTIONS if a.startswith("logs:")]
# What Lambda does with a VPC function's execution role (AWSLambdaVPCAccessExecutionRole, less
# ec2:DescribeSubnets, which the Lambda guide asks of the deploying user, not of the role). The
# Service Authorization Reference gives CreateNetworkInterface the resource types
# network-interface* and subnet* (security-group when groups are given), the other three
# network-interface*; DescribeNetworkInterfaces has none (docs/aws-semantics.md I1).
VPC_CREATE_ACTIONS = ["ec2:CreateNetworkInterface"]
VPC_MANAGE_ACTIONS = [
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
]
VPC_DESCRIBE_ACTIONS = ["ec2:DescribeNetworkInterfaces"]
# What Lambda's SQS event source mapping does with the function's execution role: "The Lambda
# execution role must include the following permissions: sqs:DeleteMessage,
# sqs:GetQueueAttributes, sqs:ReceiveMessage" (and kms:Decrypt for an encrypted queue). Not
# ChangeMessageVisibility: the mapping leaves a failed message to its visibility timeout
# (docs/aws-semantics.md L12).
EVENT_SOURCE_QUEUE_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
]


@dataclass(frozen=True)
class VpcAccess:
    """The ARNs a VPC function's role may create network interfaces with: every network
    interface of this account and Region (their ids do not exist before Lambda creates them),
    and the configured subnets and security groups."""

    network_interfaces: str
    subnets: list[str]
    security_groups: list[str]

    @classmethod
    def of(
        cls,
        *,
        partition: str,
        region: str,
        account_id: str,
        subnet_ids: list[str],
        security_group_ids: list[str],
    ) -> VpcAccess:
        ec2 = f"arn:{partition}:ec2:{region}:{account_id}"
        return cls(
            network_interfaces=f"{ec2}:network-interface/*",
            subnets=[f"{ec2}:subnet/{s}" for s in subnet_ids],
            security_groups=[f"{ec2}:security-group/{g}" for g in security_group_ids],
        )


def _doc(*statements: Doc) -> Doc:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(sid: str, actions: list[str], resources: list[str], **extra: Any) -> Doc:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def assume_role(service: str, account_id: str, source_arn: str | None = None) -> Doc:
    """Trust policy for one service principal, scoped to this account (and resource)."""
    condition: Doc = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
            "Condition": condition,
        }
    )


def states_assume_role(account_id: str, state_machine_arn: str) -> Doc:
    """The dispatcher's trust policy: Step Functions, for this state machine only."""
    return assume_role("states.amazonaws.com", account_id, state_machine_arn)


def scheduler_assume_role(account_id: str) -> Doc:
    """The poll schedule's trust policy: EventBridge Scheduler, from this account."""
    return assume_role("scheduler.amazonaws.com", account_id)


def firehose_assume_role(account_id: str) -> Doc:
    """The Splunk stream's trust policy: Firehose, from this account, in the form the Firehose
    guide documents (`sts:ExternalId` = the account id; docs/aws-semantics.md I2)."""
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "firehose.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": account_id}},
        }
    )


def lambda_assume_role() -> Doc:
    """Lambda's trust policy. Lambda does not send aws:SourceArn when assuming an execution role,
    so the role is protected by who may pass it, not by a condition."""
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )


def deny_insecure_transport(resource_arns: list[str], action: str) -> Doc:
    """Statement denying any request made without TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource_arns,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(bucket_arn: str) -> Doc:
    return _doc(deny_insecure_transport([bucket_arn, f"{bucket_arn}/*"], "s3:*"))


def queue_policy(queue_arn: str, rule_arn: str | None) -> Doc:
    """TLS only; with `rule_arn`, EventBridge may send, for this rule only."""
    statements = [deny_insecure_transport([queue_arn], "sqs:*")]
    if rule_arn is not None:
        statements.append(
            {
                "Sid": "AllowThisRuleToSend",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
            }
        )
    return _doc(*statements)


def redrive_policy(dlq_arn: str, max_receive_count: int) -> Doc:
    """The queue's redrive policy: a message received `max_receive_count` times moves to the DLQ."""
    return {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}


def redrive_allow_policy(source_queue_arn: str) -> Doc:
    """The DLQ's redrive-allow policy: only `source_queue_arn` may use it as its DLQ."""
    return {"redrivePermission": "byQueue", "sourceQueueArns": [source_queue_arn]}


def function_policy(
    *,
    log_group_arn: str,
    bucket_arn: str,
    key_prefixes: list[str],
    function_dlq_arn: str,
    bucket_kms_key_arn: str | None,
    tracing: bool,
    vpc: VpcAccess | None,
    queue_kms_key_arn: str | None = None,
    environment_kms_key_arn: str | None = None,
    extra_statements: list[Doc] | None = None,
    event_source_queue_arn: str | None = None,
) -> Doc:
    """The function may write its own logs, read objects under the filtered prefixes of this
    bucket only, send failed asynchronous events to its own DLQ (with the queues' customer
    key, if any) and decrypt its environment (with a customer key, if any). With
    `event_source_queue_arn` (the event source mapping engine), Lambda polls that queue with
    this role: it may receive, delete, read the attributes of and change the visibility of its
    messages, on that queue only (and decrypt them with the queues' customer key, which
    `DlqKey` already allows). `extra_statements` (the user's escape hatch) are appended
    unchanged: the policy pack, not this function, judges them."""
    objects = [f"{bucket_arn}/{p}*" for p in key_prefixes] or [f"{bucket_arn}/*"]
    statements = [
        _allow("OwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{log_group_arn}:*"]),
        _allow("ReadSourceObjects", ["s3:GetObject", "s3:GetObjectVersion"], objects),
        _allow("AsyncFailuresToOwnDlq", ["sqs:SendMessage"], [function_dlq_arn]),
    ]
    if event_source_queue_arn:
        statements.append(
            _allow("PollEventSourceQueue", EVENT_SOURCE_QUEUE_ACTIONS, [event_source_queue_arn])
        )
    if bucket_kms_key_arn:
        statements.append(_allow("DecryptSourceObjects", ["kms:Decrypt"], [bucket_kms_key_arn]))
    if queue_kms_key_arn:
        # Sending to an SSE-KMS queue needs a data key (and Decrypt to reuse a cached one).
        statements.append(
            _allow("DlqKey", ["kms:Decrypt", "kms:GenerateDataKey"], [queue_kms_key_arn])
        )
    if environment_kms_key_arn:
        # Lambda decrypts the environment with the execution role when it starts an instance.
        statements.append(_allow("EnvironmentKey", ["kms:Decrypt"], [environment_kms_key_arn]))
    if tracing:
        statements.append(_allow("Tracing", XRAY_ACTIONS[:2], ["*"]))
    if vpc is not None:
        enis = vpc.network_interfaces
        statements += [
            _allow(
                "VpcCreateNetworkInterfaces",
                VPC_CREATE_ACTIONS,
                [enis, *vpc.subnets, *vpc.security_groups],
            ),
            _allow("VpcManageNetworkInterfaces", VPC_MANAGE_ACTIONS, [enis]),
            _allow("VpcDescribeNetworkInterfaces", VPC_DESCRIBE_ACTIONS, ["*"]),
        ]
    statements.extend(extra_statements or [])
    return _doc(*statements)


def dispatcher_policy(
    *,
    queue_arn: str,
    dlq_arn: str,
    table_arn: str,
    function_arn: str,
    queue_kms_key_arn: str | None,
    tracing: bool,
    logging: bool,
    table_kms_key_arn: str | None = None,
    state_machine_arn: str | None = None,
) -> Doc:
    """The dispatcher may probe, receive from and delete on its queue, park malformed messages in
    the DLQ, take, check and release its lease (conditional writes on its own table), and invoke
    its function (any version or alias of it), and hand over to a successor execution of its own
    state machine (`state_machine_arn`). With `table_kms_key_arn` (the component's key encrypts
    the table) it may use that key through DynamoDB only."""
    statements = [
        _allow(
            "DrainQueue",
            [
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
            ],
            [queue_arn],
        ),
        _allow("ParkMalformedMessages", ["sqs:SendMessage"], [dlq_arn]),
        _allow("HoldLease", DISPATCH_TABLE_ACTIONS, [table_arn]),
        _allow("InvokeFunction", ["lambda:InvokeFunction"], [function_arn, f"{function_arn}:*"]),
    ]
    if state_machine_arn:
        statements.append(_allow("HandOver", ["states:StartExecution"], [state_machine_arn]))
    if queue_kms_key_arn:
        statements.append(
            _allow("QueueKey", ["kms:Decrypt", "kms:GenerateDataKey"], [queue_kms_key_arn])
        )
    if table_kms_key_arn:
        statements.append(
            {
                **_allow("TableKey", TABLE_KEY_ACTIONS, [table_kms_key_arn]),
                "Condition": {"StringLike": {"kms:ViaService": "dynamodb.*.amazonaws.com"}},
            }
        )
    if tracing:
        statements.append(_allow("Tracing", XRAY_ACTIONS, ["*"]))
    if logging:
        statements.append(_allow("LogDelivery", LOG_DELIVERY_ACTIONS, ["*"]))
    return _doc(*statements)


# The rule Step Functions manages in the account to learn when a child execution of a
# `startExecution.sync` task has ended (docs/aws-semantics.md F16).
SYNC_EXECUTION_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
SYNC_EXECUTION_RULE_ACTIONS = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]


def dispatcher_parent_policy(
    *,
    state_machine_arn: str,
    run_state_machine_arn: str,
    run_executions_arns: list[str],
    sync_rule_arn: str,
    tracing: bool,
    logging: bool,
) -> Doc:
    """A STANDARD dispatcher (the parent) may only run its run state machine and wait for it
    (`startExecution.sync:2`: start it, describe and stop its executions, the managed rule that
    reports their end) and start its own successor. Everything the runs do, their role does.
    `run_executions_arns`: the runs' executions as the Step Functions guide's policy names them
    (`execution:<run>:*`) and as the Service Authorization Reference types an EXPRESS
    execution (`express:<run>:*:*`)."""
    statements = [
        _allow(
            "StartRuns",
            ["states:StartExecution"],
            [run_state_machine_arn, state_machine_arn],
        ),
        _allow(
            "WaitForRuns",
            ["states:DescribeExecution", "states:StopExecution"],
            run_executions_arns,
        ),
        _allow("RunEndEvents", SYNC_EXECUTION_RULE_ACTIONS, [sync_rule_arn]),
    ]
    if tracing:
        statements.append(_allow("Tracing", XRAY_ACTIONS, ["*"]))
    if logging:
        statements.append(_allow("LogDelivery", LOG_DELIVERY_ACTIONS, ["*"]))
    return _doc(*statements)


def run_execution_arns(run_state_machine_arn: str) -> list[str]:
    """The ARN patterns of a run state machine's executions (`dispatcher_parent_policy`)."""
    prefix, name = run_state_machine_arn.split(":stateMachine:")
    return [f"{prefix}:execution:{name}:*", f"{prefix}:express:{name}:*:*"]


def scheduler_policy(state_machine_arn: str) -> Doc:
    return _doc(_allow("StartPoller", ["states:StartExecution"], [state_machine_arn]))


# What the account root may do with the component's key: administer it, never use it. Without
# usage actions here, no IAM policy in the account can grant use of the key; only the principals
# the key policy names can encrypt or decrypt with it.
KEY_ADMIN_ACTIONS = [
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:UpdateAlias",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:RevokeGrant",
    "kms:RetireGrant",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:UpdateKeyDescription",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]
# What the account root may do with the alarm topic's own key besides administering it: the key
# users' actions AWS documents for a symmetric key (Encrypt, Decrypt, ReEncrypt*,
# GenerateDataKey*, DescribeKey), spelled out. Publishing to the encrypted topic needs them, so
# IAM policies in the account can let principals publish (the topic policy lets the account).
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
KEY_USER_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GenerateDataKeyPair",
    "kms:GenerateDataKeyPairWithoutPlaintext",
    "kms:DescribeKey",
]
QUEUE_KEY_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]
# What the deploying principal does with the key through Lambda when it sets the function's
# environment (Lambda encrypts it and grants the execution role its use) and through Firehose
# when it creates the stream (Firehose creates a grant for itself; docs/aws-semantics.md K3, K4).
LAMBDA_ENVIRONMENT_KEY_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:CreateGrant",
    "kms:DescribeKey",
]
FIREHOSE_STREAM_KEY_ACTIONS = ["kms:CreateGrant", "kms:DescribeKey"]
# The dispatcher's lease: item writes on its own table (the optimized integrations it uses).
DISPATCH_TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
]
# What a principal needs on the customer managed key of a DynamoDB table it reads and writes, and
# what DynamoDB needs to set the table up ("How Amazon DynamoDB uses AWS KMS": Encrypt, Decrypt,
# ReEncrypt*, GenerateDataKey*, DescribeKey, CreateGrant), spelled out for a symmetric key.
TABLE_KEY_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
    "kms:CreateGrant",
]
# CloudWatch Logs' documented needs (Encrypt*, Decrypt*, ReEncrypt*, GenerateDataKey*, Describe*),
# spelled out for a symmetric key.
LOGS_KEY_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
]


def cloudwatch_alarms_use_key(account_id: str) -> dict[str, Any]:
    """Key policy statement: CloudWatch alarms of this account may publish to a topic encrypted
    with the key (the AWS-managed alias/aws/sns key does not allow it, and its policy is fixed)."""
    return {
        "Sid": "CloudWatchAlarmsPublishToTheTopic",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},  # confused deputy
    }


def _via_service(
    sid: str, actions: list[str], partition: str, region: str, account_id: str, service: str
) -> Doc:
    """The account's principals (as their IAM policies allow) may use the key, but only in
    requests `service` makes for them in this Region (kms:ViaService)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": actions,
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:ViaService": f"{service}.{region}.amazonaws.com",
                "kms:CallerAccount": account_id,
            }
        },
    }


def kms_key_policy(
    *,
    partition: str,
    region: str,
    account_id: str,
    role_arns: list[str],
    log_group_arns: list[str],
    alarm_topic: bool = False,
    lambda_environment: bool = False,
    firehose_stream: bool = False,
) -> Doc:
    """Key policy of the component's customer managed key ("*" as Resource means this key).

    The account administers the key; this processor's roles (`role_arns`, matched by
    `aws:PrincipalArn`, so the policy needs no role to exist yet, and their own policies must
    grant the use too) use it for the queues and the function's environment; principals of the
    account whose IAM policies allow it may use it through DynamoDB (the dispatch table: the
    dispatcher role, the deployer creating it); EventBridge (from this account) encrypts what it
    delivers to the queue and the rule DLQ; CloudWatch Logs may use it only for this processor's
    log groups (encryption context condition); with `lambda_environment` and `firehose_stream`,
    whoever deploys may have Lambda and Firehose use it (their grants); with `alarm_topic`,
    CloudWatch (alarms of this account) may publish to the encrypted alarm topic.
    """
    services = [
        *(
            [
                _via_service(
                    "LambdaEncryptsTheFunctionsEnvironment",
                    LAMBDA_ENVIRONMENT_KEY_ACTIONS,
                    partition,
                    region,
                    account_id,
                    "lambda",
                )
            ]
            if lambda_environment
            else []
        ),
        *(
            [
                _via_service(
                    "FirehoseEncryptsTheSplunkStream",
                    FIREHOSE_STREAM_KEY_ACTIONS,
                    partition,
                    region,
                    account_id,
                    "firehose",
                )
            ]
            if firehose_stream
            else []
        ),
    ]
    alarms = [cloudwatch_alarms_use_key(account_id)] if alarm_topic else []
    return _doc(
        {
            "Sid": "AccountAdministersTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "ProcessorRolesUseTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": QUEUE_KEY_ACTIONS,
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": role_arns}},
        },
        # IAM decides who may use the key through DynamoDB (the dispatcher role, the deployer
        # creating the table); nothing may use it through DynamoDB from elsewhere.
        _via_service(
            "AccountUsesTheKeyThroughDynamoDb",
            TABLE_KEY_ACTIONS,
            partition,
            region,
            account_id,
            "dynamodb",
        ),
        {
            "Sid": "EventBridgeDeliversToEncryptedQueues",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": QUEUE_KEY_ACTIONS,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
        },
        {
            "Sid": "CloudWatchLogsForThisProcessorsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{region}.amazonaws.com"},
            "Action": LOGS_KEY_ACTIONS,
            "Resource": "*",
            "Condition": {"ArnEquals": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}},
        },
        *services,
        *alarms,
    )


# --- the alarm topic ----------------------------------------------------------------------------


def alarm_topic_key_policy(account_id: str, partition: str) -> Doc:
    """Key policy of the alarm topic's own key. The account administers it (the same explicit
    actions as the component's key, never `kms:*`) and uses it, so the key is never
    unmanageable and IAM policies can let the account's principals publish; CloudWatch alarms
    of this account may use it to publish (the AWS-managed alias/aws/sns key does not allow
    that, and its policy is fixed)."""
    root = {"AWS": f"arn:{partition}:iam::{account_id}:root"}
    return _doc(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": root,
            "Action": KEY_ADMIN_ACTIONS,
            "Resource": "*",
        },
        {
            "Sid": "AccountUses",
            "Effect": "Allow",
            "Principal": root,
            "Action": KEY_USER_ACTIONS,
            "Resource": "*",
        },
        cloudwatch_alarms_use_key(account_id),
    )


def alarm_topic_policy(topic_arn: str, account_id: str, alarm_arn_prefix: str) -> Doc:
    """Only this processor's alarms may publish; the account keeps managing the topic."""
    return _doc(
        {
            "Sid": "AccountManages",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{topic_arn.split(':')[1]}:iam::{account_id}:root"},
            "Action": [
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:ListSubscriptionsByTopic",
                "sns:DeleteTopic",
                "sns:Publish",
            ],
            "Resource": topic_arn,
        },
        {
            "Sid": "ThisProcessorsAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"{alarm_arn_prefix}*"},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        },
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:*",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


# --- Splunk: the Firehose stream and the log subscriptions --------------------------------------


def firehose_policy(*, bucket_arn: str, secret_arn: str, log_group_arn: str) -> Doc:
    """The Firehose stream may back up failed events to its bucket, read the HEC token and log
    its own delivery errors."""
    return _doc(
        {
            "Sid": "BackUpFailedEvents",
            "Effect": "Allow",
            "Action": [
                "s3:AbortMultipartUpload",
                "s3:GetBucketLocation",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
                "s3:PutObject",
            ],
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
        },
        {
            "Sid": "ReadHecToken",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [secret_arn],
        },
        {
            "Sid": "OwnErrorLogs",
            "Effect": "Allow",
            "Action": ["logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
    )


def log_subscription_policy(stream_arn: str) -> Doc:
    """CloudWatch Logs may put the processor's log events into this Firehose stream only."""
    return _doc(
        {
            "Sid": "PutIntoStream",
            "Effect": "Allow",
            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
            "Resource": [stream_arn],
        }
    )


def logs_assume_role(account_id: str, partition: str, region: str) -> Doc:
    """CloudWatch Logs (regional principal) may assume the role, for this account's log groups."""
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"}
            },
        }
    )
