"""A fast path for bulk inputs: list arguments of flat inputs, such as event batches.

Strawberry converts each input value field by field, resolving every field's type and
name again for every value, and the resolver then turns each instance back into the
plain fields the service validates (`provided`). For a 1,000-event batch that was 8.5 ms
of CPU before any SQL. graphql-core has already coerced each field to its Python value,
so a flat input (scalar fields only) needs no more than its keys renamed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from strawberry.types.arguments import InputContext

T = TypeVar("T")


def plain_input(cls: type[T]) -> type[T]:
    """Makes `cls` (a strawberry input whose fields are all scalars) arrive in resolvers
    as what `provided` would make of it: a dict of the fields the client sent, by Python
    name. Annotate such arguments as dicts, with the input as their `graphql_type`."""
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    python_names: dict[int, dict[str, str]] = {}  # by id(config): one map per schema

    def from_input(type_: type, value: Mapping[str, Any], context: InputContext) -> dict[str, Any]:
        names = python_names.get(id(context.config))
        if names is None:
            converter = context.config.name_converter
            names = python_names[id(context.config)] = {
                converter.from_field(field): field.python_name for field in definition.fields
            }
        return {names[key]: item for key, item in value.items()}

    definition.from_input = from_input
    return cls
