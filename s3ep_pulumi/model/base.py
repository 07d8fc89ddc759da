"""The strict base of every config section, and the value types sections share."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

KmsArn = Annotated[
    str,
    Field(pattern=r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_+=.@-]+$"),
]
EventType = Literal["created", "deleted"]
Runtime = Literal["python3.11", "python3.12", "python3.13"]
RUNTIMES: tuple[str, ...] = get_args(Runtime)


class Section(BaseModel):
    """Strict base: unknown keys are errors, defaults are validated, camelCase accepted."""

    model_config = ConfigDict(
        extra="forbid",
        validate_default=True,
        populate_by_name=True,
        alias_generator=to_camel,
        loc_by_alias=False,
        frozen=True,
    )
