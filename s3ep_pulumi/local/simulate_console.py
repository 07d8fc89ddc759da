"""The terminal side of `s3ep simulate`: live progress bars per stage and the summary table."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bars
from rich.table import Table

from s3ep_pulumi.local import report
from s3ep_pulumi.local.simulate import Progress


@contextlib.contextmanager
def live_progress(console: Console) -> Iterator[Progress]:
    """Bars for the uploads, the messages reaching the queue and their handling."""
    bars = Bars(
        TextColumn("{task.description:<10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
        redirect_stdout=False,  # stdout carries the handler's logs to function.log meanwhile
        redirect_stderr=False,
    )
    upload = bars.add_task("upload", total=None, detail="")
    queue = bars.add_task("queue", total=None, detail="")
    handle = bars.add_task("dispatch", total=None, detail="")

    def update(s: dict[str, int]) -> None:
        bars.update(upload, completed=s["uploaded"], total=s["to_upload"])
        bars.update(
            queue,
            completed=s["matched"] if s["uploaded"] == s["to_upload"] else 0,
            total=s["expected"],
            detail=f"{s['to_upload'] - s['expected']} outside the filters",
        )
        bars.update(
            handle,
            completed=s["processed"] + s["dlq"],
            total=s["matched"] or s["expected"],
            detail=(
                f"in flight {s['in_flight']}/{s['limit']}  retried {s['retried']}  "
                f"DLQ {s['dlq']}  queued {s['queue']}"
            ),
        )

    with bars:
        yield Progress(update)


def summary_table(summary: report.Summary) -> Table:
    table = Table(title=f"s3ep simulate --stack {summary.stack}", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, value in report.summary_rows(summary):
        table.add_row(label, value)
    return table


def print_summary(summary: report.Summary, console: Console) -> None:
    console.print(summary_table(summary))
    problems = report.violations(summary)
    for problem in problems:
        console.print(f"[bold red]VIOLATION[/] {problem}")
    if not problems:
        console.print(
            f"[green]ok[/]: {summary.processed} processed + {summary.dead_lettered} in the DLQ "
            f"+ {summary.left_in_queue} queued = {summary.matched} matched, 0 lost"
        )


def console_for(file: IO[str]) -> Console:
    return Console(file=file, highlight=False)
