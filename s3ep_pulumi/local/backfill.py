"""`s3ep backfill`: feed objects already in the bucket through the pipeline.

Each matching object becomes the message the rule's input transformer would have made of its
`Object Created` event (`builders.backfill.listing_event` -> `event_pattern.message_body`), sent
to the same queue; the dispatcher then treats it like any upload. Only the stack's filters
pass: its prefixes and suffixes, and 'created' must be among its event types (a listing holds
no deletions).

- **Resumable.** Standard queues have no deduplication, so the command keeps a checkpoint file
  (default `.s3ep/backfill-<stack>.json`): per listed prefix, the last key whose message SQS
  accepted, written after every batch of 10. S3 lists keys in order, so a second run starts
  after that key (`StartAfter`) and sends nothing twice, except the one batch in flight if the
  command was killed between SQS's answer and the write. A finished backfill is recorded as
  done; `--restart` starts over. Different `--prefix`/`--since` options are a different
  backfill (their own entry in the file).
- **No alarm.** The queue-depth alarm fires at `monitoring.alarms.queue_depth.threshold`
  visible messages. The command keeps the queue's visible depth at or below half of it: before
  each batch it reads `ApproximateNumberOfMessages` and waits while the batch would pass that
  mark, so it enqueues only as fast as the dispatcher drains (and, with
  `dispatch.rate_per_second`, never faster than that rate). A planned backfill pages nobody,
  and a real queue-depth problem during it still does (the alarm's actions stay on).
- **Large buckets.** With `backfill.enabled` the component declares a Distributed Map over the
  bucket listing (`<prefix>-backfill`); `--distributed` starts it instead of enqueueing here.
  That path has no depth gate: its `backfill.max_concurrency` bounds it.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from s3ep_pulumi.builders.backfill import listing_event
from s3ep_pulumi.builders.event_pattern import key_matches, message_body
from s3ep_pulumi.errors import S3epError
from s3ep_pulumi.local.stack_outputs import Deployed
from s3ep_pulumi.model import limits

BATCH = limits.SQS_RECEIVE_MAX_MESSAGES  # SendMessageBatch takes at most 10 entries
GATE_POLL_SECONDS = 1.0
UNGATED_HIGH_WATER = 1_000  # without a queue-depth alarm: bound the backlog anyway
CHECKPOINT_DIR = Path(".s3ep")


class BackfillError(S3epError):
    """The stack cannot be backfilled as asked (no 'created' events, a prefix outside the
    stack's, a queue that refuses the messages)."""


@dataclass(frozen=True)
class Plan:
    """What a backfill would do."""

    bucket: str
    listing_prefixes: list[str]
    since: datetime.datetime | None
    rate: float | None  # dispatch.rate_per_second
    high_water: int  # visible messages the command keeps the queue at or below
    alarm_threshold: float | None

    @property
    def batch(self) -> int:
        """Messages per SendMessageBatch: 10, or fewer when the high-water mark is lower."""
        return min(BATCH, self.high_water)

    def duration_text(self, objects: int) -> str:
        if self.rate is None:
            return "no rate limit: as fast as the dispatcher drains the queue"
        return f"at {self.rate:g}/s: about {_duration(math.ceil(objects / self.rate))}"


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def plan(deployed: Deployed, prefix: str | None, since: datetime.datetime | None) -> Plan:
    args = deployed.args
    if "created" not in args.bucket.event_types:
        raise BackfillError(
            f"stack '{deployed.stack}' processes only {', '.join(args.bucket.event_types)} "
            "events; a backfill enqueues existing objects as 'created' events"
        )
    prefixes = args.bucket.prefixes
    if prefix is None:
        listing = list(prefixes) or [""]
    elif not prefixes or any(prefix.startswith(p) for p in prefixes):
        listing = [prefix]
    else:
        # a narrower stack prefix under --prefix is listed on its own
        listing = [p for p in prefixes if p.startswith(prefix)]
        if not listing:
            raise BackfillError(
                f"--prefix {prefix!r} is outside the stack's prefixes ({', '.join(prefixes)}): "
                "no object under it would reach the function"
            )
    alarm = args.monitoring.alarms
    threshold = alarm.queue_depth.threshold if alarm.enabled and alarm.queue_depth.enabled else None
    high_water = max(1, int(threshold // 2)) if threshold is not None else UNGATED_HIGH_WATER
    return Plan(
        deployed.output("bucket_name"),
        listing,
        since,
        args.dispatch.rate_per_second,
        high_water,
        threshold,
    )


# --- the checkpoint -----------------------------------------------------------------------------


def checkpoint_path(stack: str) -> Path:
    return CHECKPOINT_DIR / f"backfill-{stack}.json"


def backfill_id(p: Plan) -> str:
    """Which backfill an entry of the checkpoint file belongs to: bucket, prefixes, since."""
    key = json.dumps([p.bucket, p.listing_prefixes, p.since.isoformat() if p.since else None])
    return hashlib.sha256(key.encode()).hexdigest()[:16]


@dataclass
class Checkpoint:
    path: Path
    entry: dict[str, Any]  # {"after": {prefix: last key}, "enqueued": n, "done": bool}
    _all: dict[str, Any]
    _id: str

    @classmethod
    def open(cls, path: Path, p: Plan, restart: bool) -> Checkpoint:
        data: dict[str, Any] = {}
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except ValueError:
                raise BackfillError(f"{path}: not JSON; delete it or pass --restart") from None
        ident = backfill_id(p)
        entry = data.get(ident)
        if restart or not isinstance(entry, dict):
            entry = {
                "bucket": p.bucket,
                "prefixes": p.listing_prefixes,
                "since": p.since.isoformat() if p.since else None,
                "after": {},
                "enqueued": 0,
                "done": False,
            }
        return cls(path, entry, data, ident)

    def advance(self, prefix: str, key: str, sent: int) -> None:
        self.entry["after"][prefix] = key
        self.entry["enqueued"] += sent
        self.save()

    def finish(self) -> None:
        self.entry["done"] = True
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._all[self._id] = self.entry
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._all, indent=2) + "\n")
        temporary.replace(self.path)  # atomic: a crash leaves the old file or the new one


# --- listing and sending ------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    prefix: str  # the listing prefix it came from
    key: str
    body: str


def matching(deployed: Deployed, p: Plan, after: dict[str, str]) -> Iterator[Listed]:
    """The bucket's objects that pass the stack's filters (and `since`), in S3's key order per
    listing prefix, starting after the checkpoint's key."""
    s3 = boto3.client("s3")
    bucket = deployed.args.bucket
    for prefix in p.listing_prefixes:
        kwargs: dict[str, Any] = {"Bucket": p.bucket, "Prefix": prefix}
        if prefix in after:
            kwargs["StartAfter"] = after[prefix]
        for page in s3.get_paginator("list_objects_v2").paginate(**kwargs):
            for obj in page.get("Contents", []):
                if not key_matches(obj["Key"], bucket.prefixes, bucket.suffixes):
                    continue
                if p.since is not None and obj["LastModified"] < p.since:
                    continue
                event = listing_event(
                    p.bucket, obj["Key"], obj["Size"], obj.get("ETag", ""), obj["LastModified"]
                )
                yield Listed(prefix, obj["Key"], message_body(event))


def count(deployed: Deployed, p: Plan, after: dict[str, str]) -> int:
    return sum(1 for _ in matching(deployed, p, after))


def send_batch(queue_url: str, bodies: list[str]) -> None:
    """Send up to 10 bodies; entries SQS refuses are sent again once, then BackfillError."""
    sqs = boto3.client("sqs")
    entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
    for _ in range(2):
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if not failed:
            return
        ids = {f["Id"] for f in failed}
        entries = [e for e in entries if e["Id"] in ids]
    raise BackfillError(
        f"the queue refused {len(entries)} message(s): {failed[0].get('Code')}: "
        f"{failed[0].get('Message')}"
    )


def visible(queue_url: str) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


@dataclass
class Progress:
    enqueued: int = 0
    waiting: bool = False  # the depth gate holds the next batch


def enqueue(
    deployed: Deployed,
    p: Plan,
    checkpoint: Checkpoint,
    on_progress: Callable[[Progress], None] = lambda progress: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Send every matching object not yet enqueued, paced and gated; the number sent."""
    queue_url = deployed.output("queue_url")
    state = Progress()
    batch: list[Listed] = []
    next_send = clock()

    def flush() -> None:
        nonlocal next_send
        while visible(queue_url) + len(batch) > p.high_water:
            state.waiting = True
            on_progress(state)
            sleep(GATE_POLL_SECONDS)
        state.waiting = False
        if p.rate is not None and (delay := next_send - clock()) > 0:
            sleep(delay)
        send_batch(queue_url, [item.body for item in batch])
        next_send = clock() + (len(batch) / p.rate if p.rate else 0.0)
        # a batch never spans two listing prefixes (flushed at each change)
        checkpoint.advance(batch[-1].prefix, batch[-1].key, len(batch))
        state.enqueued += len(batch)
        on_progress(state)
        batch.clear()

    for item in matching(deployed, p, checkpoint.entry["after"]):
        if batch and batch[-1].prefix != item.prefix:
            flush()
        batch.append(item)
        if len(batch) == p.batch:
            flush()
    if batch:
        flush()
    checkpoint.finish()
    return state.enqueued


# --- distributed ------------------------------------------------------------------------------


def backfill_machine_arn(deployed: Deployed) -> str:
    """The component's backfill state machine (`backfill.enabled`), next to the dispatcher (or,
    with the event source mapping engine, in the queue's account and region)."""
    name = deployed.names.backfill_state_machine
    if deployed.args.dispatch.uses_dispatcher:
        dispatcher = deployed.output("state_machine_arn")
        return f"{dispatcher.rsplit(':', 1)[0]}:{name}"
    _, partition, _, region, account, _ = deployed.output("queue_arn").split(":")
    return f"arn:{partition}:states:{region}:{account}:stateMachine:{name}"


def start_distributed(deployed: Deployed, p: Plan) -> list[str]:
    """Start one execution of the backfill machine per listing prefix; their ARNs."""
    if not deployed.args.backfill.enabled:
        raise BackfillError(
            f"stack '{deployed.stack}' declares no backfill state machine: set "
            "backfill.enabled: true and deploy, or run without --distributed"
        )
    if p.since is not None:
        raise BackfillError(
            "--since is not supported with --distributed (S3's listing has no "
            "date filter); run without --distributed"
        )
    sfn, arn = boto3.client("stepfunctions"), backfill_machine_arn(deployed)
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    return [
        str(
            sfn.start_execution(
                stateMachineArn=arn,
                name=f"backfill-{stamp}-{i}",
                input=json.dumps({"prefix": prefix}),
            )["executionArn"]
        )
        for i, prefix in enumerate(p.listing_prefixes)
    ]
