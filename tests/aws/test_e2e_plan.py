"""The pure part of the AWS end-to-end test (e2e.py), in the normal suite: the test stack's
config, the upload plan, the wait's timing model, and how logs and DLQ bodies are read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from e2e import (
    PROCESSOR_KEY,
    RUN_TAG,
    Outcome,
    backend_missing,
    body_key,
    credentials_missing,
    digests,
    expected_outcomes,
    key_matches,
    live_deadline_seconds,
    log_records,
    needs_powertools_layer,
    new_run_id,
    outcomes,
    passphrase_missing,
    powertools_layer_parameter,
    processor_args,
    region,
    settle_deadline_seconds,
    stack_config,
    stack_name,
    upload_plan,
)
from helpers import ROOT

from s3ep_pulumi.component.stack import read_stack_config
from s3ep_pulumi.errors import ConfigError
from s3ep_pulumi.model.naming import default_bucket_name

RUN = "0123456789"
LAYER = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:9"


@pytest.fixture
def dev() -> dict[str, object]:
    return read_stack_config("dev", ROOT / "stacks")


def test_the_test_stack_is_the_dev_stack_under_its_own_names_in_the_chosen_region(
    dev: dict[str, object],
) -> None:
    config = stack_config(dev, RUN, "eu-west-1", [LAYER])
    assert set(config) == {"aws:region", PROCESSOR_KEY}
    assert config["aws:region"] == "eu-west-1"
    processor = json.loads(config[PROCESSOR_KEY])
    expected = json.loads(json.dumps(dev[PROCESSOR_KEY]))
    expected["name_prefix"] = "s3ep-t-0123456789"
    expected["tags"][RUN_TAG] = RUN
    expected["function"]["layers"] = [LAYER]
    assert processor == expected
    assert processor["bucket"]["force_destroy"] is True
    args = processor_args(config)
    # the bucket is named at deployment, in the account's own regional namespace
    assert args.names.bucket is None
    assert default_bucket_name(args.names.prefix, "123456789012", "eu-west-1") == (
        "s3ep-t-0123456789-123456789012-eu-west-1-an"
    )
    assert (args.function_name, args.names.queue) == (
        "s3ep-t-0123456789-processor",
        "s3ep-t-0123456789-queue",
    )
    assert stack_name(RUN) == "aws-test-0123456789"


def test_two_runs_share_no_physical_name(dev: dict[str, object]) -> None:
    first, second = new_run_id(), new_run_id()
    assert first != second and len(first) == 10
    names = [
        vars(processor_args(stack_config(dev, run, "us-east-1")).names) for run in (first, second)
    ]
    # Names scoped inside a resource (the alias, the rule's target id, a log stream) repeat by
    # design; every name AWS keeps per account or region carries the run's prefix.
    scoped = {"function_alias", "rule_target", "firehose_log_stream", "bucket"}
    first_names, second_names = ({v for k, v in n.items() if k not in scoped} for n in names)
    assert not first_names & second_names


def test_the_test_stack_drops_a_fixed_function_name_and_forces_destroy() -> None:
    dev = {
        PROCESSOR_KEY: {
            "name_prefix": "x",
            "bucket": {"prefixes": ["in/"], "suffixes": [".txt"], "force_destroy": False},
            "function": {"name": "shared", "source_dir": "functions/process_object",
                         "handler": "app.handler"},
        },
        "aws:profile": "dev",
    }  # fmt: skip
    config = stack_config(dev, RUN, "us-east-1")
    processor = json.loads(config[PROCESSOR_KEY])
    assert "name" not in processor["function"] and processor["bucket"]["force_destroy"] is True
    assert config["aws:profile"] == "dev"


def test_a_dev_stack_on_an_existing_bucket_is_refused() -> None:
    dev = {PROCESSOR_KEY: {"name_prefix": "x", "bucket": {"existing_bucket_name": "theirs"}}}
    with pytest.raises(ValueError, match="needs a bucket of its own"):
        stack_config(dev, RUN, "us-east-1")


def test_an_invalid_test_config_is_refused_before_deploying(dev: dict[str, object]) -> None:
    broken = json.loads(json.dumps(dev))
    broken[PROCESSOR_KEY]["dispatch"]["max_concurrency"] = 0
    with pytest.raises(ConfigError, match=r"dispatch\.max_concurrency"):
        stack_config(broken, RUN, "us-east-1")


def test_the_dev_function_packages_powertools_so_needs_no_layer(dev: dict[str, object]) -> None:
    args = processor_args(stack_config(dev, RUN, "us-east-1"))
    assert args.function.package_requirements
    assert not needs_powertools_layer(args, ROOT)
    assert (
        powertools_layer_parameter(args) == "/aws/service/powertools/python/arm64/python3.12/latest"
    )


def test_without_packaging_the_dev_function_needs_the_powertools_layer_until_it_has_one(
    dev: dict[str, object],
) -> None:
    unpackaged = json.loads(json.dumps(dev))
    unpackaged[PROCESSOR_KEY]["function"]["package_requirements"] = False
    args = processor_args(stack_config(unpackaged, RUN, "us-east-1"))
    assert needs_powertools_layer(args, ROOT)
    with_layer = processor_args(stack_config(unpackaged, RUN, "us-east-1", [LAYER]))
    assert not needs_powertools_layer(with_layer, ROOT)


def test_a_function_without_powertools_in_its_requirements_needs_no_layer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context): ...\n")
    (tmp_path / "fn" / "requirements.txt").write_text("# boto3 is in the runtime\nrequests\n")
    monkeypatch.chdir(tmp_path)
    function = {"source_dir": "fn", "handler": "app.handler"}
    args = processor_args({PROCESSOR_KEY: json.dumps({"name_prefix": "ab", "function": function})})
    assert not needs_powertools_layer(args, tmp_path)


def test_the_dev_stack_settles_within_its_retry_schedule(dev: dict[str, object]) -> None:
    args = processor_args(stack_config(dev, RUN, "us-east-1"))
    # 5 receives, 30 s hidden after each failure, a poller a minute: one poll per receive
    assert (args.queue.max_receive_count, args.dispatch.failed_retry_delay_seconds) == (5, 30)
    assert settle_deadline_seconds(args) == 90 + 60 + 5 * 60 + 120
    assert live_deadline_seconds(args) == 300 + 90 + 60 + 120


def test_a_longer_retry_delay_waits_for_the_poll_after_it(dev: dict[str, object]) -> None:
    slow = json.loads(json.dumps(dev))
    slow[PROCESSOR_KEY]["dispatch"]["failed_retry_delay_seconds"] = 100  # + 20 s: two polls
    slow[PROCESSOR_KEY]["queue"] = {"max_receive_count": 2}
    args = processor_args(stack_config(slow, RUN, "us-east-1"))
    assert settle_deadline_seconds(args) == 90 + 60 + 2 * 120 + 120


def test_the_plan_covers_every_filter_and_misses_them_on_purpose() -> None:
    prefixes, suffixes = ["uploads/"], [".jpg", ".png"]
    plan = upload_plan(RUN, prefixes, suffixes)
    assert [u.key for u in plan.matching] == [
        "uploads/0123456789/object-0.jpg",
        "uploads/0123456789/object-1.png",
        "uploads/0123456789/object-2.jpg",
        "uploads/0123456789/object-3.png",
        "uploads/0123456789/object-4.jpg",
        "uploads/0123456789/a b+c%20d/\u00e9.jpg",
    ]
    assert (plan.failing.key, plan.failing.storage_class) == (
        "uploads/0123456789/archived.png",
        "GLACIER",
    )
    assert [u.key for u in plan.outside] == [
        "s3ep-elsewhere/0123456789/object.jpg",
        "uploads/0123456789/object.jpg.txt",
        "0123456789/uploads/object.jpg",
    ]
    assert plan.canary(3).key == "uploads/0123456789/canary-03.jpg"
    assert plan.is_canary(plan.canary(3).key) and not plan.is_canary(plan.failing.key)
    every = [*plan.uploads(), plan.canary(0)]
    assert len({u.key for u in every}) == len(every)
    assert len({u.digest for u in plan.matching}) == len(plan.matching)


def test_the_plan_needs_prefix_and_suffix_filters() -> None:
    with pytest.raises(ValueError, match="both prefixes and suffixes"):
        upload_plan(RUN, ["uploads/"], [])


@pytest.mark.parametrize(
    ("key", "matches"),
    [
        ("uploads/a.jpg", True),
        ("uploads/a.png", True),
        ("uploads/a.jpg.txt", False),
        ("other/uploads/a.jpg", False),
        ("uploads/a.JPG", False),
    ],
)
def test_key_matches_is_one_prefix_and_one_suffix(key: str, matches: bool) -> None:
    assert key_matches(key, ["uploads/"], [".jpg", ".png"]) is matches


PROCESSED = {"level": "INFO", "message": "object processed", "key": "k", "size": 3, "sha256": "ab"}
RAISED = {
    "logger": "s3ep_shim",
    "level": "ERROR",
    "outcome": "raised",
    "key": "f",
    "error": "ClientError",
    "message": "An error occurred (InvalidObjectState) when calling the GetObject operation",
}


def test_log_records_keep_the_handlers_and_the_shims_lines_plain_or_wrapped() -> None:
    messages = [
        json.dumps(PROCESSED) + "\n",
        json.dumps({"timestamp": "t", "level": "ERROR", "message": json.dumps(RAISED)}),
        '{"time": "t", "type": "platform.start", "record": {"requestId": "r"}}',
        "START RequestId: r Version: $LATEST",
        json.dumps({"level": "INFO", "message": "object deleted; nothing to read", "key": "k"}),
        "{not json",
    ]
    assert log_records(messages) == [PROCESSED, RAISED]


def test_outcomes_count_per_key_and_show_keys_that_changed_on_the_way() -> None:
    plan = upload_plan(RUN, ["uploads/"], [".jpg"], count=1)
    good, special = (u.key for u in plan.matching)
    encoded = special.replace(" ", "+")
    records: list[dict[str, Any]] = [
        {**PROCESSED, "key": good},
        {**PROCESSED, "key": plan.canary(0).key},
        *[{**RAISED, "key": plan.failing.key}] * 5,
        *[{**RAISED, "key": encoded}] * 5,
    ]
    seen = outcomes(plan, records, [plan.failing.key, encoded])
    assert seen == {
        good: Outcome(1, 0, 0),
        special: Outcome(0, 0, 0),
        plan.failing.key: Outcome(0, 5, 1),
        **{u.key: Outcome(0, 0, 0) for u in plan.outside},
        encoded: Outcome(0, 5, 1),
    }
    assert seen != expected_outcomes(plan, 5)
    assert expected_outcomes(plan, 5)[special] == Outcome(1, 0, 0)


def test_the_expected_outcomes_are_met_by_a_clean_run() -> None:
    plan = upload_plan(RUN, ["uploads/"], [".jpg", ".png"])
    records = [{**PROCESSED, "key": u.key, "size": u.digest[0], "sha256": u.digest[1]}
               for u in plan.matching] + [{**RAISED, "key": plan.failing.key}] * 5  # fmt: skip
    assert outcomes(plan, records, [plan.failing.key]) == expected_outcomes(plan, 5)
    assert digests(records) == {u.key: [u.digest] for u in plan.matching}


def test_a_dlq_body_names_its_object_or_is_kept_whole() -> None:
    body = '{"s3_details": {"bucket": "b", "key": "uploads/x.jpg", "object": {}}}'
    assert body_key(body) == "uploads/x.jpg"
    assert body_key("not an event") == "not an event"


def test_each_missing_prerequisite_is_one_line() -> None:
    error = RuntimeError("Unable to locate credentials\n  (more)")
    assert credentials_missing(error) == (
        "pytest -m aws needs AWS credentials for the account to deploy into (AWS_PROFILE, or "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY): Unable to locate credentials (more)"
    )
    assert "\n" not in backend_missing(RuntimeError("no\ncredentials"))


@pytest.mark.parametrize(
    ("url", "env", "missing"),
    [
        ("file://~/.pulumi-s3ep-test", {}, True),
        ("file://~/.pulumi-s3ep-test", {"PULUMI_CONFIG_PASSPHRASE": ""}, False),
        ("s3://state-bucket", {"PULUMI_CONFIG_PASSPHRASE_FILE": "/p"}, False),
        (None, {"PULUMI_BACKEND_URL": "gs://state"}, True),
        ("https://api.pulumi.com", {}, False),
    ],
)
def test_a_self_managed_backend_needs_a_passphrase(
    url: str | None, env: dict[str, str], missing: bool
) -> None:
    assert (passphrase_missing(url, env) is not None) is missing


def test_the_region_is_aws_region_or_us_east_1() -> None:
    assert region({}) == "us-east-1"
    assert region({"AWS_REGION": "eu-central-1"}) == "eu-central-1"
