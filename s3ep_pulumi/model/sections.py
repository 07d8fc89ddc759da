"""The sections of a processor's configuration: bucket, queue, dispatch, function, security."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from s3ep_pulumi.model import limits
from s3ep_pulumi.model.base import EventType, KmsArn, Runtime, Section

BUCKET_NAME_PATTERN: Final = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class BucketConfig(Section):
    """The S3 bucket whose object events are processed. Created unless an existing one is named."""

    existing_bucket_name: str | None = Field(
        None,
        pattern=BUCKET_NAME_PATTERN,
        description="Use this existing bucket instead of creating one. Default: create a bucket.",
    )
    name: str | None = Field(
        None,
        pattern=BUCKET_NAME_PATTERN,
        description=(
            "New bucket: its name (a name ending in '-an' is created in the account regional "
            "namespace, and must then end in '-<account>-<region>-an' of the deploying account "
            "and Region). Default '<name_prefix>-<account>-<region>-an' in the account "
            "regional namespace, which only this account can create (bucket names are global); "
            "in me-south-1 and me-central-1, which lack that namespace, the same without '-an'. "
            "A stack deployed before this default keeps its bucket (docs/operations.md, "
            "'Bucket names')."
        ),
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
    noncurrent_version_expiration_days: int | None = Field(
        30,
        ge=1,
        description=(
            "New bucket: days S3 keeps an object version after it stops being current "
            "(overwritten or deleted), then deletes it for good. With event_types 'deleted', "
            "those deletions are events too. Default 30; null keeps every version forever."
        ),
    )
    access_log_bucket: str | None = Field(
        None,
        pattern=BUCKET_NAME_PATTERN,
        description=(
            "New bucket: deliver S3 server access logs to this existing bucket, in the same "
            "account and Region, without SSE-KMS default encryption, whose bucket policy lets "
            "logging.s3.amazonaws.com s3:PutObject (docs/security.md). Default: no access logs."
        ),
    )
    access_log_prefix: str | None = Field(
        None,
        max_length=limits.S3_ACCESS_LOG_PREFIX_MAX,
        description=(
            "With access_log_bucket: key prefix of the log objects. Default '<name_prefix>/', "
            "so several buckets can share one log bucket."
        ),
    )

    @property
    def default_name(self) -> bool:
        """A new bucket named by the component (`naming.default_bucket_name`), not the user."""
        return self.existing_bucket_name is None and self.name is None

    @property
    def manages_notifications(self) -> bool:
        """The component turns on the bucket's EventBridge notifications: always on a bucket it
        creates, on an existing one only when asked (that replaces its notification config)."""
        return self.existing_bucket_name is None or self.enable_eventbridge_notifications

    @property
    def sse_algorithm(self) -> Literal["aws:kms", "AES256"]:
        """New bucket: the default-encryption algorithm S3 names `encryption` by."""
        return "aws:kms" if self.encryption == "SSE_KMS" else "AES256"

    @property
    def bucket_key_enabled(self) -> bool:
        """SSE-KMS with S3 bucket keys, which cut the KMS requests (and their cost) per object."""
        return self.encryption == "SSE_KMS"

    @property
    def versioning_status(self) -> Literal["Enabled", "Suspended"]:
        """New bucket: S3's versioning status for `versioning`."""
        return "Enabled" if self.versioning else "Suspended"


class QueueConfig(Section):
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


class RetryConfig(Section):
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


# A scheduled poller starts on the minute (no flexible window) and a start the scheduler could
# not make is never retried: the next one is one poll interval away. Its execution's input.
SCHEDULE_FLEXIBLE_WINDOW: Final = "OFF"
SCHEDULE_RETRY_ATTEMPTS: Final = 0
SCHEDULE_INPUT: Final = '{"trigger": "schedule", "chain": 0}'

