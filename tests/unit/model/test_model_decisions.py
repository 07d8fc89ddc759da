"""Every decision the component reads from the model: exact values, one behaviour per test."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import config

from s3ep_pulumi import S3EventProcessorArgs
from s3ep_pulumi.builders import iam, integrations
from s3ep_pulumi.builders.alarms import AlarmTargets, alarm_specs
from s3ep_pulumi.errors import ConfigError
from s3ep_pulumi.model import limits, resources
from s3ep_pulumi.model.naming import Names
from s3ep_pulumi.model.sections import (
    FUNCTION_LOG_FORMAT,
    SCHEDULE_FLEXIBLE_WINDOW,
    SCHEDULE_INPUT,
    SCHEDULE_RETRY_ATTEMPTS,
    UNRESERVED_CONCURRENCY,
)

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TOPIC = "arn:aws:sns:us-east-1:123456789012:ops-alarms"
EXISTING_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:legacy"
LAYER = "arn:aws:lambda:us-east-1:725887861453:layer:Dynatrace_OneAgent_1_300_0_python:1"
DYNATRACE = {
    "layer_arn": LAYER,
    "tenant": "abc12345",
    "cluster_id": "-1234567",
    "connection_base_url": "https://abc12345.live.dynatrace.com",
}
HEC = {
    "hec_endpoint": "https://http-inputs-acme.splunkcloud.com",
    "hec_token_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hec-AbC123",
    "failed_events_bucket_arn": "arn:aws:s3:::acme-splunk-failed",
}
# Every alarm setting of AlarmsConfig, switched off.
NO_ALARM = {
    key: {"enabled": False}
    for key in (
        "queue_depth",
        "oldest_message_age",
        "dlq_messages",
        "rule_failed_invocations",
        "function_errors",
        "function_throttles",
        "function_duration",
        "dispatcher_failed",
        "dispatcher_timed_out",
        "dispatcher_aborted",
        "dispatcher_throttled",
    )
}


def args(**sections: Any) -> S3EventProcessorArgs:
    return S3EventProcessorArgs.model_validate(config(**sections))


def existing_function(**sections: Any) -> S3EventProcessorArgs:
    dispatch = {"engine": "step_functions", **sections.pop("dispatch", {})}
    return S3EventProcessorArgs.model_validate(
        {
            "name_prefix": "img",
            "function": {"existing_function_arn": EXISTING_FUNCTION},
            "dispatch": dispatch,
            **sections,
        }
    )


# --- limits and names ---------------------------------------------------------------------------


def test_eventbridge_target_retries_are_the_aws_maxima() -> None:
    assert limits.EVENTBRIDGE_TARGET_EVENT_AGE_MAX_SECONDS == 86_400
    assert limits.EVENTBRIDGE_TARGET_RETRY_ATTEMPTS_MAX == 185


def test_fixed_names_of_one_processor() -> None:
    n = Names.derive("img", "img-processor")
    assert (n.function_alias, n.rule_target) == ("live", "queue")
    assert (n.firehose_log_stream, n.firehose_backup_prefix) == (
        "DestinationDelivery",
        "img-splunk/",
    )


def test_email_subscription_is_named_by_a_digest_of_the_address() -> None:
    assert Names.email_subscription("oncall-data@acme.example") == "alarms-email-fc731b6c"


# --- bucket -------------------------------------------------------------------------------------


def test_sse_s3_bucket_uses_aes256_without_bucket_keys() -> None:
    b = args().bucket
    assert (b.sse_algorithm, b.bucket_key_enabled) == ("AES256", False)


def test_sse_kms_bucket_uses_kms_with_bucket_keys() -> None:
    b = args(bucket={"encryption": "SSE_KMS", "kms_key_arn": KEY}).bucket
    assert (b.sse_algorithm, b.bucket_key_enabled) == ("aws:kms", True)


@pytest.mark.parametrize(("versioning", "status"), [(True, "Enabled"), (False, "Suspended")])
def test_versioning_status(versioning: bool, status: str) -> None:
    assert args(bucket={"versioning": versioning}).bucket.versioning_status == status


@pytest.mark.parametrize(
    ("bucket", "managed"),
    [
        ({}, True),
        ({"existing_bucket_name": "acme-in"}, False),
        ({"existing_bucket_name": "acme-in", "enable_eventbridge_notifications": True}, True),
    ],
)
def test_notifications_are_managed_on_a_new_bucket_or_when_asked(
    bucket: dict[str, Any], managed: bool
) -> None:
    assert args(bucket=bucket).bucket.manages_notifications is managed


# --- queues -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sections", "key"),
    [
        ({}, "sqs-managed"),
        ({"queue": {"kms_key_arn": KEY}}, "given-key"),
        ({"security": {"create_kms_key": True}}, "component-key"),
    ],
)
def test_queue_key(sections: dict[str, Any], key: str) -> None:
    assert resources.queue_key(args(**sections)) == key


def test_the_lease_outlives_an_executions_budget_by_a_margin() -> None:
    assert args().budget.lease_seconds == 300  # budget 240 s + 60 s
    short = args(dispatch={"max_execution_seconds": 90}, function={"timeout": 5})
    assert short.budget.lease_seconds == 150


def test_tags_of_every_resource_and_the_state_machine() -> None:
    a = args(tags={"Owner": "data"})
    base = resources.tags(a, "images")
    assert base == {"s3ep:processor": "images", "Owner": "data"}
    assert resources.state_machine_tags(a, base) == {
        **base,
        "s3ep:in-flight-worst-case-seconds": "2602",
    }


# --- function -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "provisioned", "initial"),
    [
        ({}, False, 1),
        ({"provisioned_concurrency": 3}, True, 3),
        ({"scale_on_queue_depth": True, "min_provisioned_concurrency": 2}, True, 2),
        ({"provisioned_concurrency": 5, "scale_on_queue_depth": True}, True, 5),
    ],
)
def test_provisioned_concurrency_publishes_a_version_for_its_alias(
    function: dict[str, Any], provisioned: bool, initial: int
) -> None:
    f = args(function=function).function
    assert (f.provisioned, f.publish) == (provisioned, provisioned)
    assert f.initial_provisioned_concurrency == initial


@pytest.mark.parametrize(("reserved", "deployed"), [(None, -1), (40, 40)])
def test_reserved_concurrency_unset_is_unreserved(reserved: int | None, deployed: int) -> None:
    f = args(function={"reserved_concurrency": reserved}).function
    assert f.reserved_concurrent_executions == deployed


def test_unreserved_is_pulumi_awss_minus_one() -> None:
    assert UNRESERVED_CONCURRENCY == -1


@pytest.mark.parametrize(("tracing", "mode"), [(True, "Active"), (False, "PassThrough")])
def test_tracing_mode(tracing: bool, mode: str) -> None:
    assert args(function={"tracing": tracing}).function.tracing_mode == mode


def test_scaling_target_only_with_scaling() -> None:
    assert args().function.scaling_messages_per_instance is None
    scaled = {"scale_on_queue_depth": True, "messages_per_instance": 25}
    assert args(function=scaled).function.scaling_messages_per_instance == 25


def test_function_logs_as_json() -> None:
    assert FUNCTION_LOG_FORMAT == "JSON"


def test_function_environment_names_the_service_and_the_users_handler_last() -> None:
    a = args(function={"environment": {"STAGE": "dev", "S3EP_HANDLER": "other.fn"}})
    assert resources.function_environment(a, "images") == {
        "POWERTOOLS_SERVICE_NAME": "images",
        "STAGE": "dev",
        "S3EP_HANDLER": "app.handler",
    }


def test_function_layers_are_powertools_then_the_configured_ones_then_dynatraces() -> None:
    assert resources.function_layers(args()) is None
    own = "arn:aws:lambda:us-east-1:123456789012:layer:utils:3"
    dynatrace = {**DYNATRACE, "token_config_key": "s3ep:dtToken"}
    a = args(function={"layers": [own]}, monitoring={"dynatrace": dynatrace})
    assert resources.function_layers(a) == [own, LAYER]

    powertools = resources.powertools_layer_arn(a, "aws", "eu-west-1")
    assert resources.function_layers(a, powertools) == [powertools, own, LAYER]


def test_the_powertools_layer_is_published_in_the_commercial_partition_only() -> None:
    a = args(function={"powertools_layer": True, "architecture": "x86_64"})
    assert resources.powertools_layer_arn(a, "aws", "eu-west-1") == (
        "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-x86_64:27"
    )
    with pytest.raises(ConfigError) as error:
        resources.powertools_layer_arn(a, "aws-cn", "cn-north-1")
    assert str(error.value) == (
        "function.powertools_layer: the Powertools layer is published for the 'aws' partition, "
        "not 'aws-cn' (cn-north-1); name your partition's Powertools layer in function.layers "
        "instead"
    )


def test_function_dlq_exists_only_for_a_created_function() -> None:
    assert resources.function_dlq(args()) == "img-function-dlq"
    assert resources.dead_letter_queues(args()) == ["img-dlq", "img-rule-dlq", "img-function-dlq"]
    assert resources.function_dlq(existing_function()) is None
    assert resources.dead_letter_queues(existing_function()) == ["img-dlq", "img-rule-dlq"]


# --- dispatcher ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "logging"), [("ERROR", True), ("ALL", True), ("OFF", False)])
def test_dispatcher_logs_unless_its_level_is_off(level: str, logging: bool) -> None:
    assert args(dispatch={"log_level": level}).dispatch.logging_enabled is logging


@pytest.mark.parametrize(
    ("minutes", "expression", "max_age"),
    [(1, "rate(1 minute)", 60), (5, "rate(5 minutes)", 300), (60, "rate(60 minutes)", 3600)],
)
def test_poll_schedule(minutes: int, expression: str, max_age: int) -> None:
    d = args(dispatch={"poll_interval_minutes": minutes}).dispatch
    assert (d.schedule_expression, d.schedule_max_event_age_seconds) == (expression, max_age)


def test_poll_schedule_starts_on_time_and_never_retries() -> None:
    assert (SCHEDULE_FLEXIBLE_WINDOW, SCHEDULE_RETRY_ATTEMPTS) == ("OFF", 0)
    assert SCHEDULE_INPUT == '{"trigger": "schedule", "chain": 0}'


@pytest.mark.parametrize(
    ("function", "monitoring", "days"),
    [
        ({}, {}, 30),
        ({"log_retention_days": 7}, {}, 7),
        ({"log_retention_days": 7}, {"dispatcher_log_retention_days": 90}, 90),
    ],
)
def test_dispatcher_log_retention_falls_back_to_the_functions(
    function: dict[str, Any], monitoring: dict[str, Any], days: int
) -> None:
    assert (
        resources.dispatcher_log_retention_days(args(function=function, monitoring=monitoring))
        == days
    )


def test_splunk_error_logs_are_kept_as_long_as_the_functions() -> None:
    a = args(function={"log_retention_days": 90}, monitoring={"splunk": HEC})
    assert resources.splunk_log_retention_days(a) == 90


# --- alarms -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sections", "topic_key"),
    [
        ({}, "own-key"),
        ({"security": {"create_kms_key": True}}, "component-key"),
        ({"monitoring": {"alarms": {"kms_key_arn": KEY}}}, "given-key"),
        (
            {"security": {"create_kms_key": True}, "monitoring": {"alarms": {"kms_key_arn": KEY}}},
            "given-key",
        ),
        ({"monitoring": {"alarms": {"topic_arn": TOPIC}}}, "existing-topic"),
        (
            {"security": {"create_kms_key": True}, "monitoring": {"alarms": {"topic_arn": TOPIC}}},
            "existing-topic",
        ),
        ({"monitoring": {"alarms": {"enabled": False}}}, None),
        ({"monitoring": {"alarms": NO_ALARM}}, None),
        ({"security": {"create_kms_key": True}, "monitoring": {"alarms": NO_ALARM}}, None),
    ],
)
def test_alarm_topic_key(sections: dict[str, Any], topic_key: str | None) -> None:
    assert resources.alarm_topic_key(args(**sections)) == topic_key


@pytest.mark.parametrize(
    "alarms",
    [
        {},
        {"enabled": False},
        NO_ALARM,
        {**NO_ALARM, "dispatcher_aborted": {"enabled": True}},
        {**NO_ALARM, "dlq_messages": {"enabled": True}},
    ],
)
@pytest.mark.parametrize("created_function", [True, False])
@pytest.mark.parametrize("workflow_type", ["EXPRESS", "STANDARD"])
def test_alarms_exist_exactly_when_the_builder_makes_one(
    alarms: dict[str, Any], created_function: bool, workflow_type: str
) -> None:
    sections = {"monitoring": {"alarms": alarms}, "dispatch": {"workflow_type": workflow_type}}
    a = args(**sections) if created_function else existing_function(**sections)
    n = a.names
    targets = AlarmTargets(
        queue=n.queue,
        dlq=n.dlq,
        rule_dlq=n.rule_dlq,
        function_dlq=resources.function_dlq(a),
        rule=n.rule,
        function=a.function_name,
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:img-dispatcher",
    )
    assert resources.alarms_enabled(a) is bool(alarm_specs(a, targets))


# --- integrations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "source", "config_key"),
    [
        ({"token_config_key": "s3ep:dtToken"}, "pulumi-config", ("s3ep", "dtToken")),
        (
            {"token_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:dt-AbCdEf"},
            "secrets-manager",
            None,
        ),
        (
            {"token_secret_arn": "arn:aws:ssm:us-east-1:123456789012:parameter/dt/token"},
            "ssm-parameter",
            None,
        ),
    ],
)
def test_dynatrace_token_source(
    token: dict[str, str], source: str, config_key: tuple[str, str] | None
) -> None:
    m = args(monitoring={"dynatrace": {**DYNATRACE, **token}}).monitoring
    assert m.dynatrace is not None
    assert (m.dynatrace.token_source, m.dynatrace.token_config) == (source, config_key)
    assert m.function_environment_secret is True


def test_environment_is_not_secret_without_dynatrace() -> None:
    assert args().monitoring.function_environment_secret is False


def test_splunk_stream_is_created_only_for_a_hec_endpoint() -> None:
    created = args(monitoring={"splunk": HEC}).monitoring.splunk
    assert created is not None and created.creates_stream is True
    destination = "arn:aws:logs:us-east-1:123456789012:destination:splunk"
    given = args(monitoring={"splunk": {"destination_arn": destination}}).monitoring.splunk
    assert given is not None and given.creates_stream is False


def test_splunk_stream_backs_up_only_failed_events_gzipped_under_its_name() -> None:
    s = args(monitoring={"splunk": HEC}).monitoring.splunk
    assert s is not None
    doc = integrations.splunk_configuration(
        s,
        Names.derive("img", "img-processor"),
        role_arn="R",
        log_group_name="G",
        log_stream_name="S",
    )
    assert doc["s3_backup_mode"] == "FailedEventsOnly"
    assert doc["s3_configuration"] == {
        "role_arn": "R",
        "bucket_arn": "arn:aws:s3:::acme-splunk-failed",
        "prefix": "img-splunk/",
        "compression_format": "GZIP",
    }
    assert integrations.firehose_encryption(None) == {"enabled": True, "key_type": "AWS_OWNED_CMK"}
    assert integrations.firehose_encryption("K") == {
        "enabled": True,
        "key_type": "CUSTOMER_MANAGED_CMK",
        "key_arn": "K",
    }


# --- policy documents ---------------------------------------------------------------------------


def test_redrive_policies() -> None:
    assert iam.redrive_policy("arn:dlq", 5) == {
        "deadLetterTargetArn": "arn:dlq",
        "maxReceiveCount": 5,
    }
    assert iam.redrive_allow_policy("arn:queue") == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": ["arn:queue"],
    }


def test_alarm_topic_key_is_administered_and_used_by_the_account_without_kms_star() -> None:
    statements = iam.alarm_topic_key_policy("123456789012", "aws")["Statement"]
    admin, use, cloudwatch = statements
    root = {"AWS": "arn:aws:iam::123456789012:root"}
    assert (admin["Sid"], admin["Principal"], admin["Action"]) == (
        "AccountAdministers",
        root,
        iam.KEY_ADMIN_ACTIONS,
    )
    assert (use["Sid"], use["Principal"], use["Action"]) == (
        "AccountUses",
        root,
        iam.KEY_USER_ACTIONS,
    )
    assert "kms:PutKeyPolicy" in admin["Action"]  # the account can always change the policy
    assert not any("*" in a for s in statements for a in s["Action"] if s is not cloudwatch)
    assert cloudwatch == iam.cloudwatch_alarms_use_key("123456789012")


# --- account prerequisites ----------------------------------------------------------------------

VPC = {"subnet_ids": ["subnet-0a"], "security_group_ids": ["sg-0b"]}
INGEST = {"existing_bucket_name": "ingest"}


@pytest.mark.parametrize(
    ("raw", "keys"),
    [
        (config(), []),
        (config(function={"reserved_concurrency": 20}), ["reserved-concurrency"]),
        (config(function={"scale_on_queue_depth": True}), ["scaling-service-linked-role"]),
        (config(function={"vpc": VPC}), ["vpc-route-to-s3"]),
        # an existing bucket's notifications are replaced only when the component manages them
        (config(bucket=INGEST), []),
        (
            config(bucket={**INGEST, "enable_eventbridge_notifications": True}),
            ["bucket-notifications-replaced"],
        ),
        # Lambda polls with an existing function's role, which the component does not manage
        (
            {"name_prefix": "img", "function": {"existing_function_arn": EXISTING_FUNCTION}},
            ["existing-function-polls-the-queue"],
        ),
    ],
)
def test_account_prerequisites_follow_from_the_config(raw: dict[str, Any], keys: list[str]) -> None:
    prerequisites = resources.account_prerequisites(S3EventProcessorArgs.model_validate(raw))
    assert [p.key for p in prerequisites] == keys
