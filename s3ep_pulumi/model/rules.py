"""Cross-field rules: every rule that involves more than one field, each problem located at the
field to change. They run after each field is valid and are reported together.

Each rule is a small function registered with `@rule(summary)`, in the order its problems are
reported; `RULES` is that registry, and `docs/configuration.md` lists its summaries (together
with the section-level rules of `sections` and `monitoring`), so the reference never misses one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from s3ep_pulumi.model import limits
from s3ep_pulumi.model.budget import MIN_START_WINDOW_SECONDS, PAYLOAD_HEADROOM_BYTES
from s3ep_pulumi.model.sections import DISPATCHER_ONLY_FIELDS
from s3ep_pulumi.model.security import AWS_MANAGED_KEY, AWS_MANAGED_SNS_KEY, AWS_MANAGED_SQS_KEY

if TYPE_CHECKING:
    from s3ep_pulumi.model.args import S3EventProcessorArgs

# (location of the field to change, message, the offending value)
Problem = tuple[tuple[str | int, ...], str, Any]
Check = Callable[["S3EventProcessorArgs"], Iterator[Problem]]

_BUCKET_CREATION_FIELDS = (
    "name",
    "versioning",
    "encryption",
    "kms_key_arn",
    "force_destroy",
    "noncurrent_version_expiration_days",
    "access_log_bucket",
    "access_log_prefix",
)


@dataclass(frozen=True)
class Rule:
    """One cross-field rule: what it requires (for the docs) and its check."""

    summary: str
    check: Check


RULES: list[Rule] = []


def rule(summary: str) -> Callable[[Check], Check]:
    """Register a check under a one-line summary written for the configuration reference."""

    def register(check: Check) -> Check:
        RULES.append(Rule(summary, check))
        return check

    return register


def cross_field_problems(args: S3EventProcessorArgs) -> list[Problem]:
    """Every rule's problems, in registry order; each problem names the field to change."""
    return [problem for r in RULES for problem in r.check(args)]


# --- bucket --------------------------------------------------------------------------------------


@rule(
    "`bucket.name`, `versioning`, `encryption`, `kms_key_arn`, `force_destroy`, "
    "`noncurrent_version_expiration_days`, `access_log_bucket` and `access_log_prefix` apply only "
    "to a bucket the component creates (not with `existing_bucket_name`)."
)
def _creation_fields_need_a_new_bucket(args: S3EventProcessorArgs) -> Iterator[Problem]:
    bucket = args.bucket
    if bucket.existing_bucket_name is None:
        return
    for field in _BUCKET_CREATION_FIELDS:
        if field in bucket.model_fields_set:
            yield (
                ("bucket", field),
                f"'{field}' applies only to a bucket the component creates; remove it or "
                "remove 'existing_bucket_name'",
                getattr(bucket, field),
            )


@rule(
    "`bucket.enable_eventbridge_notifications` applies only to an existing bucket (a new one "
    "always has them on)."
)
def _notifications_switch_needs_an_existing_bucket(
    args: S3EventProcessorArgs,
) -> Iterator[Problem]:
    bucket = args.bucket
    if (
        bucket.existing_bucket_name is None
        and "enable_eventbridge_notifications" in bucket.model_fields_set
    ):
        yield (
            ("bucket", "enable_eventbridge_notifications"),
            "applies only to an existing bucket (a new bucket always has EventBridge "
            "notifications on); remove it",
            bucket.enable_eventbridge_notifications,
        )


@rule(
    "`bucket.access_log_prefix` needs `bucket.access_log_bucket`, which is not the bucket itself."
)
def _access_logs_go_to_another_bucket(args: S3EventProcessorArgs) -> Iterator[Problem]:
    bucket = args.bucket
    if bucket.access_log_prefix is not None and bucket.access_log_bucket is None:
        yield (
            ("bucket", "access_log_prefix"),
            "a log prefix needs access_log_bucket, the bucket the logs go to; set it or remove "
            "the prefix",
            bucket.access_log_prefix,
        )
    if bucket.access_log_bucket is not None and bucket.access_log_bucket == bucket.name:
        yield (
            ("bucket", "access_log_bucket"),
            "a bucket logging into itself logs its own log deliveries without end; name another "
            "bucket",
            bucket.access_log_bucket,
        )


