"""S3: buckets are private, encrypted, TLS-only and versioned."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pulumi_policy import PolicyResource

from s3ep_pulumi.policy.base import (
    ADVISORY,
    MANDATORY,
    Config,
    Props,
    Rule,
    as_list,
    of_type,
    refers_to,
    without_tls_deny,
)
from s3ep_pulumi.policy.resource_policies import no_public_principal
from s3ep_pulumi.policy.tokens import (
    BUCKET_ACL,
    BUCKET_POLICY,
    BUCKET_SSE,
    BUCKET_VERSIONING,
    BUCKETS,
    PUBLIC_ACCESS_BLOCK,
)


def _public_access_blocked(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    blocks = of_type(resources, PUBLIC_ACCESS_BLOCK)
    for bucket in of_type(resources, *BUCKETS):
        mine = [b for b in blocks if refers_to(b, "bucket", bucket)]
        if not mine:
            yield bucket.urn, "no BucketPublicAccessBlock refers to this bucket"
        for b in mine:
            off = [f for f in flags if b.props.get(f) is not True]
            if off:
                yield bucket.urn, f"its public access block leaves {', '.join(off)} off"


PUBLIC_ACCESS_BLOCKED = Rule(
    "s3-bucket-public-access-blocked",
    "Every S3 bucket has a public access block with all four settings on",
    "declare aws.s3.BucketPublicAccessBlock for the bucket with blockPublicAcls, "
    "blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets true",
    ("AwsSolutions-S2", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"),
    MANDATORY,
    stack_check=_public_access_blocked,
)


def _encrypted(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    configs = of_type(resources, *BUCKET_SSE)
    for bucket in of_type(resources, *BUCKETS):
        inline = bucket.props.get("serverSideEncryptionConfiguration")
        if not inline and not any(refers_to(c, "bucket", bucket) for c in configs):
            yield bucket.urn, "no default encryption configuration refers to this bucket"


ENCRYPTED = Rule(
    "s3-bucket-encrypted",
    "Every S3 bucket declares default encryption (SSE-S3 or SSE-KMS)",
    "declare aws.s3.BucketServerSideEncryptionConfiguration for the bucket",
    ("CKV_AWS_19", "CKV_AWS_145"),
    MANDATORY,
    stack_check=_encrypted,
)


def _tls_only(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    for bucket in without_tls_deny(resources, BUCKETS, BUCKET_POLICY, "bucket"):
        yield bucket.urn, "no bucket policy denies aws:SecureTransport = false"


TLS_ONLY = Rule(
    "s3-bucket-tls-only",
    "Every S3 bucket's policy denies requests made without TLS",
    "add a Deny statement for Principal '*' with Condition Bool aws:SecureTransport false "
    "on the bucket and bucket/* (s3ep_pulumi.builders.iam.deny_insecure_transport)",
    ("AwsSolutions-S10",),
    MANDATORY,
    stack_check=_tls_only,
)


def _versioning(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    versionings = of_type(resources, *BUCKET_VERSIONING)
    for bucket in of_type(resources, *BUCKETS):
        inline = bucket.props.get("versioning") or {}
        enabled = isinstance(inline, Mapping) and inline.get("enabled") is True
        for v in versionings:
            if refers_to(v, "bucket", bucket):
                status = (v.props.get("versioningConfiguration") or {}).get("status")
                enabled = enabled or status == "Enabled"
        if not enabled:
            yield bucket.urn, "versioning is not enabled"


VERSIONING = Rule(
    "s3-bucket-versioning",
    "Every S3 bucket has versioning enabled",
    "declare aws.s3.BucketVersioning with status Enabled (s3ep: bucket.versioning true)",
    ("CKV_AWS_21",),
    ADVISORY,
    stack_check=_versioning,
)

PUBLIC_GROUPS = ("AllUsers", "AuthenticatedUsers")


def _no_public_acl(type_token: str, props: Props, _: Config) -> Iterator[str]:
    acl = props.get("acl")
    if isinstance(acl, str) and acl.startswith(("public-", "authenticated-")):
        yield f"canned ACL '{acl}' grants access to everyone"
    policy = props.get("accessControlPolicy") or {}
    for grant in as_list(policy.get("grants") if isinstance(policy, Mapping) else None):
        uri = str((grant.get("grantee") or {}).get("uri", ""))
        if uri.endswith(PUBLIC_GROUPS):
            yield f"grant {grant.get('permission')} to {uri.rsplit('/', 1)[-1]}"


NO_PUBLIC_ACL = Rule(
    "s3-bucket-no-public-acl",
    "No bucket ACL grants access to everyone or to any AWS user",
    "remove the public canned ACL or the AllUsers/AuthenticatedUsers grant",
    ("CKV_AWS_20", "CKV_AWS_57"),
    MANDATORY,
    types=(*BUCKETS, *BUCKET_ACL),
    resource_check=_no_public_acl,
)

# The check is shared with the SQS and KMS policies (resource_policies.no_public_principal).
POLICY_NO_PUBLIC_PRINCIPAL = Rule(
    "s3-bucket-policy-no-public-principal",
    "No bucket policy allows Principal '*'",
    "name the principals (accounts, roles or service principals with aws:SourceArn)",
    ("CKV_AWS_70",),
    MANDATORY,
    types=(BUCKET_POLICY,),
    resource_check=no_public_principal,
)

RULES = (
    PUBLIC_ACCESS_BLOCKED,
    ENCRYPTED,
    TLS_ONLY,
    VERSIONING,
    NO_PUBLIC_ACL,
    POLICY_NO_PUBLIC_PRINCIPAL,
)
