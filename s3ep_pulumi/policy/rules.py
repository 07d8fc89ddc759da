"""The s3ep policy pack's rules, importable without starting a pack.

Each rule is a pure check over resources as the Pulumi engine sends them to a policy pack: a
type token, a URN and camelCase properties (JSON documents as strings or objects). `POLICIES`
wraps every rule in a `pulumi_policy` policy; `policy/__main__.py` builds the CrossGuard pack
from it, `s3ep check` calls the same `validate` functions on a stack captured under mocks, and
the tests call them on resources they build.

Every rule's description cites the established rule it matches (cdk-nag `AwsSolutions-*`,
Checkov `CKV_AWS_*`) where one exists and says how to fix a violation. This module imports only
`pulumi_policy` and `s3ep_pulumi.model.security` (standard library only), so the pack runs
without pulumi-aws.
"""

from __future__ import annotations

import json
import re
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

from s3ep_pulumi.model.security import (
    IN_FLIGHT_TAG,
    LEASE_TAG,
    PROCESSOR_TAG,
    WILDCARD_RESOURCE_EXCEPTIONS,
)

MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY

Props = Mapping[str, Any]
Config = Mapping[str, Any]
ResourceCheck = Callable[[str, Props, Config], Iterable[str]]
StackCheck = Callable[[list[PolicyResource], Config], Iterable[tuple[str, str]]]

# --- type tokens -----------------------------------------------------------------------------

BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_SSE = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
BUCKET_VERSIONING = (
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
)
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
QUEUE = "aws:sqs/queue:Queue"
QUEUE_POLICY = "aws:sqs/queuePolicy:QueuePolicy"
REDRIVE_ALLOW = "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
KMS_KEY = "aws:kms/key:Key"
KMS_KEY_POLICY = "aws:kms/keyPolicy:KeyPolicy"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"

# Resource policies: type -> property holding the document.
RESOURCE_POLICIES: dict[str, str] = {
    BUCKET_POLICY: "policy",
    QUEUE_POLICY: "policy",
    QUEUE: "policy",
    TOPIC_POLICY: "policy",
    TOPIC: "policy",
    KMS_KEY: "policy",
    KMS_KEY_POLICY: "policy",
}
# Condition keys that tie a service principal to the caller's resource or account.
DEPUTY_CONDITION_KEYS = (
    "aws:sourcearn",
    "aws:sourceaccount",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "kms:encryptioncontext:",
)
PRIVILEGED_MANAGED_POLICIES = (
    "AdministratorAccess",
    "PowerUserAccess",
    "IAMFullAccess",
)
DEPRECATED_RUNTIMES = [
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "java8",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet5.0",
    "dotnet6",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "provided",
]
SECRET_NAME = r"(?i)(secret|passw(or)?d|token|api_?key|private_?key|credential)"


# --- the rule type -----------------------------------------------------------------------------


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


# --- helpers -----------------------------------------------------------------------------------


