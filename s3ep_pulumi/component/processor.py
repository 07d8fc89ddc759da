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
    event_source,
    function,
    operations,
    queues,
    rule,
    splunk,
    storage,
)
from s3ep_pulumi.component.context import Context
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.sections import DispatchEngine

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
# With the event source mapping engine there is no state machine: the mapping's UUID instead.
MAPPING_OUTPUT_NAMES = tuple(
    "event_source_mapping_uuid" if key == "state_machine_arn" else key for key in OUTPUT_NAMES
)


def output_names(engine: DispatchEngine) -> tuple[str, ...]:
    """The outputs a processor with this engine registers (and its stack exports)."""
    return OUTPUT_NAMES if engine == "step_functions" else MAPPING_OUTPUT_NAMES


class S3EventProcessor(pulumi.ComponentResource):
    """S3 bucket -> EventBridge rule -> SQS queue (+DLQ) -> Step Functions dispatcher, or an
    SQS event source mapping (`dispatch.engine`) -> Lambda.

    `args` is an `S3EventProcessorArgs` or a plain dict validated into one.
    """

    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    queue_url: pulumi.Output[str]
    queue_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    rule_arn: pulumi.Output[str]
    # The engine that drains the queue (dispatch.engine resolved): "step_functions" or
    # "event_source_mapping"; only the dispatcher has a state machine, only the mapping a UUID.
    dispatch_engine: DispatchEngine
    state_machine_arn: pulumi.Output[str] | None  # None with the event source mapping engine
    event_source_mapping_uuid: pulumi.Output[str] | None  # None with the dispatcher
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
        # One engine drains the queue: the Step Functions dispatcher or the event source mapping.
        disp = dispatcher.dispatcher(ctx, cfg, q, fn, enc) if cfg.dispatch.uses_dispatcher else None
        mapping = event_source.event_source_mapping(ctx, cfg, q, fn)
        operations.scaling_policy(ctx, cfg, fn)
        alarms = operations.alarms(ctx, cfg, enc, disp)
        board = operations.dashboard(ctx, cfg, fn, disp, alarms)
        log_groups = [("function", fn.log_group)] if fn.log_group is not None else []
        if disp is not None:
            log_groups.append(("dispatcher", disp.log_group))
            if disp.run is not None:
                log_groups.append(("dispatcher-run", disp.run.log_group))
        splunk.splunk(ctx, cfg, log_groups, enc)
        backfill.backfill(ctx, cfg, store, q, enc)

        self.bucket_name, self.bucket_arn = store.bucket_name, store.bucket_arn
        self.queue_url, self.queue_arn = q.queue.url, q.queue.arn
        self.dlq_url, self.dlq_arn = q.dlq.url, q.dlq.arn
        self.rule_arn = events.rule.arn
        self.dispatch_engine = cfg.dispatch.resolved_engine
        self.state_machine_arn = disp.state_machine.arn if disp is not None else None
        self.event_source_mapping_uuid = mapping.uuid if mapping is not None else None
        self.function_name, self.function_arn = fn.name, fn.arn
        self.runtime_layer_arn = fn.runtime_layer_arn
        self.kms_key_arn = (
            enc.key_arn if enc.key_arn is not None else pulumi.Output.from_input(None)
        )
        self.alarm_topic_arn = alarms.topic_arn
        self.dashboard_name = board.dashboard_name if board is not None else None
        self.output_names = output_names(self.dispatch_engine)
        self.register_outputs({key: getattr(self, key) for key in self.output_names})
