"""`S3EventProcessorArgs`: the root of the configuration model, and its derived values.

`S3EventProcessorArgs` is what a user writes, in Python or under `s3ep:processor` in a stack's
YAML. Field names are snake_case; camelCase aliases are accepted too. Every field documents its
unit and default, and `docs/configuration.md` is generated from these descriptions.

Cross-field rules run after each field is valid and are reported together in one
`pydantic.ValidationError`, each error located at the field to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any, Self

from pydantic import Field, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from s3ep_pulumi.model.base import Section
from s3ep_pulumi.model.budget import Budget
from s3ep_pulumi.model.monitoring import MonitoringConfig
from s3ep_pulumi.model.naming import Names
from s3ep_pulumi.model.rules import cross_field_problems
from s3ep_pulumi.model.sections import (
    BackfillConfig,
    BucketConfig,
    DispatchConfig,
    FunctionConfig,
    QueueConfig,
    SecurityConfig,
)


class S3EventProcessorArgs(Section):
    """Everything one S3 event processor needs. Only `name_prefix` and the function's code are
    required; every other option has a production default."""

    name_prefix: str = Field(
        pattern=r"^[a-z][a-z0-9-]*[a-z0-9]$",
        description=(
            "Prefix of every physical name: lower case letters, digits and '-'. Every name built "
            "from it must fit its service's length limit: at most 31 characters for the default "
            "bucket name (63 with account and region), 48 with bucket.name or an existing "
            "bucket (IAM roles: 64)."
        ),
    )
    tags: dict[str, str] = Field(default_factory=dict, description="Tags on every resource.")
    bucket: BucketConfig = Field(default_factory=BucketConfig)
    queue: QueueConfig = Field(default_factory=QueueConfig)
    dispatch: DispatchConfig = Field(default_factory=DispatchConfig)
    function: FunctionConfig = Field(default_factory=FunctionConfig)
    security: SecurityConfig = Field(default_factory=SecurityConfig)
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)
    backfill: BackfillConfig = Field(default_factory=BackfillConfig)

    # --- derived values: one place each -------------------------------------------------------

    @property
    def function_name(self) -> str:
        if self.function.existing_function_arn:
            return self.function.existing_function_arn.split(":")[6]
        return self.function.name or f"{self.name_prefix}-processor"

    @property
    def names(self) -> Names:
        return Names.derive(
            self.name_prefix,
            self.function_name,
            self.bucket.existing_bucket_name or self.bucket.name,
        )

    @cached_property
    def budget(self) -> Budget:
        """The dispatcher's timing model for this configuration, computed once."""
        return Budget.of(self)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose timing model is computed afresh (a cached one may no longer match)."""
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("budget", None)
        return copy

    # --- cross-field rules --------------------------------------------------------------------

    @model_validator(mode="after")
    def _cross_field_rules(self) -> S3EventProcessorArgs:
        problems = list(cross_field_problems(self))
        if problems:
            raise ValidationError.from_exception_data(
                type(self).__name__,
                [
                    InitErrorDetails(
                        type=PydanticCustomError("cross_field", message), loc=loc, input=value
                    )
                    for loc, message, value in problems
                ],
            )
        return self
