"""Every rule of the policy pack, passing and violated, called through pulumi_policy's own
`validate` with the argument objects the engine would pass (camelCase properties)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from s3ep_pulumi import policy as p
from s3ep_pulumi.model.security import WILDCARD_RESOURCE_EXCEPTIONS
from s3ep_pulumi.policy import tokens as t

ACCOUNT = "123456789012"
OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)


def res(type_token: str, logical: str, /, **props: Any) -> PolicyResource:
    """A resource as the engine sends it: logical name, URN, camelCase properties."""
    urn = f"urn:pulumi:t::s3ep::{type_token}::{logical}"
    return PolicyResource(type_token, props, urn, logical, OPTS, None, None, [], {})


def violations(
    rule: str, resources: list[PolicyResource], config: dict[str, Any] | None = None
) -> list[tuple[str, str]]:
    """(resource name, message) of each violation the rule's policy reports."""
    policy = p.RULES_BY_NAME[rule].policy()
    found: list[tuple[str, str]] = []
    by_urn = {r.urn: r.name for r in resources}
    if isinstance(policy, StackValidationPolicy):
        policy.validate(
            StackValidationArgs(resources, config),
            lambda message, urn=None: found.append((by_urn[urn], message)),
        )
        return found
    for r in resources:
        args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, OPTS, None, config)
        policy.validate(args, lambda message, urn=None, n=r.name: found.append((n, message)))
    return found


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def deny_plain_http(resource: str) -> dict[str, Any]:
    return {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "*",
        "Resource": resource,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def allow(actions: list[str], resources: list[str], sid: str = "S") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


BUCKET = t.BUCKETS[0]
BUCKET_ARN = "arn:aws:s3:::b"
QUEUE_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
DLQ_ARN = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q-dlq"
QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/q"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"
# The event source mapping the s3ep component declares (dispatch.engine: event_source_mapping).
S3EP_MAPPING = {
    "eventSourceArn": QUEUE_ARN,
    "functionName": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn:live",
    "batchSize": 10,
    "maximumBatchingWindowInSeconds": 0,
    "scalingConfig": {"maximumConcurrency": 10},
    "functionResponseTypes": ["ReportBatchItemFailures"],
    "enabled": True,
}
FOUR_FLAGS = dict.fromkeys(
    ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
)


def bucket() -> PolicyResource:
    return res(BUCKET, "b", bucket="b", arn=BUCKET_ARN)


def queue(logical: str, arn: str, **props: Any) -> PolicyResource:
    return res(t.QUEUE, logical, name=arn.rsplit(":", 1)[1], arn=arn, **props)


def redrive(target: str = DLQ_ARN) -> str:
    return json.dumps({"deadLetterTargetArn": target, "maxReceiveCount": 5})


def sm(tags: dict[str, str]) -> PolicyResource:
    return res(t.STATE_MACHINE, "sm", tags=tags)


TAGS = {"s3ep:processor": "images"}
IN_FLIGHT = {**TAGS, "s3ep:in-flight-worst-case-seconds": "277"}
GOOD_FN = {
    "name": "fn",
    "runtime": "python3.12",
    "deadLetterConfig": {"targetArn": DLQ_ARN},
    "tracingConfig": {"mode": "Active"},
    "environment": {"variables": {"TOKEN_PARAM": "arn:aws:ssm:us-east-1:1:parameter/t"}},
    "loggingConfig": {"logGroup": "/aws/lambda/fn"},
}
TRUST = {
    "Effect": "Allow",
    "Principal": {"Service": "states.amazonaws.com"},
    "Action": "sts:AssumeRole",
}
SCOPED = {"Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}
SEND = {
    "Effect": "Allow",
    "Principal": {"Service": "events.amazonaws.com"},
    "Action": "sqs:SendMessage",
}

# rule -> (resources that pass, resources that violate, the violations those report)
CASES: dict[str, tuple[list[PolicyResource], list[PolicyResource], list[tuple[str, str]]]] = {
    "s3-bucket-public-access-blocked": (
        [bucket(), res(t.PUBLIC_ACCESS_BLOCK, "pab", bucket="b", **FOUR_FLAGS)],
        [
            bucket(),
            res(
                t.PUBLIC_ACCESS_BLOCK,
                "pab",
                bucket="b",
                **{**FOUR_FLAGS, "ignorePublicAcls": False},
            ),
        ],
        [("b", "its public access block leaves ignorePublicAcls off")],
    ),
    "s3-bucket-encrypted": (
        [bucket(), res(t.BUCKET_SSE[0], "sse", bucket="b", rules=[{}])],
        [bucket(), res(t.BUCKET_SSE[0], "sse", bucket="other", rules=[{}])],
        [("b", "no default encryption configuration refers to this bucket")],
    ),
    "s3-bucket-tls-only": (
        [bucket(), res(t.BUCKET_POLICY, "bp", bucket="b", policy=doc(deny_plain_http(BUCKET_ARN)))],
        [
            bucket(),
            res(
                t.BUCKET_POLICY, "bp", bucket="b", policy=doc(allow(["s3:GetObject"], [BUCKET_ARN]))
            ),
        ],
        [("b", "no bucket policy denies aws:SecureTransport = false")],
    ),
    "s3-bucket-versioning": (
        [
            bucket(),
            res(
                t.BUCKET_VERSIONING[0],
                "v",
                bucket="b",
                versioningConfiguration={"status": "Enabled"},
            ),
        ],
        [
            bucket(),
            res(
                t.BUCKET_VERSIONING[0],
                "v",
                bucket="b",
                versioningConfiguration={"status": "Suspended"},
            ),
        ],
        [("b", "versioning is not enabled")],
    ),
    "s3-bucket-no-public-acl": (
        [res(t.BUCKET_ACL[1], "acl", bucket="b", acl="private")],
        [res(t.BUCKET_ACL[1], "acl", bucket="b", acl="public-read")],
        [("acl", "canned ACL 'public-read' grants access to everyone")],
    ),
    "s3-bucket-policy-no-public-principal": (
        [res(t.BUCKET_POLICY, "bp", policy=doc(deny_plain_http(BUCKET_ARN)))],
        [
            res(
                t.BUCKET_POLICY,
                "bp",
                policy=doc({**allow(["s3:GetObject"], [BUCKET_ARN], "Public"), "Principal": "*"}),
            )
        ],
        [("bp", "statement Public allows Principal '*'")],
    ),
    "sqs-queue-encrypted": (
        [
            queue("q", QUEUE_ARN, sqsManagedSseEnabled=True),
            queue("k", DLQ_ARN, kmsMasterKeyId="arn:aws:kms:us-east-1:1:key/k"),
        ],
        [queue("q", QUEUE_ARN, sqsManagedSseEnabled=False)],
        [("q", "neither sqsManagedSseEnabled nor kmsMasterKeyId is set")],
    ),
    "sqs-queue-no-aws-managed-key": (
        [queue("q", QUEUE_ARN, kmsMasterKeyId="arn:aws:kms:us-east-1:1:alias/mine")],
        [queue("q", QUEUE_ARN, kmsMasterKeyId="alias/aws/sqs")],
        [("q", "kmsMasterKeyId is the AWS managed key alias/aws/sqs")],
    ),
    "sqs-queue-tls-only": (
        [
            queue("q", QUEUE_ARN, url=QUEUE_URL),
            res(t.QUEUE_POLICY, "qp", queueUrl=QUEUE_URL, policy=doc(deny_plain_http(QUEUE_ARN))),
        ],
        [queue("q", QUEUE_ARN, url=QUEUE_URL)],
        [("q", "no queue policy denies aws:SecureTransport = false")],
    ),
    "sqs-queue-has-dlq": (
        [queue("q", QUEUE_ARN, redrivePolicy=redrive()), queue("dlq", DLQ_ARN)],
        [queue("q", QUEUE_ARN), queue("dlq", DLQ_ARN)],
        [
            ("q", "this queue is not a DLQ and has no redrivePolicy"),
            ("dlq", "this queue is not a DLQ and has no redrivePolicy"),
        ],
    ),
    "sqs-visibility-covers-dispatcher": (
        [
            sm(IN_FLIGHT),
            queue(
                "q", QUEUE_ARN, tags=TAGS, redrivePolicy=redrive(), visibilityTimeoutSeconds=277.0
            ),
        ],
        [
            sm(IN_FLIGHT),
            queue(
                "q", QUEUE_ARN, tags=TAGS, redrivePolicy=redrive(), visibilityTimeoutSeconds=60.0
            ),
        ],
        [
            (
                "q",
                "visibilityTimeoutSeconds 60 is below 277, the longest its dispatcher sm may "
                "hold a message",
            )
        ],
    ),
    "sqs-dlq-retention-exceeds-source": (
        [
            queue("q", QUEUE_ARN, redrivePolicy=redrive(), messageRetentionSeconds=345600.0),
            queue("dlq", DLQ_ARN, messageRetentionSeconds=1209600.0),
        ],
        [
            queue("q", QUEUE_ARN, redrivePolicy=redrive(), messageRetentionSeconds=1209600.0),
            queue("dlq", DLQ_ARN, messageRetentionSeconds=345600.0),
        ],
        [
            (
                "dlq",
                "messageRetentionSeconds 345600 does not exceed its source q's 1209600; dead "
                "letters keep their first enqueue time and would expire early",
            )
        ],
    ),
    "sqs-queue-policy-no-public-principal": (
        [res(t.QUEUE_POLICY, "qp", policy=doc({**SEND, "Resource": QUEUE_ARN, **SCOPED}))],
        [
            res(
                t.QUEUE_POLICY,
                "qp",
                policy=doc(
                    {**SEND, "Sid": "Any", "Principal": {"AWS": "*"}, "Resource": QUEUE_ARN}
                ),
            )
        ],
        [("qp", "statement Any allows Principal '*'")],
    ),
    "resource-policy-service-principal-scoped": (
        [
            res(
                t.QUEUE_POLICY,
                "qp",
                policy=doc(
                    {
                        **SEND,
                        "Resource": QUEUE_ARN,
                        "Condition": {
                            "ArnEquals": {"aws:SourceArn": "arn:aws:events:us-east-1:1:rule/r"}
                        },
                    }
                ),
            )
        ],
        [res(t.QUEUE_POLICY, "qp", policy=doc({**SEND, "Sid": "Send", "Resource": QUEUE_ARN}))],
        [
            (
                "qp",
                "statement Send allows events.amazonaws.com without an aws:SourceArn or "
                "aws:SourceAccount condition",
            )
        ],
    ),
    "lambda-dlq": (
        [res(t.FUNCTION, "fn", **GOOD_FN)],
        [res(t.FUNCTION, "fn", **{**GOOD_FN, "deadLetterConfig": None})],
        [("fn", "deadLetterConfig.targetArn is not set")],
    ),
    "lambda-tracing-active": (
        [res(t.FUNCTION, "fn", **GOOD_FN)],
        [res(t.FUNCTION, "fn", **{**GOOD_FN, "tracingConfig": {"mode": "PassThrough"}})],
        [("fn", "tracingConfig.mode is not Active")],
    ),
    "lambda-no-plaintext-secrets": (
        [res(t.FUNCTION, "fn", **GOOD_FN)],
        [
            res(
                t.FUNCTION,
                "fn",
                **{
                    **GOOD_FN,
                    "environment": {"variables": {"DB_PASSWORD": "hunter2", "STAGE": "dev"}},
                },
            )
        ],
        [("fn", "environment variable DB_PASSWORD holds a plaintext value")],
    ),
    "lambda-supported-runtime": (
        [res(t.FUNCTION, "fn", **GOOD_FN)],
        [res(t.FUNCTION, "fn", **{**GOOD_FN, "runtime": "python3.8"})],
        [("fn", "runtime python3.8 is deprecated")],
    ),
    "lambda-permission-scoped": (
        [res(t.PERMISSION, "perm", principal="s3.amazonaws.com", sourceArn=BUCKET_ARN)],
        [
            res(t.PERMISSION, "perm", principal="s3.amazonaws.com"),
            res(t.PERMISSION, "any", principal="*"),
        ],
        [
            ("perm", "s3.amazonaws.com may invoke without sourceArn or sourceAccount"),
            ("any", "principal is '*'"),
        ],
    ),
    "lambda-sqs-mapping-reports-batch-item-failures": (
        [
            # the s3ep mapping; a stream's mapping is not the rule's business
            res(t.EVENT_SOURCE_MAPPING, "ours", **S3EP_MAPPING),
            res(
                t.EVENT_SOURCE_MAPPING,
                "stream",
                eventSourceArn=f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/s",
                startingPosition="LATEST",
            ),
        ],
        [
            res(
                t.EVENT_SOURCE_MAPPING,
                "bad",
                **{k: v for k, v in S3EP_MAPPING.items() if k != "functionResponseTypes"},
            )
        ],
        [
            (
                "bad",
                "this SQS event source mapping has no ReportBatchItemFailures: Lambda ignores "
                "the function's batchItemFailures, so one failed message retries its whole batch "
                "(and a function that answers instead of raising has its failed messages "
                "deleted)",
            )
        ],
    ),
    "lambda-log-group-declared": (
        [res(t.FUNCTION, "fn", **GOOD_FN), res(t.LOG_GROUP, "lg", name="/aws/lambda/fn")],
        [res(t.FUNCTION, "fn", **{**GOOD_FN, "loggingConfig": None})],
        [
            (
                "fn",
                "its log group /aws/lambda/fn is not declared, so Lambda creates it without "
                "retention",
            )
        ],
    ),
    "sfn-logging-enabled": (
        [
            res(
                t.STATE_MACHINE,
                "sm",
                loggingConfiguration={"level": "ERROR", "logDestination": "arn:aws:logs:x:*"},
            )
        ],
        [
            res(t.STATE_MACHINE, "sm", loggingConfiguration={"level": "OFF"}),
            res(t.STATE_MACHINE, "nowhere", loggingConfiguration={"level": "ALL"}),
        ],
        [
            ("sm", "logging level OFF is not one of ALL, ERROR, FATAL"),
            ("nowhere", "loggingConfiguration.logDestination is not set"),
        ],
    ),
    "sfn-tracing-enabled": (
        [res(t.STATE_MACHINE, "sm", tracingConfiguration={"enabled": True})],
        [res(t.STATE_MACHINE, "sm", tracingConfiguration={"enabled": False})],
        [("sm", "tracingConfiguration.enabled is not true")],
    ),
    "dynamodb-pitr-enabled": (
        [res(t.DYNAMODB_TABLE, "lease", pointInTimeRecovery={"enabled": True})],
        [res(t.DYNAMODB_TABLE, "lease")],
        [("lease", "pointInTimeRecovery.enabled is not true")],
    ),
    "eventbridge-target-dlq": (
        [res(t.EVENT_TARGET, "t", arn=QUEUE_ARN, deadLetterConfig={"arn": DLQ_ARN})],
        [res(t.EVENT_TARGET, "t", arn=QUEUE_ARN)],
        [("t", "deadLetterConfig.arn is not set: undeliverable events are dropped")],
    ),
    "log-group-retention": (
        [res(t.LOG_GROUP, "lg", retentionInDays=30.0)],
        [res(t.LOG_GROUP, "lg"), res(t.LOG_GROUP, "zero", retentionInDays=0.0)],
        [
            ("lg", "retentionInDays is not set: logs are kept forever"),
            ("zero", "retentionInDays is not set: logs are kept forever"),
        ],
    ),
    "log-group-kms": (
        [res(t.LOG_GROUP, "lg", kmsKeyId="arn:aws:kms:us-east-1:1:key/k")],
        [res(t.LOG_GROUP, "lg")],
        [("lg", "kmsKeyId is not set")],
    ),
    "cloudwatch-alarm-has-action": (
        [res(t.METRIC_ALARM, "a", alarmActions=[TOPIC_ARN])],
        [
            res(t.METRIC_ALARM, "a", alarmActions=[]),
            res(t.METRIC_ALARM, "off", alarmActions=[TOPIC_ARN], actionsEnabled=False),
        ],
        [
            ("a", "alarmActions is empty: the alarm notifies nobody"),
            ("off", "actionsEnabled is false"),
        ],
    ),
    "sns-topic-encrypted": (
        [res(t.TOPIC, "t", kmsMasterKeyId="arn:aws:kms:us-east-1:1:key/k")],
        [res(t.TOPIC, "t")],
        [("t", "kmsMasterKeyId is not set")],
    ),
    "sns-alarm-topic-customer-key": (
        [
            res(t.TOPIC, "t", arn=TOPIC_ARN, kmsMasterKeyId="arn:aws:kms:us-east-1:1:key/k"),
            res(t.METRIC_ALARM, "a", alarmActions=[TOPIC_ARN]),
        ],
        [
            res(t.TOPIC, "t", arn=TOPIC_ARN, kmsMasterKeyId="alias/aws/sns"),
            res(t.METRIC_ALARM, "a", alarmActions=[TOPIC_ARN]),
        ],
        [
            (
                "t",
                "alarm a publishes here, but CloudWatch cannot use the AWS managed key "
                "alias/aws/sns",
            )
        ],
    ),
    "sns-topic-tls-only": (
        [
            res(t.TOPIC, "t", arn=TOPIC_ARN),
            res(t.TOPIC_POLICY, "tp", arn=TOPIC_ARN, policy=doc(deny_plain_http(TOPIC_ARN))),
        ],
        [res(t.TOPIC, "t", arn=TOPIC_ARN)],
        [("t", "no topic policy denies aws:SecureTransport = false")],
    ),
    "kms-key-rotation": (
        [
            res(t.KMS_KEY, "k", enableKeyRotation=True),
            res(t.KMS_KEY, "rsa", customerMasterKeySpec="RSA_2048"),
        ],
        [res(t.KMS_KEY, "k", enableKeyRotation=False)],
        [("k", "enableKeyRotation is not true")],
    ),
    "kms-key-policy-no-public-principal": (
        [
            res(
                t.KMS_KEY_POLICY,
                "kp",
                policy=doc(
                    {
                        **allow(["kms:DescribeKey"], ["*"]),
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                    }
                ),
            )
        ],
        [
            res(
                t.KMS_KEY_POLICY,
                "kp",
                policy=doc(
                    {**allow(["kms:Decrypt"], ["*"], "Everyone"), "Principal": {"AWS": ["*"]}}
                ),
            )
        ],
        [("kp", "statement Everyone allows Principal '*'")],
    ),
    "iam-no-wildcard-action": (
        [res(t.ROLE_POLICY, "rp", policy=doc(allow(["s3:GetObject"], [f"{BUCKET_ARN}/*"])))],
        [
            res(t.ROLE_POLICY, "rp", policy=doc(allow(["s3:*"], [f"{BUCKET_ARN}/*"], "Broad"))),
            res(
                t.ROLE_POLICY_ATTACHMENT,
                "admin",
                policyArn="arn:aws:iam::aws:policy/AdministratorAccess",
            ),
        ],
        [
            ("rp", "statement Broad allows s3:*"),
            ("admin", "attaches AdministratorAccess, which allows every action"),
        ],
    ),
    "iam-no-wildcard-resource": (
        [res(t.ROLE_POLICY, "rp", policy=doc(allow(["xray:PutTraceSegments"], ["*"])))],
        [
            res(
                t.ROLE_POLICY,
                "rp",
                policy=doc(allow(["xray:PutTraceSegments", "sqs:SendMessage"], ["*"], "Any")),
            )
        ],
        [("rp", "statement Any grants sqs:SendMessage on Resource '*'")],
    ),
    "iam-trust-confused-deputy": (
        [
            res(t.ROLE, "r", assumeRolePolicy=doc({**TRUST, **SCOPED})),
            res(
                t.ROLE,
                "fn",
                assumeRolePolicy=doc({**TRUST, "Principal": {"Service": "lambda.amazonaws.com"}}),
            ),
            # Firehose's documented trust: the account as external id
            res(
                t.ROLE,
                "firehose",
                assumeRolePolicy=doc(
                    {
                        **TRUST,
                        "Principal": {"Service": "firehose.amazonaws.com"},
                        "Condition": {"StringEquals": {"sts:ExternalId": ACCOUNT}},
                    }
                ),
            ),
        ],
        [
            res(t.ROLE, "r", assumeRolePolicy=doc(TRUST)),
            res(t.ROLE, "open", assumeRolePolicy=doc({**TRUST, "Principal": "*"})),
        ],
        [
            (
                "r",
                "states.amazonaws.com may assume the role without aws:SourceAccount/SourceArn "
                "(or sts:ExternalId)",
            ),
            ("open", "the trust policy lets any principal ('*') assume the role"),
        ],
    ),
    "iam-permissions-boundary": (
        [res(t.ROLE, "r", permissionsBoundary=f"arn:aws:iam::{ACCOUNT}:policy/b")],
        [res(t.ROLE, "r")],
        [("r", "permissionsBoundary is not set")],
    ),
    "iam-no-aws-managed-policies": (
        [res(t.ROLE_POLICY_ATTACHMENT, "a", policyArn=f"arn:aws:iam::{ACCOUNT}:policy/mine")],
        [
            res(
                t.ROLE_POLICY_ATTACHMENT,
                "a",
                policyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            )
        ],
        [("a", "attaches the AWS managed policy AmazonS3ReadOnlyAccess")],
    ),
}


def test_every_rule_has_a_passing_and_a_violating_case() -> None:
    assert set(CASES) == set(p.RULES_BY_NAME)
    assert len(p.RULES) >= 20


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_passes_a_compliant_configuration(rule: str) -> None:
    passing, _, _ = CASES[rule]
    assert violations(rule, passing) == []


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_reports_each_violation_at_its_resource(rule: str) -> None:
    _, violating, expected = CASES[rule]
    assert violations(rule, violating) == expected


def test_rules_cover_every_service_the_issue_names() -> None:
    prefixes = {r.name.split("-")[0] for r in p.RULES}
    assert {"s3", "sqs", "lambda", "sfn", "eventbridge", "log", "sns", "kms", "iam"} <= prefixes


def test_every_description_cites_its_anchor_and_says_how_to_fix() -> None:
    for rule in p.RULES:
        cites = ", ".join(rule.anchors) or "no established rule"
        assert f"[{cites}]. Fix: " in rule.description, rule.name
        assert all(a.startswith(("AwsSolutions-", "CKV_AWS_")) for a in rule.anchors), rule.name


def test_policies_carry_their_enforcement_level_and_config_schema() -> None:
    by_name = {policy.name: policy for policy in p.POLICIES}
    assert by_name["sqs-queue-encrypted"].enforcement_level == EnforcementLevel.MANDATORY
    assert by_name["log-group-kms"].enforcement_level == EnforcementLevel.ADVISORY
    schema = by_name["iam-trust-confused-deputy"].config_schema
    assert schema is not None
    assert schema.properties["exemptServices"]["default"] == ["lambda.amazonaws.com"]


def test_config_tunes_a_rule() -> None:
    role = res(
        t.ROLE,
        "fn",
        assumeRolePolicy=doc({**TRUST, "Principal": {"Service": "lambda.amazonaws.com"}}),
    )
    assert violations("iam-trust-confused-deputy", [role], {"exemptServices": []}) == [
        (
            "fn",
            "lambda.amazonaws.com may assume the role without aws:SourceAccount/SourceArn "
            "(or sts:ExternalId)",
        )
    ]
    machine = res(
        t.STATE_MACHINE, "sm", loggingConfiguration={"level": "ERROR", "logDestination": "x"}
    )
    assert violations("sfn-logging-enabled", [machine], {"allowedLevels": ["ALL"]}) == [
        ("sm", "logging level ERROR is not one of ALL")
    ]


def test_wildcard_resource_rule_allows_exactly_the_documented_exceptions() -> None:
    statement = allow(sorted(WILDCARD_RESOURCE_EXCEPTIONS), ["*"])
    assert (
        violations("iam-no-wildcard-resource", [res(t.ROLE_POLICY, "rp", policy=doc(statement))])
        == []
    )


def test_stack_rules_pair_resources_by_the_engines_property_dependencies() -> None:
    # During `pulumi preview` a new bucket's name is unknown; the engine still says which
    # resource a property came from.
    b = res(BUCKET, "b")
    block = res(t.PUBLIC_ACCESS_BLOCK, "pab", **FOUR_FLAGS)
    block.property_dependencies["bucket"] = [b]
    assert violations("s3-bucket-public-access-blocked", [b, block]) == []
