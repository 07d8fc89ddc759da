"""Pure documents of the monitoring integrations: Dynatrace's environment and the Splunk
Firehose stream's settings. Their IAM policies are in `iam`.

No secret passes through here: the Dynatrace token is added by the component as a Pulumi secret,
and the Splunk HEC token stays in Secrets Manager, read by Firehose itself.
"""

from __future__ import annotations

from typing import Any

from s3ep_pulumi.model.monitoring import DynatraceConfig, SplunkConfig
from s3ep_pulumi.model.naming import Names

Doc = dict[str, Any]
DYNATRACE_WRAPPER = "/opt/dynatrace"
DYNATRACE_TOKEN_VARIABLE = "DT_CONNECTION_AUTH_TOKEN"


def firehose_encryption(key_arn: str | None) -> Doc:
    """The stream's encryption at rest (snake_case, as pulumi-aws takes it): the processor's
    customer key, or, without one, a key AWS owns (no key policy to keep in step)."""
    if key_arn is None:
        return {"enabled": True, "key_type": "AWS_OWNED_CMK"}
    return {"enabled": True, "key_type": "CUSTOMER_MANAGED_CMK", "key_arn": key_arn}


# Only what Splunk did not accept goes to the failed-events bucket, gzip-compressed.
FIREHOSE_BACKUP_MODE = "FailedEventsOnly"
FIREHOSE_BACKUP_COMPRESSION = "GZIP"


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


def splunk_configuration(
    s: SplunkConfig, names: Names, *, role_arn: str, log_group_name: str, log_stream_name: str
) -> Doc:
    """The created Firehose stream's Splunk destination (snake_case, as pulumi-aws takes it):
    the HEC endpoint with its token read from Secrets Manager by Firehose itself, failed events
    backed up to the bucket, the log events' messages extracted, delivery errors logged."""
    return {
        "hec_endpoint": s.hec_endpoint,
        "hec_endpoint_type": s.hec_endpoint_type,
        "hec_acknowledgment_timeout": s.hec_acknowledgment_timeout_seconds,
        "retry_duration": s.retry_seconds,
        "s3_backup_mode": FIREHOSE_BACKUP_MODE,
        "s3_configuration": {
            "role_arn": role_arn,
            "bucket_arn": s.failed_events_bucket_arn,
            "prefix": names.firehose_backup_prefix,
            "compression_format": FIREHOSE_BACKUP_COMPRESSION,
        },
        "secrets_manager_configuration": {
            "enabled": True,
            "secret_arn": s.hec_token_secret_arn,
            "role_arn": role_arn,
        },
        "processing_configuration": splunk_processing(),
        "cloudwatch_logging_options": {
            "enabled": True,
            "log_group_name": log_group_name,
            "log_stream_name": log_stream_name,
        },
    }
