"""End to end in moto: the component's own declarations, run for real (GIVEN / WHEN / THEN)."""

from __future__ import annotations

import itertools
import time
from typing import Any

import boto3
import pytest
from conftest import config, evaluate
from moto import mock_aws

from s3ep_pulumi.emulator import EMULATOR_CONFIG, Emulated, materialise, patched_seams

pytestmark = pytest.mark.emulator


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(k, v)


def ok(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if "fail" in event["s3_details"]["key"]:
        raise ValueError("cannot process")
    if "status500" in event["s3_details"]["key"]:
        return {"statusCode": 500}
    return {"statusCode": 200}


RUN_NUMBERS = itertools.count()


def drain(emu: Emulated, runs: int) -> None:
    for _ in range(runs):
        assert emu.run_poller(f"poll-{next(RUN_NUMBERS)}")["status"] == "SUCCEEDED"


def test_burst_is_processed_within_the_concurrency_limit_and_failures_reach_the_dlq() -> None:
    capture = evaluate(
        config(
            bucket={"prefixes": ["uploads/"], "suffixes": [".jpg"]},
            queue={"max_receive_count": 2},
            dispatch={"max_concurrency": 3, "receive_wait_seconds": 0},
            function={
                "source_dir": "functions/process_object",
                "handler": "app.handler",
                "timeout": 5,
            },
        )
    )
    with mock_aws(config=EMULATOR_CONFIG), patched_seams(ok) as recorder:
        emu = materialise(capture, visibility_timeout=1)
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        # GIVEN 12 matching uploads, 2 failing, 1 returning 500, 3 not matching, 1 stray message
        for i in range(12):
            s3.put_object(Bucket=emu.bucket, Key=f"uploads/{i}.jpg", Body=b"x")
        for key in ("uploads/fail-a.jpg", "uploads/fail-b.jpg", "uploads/status500.jpg"):
            s3.put_object(Bucket=emu.bucket, Key=key, Body=b"x")
        for key in ("uploads/notes.txt", "other/1.jpg", "uploads.jpg"):
            s3.put_object(Bucket=emu.bucket, Key=key, Body=b"x")
        sqs.send_message(QueueUrl=emu.queue_url, MessageBody="not an S3 event")
        assert emu.counts() == {"queue": 16, "dlq": 0}

        # WHEN a poller runs each time the failed messages become visible again (1 s)
        for _ in range(3):
            drain(emu, 1)
            time.sleep(1.1)
        final = emu.counts()

    # THEN every matching object was invoked, never more than 3 at once
    keys = [i.key for i in recorder.invocations]
    assert sorted(k for k in keys if "fail" not in k and "status500" not in k) == sorted(
        f"uploads/{i}.jpg" for i in range(12)
    )
    assert recorder.max_in_flight() <= 3
    # each failure was tried max_receive_count (2) times; the third receive moved it to the DLQ,
    # where the stray message already was
    assert keys.count("uploads/fail-a.jpg") == 2
    assert keys.count("uploads/status500.jpg") == 2
    assert final == {"queue": 0, "dlq": 4}
