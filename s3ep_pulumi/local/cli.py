"""The `s3ep` command: offline tools around the component.

    s3ep synth --stack dev [--out out/dev]   evaluate a stack, print its resources, write files
    s3ep schema [--out PATH]                 print or write the config's JSON Schema
    s3ep check --stack dev [--policy-config F]  run the policy pack and the IAM linter offline
    s3ep simulate --stack dev [--objects 40]  run the stack's pipeline locally with its handler
    s3ep redrive --stack dev [--list | --rule-dlq]  put dead letters back in the queue
    s3ep status --stack dev [--json]          queues, alarms, executions, lease, start rate
    s3ep backfill --stack dev [--dry-run]     enqueue objects already in the bucket

Errors a user can fix are printed as one message with exit status 2, never as a traceback; so is
a missing extra (`check` needs `policy` and `local`, `simulate`, `redrive`, `status` and
`backfill` need `local`; see `extras.py`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from s3ep_pulumi.errors import S3epError
from s3ep_pulumi.local import ops_cli  # its parsers import nothing beyond the standard library
from s3ep_pulumi.local.extras import require
from s3ep_pulumi.model.args import S3EventProcessorArgs

SCHEMA_PATH = Path("schema") / "s3ep-processor.schema.json"


def config_schema() -> dict[str, Any]:
    """JSON Schema of `s3ep:processor`, for editors (by alias: camelCase names)."""
    schema = S3EventProcessorArgs.model_json_schema(by_alias=False)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "s3ep:processor"
    return schema


def schema_text() -> str:
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"


def _cmd_schema(ns: argparse.Namespace) -> int:
    if ns.out:
        Path(ns.out).parent.mkdir(parents=True, exist_ok=True)
        Path(ns.out).write_text(schema_text())
        print(f"wrote {ns.out}")
    else:
        sys.stdout.write(schema_text())
    return 0


def _cmd_synth(ns: argparse.Namespace) -> int:
    from s3ep_pulumi.local.synth import resource_rows, synth_stack, write_outputs

    capture = synth_stack(ns.stack)
    rows = resource_rows(capture)
    width = max(len(t) for t, _, _ in rows)
    print(f"stack {ns.stack}: {len(rows)} resources")
    for type_token, name, props in rows:
        print(f"  {type_token:<{width}}  {name}" + (f"  ({props})" if props else ""))
    print("outputs:")
    for key, value in sorted(capture.outputs.items()):
        print(f"  {key} = {value}")
    out = Path(ns.out or f"out/{ns.stack}")
    for path in write_outputs(capture, out):
        print(f"wrote {path}")
    return 0


def _cmd_check(ns: argparse.Namespace) -> int:
    from s3ep_pulumi.component.stack import stack_args
    from s3ep_pulumi.local.check import evaluate, read_policy_config, render
    from s3ep_pulumi.local.iam_lint import lint_capture
    from s3ep_pulumi.local.synth import synth_stack
    from s3ep_pulumi.model.resources import account_prerequisites

    capture = synth_stack(ns.stack)
    violations = evaluate(capture, read_policy_config(ns.policy_config))
    findings = lint_capture(capture)
    for line in render(violations):
        print(line)
    for f in findings:
        print(f"IAM-LINT  {f.issue}  {f.resource}: {f.detail}")
    # What the account must provide (docs/operations.md): told, never a failure.
    for p in account_prerequisites(stack_args(ns.stack)):
        print(f"WARN      {p.key}  {p.message}")
    mandatory = sum(v.mandatory for v in violations)
    print(
        f"stack {ns.stack}: {len(capture.resources)} resources, {mandatory} mandatory and "
        f"{len(violations) - mandatory} advisory violation(s), {len(findings)} IAM lint finding(s)"
    )
    return 1 if mandatory or findings else 0


def _cmd_simulate(ns: argparse.Namespace) -> int:
    from s3ep_pulumi.local.report import violations
    from s3ep_pulumi.local.simulate import Options, check_report_path, simulate, write_report
    from s3ep_pulumi.local.simulate_console import console_for, live_progress, print_summary

    if ns.report is not None:
        check_report_path(ns.report)
    opts = Options(
        stack=ns.stack,
        objects=ns.objects,
        from_dir=ns.from_dir,
        unmatched=ns.unmatched,
        fail_rate=ns.fail_rate,
        fail_keys=ns.fail_keys,
        throttle_rate=ns.throttle_rate,
        overlap=ns.overlap,
        retry_delay=ns.retry_delay,
        timeout=ns.timeout,
        seed=ns.seed,
        out=ns.out,
    )
    console = console_for(sys.stdout)
    if ns.json:
        run = simulate(opts)
    else:
        with live_progress(console) as progress:
            run = simulate(opts, progress)
    if ns.report is not None:
        write_report(run, ns.report)
    if ns.json:
        print(json.dumps(run.summary.to_json(), indent=2))
    else:
        print_summary(run.summary, console)
        console.print(f"handler logs: {run.function_log}")
        if ns.report is not None:
            console.print(f"wrote {ns.report}")
    return 1 if violations(run.summary) else 0


def _add_simulate(sub: Any) -> None:
    simulate = sub.add_parser(
        "simulate",
        help="run a stack's whole pipeline locally (moto), with its own handler",
        description=(
            "Materialise what the stack declares in an in-process AWS emulator, upload objects, "
            "run the dispatcher as the schedule would and run the function's own handler. "
            "Exit 1 when an object was lost or a guarantee broken, 2 on bad input."
        ),
    )
    simulate.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    source = simulate.add_mutually_exclusive_group()
    source.add_argument(
        "--objects", type=int, default=40, help="synthetic objects inside the filters (40)"
    )
    source.add_argument("--from-dir", type=Path, help="upload these files (under the prefix)")
    simulate.add_argument(
        "--unmatched",
        type=int,
        help="extra uploads outside the filters, to show them ignored (a tenth, at least 2)",
    )
    simulate.add_argument(
        "--fail-rate", type=float, default=0.0, help="fraction of handler calls that raise"
    )
    simulate.add_argument(
        "--fail-keys", metavar="PATTERN", help="keys (fnmatch pattern) whose calls always raise"
    )
    simulate.add_argument(
        "--throttle-rate",
        type=float,
        default=0.0,
        help="fraction of invokes refused with TooManyRequestsException",
    )
    simulate.add_argument(
        "--overlap", action="store_true", help="start a second poller while each one runs"
    )
    simulate.add_argument(
        "--retry-delay",
        type=int,
        metavar="SECONDS",
        help="override dispatch.failed_retry_delay_seconds to compress retries (shown as a "
        "deviation)",
    )
    simulate.add_argument(
        "--timeout", type=float, default=120.0, help="seconds the run may take (120)"
    )
    simulate.add_argument("--seed", type=int, default=1, help="seed of the injected failures")
    simulate.add_argument(
        "--out", type=Path, help="folder for function.log, the handler's output (out/STACK)"
    )
    simulate.add_argument("--report", type=Path, help="write a timeline: .html or .svg")
    simulate.add_argument("--json", action="store_true", help="print the summary as JSON")
    simulate.set_defaults(func=_cmd_simulate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="s3ep", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    synth = sub.add_parser("synth", help="evaluate a stack offline and show its resources")
    synth.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    synth.add_argument("--out", help="folder for the definition and diagrams (default out/STACK)")
    synth.set_defaults(func=_cmd_synth)
    schema = sub.add_parser("schema", help="print or write the config's JSON Schema")
    schema.add_argument("--out", help=f"write here instead of stdout (committed: {SCHEMA_PATH})")
    schema.set_defaults(func=_cmd_schema)
    check = sub.add_parser("check", help="run the policy pack and parliament on a stack, offline")
    check.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    check.add_argument(
        "--policy-config",
        type=Path,
        help="JSON file as for `pulumi preview --policy-config`: rule -> level or settings",
    )
    check.set_defaults(func=_cmd_check)
    _add_simulate(sub)
    ops_cli.add_parsers(sub)  # redrive, status, backfill
    return parser


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        require(ns.command)
        return int(ns.func(ns))
    except S3epError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
