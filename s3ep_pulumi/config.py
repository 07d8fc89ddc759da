"""The configuration model: the single source of defaults and of cross-field rules.

`S3EventProcessorArgs` is what a user writes, in Python or under `s3ep:processor` in a stack's
YAML. Field names are snake_case; camelCase aliases are accepted too. Every field documents its
unit and default, and `docs/configuration.md` is generated from these descriptions.

Cross-field rules run after each field is valid and are reported together in one
`pydantic.ValidationError`, each error located at the field to change.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from s3ep_pulumi import limits
from s3ep_pulumi.naming import Names
from s3ep_pulumi.runtime.s3ep_shim import DEFER_AFTER_SECONDS, TOLERANCE_FRACTION

# Seconds the dispatcher itself may spend around one message beyond the function's run time:
# state transitions, the SQS and Lambda API calls and their latency. Generous on purpose: a
# visibility timeout that is too short makes a message visible again while it is still being
# processed, and it is then processed twice.
DISPATCH_OVERHEAD_SECONDS = 30
# Seconds Lambda itself may add to a run (cold start, network) beyond the function's timeout.
INVOKE_LATENCY_SECONDS = 5
# Seconds one message's bookkeeping may take after its invocation: the delete or visibility
# change, with its retries (1 + 2 + 4 s of backoff) and latency.
MESSAGE_OVERHEAD_SECONDS = 10
# Bytes an SQS message adds to the state payload beyond its body: receipt handle (~400 B),
# message id, MD5 and attributes, with room to spare.
MESSAGE_ENVELOPE_BYTES = 2_048
# Part of a state's 256 KiB payload kept for everything but the received messages.
PAYLOAD_HEADROOM_BYTES = 32_768
# A lease outlives its execution's budget by this much, so it only expires if the execution died.
LEASE_MARGIN_SECONDS = 60
# Share of the 25,000-event history limit a STANDARD execution plans to use.
HISTORY_BUDGET_SHARE = 0.8
# STANDARD history events, worst cases, from the definition's longest paths (each state entered
# and exited: 2; each task attempt scheduled/started/ended: 3; an SQS task retries 3 times).
# tests/test_dispatcher.py checks a measured history against them.
SQS_TASK_EVENTS_WORST = 2 + 3 * 4
# per execution: Init, Probe, HasWork, Offer, Take, Leased, Hold, Lanes, ReleaseLease, Done
HISTORY_EVENTS_FIXED = 2 + 2 + SQS_TASK_EVENTS_WORST * 4 + 2 * 5 + 6
# per lane round: Receive, AnyMessages, Batch (4 Map events), CountRound, AnySucceeded,
# DeleteSucceeded, NextRound
HISTORY_EVENTS_PER_ROUND = 2 * SQS_TASK_EVENTS_WORST + 2 + 4 + 2 + 2 + 2
# Smallest start window worth running an execution for.
MIN_START_WINDOW_SECONDS = 10

KmsArn = Annotated[
    str,
    Field(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_+=.@-]+$"),
]
EventType = Literal["created", "deleted"]
Runtime = Literal["python3.11", "python3.12", "python3.13"]
RUNTIMES: tuple[str, ...] = get_args(Runtime)
AWS_MANAGED_SQS_KEY = re.compile(r"(^|:)alias/aws/sqs$")


class _Section(BaseModel):
    """Strict base: unknown keys are errors, defaults are validated, camelCase accepted."""

    model_config = ConfigDict(
        extra="forbid",
        validate_default=True,
        populate_by_name=True,
        alias_generator=to_camel,
        loc_by_alias=False,
        frozen=True,
    )


class BucketConfig(_Section):
    """The S3 bucket whose object events are processed. Created unless an existing one is named."""

    existing_bucket_name: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="Use this existing bucket instead of creating one. Default: create a bucket.",
    )
    enable_eventbridge_notifications: bool = Field(
        False,
        description=(
            "Existing bucket only: turn on its EventBridge notifications. A bucket has ONE "
            "notification configuration; managing it replaces any SNS/SQS/Lambda notifications "
            "already configured on that bucket. Default false: turn it on yourself."
        ),
    )
    event_types: list[EventType] = Field(
        default_factory=lambda: list[EventType](["created"]),
        min_length=1,
        description=(
            "S3 events to process. 'created' includes overwrites (an update is a new PUT). "
            "Default ['created']."
        ),
    )
    prefixes: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Process only keys starting with one of these. Default: every key.",
    )
    suffixes: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Process only keys ending with one of these. Default: every key.",
    )
    versioning: bool = Field(True, description="New bucket: enable versioning. Default true.")
    encryption: Literal["SSE_S3", "SSE_KMS"] = Field(
        "SSE_S3", description="New bucket: default encryption. Default SSE_S3."
    )
    kms_key_arn: KmsArn | None = Field(
        None, description="New bucket with SSE_KMS: customer key. Default: the aws/s3 key."
    )
    force_destroy: bool = Field(
        False, description="New bucket: let `pulumi destroy` delete a non-empty bucket."
    )


_BUCKET_CREATION_FIELDS = ("versioning", "encryption", "kms_key_arn", "force_destroy")


class QueueConfig(_Section):
    """The SQS queue that buffers events, and its dead-letter queue."""

    visibility_timeout_seconds: int | None = Field(
        None,
        ge=0,
        le=limits.SQS_VISIBILITY_TIMEOUT_MAX_SECONDS,
        description=(
            "Seconds a received message stays hidden. Default: the dispatcher's worst-case "
            "in-flight time (see docs/dispatch.md); a value below it is rejected."
        ),
    )
    message_retention_seconds: int = Field(
        345_600,
        ge=limits.SQS_RETENTION_MIN_SECONDS,
        le=limits.SQS_RETENTION_MAX_SECONDS,
        description="Seconds a message is kept. Default 345600 (4 days).",
    )
    max_receive_count: int = Field(
        5,
        ge=1,
        le=limits.SQS_MAX_RECEIVE_COUNT_MAX,
        description="Receives before a message moves to the DLQ. Default 5.",
    )
    dlq_retention_seconds: int = Field(
        limits.SQS_RETENTION_MAX_SECONDS,
        ge=limits.SQS_RETENTION_MIN_SECONDS,
        le=limits.SQS_RETENTION_MAX_SECONDS,
        description="Seconds a dead letter is kept. Default 1209600 (14 days, the maximum).",
    )
    max_message_size_bytes: int = Field(
        16_384,
        ge=limits.SQS_MESSAGE_SIZE_MIN_BYTES,
        le=limits.SQS_MESSAGE_SIZE_MAX_BYTES,
        description=(
            "Largest message accepted, bytes. An event body is about 1 KiB (S3 keys are at most "
            "1 KiB); a lane's batch of messages must fit a Step Functions state (256 KiB). "
            "Larger messages are refused by SQS, and EventBridge puts them in the rule's DLQ. "
            "Default 16384 (16 KiB)."
        ),
    )
    kms_key_arn: KmsArn | None = Field(
        None,
        description=(
            "Customer KMS key for both queues. Default: SQS-managed encryption (SSE-SQS). The "
            "AWS-managed key alias/aws/sqs is rejected: EventBridge cannot use it and drops "
            "deliveries silently."
        ),
    )
    kms_data_key_reuse_seconds: int = Field(
        300,
        ge=limits.SQS_KMS_DATA_KEY_REUSE_MIN_SECONDS,
        le=limits.SQS_KMS_DATA_KEY_REUSE_MAX_SECONDS,
        description="With kms_key_arn: seconds SQS reuses a data key. Default 300.",
    )


class RetryConfig(_Section):
    """How the dispatcher retries a failed or throttled invocation before it counts as failed."""

    max_attempts: int = Field(
        3, ge=0, le=10, description="Retries after the first attempt. Default 3."
    )
    interval_seconds: int = Field(
        1, ge=1, le=300, description="Seconds before the first retry. Default 1."
    )
    backoff_rate: float = Field(2.0, ge=1.0, le=10.0, description="Multiplier per retry.")
    max_delay_seconds: int = Field(
        30, ge=1, le=3600, description="Cap on one retry's delay, seconds. Default 30."
    )

    def total_delay_seconds(self) -> float:
        """Sum of every retry delay, the longest the retries can wait in total."""
        return sum(
            min(self.interval_seconds * self.backoff_rate**k, self.max_delay_seconds)
            for k in range(self.max_attempts)
        )


class DispatchConfig(_Section):
    """The Step Functions dispatcher that drains the queue into the function, staggered."""

    workflow_type: Literal["STANDARD", "EXPRESS"] = Field(
        "EXPRESS",
        description=(
            "EXPRESS is cheaper at any steady rate (see docs/dispatch.md); STANDARD keeps a "
            "90-day execution history. Default EXPRESS."
        ),
    )
    max_concurrency: int = Field(
        10,
        ge=1,
        le=limits.INLINE_MAP_CONCURRENCY_MAX,
        description=(
            "Most function invocations in flight at once: the dispatcher runs this many lanes, "
            "each invoking one message at a time. Default 10."
        ),
    )
    rate_per_second: float | None = Field(
        None,
        gt=0,
        le=1000,
        description=(
            "Most invocation starts per second, spread evenly to the millisecond: any window of "
            "W >= 1 s holds at most ceil(rate x W) + 1 starts. Default: no rate limit (only "
            "max_concurrency applies)."
        ),
    )
    batch_size: int = Field(
        10,
        ge=1,
        le=limits.SQS_RECEIVE_MAX_MESSAGES,
        description="Messages one lane receives at a time (one SQS request). Default 10.",
    )
    failed_retry_delay_seconds: int = Field(
        30,
        ge=0,
        le=limits.SQS_VISIBILITY_TIMEOUT_MAX_SECONDS,
        description=(
            "Seconds a failed message stays hidden before it is tried again (its visibility "
            "is set to this when it fails). Default 30."
        ),
    )
    poll_interval_minutes: int = Field(
        1, ge=1, le=60, description="Minutes between scheduled poller starts. Default 1."
    )
    receive_wait_seconds: int = Field(
        2,
        ge=0,
        le=limits.SQS_LONG_POLL_MAX_SECONDS,
        description="SQS long-poll wait per receive, seconds. Default 2.",
    )
    max_execution_seconds: int = Field(
        240,
        ge=30,
        le=3600,
        description=(
            "Time budget of one poller execution, seconds. It starts no invocation once what is "
            "left could not finish in time, releases its lease and ends; the next scheduled "
            "poller carries on. EXPRESS executions must finish within 300 s. Default 240."
        ),
    )
    retry: RetryConfig = Field(default_factory=RetryConfig)
    log_level: Literal["ALL", "ERROR", "FATAL", "OFF"] = Field(
        "ERROR", description="Step Functions logging level. Default ERROR."
    )
    include_execution_data: bool = Field(
        False,
        description="Log state inputs and outputs (object keys appear in logs). Default false.",
    )
    tracing: bool = Field(True, description="X-Ray tracing of executions. Default true.")

    def receive_ramp(self) -> list[int]:
        """Next receive size after a receive of i messages (index i): a lane starts with 1 and
        doubles up to batch_size, so a small burst is spread over every lane."""
        return [min(self.batch_size, max(1, 2 * i)) for i in range(self.batch_size + 1)]

    def receive_sizes(self, rounds: int) -> list[int]:
        """The sizes of a lane's first `rounds` receives: 1, 2, 4, ... batch_size, batch_size."""
        ramp, take, out = self.receive_ramp(), 1, []
        for _ in range(rounds):
            out.append(take)
            take = ramp[take]
        return out

    def pace_wait_worst_seconds(self) -> float:
        """Longest a lane waits for its next start slot: one lane period, plus the second a
        Step Functions Wait can add (it wakes on whole seconds)."""
        if not self.rate_per_second:
            return 0.0
        return self.max_concurrency / self.rate_per_second + limits.WAIT_RESOLUTION_SECONDS


