"""Physical names (model/naming.py): every name derived from the prefix, and the length limits
`too_long` checks them against."""

from __future__ import annotations

from dataclasses import fields

from s3ep_pulumi.model import limits
from s3ep_pulumi.model.naming import NAME_LIMITS, Names


def test_every_name_is_derived_from_the_prefix() -> None:
    assert Names.derive("img", "img-processor") == Names(
        queue="img-queue",
        dlq="img-dlq",
        dispatch_table="img-dispatch",
        runtime_layer="img-s3ep-runtime",
        function="img-processor",
        function_alias="live",
        function_dlq="img-function-dlq",
        function_role="img-function-role",
        state_machine="img-dispatcher",
        dispatcher_role="img-dispatcher-role",
        run_state_machine="img-dispatcher-run",
        run_role="img-run-role",
        run_log_group="/aws/vendedlogs/states/img-dispatcher-run",
        schedule="img-poll",
        scheduler_role="img-scheduler-role",
        rule="img-s3-events",
        rule_target="queue",
        rule_dlq="img-rule-dlq",
        function_log_group="/aws/lambda/img-processor",
        dispatcher_log_group="/aws/vendedlogs/states/img-dispatcher",
        bucket=None,  # named at deployment, from the account and region
        alarm_topic="img-alarms",
        alarm_topic_key_alias="alias/img-alarms",
        dashboard="img-pipeline",
        scaling_policy="img-queue-depth",
        firehose="img-splunk",
        firehose_role="img-firehose-role",
        firehose_log_group="/aws/kinesisfirehose/img-splunk",
        firehose_log_stream="DestinationDelivery",
        firehose_backup_prefix="img-splunk/",
        log_subscription_role="img-log-sub-role",
        log_subscription="img-splunk",
        backfill_state_machine="img-backfill",
        backfill_role="img-backfill-role",
        backfill_log_group="/aws/vendedlogs/states/img-backfill",
        prefix="img",
    )


def test_the_function_and_its_log_group_take_the_functions_own_name() -> None:
    names = Names.derive("img", "thumbnailer")
    assert (names.function, names.function_log_group) == ("thumbnailer", "/aws/lambda/thumbnailer")


def test_an_existing_bucket_keeps_its_name() -> None:
    assert Names.derive("img", "img-processor", "legacy-uploads").bucket == "legacy-uploads"


def test_a_default_bucket_name_is_checked_at_its_longest() -> None:
    # any account id has 12 digits; the longest region code (us-isof-south-1) has 15
    assert Names.derive("img", "fn").longest_bucket == f"img-{'0' * 12}-{'x' * 15}-an"
    assert len(Names.derive("p" * 31, "fn").longest_bucket) == limits.S3_BUCKET_NAME_MAX


def test_alarm_names_start_with_the_prefix() -> None:
    assert Names.derive("img", "img-processor").alarm("queue-depth") == "img-queue-depth"


def test_each_limit_is_the_services_documented_maximum() -> None:
    assert NAME_LIMITS == {
        "queue": 80,
        "dlq": 80,
        "dispatch_table": 255,
        "runtime_layer": 140,
        "function_dlq": 80,
        "rule_dlq": 80,
        "function": 64,
        "state_machine": 80,
        "function_role": 64,
        "dispatcher_role": 64,
        "run_state_machine": 80,
        "run_role": 64,
        "scheduler_role": 64,
        "schedule": 64,
        "rule": 64,
        "bucket": 63,
        "alarm_topic": 256,
        "dashboard": 255,
        "firehose": 64,
        "firehose_role": 64,
        "log_subscription_role": 64,
        "backfill_state_machine": 80,
        "backfill_role": 64,
    }
    assert NAME_LIMITS["queue"] == limits.SQS_QUEUE_NAME_MAX  # the values come from limits


def test_names_without_a_limit_are_the_ones_the_others_keep_short() -> None:
    # Log groups (512), the key alias (256), the scaling policy (256) and the subscription filter
    # (512) are longer-limited than the roles (64) that already bound the prefix; the alias, the
    # rule's target id, the Firehose log stream and backup prefix are constants or short suffixes.
    unlimited = {f.name for f in fields(Names)} - set(NAME_LIMITS)
    assert unlimited == {
        "function_log_group",
        "dispatcher_log_group",
        "run_log_group",
        "backfill_log_group",
        "alarm_topic_key_alias",
        "scaling_policy",
        "firehose_log_group",
        "log_subscription",
        "prefix",
        "function_alias",
        "rule_target",
        "firehose_log_stream",
        "firehose_backup_prefix",
    }


def test_a_short_prefix_has_no_name_too_long() -> None:
    assert Names.derive("img", "img-processor").too_long() == []


def test_the_default_bucket_name_is_the_first_name_a_long_prefix_breaks() -> None:
    fits, breaks = "p" * 31, "p" * 32
    assert Names.derive(fits, "fn").too_long() == []
    assert Names.derive(breaks, "fn").too_long() == [
        ("bucket", f"{breaks}-{'0' * 12}-{'x' * 15}-an", 63)
    ]
    # with a bucket it is given, the prefix may be longer: the dispatcher role comes next
    assert Names.derive("p" * 48, "fn", "uploads").too_long() == []
    assert [f for f, _, _ in Names.derive("p" * 49, "fn", "uploads").too_long()] == [
        "dispatcher_role"
    ]


def test_the_prefix_length_at_which_each_name_becomes_too_long() -> None:
    first_too_long: dict[str, int] = {}
    for length in range(1, 261):
        for field, _, _ in Names.derive("p" * length, "fn").too_long():
            first_too_long.setdefault(field, length)
    assert first_too_long == {
        "dispatcher_role": 49,
        "scheduler_role": 50,
        "function_role": 51,
        "firehose_role": 51,
        "backfill_role": 51,
        "log_subscription_role": 52,
        "rule": 55,
        "run_role": 56,  # never before dispatcher_role: no prefix becomes too long
        "bucket": 32,
        "firehose": 58,
        "schedule": 60,
        "run_state_machine": 66,
        "function_dlq": 68,
        "state_machine": 70,
        "rule_dlq": 72,
        "backfill_state_machine": 72,
        "queue": 75,
        "dlq": 77,
        "runtime_layer": 128,
        "dashboard": 247,
        "dispatch_table": 247,
        "alarm_topic": 250,
    }


def test_too_long_reports_field_name_and_limit_in_field_order() -> None:
    function = "f" * 65
    names = Names.derive("p" * 50, function, "b" * 64)
    assert names.too_long() == [
        ("function", function, 64),
        ("dispatcher_role", f"{'p' * 50}-dispatcher-role", 64),
        ("scheduler_role", f"{'p' * 50}-scheduler-role", 64),
        ("bucket", "b" * 64, 63),
    ]


def test_a_name_at_its_limit_fits() -> None:
    assert Names.derive("img", "f" * 64, "b" * 63).too_long() == []
