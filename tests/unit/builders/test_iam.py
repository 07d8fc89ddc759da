"""The IAM and resource policy documents of builders/iam.py, exactly, for given ARNs: every
statement, action, resource and condition, without Pulumi."""

from __future__ import annotations

from typing import Any

from s3ep_pulumi.builders import iam
from s3ep_pulumi.model.security import WILDCARD_RESOURCE_EXCEPTIONS

ACCOUNT = "123456789012"
REGION = "eu-west-1"
ARN = f"{REGION}:{ACCOUNT}"
BUCKET = "arn:aws:s3:::img-bucket"
QUEUE = f"arn:aws:sqs:{ARN}:img-queue"
DLQ = f"arn:aws:sqs:{ARN}:img-dlq"
TABLE = f"arn:aws:dynamodb:{ARN}:table/img-dispatch"
FUNCTION_DLQ = f"arn:aws:sqs:{ARN}:img-function-dlq"
RULE = f"arn:aws:events:{ARN}:rule/img-s3-events"
FUNCTION = f"arn:aws:lambda:{ARN}:function:img-processor"
LOG_GROUP = f"arn:aws:logs:{ARN}:log-group:/aws/lambda/img-processor"
DISPATCHER_LOG_GROUP = f"arn:aws:logs:{ARN}:log-group:/aws/vendedlogs/states/img-dispatcher"
STATE_MACHINE = f"arn:aws:states:{ARN}:stateMachine:img-dispatcher"
KEY = f"arn:aws:kms:{ARN}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BUCKET_KEY = f"arn:aws:kms:{ARN}:key/bbbbbbbb-12ab-34cd-56ef-1234567890ab"
ROLES = [f"arn:aws:iam::{ACCOUNT}:role/img-function-role"]

