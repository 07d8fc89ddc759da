"""IAM: roles grant exact actions on exact resources, trust only scoped services, carry a
permissions boundary and attach no AWS managed policies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import PolicyResource

from s3ep_pulumi.model.security import WILDCARD_RESOURCE_EXCEPTIONS
from s3ep_pulumi.policy.base import (
    ADVISORY,
    MANDATORY,
    STRING_LIST,
    TRUST_CONDITION_KEYS,
    Config,
    Props,
    Rule,
    allows,
    as_list,
    document,
    of_type,
    principals,
    sid,
    source_scoped,
)
from s3ep_pulumi.policy.tokens import MANAGED_POLICY, ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT


def _identity_documents(type_token: str, props: Props) -> list[Any]:
    """Every identity-policy document a RolePolicy, Policy or Role declares."""
    if type_token in (ROLE_POLICY, MANAGED_POLICY):
        return [document(props.get("policy"))]
    if type_token == ROLE:
        return [document(p.get("policy")) for p in as_list(props.get("inlinePolicies"))]
    return []


def _wildcard_actions(statement: Mapping[str, Any]) -> list[str]:
    if "NotAction" in statement:
        return ["NotAction"]
    return [a for a in map(str, as_list(statement.get("Action"))) if a == "*" or a.endswith(":*")]


PRIVILEGED_MANAGED_POLICIES = (
    "AdministratorAccess",
    "PowerUserAccess",
    "IAMFullAccess",
)


def _no_wildcard_action(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    for r in of_type(resources, ROLE_POLICY, MANAGED_POLICY, ROLE):
        for doc in _identity_documents(r.resource_type, r.props):
            for s in allows(doc):
                wild = _wildcard_actions(s)
                if wild:
                    yield r.urn, f"statement {sid(s)} allows {', '.join(wild)}"
    for r in of_type(resources, ROLE_POLICY_ATTACHMENT, ROLE):
        arns = [r.props.get("policyArn"), *as_list(r.props.get("managedPolicyArns"))]
        for arn in arns:
            if isinstance(arn, str) and arn.endswith(
                tuple(f":policy/{p}" for p in PRIVILEGED_MANAGED_POLICIES)
            ):
                yield r.urn, f"attaches {arn.rsplit('/', 1)[-1]}, which allows every action"


NO_WILDCARD_ACTION = Rule(
    "iam-no-wildcard-action",
    "No role policy allows a wildcard action ('*', 'service:*', NotAction) or attaches an "
    "administrator policy",
    "list the exact actions the role needs (s3ep: function.extra_policy_statements)",
    ("AwsSolutions-IAM5", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_290"),
    MANDATORY,
    stack_check=_no_wildcard_action,
)


def _no_wildcard_resource(type_token: str, props: Props, config: Config) -> Iterator[str]:
    allowed = set(WILDCARD_RESOURCE_EXCEPTIONS) | set(config["allowedActions"])
    for doc in _identity_documents(type_token, props):
        for s in allows(doc):
            resources = [str(x) for x in as_list(s.get("Resource"))]
            if "*" not in resources and "NotResource" not in s:
                continue
            others = [a for a in map(str, as_list(s.get("Action"))) if a not in allowed]
            if others or "NotAction" in s:
                yield (
                    f"statement {sid(s)} grants {', '.join(others) or 'NotAction'} on Resource '*'"
                )


NO_WILDCARD_RESOURCE = Rule(
    "iam-no-wildcard-resource",
    "A role policy grants Resource '*' only for actions AWS does not scope to resources "
    "(s3ep_pulumi.model.security.WILDCARD_RESOURCE_EXCEPTIONS)",
    "name the exact ARNs; add an action to allowedActions only if AWS requires '*' for it",
    ("AwsSolutions-IAM5", "CKV_AWS_355"),
    MANDATORY,
    types=(ROLE_POLICY, MANAGED_POLICY, ROLE),
    resource_check=_no_wildcard_resource,
    config={
        "allowedActions": {
            **STRING_LIST,
            "default": [],
            "description": "Actions allowed on '*' beyond the s3ep exceptions.",
        }
    },
)


def _trust_confused_deputy(type_token: str, props: Props, config: Config) -> Iterator[str]:
    exempt = set(config["exemptServices"])
    for s in allows(document(props.get("assumeRolePolicy"))):
        wildcard, services = principals(s)
        if wildcard:
            yield "the trust policy lets any principal ('*') assume the role"
        unscoped = [svc for svc in services if svc not in exempt]
        if unscoped and not source_scoped(s, also=TRUST_CONDITION_KEYS):
            yield (
                f"{', '.join(unscoped)} may assume the role without aws:SourceAccount/SourceArn "
                "(or sts:ExternalId)"
            )


TRUST_CONFUSED_DEPUTY = Rule(
    "iam-trust-confused-deputy",
    "A role's trust policy lets service principals assume it only with an aws:SourceAccount, "
    "aws:SourceArn or sts:ExternalId (Firehose's documented form) condition, and never lets "
    "'*' assume it",
    "add Condition StringEquals aws:SourceAccount (and ArnLike aws:SourceArn); services "
    "that send neither (lambda.amazonaws.com) are in exemptServices",
    (),
    MANDATORY,
    types=(ROLE,),
    resource_check=_trust_confused_deputy,
    config={
        "exemptServices": {
            **STRING_LIST,
            "default": ["lambda.amazonaws.com"],
            "description": "Services that do not send the source keys when assuming a role.",
        }
    },
)


def _permissions_boundary(type_token: str, props: Props, config: Config) -> Iterator[str]:
    boundary = props.get("permissionsBoundary")
    wanted = config["boundaryArn"]
    if not boundary:
        yield "permissionsBoundary is not set"
    elif wanted and boundary != wanted:
        yield f"permissionsBoundary is {boundary}, not {wanted}"


PERMISSIONS_BOUNDARY = Rule(
    "iam-permissions-boundary",
    "Every role has a permissions boundary (the one in boundaryArn, when set)",
    "set security.permissions_boundary_arn (s3ep) or permissionsBoundary on the role",
    (),
    ADVISORY,
    types=(ROLE,),
    resource_check=_permissions_boundary,
    config={
        "boundaryArn": {
            "type": "string",
            "default": "",
            "description": "The boundary every role must have; empty: any boundary.",
        }
    },
)


def _no_aws_managed_policies(type_token: str, props: Props, _: Config) -> Iterator[str]:
    arns = [props.get("policyArn"), *as_list(props.get("managedPolicyArns"))]
    for arn in arns:
        if isinstance(arn, str) and re.match(r"^arn:aws[a-z-]*:iam::aws:policy/", arn):
            yield f"attaches the AWS managed policy {arn.split('policy/', 1)[1]}"


NO_AWS_MANAGED_POLICIES = Rule(
    "iam-no-aws-managed-policies",
    "Roles do not attach AWS managed policies (they grant more than one workload needs)",
    "replace the managed policy with an inline policy of exact actions and ARNs",
    ("AwsSolutions-IAM4",),
    ADVISORY,
    types=(ROLE_POLICY_ATTACHMENT, ROLE),
    resource_check=_no_aws_managed_policies,
)

RULES = (
    NO_WILDCARD_ACTION,
    NO_WILDCARD_RESOURCE,
    TRUST_CONFUSED_DEPUTY,
    PERMISSIONS_BOUNDARY,
    NO_AWS_MANAGED_POLICIES,
)
