"""The operations commands of `s3ep` against a deployed stack: `redrive`, `status`, `backfill`.

Each reads the stack's config and outputs (`stack_outputs.load`), calls AWS inside
`aws_errors()` and prints with rich; a problem the user can fix is an `S3epError` (one line,
exit status 2, printed by `cli.main`).
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # rich comes with the `local` extra; `s3ep --help` must work without it
    from rich.console import Console
    from rich.progress import Progress

    from s3ep_pulumi.local.stack_outputs import Deployed

CONSOLE_WIDTH = 100  # when stdout is not a terminal (CI logs, tests, README samples)


def console() -> Console:
    from rich.console import Console

    return Console(file=sys.stdout, width=None if sys.stdout.isatty() else CONSOLE_WIDTH)


def bars(out: Console) -> Progress:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=out,
        transient=False,
    )


def _deployed(ns: argparse.Namespace) -> Deployed:
    from s3ep_pulumi.local import stack_outputs

    return stack_outputs.load(ns.stack, ns.outputs, ns.stacks_dir)


# --- redrive ------------------------------------------------------------------------------------


def cmd_redrive(ns: argparse.Namespace) -> int:
    from rich.table import Table

    from s3ep_pulumi.local import redrive
    from s3ep_pulumi.local.stack_outputs import aws_errors

    deployed = _deployed(ns)
    out = console()
    with aws_errors():
        if ns.list:
            letters = redrive.list_dead_letters(deployed)
            table = Table(title=f"{deployed.names.dlq}: {len(letters)} message(s) would move")
            for column in ("key", "failures logged", "last error"):
                table.add_column(column)
            for d in letters:
                table.add_row(d.key or "(not an S3 event)", str(d.failures), d.last_error or "")
            out.print(table)
            return 0
        if ns.rule_dlq:
            with bars(out) as progress:
                bar = progress.add_task("resend", total=None, detail="rule DLQ -> queue")
                done = redrive.resend_rule_dlq(
                    deployed, lambda sent: progress.update(bar, completed=sent)
                )
                progress.update(bar, total=done.sent, completed=done.sent)
            out.print(
                f"resent {done.sent} event(s) from {deployed.names.rule_dlq} to "
                f"{deployed.names.queue}; {done.kept} left (not S3 events)"
            )
            return 0
        if redrive.waiting(deployed.output("dlq_url")) == 0:
            out.print(f"nothing to redrive: {deployed.names.dlq} is empty")
            return 0
        if not ns.force:
            redrive.refuse_if_failing(deployed)
        redrive.start_redrive(deployed, ns.max_per_second)
        with bars(out) as progress:
            bar = progress.add_task("redrive", total=None, detail="DLQ -> queue")

            def update(moved: int, total: int) -> None:
                progress.update(bar, completed=moved, total=total)

            task = redrive.wait_for_task(deployed.output("dlq_arn"), update)
        out.print(
            f"moved {task.get('ApproximateNumberOfMessagesMoved', 0)} message(s) from "
            f"{deployed.names.dlq} back to {deployed.names.queue} ({task['Status']})"
        )
    return 0


# --- status -------------------------------------------------------------------------------------


def _age(seconds: float | None) -> str:
    return "no data" if seconds is None else f"{seconds:.0f} s"


def cmd_status(ns: argparse.Namespace) -> int:
    import json

    from rich.table import Table

    from s3ep_pulumi.local.stack_outputs import aws_errors
    from s3ep_pulumi.local.status import RATE_WINDOW_SECONDS, status

    deployed = _deployed(ns)
    with aws_errors():
        now = status(deployed)
    if ns.json:
        print(json.dumps(now.to_json(), indent=2))
        return 0
    out = console()
    queues = Table(title=f"stack {now.stack}: queues")
    for column in ("queue", "name", "visible", "in flight", "oldest message"):
        queues.add_column(column)
    for q in now.queues:
        age = _age(q.oldest_age_seconds) if q.role == "queue" else ""
        queues.add_row(q.role, q.name, str(q.visible), str(q.in_flight), age)
    out.print(queues)
    alarms = Table(title="alarms")
    for column in ("alarm", "state", "reason"):
        alarms.add_column(column)
    for a in now.alarms:
        state = f"[bold red]{a.state}[/]" if a.state == "ALARM" else a.state
        alarms.add_row(a.name, state, a.reason)
    out.print(alarms)
    endings = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in now.endings.items())
    if now.engine == "event_source_mapping":
        out.print(f"dispatcher: {now.executions_note}")
        m = now.mapping
        out.print(
            "event source mapping: "
            + (
                f"{m['uuid']} {m['state']}, last result {m['last_processing_result']}, "
                f"batch {m['batch_size']}, at most {m['maximum_concurrency']} at once"
                if m is not None
                else "no event_source_mapping_uuid output: deploy the stack with `pulumi up`"
            )
        )
    elif now.executions is None:
        out.print(f"dispatcher executions: {now.executions_note}")
    else:
        runs = Table(title=f"dispatcher executions ({now.workflow_type}, most recent first)")
        for column in ("execution", "status", "started", "stopped"):
            runs.add_column(column)
        for e in now.executions:
            runs.add_row(e.name, e.status, e.started, e.stopped or "")
        out.print(runs)
    if now.engine != "event_source_mapping":
        out.print(f"endings, last 15 min (AWS/States): {endings}")
        out.print(f"lease: {now.lease}")
    configured = (
        f"{now.configured_rate:g}/s configured"
        if now.configured_rate is not None
        else f"no rate limit (max_concurrency {now.max_concurrency})"
    )
    out.print(
        f"start rate, last {RATE_WINDOW_SECONDS // 60} min: {now.achieved_rate:.2f}/s achieved "
        f"({now.invocations} invocations), {configured}"
    )
    return 0


# --- backfill -----------------------------------------------------------------------------------


def _since(text: str) -> datetime.datetime:
    """--since: an ISO date or time, UTC unless it says otherwise."""
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or time (e.g. 2026-11-01 or 2026-11-01T12:00:00Z)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=datetime.UTC)


def cmd_backfill(ns: argparse.Namespace) -> int:
    from s3ep_pulumi.local import backfill
    from s3ep_pulumi.local.stack_outputs import aws_errors

    deployed = _deployed(ns)
    out = console()
    with aws_errors():
        plan = backfill.plan(deployed, ns.prefix, ns.since)
        where = ", ".join(f"s3://{plan.bucket}/{p}" for p in plan.listing_prefixes)
        if ns.distributed:
            arns = backfill.start_distributed(deployed, plan)
            for arn in arns:
                out.print(f"started {arn}")
            out.print(
                f"the Distributed Map enqueues {where}; follow it in the Step Functions console"
            )
            return 0
        path = ns.checkpoint or backfill.checkpoint_path(deployed.stack)
        checkpoint = backfill.Checkpoint.open(path, plan, ns.restart)
        if checkpoint.entry["done"]:
            out.print(
                f"nothing to do: this backfill of {where} finished "
                f"({checkpoint.entry['enqueued']} enqueued); --restart runs it again"
            )
            return 0
        todo = backfill.count(deployed, plan, checkpoint.entry["after"])
        resumed = checkpoint.entry["enqueued"]
        if ns.dry_run:
            out.print(
                f"{todo} object(s) of {where} would be enqueued to {deployed.names.queue}"
                + (f" (resuming: {resumed} already enqueued)" if resumed else "")
                + f", {plan.duration_text(todo)}; the queue kept at or below {plan.high_water} "
                "visible message(s)"
                + (
                    f" (queue-depth alarm at {plan.alarm_threshold:g})"
                    if plan.alarm_threshold is not None
                    else ""
                )
            )
            return 0
        with bars(out) as progress:
            bar = progress.add_task("backfill", total=todo, detail="")

            def update(state: backfill.Progress) -> None:
                detail = f"waiting: queue at {plan.high_water}" if state.waiting else ""
                progress.update(bar, completed=state.enqueued, detail=detail)

            sent = backfill.enqueue(deployed, plan, checkpoint, update)
        out.print(
            f"enqueued {sent} object(s) of {where} to {deployed.names.queue}"
            + (f" ({resumed + sent} in all, resumed)" if resumed else "")
            + f"; checkpoint {path}"
        )
    return 0


# --- parsers ------------------------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    parser.add_argument(
        "--outputs",
        type=Path,
        help="the stack's outputs (`pulumi stack output --json > FILE`); default: ask Pulumi",
    )
    parser.add_argument(
        "--stacks-dir", type=Path, default=Path("stacks"), help="folder of the stack files"
    )


def add_parsers(sub: Any) -> None:
    redrive = sub.add_parser(
        "redrive",
        help="move the DLQ's messages back to the queue (SQS redrive), or resend the rule DLQ",
        description=(
            "Start SQS's redrive of the queue's DLQ back to the queue and show its progress; "
            "refused while the function-errors or dispatcher-executions-failed alarm fires."
        ),
    )
    _common(redrive)
    redrive.add_argument(
        "--max-per-second", type=int, help="SQS's move rate (1-500; default: SQS chooses)"
    )
    mode = redrive.add_mutually_exclusive_group()
    mode.add_argument(
        "--list", action="store_true", help="move nothing: show keys and their last errors"
    )
    mode.add_argument(
        "--rule-dlq",
        action="store_true",
        help="resend the rule DLQ's parked S3 events to the queue, shaped as the rule shapes them",
    )
    redrive.add_argument(
        "--force", action="store_true", help="redrive even while a blocking alarm fires"
    )
    redrive.set_defaults(func=cmd_redrive)

    status = sub.add_parser(
        "status",
        help="queue depths, alarms, executions, the lease and the start rate of a stack",
        description="Read a deployed stack's queues, alarms, dispatcher and rate, for on-call.",
    )
    _common(status)
    status.add_argument("--json", action="store_true", help="print the figures as JSON")
    status.set_defaults(func=cmd_status)

    backfill = sub.add_parser(
        "backfill",
        help="enqueue objects already in the bucket, as the rule would have",
        description=(
            "Send the bucket's existing objects that pass the stack's filters to its queue, in "
            "the rule's message shape, paced so the queue-depth alarm stays quiet; resumable."
        ),
    )
    _common(backfill)
    backfill.add_argument("--prefix", help="only keys under this prefix (within the stack's)")
    backfill.add_argument(
        "--since", type=_since, help="only objects modified at or after this ISO date/time (UTC)"
    )
    backfill.add_argument(
        "--dry-run", action="store_true", help="count the objects and the time; send nothing"
    )
    backfill.add_argument(
        "--checkpoint", type=Path, help="checkpoint file (default .s3ep/backfill-STACK.json)"
    )
    backfill.add_argument(
        "--restart", action="store_true", help="ignore the checkpoint: start from the first key"
    )
    backfill.add_argument(
        "--distributed",
        action="store_true",
        help="start the stack's Distributed Map backfill (backfill.enabled) instead",
    )
    backfill.set_defaults(func=cmd_backfill)
