"""Payloads shared by every domain's mutations."""

from __future__ import annotations

import strawberry

from app.api.errors import UserError
from app.db import can_name_a_row
from app.errors import NotFound


@strawberry.type(description="The outcome of a delete: the id that is gone, or why not.")
class DeletePayload:
    deleted_id: strawberry.ID | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    def of(cls, deleted_id: int) -> DeletePayload:
        return cls(deleted_id=strawberry.ID(str(deleted_id)))


def parse_id(value: strawberry.ID, *, field: str = "id") -> int:
    """Ids are integers on the wire as strings; anything else cannot name a row."""
    try:
        row_id = int(value)
    except (TypeError, ValueError):
        raise NotFound(f"no such id {value!r}", field=field) from None
    if not can_name_a_row(row_id):
        raise NotFound(f"no such id {value!r}", field=field)
    return row_id


def parse_optional_id(value: strawberry.ID | None, *, field: str = "id") -> int | None:
    """`parse_id` for an argument that may be left out."""
    return None if value is None else parse_id(value, field=field)
