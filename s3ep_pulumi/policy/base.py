"""The rule type and the helpers the rules of every service share.

A rule is a pure check over resources as the Pulumi engine sends them to a policy pack: a type
token, a URN and camelCase properties (JSON documents as strings or objects). A resource rule
sees one resource at a time; a stack rule sees them all, for checks that join resources (a
bucket and its public access block).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

Props = Mapping[str, Any]
Config = Mapping[str, Any]
ResourceCheck = Callable[[str, Props, Config], Iterable[str]]
StackCheck = Callable[[list[PolicyResource], Config], Iterable[tuple[str, str]]]

# JSON schema of a rule setting that is a list of strings.
STRING_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}


@dataclass(frozen=True)
class Rule:
    """One rule: what it demands, the established rules it matches, and how to fix it."""

    name: str
    summary: str
    fix: str
    anchors: tuple[str, ...]
    level: EnforcementLevel
    types: tuple[str, ...] = ()  # resource rules: the types checked; empty for stack rules
    resource_check: ResourceCheck | None = None
    stack_check: StackCheck | None = None
    config: dict[str, dict[str, Any]] = field(default_factory=dict)  # JSON schema, with defaults

    @property
    def description(self) -> str:
        cites = ", ".join(self.anchors) if self.anchors else "no established rule"
        return f"{self.summary} [{cites}]. Fix: {self.fix}"

    def defaults(self) -> dict[str, Any]:
        return {k: v["default"] for k, v in self.config.items() if "default" in v}

    def policy(self) -> ResourceValidationPolicy | StackValidationPolicy:
        schema = PolicyConfigSchema(self.config) if self.config else None
        if self.resource_check is not None:
            check = self.resource_check

            def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
                if args.resource_type in self.types:
                    config = {**self.defaults(), **args.get_config()}
                    for message in check(args.resource_type, args.props, config):
                        report(message, None)

            return ResourceValidationPolicy(
                self.name, self.description, validate, self.level, schema
            )
        assert self.stack_check is not None
        stack_check = self.stack_check

        def validate_stack(args: StackValidationArgs, report: ReportViolation) -> None:
            config = {**self.defaults(), **args.get_config()}
            for urn, message in stack_check(list(args.resources), config):
                report(message, urn)

        return StackValidationPolicy(
            self.name, self.description, validate_stack, self.level, schema
        )


# --- properties --------------------------------------------------------------------------------


def as_list(value: Any) -> list[Any]:
    """A property that may be one value or a list, as a list (empty if absent)."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def number(value: Any) -> float | None:
    """A numeric property, None if absent or not a number."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def tag(props: Props, key: str) -> Any:
    """The value of the resource's tag `key`, None if it has no such tag."""
    return (props.get("tags") or {}).get(key)


# --- policy documents --------------------------------------------------------------------------


def document(value: Any) -> Mapping[str, Any] | None:
    """A policy document from a property: a JSON string or an object; None if absent."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def statements(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if doc is None:
        return []
    return [s for s in as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def allows(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The document's Allow statements."""
    return [s for s in statements(doc) if s.get("Effect") == "Allow"]


def sid(statement: Mapping[str, Any]) -> Any:
    """How a message names a statement."""
    return statement.get("Sid", "(no Sid)")


def principals(statement: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """(is the principal a wildcard, service principals)."""
    principal = statement.get("Principal")
    if principal == "*":
        return True, []
    if not isinstance(principal, Mapping):
        return False, []
    wildcard = "*" in as_list(principal.get("AWS"))
    return wildcard, [str(s) for s in as_list(principal.get("Service"))]


# Condition keys that tie a service principal to the caller's resource or account.
DEPUTY_CONDITION_KEYS = (
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "kms:encryptioncontext:",
)


# In a trust policy only: the external id a service passes when it assumes the role. Firehose
# documents its trust as sts:ExternalId = the account id (docs/aws-semantics.md I2).
TRUST_CONDITION_KEYS = ("sts:externalid",)


def source_scoped(statement: Mapping[str, Any], also: tuple[str, ...] = ()) -> bool:
    """The statement's condition ties it to a source (confused-deputy protection), by one of
    DEPUTY_CONDITION_KEYS or of `also`."""
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return False
    keys = [str(k).lower() for op in condition.values() if isinstance(op, Mapping) for k in op]
    return any(k.startswith((*DEPUTY_CONDITION_KEYS, *also)) for k in keys)


def without_tls_deny(
    resources: list[PolicyResource], types: tuple[str, ...], policy_type: str, key: str
) -> Iterator[PolicyResource]:
    """The resources of `types` that neither their own `policy` nor any `policy_type` resource
    naming them by `key` (its property that refers to them) makes TLS-only."""
    policies = of_type(resources, policy_type)
    for resource in of_type(resources, *types):
        docs = [document(p.props.get("policy")) for p in policies if refers_to(p, key, resource)]
        docs.append(document(resource.props.get("policy")))
        if not any(tls_denied(d) for d in docs):
            yield resource


def tls_denied(doc: Mapping[str, Any] | None) -> bool:
    """The document denies every request made without TLS."""
    for s in statements(doc):
        condition = s.get("Condition")
        if s.get("Effect") != "Deny" or not isinstance(condition, Mapping):
            continue
        wildcard, _ = principals(s)
        secure = {str(k).lower(): v for k, v in (condition.get("Bool") or {}).items()}
        if wildcard and str(secure.get("aws:securetransport", "")).lower() == "false":
            return True
    return False


# --- resources of a stack ----------------------------------------------------------------------


def of_type(resources: list[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def identities(r: PolicyResource) -> set[str]:
    """Values other resources use to refer to `r` (ARN, URL, name, id)."""
    out = set()
    for key in ("arn", "url", "id", "name", "bucket"):
        value = r.props.get(key)
        if isinstance(value, str) and value:
            out.add(value)
    return out


def refers_to(r: PolicyResource, prop: str, target: PolicyResource) -> bool:
    """`r.props[prop]` is `target`: by the engine's property dependencies, else by value."""
    if any(d.urn == target.urn for d in r.property_dependencies.get(prop, [])):
        return True
    value = r.props.get(prop)
    return isinstance(value, str) and value in identities(target)
