"""Tests for the example function functions/process_object/app.py, run against moto's S3."""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from helpers import load_event
from moto import mock_aws

ROOT = Path(__file__).resolve().parents[2]
APP_PATH = ROOT / "functions" / "process_object" / "app.py"
MODULE_NAME = "s3ep_test_process_object_app"
BUCKET = "s3ep-dev-bucket"
KEY = "uploads/cat.jpg"


@dataclass
class FakeLambdaContext:
    function_name: str = "s3ep-dev-process-object"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:s3ep-dev-process-object"
    )
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch, aws_env: dict[str, str]) -> ModuleType:
    """The handler module, imported fresh after the environment is set."""
    for name, value in {
        "POWERTOOLS_SERVICE_NAME": "s3ep-process-object",
        "POWERTOOLS_METRICS_NAMESPACE": "s3ep",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location(MODULE_NAME, APP_PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, MODULE_NAME, module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def s3(app: ModuleType) -> Any:
    """A moto S3 with the bucket created; the handler's cached client is reset around it."""
    with mock_aws():
        app.s3_client.cache_clear()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client
    app.s3_client.cache_clear()


def emitted_metrics(output: str) -> dict[str, Any]:
    """The metric values of the single EMF blob the handler printed to stdout."""
    blobs = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    emf = [blob for blob in blobs if "_aws" in blob]
    assert len(emf) == 1
    names = [m["Name"] for m in emf[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "s3ep"
    return {name: emf[0][name] for name in names}


def test_given_created_event_when_handled_then_returns_exact_size_and_sha256(
    app: ModuleType, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    body = b"meow " * 1000
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=body)

    result = app.handler(load_event("object_created"), FakeLambdaContext())

    assert result == {
        "statusCode": 200,
        "bucket": BUCKET,
        "key": KEY,
        "size": 5000,
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    assert emitted_metrics(capsys.readouterr().out) == {
        "ObjectsProcessed": [1.0],
        "BytesProcessed": [5000.0],
    }


def test_given_versioned_object_when_event_names_first_version_then_reads_that_version(
    app: ModuleType, s3: Any
) -> None:
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"first version")
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"second, longer version")
    event = load_event("object_created")
    event["s3_details"]["object"]["version-id"] = first["VersionId"]

    result = app.handler(event, FakeLambdaContext())

    assert result == {
        "statusCode": 200,
        "bucket": BUCKET,
        "key": KEY,
        "size": 13,
        "sha256": hashlib.sha256(b"first version").hexdigest(),
    }


def test_given_deleted_event_when_handled_then_acknowledges_without_reading(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_s3() -> Any:
        raise AssertionError("a deleted object must not be read")

    monkeypatch.setattr(app, "s3_client", no_s3)

    result = app.handler(load_event("object_deleted"), FakeLambdaContext())

    assert result == {"statusCode": 200, "bucket": BUCKET, "key": KEY, "deleted": True}


def test_given_missing_object_when_created_event_handled_then_raises_no_such_key(
    app: ModuleType, s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ClientError) as raised:
        app.handler(load_event("object_created"), FakeLambdaContext())

    assert raised.value.response["Error"]["Code"] == "NoSuchKey"
    assert emitted_metrics(capsys.readouterr().out) == {"ProcessingFailures": [1.0]}


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("s3_details"), "'s3_details' is missing or not an object"),
        (lambda e: e.update(s3_details="nope"), "'s3_details' is missing or not an object"),
        (lambda e: e["s3_details"].update(key=""), "'s3_details.key' must be a non-empty string"),
        (lambda e: e["s3_details"].pop("bucket"), "'s3_details.bucket' must be a non-empty string"),
        (
            lambda e: e["s3_details"].update(event_type="Object Restore Completed"),
            "'s3_details.event_type' must be 'Object Created' or 'Object Deleted', "
            "got 'Object Restore Completed'",
        ),
    ],
    ids=["no-s3_details", "s3_details-not-object", "empty-key", "no-bucket", "bad-event-type"],
)
def test_given_malformed_event_when_handled_then_raises_value_error_naming_the_field(
    app: ModuleType, monkeypatch: pytest.MonkeyPatch, mutate: Any, message: str
) -> None:
    monkeypatch.setattr(app, "s3_client", lambda: pytest.fail("a malformed event must not read"))
    event = copy.deepcopy(load_event("object_created"))
    mutate(event)

    with pytest.raises(ValueError) as raised:
        app.handler(event, FakeLambdaContext())

    assert str(raised.value) == f"invalid event: {message}"
