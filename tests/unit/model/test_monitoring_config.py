"""The `monitoring` section: its defaults and every invalid combination's exact error."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import MINIMAL, config
from test_config import errors

from s3ep_pulumi import S3EventProcessorArgs

ACCOUNT = "123456789012"
LAYER = "arn:aws:lambda:us-east-1:725887861453:layer:Dynatrace_OneAgent_1_300_0_python:1"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:dt-AbCdEf"
DYNATRACE = {
    "layer_arn": LAYER,
    "tenant": "abc12345",
    "cluster_id": "1",
    "connection_base_url": "https://abc12345.live.dynatrace.com",
    "token_secret_arn": SECRET,
}


def test_defaults_alarm_every_stage_and_keep_integrations_off() -> None:
    m = S3EventProcessorArgs.model_validate(MINIMAL).monitoring
    assert m.alarms.enabled is True
    assert m.alarms.topic_arn is None and m.alarms.emails == []
    assert m.dashboard is True
    assert m.dispatcher_log_retention_days is None
    assert m.dynatrace is None and m.splunk is None
    assert (m.alarms.queue_depth.threshold, m.alarms.queue_depth.evaluation_periods) == (1000, 3)
    assert m.alarms.function_duration.threshold == 80


def test_overriding_one_setting_of_an_alarm_keeps_its_other_defaults() -> None:
    m = S3EventProcessorArgs.model_validate(
        config(monitoring={"alarms": {"queueDepth": {"periodSeconds": 60}}})
    ).monitoring
    assert m.alarms.queue_depth.period_seconds == 60
    assert m.alarms.queue_depth.threshold == 1000
    assert m.alarms.queue_depth.evaluation_periods == 3


INVALID: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        "AWS-managed SNS key",
        config(
            monitoring={"alarms": {"kms_key_arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/aws/sns"}}
        ),
        [
            (
                "monitoring.alarms.kms_key_arn",
                "CloudWatch cannot publish to a topic encrypted with the AWS-managed key "
                "alias/aws/sns, so every alarm action would fail silently; use a customer managed "
                "key or omit kms_key_arn for a key the component creates",
            )
        ],
    ),
    (
        "emails on an existing topic",
        config(
            monitoring={
                "alarms": {
                    "topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:pager",
                    "emails": ["a@x.example"],
                }
            }
        ),
        [
            (
                "monitoring.alarms.emails",
                "'emails' applies only to the topic the component creates; configure the existing "
                "topic yourself or remove 'topic_arn'",
            )
        ],
    ),
    (
        "period AWS rejects",
        config(monitoring={"alarms": {"queue_depth": {"period_seconds": 90}}}),
        [
            (
                "monitoring.alarms.queue_depth",
                "Value error, period_seconds 90 is not 10, 30 or a multiple of 60; AWS rejects it",
            )
        ],
    ),
    (
        "more datapoints than evaluated",
        config(monitoring={"alarms": {"function_errors": {"datapoints_to_alarm": 2}}}),
        [
            (
                "monitoring.alarms.function_errors",
                "Value error, datapoints_to_alarm (2) must not exceed evaluation_periods (1)",
            )
        ],
    ),
    (
        "evaluation range over a day",
        config(
            monitoring={
                "alarms": {"dlq_messages": {"period_seconds": 3600, "evaluation_periods": 25}}
            }
        ),
        [
            (
                "monitoring.alarms.dlq_messages",
                "Value error, period_seconds x evaluation_periods must not exceed one day "
                "(86400 s); lower one of them",
            )
        ],
    ),
    (
        "dynatrace without a token source",
        config(monitoring={"dynatrace": {**DYNATRACE, "token_secret_arn": None}}),
        [
            (
                "monitoring.dynatrace",
                "Value error, set exactly one of token_secret_arn and token_config_key: the "
                "connection token never goes into the config in plaintext",
            )
        ],
    ),
    (
        "dynatrace token in plaintext is not a field",
        config(monitoring={"dynatrace": {**DYNATRACE, "token": "dt0a01.abc"}}),
        [("monitoring.dynatrace.token", "Extra inputs are not permitted")],
    ),
    (
        "dynatrace on an existing function, one layer too many",
        {
            "name_prefix": "img",
            "function": {
                "existing_function_arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:legacy",
                "layers": [f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:l{i}:1" for i in range(5)],
            },
            "monitoring": {"dynatrace": DYNATRACE},
        },
        [
            (
                "monitoring.dynatrace",
                "needs a function the component creates (it adds a layer and environment); "
                "instrument the existing function yourself or use source_dir",
            ),
            (
                "function.layers",
                "the Dynatrace layer makes 6 layers, over Lambda's limit of 5; remove one",
            ),
        ],
    ),
    (
        "splunk with two destinations",
        config(
            monitoring={
                "splunk": {
                    "destination_arn": f"arn:aws:logs:us-east-1:{ACCOUNT}:destination:d",
                    "hec_endpoint": "https://hec.example",
                }
            }
        ),
        [("monitoring.splunk", "Value error, set exactly one of destination_arn and hec_endpoint")],
    ),
    (
        "splunk hec without token or bucket",
        config(monitoring={"splunk": {"hec_endpoint": "https://hec.example"}}),
        [
            (
                "monitoring.splunk",
                "Value error, hec_endpoint needs hec_token_secret_arn (the HEC token, in Secrets "
                "Manager) and failed_events_bucket_arn (where undelivered events go)",
            )
        ],
    ),
    (
        "starting provisioned concurrency outside the scaling range",
        config(
            function={
                **MINIMAL["function"],
                "scale_on_queue_depth": True,
                "provisioned_concurrency": 12,
                "max_provisioned_concurrency": 10,
            }
        ),
        [
            (
                "function.provisioned_concurrency",
                "with scale_on_queue_depth it is the starting value and must lie between "
                "min_provisioned_concurrency (1) and max_provisioned_concurrency (10); change it "
                "or omit it to start at the minimum",
            )
        ],
    ),
]


@pytest.mark.parametrize(("case", "raw", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_monitoring_config_names_the_field_and_the_fix(
    case: str, raw: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert errors(raw) == expected
