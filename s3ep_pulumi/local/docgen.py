"""Generate docs/configuration.md from the config model, so the reference never drifts.

python -m s3ep_pulumi.local.docgen          (or `make docs`)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.rules import RULES

OUT = Path("docs") / "configuration.md"

HEADER = """# Configuration reference

Generated from `s3ep_pulumi/model/` by `make docs`; a test fails when this file is stale.
Write these keys under `s3ep:processor` in `stacks/Pulumi.<stack>.yaml`, or pass them to
`S3EventProcessor(name, {...})`. snake_case names are canonical; camelCase aliases are accepted.
The JSON Schema for editors is `schema/s3ep-processor.schema.json`.

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


def _sections(model: type[BaseModel], path: str = "") -> Iterator[tuple[str, type[BaseModel]]]:
    """Every section model under `model` with its dotted path, depth first, each once."""
    yield path, model
    for name, field in model.model_fields.items():
        key = f"{path}.{name}" if path else name
        annotation = field.annotation
        for arg in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _sections(arg, key)


def _first_paragraph(doc: str | None, where: str) -> str:
    if not doc:
        raise ValueError(f"{where} has no docstring: every rule needs one for the reference")
    return " ".join(doc.split("\n\n")[0].split())


def rule_lines() -> list[str]:
    """One line per rule of the model: each section's own validators (their docstrings), then
    the cross-field rules of `model.rules` (their summaries), in the order they run."""
    paths: dict[Any, list[str]] = {}  # validator function -> the sections it checks
    for path, model in _sections(S3EventProcessorArgs):
        if model is S3EventProcessorArgs:
            continue  # its one validator runs model.rules, listed below
        for decorator in model.__pydantic_decorators__.model_validators.values():
            paths.setdefault(decorator.func, []).append(path)
    lines: list[str] = []
    for func, where in paths.items():
        text = _first_paragraph(func.__doc__, func.__qualname__)
        parents = {w.rsplit(".", 1)[0] for w in where}
        place = f"{parents.pop()}.*" if len(where) > 1 and len(parents) == 1 else ", ".join(where)
        lines.append(f"- `{place}`: {text}")
    lines += [f"- {r.summary}" for r in RULES]
    return lines


def render() -> str:
    rules = "\n".join(
        [
            "Rules across fields (all reported together, each at the field to change):",
            "",
            *rule_lines(),
            "",
        ]
    )
    body = "\n".join(_section(S3EventProcessorArgs, "")).rstrip()
    return HEADER + "\n" + rules + "\n" + body + "\n"


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
