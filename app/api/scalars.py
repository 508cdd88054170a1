"""Scalar overrides: DateTime parsed by the standard library first.

Strawberry parses every DateTime input with dateutil's isoparse, in Python: a seventh of
a 1,000-event batch's time. `datetime.fromisoformat` (C, and complete ISO 8601 since
Python 3.11) parses the common forms; anything it refuses still goes to isoparse, so
what is accepted, and the errors for what is not, stay strawberry's.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dateutil.parser import isoparse
from strawberry.schema.types.base_scalars import DateTimeDefinition, wrap_parser


def _parse_datetime(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return isoparse(value)


SCALAR_OVERRIDES = {
    datetime: replace(DateTimeDefinition, parse_value=wrap_parser(_parse_datetime, "DateTime"))
}
