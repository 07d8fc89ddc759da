"""Alarms: one per failure an on-call engineer must hear about, each on this processor's
resources, each with its threshold, evaluation and actions to the alarm topic."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import MINIMAL, config, evaluate

from s3ep_pulumi import S3EventProcessorArgs
from s3ep_pulumi.builders.alarms import AlarmTargets, alarm_specs
from s3ep_pulumi.local.capture import ACCOUNT_ID, REGION, Capture

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:img-alarms"
MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT_ID}:stateMachine:img-dispatcher"

# name -> (namespace, metric, dimensions, statistic, threshold, period, evaluation periods), for
# the default EXPRESS dispatcher (a STANDARD one also gets dispatcher-executions-aborted)
EXPECTED: dict[str, tuple[str, str, dict[str, str], str, float, int, int]] = {
    "img-rule-failed-invocations": (
        "AWS/Events", "FailedInvocations", {"RuleName": "img-s3-events"}, "Sum", 1, 60, 1,
    ),
    "img-rule-dlq-delivery-failures": (
        "AWS/Events", "InvocationsFailedToBeSentToDlq", {"RuleName": "img-s3-events"}, "Sum", 1,
        60, 1,
    ),
    "img-queue-depth": (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "img-queue"}, "Maximum",
        1000, 300, 3,
    ),
    "img-queue-oldest-message-age": (
        "AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "img-queue"}, "Maximum", 1800,
        60, 5,
    ),
    "img-dlq-messages": (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "img-dlq"}, "Maximum", 1,
        60, 1,
    ),
    "img-rule-dlq-messages": (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "img-rule-dlq"},
        "Maximum", 1, 60, 1,
    ),
    "img-function-dlq-messages": (
        "AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "img-function-dlq"},
        "Maximum", 1, 60, 1,
    ),
    "img-dispatcher-executions-failed": (
        "AWS/States", "ExecutionsFailed", {"StateMachineArn": MACHINE_ARN}, "Sum", 1, 300, 1,
    ),
    "img-dispatcher-executions-timed-out": (
        "AWS/States", "ExecutionsTimedOut", {"StateMachineArn": MACHINE_ARN}, "Sum", 1, 300, 1,
    ),
    "img-dispatcher-executions-throttled": (
        "AWS/States", "ExecutionThrottled", {"StateMachineArn": MACHINE_ARN}, "Sum", 1, 300, 1,
    ),
    "img-function-errors": (
        "AWS/Lambda", "Errors", {"FunctionName": "img-processor"}, "Sum", 5, 300, 1,
    ),
    "img-function-throttles": (
        "AWS/Lambda", "Throttles", {"FunctionName": "img-processor"}, "Sum", 5, 300, 1,
    ),
    # p99 at 80 % of the 60 s timeout, in milliseconds
    "img-function-duration": (
        "AWS/Lambda", "Duration", {"FunctionName": "img-processor"}, "p99", 48_000, 300, 1,
    ),
}  # fmt: skip


def alarms(capture: Capture) -> dict[str, Any]:
    return {r.inputs["name"]: r for r in capture.of_type(ALARM)}


def test_every_alarm_watches_this_processors_resource_with_its_default_threshold(
    minimal: Capture,
) -> None:
    found = alarms(minimal)
    assert set(found) == set(EXPECTED)
    for name, (namespace, metric, dims, stat, threshold, period, evals) in EXPECTED.items():
        i = found[name].inputs
        assert (i["namespace"], i["metricName"], i["dimensions"]) == (namespace, metric, dims), name
        assert i.get("statistic", i.get("extendedStatistic")) == stat, name
        assert (i["threshold"], i["period"], i["evaluationPeriods"]) == (threshold, period, evals)
        assert i["comparisonOperator"] == "GreaterThanOrEqualToThreshold", name
        assert i["treatMissingData"] == "notBreaching", name


def test_every_alarm_pages_and_clears_through_the_alarm_topic(minimal: Capture) -> None:
    for name, alarm in alarms(minimal).items():
        assert alarm.inputs["alarmActions"] == [TOPIC_ARN], name
        assert alarm.inputs["okActions"] == [TOPIC_ARN], name


def test_every_description_says_what_it_means_what_to_do_first_and_where_the_runbook_is(
    minimal: Capture,
) -> None:
    for name, alarm in alarms(minimal).items():
        text = alarm.inputs["alarmDescription"]
        key = name.removeprefix("img-")
        assert " First: " in text, name
        assert text.endswith(f"Runbook: docs/operations.md#{key}"), name
        assert len(text) <= 1024, name


def test_runbook_has_a_section_for_every_alarm(minimal: Capture) -> None:
    from helpers import ROOT

    runbook = (ROOT / "docs" / "operations.md").read_text()
    for name in alarms(minimal):
        key = name.removeprefix("img-")
        assert f'<a id="{key}"></a>' in runbook, key


def test_thresholds_periods_and_missing_data_are_configurable() -> None:
    capture = evaluate(
        config(
            monitoring={
                "alarms": {
                    "queue_depth": {
                        "threshold": 50,
                        "period_seconds": 60,
                        "evaluation_periods": 10,
                        "datapoints_to_alarm": 8,
                        "treat_missing_data": "breaching",
                    },
                    "function_duration": {"threshold": 50},
                }
            }
        )
    )
    depth = alarms(capture)["img-queue-depth"].inputs
    assert (depth["threshold"], depth["period"], depth["evaluationPeriods"]) == (50, 60, 10)
    assert depth["datapointsToAlarm"] == 8
    assert depth["treatMissingData"] == "breaching"
    assert alarms(capture)["img-function-duration"].inputs["threshold"] == 30_000


def test_one_alarm_can_be_turned_off() -> None:
    capture = evaluate(config(monitoring={"alarms": {"dispatcher_failed": {"enabled": False}}}))
    assert set(alarms(capture)) == set(EXPECTED) - {"img-dispatcher-executions-failed"}


def test_the_aborted_executions_alarm_exists_only_for_standard_workflows() -> None:
    # EXPRESS executions cannot be stopped (StopExecution is not supported for them), so
    # ExecutionsAborted never has a data point: an alarm on it could never fire
    express = alarms(evaluate(config(dispatch={"workflow_type": "EXPRESS"})))
    standard = alarms(evaluate(config(dispatch={"workflow_type": "STANDARD"})))
    assert "img-dispatcher-executions-aborted" not in express
    assert "img-dispatcher-executions-aborted" in standard
    assert standard["img-dispatcher-executions-aborted"].inputs["metricName"] == (
        "ExecutionsAborted"
    )


def test_a_standard_dispatchers_runs_are_alarmed_like_the_dispatcher() -> None:
    # the parent's alarms stay on the parent; its EXPRESS runs fail and time out on their own
    express = alarms(evaluate(config(dispatch={"workflow_type": "EXPRESS"})))
    standard = alarms(evaluate(config(dispatch={"workflow_type": "STANDARD"})))
    assert set(standard) - set(express) == {
        "img-dispatcher-executions-aborted",
        "img-dispatcher-run-executions-failed",
        "img-dispatcher-run-executions-timed-out",
    }
    run = f"{MACHINE_ARN}-run"
    for name, metric in (
        ("img-dispatcher-run-executions-failed", "ExecutionsFailed"),
        ("img-dispatcher-run-executions-timed-out", "ExecutionsTimedOut"),
    ):
        inputs = standard[name].inputs
        parent = standard[name.replace("-run-", "-")].inputs
        assert inputs["metricName"] == metric
        assert inputs["dimensions"] == {"StateMachineArn": run}
        for key in ("namespace", "statistic", "threshold", "period", "evaluationPeriods"):
            assert inputs[key] == parent[key], key


def test_alarms_off_means_no_alarm_no_topic_and_no_alarm_widget() -> None:
    capture = evaluate(config(monitoring={"alarms": {"enabled": False}}))
    assert capture.of_type(ALARM) == []
    assert capture.of_type("aws:sns/topic:Topic") == []
    assert capture.of_type("aws:kms/key:Key") == []
    widgets = capture.one("aws:cloudwatch/dashboard:Dashboard").prop("dashboardBody")["widgets"]
    assert [w["type"] for w in widgets if w["type"] != "metric"] == ["text"]


def test_existing_function_is_watched_by_name_and_has_no_function_dlq_alarm() -> None:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:legacy-thumbnailer"
    capture = evaluate({"name_prefix": "img", "function": {"existing_function_arn": arn}})
    found = alarms(capture)
    assert "img-function-dlq-messages" not in found
    assert found["img-function-errors"].inputs["dimensions"] == {
        "FunctionName": "legacy-thumbnailer"
    }


def test_created_topic_is_encrypted_with_its_own_key_that_cloudwatch_may_use(
    minimal: Capture,
) -> None:
    topic = minimal.one("aws:sns/topic:Topic")
    key = minimal.one("aws:kms/key:Key")
    assert topic.inputs["name"] == "img-alarms"
    assert topic.inputs["kmsMasterKeyId"] == key.state["arn"]
    assert key.inputs["enableKeyRotation"] is True
    statements = {s["Sid"]: s for s in key.prop("policy")["Statement"]}
    assert statements["CloudWatchAlarmsPublishToTheTopic"]["Principal"] == {
        "Service": "cloudwatch.amazonaws.com"
    }
    assert statements["CloudWatchAlarmsPublishToTheTopic"]["Action"] == [
        "kms:Decrypt",
        "kms:GenerateDataKey*",
    ]
    assert statements["AccountAdministers"]["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"
    }
    assert minimal.one("aws:kms/alias:Alias").inputs["name"] == "alias/img-alarms"


def test_topic_policy_lets_only_this_processors_alarms_publish(minimal: Capture) -> None:
    policy = minimal.one("aws:sns/topicPolicy:TopicPolicy")
    assert policy.inputs["arn"] == TOPIC_ARN
    publish = {s["Sid"]: s for s in policy.prop("policy")["Statement"]}[
        "ThisProcessorsAlarmsPublish"
    ]
    assert publish["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert publish["Condition"] == {
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT_ID}:alarm:img-*"},
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
    }


def test_customer_key_and_email_subscriptions_on_the_created_topic() -> None:
    key = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    capture = evaluate(
        config(monitoring={"alarms": {"kms_key_arn": key, "emails": ["oncall@acme.example"]}})
    )
    assert capture.of_type("aws:kms/key:Key") == []
    assert capture.one("aws:sns/topic:Topic").inputs["kmsMasterKeyId"] == key
    sub = capture.one("aws:sns/topicSubscription:TopicSubscription")
    assert sub.inputs == {
        "topic": TOPIC_ARN,
        "protocol": "email",
        "endpoint": "oncall@acme.example",
    }


def test_email_subscriptions_are_named_by_address_so_reordering_replaces_nothing() -> None:
    one = evaluate(config(monitoring={"alarms": {"emails": ["a@x.example", "b@x.example"]}}))
    two = evaluate(config(monitoring={"alarms": {"emails": ["b@x.example", "a@x.example"]}}))
    names = {
        r.name: r.inputs["endpoint"]
        for r in one.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    again = {
        r.name: r.inputs["endpoint"]
        for r in two.of_type("aws:sns/topicSubscription:TopicSubscription")
    }
    assert names == again and len(names) == 2


def test_existing_topic_receives_the_actions_and_nothing_is_created() -> None:
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:platform-pager"
    capture = evaluate(config(monitoring={"alarms": {"topic_arn": topic}}))
    assert capture.of_type("aws:sns/topic:Topic") == []
    assert capture.of_type("aws:kms/key:Key") == []
    for alarm in capture.of_type(ALARM):
        assert alarm.inputs["alarmActions"] == [topic], alarm.name


@pytest.mark.parametrize("timeout, percent, expected_ms", [(60, 80, 48_000), (150, 90, 135_000)])
def test_duration_threshold_is_a_share_of_the_function_timeout(
    timeout: int, percent: int, expected_ms: int
) -> None:
    raw = config(
        function={**MINIMAL["function"], "timeout": timeout},
        queue={"visibility_timeout_seconds": 43_200},
        dispatch={
            "workflow_type": "STANDARD",
            "max_execution_seconds": 290,
            "retry": {"max_attempts": 0},
        },
        monitoring={"alarms": {"function_duration": {"threshold": percent}}},
    )
    args = S3EventProcessorArgs.model_validate(raw)
    specs = alarm_specs(
        args,
        AlarmTargets("q", "d", "rd", None, "r", "f", "arn:sm"),
    )
    (duration,) = [s for s in specs if s["key"] == "function-duration"]
    assert duration["threshold"] == expected_ms
    assert duration["extended_statistic"] == "p99"
    assert "statistic" not in duration


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_alarm_every_stage_and_have_the_dashboard(stack: str) -> None:
    from s3ep_pulumi.local.synth import synth_stack

    capture = synth_stack(stack)
    names = {r.inputs["name"].removeprefix(f"s3ep-{stack}-") for r in capture.of_type(ALARM)}
    assert names == {name.removeprefix("img-") for name in EXPECTED}
    assert capture.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardName"] == (
        f"s3ep-{stack}-pipeline"
    )
    if stack == "prod":
        assert capture.one("aws:sns/topicSubscription:TopicSubscription").inputs["endpoint"] == (
            "oncall-data@acme.example"
        )
        assert capture.one("aws:appautoscaling/target:Target").inputs["maxCapacity"] == 20
        assert (
            len(capture.of_type("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")) == 2
        )


def test_with_the_event_source_mapping_no_dispatcher_alarm_is_made_and_the_rest_blame_it() -> None:
    from helpers import MAPPING

    args = S3EventProcessorArgs.model_validate(
        {**MAPPING, "dispatch": {"engine": "event_source_mapping"}}
    )
    specs = {
        s["key"]: s
        for s in alarm_specs(
            args,
            AlarmTargets(
                queue="img-queue",
                dlq="img-dlq",
                rule_dlq="img-rule-dlq",
                function_dlq="img-function-dlq",
                rule="img-s3-events",
                function="img-processor",
                state_machine_arn=None,
            ),
        )
    }
    expected = {n.removeprefix("img-") for n in EXPECTED if "dispatcher" not in n}
    assert set(specs) == expected
    assert "the event source mapping is not keeping up" in specs["queue-depth"]["alarm_description"]
    assert "after the visibility timeout" in specs["function-errors"]["alarm_description"]