class VpcConfig(_Section):
    """Subnets and security groups for a function that must reach private resources."""

    subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]+$")]] = Field(min_length=1)
    security_group_ids: list[Annotated[str, Field(pattern=r"^sg-[0-9a-f]+$")]] = Field(min_length=1)


IamAction = Annotated[str, Field(pattern=r"^(\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$")]


class IamStatement(BaseModel):
    """One identity-policy statement, in IAM's own spelling (Sid, Effect, Action, Resource,
    Condition). Structure only: whether it is too broad is the policy pack's call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    Sid: str | None = Field(None, pattern=r"^[A-Za-z0-9]+$")
    Effect: Literal["Allow", "Deny"]
    Action: list[IamAction] = Field(min_length=1)
    Resource: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    Condition: dict[str, dict[str, str | list[str]]] | None = None

    @field_validator("Action", "Resource", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        """IAM accepts a single string where a list is expected; so do we."""
        return [value] if isinstance(value, str) else value

    def document(self) -> dict[str, Any]:
        """The statement as IAM JSON, without unset keys."""
        return self.model_dump(exclude_none=True)


class FunctionConfig(_Section):
    """The Lambda function that processes one object per invocation."""

    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Function name. Default '<name_prefix>-processor'.",
    )
    source_dir: Path | None = Field(
        None,
        description="Folder packaged as the function's code (relative to the project).",
    )
    handler: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$",
        description="'module.function' inside source_dir, e.g. 'app.handler'.",
    )
    existing_function_arn: str | None = Field(
        None,
        pattern=r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9$_-]+)?$",
        description="Invoke this existing function instead of creating one from source_dir.",
    )
    runtime: Runtime = Field("python3.12", description="Lambda runtime. Default python3.12.")
    memory_size: int = Field(
        256,
        ge=limits.LAMBDA_MEMORY_MIN_MB,
        le=limits.LAMBDA_MEMORY_MAX_MB,
        description="Memory, MB. Default 256.",
    )
    timeout: int = Field(
        60,
        ge=1,
        le=limits.LAMBDA_TIMEOUT_MAX_SECONDS,
        description="Timeout, seconds (also for an existing function: state it). Default 60.",
    )
    architecture: Literal["arm64", "x86_64"] = Field("arm64", description="Default arm64.")
    environment: dict[Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")], str] = Field(
        default_factory=dict, description="Environment variables (not for secrets)."
    )
    layers: list[str] = Field(
        default_factory=list,
        max_length=limits.LAMBDA_LAYERS_MAX,
        description="Layer version ARNs.",
    )
    reserved_concurrency: int | None = Field(
        None, ge=0, description="Reserved concurrency. Default: unreserved."
    )
    provisioned_concurrency: int = Field(
        0, ge=0, description="Provisioned concurrency on the 'live' alias. Default 0 (none)."
    )
    scale_on_queue_depth: bool = Field(
        False, description="Scale provisioned concurrency on the queue's visible messages."
    )
    messages_per_instance: int = Field(
        10, ge=1, description="Scaling target: visible messages per provisioned instance."
    )
    min_provisioned_concurrency: int = Field(1, ge=1, description="Scaling floor. Default 1.")
    max_provisioned_concurrency: int = Field(10, ge=1, description="Scaling ceiling. Default 10.")
    vpc: VpcConfig | None = Field(None, description="Run the function in these subnets.")
    log_retention_days: Literal[limits.LOG_RETENTION_DAYS] = Field(  # type: ignore[valid-type]
        30, description="Function log retention, days. Default 30."
    )
    tracing: bool = Field(True, description="X-Ray active tracing. Default true.")
    extra_policy_statements: list[IamStatement] = Field(
        default_factory=list,
        description=(
            "Escape hatch: IAM statements appended to the function role's policy, for what the "
            "handler itself calls (e.g. write to another bucket). Name exact actions and ARNs: "
            "the policy pack (`s3ep check`) rejects wildcard actions and '*' resources. "
            "Default: none."
        ),
    )

    def handler_module_path(self) -> Path | None:
        """File that must hold the handler, relative to source_dir ('a.b.fn' -> a/b.py)."""
        if self.handler is None:
            return None
        module = self.handler.rsplit(".", 1)[0]
        return Path(*module.split(".")).with_suffix(".py")


IamPolicyArn = Annotated[
    str, Field(pattern=r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$")
]


class SecurityConfig(_Section):
    """Encryption keys and IAM guard rails. The secure defaults themselves are not optional
    (see docs/security.md); these settings add to them."""

    create_kms_key: bool = Field(
        False,
        description=(
            "Create one customer managed KMS key (rotation on) for the four queues, with a key "
            "policy that lets only this processor's roles, EventBridge (this account) and "
            "CloudWatch Logs (this processor's log groups) use it. Exposed as the component's "
            "`kms_key_arn`. Default false: SQS-managed encryption, or queue.kms_key_arn."
        ),
    )
    kms_key_deletion_window_days: int = Field(
        30, ge=7, le=30, description="Days before a deleted key is gone. Default 30 (the maximum)."
    )
    permissions_boundary_arn: IamPolicyArn | None = Field(
        None,
        description=(
            "Permissions boundary applied to every IAM role the component creates. Default: none."
        ),
    )


# --- operations: alarms, dashboard, logs, integrations ------------------------------------------

TreatMissingData = Literal["missing", "ignore", "breaching", "notBreaching"]
SnsTopicArn = Annotated[
    str, Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
]
SecretArn = Annotated[
    str,
    Field(
        pattern=(
            r"^arn:aws[a-z-]*:(secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+"
            r"|ssm:[a-z0-9-]+:\d{12}:parameter/[A-Za-z0-9/_.-]+)$"
        )
    ),
]
AWS_MANAGED_SNS_KEY = re.compile(r"(^|:)alias/aws/sns$")


class AlarmSettings(_Section):
    """One alarm: when it fires and how missing data counts. Subclasses set the defaults."""

    enabled: bool = Field(True, description="Create this alarm. Default true.")
    threshold: float = Field(1, gt=0, description="Fire at or above this value.")
    period_seconds: int = Field(
        300, description="Seconds per evaluated data point: 10, 30 or a multiple of 60."
    )
    evaluation_periods: int = Field(1, ge=1, description="Data points evaluated.")
    datapoints_to_alarm: int | None = Field(
        None, ge=1, description="Breaching data points needed. Default: all evaluated ones."
    )
    treat_missing_data: TreatMissingData = Field(
        "notBreaching",
        description=(
            "How a period without data counts. Default notBreaching: these metrics are absent "
            "when nothing happens, which is good news."
        ),
    )

    @model_validator(mode="after")
    def _evaluation(self) -> AlarmSettings:
        period = self.period_seconds
        if period not in limits.ALARM_PERIOD_HIGH_RESOLUTION_SECONDS and (
            period < limits.ALARM_PERIOD_STEP_SECONDS or period % limits.ALARM_PERIOD_STEP_SECONDS
        ):
            raise ValueError(
                f"period_seconds {period} is not 10, 30 or a multiple of 60; AWS rejects it"
            )
        if period * self.evaluation_periods > limits.ALARM_EVALUATION_RANGE_MAX_SECONDS:
            raise ValueError(
                "period_seconds x evaluation_periods must not exceed one day (86400 s); "
                "lower one of them"
            )
        if self.datapoints_to_alarm is not None and (
            self.datapoints_to_alarm > self.evaluation_periods
        ):
            raise ValueError(
                f"datapoints_to_alarm ({self.datapoints_to_alarm}) must not exceed "
                f"evaluation_periods ({self.evaluation_periods})"
            )
        return self


class QueueDepthAlarm(AlarmSettings):
    """Messages waiting in the queue: the dispatcher is not keeping up."""

    threshold: float = Field(
        1000, gt=0, description="Visible messages (maximum in a period). Default 1000."
    )
    period_seconds: int = Field(300, description="Default 300.")
    evaluation_periods: int = Field(3, ge=1, description="Default 3 (15 minutes).")


class MessageAgeAlarm(AlarmSettings):
    """Age of the oldest message in the queue: work is stuck or falling behind."""

    threshold: float = Field(
        1800,
        gt=0,
        description=(
            "Seconds. Default 1800. Keep it above max_receive_count x (failed_retry_delay_seconds "
            "+ function.timeout), "
            "or one failing message pages before it reaches the DLQ."
        ),
    )
    period_seconds: int = Field(60, description="Default 60.")
    evaluation_periods: int = Field(5, ge=1, description="Default 5.")


class DlqMessagesAlarm(AlarmSettings):
    """A dead-letter queue holds messages (one alarm per DLQ: queue, rule and function DLQ)."""

    threshold: float = Field(1, gt=0, description="Visible dead letters. Default 1.")
    period_seconds: int = Field(60, description="Default 60.")


class RuleFailedInvocationsAlarm(AlarmSettings):
    """EventBridge could not deliver to the queue (FailedInvocations), or could not even park the
    event in the rule DLQ (InvocationsFailedToBeSentToDlq): two alarms."""

    threshold: float = Field(1, gt=0, description="Failed deliveries in a period. Default 1.")
    period_seconds: int = Field(60, description="Default 60.")


class FunctionErrorsAlarm(AlarmSettings):
    """The function raised (or timed out). The dispatcher retries the message later."""

    threshold: float = Field(5, gt=0, description="Errors in a period. Default 5.")


class FunctionThrottlesAlarm(AlarmSettings):
    """Invocations refused for lack of concurrency (account limit or reserved concurrency)."""

    threshold: float = Field(5, gt=0, description="Throttles in a period. Default 5.")


class FunctionDurationAlarm(AlarmSettings):
    """p99 duration close to the timeout: invocations are about to time out."""

    threshold: float = Field(
        80, gt=0, le=100, description="Percent of function.timeout. Default 80."
    )


class DispatcherAlarm(AlarmSettings):
    """Dispatcher executions that ended badly (failed, timed out, aborted) or were throttled."""

    threshold: float = Field(1, gt=0, description="Executions in a period. Default 1.")


class AlarmsConfig(_Section):
    """CloudWatch alarms on every stage, with actions to one SNS topic. By default the component
    creates the topic, encrypted with a KMS key it creates (CloudWatch cannot publish to a topic
    encrypted with the AWS-managed alias/aws/sns key); or name an existing topic."""

    enabled: bool = Field(True, description="Create the alarms (and the topic). Default true.")
    topic_arn: SnsTopicArn | None = Field(
        None, description="Send alarm and OK actions to this existing topic instead."
    )
    emails: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = Field(
        default_factory=list,
        description="E-mail subscriptions on the created topic (each must confirm by e-mail).",
    )
    kms_key_arn: KmsArn | None = Field(
        None,
        description=(
            "Customer KMS key for the created topic; its key policy must let "
            "cloudwatch.amazonaws.com use kms:Decrypt and kms:GenerateDataKey*. Default: a key "
            "the component creates with that policy."
        ),
    )
    queue_depth: QueueDepthAlarm = Field(default_factory=QueueDepthAlarm)
    oldest_message_age: MessageAgeAlarm = Field(default_factory=MessageAgeAlarm)
    dlq_messages: DlqMessagesAlarm = Field(default_factory=DlqMessagesAlarm)
    rule_failed_invocations: RuleFailedInvocationsAlarm = Field(
        default_factory=RuleFailedInvocationsAlarm
    )
    function_errors: FunctionErrorsAlarm = Field(default_factory=FunctionErrorsAlarm)
    function_throttles: FunctionThrottlesAlarm = Field(default_factory=FunctionThrottlesAlarm)
    function_duration: FunctionDurationAlarm = Field(default_factory=FunctionDurationAlarm)
    dispatcher_failed: DispatcherAlarm = Field(default_factory=DispatcherAlarm)
    dispatcher_timed_out: DispatcherAlarm = Field(default_factory=DispatcherAlarm)
    dispatcher_aborted: DispatcherAlarm = Field(default_factory=DispatcherAlarm)
    dispatcher_throttled: DispatcherAlarm = Field(default_factory=DispatcherAlarm)


class DynatraceConfig(_Section):
    """Dynatrace OneAgent on the function: its Lambda layer and environment. The connection token
    comes from a secret and is stored only as a Pulumi secret (see docs/operations.md)."""

    layer_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$",
        description="The Dynatrace layer version for this region, runtime and architecture.",
    )
    tenant: str = Field(pattern=r"^[a-z0-9]+$", description="DT_TENANT, e.g. 'abc12345'.")
    cluster_id: str = Field(pattern=r"^-?\d+$", description="DT_CLUSTER_ID.")
    connection_base_url: str = Field(
        pattern=r"^https://[^\s/]+(/\S*)?$",
        description="DT_CONNECTION_BASE_URL, e.g. 'https://abc12345.live.dynatrace.com'.",
    )
    token_secret_arn: SecretArn | None = Field(
        None,
        description=(
            "Secrets Manager secret or SSM SecureString parameter holding the connection token; "
            "read at deployment into a Pulumi secret."
        ),
    )
    token_config_key: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+$",
        description=(
            "Or 'namespace:key' of a Pulumi secret config value holding the token "
            "(`pulumi config set --secret namespace:key ...`)."
        ),
    )
    environment: dict[Annotated[str, Field(pattern=r"^DT_[A-Z0-9_]+$")], str] = Field(
        default_factory=dict,
        description="More DT_* settings, e.g. DT_LOGGING_DESTINATION (not for secrets).",
    )

    @model_validator(mode="after")
    def _one_token_source(self) -> DynatraceConfig:
        if (self.token_secret_arn is None) == (self.token_config_key is None):
            raise ValueError(
                "set exactly one of token_secret_arn and token_config_key: the connection token "
                "never goes into the config in plaintext"
            )
        return self


class SplunkConfig(_Section):
    """Every log group of the processor streamed to Splunk through CloudWatch Logs subscription
    filters: to a Firehose delivery stream the component creates for a Splunk HEC endpoint, or to
    an existing destination."""

    destination_arn: str | None = Field(
        None,
        pattern=(
            r"^arn:aws[a-z-]*:(logs:[a-z0-9-]+:\d{12}:destination:[A-Za-z0-9_.-]+"
            r"|firehose:[a-z0-9-]+:\d{12}:deliverystream/[A-Za-z0-9_.-]+)$"
        ),
        description=(
            "An existing CloudWatch Logs destination (e.g. another account's) or Firehose "
            "delivery stream. Default: create a Firehose stream to hec_endpoint."
        ),
    )
    hec_endpoint: str | None = Field(
        None,
        pattern=r"^https://[^\s/]+(/\S*)?$",
        description="Splunk HTTP Event Collector URL for the created Firehose stream.",
    )
    hec_endpoint_type: Literal["Raw", "Event"] = Field("Event", description="Default Event.")
    hec_token_secret_arn: str | None = Field(
        None,
        pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$",
        description=(
            'Secrets Manager secret holding the HEC token as JSON {"hec_token": ...}; Firehose '
            "reads it itself, so the token never reaches Pulumi."
        ),
    )
    failed_events_bucket_arn: str | None = Field(
        None,
        pattern=r"^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        description="Bucket for events Splunk did not accept (required with hec_endpoint).",
    )
    hec_acknowledgment_timeout_seconds: int = Field(
        300,
        ge=limits.FIREHOSE_SPLUNK_ACK_TIMEOUT_MIN_SECONDS,
        le=limits.FIREHOSE_SPLUNK_ACK_TIMEOUT_MAX_SECONDS,
        description="Seconds Firehose waits for Splunk's acknowledgment. Default 300.",
    )
    retry_seconds: int = Field(
        3600,
        ge=0,
        le=limits.FIREHOSE_SPLUNK_RETRY_MAX_SECONDS,
        description="Seconds Firehose retries before backing up to the bucket. Default 3600.",
    )
    filter_pattern: str = Field(
        "", description="CloudWatch Logs filter pattern. Default '' (every event)."
    )

    @model_validator(mode="after")
    def _one_destination(self) -> SplunkConfig:
        creating = self.hec_endpoint is not None
        if (self.destination_arn is not None) == creating:
            raise ValueError("set exactly one of destination_arn and hec_endpoint")
        if creating and (
            self.hec_token_secret_arn is None or self.failed_events_bucket_arn is None
        ):
            raise ValueError(
                "hec_endpoint needs hec_token_secret_arn (the HEC token, in Secrets Manager) "
                "and failed_events_bucket_arn (where undelivered events go)"
            )
        return self

    @property
    def destination_is_firehose(self) -> bool:
        """A Firehose stream (created or existing) needs a role for CloudWatch Logs to write."""
        return self.destination_arn is None or ":firehose:" in self.destination_arn


class MonitoringConfig(_Section):
    """What an on-call engineer needs: alarms, one dashboard, log retention and encryption, and
    optional Dynatrace and Splunk integrations. Tracing and the dispatcher's log level are set
    on `function.tracing`, `dispatch.tracing`, `dispatch.log_level` and
    `dispatch.include_execution_data`."""

    alarms: AlarmsConfig = Field(default_factory=AlarmsConfig)
    dashboard: bool = Field(True, description="One CloudWatch dashboard. Default true.")
    dispatcher_log_retention_days: Literal[limits.LOG_RETENTION_DAYS] | None = Field(  # type: ignore[valid-type]
        None, description="Dispatcher log retention, days. Default: function.log_retention_days."
    )
    log_kms_key_arn: KmsArn | None = Field(
        None,
        description=(
            "Customer KMS key for the function's and dispatcher's log groups; its key policy "
            "must let logs.<region>.amazonaws.com use it. Default: CloudWatch Logs encryption."
        ),
    )
    dynatrace: DynatraceConfig | None = Field(None, description="Default: no Dynatrace.")
    splunk: SplunkConfig | None = Field(None, description="Default: no Splunk.")


class S3EventProcessorArgs(_Section):
    """Everything one S3 event processor needs. Only `name_prefix` and the function's code are
    required; every other option has a production default."""

    name_prefix: str = Field(
        pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$",
        description=(
            "Prefix of every physical name: lower case letters, digits and '-'. Every name built "
            "from it must fit its service's length limit (IAM roles: 64 characters)."
        ),
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags on every resource.")
    bucket: BucketConfig = Field(default_factory=BucketConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    function: FunctionConfig = Field(default_factory=FunctionConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    # --- derived values: one place each -------------------------------------------------------

    @property
    def function_name(self) -> str:
        if self.function.existing_function_arn:
            return self.function.existing_function_arn.split(":")[6]
        return self.function.name or f"{self.name_prefix}-processor"

    @property
    def names(self) -> Names:
        return Names.derive(self.name_prefix, self.function_name, self.bucket.existing_bucket_name)

    def lambda_timeout_seconds(self) -> int:
        """The function's timeout as deployed: the handler's `function.timeout`, plus, with a rate
        limit, the longest the shim may wait for a start slot before calling the handler."""
        if not self.dispatch.rate_per_second:
            return self.function.timeout
        return self.function.timeout + math.ceil(DEFER_AFTER_SECONDS + TOLERANCE_FRACTION)

    def invoke_worst_case_seconds(self) -> float:
        """Longest one message's invocation can take: every attempt times out, every retry waits."""
        attempts = self.dispatch.retry.max_attempts + 1
        return attempts * self.lambda_timeout_seconds() + self.dispatch.retry.total_delay_seconds()

    def message_worst_case_seconds(self) -> float:
        """Longest one message takes in its lane: wait for a slot, invoke, delete."""
        return (
            self.dispatch.pace_wait_worst_seconds()
            + self.invoke_worst_case_seconds()
            + MESSAGE_OVERHEAD_SECONDS
        )

    def in_flight_worst_case_seconds(self) -> int:
        """Longest a received message can stay in flight before it is deleted, in seconds.

        A lane receives up to `batch_size` messages and invokes them one after the other, so the
        last one waits for every earlier one of its batch: receive wait + batch x (slot wait +
        invocation + delete) + overhead.
        """
        d = self.dispatch
        worst = (
            d.receive_wait_seconds
            + d.batch_size * self.message_worst_case_seconds()
            + DISPATCH_OVERHEAD_SECONDS
        )
        return math.ceil(worst)

    def tail_worst_case_seconds(self) -> int:
        """Longest an execution can run after its start window closed: the last started
        handler runs to its timeout (+5 s of Lambda latency), one transient retry waits its
        longest delay and answers 'expired', then the lanes release and the lease is freed."""
        r = self.dispatch.retry
        return math.ceil(
            limits.WAIT_RESOLUTION_SECONDS
            + self.lambda_timeout_seconds()
            + INVOKE_LATENCY_SECONDS
            + (r.max_delay_seconds if r.max_attempts else 0)
            + DISPATCH_OVERHEAD_SECONDS
        )

    def start_window_seconds(self) -> int:
        """Seconds after an execution starts during which it may start invocations."""
        return self.dispatch.max_execution_seconds - self.tail_worst_case_seconds()

    def lease_seconds(self) -> int:
        """How long a poller holds the lease: its whole budget, plus a margin."""
        return self.dispatch.max_execution_seconds + LEASE_MARGIN_SECONDS

    def history_events_per_message_worst(self) -> int:
        """History events one received message can add: its Map iteration (2), IsS3Event (2),
        Invoke twice (a deferral) with every Lambda attempt, Outcome twice, Pace, and its final
        SQS task with every retry."""
        attempts = self.dispatch.retry.max_attempts + 1
        invoke = 2 + 3 * attempts
        return 2 + 2 + 2 * invoke + 2 * 2 + 2 + SQS_TASK_EVENTS_WORST

    def history_events_worst(self, rounds: int, messages: int) -> int:
        """Most history events of a STANDARD execution that ran `rounds` lane rounds in all
        (the last, empty receive of each lane included) over `messages` received messages."""
        lanes = self.dispatch.max_concurrency
        return (
            HISTORY_EVENTS_FIXED
            + 2 * lanes
            + rounds * HISTORY_EVENTS_PER_ROUND
            + messages * self.history_events_per_message_worst()
        )

    def lane_rounds(self) -> int | None:
        """Full receives per lane per STANDARD execution, so its history stays within
        HISTORY_BUDGET_SHARE of the limit. EXPRESS executions have no history limit: None (the
        start window bounds them)."""
        d = self.dispatch
        if d.workflow_type != "STANDARD":
            return None
        budget = limits.STANDARD_HISTORY_EVENTS_MAX * HISTORY_BUDGET_SHARE
        lanes = d.max_concurrency

        def fits(rounds: int) -> bool:  # `rounds` receives per lane, and a last, empty one
            messages = lanes * sum(d.receive_sizes(rounds))
            return self.history_events_worst(lanes * (rounds + 1), messages) <= budget

        rounds = 0
        while fits(rounds + 1):
            rounds += 1
        return rounds

    def lane_batch_bytes(self) -> int:
        """Largest state payload a lane's received batch can make."""
        return self.dispatch.batch_size * (
            self.queue.max_message_size_bytes + MESSAGE_ENVELOPE_BYTES
        )

    @property
    def visibility_timeout_seconds(self) -> int:
        """The queue's visibility timeout: the configured one, or the worst case."""
        configured = self.queue.visibility_timeout_seconds
        return configured if configured is not None else self.in_flight_worst_case_seconds()

    # --- cross-field rules --------------------------------------------------------------------

    @model_validator(mode="after")
    def _cross_field_rules(self) -> S3EventProcessorArgs:
        problems = list(_cross_field_problems(self))
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("cross_field", message), loc=loc, input=value
                    )
                    for loc, message, value in problems
                ],
            )
        return self


