"""Physical names of every AWS resource the component creates: the one place they are derived.

The config model validates these against the limits in `limits`, so a name that would be
rejected by AWS at deploy time is rejected at `pulumi preview` (or `s3ep synth`) instead.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import Final

from s3ep_pulumi.model import limits

# The alias that carries provisioned concurrency; the dispatcher then invokes it, not $LATEST.
FUNCTION_ALIAS: Final = "live"
# The rule's one target: the queue.
RULE_TARGET_ID: Final = "queue"
# The log stream Firehose writes its delivery errors to (the name the Firehose console uses).
FIREHOSE_ERROR_LOG_STREAM: Final = "DestinationDelivery"
# Hex digits of an e-mail address's digest in its subscription's logical name.
EMAIL_DIGEST_LENGTH: Final = 8


@dataclass(frozen=True)
class Names:
    """Physical names for one processor."""

    queue: str
    dlq: str
    dispatch_table: str
    runtime_layer: str
    function: str
    function_alias: str
    function_dlq: str
    function_role: str
    state_machine: str
    dispatcher_role: str
    schedule: str
    scheduler_role: str
    rule: str
    rule_target: str
    rule_dlq: str
    function_log_group: str
    dispatcher_log_group: str
    bucket: str
    alarm_topic: str
    alarm_topic_key_alias: str
    dashboard: str
    scaling_policy: str
    firehose: str
    firehose_role: str
    firehose_log_group: str
    firehose_log_stream: str
    firehose_backup_prefix: str
    log_subscription_role: str
    log_subscription: str
    prefix: str

    @classmethod
    def derive(cls, prefix: str, function_name: str, bucket_name: str | None = None) -> Names:
        """Names for `prefix`; `function_name` is the function's own name (it may differ)."""
        state_machine = f"{prefix}-dispatcher"
        return cls(
            queue=f"{prefix}-queue",
            dlq=f"{prefix}-dlq",
            dispatch_table=f"{prefix}-dispatch",
            runtime_layer=f"{prefix}-s3ep-runtime",
            function=function_name,
            function_alias=FUNCTION_ALIAS,
            function_dlq=f"{prefix}-function-dlq",
            function_role=f"{prefix}-function-role",
            state_machine=state_machine,
            dispatcher_role=f"{prefix}-dispatcher-role",
            schedule=f"{prefix}-poll",
            scheduler_role=f"{prefix}-scheduler-role",
            rule=f"{prefix}-s3-events",
            rule_target=RULE_TARGET_ID,
            rule_dlq=f"{prefix}-rule-dlq",
            function_log_group=f"{limits.LAMBDA_LOG_GROUP_PREFIX}{function_name}",
            dispatcher_log_group=f"/aws/vendedlogs/states/{state_machine}",
            bucket=bucket_name or f"{prefix}-bucket",
            alarm_topic=f"{prefix}-alarms",
            alarm_topic_key_alias=f"alias/{prefix}-alarms",
            dashboard=f"{prefix}-pipeline",
            scaling_policy=f"{prefix}-queue-depth",
            firehose=f"{prefix}-splunk",
            firehose_role=f"{prefix}-firehose-role",
            firehose_log_group=f"/aws/kinesisfirehose/{prefix}-splunk",
            firehose_log_stream=FIREHOSE_ERROR_LOG_STREAM,
            # Failed events are backed up under the stream's name in the failed-events bucket.
            firehose_backup_prefix=f"{prefix}-splunk/",
            log_subscription_role=f"{prefix}-log-sub-role",
            log_subscription=f"{prefix}-splunk",
            prefix=prefix,
        )

    def alarm(self, key: str) -> str:
        """Name of the alarm `key` (e.g. 'queue-depth'): every alarm of a processor sorts
        together in the console."""
        return f"{self.prefix}-{key}"

    @staticmethod
    def email_subscription(email: str) -> str:
        """Role (logical name suffix) of the alarm topic's subscription of `email`: named by a
        digest of the address, so reordering the list replaces nothing."""
        return f"alarms-email-{hashlib.sha256(email.encode()).hexdigest()[:EMAIL_DIGEST_LENGTH]}"

    def too_long(self) -> list[tuple[str, str, int]]:
        """(field, name, limit) for every name over its service's length limit."""
        out = []
        for f in fields(self):
            limit = NAME_LIMITS.get(f.name)
            value = getattr(self, f.name)
            if limit is not None and len(value) > limit:
                out.append((f.name, value, limit))
        return out


NAME_LIMITS: dict[str, int] = {
    "queue": limits.SQS_QUEUE_NAME_MAX,
    "dlq": limits.SQS_QUEUE_NAME_MAX,
    "dispatch_table": limits.DYNAMODB_TABLE_NAME_MAX,
    "runtime_layer": limits.LAMBDA_LAYER_NAME_MAX,
    "function_dlq": limits.SQS_QUEUE_NAME_MAX,
    "rule_dlq": limits.SQS_QUEUE_NAME_MAX,
    "function": limits.LAMBDA_FUNCTION_NAME_MAX,
    "state_machine": limits.STATE_MACHINE_NAME_MAX,
    "function_role": limits.IAM_ROLE_NAME_MAX,
    "dispatcher_role": limits.IAM_ROLE_NAME_MAX,
    "scheduler_role": limits.IAM_ROLE_NAME_MAX,
    "schedule": limits.SCHEDULE_NAME_MAX,
    "rule": limits.EVENT_RULE_NAME_MAX,
    "bucket": limits.S3_BUCKET_NAME_MAX,
    "alarm_topic": limits.SNS_TOPIC_NAME_MAX,
    "dashboard": limits.DASHBOARD_NAME_MAX,
    "firehose": limits.FIREHOSE_STREAM_NAME_MAX,
    "firehose_role": limits.IAM_ROLE_NAME_MAX,
    "log_subscription_role": limits.IAM_ROLE_NAME_MAX,
}
