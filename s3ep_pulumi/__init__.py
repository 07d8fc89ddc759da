"""s3ep: an S3 event processor as one Pulumi component.

    from s3ep_pulumi import S3EventProcessor
    S3EventProcessor("images", {"name_prefix": "img", "function": {...}})

The names below are imported on first use (PEP 562), so `import s3ep_pulumi.policy` or
`import s3ep_pulumi.runtime` never loads pulumi-aws. The folders, one per audience:
`model` (what a user can say), `builders` (pure JSON documents), `component` (the only place
resources are declared), `runtime` (the Lambda shim), `policy` (the CrossGuard rules) and
`local` (the offline tools behind the `s3ep` command).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from s3ep_pulumi.component.processor import S3EventProcessor
    from s3ep_pulumi.errors import ConfigError, S3epError
    from s3ep_pulumi.model.args import S3EventProcessorArgs
    from s3ep_pulumi.model.sections import (
        BucketConfig,
        DispatchConfig,
        FunctionConfig,
        QueueConfig,
        RetryConfig,
        VpcConfig,
    )

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "S3EventProcessor": "s3ep_pulumi.component.processor",
    "S3EventProcessorArgs": "s3ep_pulumi.model.args",
    "BucketConfig": "s3ep_pulumi.model.sections",
    "DispatchConfig": "s3ep_pulumi.model.sections",
    "FunctionConfig": "s3ep_pulumi.model.sections",
    "QueueConfig": "s3ep_pulumi.model.sections",
    "RetryConfig": "s3ep_pulumi.model.sections",
    "VpcConfig": "s3ep_pulumi.model.sections",
    "ConfigError": "s3ep_pulumi.errors",
    "S3epError": "s3ep_pulumi.errors",
}

__all__ = [
    "BucketConfig",
    "ConfigError",
    "DispatchConfig",
    "FunctionConfig",
    "QueueConfig",
    "RetryConfig",
    "S3EventProcessor",
    "S3EventProcessorArgs",
    "S3epError",
    "VpcConfig",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 's3ep_pulumi' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
