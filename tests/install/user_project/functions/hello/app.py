"""A user's own handler: one S3 object per call."""

from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return {"statusCode": 200, "key": event["s3_details"]["key"]}