@rule("`bucket.kms_key_arn` needs `bucket.encryption: SSE_KMS`.")
def _bucket_key_needs_sse_kms(args: S3EventProcessorArgs) -> Iterator[Problem]:
    bucket = args.bucket
    if bucket.kms_key_arn is not None and bucket.encryption != "SSE_KMS":
        yield (
            ("bucket", "kms_key_arn"),
            "a KMS key needs encryption 'SSE_KMS'; set bucket.encryption to SSE_KMS",
            bucket.kms_key_arn,
        )


# --- queue ---------------------------------------------------------------------------------------


@rule(
    "`queue.kms_key_arn` may not be the AWS-managed `alias/aws/sqs` key (EventBridge cannot use "
    "it)."
)
def _queue_key_is_not_aws_managed(args: S3EventProcessorArgs) -> Iterator[Problem]:
    q = args.queue
    if q.kms_key_arn is not None and AWS_MANAGED_SQS_KEY.search(q.kms_key_arn):
        yield (
            ("queue", "kms_key_arn"),
            "the AWS-managed key alias/aws/sqs cannot be used by EventBridge, which then "
            "drops every delivery silently; use a customer managed key or omit kms_key_arn "
            "for SQS-managed encryption",
            q.kms_key_arn,
        )


@rule(
    "`queue.visibility_timeout_seconds`, when set, covers the dispatcher's worst-case in-flight "
    "time (default: exactly that value; see `docs/dispatch.md`); with the event source mapping "
    "engine, six times the function's timeout (the Lambda guide's recommendation, the default)."
)
def _visibility_covers_in_flight(args: S3EventProcessorArgs) -> Iterator[Problem]:
    q, budget = args.queue, args.budget
    if q.visibility_timeout_seconds is None:
        return
    if not args.dispatch.uses_dispatcher:
        if q.visibility_timeout_seconds < budget.mapping_visibility_seconds:
            yield (
                ("queue", "visibility_timeout_seconds"),
                f"must be at least {budget.mapping_visibility_seconds} s, six times the "
                "function's timeout: the Lambda guide asks this of an event source mapping's "
                "queue, so a batch Lambda retries after a throttle is not received twice; "
                "raise it or omit it to use that value",
                q.visibility_timeout_seconds,
            )
        return
    worst = budget.in_flight_worst_case_seconds
    if q.visibility_timeout_seconds < worst:
        yield (
            ("queue", "visibility_timeout_seconds"),
            f"must be at least {worst} s, the longest a received message can stay in flight "
            "(a lane invokes its batch one by one: slot waits, function timeout and retries; "
            "see docs/dispatch.md); raise it or omit it to use that value",
            q.visibility_timeout_seconds,
        )


@rule(
    "The worst-case in-flight time (function timeout, retries, batch size) fits SQS's maximum "
    "visibility timeout of 12 hours."
)
def _in_flight_fits_sqs(args: S3EventProcessorArgs) -> Iterator[Problem]:
    if not args.dispatch.uses_dispatcher:
        return  # the mapping's visibility: 6 x at most 900 s, far below the maximum
    worst = args.budget.in_flight_worst_case_seconds
    if worst > limits.SQS_VISIBILITY_TIMEOUT_MAX_SECONDS:
        yield (
            ("function", "timeout"),
            f"the dispatcher's worst-case in-flight time is {worst} s, over SQS's maximum "
            f"visibility timeout of {limits.SQS_VISIBILITY_TIMEOUT_MAX_SECONDS} s; lower the "
            "timeout, dispatch.retry.max_attempts or dispatch.batch_size",
            args.function.timeout,
        )


# --- dispatch ------------------------------------------------------------------------------------


