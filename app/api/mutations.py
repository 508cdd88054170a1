"""Runs a mutation's work as one unit of work and shapes the outcome into its payload."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry import UNSET, Info

from app.api.errors import user_errors
from app.errors import DomainError

Result = TypeVar("Result")
Payload = TypeVar("Payload")


async def mutate(
    info: Info,
    work: Callable[[AsyncSession], Awaitable[Result]],
    *,
    ok: Callable[[Result], Payload],
    failed: Callable[..., Payload],
) -> Payload:
    """Commit `work` and present it with `ok`, or roll everything back and return
    `failed(user_errors=[...])` when a service reported an expected failure."""
    try:
        async with info.context.db.unit_of_work() as session:
            result = await work(session)
    except DomainError as error:
        return failed(user_errors=user_errors(error))
    return ok(result)


def provided(input_object: Any) -> dict[str, Any]:
    """The fields a client actually sent, as plain data for the service to validate;
    updates use it to tell an absent field from an explicit null."""
    return {k: _plain(v) for k, v in vars(input_object).items() if v is not UNSET}


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if hasattr(value, "__strawberry_definition__"):
        return provided(value)
    return value
