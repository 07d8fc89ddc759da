"""`s3ep synth`: evaluate a stack offline and show what it would create.

Pure renderers (resource tree rows, mermaid diagrams) plus one function that runs the stack's
program under recording mocks with the stack file's config.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from s3ep_pulumi.component import stack as stack_module
from s3ep_pulumi.component.processor import TYPE_TOKEN
from s3ep_pulumi.local.capture import Capture, Recorded, run_program

MAPPING_TYPE = "aws:lambda/eventSourceMapping:EventSourceMapping"
# Properties worth one glance per resource type (wire names, as the engine sees them).
KEY_PROPERTIES: dict[str, tuple[str, ...]] = {
    "aws:s3/bucket:Bucket": ("bucket", "forceDestroy"),
    "aws:sqs/queue:Queue": (
        "name",
        "visibilityTimeoutSeconds",
        "messageRetentionSeconds",
        "sqsManagedSseEnabled",
        "kmsMasterKeyId",
    ),
    "aws:cloudwatch/eventRule:EventRule": ("name",),
    "aws:cloudwatch/eventTarget:EventTarget": ("targetId",),
    "aws:lambda/function:Function": ("name", "runtime", "handler", "memorySize", "timeout"),
    "aws:sfn/stateMachine:StateMachine": ("name", "type"),
    MAPPING_TYPE: ("batchSize", "functionResponseTypes"),
    "aws:iam/role:Role": ("name",),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:scheduler/schedule:Schedule": ("name", "scheduleExpression"),
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": (
        "provisionedConcurrentExecutions",
    ),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("name", "metricName", "threshold"),
    "aws:sns/topic:Topic": ("name",),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName",),
    "aws:appautoscaling/target:Target": ("resourceId", "minCapacity", "maxCapacity"),
    "aws:appautoscaling/policy:Policy": ("name", "policyType"),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": ("name", "destination"),
    "aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter": ("logGroup",),
}


def synth_stack(stack: str) -> Capture:
    """Run this project's stack program for `stack` under mocks."""
    config = stack_module.read_stack_config(stack)
    return run_program(stack_module.program, stack=stack, config=config)


def resource_rows(capture: Capture) -> list[tuple[str, str, str]]:
    """(type, logical name, key properties) for every declared resource."""
    rows = []
    for r in capture.resources:
        keys = KEY_PROPERTIES.get(r.type, ())
        props = ", ".join(f"{k}={r.inputs[k]}" for k in keys if r.inputs.get(k) is not None)
        rows.append((r.type, r.name, props))
    return rows


def state_machine_definition(capture: Capture) -> dict[str, Any]:
    machine: Recorded = capture.dispatcher()
    definition: dict[str, Any] = machine.prop("definition")
    return definition


def pipeline_mermaid(capture: Capture) -> str:
    """The pipeline as declared: each box shows a recorded resource's physical name."""

    component = capture.one(TYPE_TOKEN).name

    def physical(type_token: str, role: str = "") -> str:
        """Physical name of the child `<component><role>` (any child of the type if no role)."""
        for r in capture.of_type(type_token):
            if not role or r.name == f"{component}{role}":
                return str(r.inputs.get("name") or r.inputs.get("bucket"))
        return "(existing)"

    queue = "aws:sqs/queue:Queue"
    bucket = physical("aws:s3/bucket:Bucket")
    if bucket == "(existing)":
        bucket = str(capture.outputs.get("bucket_name", bucket))
    function = capture.outputs.get("function_name", "function")
    mappings = capture.of_type(MAPPING_TYPE)
    if mappings:  # the event source mapping engine
        concurrency = (mappings[0].inputs.get("scalingConfig") or {}).get("maximumConcurrency")
        drain = [
            f'  Q -->|"event source mapping<br/>at most {concurrency} at once"| L["Lambda<br/>'
            f'{function}"]',
        ]
    else:
        drain = [
            f'  SCH["Scheduler<br/>{physical("aws:scheduler/schedule:Schedule")}"] -->|starts| SF',
            f'  Q -->|receive / delete| SF["Step Functions dispatcher<br/>'
            f'{physical("aws:sfn/stateMachine:StateMachine")}"]',
            f'  SF -->|staggered invoke| L["Lambda<br/>{function}"]',
        ]
    return (
        "\n".join(
            [
                "flowchart LR",
                f'  S3["S3 bucket<br/>{bucket}"] -->|object events| EB["EventBridge rule<br/>'
                f'{physical("aws:cloudwatch/eventRule:EventRule")}"]',
                f'  EB -->|input transformer| Q["SQS queue<br/>{physical(queue, "-queue")}"]',
                f'  EB -.->|undeliverable| RDLQ["rule DLQ<br/>{physical(queue, "-rule-dlq")}"]',
                f'  Q -.->|maxReceiveCount| DLQ["DLQ<br/>{physical(queue, "-dlq")}"]',
                *drain,
            ]
        )
        + "\n"
    )


def definition_mermaid(definition: dict[str, Any]) -> str:
    """A state diagram of an ASL definition, Map iterations as nested states."""
    lines = ["stateDiagram-v2"]

    def walk(states: dict[str, Any], start: str, indent: str) -> None:
        lines.append(f"{indent}[*] --> {start}")
        for name, state in states.items():
            targets = []
            if "Next" in state:
                targets.append((state["Next"], ""))
            for choice in state.get("Choices", []):
                targets.append((choice["Next"], "match"))
            if "Default" in state:
                targets.append((state["Default"], "default"))
            for catch in state.get("Catch", []):
                targets.append((catch["Next"], "catch"))
            for target, label in targets:
                lines.append(f"{indent}{name} --> {target}" + (f": {label}" if label else ""))
            if state.get("End") or state["Type"] in ("Succeed", "Fail"):
                lines.append(f"{indent}{name} --> [*]")
            if state["Type"] == "Map":
                proc = state["ItemProcessor"]
                lines.append(f"{indent}state {name} {{")
                walk(proc["States"], proc["StartAt"], indent + "  ")
                lines.append(f"{indent}}}")

    walk(definition["States"], definition["StartAt"], "  ")
    return "\n".join(lines) + "\n"


def write_outputs(capture: Capture, out_dir: Path) -> list[Path]:
    """Write the definition and its diagram (with the dispatcher), the pipeline diagram and the
    resource list; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    if not capture.of_type(MAPPING_TYPE):
        definition = state_machine_definition(capture)
        files["state-machine.asl.json"] = json.dumps(definition, indent=2) + "\n"
        files["state-machine.mmd"] = definition_mermaid(definition)
    files |= {
        "pipeline.mmd": pipeline_mermaid(capture),
        "resources.json": json.dumps(
            [{"type": t, "name": n, "properties": p} for t, n, p in resource_rows(capture)],
            indent=2,
        )
        + "\n",
    }
    paths = []
    for filename, text in files.items():
        path = out_dir / filename
        path.write_text(text)
        paths.append(path)
    return paths
