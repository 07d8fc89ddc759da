"""Resource policies of every service: bucket, queue, topic and key policies.

The check that no resource policy allows Principal '*' is shared by the S3, SQS and KMS rules
(each cites its own established rule); the confused-deputy rule covers them all at once.
"""

from __future__ import annotations

from collections.abc import Iterator

from s3ep_pulumi.policy.base import (
    MANDATORY,
    Config,
    Props,
    Rule,
    allows,
    document,
    principals,
    sid,
    source_scoped,
)
from s3ep_pulumi.policy.tokens import (
    BUCKET_POLICY,
    KMS_KEY,
    KMS_KEY_POLICY,
    QUEUE,
    QUEUE_POLICY,
    TOPIC,
    TOPIC_POLICY,
)

# Resource policies: type -> property holding the document.
RESOURCE_POLICIES: dict[str, str] = {
    BUCKET_POLICY: "policy",
    QUEUE_POLICY: "policy",
    QUEUE: "policy",
    TOPIC_POLICY: "policy",
    TOPIC: "policy",
    KMS_KEY: "policy",
    KMS_KEY_POLICY: "policy",
}


def no_public_principal(type_token: str, props: Props, _: Config) -> Iterator[str]:
    """The check of s3-bucket-policy-no-public-principal, sqs-queue-policy-no-public-principal
    and kms-key-policy-no-public-principal."""
    for s in allows(document(props.get(RESOURCE_POLICIES.get(type_token, "policy")))):
        wildcard, _services = principals(s)
        if wildcard:
            yield f"statement {sid(s)} allows Principal '*'"


def _service_principals_scoped(type_token: str, props: Props, _: Config) -> Iterator[str]:
    for s in allows(document(props.get(RESOURCE_POLICIES[type_token]))):
        _wildcard, services = principals(s)
        if services and not source_scoped(s):
            yield (
                f"statement {sid(s)} allows {', '.join(services)} without an "
                "aws:SourceArn or aws:SourceAccount condition"
            )


SERVICE_PRINCIPAL_SCOPED = Rule(
    "resource-policy-service-principal-scoped",
    "Resource policies grant service principals only with an aws:SourceArn or "
    "aws:SourceAccount condition (confused-deputy protection)",
    "add Condition ArnEquals aws:SourceArn (the calling resource) or StringEquals "
    "aws:SourceAccount (this account)",
    (),
    MANDATORY,
    types=tuple(RESOURCE_POLICIES),
    resource_check=_service_principals_scoped,
)

RULES = (SERVICE_PRINCIPAL_SCOPED,)
