"""`s3ep status` of a processor on the event source mapping engine: the mapping's state instead
of executions and a lease, in moto (no emulator seams needed: status only reads)."""

from __future__ import annotations

import json
import zipfile
from io import BytesIO

import boto3
import pytest
from helpers import MAPPING
from moto import mock_aws

from s3ep_pulumi import S3EventProcessorArgs
from s3ep_pulumi.local.stack_outputs import Deployed
from s3ep_pulumi.local.status import MAPPING_NOTE, status

pytestmark = pytest.mark.usefixtures("aws_env")


def zipped() -> bytes:
    out = BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("app.py", "def handler(event, context): return {}\n")
    return out.getvalue()


def test_status_says_the_processor_uses_the_event_source_mapping_engine() -> None:
    args = S3EventProcessorArgs.model_validate(MAPPING)
    with mock_aws():
        sqs, lam = boto3.client("sqs"), boto3.client("lambda")
        urls = {n: sqs.create_queue(QueueName=n)["QueueUrl"] for n in ("img-queue", "img-dlq")}
        queue_arn = sqs.get_queue_attributes(
            QueueUrl=urls["img-queue"], AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        role = boto3.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        lam.create_function(
            FunctionName="img-processor",
            Runtime="python3.12",
            Role=role["Role"]["Arn"],
            Handler="app.handler",
            Code={"ZipFile": zipped()},
        )
        mapping = lam.create_event_source_mapping(
            EventSourceArn=queue_arn,
            FunctionName="img-processor",
            BatchSize=10,
            ScalingConfig={"MaximumConcurrency": 10},
            FunctionResponseTypes=["ReportBatchItemFailures"],
        )
        outputs = {
            "queue_url": urls["img-queue"],
            "dlq_url": urls["img-dlq"],
            "function_name": "img-processor",
            "event_source_mapping_uuid": mapping["UUID"],
        }
        now = status(Deployed("m", args, outputs))
        # no state machine output is needed, and none is read
        assert (now.engine, now.executions, now.executions_note) == (
            "event_source_mapping",
            None,
            MAPPING_NOTE,
        )
        assert now.endings == {} and now.lease == "none (event source mapping engine)"
        assert now.mapping is not None
        assert (now.mapping["uuid"], now.mapping["batch_size"]) == (mapping["UUID"], 10)
        assert now.mapping["function_response_types"] == ["ReportBatchItemFailures"]
        assert json.dumps(now.to_json())  # `status --json`
