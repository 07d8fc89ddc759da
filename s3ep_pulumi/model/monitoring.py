"""The monitoring section: alarms, the dashboard, Dynatrace and Splunk."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from s3ep_pulumi.model import limits
from s3ep_pulumi.model.base import KmsArn, Section

# What encrypts the alarm topic (`AlarmsConfig.topic_key`).
AlarmTopicKey = Literal["existing-topic", "given-key", "component-key", "own-key"]
DynatraceTokenSource = Literal["pulumi-config", "secrets-manager", "ssm-parameter"]
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


class AlarmSettings(Section):
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
        """`period_seconds` is 10, 30 or a multiple of 60, and `period_seconds` x
        `evaluation_periods` is at most one day."""
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


class AlarmsConfig(Section):
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
    dispatcher_aborted: DispatcherAlarm = Field(
        default_factory=DispatcherAlarm,
        description=(
            "STANDARD workflows only: EXPRESS executions cannot be stopped (StopExecution is not "
            "supported for them), so no alarm is made for them."
        ),
    )
    dispatcher_throttled: DispatcherAlarm = Field(default_factory=DispatcherAlarm)

    def active(self, aborts_possible: bool, dispatcher: bool = True) -> list[AlarmSettings]:
        """The enabled alarm settings that yield an alarm: all but `dispatcher_aborted` when
        executions cannot be aborted (`DispatchConfig.executions_can_be_aborted`), and none of
        the dispatcher's without one (the event source mapping engine). Each of them yields at
        least one alarm, whatever else is configured."""
        if not self.enabled:
            return []
        return [
            s
            for name in type(self).model_fields
            if isinstance(s := getattr(self, name), AlarmSettings)
            and s.enabled
            and (aborts_possible or name != "dispatcher_aborted")
            and (dispatcher or not name.startswith("dispatcher_"))
        ]

    def topic_key(
        self, component_key: bool, aborts_possible: bool, dispatcher: bool = True
    ) -> AlarmTopicKey | None:
        """What encrypts the alarm topic, given whether the processor has its own key
        (security.create_kms_key). None: no alarm (`active`), no topic. 'existing-topic':
        topic_arn, the component creates no topic. 'given-key': kms_key_arn. 'component-key':
        the processor's key, whose key policy then admits CloudWatch. 'own-key': a key the
        component creates for the topic alone (CloudWatch cannot use the AWS-managed
        alias/aws/sns key)."""
        if not self.active(aborts_possible, dispatcher):
            return None
        if self.topic_arn is not None:
            return "existing-topic"
        if self.kms_key_arn is not None:
            return "given-key"
        return "component-key" if component_key else "own-key"


class DynatraceConfig(Section):
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

    @property
    def token_source(self) -> DynatraceTokenSource:
        """Where the component reads the token at deployment."""
        if self.token_config_key is not None:
            return "pulumi-config"
        if self.token_secret_arn is not None and ":secretsmanager:" in self.token_secret_arn:
            return "secrets-manager"
        return "ssm-parameter"

    @property
    def token_config(self) -> tuple[str, str] | None:
        """(namespace, key) of token_config_key."""
        if self.token_config_key is None:
            return None
        namespace, key = self.token_config_key.split(":", 1)
        return namespace, key

    @model_validator(mode="after")
    def _one_token_source(self) -> DynatraceConfig:
        """Exactly one of `token_secret_arn` and `token_config_key` (the token is never in the
        config in plaintext)."""
        if (self.token_secret_arn is None) == (self.token_config_key is None):
            raise ValueError(
                "set exactly one of token_secret_arn and token_config_key: the connection token "
                "never goes into the config in plaintext"
            )
        return self


class SplunkConfig(Section):
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
        """Exactly one of `destination_arn` and `hec_endpoint`; `hec_endpoint` needs
        `hec_token_secret_arn` and `failed_events_bucket_arn`."""
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
    def creates_stream(self) -> bool:
        """The component creates the Firehose stream to hec_endpoint (no destination_arn)."""
        return self.destination_arn is None

    @property
    def destination_is_firehose(self) -> bool:
        """A Firehose stream (created or existing) needs a role for CloudWatch Logs to write."""
        return self.destination_arn is None or ":firehose:" in self.destination_arn


class MonitoringConfig(Section):
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
            "Customer KMS key for every log group of the processor (function, dispatcher, "
            "Splunk stream errors); its key policy must let logs.<region>.amazonaws.com use it. "
            "Default: the processor's key (security.create_kms_key or security.kms_key_arn), "
            "else CloudWatch Logs encryption."
        ),
    )
    dynatrace: DynatraceConfig | None = Field(None, description="Default: no Dynatrace.")
    splunk: SplunkConfig | None = Field(None, description="Default: no Splunk.")

    @property
    def function_environment_secret(self) -> bool:
        """The function's environment holds a secret (the Dynatrace token), so all of it is kept
        secret in the Pulumi state."""
        return self.dynatrace is not None
