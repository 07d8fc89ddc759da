"""What every stage of the component shares: the processor's name, tags and parent, the account,
region and partition it deploys to, and the helpers that turn pure documents into inputs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from s3ep_pulumi.model import resources
from s3ep_pulumi.model.args import S3EventProcessorArgs


def json_doc(doc_fn: Callable[..., Any], *outputs: Any) -> pulumi.Output[str]:
    """Serialise a pure document builder once every Output it needs has resolved."""
    return pulumi.Output.all(*outputs).apply(lambda values: json.dumps(doc_fn(*values)))


@dataclass(frozen=True)
class GrantedRole:
    """A role and its one inline policy. IAM grants nothing until the policy is attached, so
    whatever acts with the role is declared after `ready` (`depends_on=role.ready`), not only
    after the role: without it, creating the consumer races the policy and works only because
    the provider retries."""

    role: aws.iam.Role
    policy: aws.iam.RolePolicy

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.role.arn

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a consumer of the role depends on: its policy (which depends on the role)."""
        return [self.policy]


@dataclass(frozen=True)
class Context:
    """The processor every stage declares its resources for. Every child is named
    `f"{name}-<role>"` and parented to the component, so its URN never depends on the stage."""

    name: str
    parent: pulumi.Resource
    tags: dict[str, str]
    account: pulumi.Output[str]
    region: pulumi.Output[str]
    partition: pulumi.Output[str]
    permissions_boundary_arn: str | None

    @classmethod
    def of(cls, component: pulumi.Resource, name: str, args: S3EventProcessorArgs) -> Context:
        invoke = pulumi.InvokeOutputOptions(parent=component)
        return cls(
            name=name,
            parent=component,
            tags=resources.tags(args, name),
            account=aws.get_caller_identity_output(opts=invoke).account_id,
            region=aws.get_region_output(opts=invoke).region,
            partition=aws.get_partition_output(opts=invoke).partition,
            permissions_boundary_arn=args.security.permissions_boundary_arn,
        )

    def opts(self, **options: Any) -> pulumi.ResourceOptions:
        """Options of a child: parented to the component, plus `options`."""
        return pulumi.ResourceOptions(parent=self.parent, **options)

    def invoke_opts(self) -> pulumi.InvokeOutputOptions:
        return pulumi.InvokeOutputOptions(parent=self.parent)

    def arn(self, service: str, resource: str, *, regional: bool = True) -> pulumi.Output[str]:
        """ARN of a resource known by name before it exists (avoids dependency cycles)."""
        if regional:
            return pulumi.Output.concat(
                "arn:",
                self.partition,
                f":{service}:",
                self.region,
                ":",
                self.account,
                f":{resource}",
            )
        return pulumi.Output.concat("arn:", self.partition, f":{service}:::{resource}")

    def role(
        self, role: str, name: str, trust: pulumi.Input[str], policy: pulumi.Input[str]
    ) -> GrantedRole:
        """The role `f"{name}-{role}-role"` and its single inline policy: nothing else is
        attached. Every role gets the configured permissions boundary."""
        r = aws.iam.Role(
            f"{self.name}-{role}-role",
            name=name,
            assume_role_policy=trust,
            permissions_boundary=self.permissions_boundary_arn,
            tags=self.tags,
            opts=self.opts(),
        )
        inline = aws.iam.RolePolicy(
            f"{self.name}-{role}-policy",
            role=r.id,
            policy=policy,
            opts=self.opts(),
        )
        return GrantedRole(role=r, policy=inline)