DispatchEngine = Literal["step_functions", "event_source_mapping"]
# The event source mapping engine's settings: partial batch responses, so one failed message is
# retried alone (docs/aws-semantics.md L13), and no batching window: a batch of at most
# SQS_RECEIVE_MAX_MESSAGES needs none, and the function starts as soon as messages arrive.
MAPPING_FUNCTION_RESPONSE_TYPES: Final = ("ReportBatchItemFailures",)
MAPPING_BATCHING_WINDOW_SECONDS: Final = 0
# DispatchConfig fields only the Step Functions dispatcher reads: set under the event source
# mapping engine, each is one error (rules.py).
DISPATCHER_ONLY_FIELDS: Final = (
    "workflow_type",
    "failed_retry_delay_seconds",
    "poll_interval_minutes",
    "receive_wait_seconds",
    "max_execution_seconds",
    "retry",
    "log_level",
    "include_execution_data",
    "tracing",
)


class DispatchConfig(Section):
    """How the queue is drained into the function: the Step Functions dispatcher (paced,
    staggered), or Lambda's SQS event source mapping (no rate limit; docs/dispatch.md)."""

    engine: Literal["auto", "step_functions", "event_source_mapping"] = Field(
        "auto",
        description=(
            "What drains the queue: 'step_functions', the dispatcher (a rate limit, lanes, a "
            "lease); 'event_source_mapping', Lambda's SQS event source mapping with maximum "
            "concurrency (no rate limit, cheaper, starts within milliseconds; docs/dispatch.md, "
            "'The event source mapping engine'); 'auto', the mapping when rate_per_second is "
            "unset, else the dispatcher. Default auto."
        ),
    )
    workflow_type: Literal["STANDARD", "EXPRESS"] = Field(
        "EXPRESS",
        description=(
            "EXPRESS is the cheapest (see docs/dispatch.md). STANDARD runs a STANDARD parent "
            "(a 90-day execution history) that starts one EXPRESS run per round for the "
            "per-message work. Default EXPRESS."
        ),
    )
    max_concurrency: int = Field(
        10,
        ge=1,
        le=limits.INLINE_MAP_CONCURRENCY_MAX,
        description=(
            "Most function invocations in flight at once: the dispatcher runs up to this many "
            "lanes, each invoking one message at a time (with a rate, only as many as the "
            "handler's measured cycle needs, docs/dispatch.md 'How many lanes'). Default 10."
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
            "Time budget of one poller execution (under STANDARD: of each EXPRESS run the parent "
            "starts), seconds. It starts no invocation once what is left could not finish in "
            "time, releases its lease and ends; with work left the next execution (or round) "
            "starts at once, else the next scheduled poller carries on. EXPRESS executions must "
            "finish within 300 s, so at most 299. Default 240."
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

    @property
    def resolved_engine(self) -> DispatchEngine:
        """The engine that drains the queue: `engine`, with 'auto' resolved to the event source
        mapping when no rate limit is set (it has none) and to the dispatcher otherwise."""
        if self.engine != "auto":
            return self.engine
        return "event_source_mapping" if self.rate_per_second is None else "step_functions"

    @property
    def uses_dispatcher(self) -> bool:
        """The Step Functions dispatcher drains the queue (its state machine, schedule, lease
        table, role and log group exist)."""
        return self.resolved_engine == "step_functions"

    @property
    def executions_can_be_aborted(self) -> bool:
        """Only STANDARD executions can be stopped: StopExecution "is not supported by EXPRESS
        state machines", so their ExecutionsAborted metric never has a data point."""
        return self.uses_dispatcher and self.workflow_type == "STANDARD"

    @property
    def logging_enabled(self) -> bool:
        """The state machine logs (and its role may deliver logs) unless log_level is OFF."""
        return self.log_level != "OFF"

    @property
    def schedule_expression(self) -> str:
        """EventBridge Scheduler's rate expression: a poller every poll_interval_minutes."""
        minutes = self.poll_interval_minutes
        return f"rate({minutes} minute{'s' if minutes > 1 else ''})"

    @property
    def schedule_max_event_age_seconds(self) -> int:
        """Seconds the scheduler keeps trying one start: one poll interval, after which the next
        start is due anyway."""
        return 60 * self.poll_interval_minutes

    def receive_ramp(self) -> list[int]:
        """Next receive size after a receive of i messages (index i): a lane starts with 1 and
        doubles up to batch_size, so a small burst is spread over every lane."""
        return [min(self.batch_size, max(1, 2 * i)) for i in range(self.batch_size + 1)]


class VpcConfig(Section):
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


# Lambda's log format: the runtime's lines (START, END, REPORT) and the handler's logging as JSON,
# which Logs Insights queries by field.
FUNCTION_LOG_FORMAT: Final = "JSON"
# pulumi-aws's reserved_concurrent_executions for "no reserved concurrency" (0 would stop the
# function from running at all).
UNRESERVED_CONCURRENCY: Final = -1
# The Powertools for AWS Lambda (Python) V3 layers: one per runtime and architecture, published by
# this account in every commercial region, the same version numbers everywhere (the project's
# docs/index.md, "Lambda Layer"). Version 27 is Powertools 3.23.0 (aws-powertools/
# powertools-lambda-python issue 7689: the python3.13 x86_64 layer 27 of 13 Nov 2025).
POWERTOOLS_LAYER_ACCOUNT: Final = "017000801446"
POWERTOOLS_LAYER_VERSION: Final = 27
POWERTOOLS_LAYER_RELEASE: Final = "3.23.0"


class FunctionConfig(Section):
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
    package_requirements: bool = Field(
        True,
        description=(
            "Install the dependencies that source_dir declares (its requirements.txt, else the "
            "[project].dependencies of its pyproject.toml) into the package, as wheels for the "
            "function's runtime and architecture (pip --platform manylinux... --only-binary "
            ":all:). boto3 and botocore are packaged too when the requirements pull them in, so "
            "the function runs the SDK it was tested with, not the runtime's. The install is "
            "cached by the requirements' bytes, runtime and architecture (under "
            "build/functions/deps, or $S3EP_DEPS_CACHE): pin versions, since an unpinned "
            "requirement resolves once per cache. Set false when layers provide every "
            "dependency. Default true."
        ),
    )
    powertools_layer: bool = Field(
        False,
        description=(
            "Add the official Powertools for AWS Lambda (Python) V3 layer (AWS account "
            f"{POWERTOOLS_LAYER_ACCOUNT}, commercial regions) for the function's runtime, "
            "architecture and the region deployed to, first among the layers. With it, "
            "aws-lambda-powertools can leave the requirements (or set "
            "package_requirements: false). Default false."
        ),
    )
    powertools_layer_version: int = Field(
        POWERTOOLS_LAYER_VERSION,
        ge=1,
        description=(
            "The version of the Powertools layer, pinned so that a deployment never changes by "
            f"itself. Default {POWERTOOLS_LAYER_VERSION} (Powertools "
            f"{POWERTOOLS_LAYER_RELEASE})."
        ),
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

    @property
    def provisioned(self) -> bool:
        """The function has provisioned concurrency, fixed or scaled. It lives on the 'live'
        alias (`naming.FUNCTION_ALIAS`), which the dispatcher then invokes."""
        return self.provisioned_concurrency > 0 or self.scale_on_queue_depth

    @property
    def publish(self) -> bool:
        """Publish a version on every change: the alias of provisioned concurrency needs one."""
        return self.provisioned

    @property
    def initial_provisioned_concurrency(self) -> int:
        """Provisioned concurrency set at deployment: the fixed value, or the scaling floor
        (with scale_on_queue_depth, Application Auto Scaling owns the value afterwards)."""
        return self.provisioned_concurrency or self.min_provisioned_concurrency

    @property
    def reserved_concurrent_executions(self) -> int:
        """Reserved concurrency as deployed: the configured value, or unreserved."""
        if self.reserved_concurrency is None:
            return UNRESERVED_CONCURRENCY
        return self.reserved_concurrency

    @property
    def tracing_mode(self) -> Literal["Active", "PassThrough"]:
        """Lambda's X-Ray mode: Active samples and traces; PassThrough only forwards a caller's
        trace header."""
        return "Active" if self.tracing else "PassThrough"

    @property
    def scaling_messages_per_instance(self) -> int | None:
        """Visible messages per provisioned instance the scaling tracks; None without scaling."""
        return self.messages_per_instance if self.scale_on_queue_depth else None

    @property
    def wheel_platforms(self) -> list[str]:
        """The wheel platform tags the function's runtime and architecture run, newest first:
        manylinux_2_<minor> down to manylinux_2_17, then its alias manylinux2014 (PEP 600)."""
        machine = limits.LAMBDA_WHEEL_MACHINES[self.architecture]
        major, minor = limits.LAMBDA_RUNTIME_GLIBC[self.runtime]
        tags = [f"manylinux_{major}_{m}_{machine}" for m in range(minor, 16, -1)]
        return [*tags, f"manylinux2014_{machine}"]

    @property
    def python_version(self) -> str:
        """The runtime's Python version, e.g. '3.12' for python3.12."""
        return self.runtime.removeprefix("python")

    def handler_module_path(self) -> Path | None:
        """File that must hold the handler, relative to source_dir ('a.b.fn' -> a/b.py)."""
        if self.handler is None:
            return None
        module = self.handler.rsplit(".", 1)[0]
        return Path(*module.split(".")).with_suffix(".py")


IamPolicyArn = Annotated[
    str, Field(pattern=r"^arn:aws[a-z-]*:iam::(\d{12}|aws):policy/[A-Za-z0-9+=,.@_/-]+$")
]


class SecurityConfig(Section):
    """Encryption keys and IAM guard rails. The secure defaults themselves are not optional
    (see docs/security.md); these settings add to them."""

    create_kms_key: bool = Field(
        False,
        description=(
            "Create the processor's customer managed KMS key (rotation on): it encrypts the "
            "queues, the log groups, the function's environment, the Splunk stream and the alarm "
            "topic. Its key policy lets only this processor's roles, EventBridge and CloudWatch "
            "(this account), CloudWatch Logs (this processor's log groups) and, through Lambda "
            "and Firehose, the account use it. Exposed as the component's `kms_key_arn`. "
            "Default false: AWS-managed encryption, or kms_key_arn."
        ),
    )
    kms_key_arn: KmsArn | None = Field(
        None,
        description=(
            "Or an existing customer managed key as the processor's key: it encrypts the queues, "
            "the log groups, the function's environment and the Splunk stream (not the alarm "
            "topic: monitoring.alarms.kms_key_arn). Its key policy is yours and must allow what "
            "docs/security.md lists (EventBridge, CloudWatch Logs for these log groups, IAM "
            "policies for the account). Default: none."
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


class BackfillConfig(Section):
    """A Step Functions Distributed Map that enqueues a large bucket's existing objects
    (`s3ep backfill --distributed`). Small buckets need none: `s3ep backfill` enqueues directly."""

    enabled: bool = Field(
        False,
        description=(
            "Declare the backfill state machine `<prefix>-backfill` (STANDARD, a Distributed Map "
            "over the bucket listing) and its role. Default false."
        ),
    )
    max_concurrency: int = Field(
        10,
        ge=1,
        le=limits.DISTRIBUTED_MAP_CONCURRENCY_MAX,
        description=(
            "Child executions at once, each sending one batch of objects. The backfill is not "
            "paced by the queue-depth gate of the direct command: keep it low. Default 10."
        ),
    )
    items_per_batch: int = Field(
        100,
        ge=1,
        le=limits.DISTRIBUTED_MAP_ITEMS_PER_BATCH_MAX,
        description="Listed objects per child execution. Default 100.",
    )
