"""Lint every role's IAM policy documents with parliament (offline: it ships its own copy of
the IAM action and resource catalogue).

A finding is either fixed in `iam.py` or accepted with its reason. The only accepted ones are
parliament's RESOURCE_STAR findings on actions listed in `iam.WILDCARD_RESOURCE_EXCEPTIONS`,
whose reasons live there (the one place): on both shipped stacks that is the VPC network
interface actions of prod's function.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

from s3ep_pulumi.local.capture import Capture
from s3ep_pulumi.model.security import WILDCARD_RESOURCE_EXCEPTIONS

# parliament issue code -> actions accepted for it, each with its reason.
ACCEPTED_FINDINGS: dict[str, dict[str, str]] = {"RESOURCE_STAR": WILDCARD_RESOURCE_EXCEPTIONS}

ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


@dataclass(frozen=True)
class Finding:
    resource: str  # logical name of the RolePolicy
    issue: str
    detail: str


def _analyze(policy_json: str) -> list[Any]:
    # parliament opens its data files without closing them and imports pkg_resources on first
    # use; neither warning is ours.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import parliament

        return list(parliament.analyze_policy_string(policy_json).findings)


def _unaccepted(issue: str, detail: Any) -> Any:
    """The part of a finding's detail that is not accepted (a list of actions, for most)."""
    accepted = ACCEPTED_FINDINGS.get(issue, {})
    if isinstance(detail, list):
        return [d for d in detail if d not in accepted]
    return None if detail in accepted else detail


def lint_document(name: str, document: dict[str, Any]) -> list[Finding]:
    """parliament's findings on one identity policy document, minus the accepted ones."""
    out = []
    for f in _analyze(json.dumps(document)):
        detail = _unaccepted(f.issue, f.detail)
        if detail:
            text = detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True)
            out.append(Finding(name, f.issue, text))
    return out


def lint_capture(capture: Capture) -> list[Finding]:
    """Findings on every role policy the captured program declares."""
    findings: list[Finding] = []
    for r in capture.of_type(ROLE_POLICY):
        findings += lint_document(r.name, r.prop("policy"))
    return findings
