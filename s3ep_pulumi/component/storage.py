"""The bucket whose object events are processed: created, or an existing one referenced."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam
from s3ep_pulumi.component.context import Context, json_doc
from s3ep_pulumi.model import naming, resources
from s3ep_pulumi.model.args import S3EventProcessorArgs


@dataclass(frozen=True)
class Storage:
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]


def storage(ctx: Context, args: S3EventProcessorArgs) -> Storage:
    b = args.bucket
    bucket_id: pulumi.Input[str]
    if b.existing_bucket_name is not None:
        # Referenced, not managed: the component never changes an existing bucket unless asked
        # to turn on its EventBridge notifications (which replaces its notification config).
        bucket_id = b.existing_bucket_name
        out = Storage(
            bucket_name=pulumi.Output.from_input(b.existing_bucket_name),
            bucket_arn=ctx.arn("s3", b.existing_bucket_name, regional=False),
        )
    else:
        bucket = _bucket(ctx, args)
        bucket_id = bucket.id
        out = Storage(bucket_name=bucket.bucket, bucket_arn=bucket.arn)
    if b.manages_notifications:
        # Object events go to EventBridge's default bus.
        aws.s3.BucketNotification(
            f"{ctx.name}-bucket-notifications",
            bucket=bucket_id,
            eventbridge=True,
            opts=ctx.opts(),
        )
    return out


def _bucket(ctx: Context, args: S3EventProcessorArgs) -> aws.s3.Bucket:
    """A new bucket: encrypted, never public, versioned, TLS only."""
    b = args.bucket
    name: pulumi.Output[str] = (
        pulumi.Output.from_input(b.name)
        if b.name is not None
        else pulumi.Output.all(ctx.account, ctx.region).apply(
            lambda v: naming.default_bucket_name(args.name_prefix, v[0], v[1])
        )
    )
    bucket = aws.s3.Bucket(
        f"{ctx.name}-bucket",
        bucket=name,
        bucket_namespace=name.apply(naming.bucket_namespace),
        force_destroy=b.force_destroy,
        tags=ctx.tags,
        opts=ctx.opts(ignore_changes=resources.bucket_ignore_changes(args)),
    )
    # Default encryption: SSE-S3, or SSE-KMS with bucket keys.
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{ctx.name}-bucket-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm=b.sse_algorithm,
                    kms_master_key_id=b.kms_key_arn,
                ),
                bucket_key_enabled=b.bucket_key_enabled,
            )
        ],
        opts=ctx.opts(),
    )
    # No public access, whatever a later policy or ACL says.
    aws.s3.BucketPublicAccessBlock(
        f"{ctx.name}-bucket-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=ctx.opts(),
    )
    # Versioning keeps overwritten and deleted objects recoverable.
    versioning = aws.s3.BucketVersioning(
        f"{ctx.name}-bucket-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
            status=b.versioning_status,
        ),
        opts=ctx.opts(),
    )
    # ...for noncurrent_version_expiration_days, then S3 deletes them (after versioning is set:
    # S3 applies the rule to the versions it keeps).
    days = b.noncurrent_version_expiration_days
    if days is not None:
        aws.s3.BucketLifecycleConfiguration(
            f"{ctx.name}-bucket-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id=resources.NONCURRENT_VERSIONS_RULE_ID,
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(),  # every object
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=days,
                    ),
                )
            ],
            opts=ctx.opts(depends_on=[versioning]),
        )
    # Server access logs, when a log bucket is named.
    log_prefix = resources.access_log_prefix(args)
    if b.access_log_bucket is not None and log_prefix is not None:
        aws.s3.BucketLogging(
            f"{ctx.name}-bucket-logging",
            bucket=bucket.id,
            target_bucket=b.access_log_bucket,
            target_prefix=log_prefix,
            opts=ctx.opts(),
        )
    # TLS only.
    aws.s3.BucketPolicy(
        f"{ctx.name}-bucket-policy",
        bucket=bucket.id,
        policy=json_doc(iam.bucket_policy, bucket.arn),
        opts=ctx.opts(),
    )
    return bucket
