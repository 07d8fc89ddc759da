"""CloudWatch: log groups have a retention and a customer key; alarms notify someone."""

from __future__ import annotations

from collections.abc import Iterator

from s3ep_pulumi.policy.base import ADVISORY, MANDATORY, Config, Props, Rule, as_list, number
from s3ep_pulumi.policy.tokens import COMPOSITE_ALARM, LOG_GROUP, METRIC_ALARM


def _log_group_retention(type_token: str, props: Props, config: Config) -> Iterator[str]:
    days = number(props.get("retentionInDays"))
    if not days:
        yield "retentionInDays is not set: logs are kept forever"
    elif days < config["minimumDays"]:
        yield f"retentionInDays {days:g} is below the minimum {config['minimumDays']}"


LOG_GROUP_RETENTION = Rule(
    "log-group-retention",
    "Every CloudWatch log group has a retention",
    "set retentionInDays (s3ep: function.log_retention_days)",
    ("CKV_AWS_66",),
    MANDATORY,
    types=(LOG_GROUP,),
    resource_check=_log_group_retention,
    config={
        "minimumDays": {
            "type": "integer",
            "default": 1,
            "description": "Shortest retention that passes, days.",
        }
    },
)


def _log_group_kms(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if not props.get("kmsKeyId"):
        yield "kmsKeyId is not set"


LOG_GROUP_KMS = Rule(
    "log-group-kms",
    "Every CloudWatch log group is encrypted with a customer managed key",
    "set kmsKeyId (s3ep: security.create_kms_key or security.kms_key_arn encrypts every log "
    "group of the processor, or monitoring.log_kms_key_arn)",
    ("CKV_AWS_158",),
    ADVISORY,
    types=(LOG_GROUP,),
    resource_check=_log_group_kms,
)


def _alarm_has_action(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if props.get("actionsEnabled") is False:
        yield "actionsEnabled is false"
    elif not as_list(props.get("alarmActions")):
        yield "alarmActions is empty: the alarm notifies nobody"


ALARM_HAS_ACTION = Rule(
    "cloudwatch-alarm-has-action",
    "Every CloudWatch alarm has an enabled alarm action",
    "set alarmActions (e.g. an SNS topic) and leave actionsEnabled true",
    ("CKV_AWS_319",),
    MANDATORY,
    types=(METRIC_ALARM, COMPOSITE_ALARM),
    resource_check=_alarm_has_action,
)

RULES = (LOG_GROUP_RETENTION, LOG_GROUP_KMS, ALARM_HAS_ACTION)
