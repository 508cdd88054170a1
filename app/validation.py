"""Input validation shared by the services: pydantic models whose errors become field paths."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic import ValidationError as PydanticValidationError

from app.db import MAX_ID
from app.errors import ValidationFailed

Model = TypeVar("Model", bound=BaseModel)

# Text that must say something: surrounding whitespace is dropped, then it may not be empty.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Key = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# A row's id, as inputs name one: a number outside the 32-bit keys names no row, and would
# fail in the database driver instead of finding nothing.
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


# Dates a person could mean: outside them, date arithmetic overflows and nothing is stored.
EARLIEST, LATEST = date(1970, 1, 1), date(2200, 12, 31)


class Input(BaseModel):
    """Base of service inputs: unknown fields are errors, not silently dropped; text may not
    hold NUL characters (PostgreSQL cannot store them); dates stay within EARLIEST–LATEST."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError("text may not contain NUL characters")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _plausible_dates(cls, value: Any) -> Any:
        day = value.date() if isinstance(value, datetime) else value
        if isinstance(day, date) and not EARLIEST <= day <= LATEST:
            raise ValueError(f"dates must lie between {EARLIEST} and {LATEST}")
        return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    return False


def parse(model: type[Model], data: dict[str, Any], *, prefix: str = "") -> Model:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationFailed.from_pydantic(exc, prefix=prefix) from None
