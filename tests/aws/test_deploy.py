"""End to end on AWS: the dev stack deployed with the Pulumi Automation API, objects uploaded,
counts read from the function's logs and the queues, everything destroyed.

Opt-in: `pytest -m aws` (tests/conftest.py deselects `aws` tests unless `-m` names the marker).
It skips with one line without the Pulumi CLI, AWS credentials, a Pulumi backend or the project's
virtualenv. Settings, from the environment:

- AWS_PROFILE, or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN): the account;
- AWS_REGION: the region (default us-east-1);
- PULUMI_BACKEND_URL (e.g. `file://~/.pulumi-s3ep-test`), else the backend `pulumi login` chose;
  a self-managed backend also needs PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE).

The stack is `aws-test-<run id>` with `name_prefix: s3ep-t-<run id>` (e2e.py, `stack_config`):
the dev stack's settings otherwise, its retry delay and max_receive_count included, so the wait
is derived from them (`e2e.settle_deadline_seconds`: 570 s for dev). The whole run takes about
12 to 25 minutes: deploy, up to 9.5 minutes until S3's EventBridge delivery is live, up to
9.5 minutes for the failing object's five receives, destroy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import BotoCoreError, ClientError
from e2e import (
    CANARY_INTERVAL_SECONDS,
    PULUMI_CLI_MISSING,
    Plan,
    Upload,
    backend_missing,
    body_key,
    credentials_missing,
    digests,
    expected_outcomes,
    failed_keys,
    live_deadline_seconds,
    log_records,
    needs_powertools_layer,
    new_run_id,
    one_line,
    outcomes,
    passphrase_missing,
    powertools_layer_parameter,
    processed_keys,
    processor_args,
    region,
    settle_deadline_seconds,
    stack_config,
    stack_name,
    upload_plan,
    venv_missing,
)
from helpers import ROOT
from pulumi import automation as auto

from s3ep_pulumi.component.stack import read_stack_config
from s3ep_pulumi.model.args import S3EventProcessorArgs

pytestmark = pytest.mark.aws

# Seconds between two looks at the logs and the queues.
POLL_SECONDS = 15
# Modules the stack program imports, which the project's virtualenv must hold.
PROGRAM_MODULES = ("pulumi", "pulumi_aws", "pydantic", "yaml")


def say(line: str) -> None:
    """Progress on stdout: live with `-s`, in the report's captured output otherwise."""
    print(f"[aws] {line}", flush=True)


# --- prerequisites ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    session: boto3.Session
    account_id: str
    region: str


def aws_account() -> Account:
    """The account the credentials name, or skip."""
    session = boto3.Session(region_name=region(os.environ))
    try:
        identity = session.client("sts").get_caller_identity()
    except (BotoCoreError, ClientError) as error:
        pytest.skip(credentials_missing(error))
    return Account(session, identity["Account"], session.region_name)


def project_venv_ready(root: Path) -> bool:
    """Pulumi.yaml runs the program in `<root>/.venv`; it must import the program's modules."""
    python = root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if not python.is_file():
        return False
    check = (
        "import importlib.util as u, sys; "
        f"sys.exit(any(u.find_spec(m) is None for m in {PROGRAM_MODULES!r}))"
    )
    return subprocess.run([str(python), "-c", check], cwd=root, check=False).returncode == 0


def pulumi_workspace() -> auto.LocalWorkspace:
    """A LocalWorkspace on the project itself (Pulumi.yaml, __main__.py, stacks/) and a backend
    that can hold the test stack, or skip."""
    try:
        # No project_settings: LocalWorkspace would rewrite the project's Pulumi.yaml with them.
        workspace = auto.LocalWorkspace(work_dir=str(ROOT))
    except auto.InvalidVersionError as error:
        pytest.skip(f"{PULUMI_CLI_MISSING} ({one_line(error)})")
    try:
        who = workspace.who_am_i()
    except auto.CommandError as error:
        pytest.skip(backend_missing(error))
    if (missing := passphrase_missing(who.url, os.environ)) is not None:
        pytest.skip(missing)
    return workspace


# --- the deployed stack -----------------------------------------------------------------------


@dataclass(frozen=True)
class Deployed:
    run_id: str
    stack: auto.Stack
    account: Account
    args: S3EventProcessorArgs
    outputs: dict[str, Any]


def powertools_layers(account: Account, args: S3EventProcessorArgs) -> list[str]:
    """The Powertools layer the dev stack lacks (see `e2e.needs_powertools_layer`), resolved
    from its public SSM parameter in this region; none if the stack already has one."""
    if not needs_powertools_layer(args, ROOT):
        return []
    name = powertools_layer_parameter(args)
    arn: str = account.session.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    say(f"the dev stack has no Powertools layer; the test stack adds {arn} ({name})")
    return [arn]


