"""Pure documents of the monitoring integrations and the alarm topic: Dynatrace's environment,
the Splunk Firehose stream's processing, and the policies both need.

No secret passes through here: the Dynatrace token is added by the component as a Pulumi secret,
and the Splunk HEC token stays in Secrets Manager, read by Firehose itself.
"""

from __future__ import annotations

from typing import Any

from s3ep_pulumi.builders.iam import cloudwatch_alarms_use_key
from s3ep_pulumi.model.monitoring import DynatraceConfig

Doc = dict[str, Any]
DYNATRACE_WRAPPER = "/opt/dynatrace"
DYNATRACE_TOKEN_VARIABLE = "DT_CONNECTION_AUTH_TOKEN"


def _doc(*statements: Doc) -> Doc:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# --- Dynatrace --------------------------------------------------------------------------------


def dynatrace_environment(dt: DynatraceConfig) -> dict[str, str]:
    """Every Dynatrace variable except the token (the component adds it as a secret)."""
    return {
        "AWS_LAMBDA_EXEC_WRAPPER": DYNATRACE_WRAPPER,
        "DT_TENANT": dt.tenant,
        "DT_CLUSTER_ID": dt.cluster_id,
        "DT_CONNECTION_BASE_URL": dt.connection_base_url,
        **dt.environment,
    }


# --- alarm topic ------------------------------------------------------------------------------


def alarm_topic_key_policy(account_id: str, partition: str) -> Doc:
    """Key policy of the alarm topic's key: the account administers it; CloudWatch may use it to
    publish (the AWS-managed alias/aws/sns key does not allow that, and its policy is fixed)."""
    return _doc(
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        cloudwatch_alarms_use_key(account_id),
    )


def alarm_topic_policy(topic_arn: str, account_id: str, alarm_arn_prefix: str) -> Doc:
    """Only this processor's alarms may publish; the account keeps managing the topic."""
    return _doc(
        {
            "Sid": "AccountManages",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{topic_arn.split(':')[1]}:iam::{account_id}:root"},
            "Action": [
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:ListSubscriptionsByTopic",
                "sns:DeleteTopic",
                "sns:Publish",
            ],
            "Resource": topic_arn,
        },
        {
            "Sid": "ThisProcessorsAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "ArnLike": {"aws:SourceArn": f"{alarm_arn_prefix}*"},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        },
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sns:*",
            "Resource": topic_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    )


# --- Splunk -----------------------------------------------------------------------------------


def splunk_processing() -> Doc:
    """Firehose processing for CloudWatch Logs records: subscription data arrives gzip-compressed
    and wrapped in an envelope; Splunk gets each log event's message, one record per event."""
    return {
        "enabled": True,
        "processors": [
            {
                "type": "Decompression",
                "parameters": [{"parameter_name": "CompressionFormat", "parameter_value": "GZIP"}],
            },
            {
                "type": "CloudWatchLogProcessing",
                "parameters": [
                    {"parameter_name": "DataMessageExtraction", "parameter_value": "true"}
                ],
            },
        ],
    }


def firehose_policy(*, bucket_arn: str, secret_arn: str, log_group_arn: str) -> Doc:
    """The Firehose stream may back up failed events to its bucket, read the HEC token and log
    its own delivery errors."""
    return _doc(
        {
            "Sid": "BackUpFailedEvents",
            "Effect": "Allow",
            "Action": [
                "s3:AbortMultipartUpload",
                "s3:GetBucketLocation",
                "s3:GetObject",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
                "s3:PutObject",
            ],
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
        },
        {
            "Sid": "ReadHecToken",
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue"],
            "Resource": [secret_arn],
        },
        {
            "Sid": "OwnErrorLogs",
            "Effect": "Allow",
            "Action": ["logs:PutLogEvents"],
            "Resource": [f"{log_group_arn}:*"],
        },
    )


def log_subscription_policy(stream_arn: str) -> Doc:
    """CloudWatch Logs may put the processor's log events into this Firehose stream only."""
    return _doc(
        {
            "Sid": "PutIntoStream",
            "Effect": "Allow",
            "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
            "Resource": [stream_arn],
        }
    )


def logs_assume_role(account_id: str, partition: str, region: str) -> Doc:
    """CloudWatch Logs (regional principal) may assume the role, for this account's log groups."""
    return _doc(
        {
            "Effect": "Allow",
            "Principal": {"Service": "logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringLike": {"aws:SourceArn": f"arn:{partition}:logs:{region}:{account_id}:*"}
            },
        }
    )