Problem = tuple[tuple[str | int, ...], str, Any]


def _cross_field_problems(args: S3EventProcessorArgs) -> list[Problem]:
    """Every rule that involves more than one field; each problem names the field to change."""
    return [
        *_bucket_problems(args.bucket),
        *_queue_problems(args),
        *_dispatch_problems(args),
        *_function_problems(args),
        *_name_problems(args),
        *_security_problems(args),
        *_monitoring_problems(args),
    ]


def _bucket_problems(bucket: BucketConfig) -> list[Problem]:
    out: list[Problem] = []
    if bucket.existing_bucket_name is not None:
        for field in _BUCKET_CREATION_FIELDS:
            if field in bucket.model_fields_set:
                out.append(
                    (
                        ("bucket", field),
                        f"'{field}' applies only to a bucket the component creates; remove it or "
                        "remove 'existing_bucket_name'",
                        getattr(bucket, field),
                    )
                )
    elif "enable_eventbridge_notifications" in bucket.model_fields_set:
        out.append(
            (
                ("bucket", "enable_eventbridge_notifications"),
                "applies only to an existing bucket (a new bucket always has EventBridge "
                "notifications on); remove it",
                bucket.enable_eventbridge_notifications,
            )
        )
    if bucket.kms_key_arn is not None and bucket.encryption != "SSE_KMS":
        out.append(
            (
                ("bucket", "kms_key_arn"),
                "a KMS key needs encryption 'SSE_KMS'; set bucket.encryption to SSE_KMS",
                bucket.kms_key_arn,
            )
        )
    return out