@pytest.fixture
def deployed() -> Iterator[Deployed]:
    """The dev stack's config deployed as `aws-test-<run id>`; destroyed and removed afterwards,
    whatever happened. A stack left behind is listed, with the commands that finish the job."""
    if shutil.which("pulumi") is None:
        pytest.skip(PULUMI_CLI_MISSING)
    account = aws_account()
    if not project_venv_ready(ROOT):
        pytest.skip(venv_missing(ROOT / ".venv"))
    workspace = pulumi_workspace()
    run_id = new_run_id()
    dev = read_stack_config("dev", ROOT / "stacks")
    # Built twice: whether the function lacks a layer is a question about the first one.
    layers = powertools_layers(account, processor_args(stack_config(dev, run_id, account.region)))
    config = stack_config(dev, run_id, account.region, layers)
    args = processor_args(config)
    name = stack_name(run_id)
    # `create`, not `create_or_select`: a stack of that name already there is not this run's,
    # and the teardown below must never destroy it.
    stack = auto.Stack.create(name, workspace)
    try:
        stack.set_all_config({key: auto.ConfigValue(value) for key, value in config.items()})
        say(f"deploying stack {name} into account {account.account_id}, {account.region}")
        result = stack.up(on_output=say, color="never")
        outputs = {key: value.value for key, value in result.outputs.items()}
        yield Deployed(run_id, stack, account, args, outputs)
    finally:
        tear_down(stack)


def tear_down(stack: auto.Stack) -> None:
    """Destroy every resource, then remove the stack and its stacks/Pulumi.<stack>.yaml. If
    something cannot be deleted, list it and keep the stack (its state is what a later
    `pulumi destroy` needs), and fail the test."""
    say(f"destroying stack {stack.name}")
    try:
        stack.destroy(on_output=say, color="never", continue_on_error=True)
    except auto.CommandError as error:
        say(f"pulumi destroy failed for stack {stack.name}: {one_line(error)[-2000:]}")
        left = leftovers(stack)
        if left:
            for line in left:
                say(f"  not deleted: {line}")
            say(
                f"  finish with: pulumi destroy --stack {stack.name} --cwd {ROOT} --yes && "
                f"pulumi stack rm {stack.name} --cwd {ROOT} --yes"
            )
            raise RuntimeError(
                f"stack {stack.name}: {len(left)} resource(s) not deleted (listed above); "
                "the stack is kept so that `pulumi destroy` can finish"
            ) from error
    try:
        stack.workspace.remove_stack(stack.name)
    except auto.CommandError as error:
        say(f"destroyed, but could not remove stack {stack.name}: {one_line(error)}")
        raise
    # `pulumi stack rm` deletes stacks/Pulumi.<stack>.yaml itself; this only makes sure.
    (ROOT / "stacks" / f"Pulumi.{stack.name}.yaml").unlink(missing_ok=True)
    say(f"destroyed and removed stack {stack.name}")


def leftovers(stack: auto.Stack) -> list[str]:
    """`<type> <physical id>` of every resource still in the stack's state."""
    try:
        state = stack.export_stack().deployment or {}
    except auto.CommandError as error:
        return [f"(could not read the stack's state: {one_line(error)})"]
    out = []
    for resource in state.get("resources", []):
        kind = resource.get("type", "")
        if kind == "pulumi:pulumi:Stack" or kind.startswith("pulumi:providers:"):
            continue
        out.append(f"{kind} {resource.get('id') or resource.get('urn')}")
    return out


# --- looking at the pipeline ------------------------------------------------------------------


class Pipeline:
    """The deployed pipeline, as the test sees it: the bucket, the queues, the function's logs."""

    def __init__(self, deployed: Deployed) -> None:
        session, names = deployed.account.session, deployed.args.names
        self.s3 = session.client("s3")
        self.sqs = session.client("sqs")
        self.logs = session.client("logs")
        self.bucket = deployed.outputs["bucket_name"]
        self.queue_url = deployed.outputs["queue_url"]
        self.dlq_url = deployed.outputs["dlq_url"]
        self.rule_dlq_url = self.sqs.get_queue_url(QueueName=names.rule_dlq)["QueueUrl"]
        self.log_group = names.function_log_group
        self.since_ms = int(time.time() * 1000)

    def put(self, upload: Upload) -> None:
        self.s3.put_object(
            Bucket=self.bucket,
            Key=upload.key,
            Body=upload.body,
            StorageClass=upload.storage_class,
        )

    def messages(self) -> list[str]:
        """Every event message of the function's log group since the test started."""
        pages = self.logs.get_paginator("filter_log_events").paginate(
            logGroupName=self.log_group, startTime=self.since_ms
        )
        return [event["message"] for page in pages for event in page.get("events", [])]

    def records(self) -> list[dict[str, Any]]:
        return log_records(self.messages())

    def counts(self, url: str) -> dict[str, int]:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
        values = attributes.get("Attributes", {})
        return {"visible": int(values.get(names[0], 0)), "in_flight": int(values.get(names[1], 0))}

    def depth(self, url: str) -> int:
        return sum(self.counts(url).values())

    def dead_letters(self) -> list[str]:
        """The key of every message in the DLQ (received, so hidden for 10 minutes: the queue
        is destroyed next)."""
        keys: list[str] = []
        for _ in range(20):  # at most 200 messages: far more than a run can dead-letter
            received = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=5,
                VisibilityTimeout=600,
            ).get("Messages", [])
            if not received:
                break
            keys.extend(body_key(m["Body"]) for m in received)
        return keys

    def diagnosis(self) -> str:
        """What the queues and the logs show, for a failure message."""
        errors = [m.strip() for m in self.messages() if "error" in m.lower()][-5:]
        return (
            f"queue {self.counts(self.queue_url)}, DLQ {self.counts(self.dlq_url)}, rule DLQ "
            f"{self.counts(self.rule_dlq_url)} (EventBridge could not send to the queue); "
            f"last error lines of {self.log_group}: {errors or 'none'}"
        )


