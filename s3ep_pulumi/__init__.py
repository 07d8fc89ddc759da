"""s3ep: an S3 event processor as one Pulumi component.

from s3ep_pulumi import S3EventProcessor
S3EventProcessor("images", {"name_prefix": "img", "function": {...}})
"""

from s3ep_pulumi.component import S3EventProcessor
from s3ep_pulumi.config import (
    BucketConfig,
    DispatchConfig,
    FunctionConfig,
    QueueConfig,
    RetryConfig,
    S3EventProcessorArgs,
    VpcConfig,
)
from s3ep_pulumi.errors import ConfigError, S3epError

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