def document(value: Any) -> Mapping[str, Any] | None:
    """A policy document from a property: a JSON string or an object; None if absent."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    return value if isinstance(value, Mapping) else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def statements(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if doc is None:
        return []
    return [s for s in _as_list(doc.get("Statement")) if isinstance(s, Mapping)]


def _allows(doc: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    return [s for s in statements(doc) if s.get("Effect") == "Allow"]


def _principals(statement: Mapping[str, Any]) -> tuple[bool, list[str]]:
    """(is the principal a wildcard, service principals)."""
    principal = statement.get("Principal")
    if principal == "*":
        return True, []
    if not isinstance(principal, Mapping):
        return False, []
    wildcard = "*" in _as_list(principal.get("AWS"))
    return wildcard, [str(s) for s in _as_list(principal.get("Service"))]


def _condition_keys(statement: Mapping[str, Any]) -> list[str]:
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return []
    return [str(k).lower() for op in condition.values() if isinstance(op, Mapping) for k in op]


def _tls_denied(doc: Mapping[str, Any] | None) -> bool:
    """The document denies every request made without TLS."""
    for s in statements(doc):
        condition = s.get("Condition")
        if s.get("Effect") != "Deny" or not isinstance(condition, Mapping):
            continue
        wildcard, _ = _principals(s)
        secure = {str(k).lower(): v for k, v in (condition.get("Bool") or {}).items()}
        if wildcard and str(secure.get("aws:securetransport", "")).lower() == "false":
            return True
    return False


def _identities(r: PolicyResource) -> set[str]:
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
    return isinstance(value, str) and value in _identities(target)


def _of(resources: list[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# --- S3 ----------------------------------------------------------------------------------------


def _bucket_public_access_blocked(
    resources: list[PolicyResource], _: Config
) -> Iterator[tuple[str, str]]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    blocks = _of(resources, PUBLIC_ACCESS_BLOCK)
    for bucket in _of(resources, *BUCKETS):
        mine = [b for b in blocks if refers_to(b, "bucket", bucket)]
        if not mine:
            yield bucket.urn, "no BucketPublicAccessBlock refers to this bucket"
        for b in mine:
            off = [f for f in flags if b.props.get(f) is not True]
            if off:
                yield bucket.urn, f"its public access block leaves {', '.join(off)} off"


def _bucket_encrypted(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    configs = _of(resources, *BUCKET_SSE)
    for bucket in _of(resources, *BUCKETS):
        inline = bucket.props.get("serverSideEncryptionConfiguration")
        if not inline and not any(refers_to(c, "bucket", bucket) for c in configs):
            yield bucket.urn, "no default encryption configuration refers to this bucket"


def _bucket_tls_only(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    policies = _of(resources, BUCKET_POLICY)
    for bucket in _of(resources, *BUCKETS):
        docs = [document(p.props.get("policy")) for p in policies if refers_to(p, "bucket", bucket)]
        docs.append(document(bucket.props.get("policy")))
        if not any(_tls_denied(d) for d in docs):
            yield bucket.urn, "no bucket policy denies aws:SecureTransport = false"


def _bucket_versioning(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    versionings = _of(resources, *BUCKET_VERSIONING)
    for bucket in _of(resources, *BUCKETS):
        inline = bucket.props.get("versioning") or {}
        enabled = isinstance(inline, Mapping) and inline.get("enabled") is True
        for v in versionings:
            if refers_to(v, "bucket", bucket):
                status = (v.props.get("versioningConfiguration") or {}).get("status")
                enabled = enabled or status == "Enabled"
        if not enabled:
            yield bucket.urn, "versioning is not enabled"


PUBLIC_GROUPS = ("AllUsers", "AuthenticatedUsers")


def _no_public_acl(type_token: str, props: Props, _: Config) -> Iterator[str]:
    acl = props.get("acl")
    if isinstance(acl, str) and acl.startswith(("public-", "authenticated-")):
        yield f"canned ACL '{acl}' grants access to everyone"
    policy = props.get("accessControlPolicy") or {}
    for grant in _as_list(policy.get("grants") if isinstance(policy, Mapping) else None):
        uri = str((grant.get("grantee") or {}).get("uri", ""))
        if uri.endswith(PUBLIC_GROUPS):
            yield f"grant {grant.get('permission')} to {uri.rsplit('/', 1)[-1]}"


def _no_public_principal(type_token: str, props: Props, _: Config) -> Iterator[str]:
    for s in _allows(document(props.get(RESOURCE_POLICIES.get(type_token, "policy")))):
        wildcard, _services = _principals(s)
        if wildcard:
            yield f"statement {s.get('Sid', '(no Sid)')} allows Principal '*'"


def _service_principals_scoped(type_token: str, props: Props, _: Config) -> Iterator[str]:
    for s in _allows(document(props.get(RESOURCE_POLICIES[type_token]))):
        _wildcard, services = _principals(s)
        keys = _condition_keys(s)
        if services and not any(k.startswith(DEPUTY_CONDITION_KEYS) for k in keys):
            yield (
                f"statement {s.get('Sid', '(no Sid)')} allows {', '.join(services)} without an "
                "aws:SourceArn or aws:SourceAccount condition"
            )


# --- SQS ---------------------------------------------------------------------------------------


def _queue_encrypted(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if props.get("sqsManagedSseEnabled") is not True and not props.get("kmsMasterKeyId"):
        yield "neither sqsManagedSseEnabled nor kmsMasterKeyId is set"


def _queue_not_aws_managed_key(type_token: str, props: Props, _: Config) -> Iterator[str]:
    key = props.get("kmsMasterKeyId")
    if isinstance(key, str) and re.search(r"(^|:)alias/aws/sqs$", key):
        yield "kmsMasterKeyId is the AWS managed key alias/aws/sqs"


def _queue_tls_only(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    policies = _of(resources, QUEUE_POLICY)
    for queue in _of(resources, QUEUE):
        docs = [
            document(p.props.get("policy")) for p in policies if refers_to(p, "queueUrl", queue)
        ]
        docs.append(document(queue.props.get("policy")))
        if not any(_tls_denied(d) for d in docs):
            yield queue.urn, "no queue policy denies aws:SecureTransport = false"


def _dead_letter_arns(resources: list[PolicyResource]) -> set[str]:
    """ARNs used as a dead-letter target by any queue, rule target, function or subscription."""
    out: set[str] = set()
    for r in _of(resources, QUEUE, TOPIC_SUBSCRIPTION):
        redrive = document(r.props.get("redrivePolicy"))
        if redrive and isinstance(redrive.get("deadLetterTargetArn"), str):
            out.add(redrive["deadLetterTargetArn"])
    for r in _of(resources, EVENT_TARGET):
        out.add(str((r.props.get("deadLetterConfig") or {}).get("arn", "")))
    for r in _of(resources, FUNCTION):
        out.add(str((r.props.get("deadLetterConfig") or {}).get("targetArn", "")))
    return out - {""}


def _is_dead_letter_queue(queue: PolicyResource, resources: list[PolicyResource]) -> bool:
    if queue.props.get("redriveAllowPolicy"):
        return True
    if any(refers_to(a, "queueUrl", queue) for a in _of(resources, REDRIVE_ALLOW)):
        return True
    return bool(_identities(queue) & _dead_letter_arns(resources))


def _queue_has_dlq(resources: list[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    exempt = set(config["exemptQueueNames"])
    for queue in _of(resources, QUEUE):
        if queue.props.get("name") in exempt or _is_dead_letter_queue(queue, resources):
            continue
        if (queue.props.get("tags") or {}).get(LEASE_TAG) == "true":
            continue  # lock tokens, not work: nothing to dead-letter
        if not document(queue.props.get("redrivePolicy")):
            yield queue.urn, "this queue is not a DLQ and has no redrivePolicy"


def _same_processor(a: PolicyResource, b: PolicyResource) -> bool:
    tag = (a.props.get("tags") or {}).get(PROCESSOR_TAG)
    return tag is not None and tag == (b.props.get("tags") or {}).get(PROCESSOR_TAG)


def _visibility_covers_dispatcher(
    resources: list[PolicyResource], _: Config
) -> Iterator[tuple[str, str]]:
    for machine in _of(resources, STATE_MACHINE):
        declared = (machine.props.get("tags") or {}).get(IN_FLIGHT_TAG)
        if declared is None:
            continue
        worst = int(float(declared))
        drained = [
            q
            for q in _of(resources, QUEUE)
            if _same_processor(q, machine) and document(q.props.get("redrivePolicy"))
        ]
        if not drained:
            yield (
                machine.urn,
                "no queue with a redrivePolicy shares this dispatcher's processor tag",
            )
        for queue in drained:
            timeout = _number(queue.props.get("visibilityTimeoutSeconds"))
            visibility = 30.0 if timeout is None else timeout  # SQS's default
            if visibility < worst:
                yield (
                    queue.urn,
                    f"visibilityTimeoutSeconds {visibility:g} is below {worst}, the longest its "
                    f"dispatcher {machine.name} may hold a message",
                )


def _dlq_retention_covers_source(
    resources: list[PolicyResource], _: Config
) -> Iterator[tuple[str, str]]:
    queues = _of(resources, QUEUE)
    for source in queues:
        redrive = document(source.props.get("redrivePolicy"))
        if not redrive:
            continue
        target = str(redrive.get("deadLetterTargetArn", ""))
        source_days = _number(source.props.get("messageRetentionSeconds")) or 345_600.0
        for dlq in queues:
            if target in _identities(dlq):
                dlq_days = _number(dlq.props.get("messageRetentionSeconds")) or 345_600.0
                if dlq_days <= source_days:
                    yield (
                        dlq.urn,
                        f"messageRetentionSeconds {dlq_days:.0f} does not exceed its source "
                        f"{source.name}'s {source_days:.0f}; dead letters keep their first "
                        "enqueue time and would expire early",
                    )


# --- Lambda ------------------------------------------------------------------------------------


def _lambda_dlq(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if not (props.get("deadLetterConfig") or {}).get("targetArn"):
        yield "deadLetterConfig.targetArn is not set"


def _lambda_tracing(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if (props.get("tracingConfig") or {}).get("mode") != "Active":
        yield "tracingConfig.mode is not Active"


def _lambda_no_plaintext_secrets(type_token: str, props: Props, config: Config) -> Iterator[str]:
    variables = (props.get("environment") or {}).get("variables") or {}
    allowed = set(config["allowedNames"])
    for name, value in variables.items():
        if name in allowed or not re.search(SECRET_NAME, name):
            continue
        if isinstance(value, str) and value and not value.startswith(("arn:", "{{resolve:")):
            yield f"environment variable {name} holds a plaintext value"


def _lambda_runtime(type_token: str, props: Props, config: Config) -> Iterator[str]:
    runtime = props.get("runtime")
    if runtime in config["deprecatedRuntimes"]:
        yield f"runtime {runtime} is deprecated"


def _lambda_permission_scoped(type_token: str, props: Props, _: Config) -> Iterator[str]:
    principal = str(props.get("principal", ""))
    if principal == "*":
        yield "principal is '*'"
    elif principal.endswith(".amazonaws.com") and not (
        props.get("sourceArn") or props.get("sourceAccount")
    ):
        yield f"{principal} may invoke without sourceArn or sourceAccount"


def _lambda_log_group_declared(
    resources: list[PolicyResource], _: Config
) -> Iterator[tuple[str, str]]:
    declared = {str(g.props.get("name")) for g in _of(resources, LOG_GROUP)}
    for fn in _of(resources, FUNCTION):
        group = (fn.props.get("loggingConfig") or {}).get("logGroup") or (
            f"/aws/lambda/{fn.props.get('name')}"
        )
        if group not in declared:
            yield (
                fn.urn,
                f"its log group {group} is not declared, so Lambda creates it without retention",
            )


# --- Step Functions, EventBridge, CloudWatch ---------------------------------------------------


def _sfn_logging(type_token: str, props: Props, config: Config) -> Iterator[str]:
    logging = props.get("loggingConfiguration") or {}
    level = logging.get("level", "OFF")
    if level not in config["allowedLevels"]:
        yield f"logging level {level} is not one of {', '.join(config['allowedLevels'])}"
    elif not logging.get("logDestination"):
        yield "loggingConfiguration.logDestination is not set"


def _sfn_tracing(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if (props.get("tracingConfiguration") or {}).get("enabled") is not True:
        yield "tracingConfiguration.enabled is not true"


def _event_target_dlq(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if not (props.get("deadLetterConfig") or {}).get("arn"):
        yield "deadLetterConfig.arn is not set: undeliverable events are dropped"


def _log_group_retention(type_token: str, props: Props, config: Config) -> Iterator[str]:
    days = _number(props.get("retentionInDays"))
    if not days:
        yield "retentionInDays is not set: logs are kept forever"
    elif days < config["minimumDays"]:
        yield f"retentionInDays {days:g} is below the minimum {config['minimumDays']}"


def _log_group_kms(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if not props.get("kmsKeyId"):
        yield "kmsKeyId is not set"


def _alarm_has_action(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if props.get("actionsEnabled") is False:
        yield "actionsEnabled is false"
    elif not _as_list(props.get("alarmActions")):
        yield "alarmActions is empty: the alarm notifies nobody"


# --- SNS and KMS -------------------------------------------------------------------------------


def _topic_encrypted(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if not props.get("kmsMasterKeyId"):
        yield "kmsMasterKeyId is not set"


def _aws_managed_sns_key(topic: PolicyResource) -> bool:
    key = topic.props.get("kmsMasterKeyId")
    return isinstance(key, str) and bool(re.search(r"(^|:)alias/aws/sns$", key))


def _alarm_topic_key(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    topics = [t for t in _of(resources, TOPIC) if _aws_managed_sns_key(t)]
    for alarm in _of(resources, METRIC_ALARM, COMPOSITE_ALARM):
        actions = {
            str(a)
            for key in ("alarmActions", "okActions", "insufficientDataActions")
            for a in _as_list(alarm.props.get(key))
        }
        for topic in topics:
            if actions & _identities(topic) or any(
                d.urn == topic.urn for d in alarm.property_dependencies.get("alarmActions", [])
            ):
                yield (
                    topic.urn,
                    f"alarm {alarm.name} publishes here, but CloudWatch cannot use the AWS "
                    "managed key alias/aws/sns",
                )


def _topic_tls_only(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    policies = _of(resources, TOPIC_POLICY)
    for topic in _of(resources, TOPIC):
        docs = [document(p.props.get("policy")) for p in policies if refers_to(p, "arn", topic)]
        docs.append(document(topic.props.get("policy")))
        if not any(_tls_denied(d) for d in docs):
            yield topic.urn, "no topic policy denies aws:SecureTransport = false"


def _key_rotation(type_token: str, props: Props, _: Config) -> Iterator[str]:
    spec = props.get("customerMasterKeySpec") or props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and props.get("enableKeyRotation") is not True:
        yield "enableKeyRotation is not true"


# --- IAM ---------------------------------------------------------------------------------------


def _identity_documents(type_token: str, props: Props) -> list[Any]:
    """Every identity-policy document a RolePolicy, Policy or Role declares."""
    if type_token in (ROLE_POLICY, MANAGED_POLICY):
        return [document(props.get("policy"))]
    if type_token == ROLE:
        return [document(p.get("policy")) for p in _as_list(props.get("inlinePolicies"))]
    return []


def _wildcard_actions(statement: Mapping[str, Any]) -> list[str]:
    if "NotAction" in statement:
        return ["NotAction"]
    return [a for a in map(str, _as_list(statement.get("Action"))) if a == "*" or a.endswith(":*")]


def _no_wildcard_action(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    for r in _of(resources, ROLE_POLICY, MANAGED_POLICY, ROLE):
        for doc in _identity_documents(r.resource_type, r.props):
            for s in _allows(doc):
                wild = _wildcard_actions(s)
                if wild:
                    yield r.urn, f"statement {s.get('Sid', '(no Sid)')} allows {', '.join(wild)}"
    for r in _of(resources, ROLE_POLICY_ATTACHMENT, ROLE):
        arns = [r.props.get("policyArn"), *_as_list(r.props.get("managedPolicyArns"))]
        for arn in arns:
            if isinstance(arn, str) and arn.endswith(
                tuple(f":policy/{p}" for p in PRIVILEGED_MANAGED_POLICIES)
            ):
                yield r.urn, f"attaches {arn.rsplit('/', 1)[-1]}, which allows every action"


def _wildcard_resource(type_token: str, props: Props, config: Config) -> Iterator[str]:
    allowed = set(WILDCARD_RESOURCE_EXCEPTIONS) | set(config["allowedActions"])
    for doc in _identity_documents(type_token, props):
        for s in _allows(doc):
            resources = [str(x) for x in _as_list(s.get("Resource"))]
            if "*" not in resources and "NotResource" not in s:
                continue
            others = [a for a in map(str, _as_list(s.get("Action"))) if a not in allowed]
            if others or "NotAction" in s:
                yield (
                    f"statement {s.get('Sid', '(no Sid)')} grants "
                    f"{', '.join(others) or 'NotAction'} on Resource '*'"
                )


def _trust_confused_deputy(type_token: str, props: Props, config: Config) -> Iterator[str]:
    exempt = set(config["exemptServices"])
    for s in _allows(document(props.get("assumeRolePolicy"))):
        wildcard, services = _principals(s)
        if wildcard:
            yield "the trust policy lets any principal ('*') assume the role"
        scoped = any(k.startswith(DEPUTY_CONDITION_KEYS) for k in _condition_keys(s))
        unscoped = [svc for svc in services if svc not in exempt]
        if unscoped and not scoped:
            yield f"{', '.join(unscoped)} may assume the role without aws:SourceAccount/SourceArn"


def _permissions_boundary(type_token: str, props: Props, config: Config) -> Iterator[str]:
    boundary = props.get("permissionsBoundary")
    wanted = config["boundaryArn"]
    if not boundary:
        yield "permissionsBoundary is not set"
    elif wanted and boundary != wanted:
        yield f"permissionsBoundary is {boundary}, not {wanted}"


def _no_aws_managed_policies(type_token: str, props: Props, _: Config) -> Iterator[str]:
    arns = [props.get("policyArn"), *_as_list(props.get("managedPolicyArns"))]
    for arn in arns:
        if isinstance(arn, str) and re.match(r"^arn:aws[a-z-]*:iam::aws:policy/", arn):
            yield f"attaches the AWS managed policy {arn.split('policy/', 1)[1]}"


# --- the rules ---------------------------------------------------------------------------------

_LIST = {"type": "array", "items": {"type": "string"}}

RULES: tuple[Rule, ...] = (
    # S3
    Rule(
        "s3-bucket-public-access-blocked",
        "Every S3 bucket has a public access block with all four settings on",
        "declare aws.s3.BucketPublicAccessBlock for the bucket with blockPublicAcls, "
        "blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets true",
        ("AwsSolutions-S2", "CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"),
        MANDATORY,
        stack_check=_bucket_public_access_blocked,
    ),
    Rule(
        "s3-bucket-encrypted",
        "Every S3 bucket declares default encryption (SSE-S3 or SSE-KMS)",
        "declare aws.s3.BucketServerSideEncryptionConfiguration for the bucket",
        ("CKV_AWS_19", "CKV_AWS_145"),
        MANDATORY,
        stack_check=_bucket_encrypted,
    ),
    Rule(
        "s3-bucket-tls-only",
        "Every S3 bucket's policy denies requests made without TLS",
        "add a Deny statement for Principal '*' with Condition Bool aws:SecureTransport false "
        "on the bucket and bucket/* (s3ep_pulumi.builders.iam.deny_insecure_transport)",
        ("AwsSolutions-S10",),
        MANDATORY,
        stack_check=_bucket_tls_only,
    ),
    Rule(
        "s3-bucket-versioning",
        "Every S3 bucket has versioning enabled",
        "declare aws.s3.BucketVersioning with status Enabled (s3ep: bucket.versioning true)",
        ("CKV_AWS_21",),
        ADVISORY,
        stack_check=_bucket_versioning,
    ),
    Rule(
        "s3-bucket-no-public-acl",
        "No bucket ACL grants access to everyone or to any AWS user",
        "remove the public canned ACL or the AllUsers/AuthenticatedUsers grant",
        ("CKV_AWS_20", "CKV_AWS_57"),
        MANDATORY,
        types=(*BUCKETS, *BUCKET_ACL),
        resource_check=_no_public_acl,
    ),
    Rule(
        "s3-bucket-policy-no-public-principal",
        "No bucket policy allows Principal '*'",
        "name the principals (accounts, roles or service principals with aws:SourceArn)",
        ("CKV_AWS_70",),
        MANDATORY,
        types=(BUCKET_POLICY,),
        resource_check=_no_public_principal,
    ),
    # SQS
    Rule(
        "sqs-queue-encrypted",
        "Every SQS queue is encrypted at rest",
        "set sqsManagedSseEnabled true or kmsMasterKeyId to a customer managed key",
        ("AwsSolutions-SQS2", "CKV_AWS_27"),
        MANDATORY,
        types=(QUEUE,),
        resource_check=_queue_encrypted,
    ),
    Rule(
        "sqs-queue-no-aws-managed-key",
        "No SQS queue uses the AWS managed key alias/aws/sqs (EventBridge, SNS and S3 cannot "
        "use it and drop their deliveries silently)",
        "use SQS-managed encryption or a customer managed key whose policy lets the senders use it",
        (),
        MANDATORY,
        types=(QUEUE,),
        resource_check=_queue_not_aws_managed_key,
    ),
    Rule(
        "sqs-queue-tls-only",
        "Every SQS queue's policy denies requests made without TLS",
        "declare aws.sqs.QueuePolicy with a Deny for Principal '*' on Condition Bool "
        "aws:SecureTransport false",
        ("AwsSolutions-SQS4",),
        MANDATORY,
        stack_check=_queue_tls_only,
    ),
    Rule(
        "sqs-queue-has-dlq",
        "Every SQS queue that is not itself a dead-letter queue (nor an s3ep lease queue, tagged "
        "s3ep:lease, which holds lock tokens) has a redrive policy",
        "set redrivePolicy with deadLetterTargetArn and maxReceiveCount",
        ("AwsSolutions-SQS3",),
        MANDATORY,
        stack_check=_queue_has_dlq,
        config={
            "exemptQueueNames": {
                **_LIST,
                "default": [],
                "description": "Queue names this rule skips.",
            }
        },
    ),
    Rule(
        "sqs-visibility-covers-dispatcher",
        f"The queue a dispatcher drains has a visibility timeout at least the dispatcher's "
        f"worst-case in-flight time (state machine tag {IN_FLIGHT_TAG})",
        "omit queue.visibility_timeout_seconds (it then defaults to the worst case) or raise it",
        (),
        MANDATORY,
        stack_check=_visibility_covers_dispatcher,
    ),
    Rule(
        "sqs-dlq-retention-exceeds-source",
        "A dead-letter queue keeps messages longer than its source queue",
        "raise the DLQ's messageRetentionSeconds (s3ep: queue.dlq_retention_seconds) above "
        "the source's",
        (),
        MANDATORY,
        stack_check=_dlq_retention_covers_source,
    ),
    Rule(
        "sqs-queue-policy-no-public-principal",
        "No SQS queue policy allows Principal '*'",
        "name the principals (accounts, roles or service principals with aws:SourceArn)",
        ("CKV_AWS_168",),
        MANDATORY,
        types=(QUEUE_POLICY, QUEUE),
        resource_check=_no_public_principal,
    ),
    Rule(
        "resource-policy-service-principal-scoped",
        "Resource policies grant service principals only with an aws:SourceArn or "
        "aws:SourceAccount condition (confused-deputy protection)",
        "add Condition ArnEquals aws:SourceArn (the calling resource) or StringEquals "
        "aws:SourceAccount (this account)",
        (),
        MANDATORY,
        types=tuple(RESOURCE_POLICIES),
        resource_check=_service_principals_scoped,
    ),
    # Lambda
    Rule(
        "lambda-dlq",
        "Every Lambda function has a dead-letter queue for failed asynchronous invocations",
        "set deadLetterConfig.targetArn",
        ("CKV_AWS_116",),
        ADVISORY,
        types=(FUNCTION,),
        resource_check=_lambda_dlq,
    ),
    Rule(
        "lambda-tracing-active",
        "Every Lambda function has X-Ray active tracing",
        "set tracingConfig.mode Active (s3ep: function.tracing true)",
        ("CKV_AWS_50",),
        ADVISORY,
        types=(FUNCTION,),
        resource_check=_lambda_tracing,
    ),
    Rule(
        "lambda-no-plaintext-secrets",
        "No Lambda environment variable named like a secret holds a plaintext value",
        "store the secret in Secrets Manager or SSM and pass its ARN; read it at run time",
        ("CKV_AWS_45",),
        MANDATORY,
        types=(FUNCTION,),
        resource_check=_lambda_no_plaintext_secrets,
        config={
            "allowedNames": {
                **_LIST,
                "default": [],
                "description": "Variable names that look secret but are not.",
            }
        },
    ),
    Rule(
        "lambda-supported-runtime",
        "No Lambda function uses a deprecated runtime",
        "move to a supported runtime (s3ep: function.runtime)",
        ("AwsSolutions-L1",),
        MANDATORY,
        types=(FUNCTION,),
        resource_check=_lambda_runtime,
        config={
            "deprecatedRuntimes": {
                **_LIST,
                "default": DEPRECATED_RUNTIMES,
                "description": "Runtimes treated as deprecated.",
            }
        },
    ),
    Rule(
        "lambda-permission-scoped",
        "Lambda permissions for AWS services name the source (sourceArn or sourceAccount) and "
        "none is granted to '*'",
        "set sourceArn (or sourceAccount) on aws.lambda_.Permission",
        ("CKV_AWS_364",),
        MANDATORY,
        types=(PERMISSION,),
        resource_check=_lambda_permission_scoped,
    ),
    Rule(
        "lambda-log-group-declared",
        "Every Lambda function's log group is declared in the stack (so it has a retention)",
        "declare aws.cloudwatch.LogGroup named loggingConfig.logGroup or /aws/lambda/<name>",
        (),
        MANDATORY,
        stack_check=_lambda_log_group_declared,
    ),
    # Step Functions
    Rule(
        "sfn-logging-enabled",
        "Every state machine logs to CloudWatch Logs",
        "set loggingConfiguration level (ERROR or ALL) and logDestination (s3ep: "
        "dispatch.log_level); set allowedLevels to [ALL] for cdk-nag's stricter reading",
        ("AwsSolutions-SF1",),
        MANDATORY,
        types=(STATE_MACHINE,),
        resource_check=_sfn_logging,
        config={
            "allowedLevels": {
                **_LIST,
                "default": ["ALL", "ERROR", "FATAL"],
                "description": "Logging levels that pass.",
            }
        },
    ),
    Rule(
        "sfn-tracing-enabled",
        "Every state machine has X-Ray tracing",
        "set tracingConfiguration.enabled true (s3ep: dispatch.tracing true)",
        ("AwsSolutions-SF2",),
        ADVISORY,
        types=(STATE_MACHINE,),
        resource_check=_sfn_tracing,
    ),
    # EventBridge
    Rule(
        "eventbridge-target-dlq",
        "Every EventBridge target has a dead-letter queue",
        "set deadLetterConfig.arn to an SQS queue whose policy lets this rule send",
        (),
        MANDATORY,
        types=(EVENT_TARGET,),
        resource_check=_event_target_dlq,
    ),
    # CloudWatch
    Rule(
        "log-group-retention",
        "Every CloudWatch log group has a retention",
        "set retentionInDays (s3ep: function.log_retention_days)",
        ("CKV_AWS_66",),
        MANDATORY,
        types=(LOG_GROUP,),
        resource_check=_log_group_retention,
        config={
            "minimumDays": {
                "type": "integer",
                "default": 1,
                "description": "Shortest retention that passes, days.",
            }
        },
    ),
    Rule(
        "log-group-kms",
        "Every CloudWatch log group is encrypted with a customer managed key",
        "set kmsKeyId (the component's kms_key_arn may be used: its key policy allows "
        "CloudWatch Logs for this processor's log groups)",
        ("CKV_AWS_158",),
        ADVISORY,
        types=(LOG_GROUP,),
        resource_check=_log_group_kms,
    ),
    Rule(
        "cloudwatch-alarm-has-action",
        "Every CloudWatch alarm has an enabled alarm action",
        "set alarmActions (e.g. an SNS topic) and leave actionsEnabled true",
        ("CKV_AWS_319",),
        MANDATORY,
        types=(METRIC_ALARM, COMPOSITE_ALARM),
        resource_check=_alarm_has_action,
    ),
    # SNS
    Rule(
        "sns-topic-encrypted",
        "Every SNS topic is encrypted at rest",
        "set kmsMasterKeyId (a customer managed key if CloudWatch alarms publish to it)",
        ("AwsSolutions-SNS2", "CKV_AWS_26"),
        MANDATORY,
        types=(TOPIC,),
        resource_check=_topic_encrypted,
    ),
    Rule(
        "sns-alarm-topic-customer-key",
        "A topic that CloudWatch alarms publish to is not encrypted with alias/aws/sns "
        "(CloudWatch cannot use that key, so notifications are lost)",
        "use a customer managed key whose policy lets cloudwatch.amazonaws.com use it",
        (),
        MANDATORY,
        stack_check=_alarm_topic_key,
    ),
    Rule(
        "sns-topic-tls-only",
        "Every SNS topic's policy denies publishing without TLS",
        "declare aws.sns.TopicPolicy with a Deny for Principal '*' on Condition Bool "
        "aws:SecureTransport false",
        ("AwsSolutions-SNS3",),
        ADVISORY,
        stack_check=_topic_tls_only,
    ),
    # KMS
    Rule(
        "kms-key-rotation",
        "Every symmetric customer managed KMS key rotates",
        "set enableKeyRotation true",
        ("AwsSolutions-KMS5", "CKV_AWS_7"),
        MANDATORY,
        types=(KMS_KEY,),
        resource_check=_key_rotation,
    ),
    Rule(
        "kms-key-policy-no-public-principal",
        "No KMS key policy allows Principal '*'",
        "name the principals: the account for administration, roles and scoped services for use",
        ("CKV_AWS_33",),
        MANDATORY,
        types=(KMS_KEY, KMS_KEY_POLICY),
        resource_check=_no_public_principal,
    ),
    # IAM
    Rule(
        "iam-no-wildcard-action",
        "No role policy allows a wildcard action ('*', 'service:*', NotAction) or attaches an "
        "administrator policy",
        "list the exact actions the role needs (s3ep: function.extra_policy_statements)",
        ("AwsSolutions-IAM5", "CKV_AWS_62", "CKV_AWS_63", "CKV_AWS_290"),
        MANDATORY,
        stack_check=_no_wildcard_action,
    ),
    Rule(
        "iam-no-wildcard-resource",
        "A role policy grants Resource '*' only for actions AWS does not scope to resources "
        "(s3ep_pulumi.model.security.WILDCARD_RESOURCE_EXCEPTIONS)",
        "name the exact ARNs; add an action to allowedActions only if AWS requires '*' for it",
        ("AwsSolutions-IAM5", "CKV_AWS_355"),
        MANDATORY,
        types=(ROLE_POLICY, MANAGED_POLICY, ROLE),
        resource_check=_wildcard_resource,
        config={
            "allowedActions": {
                **_LIST,
                "default": [],
                "description": "Actions allowed on '*' beyond the s3ep exceptions.",
            }
        },
    ),
    Rule(
        "iam-trust-confused-deputy",
        "A role's trust policy lets service principals assume it only with an aws:SourceAccount "
        "or aws:SourceArn condition, and never lets '*' assume it",
        "add Condition StringEquals aws:SourceAccount (and ArnLike aws:SourceArn); services "
        "that send neither (lambda.amazonaws.com) are in exemptServices",
        (),
        MANDATORY,
        types=(ROLE,),
        resource_check=_trust_confused_deputy,
        config={
            "exemptServices": {
                **_LIST,
                "default": ["lambda.amazonaws.com"],
                "description": "Services that do not send the source keys when assuming a role.",
            }
        },
    ),
    Rule(
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
    ),
    Rule(
        "iam-no-aws-managed-policies",
        "Roles do not attach AWS managed policies (they grant more than one workload needs)",
        "replace the managed policy with an inline policy of exact actions and ARNs",
        ("AwsSolutions-IAM4",),
        ADVISORY,
        types=(ROLE_POLICY_ATTACHMENT, ROLE),
        resource_check=_no_aws_managed_policies,
    ),
)

RULES_BY_NAME: dict[str, Rule] = {r.name: r for r in RULES}
POLICIES: list[ResourceValidationPolicy | StackValidationPolicy] = [r.policy() for r in RULES]
