"""The processor's own KMS key (security.create_kms_key, docs/security.md): created first, since
the queues use it; its key policy names the roles, so it is attached last."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam
from s3ep_pulumi.component.context import Context, json_doc
from s3ep_pulumi.model import resources
from s3ep_pulumi.model.args import S3EventProcessorArgs


@dataclass(frozen=True)
class Encryption:
    key: aws.kms.Key | None  # None unless security.create_kms_key

    @property
    def key_arn(self) -> pulumi.Output[str] | None:
        return self.key.arn if self.key is not None else None


def encryption_key(ctx: Context, args: S3EventProcessorArgs) -> Encryption:
    if not args.security.create_kms_key:
        return Encryption(key=None)
    # Symmetric, rotated yearly by KMS.
    key = aws.kms.Key(
        f"{ctx.name}-key",
        description=f"s3ep {ctx.name}: queues and log groups",
        enable_key_rotation=True,
        deletion_window_in_days=args.security.kms_key_deletion_window_days,
        tags=ctx.tags,
        opts=ctx.opts(),
    )
    return Encryption(key=key)


def key_policy(
    ctx: Context,
    args: S3EventProcessorArgs,
    encryption: Encryption,
    role_arns: Sequence[pulumi.Output[str]],
) -> aws.kms.KeyPolicy | None:
    """Replaces the key's default policy (the account root may do anything) with an exact one:
    `role_arns` (the roles that touch the queues) may use it, and CloudWatch may when the key
    encrypts the alarm topic."""
    if encryption.key is None:
        return None
    n = args.names
    log_groups = [
        ctx.arn("logs", f"log-group:{name}")
        for name in (n.function_log_group, n.dispatcher_log_group)
    ]
    alarm_topic = resources.alarm_topic_key(args) == "component-key"
    return aws.kms.KeyPolicy(
        f"{ctx.name}-key-policy",
        key_id=encryption.key.id,
        policy=json_doc(
            lambda partition, region, account, roles, groups: iam.kms_key_policy(
                partition=partition,
                region=region,
                account_id=account,
                role_arns=list(roles),
                log_group_arns=list(groups),
                alarm_topic=alarm_topic,
            ),
            ctx.partition,
            ctx.region,
            ctx.account,
            pulumi.Output.all(*role_arns),
            pulumi.Output.all(*log_groups),
        ),
        opts=ctx.opts(),
    )
