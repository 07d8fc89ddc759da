"""Example function for the s3ep pipeline: hash a created S3 object, acknowledge a deleted one.

Contract with the dispatcher: the payload is exactly
    {"s3_details": {"bucket": str, "key": str, "event_type": "Object Created" | "Object Deleted",
                    "event_time": str, "object": {key, size, etag, version-id, sequencer, ...}}}
Success = return a result. Failure = raise, or return a statusCode >= 400: the dispatcher counts
both as failures. This handler always raises on failure (bad payload, missing object, S3 error).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()  # JSON logs; service name from POWERTOOLS_SERVICE_NAME
tracer = Tracer()
metrics = Metrics(namespace="s3ep")

CREATED, DELETED = "Object Created", "Object Deleted"
CHUNK = 1024 * 1024  # hash in 1 MiB chunks: large objects never sit in memory whole


@functools.cache
def s3_client() -> Any:
    """Created on first use, so tests can set up moto and the environment first."""
    return boto3.client("s3")


@dataclass(frozen=True)
class S3Details:
    bucket: str
    key: str
    event_type: str
    event_time: str
    object: dict[str, Any]

    @classmethod
    def from_event(cls, event: Any) -> S3Details:
        details = event.get("s3_details") if isinstance(event, dict) else None
        if not isinstance(details, dict):
            raise ValueError("invalid event: 's3_details' is missing or not an object")
        for name in ("bucket", "key"):
            if not isinstance(details.get(name), str) or not details[name]:
                raise ValueError(f"invalid event: 's3_details.{name}' must be a non-empty string")
        if details.get("event_type") not in (CREATED, DELETED):
            raise ValueError(
                f"invalid event: 's3_details.event_type' must be {CREATED!r} or {DELETED!r}, "
                f"got {details.get('event_type')!r}"
            )
        if not isinstance(obj := details.get("object") or {}, dict):
            raise ValueError("invalid event: 's3_details.object' must be an object")
        event_time = str(details.get("event_time") or "")
        return cls(details["bucket"], details["key"], details["event_type"], event_time, obj)


@tracer.capture_method
def digest_object(details: S3Details) -> tuple[int, str]:
    """Stream the object (the event's version, if any) and return (size in bytes, sha256 hex)."""
    kwargs: dict[str, str] = {"Bucket": details.bucket, "Key": details.key}
    if version_id := details.object.get("version-id"):
        kwargs["VersionId"] = version_id
    body = s3_client().get_object(**kwargs)["Body"]
    sha, size = hashlib.sha256(), 0
    for chunk in body.iter_chunks(CHUNK):
        sha.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest()


@logger.inject_lambda_context(clear_state=True)  # no keys leak between warm invocations
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        details = S3Details.from_event(event)
        logger.append_keys(bucket=details.bucket, key=details.key, event_type=details.event_type)
        result: dict[str, Any] = {"statusCode": 200, "bucket": details.bucket, "key": details.key}
        if details.event_type == DELETED:
            logger.info("object deleted; nothing to read")
            metrics.add_metric(name="ObjectsDeleted", unit=MetricUnit.Count, value=1)
            return {**result, "deleted": True}
        size, sha256 = digest_object(details)
    except Exception:
        metrics.add_metric(name="ProcessingFailures", unit=MetricUnit.Count, value=1)
        raise
    logger.info("object processed", extra={"size": size, "sha256": sha256})
    metrics.add_metric(name="ObjectsProcessed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="BytesProcessed", unit=MetricUnit.Bytes, value=size)
    return {**result, "size": size, "sha256": sha256}
