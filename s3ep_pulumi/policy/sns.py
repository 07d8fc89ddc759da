"""SNS: topics are encrypted, with a key CloudWatch can use when alarms publish to them, and
TLS-only."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource

from s3ep_pulumi.model.security import AWS_MANAGED_SNS_KEY
from s3ep_pulumi.policy.base import (
    ADVISORY,
    MANDATORY,
    Config,
    Props,
    Rule,
    as_list,
    identities,
    of_type,
    without_tls_deny,
)
from s3ep_pulumi.policy.tokens import COMPOSITE_ALARM, METRIC_ALARM, TOPIC, TOPIC_POLICY


def _encrypted(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if not props.get("kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set"


ENCRYPTED = Rule(
    "sns-topic-encrypted",
    "Every SNS topic is encrypted at rest",
    "set kmsMasterKeyId (a customer managed key if CloudWatch alarms publish to it)",
    ("AwsSolutions-SNS2", "CKV_AWS_26"),
    MANDATORY,
    types=(TOPIC,),
    resource_check=_encrypted,
)


def _aws_managed_key(topic: PolicyResource) -> bool:
    key = topic.props.get("kmsMasterKeyId")
    return isinstance(key, str) and bool(AWS_MANAGED_SNS_KEY.search(key))


def _alarm_topic_key(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    topics = [t for t in of_type(resources, TOPIC) if _aws_managed_key(t)]
    for alarm in of_type(resources, METRIC_ALARM, COMPOSITE_ALARM):
        actions = {
            str(a)
            for key in ("alarmActions", "okActions", "insufficientDataActions")
            for a in as_list(alarm.props.get(key))
        }
        for topic in topics:
            if actions & identities(topic) or any(
                d.urn == topic.urn for d in alarm.property_dependencies.get("alarmActions", [])
            ):
                yield (
                    topic.urn,
                    f"alarm {alarm.name} publishes here, but CloudWatch cannot use the AWS "
                    "managed key alias/aws/sns",
                )


ALARM_TOPIC_CUSTOMER_KEY = Rule(
    "sns-alarm-topic-customer-key",
    "A topic that CloudWatch alarms publish to is not encrypted with alias/aws/sns "
    "(CloudWatch cannot use that key, so notifications are lost)",
    "use a customer managed key whose policy lets cloudwatch.amazonaws.com use it",
    (),
    MANDATORY,
    stack_check=_alarm_topic_key,
)


def _tls_only(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    for topic in without_tls_deny(resources, (TOPIC,), TOPIC_POLICY, "arn"):
        yield topic.urn, "no topic policy denies aws:SecureTransport = false"


TLS_ONLY = Rule(
    "sns-topic-tls-only",
    "Every SNS topic's policy denies publishing without TLS",
    "declare aws.sns.TopicPolicy with a Deny for Principal '*' on Condition Bool "
    "aws:SecureTransport false",
    ("AwsSolutions-SNS3",),
    ADVISORY,
    stack_check=_tls_only,
)

RULES = (ENCRYPTED, ALARM_TOPIC_CUSTOMER_KEY, TLS_ONLY)