def wait_until_live(pipeline: Pipeline, plan: Plan, deadline: int) -> float:
    """Upload a canary every CANARY_INTERVAL_SECONDS until one is processed; return the seconds
    it took. S3 drops a new bucket's events while its EventBridge delivery turns on."""
    start = time.monotonic()
    uploaded = 0
    next_canary = start
    while True:
        now = time.monotonic()
        if now >= next_canary:
            pipeline.put(plan.canary(uploaded))
            uploaded += 1
            next_canary = now + CANARY_INTERVAL_SECONDS
        if any(plan.is_canary(key) for key in processed_keys(pipeline.records())):
            return now - start
        if now - start > deadline:
            pytest.fail(
                f"none of {uploaded} canaries under {plan.canary_prefix} was processed within "
                f"{deadline} s: S3 -> EventBridge -> SQS -> dispatcher -> function is not "
                f"working. {pipeline.diagnosis()}. A DLQ message with attribute s3ep-reason "
                "'not an S3 event' means the rule's bodies differ from BODY_SHAPE "
                "(docs/aws-semantics.md, note 7)."
            )
        time.sleep(POLL_SECONDS)


def wait_until_settled(
    pipeline: Pipeline, plan: Plan, max_receive_count: int, deadline: int
) -> None:
    """Until every matching object is processed, the failing one has failed max_receive_count
    times and sits in the DLQ, and the queue is empty; or until the deadline (the assertions
    then say what is missing)."""
    start = time.monotonic()
    expected = {u.key for u in plan.matching}
    while True:
        records = pipeline.records()
        done, failed = processed_keys(records), failed_keys(records)
        queued, dead = pipeline.depth(pipeline.queue_url), pipeline.counts(pipeline.dlq_url)
        elapsed = time.monotonic() - start
        say(
            f"+{elapsed:.0f} s: processed {len(expected & set(done))}/{len(expected)}, "
            f"failing object failed {failed[plan.failing.key]}/{max_receive_count}, "
            f"queue {queued}, DLQ {dead['visible']}"
        )
        if (
            expected <= set(done)
            and failed[plan.failing.key] >= max_receive_count
            and dead["visible"] >= 1
            and queued == 0
        ):
            return
        if elapsed > deadline:
            say(f"not settled within {deadline} s")
            return
        time.sleep(POLL_SECONDS)


def test_the_dev_stack_processes_each_matching_upload_once_and_dead_letters_the_unreadable_one(
    deployed: Deployed,
) -> None:
    # GIVEN the dev stack deployed in the account the credentials name, its pipeline live
    d = deployed
    assert d.outputs["function_arn"].split(":")[4] == d.account.account_id
    assert d.outputs["bucket_name"] == d.args.names.bucket
    pipeline = Pipeline(d)
    bucket, mrc = d.args.bucket, d.args.queue.max_receive_count
    plan = upload_plan(d.run_id, bucket.prefixes, bucket.suffixes)
    live = wait_until_live(pipeline, plan, live_deadline_seconds(d.args))
    say(f"pipeline live after {live:.0f} s")

    # WHEN objects are uploaded: matching, one the handler cannot read, and three outside
    for upload in plan.uploads():
        pipeline.put(upload)
    wait_until_settled(pipeline, plan, mrc, settle_deadline_seconds(d.args))

    # THEN each matching object was read and hashed exactly once, the unreadable one failed on
    # each of its max_receive_count receives and is the DLQ's only message, the others never
    # reached the queue, and nothing is left in the queue or in the rule's DLQ
    records, dead_letters = pipeline.records(), pipeline.dead_letters()
    assert outcomes(plan, records, dead_letters) == expected_outcomes(plan, mrc), (
        "Outcome(processed, failed, dead_lettered) per key, from the function's log group and "
        f"the DLQ. {pipeline.diagnosis()}. A key with special characters seen under another "
        "spelling means EventBridge encodes keys (docs/aws-semantics.md, E3 and note 6)."
    )
    logged = digests(records)
    assert {u.key: logged.get(u.key) for u in plan.matching} == {
        u.key: [u.digest] for u in plan.matching
    }, "(size, sha256) the handler logged for each object, against what was uploaded"
    assert sorted(dead_letters) == [plan.failing.key]
    # the shim's record of each failure carries the handler's error
    reasons = {r.get("message", "") for r in records if r.get("key") == plan.failing.key}
    assert reasons and all("InvalidObjectState" in reason for reason in reasons), reasons
    assert pipeline.depth(pipeline.queue_url) == 0
    assert pipeline.depth(pipeline.rule_dlq_url) == 0
