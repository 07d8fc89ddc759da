"""The dispatcher's timing model, computed once per configuration into a frozen `Budget`.

Every duration the design relies on lives here: the deployed Lambda timeout, the worst case of
one invocation and of one message in its lane, how long a received message can stay in flight
(the queue's visibility timeout), the start window and tail of an execution, the lease, the
bound on a STANDARD parent's rounds and the payload bound. The builders, the component, the
rules and the tools read `args.budget`; nothing else computes a duration. docs/dispatch.md
explains each term.
"""

from __future__ import annotations

import math
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
# Most executions one chain of handovers may run (an execution that ends with work left starts
# its successor; a scheduled poll starts a new chain at 0): a guard against a chain that never
# ends, far above what a backlog needs (1,000 x a 240 s budget is over 66 hours).
HANDOVER_CHAIN_MAX = 1_000
# Share of the 25,000-event history limit a STANDARD execution may plan to use.
HISTORY_BUDGET_SHARE = 0.8
# The STANDARD dispatcher is a parent that runs one EXPRESS execution of the dispatcher's run
# per round (`startExecution.sync:2`) and loops while that run held the lease and left work.
# Its history, from its definition (each state entered and exited: 2; each task attempt
# scheduled, started and ended: 3, a .sync one also submitted: 4):
# a start Step Functions refuses for the account's execution limit is retried this many times.
PARENT_RUN_RETRY_ATTEMPTS = 2
# per round: Run (the attempt that runs the child: 2 + 4, each refused start: 3) and Again (a
# Choice: 2); 8 events when no start is refused.
PARENT_EVENTS_PER_ROUND = 2 + 4 + 3 * PARENT_RUN_RETRY_ATTEMPTS + 2
# per execution: its own start and end (2), Init (2), Successor (a states:startExecution task,
# retried once: 2 + 3 * 2) and Done (2).
PARENT_EVENTS_FIXED = 2 + 2 + (2 + 3 * 2) + 2
# Rounds one parent runs before it starts its successor (docs/dispatch.md, "STANDARD: a parent
# over EXPRESS children"): PARENT_EVENTS_FIXED + 1,000 x PARENT_EVENTS_PER_ROUND = 14,014
# events at worst, 56 % of the limit, well inside HISTORY_BUDGET_SHARE; 1,000 rounds of at most
# a 300 s run each are under 84 hours, far inside a STANDARD execution's year.
PARENT_ROUNDS_MAX = 1_000
PARENT_HISTORY_EVENTS_WORST = PARENT_EVENTS_FIXED + PARENT_ROUNDS_MAX * PARENT_EVENTS_PER_ROUND
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
    lane_batch_bytes: int
    """Largest state payload a lane's received batch can make."""
    mapping_visibility_seconds: int = 0
    """The event source mapping engine's smallest visibility timeout: what the Lambda guide
    recommends, MAPPING_VISIBILITY_TIMEOUT_FACTOR (6) x the function's timeout plus the batching
    window (0), so a batch Lambda retries after a throttle is not yet visible to another poller
    (docs/aws-semantics.md L11)."""

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
        configured = args.queue.visibility_timeout_seconds
        mapping_visibility = mapping_visibility_seconds(lambda_timeout)
        default_visibility = in_flight if d.uses_dispatcher else mapping_visibility
        return cls(
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
            lane_batch_bytes=d.batch_size
            * (args.queue.max_message_size_bytes + MESSAGE_ENVELOPE_BYTES),
            mapping_visibility_seconds=mapping_visibility,
        )


def mapping_visibility_seconds(function_timeout_seconds: int) -> int:
    """The event source mapping engine's visibility timeout for a function timeout (seconds)."""
    return (
        limits.MAPPING_VISIBILITY_TIMEOUT_FACTOR * function_timeout_seconds
        + MAPPING_BATCHING_WINDOW_SECONDS
    )