TLS_ONLY_CONDITION = {"Bool": {"aws:SecureTransport": "false"}}
XRAY_WRITE = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
XRAY_ALL = [*XRAY_WRITE, "xray:GetSamplingRules", "xray:GetSamplingTargets"]
LOG_DELIVERY = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]
VPC = iam.VpcAccess.of(
    partition="aws",
    region=REGION,
    account_id=ACCOUNT,
    subnet_ids=["subnet-0a1b", "subnet-0c2d"],
    security_group_ids=["sg-0e3f"],
)
ENIS = f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-interface/*"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


# --- trust policies -------------------------------------------------------------------------


def test_assume_role_trusts_one_service_from_this_account_only() -> None:
    assert iam.assume_role("scheduler.amazonaws.com", ACCOUNT) == doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        }
    )


def test_assume_role_with_a_source_arn_trusts_only_that_resource() -> None:
    assert iam.assume_role("states.amazonaws.com", ACCOUNT, STATE_MACHINE) == doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "states.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": STATE_MACHINE},
            },
        }
    )


def test_firehose_trust_uses_the_documented_external_id_of_this_account() -> None:
    # The Firehose guide's trust policy: sts:ExternalId = the account id. Whether Firehose sends
    # aws:SourceAccount is not documented; if it did not, a role conditioned on it could never
    # be assumed (docs/aws-semantics.md I2).
    assert iam.firehose_assume_role(ACCOUNT) == doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "firehose.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": ACCOUNT}},
        }
    )


def test_lambda_trust_policy_has_no_condition_lambda_could_not_meet() -> None:
    assert iam.lambda_assume_role() == doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )


# --- resource policies ----------------------------------------------------------------------


def test_deny_insecure_transport_denies_everyone_without_tls_on_the_given_resources() -> None:
    assert iam.deny_insecure_transport([QUEUE, DLQ], "sqs:*") == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": [QUEUE, DLQ],
        "Condition": TLS_ONLY_CONDITION,
    }


def test_bucket_policy_denies_non_tls_on_the_bucket_and_every_object() -> None:
    assert iam.bucket_policy(BUCKET) == doc(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [BUCKET, f"{BUCKET}/*"],
            "Condition": TLS_ONLY_CONDITION,
        }
    )


def test_queue_policy_without_a_rule_only_denies_non_tls() -> None:
    assert iam.queue_policy(DLQ, None) == doc(iam.deny_insecure_transport([DLQ], "sqs:*"))


def test_queue_policy_allows_only_this_rule_and_denies_non_tls() -> None:
    assert iam.queue_policy(QUEUE, RULE) == doc(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": [QUEUE],
            "Condition": TLS_ONLY_CONDITION,
        },
        {
            "Sid": "AllowThisRuleToSend",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": QUEUE,
            "Condition": {"ArnEquals": {"aws:SourceArn": RULE}},
        },
    )


# --- the function's role --------------------------------------------------------------------


def function_policy(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "log_group_arn": LOG_GROUP,
        "bucket_arn": BUCKET,
        "key_prefixes": [],
        "function_dlq_arn": FUNCTION_DLQ,
        "bucket_kms_key_arn": None,
        "tracing": False,
        "vpc": None,
    }
    return iam.function_policy(**{**args, **overrides})


def test_function_policy_by_default_writes_own_logs_reads_any_object_sends_to_own_dlq() -> None:
    assert function_policy() == doc(
        allow("OwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{LOG_GROUP}:*"]),
        allow("ReadSourceObjects", ["s3:GetObject", "s3:GetObjectVersion"], [f"{BUCKET}/*"]),
        allow("AsyncFailuresToOwnDlq", ["sqs:SendMessage"], [FUNCTION_DLQ]),
    )


def test_with_the_event_source_mapping_the_function_may_poll_its_queue_only() -> None:
    # Lambda polls with the execution role: the three actions the Lambda guide lists, on this
    # queue; with a customer key on the queues, decrypting is the DLQ key statement's
    assert function_policy(event_source_queue_arn=QUEUE, queue_kms_key_arn=KEY) == doc(
        allow("OwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{LOG_GROUP}:*"]),
        allow("ReadSourceObjects", ["s3:GetObject", "s3:GetObjectVersion"], [f"{BUCKET}/*"]),
        allow("AsyncFailuresToOwnDlq", ["sqs:SendMessage"], [FUNCTION_DLQ]),
        allow(
            "PollEventSourceQueue",
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            [QUEUE],
        ),
        allow("DlqKey", ["kms:Decrypt", "kms:GenerateDataKey"], [KEY]),
    )


def test_function_reads_only_objects_under_the_filtered_prefixes() -> None:
    read = by_sid(function_policy(key_prefixes=["uploads/", "incoming/raw-"]))["ReadSourceObjects"]
    assert read["Resource"] == [f"{BUCKET}/uploads/*", f"{BUCKET}/incoming/raw-*"]


def test_function_policy_adds_keys_tracing_and_vpc_in_this_order_then_extra_statements() -> None:
    extra = {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": ["arn:table"]}
    statements = function_policy(
        bucket_kms_key_arn=BUCKET_KEY,
        queue_kms_key_arn=KEY,
        tracing=True,
        vpc=VPC,
        extra_statements=[extra],
    )["Statement"]
    assert statements[3:] == [
        allow("DecryptSourceObjects", ["kms:Decrypt"], [BUCKET_KEY]),
        allow("DlqKey", ["kms:Decrypt", "kms:GenerateDataKey"], [KEY]),
        allow("Tracing", XRAY_WRITE, ["*"]),
        allow(
            "VpcCreateNetworkInterfaces",
            ["ec2:CreateNetworkInterface"],
            [
                ENIS,
                f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0a1b",
                f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/subnet-0c2d",
                f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/sg-0e3f",
            ],
        ),
        allow(
            "VpcManageNetworkInterfaces",
            [
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            [ENIS],
        ),
        allow("VpcDescribeNetworkInterfaces", ["ec2:DescribeNetworkInterfaces"], ["*"]),
        extra,
    ]


def test_function_tracing_writes_segments_but_does_not_read_sampling_rules() -> None:
    # Lambda samples; the function's SDK only sends what it traced.
    assert by_sid(function_policy(tracing=True))["Tracing"]["Action"] == XRAY_WRITE


def test_function_policy_takes_extra_statements_unchanged() -> None:
    extra = {"Sid": "Mine", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}
    assert function_policy(extra_statements=[extra])["Statement"][-1] is extra


# --- the dispatcher's and the scheduler's roles ---------------------------------------------


def dispatcher_policy(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "queue_arn": QUEUE,
        "dlq_arn": DLQ,
        "table_arn": TABLE,
        "function_arn": FUNCTION,
        "queue_kms_key_arn": None,
        "tracing": False,
        "logging": False,
    }
    return iam.dispatcher_policy(**{**args, **overrides})


def test_dispatcher_drains_its_queue_holds_its_lease_and_invokes_only_its_function() -> None:
    assert dispatcher_policy() == doc(
        allow(
            "DrainQueue",
            [
                "sqs:GetQueueAttributes",
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
            ],
            [QUEUE],
        ),
        allow("ParkMalformedMessages", ["sqs:SendMessage"], [DLQ]),
        allow(
            "HoldLease",
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
            [TABLE],
        ),
        allow("InvokeFunction", ["lambda:InvokeFunction"], [FUNCTION, f"{FUNCTION}:*"]),
    )


def test_dispatcher_policy_adds_the_queue_key_tracing_and_log_delivery() -> None:
    statements = dispatcher_policy(queue_kms_key_arn=KEY, tracing=True, logging=True)["Statement"]
    assert statements[4:] == [
        allow("QueueKey", ["kms:Decrypt", "kms:GenerateDataKey"], [KEY]),
        allow("Tracing", XRAY_ALL, ["*"]),
        allow("LogDelivery", LOG_DELIVERY, ["*"]),
    ]


def test_with_the_component_key_the_dispatcher_may_use_it_through_dynamodb_only() -> None:
    (statement,) = dispatcher_policy(table_kms_key_arn=KEY)["Statement"][4:]
    assert statement == {
        **allow("TableKey", iam.TABLE_KEY_ACTIONS, [KEY]),
        "Condition": {"StringLike": {"kms:ViaService": "dynamodb.*.amazonaws.com"}},
    }


def test_the_dispatcher_may_start_only_its_own_state_machine_to_hand_over() -> None:
    (statement,) = dispatcher_policy(state_machine_arn=STATE_MACHINE)["Statement"][4:]
    assert statement == allow("HandOver", ["states:StartExecution"], [STATE_MACHINE])


RUN = f"arn:aws:states:{ARN}:stateMachine:img-dispatcher-run"
RUN_EXECUTIONS = [
    f"arn:aws:states:{ARN}:execution:img-dispatcher-run:*",
    f"arn:aws:states:{ARN}:express:img-dispatcher-run:*:*",  # an EXPRESS execution's ARN
]
SYNC_RULE = f"arn:aws:events:{ARN}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"


def parent_policy(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "state_machine_arn": STATE_MACHINE,
        "run_state_machine_arn": RUN,
        "run_executions_arns": iam.run_execution_arns(RUN),
        "sync_rule_arn": SYNC_RULE,
        "tracing": False,
        "logging": False,
    }
    return iam.dispatcher_parent_policy(**{**args, **overrides})


def test_a_standard_parent_may_only_run_its_runs_wait_for_them_and_start_its_successor() -> None:
    # what startExecution.sync:2 needs (the Step Functions guide's policy for a synchronous
    # nested execution), and its own state machine for the successor; no queue, lease or function
    assert parent_policy() == doc(
        allow("StartRuns", ["states:StartExecution"], [RUN, STATE_MACHINE]),
        allow("WaitForRuns", ["states:DescribeExecution", "states:StopExecution"], RUN_EXECUTIONS),
        allow(
            "RunEndEvents",
            ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            [SYNC_RULE],
        ),
    )


def test_a_standard_parent_adds_tracing_and_log_delivery() -> None:
    assert parent_policy(tracing=True, logging=True)["Statement"][3:] == [
        allow("Tracing", XRAY_ALL, ["*"]),
        allow("LogDelivery", LOG_DELIVERY, ["*"]),
    ]


def test_scheduler_may_only_start_the_dispatcher() -> None:
    assert iam.scheduler_policy(STATE_MACHINE) == doc(
        allow("StartPoller", ["states:StartExecution"], [STATE_MACHINE])
    )


def test_every_action_granted_on_a_wildcard_resource_is_a_documented_exception() -> None:
    documents = [
        function_policy(tracing=True, vpc=VPC),
        dispatcher_policy(tracing=True, logging=True),
        parent_policy(tracing=True, logging=True),
    ]
    on_star = {
        action
        for d in documents
        for s in d["Statement"]
        if s["Resource"] == ["*"]
        for action in s["Action"]
    }
    assert on_star == set(WILDCARD_RESOURCE_EXCEPTIONS)


# --- the customer managed key ---------------------------------------------------------------


def key_policy(alarm_topic: bool = False) -> dict[str, Any]:
    return iam.kms_key_policy(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        role_arns=ROLES,
        log_group_arns=[LOG_GROUP, DISPATCHER_LOG_GROUP],
        alarm_topic=alarm_topic,
    )


def test_key_policy_lets_the_account_administer_the_key_but_never_use_it() -> None:
    admin = by_sid(key_policy())["AccountAdministersTheKey"]
    assert admin == {
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": iam.KEY_ADMIN_ACTIONS,
        "Resource": "*",
    }
    usage = {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom"}
    assert usage.isdisjoint(admin["Action"])
    assert len(admin["Action"]) == len(set(admin["Action"])) == 23


def test_key_policy_grants_use_to_the_roles_eventbridge_and_this_processors_log_groups() -> None:
    assert key_policy()["Statement"][1:] == [
        {
            # by ARN in a condition: the policy can be set before the roles exist (KMS rejects
            # a principal that does not), and survives a role recreated under the same name
            "Sid": "ProcessorRolesUseTheKey",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"ArnEquals": {"aws:PrincipalArn": ROLES}},
        },
        {
            "Sid": "AccountUsesTheKeyThroughDynamoDb",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": iam.TABLE_KEY_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com",
                    "kms:CallerAccount": ACCOUNT,
                }
            },
        },
        {
            "Sid": "EventBridgeDeliversToEncryptedQueues",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        },
        {
            "Sid": "CloudWatchLogsForThisProcessorsLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{REGION}.amazonaws.com"},
            "Action": [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:DescribeKey",
            ],
            "Resource": "*",
            "Condition": {
                "ArnEquals": {
                    "kms:EncryptionContext:aws:logs:arn": [LOG_GROUP, DISPATCHER_LOG_GROUP]
                }
            },
        },
    ]


def test_key_policy_lets_the_account_use_the_key_only_through_dynamodb_lambda_and_firehose() -> (
    None
):
    with_services = iam.kms_key_policy(
        partition="aws",
        region=REGION,
        account_id=ACCOUNT,
        role_arns=ROLES,
        log_group_arns=[LOG_GROUP],
        lambda_environment=True,
        firehose_stream=True,
    )
    table = with_services["Statement"][2]
    lambda_, firehose = with_services["Statement"][5:]
    root = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert (table["Sid"], table["Principal"]) == ("AccountUsesTheKeyThroughDynamoDb", root)
    assert (
        table["Condition"]["StringEquals"]["kms:ViaService"] == f"dynamodb.{REGION}.amazonaws.com"
    )
    assert lambda_ == {
        "Sid": "LambdaEncryptsTheFunctionsEnvironment",
        "Effect": "Allow",
        "Principal": root,
        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:CreateGrant", "kms:DescribeKey"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {
                "kms:ViaService": f"lambda.{REGION}.amazonaws.com",
                "kms:CallerAccount": ACCOUNT,
            }
        },
    }
    assert firehose["Action"] == ["kms:CreateGrant", "kms:DescribeKey"]
    assert firehose["Condition"]["StringEquals"]["kms:ViaService"] == (
        f"firehose.{REGION}.amazonaws.com"
    )


def test_key_policy_with_an_alarm_topic_lets_this_accounts_alarms_publish() -> None:
    with_topic, without = key_policy(alarm_topic=True), key_policy()
    assert with_topic["Statement"][:-1] == without["Statement"]
    assert with_topic["Statement"][-1] == iam.cloudwatch_alarms_use_key(ACCOUNT)


def test_cloudwatch_alarms_use_the_key_only_from_this_account() -> None:
    assert iam.cloudwatch_alarms_use_key(ACCOUNT) == {
        "Sid": "CloudWatchAlarmsPublishToTheTopic",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
    }


def test_key_policy_names_the_root_of_the_given_partition() -> None:
    policy = iam.kms_key_policy(
        partition="aws-cn",
        region="cn-north-1",
        account_id=ACCOUNT,
        role_arns=ROLES,
        log_group_arns=[LOG_GROUP],
    )
    admin = by_sid(policy)["AccountAdministersTheKey"]
    assert admin["Principal"] == {"AWS": f"arn:aws-cn:iam::{ACCOUNT}:root"}
