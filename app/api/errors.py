"""How failures reach clients: typed `userErrors` in payloads for expected failures,
readable GraphQL errors for what a client can fix, and a masked message for the rest."""

from __future__ import annotations

import logging
from enum import Enum

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors

from app.db import timed_out, unavailable, write_conflict
from app.errors import DomainError

logger = logging.getLogger("opsgraph.api")


@strawberry.enum(description="Why a mutation did not do what was asked.")
class ErrorCode(Enum):
    VALIDATION = "VALIDATION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    FORBIDDEN = "FORBIDDEN"


@strawberry.type(description="An expected failure: nothing was written.")
class UserError:
    field: str | None = strawberry.field(
        description="Dotted path of the offending input, e.g. `events.3.occurredAt`."
    )
    message: str
    code: ErrorCode


def user_errors(error: DomainError) -> list[UserError]:
    return [
        UserError(field=p.field, message=p.message, code=ErrorCode(error.code))
        for p in error.problems
    ]


class ClientError(GraphQLError):
    """A request-level error the client can fix (authentication, permission, limits)."""

    def __init__(self, message: str, code: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


class ShapeErrors(MaskErrors):
    """Keeps what a client can fix readable and masks everything else.

    Syntax and validation errors carry no original error and pass unchanged (strawberry's
    default masks them too); our ClientErrors pass unchanged; a service's DomainError in a
    query becomes a readable error with its code; statement timeouts and an unreachable
    database get codes of their own (TIMEOUT, DATABASE_UNAVAILABLE); the rest is logged
    and masked.
    """

    def __init__(self) -> None:
        super().__init__(
            should_mask_error=_is_not_for_clients,
            error_message="Unexpected error. It has been logged; retry, or tell the operators.",
        )

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if isinstance(original, DomainError):
            return GraphQLError(
                str(original),
                nodes=error.nodes,
                path=error.path,
                extensions={"code": original.code, "field": original.problems[0].field},
            )
        if original is not None and timed_out(original):
            return GraphQLError(
                "the query ran longer than the statement timeout; narrow it (dates, first)",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "TIMEOUT"},
            )
        if original is not None and write_conflict(original):
            return GraphQLError(
                "a concurrent write conflicted with this one; nothing was written, retry",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "WRITE_CONFLICT", "retryable": True},
            )
        if original is not None and unavailable(original):
            logger.warning("database unavailable at %s: %s", error.path, original)
            return GraphQLError(
                "the database is unavailable; retry shortly",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "DATABASE_UNAVAILABLE", "retryable": True},
            )
        logger.error("unexpected error at %s", error.path, exc_info=original)
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL"}
        return masked


def _is_not_for_clients(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)
