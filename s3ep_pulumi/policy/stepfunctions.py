"""Step Functions: state machines log to CloudWatch Logs and are traced."""

from __future__ import annotations

from collections.abc import Iterator

from s3ep_pulumi.policy.base import ADVISORY, MANDATORY, STRING_LIST, Config, Props, Rule
from s3ep_pulumi.policy.tokens import STATE_MACHINE


def _logging(type_token: str, props: Props, config: Config) -> Iterator[str]:
    logging = props.get("loggingConfiguration") or {}
    level = logging.get("level", "OFF")
    if level not in config["allowedLevels"]:
        yield f"logging level {level} is not one of {', '.join(config['allowedLevels'])}"
    elif not logging.get("logDestination"):
        yield "loggingConfiguration.logDestination is not set"


LOGGING_ENABLED = Rule(
    "sfn-logging-enabled",
    "Every state machine logs to CloudWatch Logs",
    "set loggingConfiguration level (ERROR or ALL) and logDestination (s3ep: "
    "dispatch.log_level); set allowedLevels to [ALL] for cdk-nag's stricter reading",
    ("AwsSolutions-SF1",),
    MANDATORY,
    types=(STATE_MACHINE,),
    resource_check=_logging,
    config={
        "allowedLevels": {
            **STRING_LIST,
            "default": ["ALL", "ERROR", "FATAL"],
            "description": "Logging levels that pass.",
        }
    },
)


def _tracing(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if (props.get("tracingConfiguration") or {}).get("enabled") is not True:
        yield "tracingConfiguration.enabled is not true"


TRACING_ENABLED = Rule(
    "sfn-tracing-enabled",
    "Every state machine has X-Ray tracing",
    "set tracingConfiguration.enabled true (s3ep: dispatch.tracing true)",
    ("AwsSolutions-SF2",),
    ADVISORY,
    types=(STATE_MACHINE,),
    resource_check=_tracing,
)

RULES = (LOGGING_ENABLED, TRACING_ENABLED)
