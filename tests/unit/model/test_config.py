"""The config model: defaults, aliases, and every invalid configuration's exact error."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import MINIMAL, ROOT, config
from pydantic import ValidationError

from s3ep_pulumi import S3EventProcessorArgs
from s3ep_pulumi.component.stack import parse_args
from s3ep_pulumi.errors import ConfigError

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def errors(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """(dotted field path, message) of every error, in order."""
    with pytest.raises(ValidationError) as exc_info:
        S3EventProcessorArgs.model_validate(raw)
    return [
        (".".join(str(p) for p in e["loc"]), e["msg"])
        for e in exc_info.value.errors(include_url=False)
    ]


def test_minimal_config_gets_production_defaults() -> None:
    args = S3EventProcessorArgs.model_validate(MINIMAL)
    assert args.bucket.event_types == ["created"]
    assert args.bucket.existing_bucket_name is None
    assert args.bucket.encryption == "SSE_S3"
    assert args.queue.max_receive_count == 5
    assert args.queue.kms_key_arn is None
    assert args.dispatch.workflow_type == "EXPRESS"
    assert args.dispatch.max_concurrency == 10
    assert args.dispatch.rate_per_second is None
    assert args.function.runtime == "python3.12"
    assert args.function_name == "img-processor"
    assert args.names.queue == "img-queue"
    assert args.names.state_machine == "img-dispatcher"


def test_camel_case_aliases_are_accepted() -> None:
    args = S3EventProcessorArgs.model_validate(
        {
            "namePrefix": "img",
            "queue": {"maxReceiveCount": 3},
            "function": {"sourceDir": "functions/process_object", "handler": "app.handler"},
        }
    )
    assert args.queue.max_receive_count == 3


def test_worst_case_in_flight_counts_a_lanes_batch_slot_waits_timeouts_and_retries() -> None:
    args = S3EventProcessorArgs.model_validate(
        config(
            dispatch={"batch_size": 10, "max_concurrency": 5, "rate_per_second": 2},
            function={
                "source_dir": "functions/process_object",
                "handler": "app.handler",
                "timeout": 10,
            },
        )
    )
    # with a rate limit the deployed timeout has 2 s more for the shim's wait for a start slot
    assert args.budget.lambda_timeout_seconds == 12
    # one message: a lane period 5 / 2 s + 1 s of Wait resolution, 4 attempts x 12 s + retry
    # delays 1 + 2 + 4 s, 10 s of bookkeeping; a lane's 10 in a row after a 2 s receive wait,
    # + 30 s overhead
    assert args.budget.message_worst_case_seconds == 3.5 + 55 + 10
    assert args.budget.in_flight_worst_case_seconds == 2 + 10 * 68.5 + 30
    assert args.budget.visibility_timeout_seconds == 717


def test_an_execution_starts_work_until_only_the_last_invocations_tail_is_left() -> None:
    args = S3EventProcessorArgs.model_validate(config())
    # 1 s Wait resolution + 60 s timeout + 5 s latency + one 30 s retry delay + 30 s overhead
    assert args.budget.tail_worst_case_seconds == 126
    assert args.budget.start_window_seconds == 240 - 126
    assert args.budget.lease_seconds == 300


def test_configured_visibility_timeout_is_kept_when_it_covers_the_worst_case() -> None:
    args = S3EventProcessorArgs.model_validate(config(queue={"visibility_timeout_seconds": 3600}))
    assert args.budget.visibility_timeout_seconds == 3600


INVALID: list[tuple[str, dict[str, Any], list[tuple[str, str]]]] = [
    (
        "unknown key",
        config(queue={"visibility": 30}),
        [("queue.visibility", "Extra inputs are not permitted")],
    ),
    (
        "missing name_prefix",
        {"function": MINIMAL["function"]},
        [("name_prefix", "Field required")],
    ),
    (
        "upper-case name_prefix",
        config(name_prefix="Img"),
        [("name_prefix", "String should match pattern '^[a-z][a-z0-9-]*[a-z0-9]$'")],
    ),
    (
        "unknown event type",
        config(bucket={"event_types": ["updated"]}),
        [("bucket.event_types.0", "Input should be 'created' or 'deleted'")],
    ),
    (
        "batch over the SQS maximum",
        config(dispatch={"batch_size": 11}),
        [("dispatch.batch_size", "Input should be less than or equal to 10")],
    ),
    (
        "bucket creation options with an existing bucket",
        config(
            bucket={
                "existing_bucket_name": "acme-ingest",
                "versioning": False,
                "force_destroy": True,
            }
        ),
        [
            (
                "bucket.versioning",
                "'versioning' applies only to a bucket the component creates; remove it or "
                "remove 'existing_bucket_name'",
            ),
            (
                "bucket.force_destroy",
                "'force_destroy' applies only to a bucket the component creates; remove it or "
                "remove 'existing_bucket_name'",
            ),
        ],
    ),
    (
        "security defaults of a new bucket with an existing bucket",
        config(
            bucket={
                "existing_bucket_name": "acme-ingest",
                "noncurrent_version_expiration_days": 7,
                "access_log_bucket": "acme-logs",
            }
        ),
        [
            (
                "bucket.noncurrent_version_expiration_days",
                "'noncurrent_version_expiration_days' applies only to a bucket the component "
                "creates; remove it or remove 'existing_bucket_name'",
            ),
            (
                "bucket.access_log_bucket",
                "'access_log_bucket' applies only to a bucket the component creates; remove it "
                "or remove 'existing_bucket_name'",
            ),
        ],
    ),
    (
        "access log prefix without a log bucket",
        config(bucket={"access_log_prefix": "s3/"}),
        [
            (
                "bucket.access_log_prefix",
                "a log prefix needs access_log_bucket, the bucket the logs go to; set it or "
                "remove the prefix",
            ),
        ],
    ),
    (
        "a bucket logging into itself",
        config(bucket={"name": "acme-images", "access_log_bucket": "acme-images"}),
        [
            (
                "bucket.access_log_bucket",
                "a bucket logging into itself logs its own log deliveries without end; name "
                "another bucket",
            ),
        ],
    ),
    (
        "the processor's key named, created and given for the queues at once",
        config(
            security={"create_kms_key": True, "kms_key_arn": KEY},
            queue={"kms_key_arn": KEY},
        ),
        [
            (
                "security.create_kms_key",
                "queue.kms_key_arn already names the key for the queues; remove one of the two",
            ),
            (
                "security.kms_key_arn",
                "security.create_kms_key creates the processor's key; name your key or create "
                "one, not both",
            ),
            (
                "queue.kms_key_arn",
                "security.kms_key_arn already encrypts the queues; remove one of the two",
            ),
        ],
    ),
    (
        "an AWS managed key as the processor's key",
        config(security={"kms_key_arn": "arn:aws:kms:us-east-1:123456789012:alias/aws/lambda"}),
        [
            (
                "security.kms_key_arn",
                "an AWS managed key's policy admits only its own service and cannot be changed, "
                "so EventBridge, CloudWatch Logs and Firehose cannot use it; name a customer "
                "managed key or set create_kms_key",
            ),
        ],
    ),
    (
        "notification switch on a new bucket",
        config(bucket={"enable_eventbridge_notifications": True}),
        [
            (
                "bucket.enable_eventbridge_notifications",
                "applies only to an existing bucket (a new bucket always has EventBridge "
                "notifications on); remove it",
            )
        ],
    ),
    (
        "KMS key without SSE_KMS",
        config(bucket={"kms_key_arn": KEY}),
        [
            (
                "bucket.kms_key_arn",
                "a KMS key needs encryption 'SSE_KMS'; set bucket.encryption to SSE_KMS",
            )
        ],
    ),
    (
        "AWS-managed SQS key",
        config(queue={"kms_key_arn": "arn:aws:kms:us-east-1:123456789012:alias/aws/sqs"}),
        [
            (
                "queue.kms_key_arn",
                "the AWS-managed key alias/aws/sqs cannot be used by EventBridge, which then drops "
                "every delivery silently; use a customer managed key or omit kms_key_arn for "
                "SQS-managed encryption",
            )
        ],
    ),
    (
        "visibility timeout below the worst case",
        config(queue={"visibility_timeout_seconds": 60}),
        [
            (
                "queue.visibility_timeout_seconds",
                "must be at least 2602 s, the longest a received message can stay in flight "
                "(a lane invokes its batch one by one: slot waits, function timeout and retries; "
                "see docs/dispatch.md); raise it or omit it to use that value",
            )
        ],
    ),
    (
        "an execution budget that leaves no time to start work",
        config(dispatch={"max_execution_seconds": 120}),
        [
            (
                "dispatch.max_execution_seconds",
                "leaves -6 s to start invocations after keeping 126 s for the last one to finish "
                "(function timeout, one retry delay, overhead); raise it, lower function.timeout "
                "or dispatch.retry.max_delay_seconds",
            )
        ],
    ),
    (
        "a lane's batch that could overflow a state's payload",
        config(queue={"max_message_size_bytes": 262_144}),
        [
            (
                "queue.max_message_size_bytes",
                "a lane's batch of 10 messages could reach 2641920 bytes, over the 229376 bytes a "
                "Step Functions state may hold for them; lower it or dispatch.batch_size",
            )
        ],
    ),
    (
        "more lanes than an inline Map runs at once",
        config(dispatch={"max_concurrency": 41}),
        [("dispatch.max_concurrency", "Input should be less than or equal to 40")],
    ),
    (
        "EXPRESS budget over 5 minutes",
        config(dispatch={"max_execution_seconds": 300}),
        [
            (
                "dispatch.max_execution_seconds",
                "an EXPRESS execution of the dispatcher must end within 300 s; set at most 270 "
                "(leave time for the last batch)",
            )
        ],
    ),
    (
        "STANDARD run budget over 5 minutes: each run is an EXPRESS execution",
        config(dispatch={"workflow_type": "STANDARD", "max_execution_seconds": 3600}),
        [
            (
                "dispatch.max_execution_seconds",
                "each run (EXPRESS) of the dispatcher must end within 300 s; set at most 270 "
                "(leave time for the last batch)",
            )
        ],
    ),
    (
        "missing source_dir",
        {"name_prefix": "img", "function": {"handler": "app.handler"}},
        [
            (
                "function.source_dir",
                "set the folder holding the function's code, or set existing_function_arn",
            )
        ],
    ),
    (
        "source_dir that does not exist",
        config(function={"source_dir": "functions/nope", "handler": "app.handler"}),
        [
            (
                "function.source_dir",
                f"folder 'functions/nope' does not exist (relative paths start at the project "
                f"folder, {ROOT}); fix the path",
            )
        ],
    ),
    (
        "handler module not in source_dir",
        config(function={"source_dir": "functions/process_object", "handler": "main.handler"}),
        [
            (
                "function.handler",
                "module file 'main.py' is not in source_dir 'functions/process_object'; fix the "
                "handler or the folder",
            )
        ],
    ),
    (
        "the powertools layer makes one layer too many",
        config(
            function={
                "powertools_layer": True,
                "layers": [f"arn:aws:lambda:us-east-1:123456789012:layer:l{i}:1" for i in range(5)],
            }
        ),
        [
            (
                "function.layers",
                "the Powertools layer makes 6 layers, over Lambda's limit of 5; remove one or "
                "set powertools_layer: false",
            )
        ],
    ),
    (
        "packaging settings on an existing function",
        {
            "name_prefix": "img",
            "function": {
                "existing_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:legacy",
                "package_requirements": False,
                "powertools_layer": True,
            },
        },
        [
            (
                f"function.{field}",
                f"'{field}' applies only to a function the component creates; remove it or "
                "remove 'existing_function_arn'",
            )
            for field in ("package_requirements", "powertools_layer")
        ],
    ),
    (
        "provisioned over reserved concurrency",
        config(
            function={
                "source_dir": "functions/process_object",
                "handler": "app.handler",
                "reserved_concurrency": 10,
                "provisioned_concurrency": 12,
            }
        ),
        [
            (
                "function.provisioned_concurrency",
                "must not exceed reserved_concurrency (10); lower it or raise reserved_concurrency",
            )
        ],
    ),
    (
        "reserved concurrency below the dispatcher's",
        config(function={"reserved_concurrency": 4}),
        [
            (
                "function.reserved_concurrency",
                "is below dispatch.max_concurrency (10), so the dispatcher would be throttled; "
                "raise it or lower max_concurrency",
            )
        ],
    ),
    (
        "scaling floor above ceiling",
        config(
            function={
                "scale_on_queue_depth": True,
                "min_provisioned_concurrency": 5,
                "max_provisioned_concurrency": 2,
            }
        ),
        [
            (
                "function.min_provisioned_concurrency",
                "must not exceed max_provisioned_concurrency (2)",
            )
        ],
    ),
    (
        "existing function with source options",
        {
            "name_prefix": "img",
            "function": {
                "existing_function_arn": "arn:aws:lambda:us-east-1:123456789012:function:legacy",
                "handler": "app.handler",
            },
        },
        [
            (
                "function.handler",
                "'handler' applies only to a function the component creates; remove it or remove "
                "'existing_function_arn'",
            )
        ],
    ),
    (
        "name_prefix too long for the default bucket name",
        config(name_prefix="a" * 32),
        [
            (
                "name_prefix",
                f"the default bucket name '{'a' * 32}-<account>-<region>-an' can be 64 "
                "characters (with the longest region code), over the limit of 63; shorten it by "
                "1 or set bucket.name",
            ),
        ],
    ),
    (
        "name_prefix too long for the IAM role names",
        config(name_prefix="a" * 50, bucket={"name": "uploads"}),
        [
            (
                "name_prefix",
                f"the dispatcher role name '{'a' * 50}-dispatcher-role' is 66 characters, over "
                "the limit of 64; shorten it by 2",
            ),
            (
                "name_prefix",
                f"the scheduler role name '{'a' * 50}-scheduler-role' is 65 characters, over "
                "the limit of 64; shorten it by 1",
            ),
        ],
    ),
    (
        "function name too long",
        config(function={"name": "f" * 65}),
        [
            (
                "function.name",
                f"the function name '{'f' * 65}' is 65 characters, over the limit of 64; shorten "
                "it by 1",
            )
        ],
    ),
    (
        "several problems at once are all reported",
        config(
            queue={
                "visibility_timeout_seconds": 10,
                "kms_key_arn": "arn:aws:kms:us-east-1:123456789012:alias/aws/sqs",
            },
            function={"source_dir": "functions/process_object", "handler": "main.handler"},
        ),
        [
            (
                "queue.kms_key_arn",
                "the AWS-managed key alias/aws/sqs cannot be used by EventBridge, which then drops "
                "every delivery silently; use a customer managed key or omit kms_key_arn for "
                "SQS-managed encryption",
            ),
            (
                "queue.visibility_timeout_seconds",
                "must be at least 2602 s, the longest a received message can stay in flight "
                "(a lane invokes its batch one by one: slot waits, function timeout and retries; "
                "see docs/dispatch.md); raise it or omit it to use that value",
            ),
            (
                "function.handler",
                "module file 'main.py' is not in source_dir 'functions/process_object'; fix the "
                "handler or the folder",
            ),
        ],
    ),
]


@pytest.mark.parametrize(("case", "raw", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_config_names_the_field_and_the_fix(
    case: str, raw: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert errors(raw) == expected


def test_stack_program_turns_validation_errors_into_one_message() -> None:
    with pytest.raises(ConfigError) as exc_info:
        parse_args(
            config(dispatch={"batch_size": 0}, queue={"max_receive_count": 0}),
            "stacks/Pulumi.x.yaml",
        )
    assert str(exc_info.value) == (
        "stacks/Pulumi.x.yaml: 2 configuration problem(s):\n"
        "  - queue.max_receive_count: Input should be greater than or equal to 1\n"
        "  - dispatch.batch_size: Input should be greater than or equal to 1"
    )
