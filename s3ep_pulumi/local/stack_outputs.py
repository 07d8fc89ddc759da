"""A deployed stack, as the operations commands (`s3ep redrive`, `status`, `backfill`) see it.

Two sources, joined: the stack's configuration (`stacks/Pulumi.<stack>.yaml`, which gives every
physical name and setting: filters, rate, alarm names, the rule DLQ and the lease queue) and the
deployed stack's outputs (`queue_url`, `dlq_arn`, `state_machine_arn`, ...). Outputs come from
the Pulumi Automation API when the Pulumi CLI is on PATH
(`pulumi.automation.select_stack(...).outputs()`), else from a file given with `--outputs FILE`
(what `pulumi stack output --json` prints). Without either, one clear error.

Every AWS call of those commands runs inside `aws_errors()`, which turns missing credentials,
a missing region and refusals into one line (`AwsError`), never a traceback.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from s3ep_pulumi.component import stack as stack_module
from s3ep_pulumi.errors import S3epError
from s3ep_pulumi.model.args import S3EventProcessorArgs
from s3ep_pulumi.model.naming import Names

PULUMI_CLI = "pulumi"


class NoOutputsError(S3epError):
    """The deployed stack's outputs cannot be read: no Pulumi CLI and no `--outputs` file, a file
    that is not `pulumi stack output --json`, or a stack without the output a command needs."""


class AwsError(S3epError):
    """An AWS call failed in a way the user must fix: no credentials, no region, access denied,
    a resource the outputs name that does not exist."""


@dataclass(frozen=True)
class Deployed:
    """One deployed processor: its validated configuration and its stack outputs."""

    stack: str
    args: S3EventProcessorArgs
    outputs: dict[str, Any]

    @property
    def names(self) -> Names:
        return self.args.names

    def output(self, key: str) -> str:
        """A stack output the command cannot do without; NoOutputsError names it."""
        value = self.outputs.get(key)
        if not isinstance(value, str) or not value:
            raise NoOutputsError(
                f"stack '{self.stack}' has no output '{key}' (outputs: "
                f"{', '.join(sorted(self.outputs)) or 'none'}); deploy it with `pulumi up` first"
            )
        return value


def read_outputs_file(path: Path) -> dict[str, Any]:
    """The JSON object `pulumi stack output --json` prints, from a file."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise NoOutputsError(f"--outputs {path}: no such file") from None
    except ValueError as error:
        raise NoOutputsError(f"--outputs {path}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise NoOutputsError(f"--outputs {path}: expected the object `pulumi stack output --json`")
    return data


def automation_outputs(stack: str, work_dir: Path) -> dict[str, Any]:
    """The stack's outputs through the Pulumi Automation API (needs the Pulumi CLI)."""
    from pulumi import automation

    try:
        selected = automation.select_stack(stack_name=stack, work_dir=str(work_dir))
        return {key: value.value for key, value in selected.outputs().items()}
    except automation.errors.CommandError as error:
        # The message is the command's code, stdout and stderr; the last error line says why.
        lines = [line.strip() for line in str(error).splitlines() if "error:" in line]
        why = lines[-1].split("error:", 1)[1].strip() if lines else str(error).strip()
        raise NoOutputsError(f"pulumi cannot read stack '{stack}': {why}") from None


def stack_outputs(stack: str, outputs_file: Path | None, work_dir: Path = Path()) -> dict[str, Any]:
    """Outputs from `outputs_file` if given, else from Pulumi; NoOutputsError if neither."""
    if outputs_file is not None:
        return read_outputs_file(outputs_file)
    if shutil.which(PULUMI_CLI) is None:
        raise NoOutputsError(
            f"no Pulumi CLI on PATH to read stack '{stack}''s outputs: pass --outputs FILE "
            f"(from `pulumi stack output --json --stack {stack} > FILE`)"
        )
    return automation_outputs(stack, work_dir)


def load(
    stack: str, outputs_file: Path | None = None, stacks_dir: Path = stack_module.STACKS_DIR
) -> Deployed:
    """The deployed stack `stack`: ConfigError for an unknown or invalid stack file,
    NoOutputsError when its outputs cannot be read."""
    config = stack_module.read_stack_config(stack, stacks_dir)
    key = f"{stack_module.CONFIG_NAMESPACE}:{stack_module.CONFIG_KEY}"
    source = str(stack_module.stack_file(stack, stacks_dir))
    args = stack_module.parse_args(config.get(key), source)
    return Deployed(stack, args, stack_outputs(stack, outputs_file, stacks_dir.parent))


@contextmanager
def aws_errors() -> Iterator[None]:
    """Turn the AWS failures a user fixes (credentials, region, access, missing resources) into
    one-line `AwsError`s."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
    )

    try:
        yield
    except NoCredentialsError:
        raise AwsError(
            "no AWS credentials: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY) for the stack's account"
        ) from None
    except NoRegionError:
        raise AwsError("no AWS region: set AWS_REGION to the stack's region") from None
    except ClientError as error:
        info = error.response.get("Error", {})
        operation = getattr(error, "operation_name", "an AWS call")
        raise AwsError(
            f"{operation} failed: {info.get('Code', 'error')}: {info.get('Message', error)}"
        ) from None
    except BotoCoreError as error:
        raise AwsError(str(error)) from None


def queue_url_by_name(name: str) -> str:
    """The URL of the queue `name` in the current account and region (AwsError if none)."""
    import boto3

    return str(boto3.client("sqs").get_queue_url(QueueName=name)["QueueUrl"])


def queue_arn(url: str) -> str:
    import boto3

    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn"]
    )["Attributes"]
    return str(attributes["QueueArn"])
