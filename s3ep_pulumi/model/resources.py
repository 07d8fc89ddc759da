"""Decisions about the deployed resources that need more than one section of the configuration:
pure functions of `S3EventProcessorArgs`. The component reads them; it decides nothing itself.
"""

from __future__ import annotations

from typing import Literal

from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.monitoring import AlarmTopicKey
from s3ep_pulumi.model.security import IN_FLIGHT_TAG, PROCESSOR_TAG
from s3ep_pulumi.runtime.s3ep_shim import HANDLER_ENV

# What encrypts the four queues (`queue_key`).
QueueKey = Literal["given-key", "component-key", "sqs-managed"]
# Powertools' service name: every log line and metric of the function carries it.
SERVICE_NAME_ENV = "POWERTOOLS_SERVICE_NAME"

# --- tags ---------------------------------------------------------------------------------------


def tags(args: S3EventProcessorArgs, component_name: str) -> dict[str, str]:
    """Tags on every resource: the processor's own tag (the policy pack pairs a state machine
    with its queue by it), then the configured ones."""
    return {PROCESSOR_TAG: component_name, **args.tags}


def state_machine_tags(args: S3EventProcessorArgs, base: dict[str, str]) -> dict[str, str]:
    """The state machine carries its worst-case in-flight time, which the policy pack checks
    against its queue's visibility timeout."""
    return {**base, IN_FLIGHT_TAG: str(args.budget.in_flight_worst_case_seconds)}


# --- queues -------------------------------------------------------------------------------------


def queue_key(args: S3EventProcessorArgs) -> QueueKey:
    """What encrypts the queues: queue.kms_key_arn, else the processor's own key
    (security.create_kms_key; the model rejects both together), else SQS-managed encryption."""
    if args.queue.kms_key_arn is not None:
        return "given-key"
    return "component-key" if args.security.create_kms_key else "sqs-managed"


def function_dlq(args: S3EventProcessorArgs) -> str | None:
    """The function's DLQ, made only for a function the component creates."""
    return None if args.function.existing_function_arn else args.names.function_dlq


def dead_letter_queues(args: S3EventProcessorArgs) -> list[str]:
    """Every dead-letter queue of the processor: the queue's, the rule's and the function's."""
    n, fn_dlq = args.names, function_dlq(args)
    return [n.dlq, n.rule_dlq, *([fn_dlq] if fn_dlq else [])]


# --- function -----------------------------------------------------------------------------------


def function_layers(args: S3EventProcessorArgs) -> list[str] | None:
    """The configured layers, then Dynatrace's; None when there are none."""
    dt = args.monitoring.dynatrace
    layers = [*args.function.layers, *([dt.layer_arn] if dt else [])]
    return layers or None


def function_environment(args: S3EventProcessorArgs, service_name: str) -> dict[str, str]:
    """The function's environment, before any integration's: the service name, the configured
    variables, and the user's handler for the shim (which the shim's own name replaces as the
    function's handler)."""
    handler = args.function.handler
    assert handler is not None  # only functions the component creates have an environment
    return {SERVICE_NAME_ENV: service_name, **args.function.environment, HANDLER_ENV: handler}


# --- logs and alarms ----------------------------------------------------------------------------


def dispatcher_log_retention_days(args: S3EventProcessorArgs) -> int:
    """The dispatcher's log retention: its own setting, else the function's."""
    configured = args.monitoring.dispatcher_log_retention_days
    days = configured if configured is not None else args.function.log_retention_days
    return int(days)  # the fields' Literal types are opaque to mypy


def splunk_log_retention_days(args: S3EventProcessorArgs) -> int:
    """The Splunk stream's error log group keeps its logs as long as the function's."""
    return int(args.function.log_retention_days)  # the field's Literal type is opaque to mypy


def alarm_topic_key(args: S3EventProcessorArgs) -> AlarmTopicKey | None:
    """What encrypts the alarm topic (`AlarmsConfig.topic_key`); None without alarms."""
    return args.monitoring.alarms.topic_key(component_key=args.security.create_kms_key)
