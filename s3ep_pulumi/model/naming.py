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
# S3's account regional namespace (pulumi-aws's bucket_namespace) and the suffix S3 reserves to
# the names in it.
ACCOUNT_REGIONAL_NAMESPACE: Final = "account-regional"
ACCOUNT_REGIONAL_SUFFIX: Final = "-an"
# The longest account and region a default bucket name can be built from.
_LONGEST_ACCOUNT = "0" * limits.ACCOUNT_ID_LENGTH
_LONGEST_REGION = "x" * limits.REGION_CODE_MAX_LENGTH


def default_bucket_name(prefix: str, account_id: str, region: str) -> str:
    """The name of a bucket the component creates when `bucket.name` is not set. Bucket names
    are global: anyone's bucket of a fixed name breaks `pulumi up`. In the account regional
    namespace the name `<prefix>-<account>-<region>-an` can be created by this account only;
    where S3 offers no such namespace, the same name without the reserved -an suffix."""
    name = f"{prefix}-{account_id}-{region}"
    if region in limits.S3_ACCOUNT_REGIONAL_UNSUPPORTED_REGIONS:
        return name
    return name + ACCOUNT_REGIONAL_SUFFIX


def bucket_namespace(name: str) -> str | None:
    """The namespace a new bucket of this name is created in: the account regional one for a
    name with its reserved suffix, else the global one (None: S3's default, so buckets made
    before the option existed see no change)."""
    return ACCOUNT_REGIONAL_NAMESPACE if name.endswith(ACCOUNT_REGIONAL_SUFFIX) else None


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
    # STANDARD only: the EXPRESS state machine the STANDARD dispatcher runs once per round (the
    # lanes, the lease, per-message work), its role and its log group.
    run_state_machine: str
    run_role: str
    run_log_group: str
    schedule: str
    scheduler_role: str
    rule: str
    rule_target: str
    rule_dlq: str
    function_log_group: str
    dispatcher_log_group: str
    # The bucket's name when the config gives it (existing_bucket_name or bucket.name); None: a
    # new bucket named at deployment (`default_bucket_name`, from the account and region).
    bucket: str | None
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
    backfill_state_machine: str
    backfill_role: str
    backfill_log_group: str
    prefix: str

    @classmethod
    def derive(cls, prefix: str, function_name: str, bucket_name: str | None = None) -> Names:
        """Names for `prefix`; `function_name` is the function's own name (it may differ),
        `bucket_name` the bucket's if the config names it."""
        state_machine = f"{prefix}-dispatcher"
        run_state_machine = f"{state_machine}-run"
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
            run_state_machine=run_state_machine,
            # Short, so it never binds name_prefix tighter than `dispatcher_role` does.
            run_role=f"{prefix}-run-role",
            run_log_group=f"/aws/vendedlogs/states/{run_state_machine}",
            schedule=f"{prefix}-poll",
            scheduler_role=f"{prefix}-scheduler-role",
            rule=f"{prefix}-s3-events",
            rule_target=RULE_TARGET_ID,
            rule_dlq=f"{prefix}-rule-dlq",
            function_log_group=f"{limits.LAMBDA_LOG_GROUP_PREFIX}{function_name}",
            dispatcher_log_group=f"/aws/vendedlogs/states/{state_machine}",
            bucket=bucket_name,
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
            backfill_state_machine=f"{prefix}-backfill",
            backfill_role=f"{prefix}-backfill-role",
            backfill_log_group=f"/aws/vendedlogs/states/{prefix}-backfill",
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

    @property
    def longest_bucket(self) -> str:
        """The bucket's name, or the longest its default can be (any account, any region)."""
        return self.bucket or default_bucket_name(self.prefix, _LONGEST_ACCOUNT, _LONGEST_REGION)

    def too_long(self) -> list[tuple[str, str, int]]:
        """(field, name, limit) for every name over its service's length limit; for a default
        bucket name, its longest form."""
        out = []
        for f in fields(self):
            limit = NAME_LIMITS.get(f.name)
            value = self.longest_bucket if f.name == "bucket" else getattr(self, f.name)
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
    "run_state_machine": limits.STATE_MACHINE_NAME_MAX,
    "run_role": limits.IAM_ROLE_NAME_MAX,
    "scheduler_role": limits.IAM_ROLE_NAME_MAX,
    "schedule": limits.SCHEDULE_NAME_MAX,
    "rule": limits.EVENT_RULE_NAME_MAX,
    "bucket": limits.S3_BUCKET_NAME_MAX,
    "alarm_topic": limits.SNS_TOPIC_NAME_MAX,
    "dashboard": limits.DASHBOARD_NAME_MAX,
    "firehose": limits.FIREHOSE_STREAM_NAME_MAX,
    "firehose_role": limits.IAM_ROLE_NAME_MAX,
    "log_subscription_role": limits.IAM_ROLE_NAME_MAX,
    "backfill_state_machine": limits.STATE_MACHINE_NAME_MAX,
    "backfill_role": limits.IAM_ROLE_NAME_MAX,
}
