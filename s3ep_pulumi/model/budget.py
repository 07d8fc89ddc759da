"""The dispatcher's timing model: the allowances it is computed from."""

from __future__ import annotations

# Seconds the dispatcher itself may spend around one message beyond the function's run time:
# state transitions, the SQS and Lambda API calls and their latency. Generous on purpose: a
# visibility timeout that is too short makes a message visible again while it is still being
# processed, and it is then processed twice.
DISPATCH_OVERHEAD_SECONDS = 30
# Seconds Lambda itself may add to a run (cold start, network) beyond the function's timeout.
INVOKE_LATENCY_SECONDS = 5
# Seconds one message's bookkeeping may take after its invocation: the delete or visibility
# change, with its retries (1 + 2 + 4 s of backoff) and latency.
MESSAGE_OVERHEAD_SECONDS = 10
# Bytes an SQS message adds to the state payload beyond its body: receipt handle (~400 B),
# message id, MD5 and attributes, with room to spare.
MESSAGE_ENVELOPE_BYTES = 2_048
# Part of a state's 256 KiB payload kept for everything but the received messages.
PAYLOAD_HEADROOM_BYTES = 32_768
# A lease outlives its execution's budget by this much, so it only expires if the execution died.
LEASE_MARGIN_SECONDS = 60
# Share of the 25,000-event history limit a STANDARD execution plans to use.
HISTORY_BUDGET_SHARE = 0.8
# STANDARD history events, worst cases, from the definition's longest paths (each state entered
# and exited: 2; each task attempt scheduled/started/ended: 3; an SQS task retries 3 times).
# tests/test_dispatcher.py checks a measured history against them.
SQS_TASK_EVENTS_WORST = 2 + 3 * 4
# per execution: Init, Probe, HasWork, Offer, Take, Leased, Hold, Lanes, ReleaseLease, Done
HISTORY_EVENTS_FIXED = 2 + 2 + SQS_TASK_EVENTS_WORST * 4 + 2 * 5 + 6
# per lane round: Receive, AnyMessages, Batch (4 Map events), CountRound, AnySucceeded,
# DeleteSucceeded, NextRound
HISTORY_EVENTS_PER_ROUND = 2 * SQS_TASK_EVENTS_WORST + 2 + 4 + 2 + 2 + 2
# Smallest start window worth running an execution for.
MIN_START_WINDOW_SECONDS = 10