def _queue_problems(args: S3EventProcessorArgs) -> list[Problem]:
    out: list[Problem] = []
    q = args.queue
    if q.kms_key_arn is not None and AWS_MANAGED_SQS_KEY.search(q.kms_key_arn):
        out.append(
            (
                ("queue", "kms_key_arn"),
                "the AWS-managed key alias/aws/sqs cannot be used by EventBridge, which then "
                "drops every delivery silently; use a customer managed key or omit kms_key_arn "
                "for SQS-managed encryption",
                q.kms_key_arn,
            )
        )
    worst = args.in_flight_worst_case_seconds()
    if q.visibility_timeout_seconds is not None and q.visibility_timeout_seconds < worst:
        out.append(
            (
                ("queue", "visibility_timeout_seconds"),
                f"must be at least {worst} s, the longest a received message can stay in flight "
                "(a lane invokes its batch one by one: slot waits, function timeout and retries; "
                "see docs/dispatch.md); raise it or omit it to use that value",
                q.visibility_timeout_seconds,
            )
        )
    if worst > limits.SQS_VISIBILITY_TIMEOUT_MAX_SECONDS:
        out.append(
            (
                ("function", "timeout"),
                f"the dispatcher's worst-case in-flight time is {worst} s, over SQS's maximum "
                f"visibility timeout of {limits.SQS_VISIBILITY_TIMEOUT_MAX_SECONDS} s; lower the "
                "timeout, dispatch.retry.max_attempts or dispatch.batch_size",
                args.function.timeout,
            )
        )
    return out


