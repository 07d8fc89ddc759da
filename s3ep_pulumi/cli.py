"""The `s3ep` command: offline tools around the component.

    s3ep synth --stack dev [--out out/dev]   evaluate a stack, print its resources, write files
    s3ep schema [--out PATH]                 print or write the config's JSON Schema
    s3ep check --stack dev [--policy-config F]  run the policy pack and the IAM linter offline

Errors a user can fix are printed as one message with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from s3ep_pulumi.config import S3EventProcessorArgs
from s3ep_pulumi.errors import S3epError

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
    from s3ep_pulumi.synth import resource_rows, synth_stack, write_outputs

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
    from s3ep_pulumi.check import evaluate, read_policy_config, render
    from s3ep_pulumi.iam_lint import lint_capture
    from s3ep_pulumi.synth import synth_stack

    capture = synth_stack(ns.stack)
    violations = evaluate(capture, read_policy_config(ns.policy_config))
    findings = lint_capture(capture)
    for line in render(violations):
        print(line)
    for f in findings:
        print(f"IAM-LINT  {f.issue}  {f.resource}: {f.detail}")
    mandatory = sum(v.mandatory for v in violations)
    print(
        f"stack {ns.stack}: {len(capture.resources)} resources, {mandatory} mandatory and "
        f"{len(violations) - mandatory} advisory violation(s), {len(findings)} IAM lint finding(s)"
    )
    return 1 if mandatory or findings else 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        return int(ns.func(ns))
    except S3epError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
