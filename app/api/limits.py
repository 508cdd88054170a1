"""Operation limits, built fresh for every request: depth, aliases and tokens (strawberry's
own), directives, query cost, and in production no introspection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import DirectiveNode, GraphQLError, ValidationContext, ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)

from app.api.cost import QueryCostLimit
from app.settings import Settings


def max_directives_rule(limit: int) -> type[ValidationRule]:
    class MaxDirectives(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.count = 0

        def enter_directive(self, node: DirectiveNode, *_args: Any) -> None:
            self.count += 1
            if self.count == limit + 1:
                self.report_error(
                    GraphQLError(f"an operation may use at most {limit} directives", node)
                )

    return MaxDirectives


def limit_extensions(settings: Settings) -> list[Callable[[], SchemaExtension]]:
    rules: list[type[ValidationRule]] = [max_directives_rule(settings.max_directives)]
    if settings.is_production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return [
        lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: AddValidationRules(rules),
        lambda: QueryCostLimit(max_cost=settings.max_query_cost),
    ]