def _dispatch_problems(args: S3EventProcessorArgs) -> list[Problem]:
    d = args.dispatch
    out: list[Problem] = []
    if (
        d.workflow_type == "EXPRESS"
        and d.max_execution_seconds >= limits.EXPRESS_DURATION_MAX_SECONDS
    ):
        out.append(
            (
                ("dispatch", "max_execution_seconds"),
                f"an EXPRESS execution must end within {limits.EXPRESS_DURATION_MAX_SECONDS} s; "
                "set at most 270 (leave time for the last batch) or use STANDARD",
                d.max_execution_seconds,
            )
        )
    elif args.start_window_seconds() < MIN_START_WINDOW_SECONDS:
        out.append(
            (
                ("dispatch", "max_execution_seconds"),
                f"leaves {args.start_window_seconds()} s to start invocations after keeping "
                f"{args.tail_worst_case_seconds()} s for the last one to finish (function "
                "timeout, one retry delay, overhead); raise it, lower function.timeout or "
                "dispatch.retry.max_delay_seconds",
                d.max_execution_seconds,
            )
        )
    payload_budget = limits.STATE_PAYLOAD_MAX_BYTES - PAYLOAD_HEADROOM_BYTES
    if args.lane_batch_bytes() > payload_budget:
        out.append(
            (
                ("queue", "max_message_size_bytes"),
                f"a lane's batch of {d.batch_size} messages could reach "
                f"{args.lane_batch_bytes()} bytes, over the {payload_budget} bytes a Step "
                "Functions state may hold for them; lower it or dispatch.batch_size",
                args.queue.max_message_size_bytes,
            )
        )
    return out


