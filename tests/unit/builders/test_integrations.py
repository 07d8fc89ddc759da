"""Logs, tracing and the optional Dynatrace and Splunk integrations, on and off."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import config, evaluate

from s3ep_pulumi.local.capture import ACCOUNT_ID, REGION, Capture, fake_secret, run_program

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
FILTER = "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter"
FIREHOSE = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
LAYER = "arn:aws:lambda:us-east-1:725887861453:layer:Dynatrace_OneAgent_1_300_0_python:1"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:dynatrace-token-AbCdEf"
PARAMETER = f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter/dynatrace/token"
HEC_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:splunk-hec-XyZ123"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"  # pulumi's marker of a secret value


def dynatrace(**token: str) -> dict[str, Any]:
    return {
        "layer_arn": LAYER,
        "tenant": "abc12345",
        "cluster_id": "-1234567",
        "connection_base_url": "https://abc12345.live.dynatrace.com",
        **token,
    }


def plaintext_occurrences(value: Any, needle: str, path: str = "") -> list[str]:
    """Paths where `needle` appears outside a value marked secret."""
    if isinstance(value, dict):
        if SECRET_SIG in value.values():
            return []
        return [
            p for k, v in value.items() for p in plaintext_occurrences(v, needle, f"{path}.{k}")
        ]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in plaintext_occurrences(v, needle, path)]
    return [path] if isinstance(value, str) and needle in value else []


def secret_value(value: Any) -> Any:
    assert isinstance(value, dict) and SECRET_SIG in value.values(), "not a secret"
    return value["value"]


# --- logs and tracing ---------------------------------------------------------------------------


def test_log_groups_keep_logs_for_a_bounded_time_by_default(minimal: Capture) -> None:
    retention = {r.inputs["name"]: r.inputs["retentionInDays"] for r in minimal.of_type(LOG_GROUP)}
    assert retention == {
        "/aws/lambda/img-processor": 30,
        "/aws/vendedlogs/states/img-dispatcher": 30,
    }
    assert all("kmsKeyId" not in r.inputs for r in minimal.of_type(LOG_GROUP))


def test_dispatcher_has_its_own_retention_and_both_groups_take_a_kms_key() -> None:
    capture = evaluate(
        config(monitoring={"dispatcher_log_retention_days": 7, "log_kms_key_arn": KEY})
    )
    groups = {r.inputs["name"]: r.inputs for r in capture.of_type(LOG_GROUP)}
    assert groups["/aws/vendedlogs/states/img-dispatcher"]["retentionInDays"] == 7
    assert groups["/aws/lambda/img-processor"]["retentionInDays"] == 30
    assert {g["kmsKeyId"] for g in groups.values()} == {KEY}


def test_tracing_and_dispatcher_logging_follow_their_settings() -> None:
    capture = evaluate(
        config(
            function={"tracing": False},
            dispatch={"tracing": False, "log_level": "ALL", "include_execution_data": True},
        )
    )
    function = capture.one("aws:lambda/function:Function")
    assert function.inputs["tracingConfig"] == {"mode": "PassThrough"}
    machine = capture.one("aws:sfn/stateMachine:StateMachine")
    assert machine.inputs["tracingConfiguration"] == {"enabled": False}
    assert machine.inputs["loggingConfiguration"]["level"] == "ALL"
    assert machine.inputs["loggingConfiguration"]["includeExecutionData"] is True


# --- Dynatrace ----------------------------------------------------------------------------------


def test_without_dynatrace_the_function_has_no_layer_and_a_plain_environment(
    minimal: Capture,
) -> None:
    function = minimal.one("aws:lambda/function:Function")
    assert "layers" not in function.inputs
    assert function.inputs["environment"] == {
        "variables": {"POWERTOOLS_SERVICE_NAME": "images", "S3EP_HANDLER": "app.handler"}
    }


@pytest.mark.parametrize("source", [SECRET, PARAMETER])
def test_dynatrace_adds_its_layer_and_environment_with_the_token_only_as_a_secret(
    source: str,
) -> None:
    capture = evaluate(
        config(
            function={"layers": ["arn:aws:lambda:us-east-1:123456789012:layer:utils:3"]},
            monitoring={"dynatrace": dynatrace(token_secret_arn=source)},
        )
    )
    function = capture.one("aws:lambda/function:Function")
    assert function.inputs["layers"] == [
        "arn:aws:lambda:us-east-1:123456789012:layer:utils:3",
        LAYER,
    ]
    assert secret_value(function.inputs["environment"])["variables"] == {
        "POWERTOOLS_SERVICE_NAME": "images",
        "S3EP_HANDLER": "app.handler",
        "AWS_LAMBDA_EXEC_WRAPPER": "/opt/dynatrace",
        "DT_TENANT": "abc12345",
        "DT_CLUSTER_ID": "-1234567",
        "DT_CONNECTION_BASE_URL": "https://abc12345.live.dynatrace.com",
        "DT_CONNECTION_AUTH_TOKEN": fake_secret(source),
    }
    for r in capture.resources:
        assert plaintext_occurrences(r.inputs, fake_secret(source)) == [], r.name


def test_dynatrace_token_from_a_pulumi_secret_config_value_stays_secret() -> None:
    from s3ep_pulumi import S3EventProcessor

    token = "dt0a01.abc12345.s3cr3t-value"
    capture = run_program(
        lambda: S3EventProcessor(
            "images", config(monitoring={"dynatrace": dynatrace(token_config_key="s3ep:dtToken")})
        ),
        config={"s3ep:dtToken": token},
    )
    function = capture.one("aws:lambda/function:Function")
    variables = secret_value(function.inputs["environment"])["variables"]
    assert variables["DT_CONNECTION_AUTH_TOKEN"] == token
    for r in capture.resources:
        assert plaintext_occurrences(r.inputs, token) == [], r.name
        assert plaintext_occurrences(r.state, token) == [], r.name
    assert token not in json.dumps(capture.outputs)


# --- Splunk -------------------------------------------------------------------------------------


def splunk_hec() -> dict[str, Any]:
    return {
        "hec_endpoint": "https://http-inputs-acme.splunkcloud.com",
        "hec_token_secret_arn": HEC_SECRET,
        "failed_events_bucket_arn": "arn:aws:s3:::acme-splunk-failed",
    }


def test_without_splunk_nothing_is_subscribed(minimal: Capture) -> None:
    assert minimal.of_type(FILTER) == []
    assert minimal.of_type(FIREHOSE) == []


def test_splunk_hec_gets_a_firehose_stream_and_every_log_group_subscribed() -> None:
    capture = evaluate(config(monitoring={"splunk": splunk_hec()}))
    stream = capture.one(FIREHOSE)
    stream_arn = f"arn:aws:firehose:{REGION}:{ACCOUNT_ID}:deliverystream/img-splunk"
    assert stream.inputs["destination"] == "splunk"
    splunk = stream.inputs["splunkConfiguration"]
    assert splunk["hecEndpoint"] == "https://http-inputs-acme.splunkcloud.com"
    assert splunk["hecEndpointType"] == "Event"
    assert "hecToken" not in splunk
    assert splunk["secretsManagerConfiguration"] == {
        "enabled": True,
        "secretArn": HEC_SECRET,
        "roleArn": f"arn:aws:iam::{ACCOUNT_ID}:role/img-firehose-role",
    }
    assert splunk["s3BackupMode"] == "FailedEventsOnly"
    assert splunk["s3Configuration"]["bucketArn"] == "arn:aws:s3:::acme-splunk-failed"
    assert [p["type"] for p in splunk["processingConfiguration"]["processors"]] == [
        "Decompression",
        "CloudWatchLogProcessing",
    ]
    filters = {f.inputs["logGroup"]: f.inputs for f in capture.of_type(FILTER)}
    assert set(filters) == {"/aws/lambda/img-processor", "/aws/vendedlogs/states/img-dispatcher"}
    for group, f in filters.items():
        assert f["destinationArn"] == stream_arn, group
        assert f["roleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/img-log-sub-role", group
        assert f["filterPattern"] == "", group


def test_splunk_roles_grant_exactly_what_each_hop_needs() -> None:
    capture = evaluate(config(monitoring={"splunk": splunk_hec()}))
    stream_arn = f"arn:aws:firehose:{REGION}:{ACCOUNT_ID}:deliverystream/img-splunk"
    sub = capture.one("aws:iam/rolePolicy:RolePolicy", "images-log-subscription-policy")
    (put,) = sub.prop("policy")["Statement"]
    assert (put["Action"], put["Resource"]) == (
        ["firehose:PutRecord", "firehose:PutRecordBatch"],
        [stream_arn],
    )
    trust = capture.one("aws:iam/role:Role", "images-log-subscription-role")
    (statement,) = trust.prop("assumeRolePolicy")["Statement"]
    assert statement["Principal"] == {"Service": "logs.amazonaws.com"}
    assert statement["Condition"] == {
        "StringLike": {"aws:SourceArn": f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:*"}
    }
    firehose = capture.one("aws:iam/rolePolicy:RolePolicy", "images-firehose-policy")
    grants = {s["Sid"]: s["Resource"] for s in firehose.prop("policy")["Statement"]}
    assert grants == {
        "BackUpFailedEvents": [
            "arn:aws:s3:::acme-splunk-failed",
            "arn:aws:s3:::acme-splunk-failed/*",
        ],
        "ReadHecToken": [HEC_SECRET],
        "OwnErrorLogs": [
            f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/kinesisfirehose/img-splunk:*"
        ],
    }


def test_existing_logs_destination_needs_no_stream_and_no_role() -> None:
    destination = "arn:aws:logs:us-east-1:999988887777:destination:splunk-central"
    capture = evaluate(config(monitoring={"splunk": {"destination_arn": destination}}))
    assert capture.of_type(FIREHOSE) == []
    filters = capture.of_type(FILTER)
    assert len(filters) == 2
    for f in filters:
        assert f.inputs["destinationArn"] == destination
        assert "roleArn" not in f.inputs


def test_existing_firehose_destination_gets_the_subscription_role() -> None:
    destination = f"arn:aws:firehose:{REGION}:{ACCOUNT_ID}:deliverystream/central-splunk"
    capture = evaluate(config(monitoring={"splunk": {"destination_arn": destination}}))
    assert capture.of_type(FIREHOSE) == []
    for f in capture.of_type(FILTER):
        assert f.inputs["roleArn"] == f"arn:aws:iam::{ACCOUNT_ID}:role/img-log-sub-role"
    sub = capture.one("aws:iam/rolePolicy:RolePolicy", "images-log-subscription-policy")
    assert sub.prop("policy")["Statement"][0]["Resource"] == [destination]
