"""Security facts shared by the component, the policy pack and `s3ep check`.

Kept free of Pulumi and pydantic imports: the policy pack loads it without the component.
"""

from __future__ import annotations

from typing import Final

# Tag on the dispatcher's state machine: the longest, in seconds, it may hold a received message
# (`S3EventProcessorArgs.in_flight_worst_case_seconds`). The policy pack checks that the queue it
# drains (same `s3ep:processor` tag) has a visibility timeout at least this long.
IN_FLIGHT_TAG: Final = "s3ep:in-flight-worst-case-seconds"
PROCESSOR_TAG: Final = "s3ep:processor"
# Marks the dispatcher's lease queue: it holds lock tokens, not work, so it needs no DLQ (a token
# that is never deleted simply expires with the queue's retention).
LEASE_TAG: Final = "s3ep:lease"