def _function_problems(args: S3EventProcessorArgs) -> list[Problem]:
    f = args.function
    out: list[Problem] = []
    if f.existing_function_arn is not None:
        for field in ("source_dir", "handler", "name"):
            if getattr(f, field) is not None:
                out.append(
                    (
                        ("function", field),
                        f"'{field}' applies only to a function the component creates; remove it "
                        "or remove 'existing_function_arn'",
                        str(getattr(f, field)),
                    )
                )
    else:
        if f.source_dir is None:
            out.append(
                (
                    ("function", "source_dir"),
                    "set the folder holding the function's code, or set existing_function_arn",
                    None,
                )
            )
        elif not f.source_dir.is_dir():
            out.append(
                (
                    ("function", "source_dir"),
                    f"folder '{f.source_dir}' does not exist (relative paths start at the "
                    f"project folder, {Path.cwd()}); fix the path",
                    str(f.source_dir),
                )
            )
        if f.handler is None:
            out.append((("function", "handler"), "set 'module.function', e.g. 'app.handler'", None))
        elif f.source_dir is not None and f.source_dir.is_dir():
            module = f.handler_module_path()
            assert module is not None
            if not (f.source_dir / module).is_file():
                out.append(
                    (
                        ("function", "handler"),
                        f"module file '{module}' is not in source_dir '{f.source_dir}'; fix the "
                        "handler or the folder",
                        f.handler,
                    )
                )
    if f.reserved_concurrency is not None:
        if f.provisioned_concurrency > f.reserved_concurrency:
            out.append(
                (
                    ("function", "provisioned_concurrency"),
                    f"must not exceed reserved_concurrency ({f.reserved_concurrency}); lower it "
                    "or raise reserved_concurrency",
                    f.provisioned_concurrency,
                )
            )
        if f.scale_on_queue_depth and f.max_provisioned_concurrency > f.reserved_concurrency:
            out.append(
                (
                    ("function", "max_provisioned_concurrency"),
                    f"must not exceed reserved_concurrency ({f.reserved_concurrency}); lower it "
                    "or raise reserved_concurrency",
                    f.max_provisioned_concurrency,
                )
            )
        if f.reserved_concurrency < args.dispatch.max_concurrency:
            out.append(
                (
                    ("function", "reserved_concurrency"),
                    f"is below dispatch.max_concurrency ({args.dispatch.max_concurrency}), so "
                    "the dispatcher would be throttled; raise it or lower max_concurrency",
                    f.reserved_concurrency,
                )
            )
    if f.scale_on_queue_depth and f.min_provisioned_concurrency > f.max_provisioned_concurrency:
        out.append(
            (
                ("function", "min_provisioned_concurrency"),
                f"must not exceed max_provisioned_concurrency ({f.max_provisioned_concurrency})",
                f.min_provisioned_concurrency,
            )
        )
    if f.scale_on_queue_depth and f.existing_function_arn is not None:
        out.append(
            (
                ("function", "scale_on_queue_depth"),
                "needs a function the component creates (it publishes versions and an alias); "
                "remove it or use source_dir",
                True,
            )
        )
    return out


