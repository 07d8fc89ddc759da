"""The event source mapping engine (`dispatch.engine`): what the component declares instead of
the Step Functions dispatcher, as the engine would receive it (camelCase inputs)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import MAPPING, evaluate

from s3ep_pulumi.local.capture import ACCOUNT_ID, REGION, Capture

QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:img-queue"
ALIAS_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:img-processor:live"
MAPPING_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping"


def mapping_config(**sections: Any) -> dict[str, Any]:
    return {**MAPPING, **sections}


@pytest.fixture(scope="module")
def mapped() -> Capture:
    return evaluate(mapping_config())


def test_without_a_rate_the_queue_is_drained_by_an_event_source_mapping_on_the_live_alias(
    mapped: Capture,
) -> None:
    mapping = mapped.one(MAPPING_TYPE)
    assert mapping.name == "images-event-source"
    assert mapping.inputs == {
        "eventSourceArn": QUEUE_ARN,
        "functionName": ALIAS_ARN,
        "batchSize": 10,
        "maximumBatchingWindowInSeconds": 0,
        "scalingConfig": {"maximumConcurrency": 10},
        "functionResponseTypes": ["ReportBatchItemFailures"],
        "enabled": True,
        "tags": {"s3ep:processor": "images"},
    }
    # the alias the mapping invokes: a version is published on every change
    alias = mapped.one("aws:lambda/alias:Alias")
    assert (alias.inputs["name"], alias.inputs["functionVersion"]) == ("live", "1")
    assert mapped.one("aws:lambda/function:Function").inputs["publish"] is True
    # Lambda polls with the function's role, checked when the mapping is created
    urn = {r.name: r.urn for r in mapped.resources}
    assert urn["images-function-policy"] in mapping.dependencies


def test_the_mapping_engine_declares_no_dispatcher(mapped: Capture) -> None:
    types = {r.type for r in mapped.resources}
    assert not types & {
        "aws:sfn/stateMachine:StateMachine",
        "aws:scheduler/schedule:Schedule",
        "aws:dynamodb/table:Table",
    }
    names = {r.name for r in mapped.resources}
    assert (
        not {
            "images-dispatcher-role",
            "images-dispatcher-policy",
            "images-dispatcher-logs",
            "images-scheduler-role",
            "images-dispatch",
        }
        & names
    )
    assert not [
        r
        for r in mapped.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if "dispatcher" in r.name
    ]
    # the queue, DLQ, age and function alarms stay
    assert {r.name for r in mapped.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")} == {
        f"images-alarm-{key}"
        for key in (
            "rule-failed-invocations",
            "rule-dlq-delivery-failures",
            "queue-depth",
            "queue-oldest-message-age",
            "dlq-messages",
            "rule-dlq-messages",
            "function-dlq-messages",
            "function-errors",
            "function-throttles",
            "function-duration",
        )
    }


def test_the_queue_hides_a_batch_for_six_function_timeouts(mapped: Capture) -> None:
    queue = mapped.one("aws:sqs/queue:Queue", "images-queue")
    assert queue.inputs["visibilityTimeoutSeconds"] == 6 * 60


def test_the_function_may_poll_its_queue_and_nothing_more(mapped: Capture) -> None:
    policy = json.loads(
        mapped.one("aws:iam/rolePolicy:RolePolicy", "images-function-policy").inputs["policy"]
    )
    (poll,) = [s for s in policy["Statement"] if s.get("Sid") == "PollEventSourceQueue"]
    assert poll == {
        "Sid": "PollEventSourceQueue",
        "Effect": "Allow",
        "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        "Resource": [QUEUE_ARN],
    }


def test_with_the_component_key_the_function_decrypts_the_queue_and_no_dispatcher_may() -> None:
    capture = evaluate(mapping_config(security={"create_kms_key": True}))
    policy = json.loads(
        capture.one("aws:iam/rolePolicy:RolePolicy", "images-function-policy").inputs["policy"]
    )
    key = capture.one("aws:kms/key:Key").state["arn"]
    decrypting = [
        s for s in policy["Statement"] if "kms:Decrypt" in s["Action"] and key in s["Resource"]
    ]
    assert [s["Sid"] for s in decrypting] == ["DlqKey", "EnvironmentKey"]
    key_policy = capture.one("aws:kms/keyPolicy:KeyPolicy").inputs["policy"]
    assert "img-dispatcher" not in key_policy and "img-function-role" in key_policy


def test_the_outputs_name_the_mapping_not_a_state_machine(mapped: Capture) -> None:
    component = mapped.one("s3ep:index:S3EventProcessor")
    assert component.type == "s3ep:index:S3EventProcessor"
    from s3ep_pulumi import S3EventProcessor

    names: list[tuple[str, ...]] = []

    def program() -> S3EventProcessor:
        processor = S3EventProcessor("images", mapping_config())
        names.append(processor.output_names)
        assert processor.state_machine_arn is None
        assert processor.dispatch_engine == "event_source_mapping"
        return processor

    from s3ep_pulumi.local.capture import run_program

    run_program(program)
    (output_names,) = names
    assert "state_machine_arn" not in output_names
    assert "event_source_mapping_uuid" in output_names


def test_a_rate_keeps_the_step_functions_dispatcher_and_no_mapping() -> None:
    capture = evaluate(mapping_config(dispatch={"rate_per_second": 5}))
    assert capture.of_type(MAPPING_TYPE) == []
    assert capture.dispatcher().name == "images-dispatcher"
    # no alias without provisioned concurrency: the dispatcher invokes the function
    assert capture.of_type("aws:lambda/alias:Alias") == []
