"""Every log group of the processor streamed to Splunk: through a Firehose stream the component
creates for a Splunk HEC endpoint, or to an existing destination."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam, integrations
from s3ep_pulumi.component.context import Context, json_doc
from s3ep_pulumi.component.encryption import Encryption
from s3ep_pulumi.model import resources
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.monitoring import SplunkConfig


@dataclass(frozen=True)
class Splunk:
    destination_arn: pulumi.Input[str]
    filters: tuple[aws.cloudwatch.LogSubscriptionFilter, ...]


def splunk(
    ctx: Context,
    args: S3EventProcessorArgs,
    log_groups: Sequence[tuple[str, aws.cloudwatch.LogGroup]],
    encryption: Encryption,
) -> Splunk | None:
    """`log_groups` are (stage, group): each gets a subscription filter to the destination."""
    s, n = args.monitoring.splunk, args.names
    if s is None:
        return None
    destination: pulumi.Input[str]
    if s.creates_stream:
        destination = _stream(ctx, args, s, encryption).arn
    else:
        assert s.destination_arn is not None  # creates_stream says so
        destination = s.destination_arn
    role_arn: pulumi.Output[str] | None = None
    ready: list[pulumi.Resource] = []
    if s.destination_is_firehose:
        subscription_role = ctx.role(
            "log-subscription",
            n.log_subscription_role,
            json_doc(iam.logs_assume_role, ctx.account, ctx.partition, ctx.region),
            json_doc(iam.log_subscription_policy, destination),
        )
        role_arn, ready = subscription_role.arn, subscription_role.ready
    # Every log group of the processor, to the same destination.
    filters = tuple(
        aws.cloudwatch.LogSubscriptionFilter(
            f"{ctx.name}-{stage}-logs-splunk",
            name=n.log_subscription,
            log_group=group.name,
            filter_pattern=s.filter_pattern,
            destination_arn=destination,
            role_arn=role_arn,
            opts=ctx.opts(depends_on=ready),
        )
        for stage, group in log_groups
    )
    return Splunk(destination_arn=destination, filters=filters)


def _stream(
    ctx: Context, args: S3EventProcessorArgs, s: SplunkConfig, encryption: Encryption
) -> aws.kinesis.FirehoseDeliveryStream:
    """Log events -> Splunk HEC; the HEC token stays in Secrets Manager, read by Firehose."""
    n = args.names
    assert s.hec_endpoint and s.hec_token_secret_arn and s.failed_events_bucket_arn  # the model
    bucket_arn, secret_arn = s.failed_events_bucket_arn, s.hec_token_secret_arn
    errors = aws.cloudwatch.LogGroup(
        f"{ctx.name}-splunk-logs",
        name=n.firehose_log_group,
        retention_in_days=resources.splunk_log_retention_days(args),
        kms_key_id=encryption.log_group_key(args),
        tags=ctx.tags,
        opts=ctx.opts(depends_on=encryption.ready),
    )
    errors_stream = aws.cloudwatch.LogStream(
        f"{ctx.name}-splunk-logs-delivery",
        name=n.firehose_log_stream,
        log_group_name=errors.name,
        opts=ctx.opts(),
    )
    role = ctx.role(
        "firehose",
        n.firehose_role,
        json_doc(iam.firehose_assume_role, ctx.account),
        json_doc(
            lambda lg: iam.firehose_policy(
                bucket_arn=bucket_arn, secret_arn=secret_arn, log_group_arn=lg
            ),
            errors.arn,
        ),
    )
    configuration = pulumi.Output.all(role.arn, errors.name, errors_stream.name).apply(
        lambda v: integrations.splunk_configuration(
            s, n, role_arn=v[0], log_group_name=v[1], log_stream_name=v[2]
        )
    )
    # At rest with the processor's key (Firehose creates its grant when the stream is created,
    # so the stream waits for the key policy), else with a key AWS owns.
    key = encryption.processor_key_arn
    sse = (
        pulumi.Output.from_input(key).apply(integrations.firehose_encryption)
        if key is not None
        else integrations.firehose_encryption(None)
    )
    return aws.kinesis.FirehoseDeliveryStream(
        f"{ctx.name}-splunk",
        name=n.firehose,
        destination="splunk",
        server_side_encryption=cast(
            pulumi.Input[aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgsDict], sse
        ),
        splunk_configuration=cast(
            pulumi.Input[aws.kinesis.FirehoseDeliveryStreamSplunkConfigurationArgsDict],
            configuration,
        ),
        tags=ctx.tags,
        opts=ctx.opts(depends_on=[*role.ready, *encryption.ready]),
    )
