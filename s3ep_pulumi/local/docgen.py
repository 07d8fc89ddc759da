"""Generate docs/configuration.md from the config model, so the reference never drifts.

python -m s3ep_pulumi.local.docgen          (or `make docs`)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from s3ep_pulumi.model.args import S3EventProcessorArgs

OUT = Path("docs") / "configuration.md"

HEADER = """# Configuration reference

Generated from `s3ep_pulumi/model/` by `make docs`; a test fails when this file is stale.
Write these keys under `s3ep:processor` in `stacks/Pulumi.<stack>.yaml`, or pass them to
`S3EventProcessor(name, {...})`. snake_case names are canonical; camelCase aliases are accepted.
The JSON Schema for editors is `schema/s3ep-processor.schema.json`.

Cross-field rules (all reported together, each at the field to change):

- `queue.visibility_timeout_seconds` must cover the dispatcher's worst-case in-flight time
  (default: exactly that value; see `docs/dispatch.md`).
- `bucket.versioning`, `encryption`, `kms_key_arn`, `force_destroy` are for new buckets only.
- `queue.kms_key_arn` may not be the AWS-managed `alias/aws/sqs` key.
- `function.source_dir` must exist and hold the handler's module; or set `existing_function_arn`.
- `function.provisioned_concurrency` (and the scaling ceiling) <= `reserved_concurrency`, which
  must be >= `dispatch.max_concurrency`.
- Every physical name built from `name_prefix` must fit its service's limit.
- `monitoring.alarms.kms_key_arn` may not be the AWS-managed `alias/aws/sns` key; `emails` and
  `kms_key_arn` apply only to the topic the component creates (not with `topic_arn`).
- `monitoring.dynatrace` needs a created function and room for one more layer; with
  `function.scale_on_queue_depth`, a non-zero `provisioned_concurrency` lies within min..max.
"""


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "(section)"
    elif field.default is PydanticUndefined:
        return "**required**"
    else:
        value = field.default
    if isinstance(value, str):
        return f"`{value}`"
    return f"`{json.dumps(value)}`"


def _format_type(t: Any) -> str:
    """A readable type: Annotated constraints dropped, Literals as their values."""
    origin, args = get_origin(t), get_args(t)
    if origin is Annotated:
        return _format_type(args[0])
    if origin in (Union, UnionType):
        return " or ".join(_format_type(a) for a in args)
    if origin is Literal:
        return " / ".join(f"`{a}`" for a in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_format_type(a) for a in args)}]"
    if t is type(None):
        return "null"
    return getattr(t, "__name__", str(t))


def _type(field: FieldInfo) -> str:
    return _format_type(field.annotation)


def _section(model: type[BaseModel], path: str) -> list[str]:
    title = path or "top level"
    doc = " ".join((model.__doc__ or "").split())
    lines = [
        f"## `{title}`",
        "",
        doc,
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        key = f"{path}.{name}" if path else name
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.append((annotation, key))
        description = (field.description or f"See `{key}` below.").replace("|", "\\|")
        lines.append(f"| `{name}` | {_type(field)} | {_default(field)} | {description} |")
    lines.append("")
    for sub, key in nested:
        lines += _section(sub, key)
    for name, field in model.model_fields.items():
        for arg in getattr(field.annotation, "__args__", ()):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                lines += _section(arg, f"{path}.{name}" if path else name)
    return lines


def render() -> str:
    return HEADER + "\n" + "\n".join(_section(S3EventProcessorArgs, "")).rstrip() + "\n"


DISPATCH_DOC = Path("docs") / "dispatch.md"
DIAGRAM = re.compile(r"```mermaid\nstateDiagram-v2\n.*?```\n", re.S)


def dispatch_doc(text: str, diagram: str) -> str:
    """docs/dispatch.md with its state diagram replaced by `diagram` (mermaid source)."""
    return DIAGRAM.sub(lambda _: f"```mermaid\n{diagram}```\n", text, count=1)


def main() -> None:
    from s3ep_pulumi.local.synth import definition_mermaid, synth_stack

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render())
    print(f"wrote {OUT}")
    machine = synth_stack("dev").one("aws:sfn/stateMachine:StateMachine")
    DISPATCH_DOC.write_text(
        dispatch_doc(DISPATCH_DOC.read_text(), definition_mermaid(machine.prop("definition")))
    )
    print(f"wrote {DISPATCH_DOC} (state diagram of the dev stack)")


if __name__ == "__main__":
    main()