@rule(
    "`dispatch.engine: event_source_mapping` has no rate limit: not with "
    "`dispatch.rate_per_second`."
)
def _mapping_has_no_rate(args: S3EventProcessorArgs) -> Iterator[Problem]:
    d = args.dispatch
    if d.engine == "event_source_mapping" and d.rate_per_second is not None:
        yield (
            ("dispatch", "rate_per_second"),
            "the event source mapping engine has no rate limit (only maximum concurrency); "
            "remove rate_per_second or set dispatch.engine: step_functions",
            d.rate_per_second,
        )


@rule(
    "With the event source mapping engine, `dispatch.max_concurrency` is at least 2 (the "
    "mapping's MaximumConcurrency minimum)."
)
def _mapping_concurrency_in_range(args: S3EventProcessorArgs) -> Iterator[Problem]:
    d = args.dispatch
    if not d.uses_dispatcher and d.max_concurrency < limits.MAPPING_CONCURRENCY_MIN:
        yield (
            ("dispatch", "max_concurrency"),
            f"an SQS event source mapping's maximum concurrency is at least "
            f"{limits.MAPPING_CONCURRENCY_MIN}; raise it, or set dispatch.engine: "
            "step_functions (with a rate_per_second) for a single invocation at a time",
            d.max_concurrency,
        )


@rule(
    "With the event source mapping engine, the dispatcher's own settings (`workflow_type`, "
    "`failed_retry_delay_seconds`, `poll_interval_minutes`, `receive_wait_seconds`, "
    "`max_execution_seconds`, `retry`, `log_level`, `include_execution_data`, `tracing`) are "
    "not set."
)
def _dispatcher_fields_need_the_dispatcher(args: S3EventProcessorArgs) -> Iterator[Problem]:
    d = args.dispatch
    if d.uses_dispatcher:
        return
    why = (
        "dispatch.engine: event_source_mapping"
        if d.engine == "event_source_mapping"
        else "dispatch.engine auto without rate_per_second"
    )
    for field in DISPATCHER_ONLY_FIELDS:
        if field in d.model_fields_set:
            value = getattr(d, field)
            yield (
                ("dispatch", field),
                f"'{field}' is a setting of the Step Functions dispatcher, and this processor "
                f"uses the event source mapping engine ({why}); set "
                "dispatch.engine: step_functions or remove it",
                value.model_dump() if hasattr(value, "model_dump") else value,
            )


@rule(
    "`dispatch.max_execution_seconds` stays under EXPRESS's 5-minute limit (under STANDARD it is "
    "the budget of each EXPRESS run the parent starts), and leaves a start window of at least "
    "10 s after the tail kept for the last invocation."
)
def _execution_fits(args: S3EventProcessorArgs) -> Iterator[Problem]:
    d, budget = args.dispatch, args.budget
    if not d.uses_dispatcher:
        return
    if d.max_execution_seconds >= limits.EXPRESS_DURATION_MAX_SECONDS:
        run = "an EXPRESS execution" if d.workflow_type == "EXPRESS" else "each run (EXPRESS)"
        yield (
            ("dispatch", "max_execution_seconds"),
            f"{run} of the dispatcher must end within {limits.EXPRESS_DURATION_MAX_SECONDS} s; "
            "set at most 270 (leave time for the last batch)",
            d.max_execution_seconds,
        )
    elif budget.start_window_seconds < MIN_START_WINDOW_SECONDS:
        yield (
            ("dispatch", "max_execution_seconds"),
            f"leaves {budget.start_window_seconds} s to start invocations after keeping "
            f"{budget.tail_worst_case_seconds} s for the last one to finish (function "
            "timeout, one retry delay, overhead); raise it, lower function.timeout or "
            "dispatch.retry.max_delay_seconds",
            d.max_execution_seconds,
        )


