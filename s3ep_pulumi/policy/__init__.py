"""The CrossGuard rules of the s3ep policy pack, shared by `policy/__main__.py`, `s3ep check`
and the tests.

One module per service, each rule's check beside its `Rule` entry: `s3`, `sqs`,
`resource_policies` (checks shared by bucket, queue, topic and key policies), `lambda_`,
`stepfunctions`, `dynamodb`, `events`, `cloudwatch`, `sns`, `kms`, `iam`; `base` holds the
`Rule` type and the helpers they share, `tokens` the pulumi-aws type tokens. Every rule's
description cites the established rule it matches (cdk-nag `AwsSolutions-*`, Checkov
`CKV_AWS_*`) where one exists and says how to fix a violation.

Imports only pulumi-policy, the standard library and `s3ep_pulumi.model.security` /
`s3ep_pulumi.model.limits` (both standard library only): never pydantic, pulumi-aws or the
component, so a pack that loads it stays small (tests/test_check.py checks this).
"""

from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy

from s3ep_pulumi.policy import (
    cloudwatch,
    dynamodb,
    events,
    iam,
    kms,
    lambda_,
    resource_policies,
    s3,
    sns,
    sqs,
    stepfunctions,
)
from s3ep_pulumi.policy.base import Rule

# The order of docs/security.md's table and of `s3ep check`'s report.
RULES: tuple[Rule, ...] = (
    *s3.RULES,
    *sqs.RULES,
    *resource_policies.RULES,
    *lambda_.RULES,
    *stepfunctions.RULES,
    *dynamodb.RULES,
    *events.RULES,
    *cloudwatch.RULES,
    *sns.RULES,
    *kms.RULES,
    *iam.RULES,
)
RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}
POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [r.policy() for r in RULES]

__all__ = ["POLICIES", "RULES", "RULES_BY_NAME", "Rule"]
