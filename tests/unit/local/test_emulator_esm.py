"""What the emulated event source mapping deletes after an invocation, as the Lambda guide's
partial batch response rules say (docs/aws-semantics.md L13), and the event it sends."""

from __future__ import annotations

import json

import pytest

from s3ep_pulumi.local.emulator_esm import sqs_event, to_delete

IDS = ["m1", "m2", "m3"]


@pytest.mark.parametrize(
    "response",
    [
        b"",  # a null response
        b"null",
        b"{}",  # an empty response
        b'{"batchItemFailures": []}',
        b'{"batchItemFailures": null}',
        b'{"statusCode": 200}',
    ],
)
def test_a_response_that_names_no_failure_deletes_the_whole_batch(response: bytes) -> None:
    assert to_delete(IDS, False, response, report=True) == IDS


def test_the_records_named_in_batch_item_failures_stay_and_the_others_are_deleted() -> None:
    response = json.dumps({"batchItemFailures": [{"itemIdentifier": "m2"}]})
    assert to_delete(IDS, False, response, report=True) == ["m1", "m3"]


@pytest.mark.parametrize(
    "response",
    [
        b"not json",
        b'"a string"',
        b'{"batchItemFailures": "m1"}',
        b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
        b'{"batchItemFailures": [{"itemIdentifier": null}]}',
        b'{"batchItemFailures": [{"itemIdentifer": "m1"}]}',  # misspelt key
        b'{"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]}',
    ],
)
def test_an_invalid_response_fails_the_whole_batch(response: bytes) -> None:
    assert to_delete(IDS, False, response, report=True) == []


def test_a_function_error_deletes_nothing_and_without_reporting_any_answer_deletes_all() -> None:
    failed = json.dumps({"batchItemFailures": [{"itemIdentifier": "m2"}]})
    assert to_delete(IDS, True, b"{}", report=True) == []
    assert to_delete(IDS, True, b"{}", report=False) == []
    # without ReportBatchItemFailures Lambda ignores the answer: the failed record is deleted
    assert to_delete(IDS, False, failed, report=False) == IDS


def test_the_event_has_the_shape_lambda_sends() -> None:
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "rh",
        "Body": "{}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
    }
    assert sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1") == {
        "Records": [
            {
                "messageId": "m1",
                "receiptHandle": "rh",
                "body": "{}",
                "attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1"},
                "messageAttributes": {},
                "md5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
                "awsRegion": "us-east-1",
            }
        ]
    }