@rule(
    "A lane's batch (`dispatch.batch_size` x (`queue.max_message_size_bytes` + envelope)) fits "
    "a Step Functions state's 256 KiB payload, with headroom."
)
def _batch_fits_the_payload(args: S3EventProcessorArgs) -> Iterator[Problem]:
    if not args.dispatch.uses_dispatcher:
        return  # Lambda's 6 MB synchronous payload holds 10 messages of at most 1 MiB
    payload_budget = limits.STATE_PAYLOAD_MAX_BYTES - PAYLOAD_HEADROOM_BYTES
    batch_bytes = args.budget.lane_batch_bytes
    if batch_bytes > payload_budget:
        yield (
            ("queue", "max_message_size_bytes"),
            f"a lane's batch of {args.dispatch.batch_size} messages could reach "
            f"{batch_bytes} bytes, over the {payload_budget} bytes a Step "
            "Functions state may hold for them; lower it or dispatch.batch_size",
            args.queue.max_message_size_bytes,
        )


# --- function ------------------------------------------------------------------------------------


_PACKAGE_FIELDS = ("package_requirements", "powertools_layer", "powertools_layer_version")


@rule(
    "`function.source_dir`, `handler`, `name`, `package_requirements` and the Powertools layer "
    "apply only to a function the component creates (not with `existing_function_arn`)."
)
def _code_fields_need_a_new_function(args: S3EventProcessorArgs) -> Iterator[Problem]:
    f = args.function
    if f.existing_function_arn is None:
        return
    given = [n for n in ("source_dir", "handler", "name") if getattr(f, n) is not None]
    given += [n for n in _PACKAGE_FIELDS if n in f.model_fields_set]
    for field in given:
        value = getattr(f, field)
        yield (
            ("function", field),
            f"'{field}' applies only to a function the component creates; remove it "
            "or remove 'existing_function_arn'",
            str(value) if isinstance(value, Path) else value,
        )


@rule(
    "Without `existing_function_arn`, `function.source_dir` is an existing folder (relative to "
    "the project) and `function.handler` names a module file in it."
)
def _code_exists(args: S3EventProcessorArgs) -> Iterator[Problem]:
    f = args.function
    if f.existing_function_arn is not None:
        return
    if f.source_dir is None:
        yield (
            ("function", "source_dir"),
            "set the folder holding the function's code, or set existing_function_arn",
            None,
        )
    elif not f.source_dir.is_dir():
        yield (
            ("function", "source_dir"),
            f"folder '{f.source_dir}' does not exist (relative paths start at the "
            f"project folder, {Path.cwd()}); fix the path",
            str(f.source_dir),
        )
    if f.handler is None:
        yield (("function", "handler"), "set 'module.function', e.g. 'app.handler'", None)
    elif f.source_dir is not None and f.source_dir.is_dir():
        module = f.handler_module_path()
        assert module is not None
        if not (f.source_dir / module).is_file():
            yield (
                ("function", "handler"),
                f"module file '{module}' is not in source_dir '{f.source_dir}'; fix the "
                "handler or the folder",
                f.handler,
            )


@rule(
    "With `function.reserved_concurrency`: `provisioned_concurrency` and (with scaling) "
    "`max_provisioned_concurrency` do not exceed it, and it is at least "
    "`dispatch.max_concurrency`."
)
def _reserved_concurrency_covers_the_rest(args: S3EventProcessorArgs) -> Iterator[Problem]:
    f = args.function
    if f.reserved_concurrency is None:
        return
    if f.provisioned_concurrency > f.reserved_concurrency:
        yield (
            ("function", "provisioned_concurrency"),
            f"must not exceed reserved_concurrency ({f.reserved_concurrency}); lower it "
            "or raise reserved_concurrency",
            f.provisioned_concurrency,
        )
    if f.scale_on_queue_depth and f.max_provisioned_concurrency > f.reserved_concurrency:
        yield (
            ("function", "max_provisioned_concurrency"),
            f"must not exceed reserved_concurrency ({f.reserved_concurrency}); lower it "
            "or raise reserved_concurrency",
            f.max_provisioned_concurrency,
        )
    if f.reserved_concurrency < args.dispatch.max_concurrency:
        who = (
            "the dispatcher"
            if args.dispatch.uses_dispatcher
            else "the event source mapping (Lambda throttles it when reserved concurrency is "
            "below its maximum concurrency)"
        )
        yield (
            ("function", "reserved_concurrency"),
            f"is below dispatch.max_concurrency ({args.dispatch.max_concurrency}), so "
            f"{who} would be throttled; raise it or lower max_concurrency",
            f.reserved_concurrency,
        )


