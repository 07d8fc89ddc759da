"""Secure defaults of the component: keys, TLS, boundaries, confused-deputy conditions."""

from __future__ import annotations

import pytest
from helpers import config, evaluate
from pydantic import ValidationError

from s3ep_pulumi import S3EventProcessorArgs
from s3ep_pulumi.builders.iam import KEY_ADMIN_ACTIONS, LOGS_KEY_ACTIONS
from s3ep_pulumi.local.capture import ACCOUNT_ID, REGION, Capture

KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BOUNDARY = f"arn:aws:iam::{ACCOUNT_ID}:policy/workload-boundary"


def test_every_queue_denies_requests_without_tls(minimal: Capture) -> None:
    queues = {q.state["url"]: q.name for q in minimal.of_type("aws:sqs/queue:Queue")}
    protected = {}
    for policy in minimal.of_type("aws:sqs/queuePolicy:QueuePolicy"):
        deny = policy.prop("policy")["Statement"][0]
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, policy.name
        protected[queues[policy.inputs["queueUrl"]]] = deny["Effect"]
    assert protected == {
        "images-queue": "Deny",
        "images-dlq": "Deny",
        "images-rule-dlq": "Deny",
        "images-function-dlq": "Deny",
    }


def test_no_resource_policy_allows_a_wildcard_principal(minimal: Capture) -> None:
    for type_token in ("aws:sqs/queuePolicy:QueuePolicy", "aws:s3/bucketPolicy:BucketPolicy"):
        for policy in minimal.of_type(type_token):
            for s in policy.prop("policy")["Statement"]:
                assert s["Principal"] != "*" or s["Effect"] == "Deny", policy.name


def test_permissions_boundary_is_applied_to_every_role() -> None:
    capture = evaluate(config(security={"permissions_boundary_arn": BOUNDARY}))
    roles = capture.of_type("aws:iam/role:Role")
    assert {r.name: r.inputs["permissionsBoundary"] for r in roles} == {
        "images-function-role": BOUNDARY,
        "images-dispatcher-role": BOUNDARY,
        "images-scheduler-role": BOUNDARY,
    }


def test_no_key_is_created_by_default(minimal: Capture) -> None:
    # only the alarm topic's own key (docs/operations.md): nothing for queues or logs
    assert [k.name for k in minimal.of_type("aws:kms/key:Key")] == ["images-alarms-key"]
    assert minimal.of_type("aws:kms/keyPolicy:KeyPolicy") == []


