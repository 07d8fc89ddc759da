"""The stack program: one processor per stack, configured under `s3ep:processor` in
`stacks/Pulumi.<stack>.yaml`. `__main__.py` calls `program()`; `s3ep synth` runs the same
function under mocks with the stack file's config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import yaml
from pydantic import ValidationError

from s3ep_pulumi.component.processor import S3EventProcessor
from s3ep_pulumi.errors import ConfigError
from s3ep_pulumi.model.args import S3EventProcessorArgs

CONFIG_NAMESPACE = "s3ep"
CONFIG_KEY = "processor"
STACKS_DIR = Path("stacks")


def format_validation_error(error: ValidationError, source: str) -> str:
    """One readable block: each problem on its own line, with its dotted field path."""
    lines = [f"{source}: {error.error_count()} configuration problem(s):"]
    for e in error.errors(include_url=False):
        path = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  - {path}: {e['msg']}")
    return "\n".join(lines)


def parse_args(raw: Any, source: str) -> S3EventProcessorArgs:
    """Validate raw config; raise ConfigError with every problem listed."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: '{CONFIG_NAMESPACE}:{CONFIG_KEY}' must be a mapping of processor settings"
        )
    try:
        return S3EventProcessorArgs.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, source)) from None


def stack_file(stack: str, stacks_dir: Path = STACKS_DIR) -> Path:
    return stacks_dir / f"Pulumi.{stack}.yaml"


def available_stacks(stacks_dir: Path = STACKS_DIR) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in stacks_dir.glob("Pulumi.*.yaml"))


def read_stack_config(stack: str, stacks_dir: Path = STACKS_DIR) -> dict[str, Any]:
    """The `config:` mapping of a stack file, keys as Pulumi writes them (`ns:key`)."""
    path = stack_file(stack, stacks_dir)
    if not path.is_file():
        known = ", ".join(available_stacks(stacks_dir)) or "none"
        raise ConfigError(f"unknown stack '{stack}': no {path} (stacks here: {known})")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: 'config' must be a mapping")
    return config


def stack_args(stack: str, stacks_dir: Path = STACKS_DIR) -> S3EventProcessorArgs:
    """The validated `s3ep:processor` settings of a stack file."""
    raw = read_stack_config(stack, stacks_dir).get(f"{CONFIG_NAMESPACE}:{CONFIG_KEY}")
    return parse_args(raw, str(stack_file(stack, stacks_dir)))


def program() -> S3EventProcessor:
    """Declare this stack's processor and export its outputs."""
    stack = pulumi.get_stack()
    raw = pulumi.Config(CONFIG_NAMESPACE).get_object(CONFIG_KEY)
    if raw is None:
        raise ConfigError(
            f"stack '{stack}': set '{CONFIG_NAMESPACE}:{CONFIG_KEY}' in "
            f"{stack_file(stack)} (see docs/configuration.md)"
        )
    args = parse_args(raw, str(stack_file(stack)))
    processor = S3EventProcessor(args.name_prefix, args)
    for key in processor.output_names:
        pulumi.export(key, getattr(processor, key))
    return processor
