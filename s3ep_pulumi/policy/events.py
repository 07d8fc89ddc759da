"""EventBridge: a target that cannot deliver an event keeps it in a dead-letter queue."""

from __future__ import annotations

from collections.abc import Iterator

from s3ep_pulumi.policy.base import MANDATORY, Config, Props, Rule
from s3ep_pulumi.policy.tokens import EVENT_TARGET


def _target_dlq(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if not (props.get("deadLetterConfig") or {}).get("arn"):
        yield "deadLetterConfig.arn is not set: undeliverable events are dropped"


TARGET_DLQ = Rule(
    "eventbridge-target-dlq",
    "Every EventBridge target has a dead-letter queue",
    "set deadLetterConfig.arn to an SQS queue whose policy lets this rule send",
    (),
    MANDATORY,
    types=(EVENT_TARGET,),
    resource_check=_target_dlq,
)

RULES = (TARGET_DLQ,)
