"""`S3EventProcessor`: the component that wires every AWS resource of one processor.

It holds no business rules: defaults and cross-field rules live in `config`, documents in
`iam`, `event_pattern` and `state_machine`, names in `naming`. Read it top to bottom as the data
path: bucket -> rule -> queue -> dispatcher -> function.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.builders import iam, integrations, scaling
from s3ep_pulumi.builders.alarms import AlarmTargets, alarm_specs
from s3ep_pulumi.builders.dashboard import DashboardTargets
from s3ep_pulumi.builders.dashboard import body as dashboard_body
from s3ep_pulumi.builders.event_pattern import INPUT_PATHS, INPUT_TEMPLATE, event_pattern_json
from s3ep_pulumi.builders.state_machine import DispatcherTargets, definition
from s3ep_pulumi.component.archive import SHIM_HANDLER, build_layer, build_package, shim_files
from s3ep_pulumi.model import limits
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.base import RUNTIMES
from s3ep_pulumi.model.budget import LEASE_MARGIN_SECONDS
from s3ep_pulumi.model.security import IN_FLIGHT_TAG, LEASE_TAG
from s3ep_pulumi.runtime.s3ep_shim import HANDLER_ENV

TYPE_TOKEN = "s3ep:index:S3EventProcessor"
BUILD_DIR = Path("build") / "functions"
# The component's public outputs, also exported by the stack program.
OUTPUT_NAMES = (
    "bucket_name",
    "bucket_arn",
    "queue_url",
    "queue_arn",
    "dlq_url",
    "dlq_arn",
    "rule_arn",
    "state_machine_arn",
    "function_name",
    "function_arn",
    "alarm_topic_arn",
    "dashboard_name",
)


def _json(doc_fn: Any, *outputs: Any) -> pulumi.Output[str]:
    """Serialise a pure document builder once every Output it needs has resolved."""
    return pulumi.Output.all(*outputs).apply(lambda values: json.dumps(doc_fn(*values)))


class S3EventProcessor(pulumi.ComponentResource):
    """S3 bucket -> EventBridge rule -> SQS queue (+DLQ) -> Step Functions dispatcher -> Lambda.

    `args` is an `S3EventProcessorArgs` or a plain dict validated into one.
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    rule_arn: pulumi.Output[str]
    state_machine_arn: pulumi.Output[str]
    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    # The customer managed key the component created (security.create_kms_key), else None.
    kms_key_arn: pulumi.Output[str | None]
    alarm_topic_arn: pulumi.Output[str] | None  # None when alarms are off
    dashboard_name: pulumi.Output[str] | None  # None when the dashboard is off
    _invoke_arn: pulumi.Output[str]  # what the dispatcher invokes: the function or its alias
    runtime_layer_arn: pulumi.Output[str] | None = None  # the shim as a layer, existing functions

    def __init__(
        self,
        name: str,
        args: S3EventProcessorArgs | Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_TOKEN, name, {}, opts)
        self.args = cfg = (
            args
            if isinstance(args, S3EventProcessorArgs)
            else S3EventProcessorArgs.model_validate(args)
        )
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        self._names = cfg.names
        self._tags = {"s3ep:processor": name, **cfg.tags}
        self._roles: dict[str, aws.iam.Role] = {}
        self._function_dlq: aws.sqs.Queue | None = None

        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._account = account_id.account_id
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._region = region.region
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        self._partition = partition.partition

        self._encryption_key()
        self._log_groups: list[tuple[str, aws.cloudwatch.LogGroup]] = []  # (role, group)
        self._alias: str | None = None  # the provisioned-concurrency alias, if any
        self._bucket()
        self._queues()
        self._rule()
        self._function()
        self._dispatcher()
        self._scaling()
        self._alarms()
        self._dashboard()
        self._splunk()
        self._function_dlq_policy()
        self._key_policy()

        self.register_outputs({key: getattr(self, key) for key in OUTPUT_NAMES})

    # --- helpers --------------------------------------------------------------------------------

    def _arn(self, service: str, resource: str, *, regional: bool = True) -> pulumi.Output[str]:
        """ARN of a resource known by name before it exists (avoids dependency cycles)."""
        if regional:
            return pulumi.Output.concat(
                "arn:",
                self._partition,
                f":{service}:",
                self._region,
                ":",
                self._account,
                f":{resource}",
            )
        return pulumi.Output.concat("arn:", self._partition, f":{service}:::{resource}")

    def _role(
        self, role: str, name: str, trust: pulumi.Input[str], policy: pulumi.Input[str]
    ) -> aws.iam.Role:
        # The role and its single inline policy: nothing else is attached.
        r = aws.iam.Role(
            f"{self._name}-{role}-role",
            name=name,
            assume_role_policy=trust,
            permissions_boundary=self.args.security.permissions_boundary_arn,
            tags=self._tags,
            opts=self._child,
        )
        self._roles[role] = r
        aws.iam.RolePolicy(
            f"{self._name}-{role}-policy",
            role=r.id,
            policy=policy,
            opts=self._child,
        )
        return r

    # --- bucket ---------------------------------------------------------------------------------

    def _bucket(self) -> None:
        b = self.args.bucket
        if b.existing_bucket_name is not None:
            # Referenced, not managed: the component never changes an existing bucket unless asked
            # to turn on its EventBridge notifications (which replaces its notification config).
            self.bucket_name = pulumi.Output.from_input(b.existing_bucket_name)
            self.bucket_arn = self._arn("s3", b.existing_bucket_name, regional=False)
            if b.enable_eventbridge_notifications:
                aws.s3.BucketNotification(
                    f"{self._name}-bucket-notifications",
                    bucket=b.existing_bucket_name,
                    eventbridge=True,
                    opts=self._child,
                )
            return

        bucket = aws.s3.Bucket(
            f"{self._name}-bucket",
            bucket=self._names.bucket,
            force_destroy=b.force_destroy,
            tags=self._tags,
            opts=self._child,
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        # Default encryption: SSE-S3, or SSE-KMS with bucket keys to cut KMS requests.
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-bucket-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms" if b.encryption == "SSE_KMS" else "AES256",
                        kms_master_key_id=b.kms_key_arn,
                    ),
                    bucket_key_enabled=b.encryption == "SSE_KMS",
                )
            ],
            opts=self._child,
        )
        # No public access, whatever a later policy or ACL says.
        aws.s3.BucketPublicAccessBlock(
            f"{self._name}-bucket-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=self._child,
        )
        # Versioning keeps overwritten and deleted objects recoverable.
        aws.s3.BucketVersioning(
            f"{self._name}-bucket-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(
                status="Enabled" if b.versioning else "Suspended",
            ),
            opts=self._child,
        )
        # TLS only.
        aws.s3.BucketPolicy(
            f"{self._name}-bucket-policy",
            bucket=bucket.id,
            policy=_json(iam.bucket_policy, bucket.arn),
            opts=self._child,
        )
        # Object events go to EventBridge's default bus.
        aws.s3.BucketNotification(
            f"{self._name}-bucket-notifications",
            bucket=bucket.id,
            eventbridge=True,
            opts=self._child,
        )

    # --- queues ---------------------------------------------------------------------------------

    def _queue_encryption(self) -> dict[str, Any]:
        q = self.args.queue
        key = q.kms_key_arn or self._kms_key_id
        if key is not None:
            return {
                "kms_master_key_id": key,
                "kms_data_key_reuse_period_seconds": q.kms_data_key_reuse_seconds,
            }
        return {"sqs_managed_sse_enabled": True}

    def _queues(self) -> None:
        q, n = self.args.queue, self._names
        enc = self._queue_encryption()
        # Dead letters: kept for the longest retention, so nothing ages out before a human looks.
        dlq = aws.sqs.Queue(
            f"{self._name}-dlq",
            name=n.dlq,
            message_retention_seconds=q.dlq_retention_seconds,
            tags=self._tags,
            opts=self._child,
            **enc,
        )
        # The buffer between EventBridge and the dispatcher.
        queue = aws.sqs.Queue(
            f"{self._name}-queue",
            name=n.queue,
            visibility_timeout_seconds=self.args.visibility_timeout_seconds,
            message_retention_seconds=q.message_retention_seconds,
            max_message_size=q.max_message_size_bytes,
            receive_wait_time_seconds=self.args.dispatch.receive_wait_seconds,
            redrive_policy=dlq.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": q.max_receive_count}
                )
            ),
            tags=self._tags,
            opts=self._child,
            **enc,
        )
        # Only the main queue may redrive into the DLQ.
        aws.sqs.RedriveAllowPolicy(
            f"{self._name}-dlq-redrive-allow",
            queue_url=dlq.url,
            redrive_allow_policy=queue.arn.apply(
                lambda arn: json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [arn]})
            ),
            opts=self._child,
        )
        aws.sqs.QueuePolicy(
            f"{self._name}-dlq-policy",
            queue_url=dlq.url,
            policy=_json(lambda arn: iam.queue_policy(arn, None), dlq.arn),
            opts=self._child,
        )
        # Events EventBridge could not deliver to the queue (e.g. a KMS key it may not use).
        rule_dlq = aws.sqs.Queue(
            f"{self._name}-rule-dlq",
            name=n.rule_dlq,
            message_retention_seconds=q.dlq_retention_seconds,
            tags=self._tags,
            opts=self._child,
            **enc,
        )
        # The dispatcher's lease: a FIFO group releases none of its messages while one is in
        # flight, so the execution holding a token is the only one running lanes.
        lease = aws.sqs.Queue(
            f"{self._name}-lease",
            name=n.lease_queue,
            fifo_queue=True,
            message_retention_seconds=max(
                limits.SQS_RETENTION_MIN_SECONDS, self.args.lease_seconds() + LEASE_MARGIN_SECONDS
            ),
            visibility_timeout_seconds=self.args.lease_seconds(),
            tags={**self._tags, LEASE_TAG: "true"},
            opts=self._child,
            **enc,
        )
        aws.sqs.QueuePolicy(
            f"{self._name}-lease-policy",
            queue_url=lease.url,
            policy=_json(lambda arn: iam.queue_policy(arn, None), lease.arn),
            opts=self._child,
        )
        self._queue, self._dlq, self._rule_dlq, self._lease = queue, dlq, rule_dlq, lease
        self.queue_url, self.queue_arn = queue.url, queue.arn
        self.dlq_url, self.dlq_arn = dlq.url, dlq.arn

    # --- rule -----------------------------------------------------------------------------------

    def _rule(self) -> None:
        b, n = self.args.bucket, self._names
        # Matches this bucket's events of the configured types on keys passing the filters.
        rule = aws.cloudwatch.EventRule(
            f"{self._name}-rule",
            name=n.rule,
            description=f"S3 object events of {self._name} to its queue",
            event_pattern=self.bucket_name.apply(
                lambda bucket: event_pattern_json(bucket, b.event_types, b.prefixes, b.suffixes)
            ),
            tags=self._tags,
            opts=self._child,
        )
        self.rule_arn = rule.arn
        # The queue accepts messages from this rule only, over TLS only.
        queue_policy = aws.sqs.QueuePolicy(
            f"{self._name}-queue-policy",
            queue_url=self._queue.url,
            policy=_json(iam.queue_policy, self._queue.arn, rule.arn),
            opts=self._child,
        )
        aws.sqs.QueuePolicy(
            f"{self._name}-rule-dlq-policy",
            queue_url=self._rule_dlq.url,
            policy=_json(iam.queue_policy, self._rule_dlq.arn, rule.arn),
            opts=self._child,
        )
        # Rule -> queue, with the payload shaped for the function and retries before the rule DLQ.
        aws.cloudwatch.EventTarget(
            f"{self._name}-rule-target",
            rule=rule.name,
            target_id="queue",
            arn=self._queue.arn,
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths=INPUT_PATHS,
                input_template=INPUT_TEMPLATE,
            ),
            retry_policy=aws.cloudwatch.EventTargetRetryPolicyArgs(
                maximum_event_age_in_seconds=86_400,
                maximum_retry_attempts=185,
            ),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(
                arn=self._rule_dlq.arn,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
        )

    # --- function -------------------------------------------------------------------------------

    def _function(self) -> None:
        f, n = self.args.function, self._names
        if f.existing_function_arn is not None:
            # Invoked, not managed: its role, logs and concurrency are the owner's. The dispatcher
            # speaks the shim's protocol, so the owner fronts their handler with the shim: this
            # layer carries it (docs/dispatch.md, "An existing function").
            self.function_name = pulumi.Output.from_input(self.args.function_name)
            self.function_arn = pulumi.Output.from_input(f.existing_function_arn)
            self._invoke_arn = self.function_arn
            layer_zip = build_layer(BUILD_DIR)
            layer = aws.lambda_.LayerVersion(
                f"{self._name}-runtime-layer",
                layer_name=n.runtime_layer,
                description="s3ep shim: handler s3ep_shim.handler, yours in S3EP_HANDLER",
                code=pulumi.FileArchive(str(layer_zip.path)),
                source_code_hash=layer_zip.sha256_b64,
                compatible_runtimes=list(RUNTIMES),
                opts=self._child,
            )
            self.runtime_layer_arn = layer.arn
            return
        assert f.source_dir is not None and f.handler is not None  # enforced by the model

        # Asynchronous invocations that fail land here. The dispatcher invokes synchronously, so
        # its failures never do: they stay in the main queue and go to its DLQ.
        function_dlq = aws.sqs.Queue(
            f"{self._name}-function-dlq",
            name=n.function_dlq,
            message_retention_seconds=self.args.queue.dlq_retention_seconds,
            tags=self._tags,
            opts=self._child,
            **self._queue_encryption(),
        )
        self._function_dlq = function_dlq
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-function-logs",
            name=n.function_log_group,
            retention_in_days=f.log_retention_days,
            kms_key_id=self.args.monitoring.log_kms_key_arn,
            tags=self._tags,
            opts=self._child,
        )
        self._log_groups.append(("function", log_group))
        role = self._role(
            "function",
            n.function_role,
            json.dumps(iam.lambda_assume_role()),
            _json(
                lambda lg, bucket, dlq: iam.function_policy(
                    log_group_arn=lg,
                    bucket_arn=bucket,
                    key_prefixes=self.args.bucket.prefixes,
                    function_dlq_arn=dlq,
                    bucket_kms_key_arn=self.args.bucket.kms_key_arn,
                    tracing=f.tracing,
                    vpc=f.vpc is not None,
                    queue_kms_key_arn=self.args.queue.kms_key_arn,
                    extra_statements=[st.document() for st in f.extra_policy_statements],
                ),
                log_group.arn,
                self.bucket_arn,
                function_dlq.arn,
            ),
        )
        # The shim (s3ep_shim.py, next to the user's code) paces and validates, then calls the
        # user's handler, named in S3EP_HANDLER.
        package = build_package(f.source_dir, BUILD_DIR, extra_files=shim_files())
        provisioned = f.provisioned_concurrency > 0 or f.scale_on_queue_depth
        function = aws.lambda_.Function(
            f"{self._name}-function",
            name=n.function,
            role=role.arn,
            runtime=f.runtime,
            handler=SHIM_HANDLER,
            code=pulumi.FileArchive(str(package.path)),
            source_code_hash=package.sha256_b64,
            memory_size=f.memory_size,
            timeout=self.args.lambda_timeout_seconds(),
            architectures=[f.architecture],
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=self._function_environment()),
            layers=self._function_layers(),
            reserved_concurrent_executions=(
                f.reserved_concurrency if f.reserved_concurrency is not None else -1
            ),
            dead_letter_config=aws.lambda_.FunctionDeadLetterConfigArgs(
                target_arn=function_dlq.arn
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=log_group.name
            ),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(
                mode="Active" if f.tracing else "PassThrough"
            ),
            vpc_config=(
                aws.lambda_.FunctionVpcConfigArgs(
                    subnet_ids=f.vpc.subnet_ids, security_group_ids=f.vpc.security_group_ids
                )
                if f.vpc
                else None
            ),
            publish=provisioned,
            tags=self._tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[log_group],
                # The Dynatrace token is in the environment: keep all of it secret in state.
                additional_secret_outputs=(
                    ["environment"] if self.args.monitoring.dynatrace else None
                ),
            ),
        )
        self.function_name = function.name
        self.function_arn = function.arn
        if provisioned:
            # Provisioned concurrency lives on an alias; the dispatcher invokes the alias.
            self._alias = "live"
            alias = aws.lambda_.Alias(
                f"{self._name}-function-live",
                name=self._alias,
                function_name=function.name,
                function_version=function.version,
                opts=self._child,
            )
            self._provisioned = aws.lambda_.ProvisionedConcurrencyConfig(
                f"{self._name}-function-provisioned",
                function_name=function.name,
                qualifier=alias.name,
                provisioned_concurrent_executions=(
                    f.provisioned_concurrency or f.min_provisioned_concurrency
                ),
                # With scaling on, Application Auto Scaling owns the value after the first deploy.
                opts=pulumi.ResourceOptions(
                    parent=self,
                    ignore_changes=(
                        ["provisioned_concurrent_executions"] if f.scale_on_queue_depth else None
                    ),
                ),
            )
            self._invoke_arn = alias.arn
        else:
            self._invoke_arn = function.arn

    # --- dispatcher -----------------------------------------------------------------------------

    def _dispatcher(self) -> None:
        cfg, d, n = self.args, self.args.dispatch, self._names
        state_machine_arn = self._arn("states", f"stateMachine:{n.state_machine}")
        logging = d.log_level != "OFF"
        log_group = aws.cloudwatch.LogGroup(
            f"{self._name}-dispatcher-logs",
            name=n.dispatcher_log_group,
            retention_in_days=(
                cfg.monitoring.dispatcher_log_retention_days or cfg.function.log_retention_days
            ),
            kms_key_id=cfg.monitoring.log_kms_key_arn,
            tags=self._tags,
            opts=self._child,
        )
        self._log_groups.append(("dispatcher", log_group))
        role = self._role(
            "dispatcher",
            n.dispatcher_role,
            _json(
                lambda account, sm: iam.assume_role("states.amazonaws.com", account, sm),
                self._account,
                state_machine_arn,
            ),
            _json(
                lambda queue, dlq, lease, fn: iam.dispatcher_policy(
                    queue_arn=queue,
                    dlq_arn=dlq,
                    lease_queue_arn=lease,
                    function_arn=fn,
                    queue_kms_key_arn=cfg.queue.kms_key_arn,
                    tracing=d.tracing,
                    logging=logging,
                ),
                self._queue.arn,
                self._dlq.arn,
                self._lease.arn,
                self.function_arn,
            ),
        )
        machine = aws.sfn.StateMachine(
            f"{self._name}-dispatcher",
            name=n.state_machine,
            type=d.workflow_type,
            role_arn=role.arn,
            definition=pulumi.Output.all(
                self._queue.url, self._dlq.url, self._lease.url, self._invoke_arn
            ).apply(
                lambda v: json.dumps(
                    definition(
                        cfg,
                        DispatcherTargets(
                            queue_url=v[0], dlq_url=v[1], lease_url=v[2], function_arn=v[3]
                        ),
                    ),
                    indent=2,
                )
            ),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                level=d.log_level,
                include_execution_data=d.include_execution_data,
                log_destination=log_group.arn.apply(lambda arn: f"{arn}:*"),
            ),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=d.tracing),
            tags={**self._tags, IN_FLIGHT_TAG: str(cfg.in_flight_worst_case_seconds())},
            opts=self._child,
        )
        self.state_machine_arn = machine.arn
        # The poll trigger: EventBridge Scheduler starts a poller every poll interval.
        scheduler_role = self._role(
            "scheduler",
            n.scheduler_role,
            _json(
                lambda account: iam.assume_role("scheduler.amazonaws.com", account),
                self._account,
            ),
            _json(iam.scheduler_policy, machine.arn),
        )
        minutes = d.poll_interval_minutes
        aws.scheduler.Schedule(
            f"{self._name}-poll",
            name=n.schedule,
            schedule_expression=f"rate({minutes} minute{'s' if minutes > 1 else ''})",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=machine.arn,
                role_arn=scheduler_role.arn,
                input=json.dumps({"trigger": "schedule"}),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_event_age_in_seconds=60 * minutes,
                    maximum_retry_attempts=0,
                ),
            ),
            opts=self._child,
        )

    # --- security (docs/security.md) ------------------------------------------------------------

    def _encryption_key(self) -> None:
        """The customer managed key, if asked for: created first, since the queues use it. Its
        key policy names the roles, so it is attached last (`_key_policy`)."""
        self._kms_key_id: pulumi.Output[str] | None = None
        if not self.args.security.create_kms_key:
            self.kms_key_arn = pulumi.Output.from_input(None)
            return
        # Symmetric, rotated yearly by KMS.
        self._kms_key = aws.kms.Key(
            f"{self._name}-key",
            description=f"s3ep {self._name}: queues and log groups",
            enable_key_rotation=True,
            deletion_window_in_days=self.args.security.kms_key_deletion_window_days,
            tags=self._tags,
            opts=self._child,
        )
        self._kms_key_id = self._kms_key.arn
        self.kms_key_arn = self._kms_key.arn

    def _key_policy(self) -> None:
        if self._kms_key_id is None:
            return
        n = self._names
        log_groups = [
            self._arn("logs", f"log-group:{name}")
            for name in (n.function_log_group, n.dispatcher_log_group)
        ]
        # Replaces the default key policy (account root may do anything) with an exact one.
        aws.kms.KeyPolicy(
            f"{self._name}-key-policy",
            key_id=self._kms_key.id,
            policy=pulumi.Output.all(
                self._partition,
                self._region,
                self._account,
                # The roles that touch the queues; the scheduler's role never does.
                pulumi.Output.all(
                    *(self._roles[r].arn for r in ("function", "dispatcher") if r in self._roles)
                ),
                pulumi.Output.all(*log_groups),
            ).apply(
                lambda v: json.dumps(
                    iam.kms_key_policy(
                        partition=v[0],
                        region=v[1],
                        account_id=v[2],
                        role_arns=list(v[3]),
                        log_group_arns=list(v[4]),
                        alarm_topic=self._owns_alarm_topic_key(),
                    )
                )
            ),
            opts=self._child,
        )

    # --- operations: Dynatrace, scaling, alarms, dashboard, Splunk --------------------------------

    def _function_layers(self) -> list[str] | None:
        dt = self.args.monitoring.dynatrace
        layers = [*self.args.function.layers, *([dt.layer_arn] if dt else [])]
        return layers or None

    def _function_environment(self) -> pulumi.Input[dict[str, str]]:
        f = self.args.function
        assert f.handler is not None  # only functions the component creates have an environment
        base = {"POWERTOOLS_SERVICE_NAME": self._name, **f.environment, HANDLER_ENV: f.handler}
        dt = self.args.monitoring.dynatrace
        if dt is None:
            return base
        # The token is read from its secret at deployment and only ever held as a Pulumi secret.
        token: pulumi.Output[str]
        if dt.token_config_key is not None:
            namespace, key = dt.token_config_key.split(":", 1)
            token = pulumi.Config(namespace).require_secret(key)
        else:
            assert dt.token_secret_arn is not None  # enforced by the model
            invoke = pulumi.InvokeOutputOptions(parent=self)
            if ":secretsmanager:" in dt.token_secret_arn:
                token = aws.secretsmanager.get_secret_version_output(
                    secret_id=dt.token_secret_arn, opts=invoke
                ).secret_string
            else:
                token = aws.ssm.get_parameter_output(
                    name=dt.token_secret_arn, with_decryption=True, opts=invoke
                ).value
        env = {**base, **integrations.dynatrace_environment(dt)}
        with_token: pulumi.Output[dict[str, str]] = token.apply(
            lambda value: {**env, integrations.DYNATRACE_TOKEN_VARIABLE: value}
        )
        return pulumi.Output.secret(with_token)

    def _scaling(self) -> None:
        f = self.args.function
        if not f.scale_on_queue_depth:
            return
        assert self._alias is not None  # scaling implies the alias (see _function)
        # Provisioned concurrency on the alias, between min and max, tracking the queue's
        # backlog per provisioned instance (scaling.py and docs/operations.md explain the signal).
        target = aws.appautoscaling.Target(
            f"{self._name}-scaling-target",
            service_namespace="lambda",
            scalable_dimension=scaling.SCALABLE_DIMENSION,
            resource_id=scaling.resource_id(self.args.function_name, self._alias),
            min_capacity=f.min_provisioned_concurrency,
            max_capacity=f.max_provisioned_concurrency,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._provisioned]),
        )
        aws.appautoscaling.Policy(
            f"{self._name}-scaling-policy",
            name=self._names.scaling_policy,
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=cast(
                aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgsDict,
                scaling.target_tracking(
                    self._names.queue, self.args.function_name, self._alias, f.messages_per_instance
                ),
            ),
            opts=self._child,
        )

    def _alarm_topic(self) -> pulumi.Output[str]:
        a, n = self.args.monitoring.alarms, self._names
        if a.topic_arn is not None:
            return pulumi.Output.from_input(a.topic_arn)
        key_arn: pulumi.Input[str]
        if a.kms_key_arn is not None:
            key_arn = a.kms_key_arn
        elif self._kms_key_id is not None:
            # The component's own key (security.create_kms_key); its policy admits CloudWatch.
            key_arn = self._kms_key_id
        else:
            # CloudWatch cannot use the AWS-managed SNS key, so the topic gets its own key.
            key = aws.kms.Key(
                f"{self._name}-alarms-key",
                description=f"Encrypts the alarm topic {n.alarm_topic}",
                enable_key_rotation=True,
                policy=_json(iam.alarm_topic_key_policy, self._account, self._partition),
                tags=self._tags,
                opts=self._child,
            )
            aws.kms.Alias(
                f"{self._name}-alarms-key-alias",
                name=n.alarm_topic_key_alias,
                target_key_id=key.key_id,
                opts=self._child,
            )
            key_arn = key.arn
        topic = aws.sns.Topic(
            f"{self._name}-alarms",
            name=n.alarm_topic,
            kms_master_key_id=key_arn,
            tags=self._tags,
            opts=self._child,
        )
        alarm_prefix = self._arn("cloudwatch", f"alarm:{n.alarm('')}")
        aws.sns.TopicPolicy(
            f"{self._name}-alarms-policy",
            arn=topic.arn,
            policy=_json(iam.alarm_topic_policy, topic.arn, self._account, alarm_prefix),
            opts=self._child,
        )
        for email in a.emails:
            # Named by a digest of the address: reordering the list replaces nothing.
            digest = hashlib.sha256(email.encode()).hexdigest()[:8]
            aws.sns.TopicSubscription(
                f"{self._name}-alarms-email-{digest}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=self._child,
            )
        return topic.arn

    def _alarms(self) -> None:
        self.alarm_topic_arn = None
        self._alarm_arns: list[pulumi.Output[str]] = []
        n = self._names
        specs = alarm_specs(
            self.args,
            AlarmTargets(
                queue=n.queue,
                dlq=n.dlq,
                rule_dlq=n.rule_dlq,
                function_dlq=None if self.args.function.existing_function_arn else n.function_dlq,
                rule=n.rule,
                function=self.args.function_name,
                state_machine_arn=self.state_machine_arn,
            ),
        )
        if not specs:
            return
        self.alarm_topic_arn = topic_arn = self._alarm_topic()
        for spec in specs:
            spec = dict(spec)
            key = spec.pop("key")
            alarm = aws.cloudwatch.MetricAlarm(
                f"{self._name}-alarm-{key}",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
                tags=self._tags,
                opts=self._child,
                **spec,
            )
            self._alarm_arns.append(alarm.arn)

    def _dashboard(self) -> None:
        self.dashboard_name = None
        m, n = self.args.monitoring, self._names
        if not m.dashboard:
            return
        f = self.args.function
        dlqs = [n.dlq, n.rule_dlq] + ([] if f.existing_function_arn else [n.function_dlq])

        def render(region: str, machine: str, *alarm_arns: str) -> str:
            targets = DashboardTargets(
                region=region,
                rule=n.rule,
                queue=n.queue,
                dlqs=dlqs,
                state_machine_arn=machine,
                function=self.args.function_name,
                alias=self._alias,
                alarm_arns=list(alarm_arns),
                messages_per_instance=f.messages_per_instance if f.scale_on_queue_depth else None,
            )
            return json.dumps(dashboard_body(f"s3ep {self._name}", targets))

        # One screen for the whole pipeline, left to right, with the alarms' states on top.
        dashboard = aws.cloudwatch.Dashboard(
            f"{self._name}-dashboard",
            dashboard_name=n.dashboard,
            dashboard_body=pulumi.Output.all(
                self._region, self.state_machine_arn, *self._alarm_arns
            ).apply(lambda v: render(*v)),
            opts=self._child,
        )
        self.dashboard_name = dashboard.dashboard_name

    def _splunk(self) -> None:
        s, n = self.args.monitoring.splunk, self._names
        if s is None:
            return
        destination: pulumi.Input[str]
        if s.destination_arn is not None:
            destination = s.destination_arn
        else:
            assert s.hec_endpoint and s.hec_token_secret_arn and s.failed_events_bucket_arn
            errors = aws.cloudwatch.LogGroup(
                f"{self._name}-splunk-logs",
                name=n.firehose_log_group,
                retention_in_days=self.args.function.log_retention_days,
                kms_key_id=self.args.monitoring.log_kms_key_arn,
                tags=self._tags,
                opts=self._child,
            )
            errors_stream = aws.cloudwatch.LogStream(
                f"{self._name}-splunk-logs-delivery",
                name="DestinationDelivery",
                log_group_name=errors.name,
                opts=self._child,
            )
            role = self._role(
                "firehose",
                n.firehose_role,
                _json(
                    lambda account: iam.assume_role("firehose.amazonaws.com", account),
                    self._account,
                ),
                _json(
                    lambda lg: iam.firehose_policy(
                        bucket_arn=s.failed_events_bucket_arn or "",
                        secret_arn=s.hec_token_secret_arn or "",
                        log_group_arn=lg,
                    ),
                    errors.arn,
                ),
            )
            # Log events -> Splunk HEC; the HEC token stays in Secrets Manager, read by Firehose.
            stream = aws.kinesis.FirehoseDeliveryStream(
                f"{self._name}-splunk",
                name=n.firehose,
                destination="splunk",
                server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                    enabled=True, key_type="AWS_OWNED_CMK"
                ),
                splunk_configuration=cast(
                    aws.kinesis.FirehoseDeliveryStreamSplunkConfigurationArgsDict,
                    {
                        "hec_endpoint": s.hec_endpoint,
                        "hec_endpoint_type": s.hec_endpoint_type,
                        "hec_acknowledgment_timeout": s.hec_acknowledgment_timeout_seconds,
                        "retry_duration": s.retry_seconds,
                        "s3_backup_mode": "FailedEventsOnly",
                        "s3_configuration": {
                            "role_arn": role.arn,
                            "bucket_arn": s.failed_events_bucket_arn,
                            "prefix": f"{n.firehose}/",
                            "compression_format": "GZIP",
                        },
                        "secrets_manager_configuration": {
                            "enabled": True,
                            "secret_arn": s.hec_token_secret_arn,
                            "role_arn": role.arn,
                        },
                        "processing_configuration": integrations.splunk_processing(),
                        "cloudwatch_logging_options": {
                            "enabled": True,
                            "log_group_name": errors.name,
                            "log_stream_name": errors_stream.name,
                        },
                    },
                ),
                tags=self._tags,
                opts=self._child,
            )
            destination = stream.arn
        role_arn: pulumi.Output[str] | None = None
        if s.destination_is_firehose:
            subscription_role = self._role(
                "log-subscription",
                n.log_subscription_role,
                _json(iam.logs_assume_role, self._account, self._partition, self._region),
                _json(iam.log_subscription_policy, destination),
            )
            role_arn = subscription_role.arn
        # Every log group of the processor, to the same destination.
        for stage, group in self._log_groups:
            aws.cloudwatch.LogSubscriptionFilter(
                f"{self._name}-{stage}-logs-splunk",
                name=n.log_subscription,
                log_group=group.name,
                filter_pattern=s.filter_pattern,
                destination_arn=destination,
                role_arn=role_arn,
                opts=self._child,
            )

    def _owns_alarm_topic_key(self) -> bool:
        """The component's key encrypts an alarm topic the component created."""
        a = self.args.monitoring.alarms
        return self.alarm_topic_arn is not None and a.topic_arn is None and a.kms_key_arn is None

    def _function_dlq_policy(self) -> None:
        """TLS only on the function's DLQ too (Lambda sends with the function's role)."""
        if self._function_dlq is None:
            return
        dlq = self._function_dlq
        aws.sqs.QueuePolicy(
            f"{self._name}-function-dlq-policy",
            queue_url=dlq.url,
            policy=_json(lambda arn: iam.queue_policy(arn, None), dlq.arn),
            opts=self._child,
        )
