"""The pure part of the end-to-end test on AWS (`test_deploy.py`): what it deploys, what it
uploads, how long it waits, and how it reads what happened. Nothing here calls AWS or Pulumi, so
`test_e2e_plan.py` checks it in the normal suite.

The observable signals, all in the function's own log group and the queues:

- processed: the example handler's `"object processed"` line (Powertools JSON, with `key`, `size`
  and `sha256`), one per object it read and hashed;
- failed: the shim's `{"logger": "s3ep_shim", "outcome": "raised" | "failed", "key": ...}` line,
  one per failed invocation (docs/dispatch.md);
- dead-lettered: a message in the DLQ whose body's `s3_details.key` is the object's key;
- never queued: none of the three, while the queue is empty. A key that reached the queue would
  have been processed, failed or still be queued, so "none of them" means the rule filtered it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import secrets
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlparse

from s3ep_pulumi.component.stack import CONFIG_KEY, CONFIG_NAMESPACE, parse_args
from s3ep_pulumi.model.args import S3EventProcessorArgs

PROCESSOR_KEY = f"{CONFIG_NAMESPACE}:{CONFIG_KEY}"
DEFAULT_REGION = "us-east-1"
STACK_PREFIX = "aws-test-"
NAME_PREFIX = "s3ep-t-"
# Tag on every resource of a test stack, so leftovers of a run can be found by tag.
RUN_TAG = "s3ep-test-run"

# --- how long things take on AWS (seconds) ----------------------------------------------------

# "After you enable EventBridge, it takes around five minutes for the changes to take effect."
# (S3 User Guide, "Enabling Amazon EventBridge"): a fresh bucket's first events can be dropped.
EVENTBRIDGE_ACTIVATION_SECONDS = 300
# "Typically, event notifications are delivered in seconds but can sometimes take a minute or
# longer." (S3 User Guide, "Amazon S3 Event Notifications"); EventBridge to SQS adds seconds.
DELIVERY_SECONDS = 90
# From a poller's start to a failed message's RetryLater: Probe, lease, receive, a cold start
# (Powertools' import), the lane's pacing.
EXECUTION_SLACK_SECONDS = 20
# CloudWatch Logs ingestion, the lag of SQS's approximate counts, the schedule's own jitter.
MARGIN_SECONDS = 120
# Until the pipeline is live, a new canary object this often.
CANARY_INTERVAL_SECONDS = 30

# --- prerequisites: one line each -------------------------------------------------------------

PULUMI_CLI_MISSING = "pytest -m aws needs the Pulumi CLI: https://www.pulumi.com/docs/install/"
SELF_MANAGED_BACKENDS = ("file", "s3", "azblob", "gs")


def one_line(error: BaseException | str) -> str:
    """An error message on one line (a skip reason is one line)."""
    return " ".join(str(error).split())


def credentials_missing(error: BaseException) -> str:
    return (
        "pytest -m aws needs AWS credentials for the account to deploy into (AWS_PROFILE, or "
        f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY): {one_line(error)}"
    )


def venv_missing(venv: Path) -> str:
    return (
        f"pytest -m aws runs the stack program in {venv} (Pulumi.yaml's virtualenv) and it has "
        "no s3ep-pulumi: run `make test` once, or `python -m venv .venv && "
        ".venv/bin/pip install -e '.[dev]'`"
    )


def backend_missing(error: BaseException) -> str:
    return (
        "pytest -m aws needs a Pulumi backend: `pulumi login`, or "
        f"PULUMI_BACKEND_URL=file://~/.pulumi-s3ep-test: {one_line(error)}"
    )


def passphrase_missing(backend_url: str | None, env: Mapping[str, str]) -> str | None:
    """A self-managed backend encrypts stack secrets with a passphrase, which the CLI cannot ask
    for under the Automation API (it runs non-interactive)."""
    url = backend_url or env.get("PULUMI_BACKEND_URL") or ""
    if urlparse(url).scheme not in SELF_MANAGED_BACKENDS:
        return None
    if env.get("PULUMI_CONFIG_PASSPHRASE") is not None or env.get("PULUMI_CONFIG_PASSPHRASE_FILE"):
        return None
    return (
        f"pytest -m aws with the backend {url} needs PULUMI_CONFIG_PASSPHRASE (or "
        "PULUMI_CONFIG_PASSPHRASE_FILE) for the test stack's secrets provider"
    )


def region(env: Mapping[str, str]) -> str:
    """The region to deploy into: AWS_REGION, else us-east-1 (the dev stack's)."""
    return env.get("AWS_REGION") or DEFAULT_REGION


# --- the test stack ---------------------------------------------------------------------------


def new_run_id() -> str:
    """10 random hex digits: 2**40 names, so two runs in one account never meet."""
    return secrets.token_hex(5)


def stack_name(run_id: str) -> str:
    return f"{STACK_PREFIX}{run_id}"


def name_prefix(run_id: str) -> str:
    """The physical-name prefix: every name, the global bucket name included, starts with it."""
    return f"{NAME_PREFIX}{run_id}"


def stack_config(
    dev: Mapping[str, Any], run_id: str, aws_region: str, layers: Iterable[str] = ()
) -> dict[str, str]:
    """The test stack's config, as `pulumi config set` takes it (a top-level value is a string;
    the program reads the processor with `get_object`, which parses JSON), from the dev stack's:

    - `name_prefix` is the run's own, so every physical name (the global bucket name included)
      is unique; a fixed function name is dropped for the derived `<prefix>-processor`;
    - the bucket is the stack's own, with `force_destroy: true`, so destroy deletes its objects;
    - every resource carries the tag `s3ep-test-run: <run id>`;
    - `layers` are appended to the function's (the Powertools layer, see `needs_powertools_layer`);
    - `aws:region` is the region the test deploys into. Everything else is the dev stack's.
    """
    if PROCESSOR_KEY not in dev:
        raise ValueError(f"the dev stack has no '{PROCESSOR_KEY}'")
    processor = copy.deepcopy(dict(dev[PROCESSOR_KEY]))
    processor["name_prefix"] = name_prefix(run_id)
    processor["tags"] = {**processor.get("tags", {}), RUN_TAG: run_id}
    bucket = processor.setdefault("bucket", {})
    if bucket.get("existing_bucket_name"):
        raise ValueError(
            "the dev stack names an existing bucket: the test needs a bucket of its own"
        )
    bucket["force_destroy"] = True
    function = processor.setdefault("function", {})
    function.pop("name", None)
    function["layers"] = [*function.get("layers", []), *layers]
    out = {key: _config_text(value) for key, value in dev.items() if key != PROCESSOR_KEY}
    out["aws:region"] = aws_region
    out[PROCESSOR_KEY] = json.dumps(processor)
    processor_args(out)  # every problem now, not halfway through `pulumi up`
    return out


def _config_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def processor_args(config: Mapping[str, str]) -> S3EventProcessorArgs:
    """The processor the test stack's program will declare (ConfigError lists any problem)."""
    return parse_args(json.loads(config[PROCESSOR_KEY]), "the test stack's config")


POWERTOOLS_REQUIREMENT = re.compile(r"^\s*aws-lambda-powertools\b", re.MULTILINE | re.IGNORECASE)
POWERTOOLS_LAYER = "AWSLambdaPowertoolsPython"


def needs_powertools_layer(args: S3EventProcessorArgs, root: Path) -> bool:
    """True when the function's requirements.txt names Powertools and neither its package nor a
    layer provides it: the Python runtime provides boto3 and nothing else. The component packages
    the requirements by default (`function.package_requirements`), so the dev stack as shipped
    needs no layer; a stack that turns packaging off and names no layer would fail every
    invocation with ImportModuleError."""
    f = args.function
    if f.source_dir is None or f.package_requirements or f.powertools_layer:
        return False
    requirements = root / args.function.source_dir / "requirements.txt"
    if not requirements.is_file() or not POWERTOOLS_REQUIREMENT.search(requirements.read_text()):
        return False
    return not any(POWERTOOLS_LAYER in layer for layer in args.function.layers)


def powertools_layer_parameter(args: S3EventProcessorArgs) -> str:
    """The public SSM parameter holding the latest Powertools (Python) layer ARN for this
    function's architecture and runtime (Powertools docs, "Using SSM Parameter Store")."""
    f = args.function
    return f"/aws/service/powertools/python/{f.architecture}/{f.runtime}/latest"


# --- the timing model of the wait -------------------------------------------------------------


def live_deadline_seconds(args: S3EventProcessorArgs) -> int:
    """Longest wait until a canary object is processed: S3 turns EventBridge on, the event is
    delivered, the next poller runs it, its log line is ingested."""
    poll = args.dispatch.poll_interval_minutes * 60
    return EVENTBRIDGE_ACTIVATION_SECONDS + DELIVERY_SECONDS + poll + MARGIN_SECONDS


def receive_gap_seconds(args: S3EventProcessorArgs) -> int:
    """Longest time between two receives of a failing message: it is hidden for
    `failed_retry_delay_seconds` after the failure, and the next poller to see it starts on the
    schedule's next tick (the executions before it drained the queue and ended)."""
    poll = args.dispatch.poll_interval_minutes * 60
    hidden = args.dispatch.failed_retry_delay_seconds + EXECUTION_SLACK_SECONDS
    return poll * math.ceil(hidden / poll)


def settle_deadline_seconds(args: S3EventProcessorArgs) -> int:
    """Longest wait from the uploads until the failing object is in the DLQ: delivery, the first
    poller, then `max_receive_count` gaps (receives 2 ... max_receive_count, then the receive
    that SQS answers by moving the message to the DLQ), and the margin.

    For the dev stack (retry delay 30 s, 1-minute polls, max_receive_count 5):
    90 + 60 + 5 x 60 + 120 = 570 s."""
    poll = args.dispatch.poll_interval_minutes * 60
    gaps = args.queue.max_receive_count * receive_gap_seconds(args)
    return DELIVERY_SECONDS + poll + gaps + MARGIN_SECONDS


# --- what the test uploads --------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    key: str
    body: bytes
    storage_class: str = "STANDARD"

    @property
    def digest(self) -> tuple[int, str]:
        """(size in bytes, sha256 hex): what the example handler logs for it."""
        return len(self.body), hashlib.sha256(self.body).hexdigest()


@dataclass(frozen=True)
class Plan:
    """The objects of one run, all under keys holding the run id."""

    run_id: str
    matching: tuple[Upload, ...]
    """Pass the filters and are readable: each is processed exactly once."""
    failing: Upload
    """Passes the filters, but the handler cannot read it: it ends in the DLQ."""
    outside: tuple[Upload, ...]
    """Fail the filters: they never reach the queue."""
    canary_prefix: str
    canary_suffix: str
    """Canaries (`<canary_prefix>NN<canary_suffix>`) pass the filters: the first one processed
    shows the pipeline is live."""

    def uploads(self) -> list[Upload]:
        return [*self.matching, self.failing, *self.outside]

    def canary(self, n: int) -> Upload:
        key = f"{self.canary_prefix}{n:02d}{self.canary_suffix}"
        return Upload(key, f"s3ep canary {self.run_id} {n}\n".encode())

    def is_canary(self, key: str) -> bool:
        return key.startswith(self.canary_prefix)


# The handler's GetObject on an S3 Glacier Flexible Retrieval object fails with InvalidObjectState
# until the object is restored (GetObject API reference): a realistic object the handler raises
# on, on every attempt, with no race against the pipeline (deleting an object right after its
# upload would not do: the bucket is versioned and the handler reads the event's version).
UNREADABLE_STORAGE_CLASS = "GLACIER"
# A key with a space, '+', '%' and a non-ASCII letter: whether EventBridge passes S3 keys raw or
# URL-encoded is unmeasured (docs/aws-semantics.md, E3 and note 6); encoded, it is not processed.
SPECIAL_NAME = "a b+c%20d/\u00e9"


def key_matches(key: str, prefixes: Iterable[str], suffixes: Iterable[str]) -> bool:
    """The rule's key filter: one prefix AND one suffix (an empty list matches every key)."""
    prefixes, suffixes = list(prefixes), list(suffixes)
    return (not prefixes or any(key.startswith(p) for p in prefixes)) and (
        not suffixes or any(key.endswith(s) for s in suffixes)
    )


def upload_plan(run_id: str, prefixes: list[str], suffixes: list[str], count: int = 5) -> Plan:
    """`count` plain matching objects over every prefix and suffix, one with special characters,
    one unreadable, and three that miss the filters: another prefix, another suffix, the prefix
    not at the start of the key."""
    if not prefixes or not suffixes:
        raise ValueError("the test needs a stack that filters on both prefixes and suffixes")
    p, s = prefixes[0], suffixes[0]

    def body(key: str, n: int) -> bytes:
        return f"s3ep e2e {run_id} {key}\n".encode() * (n + 1)

    keys = [
        f"{prefixes[i % len(prefixes)]}{run_id}/object-{i}{suffixes[i % len(suffixes)]}"
        for i in range(count)
    ]
    keys.append(f"{p}{run_id}/{SPECIAL_NAME}{s}")
    matching = tuple(Upload(k, body(k, i)) for i, k in enumerate(keys))
    failing_key = f"{p}{run_id}/archived{suffixes[-1]}"
    failing = Upload(failing_key, body(failing_key, 0), UNREADABLE_STORAGE_CLASS)
    outside_keys = [
        f"s3ep-elsewhere/{run_id}/object{s}",
        f"{p}{run_id}/object{s}.txt",
        f"{run_id}/{p}object{s}",
    ]
    outside = tuple(Upload(k, body(k, i)) for i, k in enumerate(outside_keys))
    plan = Plan(run_id, matching, failing, outside, f"{p}{run_id}/canary-", s)
    for upload in [*matching, failing, plan.canary(0)]:
        if not key_matches(upload.key, prefixes, suffixes):
            raise ValueError(f"{upload.key!r} should pass the filters {prefixes} {suffixes}")
    for upload in outside:
        if key_matches(upload.key, prefixes, suffixes):
            raise ValueError(f"{upload.key!r} should miss the filters {prefixes} {suffixes}")
    return plan


# --- reading what happened --------------------------------------------------------------------

PROCESSED_MESSAGE = "object processed"
SHIM_LOGGER = "s3ep_shim"
SHIM_FAILURES = ("raised", "failed")


def log_records(messages: Iterable[str]) -> list[dict[str, Any]]:
    """The handler's "object processed" records and the shim's records, from CloudWatch Logs
    event messages. Both are JSON lines on stdout; Lambda's JSON log format passes stdout lines
    through as they are, but a line wrapped as {"message": "<the line>"} is unwrapped too.
    Platform records (START, REPORT) and anything else are left out."""
    out = []
    for message in messages:
        record = _json_object(message)
        if record is not None and not _relevant(record):
            record = _json_object(record.get("message"))
        if record is not None and _relevant(record):
            out.append(record)
    return out


def _json_object(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str) or not text.strip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _relevant(record: dict[str, Any]) -> bool:
    return record.get("logger") == SHIM_LOGGER or record.get("message") == PROCESSED_MESSAGE


def processed_keys(records: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(str(r.get("key")) for r in records if r.get("message") == PROCESSED_MESSAGE)


def failed_keys(records: Iterable[dict[str, Any]]) -> Counter[str]:
    return Counter(
        str(r.get("key"))
        for r in records
        if r.get("logger") == SHIM_LOGGER and r.get("outcome") in SHIM_FAILURES
    )


def digests(records: Iterable[dict[str, Any]]) -> dict[str, list[tuple[Any, Any]]]:
    """(size, sha256) the handler logged, per key, in log order."""
    out: dict[str, list[tuple[Any, Any]]] = {}
    for r in records:
        if r.get("message") == PROCESSED_MESSAGE:
            out.setdefault(str(r.get("key")), []).append((r.get("size"), r.get("sha256")))
    return out


def body_key(body: str) -> str:
    """The object key of a queue message body (`{"s3_details": {"key": ...}}`), else the body."""
    record = _json_object(body)
    details = record.get("s3_details") if record else None
    key = details.get("key") if isinstance(details, dict) else None
    return key if isinstance(key, str) else body


class Outcome(NamedTuple):
    processed: int
    failed: int
    dead_lettered: int


def expected_outcomes(plan: Plan, max_receive_count: int) -> dict[str, Outcome]:
    """Every matching object processed once; the unreadable one tried `max_receive_count` times
    and dead-lettered once; the others untouched."""
    out = {u.key: Outcome(1, 0, 0) for u in plan.matching}
    out[plan.failing.key] = Outcome(0, max_receive_count, 1)
    out.update({u.key: Outcome(0, 0, 0) for u in plan.outside})
    return out


def outcomes(
    plan: Plan, records: Iterable[dict[str, Any]], dlq_keys: Iterable[str]
) -> dict[str, Outcome]:
    """What happened to each planned key, and to any other key of this run the logs or the DLQ
    name (a key changed on the way, e.g. URL-encoded, shows up as such an extra key). Canaries
    are left out: how many of them S3 dropped while EventBridge was turning on is not ours."""
    records = list(records)
    done, failed, dead = processed_keys(records), failed_keys(records), Counter(dlq_keys)
    keys = [u.key for u in plan.uploads()]
    # The function and the queues are this run's own: every key they name is this run's.
    extra = sorted(k for k in {*done, *failed, *dead} if k not in keys and not plan.is_canary(k))
    return {k: Outcome(done[k], failed[k], dead[k]) for k in [*keys, *extra]}
