"""KMS: customer managed keys rotate, and their policies name who may use them."""

from __future__ import annotations

from collections.abc import Iterator

from s3ep_pulumi.policy.base import MANDATORY, Config, Props, Rule
from s3ep_pulumi.policy.resource_policies import no_public_principal
from s3ep_pulumi.policy.tokens import KMS_KEY, KMS_KEY_POLICY


def _key_rotation(type_token: str, props: Props, _: Config) -> Iterator[str]:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and props.get("enableKeyRotation") is not True:
        yield "enableKeyRotation is not true"


KEY_ROTATION = Rule(
    "kms-key-rotation",
    "Every symmetric customer managed KMS key rotates",
    "set enableKeyRotation true",
    ("AwsSolutions-KMS5", "CKV_AWS_7"),
    MANDATORY,
    types=(KMS_KEY,),
    resource_check=_key_rotation,
)

# The check is shared with the S3 and SQS policies (resource_policies.no_public_principal).
KEY_POLICY_NO_PUBLIC_PRINCIPAL = Rule(
    "kms-key-policy-no-public-principal",
    "No KMS key policy allows Principal '*'",
    "name the principals: the account for administration, roles and scoped services for use",
    ("CKV_AWS_33",),
    MANDATORY,
    types=(KMS_KEY, KMS_KEY_POLICY),
    resource_check=no_public_principal,
)

RULES = (KEY_ROTATION, KEY_POLICY_NO_PUBLIC_PRINCIPAL)
