"""Expected failures that services raise; the API layer turns them into typed results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError as PydanticValidationError


@dataclass(frozen=True)
class FieldProblem:
    field: str | None  # a dotted path into the input, e.g. "events.3.occurredAt"
    message: str


class DomainError(Exception):
    code = "ERROR"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.problems: list[FieldProblem] = [FieldProblem(field, message)]


class ValidationFailed(DomainError):
    code = "VALIDATION"

    @classmethod
    def of(cls, problems: Sequence[FieldProblem]) -> ValidationFailed:
        error = cls(problems[0].message, field=problems[0].field)
        error.problems = list(problems)
        return error

    @classmethod
    def from_pydantic(cls, exc: PydanticValidationError, *, prefix: str = "") -> ValidationFailed:
        return cls.of(
            [
                FieldProblem(
                    ".".join([p for p in [prefix, *map(_camel, err["loc"])] if p]) or None,
                    err["msg"].removeprefix("Value error, "),
                )
                for err in exc.errors()
            ]
        )


def _camel(part: object) -> str:
    # Paths name inputs as clients wrote them: GraphQL fields are camelCase.
    head, *rest = str(part).split("_")
    return head + "".join(word.title() for word in rest)


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class Forbidden(DomainError):
    code = "FORBIDDEN"
