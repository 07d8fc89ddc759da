"""DynamoDB: tables (the dispatcher's lease) can be restored to any point in time."""

from __future__ import annotations

from collections.abc import Iterator

from s3ep_pulumi.policy.base import MANDATORY, Config, Props, Rule
from s3ep_pulumi.policy.tokens import DYNAMODB_TABLE


def _pitr(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if (props.get("pointInTimeRecovery") or {}).get("enabled") is not True:
        yield "pointInTimeRecovery.enabled is not true"


PITR_ENABLED = Rule(
    "dynamodb-pitr-enabled",
    "Every DynamoDB table has point-in-time recovery",
    "set pointInTimeRecovery.enabled true (s3ep sets it on its dispatch table)",
    ("AwsSolutions-DDB3", "CKV_AWS_28"),
    MANDATORY,
    types=(DYNAMODB_TABLE,),
    resource_check=_pitr,
)

RULES = (PITR_ENABLED,)
