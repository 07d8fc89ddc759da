"""The dispatcher's timing model, computed once per configuration into a frozen `Budget`.

Every duration the design relies on lives here: the deployed Lambda timeout, the worst case of
one invocation and of one message in its lane, how long a received message can stay in flight
(the queue's visibility timeout), the start window and tail of an execution, the lease, the
STANDARD history plan and the payload bound. The builders, the component, the rules and the
tools read `args.budget`; nothing else computes a duration. docs/dispatch.md explains each term.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from s3ep_pulumi.model import limits
from s3ep_pulumi.model.sections import MAPPING_BATCHING_WINDOW_SECONDS
from s3ep_pulumi.runtime.s3ep_shim import DEFER_AFTER_SECONDS, TOLERANCE_FRACTION

if TYPE_CHECKING:
    from s3ep_pulumi.model.args import S3EventProcessorArgs

# How every SQS task of the dispatcher retries SQS's refusals (throttling and the like): 3 retries
# after 1, 2 and 4 s at most (full jitter), so one SQS call can take SQS_RETRY_WORST_SECONDS
# of backoff before it gives up.
SQS_RETRY_ATTEMPTS = 3
SQS_RETRY_INTERVAL_SECONDS = 1
SQS_RETRY_BACKOFF_RATE = 2.0
SQS_RETRY_MAX_DELAY_SECONDS = 4
SQS_RETRY_WORST_SECONDS = sum(
    min(SQS_RETRY_INTERVAL_SECONDS * SQS_RETRY_BACKOFF_RATE**k, SQS_RETRY_MAX_DELAY_SECONDS)
    for k in range(SQS_RETRY_ATTEMPTS)
)
# Seconds of latency one SQS call (all its attempts) may add beyond its backoff.
SQS_CALL_LATENCY_SECONDS = 3
# Seconds the dispatcher itself may spend around one message beyond the function's run time:
# state transitions, the SQS and Lambda API calls and their latency. Generous on purpose: a
# visibility timeout that is too short makes a message visible again while it is still being
# processed, and it is then processed twice. It also covers the three SQS calls at the end of
# an execution (a lane's batch delete and release, the lease's release), retries included.
DISPATCH_OVERHEAD_SECONDS = 30
# Seconds Lambda itself may add to a run (cold start, network) beyond the function's timeout.
INVOKE_LATENCY_SECONDS = 5
# Seconds one message's bookkeeping may take after its invocation: its visibility change, with
# every retry and latency.
MESSAGE_OVERHEAD_SECONDS = SQS_RETRY_WORST_SECONDS + SQS_CALL_LATENCY_SECONDS
# Seconds from a lane's decision to receive to the first call of the shim for what it received,
# beyond the long-poll wait: the receive's latency, the Map starting, the Lambda call.
RECEIVE_MARGIN_SECONDS = 1.0
# Bytes an SQS message adds to the state payload beyond its body: receipt handle (~400 B),
# message id, MD5 and attributes, with room to spare.
MESSAGE_ENVELOPE_BYTES = 2_048
# Part of a state's 256 KiB payload kept for everything but the received messages.
PAYLOAD_HEADROOM_BYTES = 32_768
# A lease outlives its execution's budget by this much, so it only expires if the execution died.
LEASE_MARGIN_SECONDS = 60
# How every DynamoDB task of the dispatcher (the lease) retries DynamoDB's refusals: as SQS's.
DYNAMODB_TASK_EVENTS_WORST = 2 + 3 * (SQS_RETRY_ATTEMPTS + 1)
# Most executions one chain of handovers may run (an execution that ends with work left starts
# its successor; a scheduled poll starts a new chain at 0): a guard against a chain that never
# ends, far above what a backlog needs (1,000 x a 240 s budget is over 66 hours).
HANDOVER_CHAIN_MAX = 1_000
# Share of the 25,000-event history limit a STANDARD execution plans to use.
HISTORY_BUDGET_SHARE = 0.8
# STANDARD history events, worst cases, from the definition's longest paths (each state entered
# and exited: 2; each task attempt scheduled/started/ended: 3; an SQS task retries 3 times).
# tests/emulator/test_dispatcher.py checks a measured history against them.
SQS_TASK_EVENTS_WORST = 2 + 3 * (SQS_RETRY_ATTEMPTS + 1)
# per execution: the execution's own 2, Init, Probe, HasWork, Acquire, Hold, Lanes (Map events),
# ReleaseLease, More, HandOver, Handover (a states:startExecution task, retried once), Done;
# Plan (a Lambda task) is added with its retries
HISTORY_EVENTS_FIXED = (
    2 + 2 + 2 * SQS_TASK_EVENTS_WORST + 2 * DYNAMODB_TASK_EVENTS_WORST + 2 * 4 + 6 + (2 + 3 * 2)
)
# per lane: its Map iteration, ReleaseUnstarted, its last state (Drained, WindowClosed, ...)
HISTORY_EVENTS_PER_LANE = 2 + SQS_TASK_EVENTS_WORST + 2
# per lane round: Clock, Fits, One, Renew (the fence), Receive, AnyMessages, Batch (4 Map
# events), CountRound, AnySucceeded, DeleteSucceeded, NextRound
HISTORY_EVENTS_PER_ROUND = (
    3 * 2 + DYNAMODB_TASK_EVENTS_WORST + 2 * SQS_TASK_EVENTS_WORST + 2 + 4 + 2 + 2 + 2
)
# Smallest start window worth running an execution for.
MIN_START_WINDOW_SECONDS = 10


@dataclass(frozen=True)
class Budget:
    """The timing model of one configuration (seconds, events and bytes as named)."""

    lambda_timeout_seconds: int
    """The function's timeout as deployed: `function.timeout`, plus, with a rate limit, the
    longest the shim may wait for a start slot before calling the handler."""
    pace_wait_worst_seconds: float
    """Longest a lane waits for its next start slot: one lane period, plus the second a Step
    Functions Wait can add (it wakes on whole seconds). 0 without a rate limit."""
    invoke_worst_case_seconds: float
    """Longest one message's invocation can take: every attempt times out, every retry waits."""
    message_worst_case_seconds: float
    """Longest one message takes in its lane: wait for a slot, invoke, delete."""
    in_flight_worst_case_seconds: int
    """Longest a received message can stay in flight before it is deleted. A lane receives up
    to `batch_size` messages and invokes them one after the other, so the last one waits for
    every earlier one of its batch: receive wait + batch x (slot wait + invocation + delete)
    + overhead."""
    visibility_timeout_seconds: int
    """The queue's visibility timeout: the configured one, else the in-flight worst case (Step
    Functions engine) or `mapping_visibility_seconds` (event source mapping engine)."""
    tail_worst_case_seconds: int
    """Longest an execution can run after its start window closed: the last started handler
    runs to its timeout (+ Lambda latency), one transient retry waits its longest delay and
    answers 'expired', then the lanes release and the lease is freed."""
    start_window_seconds: int
    """Seconds after an execution starts during which it may start invocations."""
    lease_seconds: int
    """How long a poller holds the lease: its whole budget, plus a margin."""
    invoke_task_timeout_seconds: int
    """TimeoutSeconds of the dispatcher's Invoke task: the deployed timeout plus Lambda's own
    latency, so Step Functions gives up only on an invocation Lambda has already ended."""
    receive_lead_seconds: float
    """Longest from a lane's decision to receive until the shim is called for the first message
    received: the long-poll wait plus RECEIVE_MARGIN_SECONDS. The shim's receive report keeps
    it free before the window closes."""
    history_events_per_message_worst: int
    """History events one received message can add, on its longest path: its Map iteration
    (2), Invoke twice (a deferral) with every Lambda attempt, Outcome twice, Pace, RetryLater
    with every retry and Failed; or Invoke, Outcome, Quarantine, DeleteQuarantined and
    Quarantined, when Lambda is retried less than twice."""
    lane_rounds: int | None
    """Full receives per lane per STANDARD execution, so its history stays within
    HISTORY_BUDGET_SHARE of the limit. None for EXPRESS (the start window bounds it)."""
    lane_batch_bytes: int
    """Largest state payload a lane's received batch can make."""
    history_events_fixed: int
    """History events of a STANDARD execution outside its lanes' rounds and messages."""
    mapping_visibility_seconds: int = 0
    """The event source mapping engine's smallest visibility timeout: what the Lambda guide
    recommends, MAPPING_VISIBILITY_TIMEOUT_FACTOR (6) x the function's timeout plus the batching
    window (0), so a batch Lambda retries after a throttle is not yet visible to another poller
    (docs/aws-semantics.md L11)."""

    def history_events_worst(self, rounds: int, messages: int) -> int:
        """Most history events of a STANDARD execution that ran `rounds` lane rounds in all
        (the last, empty receive of each lane included) over `messages` received messages."""
        return (
            self.history_events_fixed
            + rounds * HISTORY_EVENTS_PER_ROUND
            + messages * self.history_events_per_message_worst
        )

    @classmethod
    def of(cls, args: S3EventProcessorArgs) -> Budget:
        """Compute the timing model of `args` (called once, by `args.budget`)."""
        d, f, r = args.dispatch, args.function, args.dispatch.retry
        lambda_timeout = f.timeout
        pace_wait = 0.0
        if d.rate_per_second:
            lambda_timeout += math.ceil(DEFER_AFTER_SECONDS + TOLERANCE_FRACTION)
            pace_wait = d.max_concurrency / d.rate_per_second + limits.WAIT_RESOLUTION_SECONDS
        invoke = (r.max_attempts + 1) * lambda_timeout + r.total_delay_seconds()
        message = pace_wait + invoke + MESSAGE_OVERHEAD_SECONDS
        in_flight = math.ceil(
            d.receive_wait_seconds + d.batch_size * message + DISPATCH_OVERHEAD_SECONDS
        )
        tail = math.ceil(
            limits.WAIT_RESOLUTION_SECONDS
            + lambda_timeout
            + INVOKE_LATENCY_SECONDS
            + (r.max_delay_seconds if r.max_attempts else 0)
            + DISPATCH_OVERHEAD_SECONDS
        )
        invoke_events = 2 + 3 * (r.max_attempts + 1)
        per_message = max(
            2 + 2 * invoke_events + 2 * 2 + 2 + SQS_TASK_EVENTS_WORST + 2,
            2 + invoke_events + 2 + 2 * SQS_TASK_EVENTS_WORST + 2,
        )
        configured = args.queue.visibility_timeout_seconds
        mapping_visibility = mapping_visibility_seconds(lambda_timeout)
        default_visibility = in_flight if d.uses_dispatcher else mapping_visibility
        partial = cls(
            lambda_timeout_seconds=lambda_timeout,
            pace_wait_worst_seconds=pace_wait,
            invoke_worst_case_seconds=invoke,
            message_worst_case_seconds=message,
            in_flight_worst_case_seconds=in_flight,
            visibility_timeout_seconds=configured if configured is not None else default_visibility,
            tail_worst_case_seconds=tail,
            start_window_seconds=d.max_execution_seconds - tail,
            lease_seconds=d.max_execution_seconds + LEASE_MARGIN_SECONDS,
            invoke_task_timeout_seconds=lambda_timeout + INVOKE_LATENCY_SECONDS,
            receive_lead_seconds=d.receive_wait_seconds + RECEIVE_MARGIN_SECONDS,
            history_events_per_message_worst=per_message,
            lane_rounds=None,
            lane_batch_bytes=d.batch_size
            * (args.queue.max_message_size_bytes + MESSAGE_ENVELOPE_BYTES),
            history_events_fixed=HISTORY_EVENTS_FIXED
            + invoke_events
            + HISTORY_EVENTS_PER_LANE * d.max_concurrency,
            mapping_visibility_seconds=mapping_visibility,
        )
        if d.workflow_type != "STANDARD":
            return partial
        return cls(
            **{
                **vars(partial),
                "lane_rounds": _lane_rounds(partial, d.receive_sizes, d.max_concurrency),
            }
        )


def mapping_visibility_seconds(function_timeout_seconds: int) -> int:
    """The event source mapping engine's visibility timeout for a function timeout (seconds)."""
    return (
        limits.MAPPING_VISIBILITY_TIMEOUT_FACTOR * function_timeout_seconds
        + MAPPING_BATCHING_WINDOW_SECONDS
    )


def _lane_rounds(budget: Budget, receive_sizes: Callable[[int], list[int]], lanes: int) -> int:
    """The most rounds per lane whose worst-case history fits HISTORY_BUDGET_SHARE of the
    limit (`rounds` receives per lane, and a last, empty one)."""
    allowed = limits.STANDARD_HISTORY_EVENTS_MAX * HISTORY_BUDGET_SHARE

    def fits(rounds: int) -> bool:
        messages = lanes * sum(receive_sizes(rounds))
        return budget.history_events_worst(lanes * (rounds + 1), messages) <= allowed

    rounds = 0
    while fits(rounds + 1):
        rounds += 1
    return rounds
