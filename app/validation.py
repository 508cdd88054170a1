"""Input validation shared by the services: pydantic models whose errors become field paths."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from app.errors import ValidationFailed

Model = TypeVar("Model", bound=BaseModel)

# Text that must say something: surrounding whitespace is dropped, then it may not be empty.
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Key = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class Input(BaseModel):
    """Base of service inputs: unknown fields are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def parse(model: type[Model], data: dict[str, Any], *, prefix: str = "") -> Model:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise ValidationFailed.from_pydantic(exc, prefix=prefix) from None
