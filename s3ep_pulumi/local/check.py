"""`s3ep check`: the policy pack and the IAM linter, run on a stack without the Pulumi CLI.

The stack's program runs under recording mocks (as `s3ep synth` does); every declared resource
becomes a `pulumi_policy.PolicyResource` with the camelCase properties the engine would send,
property dependencies recovered from the values that name another resource, and the URN the
engine would give it. Each policy of `s3ep_pulumi.policy` then runs through its own `validate`,
exactly as the pack does under `pulumi preview --policy-pack policy`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
    StackValidationPolicy,
)

from s3ep_pulumi.errors import ConfigError
from s3ep_pulumi.local.capture import Capture, Recorded
from s3ep_pulumi.policy import RULES, Rule

PolicyConfig = Mapping[str, Any]


@dataclass(frozen=True)
class Violation:
    rule: str
    level: EnforcementLevel
    urn: str
    message: str
    fix: str

    @property
    def mandatory(self) -> bool:
        return self.level == EnforcementLevel.MANDATORY


def _options(parent: str | None = None) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], parent)


def _identities(r: Recorded) -> set[str]:
    values = {r.id, *(r.state.get(k) for k in ("arn", "url", "name", "bucket"))}
    return {v for v in values if isinstance(v, str) and v}


def policy_resources(capture: Capture, *, outputs: bool) -> list[PolicyResource]:
    """The captured resources as the engine hands them to a pack: inputs for resource policies
    (`outputs=False`), inputs and outputs for stack policies (`outputs=True`). A top-level
    property whose value names another resource depends on it, as it would in the engine."""
    recorded = [r for r in capture.resources if r.type.startswith("aws:")]
    resources = {
        r.urn: PolicyResource(
            r.type,
            dict(r.state if outputs else r.inputs),
            r.urn,
            r.name,
            _options(),
            None,
            None,
            [],
            {},
        )
        for r in recorded
    }
    owners: dict[str, str] = {}
    for r in recorded:
        for identity in _identities(r):
            owners.setdefault(identity, r.urn)
    for r in recorded:
        res = resources[r.urn]
        for prop, value in r.inputs.items():
            owner = owners.get(value) if isinstance(value, str) else None
            if owner is not None and owner != r.urn:
                res.property_dependencies.setdefault(prop, []).append(resources[owner])
                res.dependencies.append(resources[owner])
    return list(resources.values())


def _level(rule: Rule, config: PolicyConfig) -> EnforcementLevel:
    entry = config.get(rule.name)
    if isinstance(entry, str):
        return EnforcementLevel(entry)
    if isinstance(entry, Mapping) and "enforcementLevel" in entry:
        return EnforcementLevel(entry["enforcementLevel"])
    return rule.level


def _rule_config(rule: Rule, config: PolicyConfig) -> dict[str, Any]:
    entry = config.get(rule.name)
    if not isinstance(entry, Mapping):
        return {}
    return {k: v for k, v in entry.items() if k != "enforcementLevel"}


def evaluate(capture: Capture, config: PolicyConfig | None = None) -> list[Violation]:
    """Every violation of every enabled rule, in rule order."""
    config = config or {}
    unknown = sorted(set(config) - {r.name for r in RULES} - {"all"})
    if unknown:
        raise ConfigError(f"policy config: unknown rule(s) {', '.join(unknown)}")
    inputs = policy_resources(capture, outputs=False)
    stack = policy_resources(capture, outputs=True)
    out: list[Violation] = []
    for rule in RULES:
        level = _level(rule, config)
        if level != EnforcementLevel.DISABLED:
            out += [
                Violation(rule.name, level, urn, message, rule.fix)
                for urn, message in _run(rule, inputs, stack, _rule_config(rule, config))
            ]
    return out


def _run(
    rule: Rule, inputs: list[PolicyResource], stack: list[PolicyResource], config: dict[str, Any]
) -> list[tuple[str, str]]:
    """(URN, message) of every violation of one rule, through the policy's own `validate`."""
    policy = rule.policy()
    found: list[tuple[str, str]] = []
    if isinstance(policy, StackValidationPolicy):

        def report_stack(message: str, urn: str | None = None) -> None:
            found.append((urn or "", message))

        policy.validate(StackValidationArgs(stack, config), report_stack)
        return found
    for r in inputs:

        def report(message: str, urn: str | None = None, at: str = r.urn) -> None:
            found.append((at, message))

        args = ResourceValidationArgs(r.resource_type, r.props, r.urn, r.name, r.opts, None, config)
        policy.validate(args, report)
    return found


def read_policy_config(path: Path | None) -> dict[str, Any]:
    """A policy config file in `pulumi preview --policy-config` format (JSON)."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(f"policy config {path}: {e}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"policy config {path}: must be a JSON object of rule -> settings")
    return data


def render(violations: list[Violation]) -> list[str]:
    lines = []
    for v in violations:
        lines.append(f"{v.level.value.upper():<9} {v.rule}  {v.urn}")
        lines.append(f"          {v.message}")
        lines.append(f"          fix: {v.fix}")
    return lines
