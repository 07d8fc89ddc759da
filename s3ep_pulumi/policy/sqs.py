"""SQS: queues are encrypted with a key their senders can use, TLS-only and dead-lettered, and
the queue a dispatcher drains hides a message for as long as the dispatcher may hold it."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import PolicyResource

from s3ep_pulumi.model.limits import (
    SQS_RETENTION_DEFAULT_SECONDS,
    SQS_VISIBILITY_TIMEOUT_DEFAULT_SECONDS,
)
from s3ep_pulumi.model.security import (
    AWS_MANAGED_SQS_KEY,
    IN_FLIGHT_TAG,
    PROCESSOR_TAG,
)
from s3ep_pulumi.policy.base import (
    MANDATORY,
    STRING_LIST,
    Config,
    Props,
    Rule,
    document,
    identities,
    number,
    of_type,
    refers_to,
    tag,
    without_tls_deny,
)
from s3ep_pulumi.policy.resource_policies import no_public_principal
from s3ep_pulumi.policy.tokens import (
    EVENT_TARGET,
    FUNCTION,
    QUEUE,
    QUEUE_POLICY,
    REDRIVE_ALLOW,
    STATE_MACHINE,
    TOPIC_SUBSCRIPTION,
)


def _encrypted(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if props.get("sqsManagedSseEnabled") is not True and not props.get("kmsMasterKeyId"):
        yield "neither sqsManagedSseEnabled nor kmsMasterKeyId is set"


ENCRYPTED = Rule(
    "sqs-queue-encrypted",
    "Every SQS queue is encrypted at rest",
    "set sqsManagedSseEnabled true or kmsMasterKeyId to a customer managed key",
    ("AwsSolutions-SQS2", "CKV_AWS_27"),
    MANDATORY,
    types=(QUEUE,),
    resource_check=_encrypted,
)


def _no_aws_managed_key(type_token: str, props: Props, _: Config) -> Iterator[str]:
    key = props.get("kmsMasterKeyId")
    if isinstance(key, str) and AWS_MANAGED_SQS_KEY.search(key):
        yield "kmsMasterKeyId is the AWS managed key alias/aws/sqs"


NO_AWS_MANAGED_KEY = Rule(
    "sqs-queue-no-aws-managed-key",
    "No SQS queue uses the AWS managed key alias/aws/sqs (EventBridge, SNS and S3 cannot "
    "use it and drop their deliveries silently)",
    "use SQS-managed encryption or a customer managed key whose policy lets the senders use it",
    (),
    MANDATORY,
    types=(QUEUE,),
    resource_check=_no_aws_managed_key,
)


def _tls_only(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    for queue in without_tls_deny(resources, (QUEUE,), QUEUE_POLICY, "queueUrl"):
        yield queue.urn, "no queue policy denies aws:SecureTransport = false"


TLS_ONLY = Rule(
    "sqs-queue-tls-only",
    "Every SQS queue's policy denies requests made without TLS",
    "declare aws.sqs.QueuePolicy with a Deny for Principal '*' on Condition Bool "
    "aws:SecureTransport false",
    ("AwsSolutions-SQS4",),
    MANDATORY,
    stack_check=_tls_only,
)


def _dead_letter_arns(resources: list[PolicyResource]) -> set[str]:
    """ARNs used as a dead-letter target by any queue, rule target, function or subscription."""
    out: set[str] = set()
    for r in of_type(resources, QUEUE, TOPIC_SUBSCRIPTION):
        redrive = document(r.props.get("redrivePolicy"))
        if redrive and isinstance(redrive.get("deadLetterTargetArn"), str):
            out.add(redrive["deadLetterTargetArn"])
    for r in of_type(resources, EVENT_TARGET):
        out.add(str((r.props.get("deadLetterConfig") or {}).get("arn", "")))
    for r in of_type(resources, FUNCTION):
        out.add(str((r.props.get("deadLetterConfig") or {}).get("targetArn", "")))
    return out - {""}


def _is_dead_letter_queue(queue: PolicyResource, resources: list[PolicyResource]) -> bool:
    if queue.props.get("redriveAllowPolicy"):
        return True
    if any(refers_to(a, "queueUrl", queue) for a in of_type(resources, REDRIVE_ALLOW)):
        return True
    return bool(identities(queue) & _dead_letter_arns(resources))


def _has_dlq(resources: list[PolicyResource], config: Config) -> Iterator[tuple[str, str]]:
    exempt = set(config["exemptQueueNames"])
    for queue in of_type(resources, QUEUE):
        if queue.props.get("name") in exempt or _is_dead_letter_queue(queue, resources):
            continue
        if not document(queue.props.get("redrivePolicy")):
            yield queue.urn, "this queue is not a DLQ and has no redrivePolicy"


HAS_DLQ = Rule(
    "sqs-queue-has-dlq",
    "Every SQS queue that is not itself a dead-letter queue has a redrive policy",
    "set redrivePolicy with deadLetterTargetArn and maxReceiveCount",
    ("AwsSolutions-SQS3",),
    MANDATORY,
    stack_check=_has_dlq,
    config={
        "exemptQueueNames": {
            **STRING_LIST,
            "default": [],
            "description": "Queue names this rule skips.",
        }
    },
)


def _same_processor(a: PolicyResource, b: PolicyResource) -> bool:
    processor = tag(a.props, PROCESSOR_TAG)
    return processor is not None and processor == tag(b.props, PROCESSOR_TAG)


def _visibility_covers_dispatcher(
    resources: list[PolicyResource], _: Config
) -> Iterator[tuple[str, str]]:
    for machine in of_type(resources, STATE_MACHINE):
        declared = tag(machine.props, IN_FLIGHT_TAG)
        if declared is None:
            continue
        worst = int(float(declared))
        drained = [
            q
            for q in of_type(resources, QUEUE)
            if _same_processor(q, machine) and document(q.props.get("redrivePolicy"))
        ]
        if not drained:
            yield (
                machine.urn,
                "no queue with a redrivePolicy shares this dispatcher's processor tag",
            )
        for queue in drained:
            timeout = number(queue.props.get("visibilityTimeoutSeconds"))
            visibility = (
                float(SQS_VISIBILITY_TIMEOUT_DEFAULT_SECONDS) if timeout is None else timeout
            )
            if visibility < worst:
                yield (
                    queue.urn,
                    f"visibilityTimeoutSeconds {visibility:g} is below {worst}, the longest its "
                    f"dispatcher {machine.name} may hold a message",
                )


VISIBILITY_COVERS_DISPATCHER = Rule(
    "sqs-visibility-covers-dispatcher",
    f"The queue a dispatcher drains has a visibility timeout at least the dispatcher's "
    f"worst-case in-flight time (state machine tag {IN_FLIGHT_TAG})",
    "omit queue.visibility_timeout_seconds (it then defaults to the worst case) or raise it",
    (),
    MANDATORY,
    stack_check=_visibility_covers_dispatcher,
)


def _retention(queue: PolicyResource) -> float:
    """Seconds the queue keeps a message."""
    return number(queue.props.get("messageRetentionSeconds")) or float(
        SQS_RETENTION_DEFAULT_SECONDS
    )


def _dlq_retention_exceeds_source(
    resources: list[PolicyResource], _: Config
) -> Iterator[tuple[str, str]]:
    queues = of_type(resources, QUEUE)
    for source in queues:
        redrive = document(source.props.get("redrivePolicy"))
        if not redrive:
            continue
        target = str(redrive.get("deadLetterTargetArn", ""))
        source_seconds = _retention(source)
        for dlq in queues:
            if target in identities(dlq):
                dlq_seconds = _retention(dlq)
                if dlq_seconds <= source_seconds:
                    yield (
                        dlq.urn,
                        f"messageRetentionSeconds {dlq_seconds:.0f} does not exceed its source "
                        f"{source.name}'s {source_seconds:.0f}; dead letters keep their first "
                        "enqueue time and would expire early",
                    )


DLQ_RETENTION_EXCEEDS_SOURCE = Rule(
    "sqs-dlq-retention-exceeds-source",
    "A dead-letter queue keeps messages longer than its source queue",
    "raise the DLQ's messageRetentionSeconds (s3ep: queue.dlq_retention_seconds) above "
    "the source's",
    (),
    MANDATORY,
    stack_check=_dlq_retention_exceeds_source,
)

# The check is shared with the S3 and KMS policies (resource_policies.no_public_principal).
POLICY_NO_PUBLIC_PRINCIPAL = Rule(
    "sqs-queue-policy-no-public-principal",
    "No SQS queue policy allows Principal '*'",
    "name the principals (accounts, roles or service principals with aws:SourceArn)",
    ("CKV_AWS_168",),
    MANDATORY,
    types=(QUEUE_POLICY, QUEUE),
    resource_check=no_public_principal,
)

RULES = (
    ENCRYPTED,
    NO_AWS_MANAGED_KEY,
    TLS_ONLY,
    HAS_DLQ,
    VISIBILITY_COVERS_DISPATCHER,
    DLQ_RETENTION_EXCEEDS_SOURCE,
    POLICY_NO_PUBLIC_PRINCIPAL,
)
