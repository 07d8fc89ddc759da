"""`S3EventProcessor`: the component that wires every AWS resource of one processor.

It holds no decisions: defaults, derived values and cross-field rules live in `model`,
documents in `builders`. Each stage (storage, queues, rule, function, dispatcher, operations,
splunk, encryption) declares its resources from the model and the resources of earlier stages;
this class calls them in the order of the data path (bucket -> rule -> queue -> dispatcher ->
function), then exposes the outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from s3ep_pulumi.component import (
    backfill,
    dispatcher,
    encryption,
    function,
    operations,
    queues,
    rule,
    splunk,
    storage,
)
from s3ep_pulumi.component.context import Context
from s3ep_pulumi.model.args import S3EventProcessorArgs

TYPE_TOKEN = "s3ep:index:S3EventProcessor"
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
        ctx = Context.of(self, name, cfg)

        # The key and its policy first: the queues, log groups, function and stream use it.
        enc = encryption.encryption_key(ctx, cfg)
        store = storage.storage(ctx, cfg)
        q = queues.queues(ctx, cfg, enc)
        events = rule.rule(ctx, cfg, store, q)
        fn = function.function(ctx, cfg, store, q, enc)
        disp = dispatcher.dispatcher(ctx, cfg, q, fn, enc)
        operations.scaling_policy(ctx, cfg, fn)
        alarms = operations.alarms(ctx, cfg, enc, disp)
        board = operations.dashboard(ctx, cfg, fn, disp, alarms)
        log_groups = [("function", fn.log_group)] if fn.log_group is not None else []
        log_groups.append(("dispatcher", disp.log_group))
        if disp.run is not None:
            log_groups.append(("dispatcher-run", disp.run.log_group))
        splunk.splunk(ctx, cfg, log_groups, enc)
        backfill.backfill(ctx, cfg, store, q, enc)

        self.bucket_name, self.bucket_arn = store.bucket_name, store.bucket_arn
        self.queue_url, self.queue_arn = q.queue.url, q.queue.arn
        self.dlq_url, self.dlq_arn = q.dlq.url, q.dlq.arn
        self.rule_arn = events.rule.arn
        self.state_machine_arn = disp.state_machine.arn
        self.function_name, self.function_arn = fn.name, fn.arn
        self.runtime_layer_arn = fn.runtime_layer_arn
        self.kms_key_arn = (
            enc.key_arn if enc.key_arn is not None else pulumi.Output.from_input(None)
        )
        self.alarm_topic_arn = alarms.topic_arn
        self.dashboard_name = board.dashboard_name if board is not None else None
        self.register_outputs({key: getattr(self, key) for key in OUTPUT_NAMES})
