"""`S3EventProcessorArgs`: the root of the configuration model, and its derived values.

`S3EventProcessorArgs` is what a user writes, in Python or under `s3ep:processor` in a stack's
YAML. Field names are snake_case; camelCase aliases are accepted too. Every field documents its
unit and default, and `docs/configuration.md` is generated from these descriptions.

Cross-field rules run after each field is valid and are reported together in one
`pydantic.ValidationError`, each error located at the field to change.
"""

from __future__ import annotations

import math

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from s3ep_pulumi.model import limits
from s3ep_pulumi.model.base import Section
from s3ep_pulumi.model.budget import (
    DISPATCH_OVERHEAD_SECONDS,
    HISTORY_BUDGET_SHARE,
    HISTORY_EVENTS_FIXED,
    HISTORY_EVENTS_PER_ROUND,
    INVOKE_LATENCY_SECONDS,
    LEASE_MARGIN_SECONDS,
    MESSAGE_ENVELOPE_BYTES,
    MESSAGE_OVERHEAD_SECONDS,
    SQS_TASK_EVENTS_WORST,
)
from s3ep_pulumi.model.monitoring import MonitoringConfig
from s3ep_pulumi.model.naming import Names
from s3ep_pulumi.model.rules import cross_field_problems
from s3ep_pulumi.model.sections import (
    BucketConfig,
    DispatchConfig,
    FunctionConfig,
    QueueConfig,
    SecurityConfig,
)
from s3ep_pulumi.runtime.s3ep_shim import DEFER_AFTER_SECONDS, TOLERANCE_FRACTION


class S3EventProcessorArgs(Section):
    """Everything one S3 event processor needs. Only `name_prefix` and the function's code are
    required; every other option has a production default."""

    name_prefix: str = Field(
        pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$",
        description=(
            "Prefix of every physical name: lower case letters, digits and '-'. Every name built "
            "from it must fit its service's length limit (IAM roles: 64 characters)."
        ),
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags on every resource.")
    bucket: BucketConfig = Field(default_factory=BucketConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    function: FunctionConfig = Field(default_factory=FunctionConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    # --- derived values: one place each -------------------------------------------------------

    @property
    def function_name(self) -> str:
        if self.function.existing_function_arn:
            return self.function.existing_function_arn.split(":")[6]
        return self.function.name or f"{self.name_prefix}-processor"

    @property
    def names(self) -> Names:
        return Names.derive(self.name_prefix, self.function_name, self.bucket.existing_bucket_name)

    def lambda_timeout_seconds(self) -> int:
        """The function's timeout as deployed: the handler's `function.timeout`, plus, with a rate
        limit, the longest the shim may wait for a start slot before calling the handler."""
        if not self.dispatch.rate_per_second:
            return self.function.timeout
        return self.function.timeout + math.ceil(DEFER_AFTER_SECONDS + TOLERANCE_FRACTION)

    def invoke_worst_case_seconds(self) -> float:
        """Longest one message's invocation can take: every attempt times out, every retry waits."""
        attempts = self.dispatch.retry.max_attempts + 1
        return attempts * self.lambda_timeout_seconds() + self.dispatch.retry.total_delay_seconds()

    def message_worst_case_seconds(self) -> float:
        """Longest one message takes in its lane: wait for a slot, invoke, delete."""
        return (
            self.dispatch.pace_wait_worst_seconds()
            + self.invoke_worst_case_seconds()
            + MESSAGE_OVERHEAD_SECONDS
        )

    def in_flight_worst_case_seconds(self) -> int:
        """Longest a received message can stay in flight before it is deleted, in seconds.

        A lane receives up to `batch_size` messages and invokes them one after the other, so the
        last one waits for every earlier one of its batch: receive wait + batch x (slot wait +
        invocation + delete) + overhead.
        """
        d = self.dispatch
        worst = (
            d.receive_wait_seconds
            + d.batch_size * self.message_worst_case_seconds()
            + DISPATCH_OVERHEAD_SECONDS
        )
        return math.ceil(worst)

    def tail_worst_case_seconds(self) -> int:
        """Longest an execution can run after its start window closed: the last started
        handler runs to its timeout (+5 s of Lambda latency), one transient retry waits its
        longest delay and answers 'expired', then the lanes release and the lease is freed."""
        r = self.dispatch.retry
        return math.ceil(
            limits.WAIT_RESOLUTION_SECONDS
            + self.lambda_timeout_seconds()
            + INVOKE_LATENCY_SECONDS
            + (r.max_delay_seconds if r.max_attempts else 0)
            + DISPATCH_OVERHEAD_SECONDS
        )

    def start_window_seconds(self) -> int:
        """Seconds after an execution starts during which it may start invocations."""
        return self.dispatch.max_execution_seconds - self.tail_worst_case_seconds()

    def lease_seconds(self) -> int:
        """How long a poller holds the lease: its whole budget, plus a margin."""
        return self.dispatch.max_execution_seconds + LEASE_MARGIN_SECONDS

    def history_events_per_message_worst(self) -> int:
        """History events one received message can add: its Map iteration (2), IsS3Event (2),
        Invoke twice (a deferral) with every Lambda attempt, Outcome twice, Pace, and its final
        SQS task with every retry."""
        attempts = self.dispatch.retry.max_attempts + 1
        invoke = 2 + 3 * attempts
        return 2 + 2 + 2 * invoke + 2 * 2 + 2 + SQS_TASK_EVENTS_WORST

    def history_events_worst(self, rounds: int, messages: int) -> int:
        """Most history events of a STANDARD execution that ran `rounds` lane rounds in all
        (the last, empty receive of each lane included) over `messages` received messages."""
        lanes = self.dispatch.max_concurrency
        return (
            HISTORY_EVENTS_FIXED
            + 2 * lanes
            + rounds * HISTORY_EVENTS_PER_ROUND
            + messages * self.history_events_per_message_worst()
        )

    def lane_rounds(self) -> int | None:
        """Full receives per lane per STANDARD execution, so its history stays within
        HISTORY_BUDGET_SHARE of the limit. EXPRESS executions have no history limit: None (the
        start window bounds them)."""
        d = self.dispatch
        if d.workflow_type != "STANDARD":
            return None
        budget = limits.STANDARD_HISTORY_EVENTS_MAX * HISTORY_BUDGET_SHARE
        lanes = d.max_concurrency

        def fits(rounds: int) -> bool:  # `rounds` receives per lane, and a last, empty one
            messages = lanes * sum(d.receive_sizes(rounds))
            return self.history_events_worst(lanes * (rounds + 1), messages) <= budget

        rounds = 0
        while fits(rounds + 1):
            rounds += 1
        return rounds

    def lane_batch_bytes(self) -> int:
        """Largest state payload a lane's received batch can make."""
        return self.dispatch.batch_size * (
            self.queue.max_message_size_bytes + MESSAGE_ENVELOPE_BYTES
        )

    @property
    def visibility_timeout_seconds(self) -> int:
        """The queue's visibility timeout: the configured one, or the worst case."""
        configured = self.queue.visibility_timeout_seconds
        return configured if configured is not None else self.in_flight_worst_case_seconds()

    # --- cross-field rules --------------------------------------------------------------------

    @model_validator(mode="after")
    def _cross_field_rules(self) -> S3EventProcessorArgs:
        problems = list(cross_field_problems(self))
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("cross_field", message), loc=loc, input=value
                    )
                    for loc, message, value in problems
                ],
            )
        return self
