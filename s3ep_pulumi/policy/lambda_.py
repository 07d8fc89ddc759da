"""Lambda: functions are dead-lettered, traced, free of plaintext secrets, on a supported runtime,
invocable only by named sources, and log to a group the stack declares."""

from __future__ import annotations

import re
from collections.abc import Iterator

from pulumi_policy import PolicyResource

from s3ep_pulumi.model.limits import LAMBDA_LOG_GROUP_PREFIX
from s3ep_pulumi.policy.base import (
    ADVISORY,
    MANDATORY,
    STRING_LIST,
    Config,
    Props,
    Rule,
    of_type,
)
from s3ep_pulumi.policy.tokens import EVENT_SOURCE_MAPPING, FUNCTION, LOG_GROUP, PERMISSION


def _dlq(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if not (props.get("deadLetterConfig") or {}).get("targetArn"):
        yield "deadLetterConfig.targetArn is not set"


DLQ = Rule(
    "lambda-dlq",
    "Every Lambda function has a dead-letter queue for failed asynchronous invocations",
    "set deadLetterConfig.targetArn",
    ("CKV_AWS_116",),
    ADVISORY,
    types=(FUNCTION,),
    resource_check=_dlq,
)


def _tracing(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if (props.get("tracingConfig") or {}).get("mode") != "Active":
        yield "tracingConfig.mode is not Active"


TRACING_ACTIVE = Rule(
    "lambda-tracing-active",
    "Every Lambda function has X-Ray active tracing",
    "set tracingConfig.mode Active (s3ep: function.tracing true)",
    ("CKV_AWS_50",),
    ADVISORY,
    types=(FUNCTION,),
    resource_check=_tracing,
)

SECRET_NAME = r"(?i)(secret|passw(or)?d|token|api_?key|private_?key|credential)"


def _no_plaintext_secrets(type_token: str, props: Props, config: Config) -> Iterator[str]:
    variables = (props.get("environment") or {}).get("variables") or {}
    allowed = set(config["allowedNames"])
    for name, value in variables.items():
        if name in allowed or not re.search(SECRET_NAME, name):
            continue
        if isinstance(value, str) and value and not value.startswith(("arn:", "{{resolve:")):
            yield f"environment variable {name} holds a plaintext value"


NO_PLAINTEXT_SECRETS = Rule(
    "lambda-no-plaintext-secrets",
    "No Lambda environment variable named like a secret holds a plaintext value",
    "store the secret in Secrets Manager or SSM and pass its ARN; read it at run time",
    ("CKV_AWS_45",),
    MANDATORY,
    types=(FUNCTION,),
    resource_check=_no_plaintext_secrets,
    config={
        "allowedNames": {
            **STRING_LIST,
            "default": [],
            "description": "Variable names that look secret but are not.",
        }
    },
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


def _supported_runtime(type_token: str, props: Props, config: Config) -> Iterator[str]:
    runtime = props.get("runtime")
    if runtime in config["deprecatedRuntimes"]:
        yield f"runtime {runtime} is deprecated"


SUPPORTED_RUNTIME = Rule(
    "lambda-supported-runtime",
    "No Lambda function uses a deprecated runtime",
    "move to a supported runtime (s3ep: function.runtime)",
    ("AwsSolutions-L1",),
    MANDATORY,
    types=(FUNCTION,),
    resource_check=_supported_runtime,
    config={
        "deprecatedRuntimes": {
            **STRING_LIST,
            "default": DEPRECATED_RUNTIMES,
            "description": "Runtimes treated as deprecated.",
        }
    },
)


def _permission_scoped(type_token: str, props: Props, _: Config) -> Iterator[str]:
    principal = str(props.get("principal", ""))
    if principal == "*":
        yield "principal is '*'"
    elif principal.endswith(".amazonaws.com") and not (
        props.get("sourceArn") or props.get("sourceAccount")
    ):
        yield f"{principal} may invoke without sourceArn or sourceAccount"


PERMISSION_SCOPED = Rule(
    "lambda-permission-scoped",
    "Lambda permissions for AWS services name the source (sourceArn or sourceAccount) and "
    "none is granted to '*'",
    "set sourceArn (or sourceAccount) on aws.lambda_.Permission",
    ("CKV_AWS_364",),
    MANDATORY,
    types=(PERMISSION,),
    resource_check=_permission_scoped,
)


def _log_group_declared(resources: list[PolicyResource], _: Config) -> Iterator[tuple[str, str]]:
    declared = {str(g.props.get("name")) for g in of_type(resources, LOG_GROUP)}
    for fn in of_type(resources, FUNCTION):
        group = (fn.props.get("loggingConfig") or {}).get("logGroup") or (
            f"{LAMBDA_LOG_GROUP_PREFIX}{fn.props.get('name')}"
        )
        if group not in declared:
            yield (
                fn.urn,
                f"its log group {group} is not declared, so Lambda creates it without retention",
            )


LOG_GROUP_DECLARED = Rule(
    "lambda-log-group-declared",
    "Every Lambda function's log group is declared in the stack (so it has a retention)",
    "declare aws.cloudwatch.LogGroup named loggingConfig.logGroup or "
    f"{LAMBDA_LOG_GROUP_PREFIX}<name>",
    (),
    MANDATORY,
    stack_check=_log_group_declared,
)


def _reports_batch_item_failures(type_token: str, props: Props, _: Config) -> Iterator[str]:
    if ":sqs:" not in str(props.get("eventSourceArn") or ""):
        return  # a stream or broker source: partial batch responses mean something else there
    if "ReportBatchItemFailures" not in (props.get("functionResponseTypes") or []):
        yield (
            "this SQS event source mapping has no ReportBatchItemFailures: Lambda ignores the "
            "function's batchItemFailures, so one failed message retries its whole batch (and "
            "a function that answers instead of raising has its failed messages deleted)"
        )


SQS_MAPPING_REPORTS_FAILURES = Rule(
    "lambda-sqs-mapping-reports-batch-item-failures",
    "Every SQS event source mapping reports batch item failures (an SQS event source mapping "
    "without ReportBatchItemFailures retries whole batches)",
    "set functionResponseTypes ['ReportBatchItemFailures'] and answer batchItemFailures "
    "(the s3ep shim does)",
    (),
    MANDATORY,
    types=(EVENT_SOURCE_MAPPING,),
    resource_check=_reports_batch_item_failures,
)

RULES = (
    DLQ,
    TRACING_ACTIVE,
    NO_PLAINTEXT_SECRETS,
    SUPPORTED_RUNTIME,
    PERMISSION_SCOPED,
    LOG_GROUP_DECLARED,
    SQS_MAPPING_REPORTS_FAILURES,
)