@rule(
    "With `function.scale_on_queue_depth`: `min_provisioned_concurrency` <= "
    "`max_provisioned_concurrency`."
)
def _scaling_range_is_ordered(args: S3EventProcessorArgs) -> Iterator[Problem]:
    f = args.function
    if f.scale_on_queue_depth and f.min_provisioned_concurrency > f.max_provisioned_concurrency:
        yield (
            ("function", "min_provisioned_concurrency"),
            f"must not exceed max_provisioned_concurrency ({f.max_provisioned_concurrency})",
            f.min_provisioned_concurrency,
        )


@rule(
    "`function.scale_on_queue_depth` needs a function the component creates (it publishes "
    "versions and an alias)."
)
def _scaling_needs_a_new_function(args: S3EventProcessorArgs) -> Iterator[Problem]:
    f = args.function
    if f.scale_on_queue_depth and f.existing_function_arn is not None:
        yield (
            ("function", "scale_on_queue_depth"),
            "needs a function the component creates (it publishes versions and an alias); "
            "remove it or use source_dir",
            True,
        )


# --- names and security --------------------------------------------------------------------------


@rule(
    "Every physical name built from `name_prefix` (or `function.name`) fits its service's "
    "length limit."
)
def _names_fit(args: S3EventProcessorArgs) -> Iterator[Problem]:
    for field, name, limit in args.names.too_long():
        where: tuple[str, ...] = ("name_prefix",)
        if field == "function" and args.function.name:
            where = ("function", "name")
        elif field == "bucket" and not args.bucket.default_name:
            continue  # a name the config gives is checked by its own pattern
        elif field == "bucket":
            yield (
                where,
                f"the default bucket name '{args.name_prefix}-<account>-<region>-an' can be "
                f"{len(name)} characters (with the longest region code), over the limit of "
                f"{limit}; shorten it by {len(name) - limit} or set bucket.name",
                args.name_prefix,
            )
            continue
        yield (
            where,
            f"the {field.replace('_', ' ')} name '{name}' is {len(name)} characters, over "
            f"the limit of {limit}; shorten it by {len(name) - limit}",
            name if where != ("name_prefix",) else args.name_prefix,
        )


@rule(
    "At most one of `security.create_kms_key`, `security.kms_key_arn` and `queue.kms_key_arn` "
    "is set (one key for the queues)."
)
def _one_queue_key(args: S3EventProcessorArgs) -> Iterator[Problem]:
    s, q = args.security, args.queue
    if s.create_kms_key and q.kms_key_arn is not None:
        yield (
            ("security", "create_kms_key"),
            "queue.kms_key_arn already names the key for the queues; remove one of the two",
            True,
        )
    if s.kms_key_arn is not None and s.create_kms_key:
        yield (
            ("security", "kms_key_arn"),
            "security.create_kms_key creates the processor's key; name your key or create one, "
            "not both",
            s.kms_key_arn,
        )
    if s.kms_key_arn is not None and q.kms_key_arn is not None:
        yield (
            ("queue", "kms_key_arn"),
            "security.kms_key_arn already encrypts the queues; remove one of the two",
            q.kms_key_arn,
        )


@rule("`security.kms_key_arn` is a customer managed key, not an AWS managed `alias/aws/...`.")
def _processor_key_is_customer_managed(args: S3EventProcessorArgs) -> Iterator[Problem]:
    arn = args.security.kms_key_arn
    if arn is not None and AWS_MANAGED_KEY.search(arn):
        yield (
            ("security", "kms_key_arn"),
            "an AWS managed key's policy admits only its own service and cannot be changed, so "
            "EventBridge, CloudWatch Logs and Firehose cannot use it; name a customer managed "
            "key or set create_kms_key",
            arn,
        )


