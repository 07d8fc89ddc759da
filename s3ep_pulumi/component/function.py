"""The Lambda function the dispatcher invokes: created from source_dir with the shim in front of
the user's handler, or an existing one, which gets the shim as a layer."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam, integrations
from s3ep_pulumi.component import dependencies
from s3ep_pulumi.component.archive import (
    BUILD_DIR,
    LAYER_DESCRIPTION,
    SHIM_HANDLER,
    build_layer,
    build_package,
    shim_files,
)
from s3ep_pulumi.component.context import Context, GrantedRole, json_doc
from s3ep_pulumi.component.encryption import Encryption
from s3ep_pulumi.component.queues import Queues, tls_only_policy
from s3ep_pulumi.component.storage import Storage
from s3ep_pulumi.model import resources
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.base import RUNTIMES
from s3ep_pulumi.model.sections import FUNCTION_LOG_FORMAT


@dataclass(frozen=True)
class Function:
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    invoke_arn: pulumi.Output[str]  # what the dispatcher invokes: the function or its alias
    alias: str | None = None  # the `live` alias (provisioned concurrency, the mapping), if any
    provisioned: aws.lambda_.ProvisionedConcurrencyConfig | None = None
    role: GrantedRole | None = None  # None for an existing function: its role is the owner's
    log_group: aws.cloudwatch.LogGroup | None = None
    runtime_layer_arn: pulumi.Output[str] | None = None  # the shim as a layer, existing functions


def function(
    ctx: Context,
    args: S3EventProcessorArgs,
    storage: Storage,
    queues: Queues,
    encryption: Encryption,
) -> Function:
    if args.function.existing_function_arn is not None:
        return _existing(ctx, args, args.function.existing_function_arn)
    f, n = args.function, args.names
    assert f.source_dir is not None  # enforced by the model

    # Asynchronous invocations that fail land here. The dispatcher invokes synchronously, so
    # its failures never do: they stay in the main queue and go to its DLQ.
    function_dlq = aws.sqs.Queue(
        f"{ctx.name}-function-dlq",
        name=n.function_dlq,
        message_retention_seconds=args.queue.dlq_retention_seconds,
        tags=ctx.tags,
        opts=ctx.opts(),
        **queues.encryption,
    )
    # TLS only on the function's DLQ too (Lambda sends with the function's role).
    tls_only_policy(ctx, "function-dlq", function_dlq)
    log_group = aws.cloudwatch.LogGroup(
        f"{ctx.name}-function-logs",
        name=n.function_log_group,
        retention_in_days=f.log_retention_days,
        kms_key_id=encryption.log_group_key(args),
        tags=ctx.tags,
        opts=ctx.opts(depends_on=encryption.ready),
    )
    mapping = not args.dispatch.uses_dispatcher  # Lambda polls the queue with this role
    role = ctx.role(
        "function",
        n.function_role,
        json.dumps(iam.lambda_assume_role()),
        json_doc(
            lambda lg, bucket, dlq, partition, region, account, qkey, ekey, queue: (
                iam.function_policy(
                    log_group_arn=lg,
                    bucket_arn=bucket,
                    key_prefixes=args.bucket.prefixes,
                    function_dlq_arn=dlq,
                    bucket_kms_key_arn=args.bucket.kms_key_arn,
                    tracing=f.tracing,
                    vpc=(
                        iam.VpcAccess.of(
                            partition=partition,
                            region=region,
                            account_id=account,
                            subnet_ids=f.vpc.subnet_ids,
                            security_group_ids=f.vpc.security_group_ids,
                        )
                        if f.vpc
                        else None
                    ),
                    queue_kms_key_arn=qkey,
                    environment_kms_key_arn=ekey,
                    extra_statements=[st.document() for st in f.extra_policy_statements],
                    event_source_queue_arn=queue if mapping else None,
                )
            ),
            log_group.arn,
            storage.bucket_arn,
            function_dlq.arn,
            ctx.partition,
            ctx.region,
            ctx.account,
            queues.key_arn,
            encryption.processor_key_arn,
            queues.queue.arn,
        ),
    )
    # The shim (s3ep_shim.py, next to the user's code) paces and validates, then calls the
    # user's handler, named in S3EP_HANDLER. The handler's dependencies go in beside them.
    deps = dependencies.install(f.source_dir, f) if f.package_requirements else None
    package = build_package(f.source_dir, BUILD_DIR, extra_files=shim_files(), dependencies=deps)
    function = aws.lambda_.Function(
        f"{ctx.name}-function",
        name=n.function,
        role=role.arn,
        runtime=f.runtime,
        handler=SHIM_HANDLER,
        code=pulumi.FileArchive(str(package.path)),
        source_code_hash=package.sha256_b64,
        memory_size=f.memory_size,
        timeout=args.budget.lambda_timeout_seconds,
        architectures=[f.architecture],
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=_environment(ctx, args)),
        # The environment is encrypted with the processor's key, if any (else Lambda's own).
        kms_key_arn=encryption.processor_key_arn,
        layers=_layers(ctx, args),
        reserved_concurrent_executions=f.reserved_concurrent_executions,
        dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(target_arn=function_dlq.arn),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format=FUNCTION_LOG_FORMAT, log_group=log_group.name
        ),
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode=f.tracing_mode),
        vpc_config=(
            aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=f.vpc.subnet_ids, security_group_ids=f.vpc.security_group_ids
            )
            if f.vpc
            else None
        ),
        publish=resources.function_alias(args),
        tags=ctx.tags,
        opts=ctx.opts(
            # Its log group, its role's policy (Lambda checks the role when it creates a VPC
            # function's network interfaces) and its key's policy (Lambda's grant).
            depends_on=[log_group, *role.ready, *encryption.ready],
            # A secret (the Dynatrace token) is in the environment: keep all of it secret in state.
            additional_secret_outputs=(
                ["environment"] if args.monitoring.function_environment_secret else None
            ),
        ),
    )
    if not resources.function_alias(args):
        return Function(
            name=function.name,
            arn=function.arn,
            invoke_arn=function.arn,
            role=role,
            log_group=log_group,
        )
    # Provisioned concurrency lives on an alias; the dispatcher (or the event source mapping)
    # invokes the alias.
    alias = aws.lambda_.Alias(
        f"{ctx.name}-function-live",
        name=n.function_alias,
        function_name=function.name,
        function_version=function.version,
        opts=ctx.opts(),
    )
    if not f.provisioned:
        return Function(
            name=function.name,
            arn=function.arn,
            invoke_arn=alias.arn,
            alias=n.function_alias,
            role=role,
            log_group=log_group,
        )
    provisioned = aws.lambda_.ProvisionedConcurrencyConfig(
        f"{ctx.name}-function-provisioned",
        function_name=function.name,
        qualifier=alias.name,
        provisioned_concurrent_executions=f.initial_provisioned_concurrency,
        # With scaling on, Application Auto Scaling owns the value after the first deploy.
        opts=ctx.opts(
            ignore_changes=(
                ["provisioned_concurrent_executions"] if f.scale_on_queue_depth else None
            ),
        ),
    )
    return Function(
        name=function.name,
        arn=function.arn,
        invoke_arn=alias.arn,
        alias=n.function_alias,
        provisioned=provisioned,
        role=role,
        log_group=log_group,
    )


def _existing(ctx: Context, args: S3EventProcessorArgs, arn: str) -> Function:
    """Invoked, not managed: its role, logs and concurrency are the owner's. The dispatcher
    speaks the shim's protocol, so the owner fronts their handler with the shim: this layer
    carries it (docs/dispatch.md, "An existing function")."""
    layer_zip = build_layer(BUILD_DIR)
    layer = aws.lambda_.LayerVersion(
        f"{ctx.name}-runtime-layer",
        layer_name=args.names.runtime_layer,
        description=LAYER_DESCRIPTION,
        code=pulumi.FileArchive(str(layer_zip.path)),
        source_code_hash=layer_zip.sha256_b64,
        compatible_runtimes=list(RUNTIMES),
        opts=ctx.opts(),
    )
    function_arn = pulumi.Output.from_input(arn)
    return Function(
        name=pulumi.Output.from_input(args.function_name),
        arn=function_arn,
        invoke_arn=function_arn,
        runtime_layer_arn=layer.arn,
    )


def _layers(ctx: Context, args: S3EventProcessorArgs) -> pulumi.Input[list[str]] | None:
    """The function's layers; Powertools' ARN needs the region deployed to."""
    if not args.function.powertools_layer:
        return resources.function_layers(args)
    return pulumi.Output.all(ctx.partition, ctx.region).apply(
        lambda pr: resources.function_layers(args, resources.powertools_layer_arn(args, *pr)) or []
    )


def _environment(ctx: Context, args: S3EventProcessorArgs) -> pulumi.Input[dict[str, str]]:
    """The function's environment; with Dynatrace, its variables and the token, read at
    deployment and only ever held as a Pulumi secret."""
    base = resources.function_environment(args, ctx.name)
    dt = args.monitoring.dynatrace
    if dt is None:
        return base
    token: pulumi.Output[str]
    match dt.token_source:
        case "pulumi-config":
            assert dt.token_config is not None  # the source says so
            namespace, key = dt.token_config
            token = pulumi.Config(namespace).require_secret(key)
        case "secrets-manager":
            assert dt.token_secret_arn is not None  # the source says so
            token = aws.secretsmanager.get_secret_version_output(
                secret_id=dt.token_secret_arn, opts=ctx.invoke_opts()
            ).secret_string
        case "ssm-parameter":
            assert dt.token_secret_arn is not None  # the source says so
            token = aws.ssm.get_parameter_output(
                name=dt.token_secret_arn, with_decryption=True, opts=ctx.invoke_opts()
            ).value
    env = {**base, **integrations.dynatrace_environment(dt)}
    with_token: pulumi.Output[dict[str, str]] = token.apply(
        lambda value: {**env, integrations.DYNATRACE_TOKEN_VARIABLE: value}
    )
    return pulumi.Output.secret(with_token)
