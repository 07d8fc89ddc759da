"""Decisions about the deployed resources that need more than one section of the configuration:
pure functions of `S3EventProcessorArgs`. The component reads them; it decides nothing itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from s3ep_pulumi.errors import ConfigError
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.monitoring import AlarmTopicKey
from s3ep_pulumi.model.sections import POWERTOOLS_LAYER_ACCOUNT
from s3ep_pulumi.model.security import IN_FLIGHT_TAG, PROCESSOR_TAG
from s3ep_pulumi.runtime.s3ep_shim import HANDLER_ENV

# What encrypts the four queues (`queue_key`).
QueueKey = Literal["given-key", "component-key", "sqs-managed"]
# The processor's own customer key (`processor_key`): created, or named in the config.
ProcessorKey = Literal["component-key", "given-key"]
# What encrypts the log groups (`log_group_key`): monitoring.log_kms_key_arn, or the processor's.
LogGroupKey = Literal["log-key", "processor-key"]
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


def processor_key(args: S3EventProcessorArgs) -> ProcessorKey | None:
    """The processor's customer key, which encrypts the queues, log groups, the function's
    environment and the Splunk stream: the one it creates (security.create_kms_key), or
    security.kms_key_arn (the model rejects both together); None: AWS-managed encryption."""
    if args.security.create_kms_key:
        return "component-key"
    return "given-key" if args.security.kms_key_arn is not None else None


@dataclass(frozen=True)
class KeyUsers:
    """Who the key the processor creates must admit, by name: the roles that use it, the log
    groups it encrypts, and whether Lambda (the function's environment), Firehose (the Splunk
    stream) and CloudWatch (the alarm topic) use it."""

    roles: list[str]
    log_groups: list[str]
    lambda_environment: bool
    firehose_stream: bool
    alarm_topic: bool


def key_users(args: S3EventProcessorArgs) -> KeyUsers:
    """What the created key's policy admits (`iam.kms_key_policy`): everything the processor
    encrypts with it, and nothing else."""
    n = args.names
    function = args.function.existing_function_arn is None
    splunk = args.monitoring.splunk
    stream = splunk is not None and splunk.creates_stream
    dispatcher = args.dispatch.uses_dispatcher
    return KeyUsers(
        roles=[
            *([n.function_role] if function else []),
            *([n.dispatcher_role] if dispatcher else []),
            *([n.backfill_role] if args.backfill.enabled else []),
        ],
        log_groups=[
            *([n.function_log_group] if function else []),
            *([n.dispatcher_log_group] if dispatcher else []),
            *([n.backfill_log_group] if args.backfill.enabled else []),
            *([n.firehose_log_group] if stream else []),
        ],
        lambda_environment=function,
        firehose_stream=stream,
        alarm_topic=alarm_topic_key(args) == "component-key",
    )


def given_queue_key_arn(args: S3EventProcessorArgs) -> str | None:
    """The ARN of the queues' key when the config names it (queue.kms_key_arn, or
    security.kms_key_arn: the model rejects both together)."""
    return args.queue.kms_key_arn or args.security.kms_key_arn


def queue_key(args: S3EventProcessorArgs) -> QueueKey:
    """What encrypts the queues: a key the config names (`given_queue_key_arn`), else the key
    the processor creates, else SQS-managed encryption."""
    if given_queue_key_arn(args) is not None:
        return "given-key"
    return "component-key" if args.security.create_kms_key else "sqs-managed"


def log_group_key(args: S3EventProcessorArgs) -> LogGroupKey | None:
    """What encrypts every log group of the processor: monitoring.log_kms_key_arn, else the
    processor's key, else CloudWatch Logs' own encryption (None)."""
    if args.monitoring.log_kms_key_arn is not None:
        return "log-key"
    return "processor-key" if processor_key(args) is not None else None


def function_dlq(args: S3EventProcessorArgs) -> str | None:
    """The function's DLQ, made only for a function the component creates."""
    return None if args.function.existing_function_arn else args.names.function_dlq


def dead_letter_queues(args: S3EventProcessorArgs) -> list[str]:
    """Every dead-letter queue of the processor: the queue's, the rule's and the function's."""
    n, fn_dlq = args.names, function_dlq(args)
    return [n.dlq, n.rule_dlq, *([fn_dlq] if fn_dlq else [])]


# --- bucket -------------------------------------------------------------------------------------


def bucket_ignore_changes(args: S3EventProcessorArgs) -> list[str] | None:
    """A bucket named by default keeps the name it was created with: a later default (such as
    the account regional one, which replaced '<prefix>-bucket') would otherwise replace a
    deployed bucket, objects and all. A name the user gives is theirs to change."""
    return ["bucket", "bucket_namespace"] if args.bucket.default_name else None


# The lifecycle rule of a new bucket that deletes noncurrent versions.
NONCURRENT_VERSIONS_RULE_ID = "expire-noncurrent-versions"