# --- monitoring ----------------------------------------------------------------------------------


@rule(
    "`monitoring.alarms.emails` and `kms_key_arn` apply only to the topic the component creates "
    "(not with `topic_arn`)."
)
def _topic_fields_need_a_new_topic(args: S3EventProcessorArgs) -> Iterator[Problem]:
    a = args.monitoring.alarms
    if a.topic_arn is None:
        return
    for field in ("emails", "kms_key_arn"):
        if field in a.model_fields_set:
            yield (
                ("monitoring", "alarms", field),
                f"'{field}' applies only to the topic the component creates; configure "
                "the existing topic yourself or remove 'topic_arn'",
                getattr(a, field),
            )


@rule(
    "`monitoring.alarms.kms_key_arn` may not be the AWS-managed `alias/aws/sns` key (CloudWatch "
    "cannot publish with it)."
)
def _topic_key_is_not_aws_managed(args: S3EventProcessorArgs) -> Iterator[Problem]:
    a = args.monitoring.alarms
    if a.kms_key_arn is not None and AWS_MANAGED_SNS_KEY.search(a.kms_key_arn):
        yield (
            ("monitoring", "alarms", "kms_key_arn"),
            "CloudWatch cannot publish to a topic encrypted with the AWS-managed key "
            "alias/aws/sns, so every alarm action would fail silently; use a customer managed "
            "key or omit kms_key_arn for a key the component creates",
            a.kms_key_arn,
        )


@rule(
    "`monitoring.dynatrace` needs a function the component creates, and room for one more "
    "layer in `function.layers`."
)
def _dynatrace_fits_the_function(args: S3EventProcessorArgs) -> Iterator[Problem]:
    m, f = args.monitoring, args.function
    if m.dynatrace is None:
        return
    if f.existing_function_arn is not None:
        yield (
            ("monitoring", "dynatrace"),
            "needs a function the component creates (it adds a layer and environment); "
            "instrument the existing function yourself or use source_dir",
            None,
        )
    if (count := len(f.layers) + f.powertools_layer + 1) > limits.LAMBDA_LAYERS_MAX:
        yield (
            ("function", "layers"),
            f"the Dynatrace layer makes {count} layers, over Lambda's limit "
            f"of {limits.LAMBDA_LAYERS_MAX}; remove one",
            f.layers,
        )


@rule(
    "`function.powertools_layer` leaves room for its layer in `function.layers` (with "
    "Dynatrace's, see above)."
)
def _powertools_layer_fits(args: S3EventProcessorArgs) -> Iterator[Problem]:
    f = args.function
    count = len(f.layers) + 1
    alone = f.powertools_layer and args.monitoring.dynatrace is None  # else Dynatrace's rule
    if alone and count > limits.LAMBDA_LAYERS_MAX:
        yield (
            ("function", "layers"),
            f"the Powertools layer makes {count} layers, over Lambda's limit "
            f"of {limits.LAMBDA_LAYERS_MAX}; remove one or set powertools_layer: false",
            f.layers,
        )


@rule(
    "With `function.scale_on_queue_depth`, a non-zero `provisioned_concurrency` (the starting "
    "value) lies within min..max provisioned concurrency."
)
def _starting_capacity_in_range(args: S3EventProcessorArgs) -> Iterator[Problem]:
    f = args.function
    if (
        f.scale_on_queue_depth
        and f.provisioned_concurrency > 0
        and not f.min_provisioned_concurrency
        <= f.provisioned_concurrency
        <= f.max_provisioned_concurrency
    ):
        yield (
            ("function", "provisioned_concurrency"),
            "with scale_on_queue_depth it is the starting value and must lie between "
            f"min_provisioned_concurrency ({f.min_provisioned_concurrency}) and "
            f"max_provisioned_concurrency ({f.max_provisioned_concurrency}); change it or "
            "omit it to start at the minimum",
            f.provisioned_concurrency,
        )
