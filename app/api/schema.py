"""The GraphQL schema: every domain's Query and Mutation merged into one root each."""

from __future__ import annotations

from importlib import import_module

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from app.api.errors import ShapeErrors
from app.api.limits import limit_extensions
from app.api.operation_metrics import OperationMetrics
from app.api.response_cache import ResponseCaching
from app.api.scalars import SCALAR_OVERRIDES
from app.settings import Settings

# Each domain's resolvers module defines `Query` and, if it writes, `Mutation`.
DOMAINS = (
    "auth",
    "users",
    "events",
    "feedback",
    "campaigns",
    "surveys",
    "segments",
    "knowledge",
    "metrics",
)


def _roots(name: str) -> list[type]:
    modules = [import_module(f"app.{domain}.resolvers") for domain in DOMAINS]
    return [getattr(module, name) for module in modules if hasattr(module, name)]


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Strawberry logs every error with its traceback, including those a client caused
        and was told about (validation, NOT_FOUND, limits), which would bury the real ones.
        ShapeErrors logs what clients cannot fix, with its traceback, once."""


def build_schema(settings: Settings) -> strawberry.Schema:
    return Schema(
        query=merge_types("Query", tuple(_roots("Query"))),
        mutation=merge_types("Mutation", tuple(_roots("Mutation"))),
        extensions=[OperationMetrics, *limit_extensions(settings), ResponseCaching, ShapeErrors],
        scalar_overrides=SCALAR_OVERRIDES,
    )