def test_created_key_rotates_encrypts_every_queue_and_admits_exactly_its_users() -> None:
    capture = evaluate(config(security={"create_kms_key": True}))
    key = capture.one("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    key_arn = key.state["arn"]
    for queue in capture.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["kmsMasterKeyId"] == key_arn, queue.name
    policy = capture.one("aws:kms/keyPolicy:KeyPolicy")
    assert policy.inputs["keyId"] == key_arn
    admin, roles, table, events, logs, lambda_, alarms = policy.prop("policy")["Statement"]
    assert lambda_["Sid"] == "LambdaEncryptsTheFunctionsEnvironment"  # the function's environment
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert admin["Action"] == KEY_ADMIN_ACTIONS
    assert not any(
        a in KEY_ADMIN_ACTIONS for a in ("kms:Decrypt", "kms:Encrypt", "kms:CreateGrant")
    )
    assert roles["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert roles["Condition"] == {
        "ArnEquals": {
            "aws:PrincipalArn": [
                f"arn:aws:iam::{ACCOUNT_ID}:role/img-function-role",
                f"arn:aws:iam::{ACCOUNT_ID}:role/img-dispatcher-role",
            ]
        }
    }
    assert roles["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    # the key policy names no role as a principal, so the roles' own policies grant the use too
    for role in ("images-function-policy", "images-dispatcher-policy"):
        statements = capture.by_name(role).prop("policy")["Statement"]
        assert any(s["Resource"] == [key_arn] for s in statements), role
    # the dispatch table: whoever IAM lets, but only through DynamoDB in this account
    assert table["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert table["Condition"] == {
        "StringEquals": {
            "kms:ViaService": f"dynamodb.{REGION}.amazonaws.com",
            "kms:CallerAccount": ACCOUNT_ID,
        }
    }
    dispatch = capture.one("aws:dynamodb/table:Table")
    assert dispatch.inputs["serverSideEncryption"] == {"enabled": True, "kmsKeyArn": key_arn}
    (key_grant,) = [
        s
        for s in capture.one("aws:iam/rolePolicy:RolePolicy", "images-dispatcher-policy").prop(
            "policy"
        )["Statement"]
        if s["Sid"] == "TableKey"
    ]
    assert key_grant["Resource"] == [key_arn]
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    assert logs["Action"] == LOGS_KEY_ACTIONS
    assert logs["Condition"] == {
        "ArnEquals": {
            "kms:EncryptionContext:aws:logs:arn": [
                f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/lambda/img-processor",
                f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/vendedlogs/states/img-dispatcher",
            ]
        }
    }
    # the same key encrypts the alarm topic (no second key), and CloudWatch may publish to it
    topic = capture.one("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"] == key_arn
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}


def test_created_key_and_a_named_queue_key_conflict() -> None:
    with pytest.raises(ValidationError) as exc_info:
        S3EventProcessorArgs.model_validate(
            config(queue={"kms_key_arn": KEY}, security={"create_kms_key": True})
        )
    assert [(e["loc"], e["msg"]) for e in exc_info.value.errors(include_url=False)] == [
        (
            ("security", "create_kms_key"),
            "queue.kms_key_arn already names the key for the queues; remove one of the two",
        )
    ]


def test_function_role_may_use_the_queue_key_for_its_own_dlq() -> None:
    capture = evaluate(config(queue={"kms_key_arn": KEY}))
    statements = capture.one("aws:iam/rolePolicy:RolePolicy", "images-function-policy").prop(
        "policy"
    )["Statement"]
    (dlq_key,) = [s for s in statements if s.get("Sid") == "DlqKey"]
    assert dlq_key["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert dlq_key["Resource"] == [KEY]


def test_extra_statements_are_validated_as_iam_statements() -> None:
    bad = {"Effect": "Permit", "Action": "s3 GetObject", "Resource": [], "Principal": "*"}
    with pytest.raises(ValidationError) as exc_info:
        S3EventProcessorArgs.model_validate(
            config(
                function={
                    "source_dir": "functions/process_object",
                    "handler": "app.handler",
                    "extra_policy_statements": [bad],
                }
            )
        )
    locs = [e["loc"] for e in exc_info.value.errors(include_url=False)]
    prefix = ("function", "extra_policy_statements", 0)
    assert locs == [
        (*prefix, "Effect"),
        (*prefix, "Action", 0),
        (*prefix, "Resource"),
        (*prefix, "Principal"),
    ]


def test_extra_statements_reach_the_function_role_unchanged() -> None:
    statement = {
        "Sid": "WriteResults",
        "Effect": "Allow",
        "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::out/*",
    }
    capture = evaluate(
        config(
            function={
                "source_dir": "functions/process_object",
                "handler": "app.handler",
                "extra_policy_statements": [statement],
            }
        )
    )
    policy = capture.one("aws:iam/rolePolicy:RolePolicy", "images-function-policy").prop("policy")
    assert policy["Statement"][-1] == {
        "Sid": "WriteResults",
        "Effect": "Allow",
        "Action": ["s3:PutObject"],
        "Resource": ["arn:aws:s3:::out/*"],
    }


# --- the processor's customer key beyond the queues -------------------------------------------

SPLUNK_HEC = {
    "hec_endpoint": "https://http-inputs-acme.splunkcloud.com",
    "hec_token_secret_arn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:hec-AbC123",
    "failed_events_bucket_arn": "arn:aws:s3:::acme-splunk-failed",
}
LOG_GROUPS = {
    "images-function-logs": "/aws/lambda/img-processor",
    "images-dispatcher-logs": "/aws/vendedlogs/states/img-dispatcher",
    "images-splunk-logs": "/aws/kinesisfirehose/img-splunk",
}


def encrypted_by(capture: Capture, key_arn: str) -> None:
    """Every log group, the function's environment and the Splunk stream use `key_arn`."""
    for name in LOG_GROUPS:
        assert capture.by_name(name).inputs["kmsKeyId"] == key_arn, name
    assert capture.by_name("images-function").inputs["kmsKeyArn"] == key_arn
    assert capture.by_name("images-splunk").inputs["serverSideEncryption"] == {
        "enabled": True,
        "keyType": "CUSTOMER_MANAGED_CMK",
        "keyArn": key_arn,
    }
    # the function decrypts its environment with its role
    statements = capture.by_name("images-function-policy").prop("policy")["Statement"]
    (environment,) = [s for s in statements if s.get("Sid") == "EnvironmentKey"]
    assert (environment["Action"], environment["Resource"]) == (["kms:Decrypt"], [key_arn])


def test_the_created_key_encrypts_log_groups_the_environment_and_the_splunk_stream() -> None:
    capture = evaluate(config(security={"create_kms_key": True}, monitoring={"splunk": SPLUNK_HEC}))
    key_arn = capture.one("aws:kms/key:Key", "images-key").state["arn"]
    encrypted_by(capture, key_arn)
    policy = capture.one("aws:kms/keyPolicy:KeyPolicy")
    statements = {s["Sid"]: s for s in policy.prop("policy")["Statement"]}
    # CloudWatch Logs may use it for exactly these three log groups
    logs = statements["CloudWatchLogsForThisProcessorsLogGroups"]["Condition"]
    assert logs["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == [
        f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{group}" for group in LOG_GROUPS.values()
    ]
    # the deployer may have Lambda and Firehose use it (their grants), only through them; the
    # dispatch table's users only through DynamoDB (see the created-key test above)
    via = {
        sid: (s["Action"], s["Condition"]["StringEquals"])
        for sid, s in statements.items()
        if "kms:ViaService" in s.get("Condition", {}).get("StringEquals", {})
        and sid != "AccountUsesTheKeyThroughDynamoDb"
    }
    assert via == {
        "LambdaEncryptsTheFunctionsEnvironment": (
            ["kms:Encrypt", "kms:Decrypt", "kms:CreateGrant", "kms:DescribeKey"],
            {"kms:ViaService": f"lambda.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT_ID},
        ),
        "FirehoseEncryptsTheSplunkStream": (
            ["kms:CreateGrant", "kms:DescribeKey"],
            {
                "kms:ViaService": f"firehose.{REGION}.amazonaws.com",
                "kms:CallerAccount": ACCOUNT_ID,
            },
        ),
    }
    # AWS checks the key policy when each of them is created: they wait for it
    for name in (*LOG_GROUPS, "images-function", "images-splunk"):
        assert policy.urn in capture.by_name(name).dependencies, name


def test_a_given_processor_key_is_used_like_the_created_one_and_no_key_is_created() -> None:
    capture = evaluate(config(security={"kms_key_arn": KEY}, monitoring={"splunk": SPLUNK_HEC}))
    encrypted_by(capture, KEY)
    for queue in capture.of_type("aws:sqs/queue:Queue"):
        assert queue.inputs["kmsMasterKeyId"] == KEY, queue.name
    assert [k.name for k in capture.of_type("aws:kms/key:Key")] == ["images-alarms-key"]
    assert capture.of_type("aws:kms/keyPolicy:KeyPolicy") == []


def test_without_a_processor_key_logs_environment_and_stream_use_aws_keys(minimal: Capture) -> None:
    capture = evaluate(config(monitoring={"splunk": SPLUNK_HEC}))
    for name in LOG_GROUPS:
        assert "kmsKeyId" not in capture.by_name(name).inputs, name
    assert "kmsKeyArn" not in capture.by_name("images-function").inputs
    assert capture.by_name("images-splunk").inputs["serverSideEncryption"] == {
        "enabled": True,
        "keyType": "AWS_OWNED_CMK",
    }