def access_log_prefix(args: S3EventProcessorArgs) -> str | None:
    """Where a new bucket's access logs go in the log bucket; None without access logging."""
    b = args.bucket
    if b.access_log_bucket is None:
        return None
    return b.access_log_prefix if b.access_log_prefix is not None else f"{args.name_prefix}/"


# --- function -----------------------------------------------------------------------------------


def function_layers(args: S3EventProcessorArgs, powertools: str | None = None) -> list[str] | None:
    """The function's layers in order: Powertools' (`powertools`, its ARN in the region deployed
    to, when `function.powertools_layer`), the configured ones, then Dynatrace's; None when
    there are none. Later layers win where files overlap, so the user's override Powertools'."""
    dt = args.monitoring.dynatrace
    layers = [
        *([powertools] if powertools else []),
        *args.function.layers,
        *([dt.layer_arn] if dt else []),
    ]
    return layers or None


def powertools_layer_arn(args: S3EventProcessorArgs, partition: str, region: str) -> str:
    """The official Powertools V3 layer for the function's runtime and architecture in `region`,
    e.g. arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:27.
    Published in the commercial partition only (GovCloud and China have their own accounts:
    name those layers in `function.layers`)."""
    f = args.function
    if partition != "aws":
        raise ConfigError(
            f"function.powertools_layer: the Powertools layer is published for the 'aws' "
            f"partition, not '{partition}' ({region}); name your partition's Powertools layer "
            "in function.layers instead"
        )
    runtime = f.runtime.replace(".", "")
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{runtime}-{f.architecture}:{f.powertools_layer_version}"
    )


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


def alarms_enabled(args: S3EventProcessorArgs) -> bool:
    """At least one alarm is made (`AlarmsConfig.active`)."""
    d = args.dispatch
    return bool(args.monitoring.alarms.active(d.executions_can_be_aborted, d.uses_dispatcher))


def alarm_topic_key(args: S3EventProcessorArgs) -> AlarmTopicKey | None:
    """What encrypts the alarm topic (`AlarmsConfig.topic_key`); None without alarms."""
    return args.monitoring.alarms.topic_key(
        component_key=args.security.create_kms_key,
        aborts_possible=args.dispatch.executions_can_be_aborted,
        dispatcher=args.dispatch.uses_dispatcher,
    )


def function_alias(args: S3EventProcessorArgs) -> bool:
    """A created function gets the 'live' alias (and publishes a version per change): it holds
    provisioned concurrency, and the event source mapping engine always invokes through it, so
    a later provisioned concurrency or a rollback moves the alias, not the mapping."""
    if args.function.existing_function_arn is not None:
        return False
    return args.function.provisioned or not args.dispatch.uses_dispatcher


# --- account prerequisites ----------------------------------------------------------------------


@dataclass(frozen=True)
class Prerequisite:
    """Something the account must provide that no resource of the component can: `s3ep check`
    warns of it, docs/operations.md ("Account prerequisites") explains it."""

    key: str
    message: str


def account_prerequisites(args: S3EventProcessorArgs) -> list[Prerequisite]:
    """The prerequisites this configuration shows (docs/aws-semantics.md L4, A1, L10, L12, B2)."""
    f, b = args.function, args.bucket
    out = []
    if f.reserved_concurrency is not None:
        out.append(
            Prerequisite(
                "reserved-concurrency",
                f"function.reserved_concurrency {f.reserved_concurrency}: Lambda reserves it only "
                "if the account's concurrency quota in this Region leaves at least 100 "
                "unreserved afterwards (with every other reservation); check the quota first",
            )
        )
    if f.scale_on_queue_depth:
        out.append(
            Prerequisite(
                "scaling-service-linked-role",
                "function.scale_on_queue_depth: the first scalable target creates the "
                "service-linked role AWSServiceRoleForApplicationAutoScaling_LambdaConcurrency; "
                "whoever runs `pulumi up` needs iam:CreateServiceLinkedRole (once per account)",
            )
        )
    if f.vpc is not None:
        out.append(
            Prerequisite(
                "vpc-route-to-s3",
                "function.vpc: the subnets need a route to S3 (a gateway endpoint or a NAT "
                "gateway), or the handler's GetObject times out; so does every other AWS API "
                "the handler calls",
            )
        )
    if f.existing_function_arn is not None and not args.dispatch.uses_dispatcher:
        out.append(
            Prerequisite(
                "existing-function-polls-the-queue",
                "function.existing_function_arn with the event source mapping engine: Lambda "
                f"polls {args.names.queue} with that function's execution role, which must "
                "allow sqs:ReceiveMessage, sqs:DeleteMessage and sqs:GetQueueAttributes on it "
                "(and kms:Decrypt on a customer key of the queue), or creating the mapping fails",
            )
        )
    if b.existing_bucket_name is not None and b.enable_eventbridge_notifications:
        out.append(
            Prerequisite(
                "bucket-notifications-replaced",
                f"bucket.enable_eventbridge_notifications: the component manages "
                f"{b.existing_bucket_name}'s one notification configuration, replacing any "
                "SNS, SQS or Lambda notifications configured on it elsewhere",
            )
        )
    return out
