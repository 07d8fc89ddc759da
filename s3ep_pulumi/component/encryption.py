"""The processor's customer key (docs/security.md): the one it creates (security.create_kms_key)
with its key policy, or one the config names (security.kms_key_arn). Created first: the queues,
log groups, function and Splunk stream use it, and AWS checks the key policy when each of them
is created, so they wait for `ready`."""

from __future__ import annotations

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
    policy: aws.kms.KeyPolicy | None  # the created key's policy
    given_arn: str | None = None  # security.kms_key_arn

    @property
    def key_arn(self) -> pulumi.Output[str] | None:
        """The key the component created (its `kms_key_arn` output), else None."""
        return self.key.arn if self.key is not None else None

    @property
    def processor_key_arn(self) -> pulumi.Input[str] | None:
        """The processor's key (`resources.processor_key`): created or given; else None."""
        return self.key_arn if self.key_arn is not None else self.given_arn

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a resource encrypted with the processor's key waits for: its key policy."""
        return [self.policy] if self.policy is not None else []

    def log_group_key(self, args: S3EventProcessorArgs) -> pulumi.Input[str] | None:
        """The key of every log group (`resources.log_group_key`)."""
        match resources.log_group_key(args):
            case "log-key":
                return args.monitoring.log_kms_key_arn
            case "processor-key":
                return self.processor_key_arn
            case None:
                return None


def encryption_key(ctx: Context, args: S3EventProcessorArgs) -> Encryption:
    if resources.processor_key(args) == "given-key":
        return Encryption(key=None, policy=None, given_arn=args.security.kms_key_arn)
    if not args.security.create_kms_key:
        return Encryption(key=None, policy=None)
    # Symmetric, rotated yearly by KMS.
    key = aws.kms.Key(
        f"{ctx.name}-key",
        description=f"s3ep {ctx.name}: queues and log groups",
        enable_key_rotation=True,
        deletion_window_in_days=args.security.kms_key_deletion_window_days,
        tags=ctx.tags,
        opts=ctx.opts(),
    )
    return Encryption(key=key, policy=_key_policy(ctx, args, key))


def _key_policy(ctx: Context, args: S3EventProcessorArgs, key: aws.kms.Key) -> aws.kms.KeyPolicy:
    """Replaces the key's default policy (the account root may do anything) with an exact one
    (`iam.kms_key_policy`). It names the roles by ARN in a condition, built from their names, so
    it needs no role to exist yet (KMS rejects a principal that does not exist) and everything
    that uses the key can wait for it."""
    users = resources.key_users(args)
    return aws.kms.KeyPolicy(
        f"{ctx.name}-key-policy",
        key_id=key.id,
        policy=json_doc(
            lambda partition, region, account: iam.kms_key_policy(
                partition=partition,
                region=region,
                account_id=account,
                role_arns=[f"arn:{partition}:iam::{account}:role/{r}" for r in users.roles],
                log_group_arns=[
                    f"arn:{partition}:logs:{region}:{account}:log-group:{g}"
                    for g in users.log_groups
                ],
                alarm_topic=users.alarm_topic,
                lambda_environment=users.lambda_environment,
                firehose_stream=users.firehose_stream,
            ),
            ctx.partition,
            ctx.region,
            ctx.account,
        ),
        opts=ctx.opts(),
    )
