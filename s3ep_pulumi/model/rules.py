"""Cross-field rules: every rule that involves more than one field, each problem located at the
field to change. They run after each field is valid and are reported together."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from s3ep_pulumi.model import limits
from s3ep_pulumi.model.budget import MIN_START_WINDOW_SECONDS, PAYLOAD_HEADROOM_BYTES
from s3ep_pulumi.model.sections import BucketConfig
from s3ep_pulumi.model.security import AWS_MANAGED_SNS_KEY, AWS_MANAGED_SQS_KEY

if TYPE_CHECKING:
    from s3ep_pulumi.model.args import S3EventProcessorArgs

Problem = tuple[tuple[str | int, ...], str, Any]
_BUCKET_CREATION_FIELDS = ("versioning", "encryption", "kms_key_arn", "force_destroy")


def cross_field_problems(args: S3EventProcessorArgs) -> list[Problem]:
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