def _name_problems(args: S3EventProcessorArgs) -> list[Problem]:
    out: list[Problem] = []
    for field, name, limit in args.names.too_long():
        where: tuple[str, ...] = ("name_prefix",)
        if field == "function" and args.function.name:
            where = ("function", "name")
        elif field == "bucket" and args.bucket.existing_bucket_name:
            continue
        out.append(
            (
                where,
                f"the {field.replace('_', ' ')} name '{name}' is {len(name)} characters, over "
                f"the limit of {limit}; shorten it by {len(name) - limit}",
                name if where != ("name_prefix",) else args.name_prefix,
            )
        )
    return out


def _security_problems(args: S3EventProcessorArgs) -> list[Problem]:
    out: list[Problem] = []
    if args.security.create_kms_key and args.queue.kms_key_arn is not None:
        out.append(
            (
                ("security", "create_kms_key"),
                "queue.kms_key_arn already names the key for the queues; remove one of the two",
                True,
            )
        )
    return out


def _monitoring_problems(args: S3EventProcessorArgs) -> list[Problem]:
    m, f = args.monitoring, args.function
    a = m.alarms
    out: list[Problem] = []
    if a.topic_arn is not None:
        for field in ("emails", "kms_key_arn"):
            if field in a.model_fields_set:
                out.append(
                    (
                        ("monitoring", "alarms", field),
                        f"'{field}' applies only to the topic the component creates; configure "
                        "the existing topic yourself or remove 'topic_arn'",
                        getattr(a, field),
                    )
                )
    if a.kms_key_arn is not None and AWS_MANAGED_SNS_KEY.search(a.kms_key_arn):
        out.append(
            (
                ("monitoring", "alarms", "kms_key_arn"),
                "CloudWatch cannot publish to a topic encrypted with the AWS-managed key "
                "alias/aws/sns, so every alarm action would fail silently; use a customer managed "
                "key or omit kms_key_arn for a key the component creates",
                a.kms_key_arn,
            )
        )
    if m.dynatrace is not None:
        if f.existing_function_arn is not None:
            out.append(
                (
                    ("monitoring", "dynatrace"),
                    "needs a function the component creates (it adds a layer and environment); "
                    "instrument the existing function yourself or use source_dir",
                    None,
                )
            )
        if len(f.layers) + 1 > limits.LAMBDA_LAYERS_MAX:
            out.append(
                (
                    ("function", "layers"),
                    f"the Dynatrace layer makes {len(f.layers) + 1} layers, over Lambda's limit "
                    f"of {limits.LAMBDA_LAYERS_MAX}; remove one",
                    f.layers,
                )
            )
    if (
        f.scale_on_queue_depth
        and f.provisioned_concurrency > 0
        and not f.min_provisioned_concurrency
        <= f.provisioned_concurrency
        <= f.max_provisioned_concurrency
    ):
        out.append(
            (
                ("function", "provisioned_concurrency"),
                "with scale_on_queue_depth it is the starting value and must lie between "
                f"min_provisioned_concurrency ({f.min_provisioned_concurrency}) and "
                f"max_provisioned_concurrency ({f.max_provisioned_concurrency}); change it or "
                "omit it to start at the minimum",
                f.provisioned_concurrency,
            )
        )
    return out
