"""Operation limits: depth, aliases and tokens (strawberry's own), directives, query cost,
and in production no introspection; with the parse and validation of a document cached.

The validation rules are built once per schema: strawberry caches a validation by
(document, rules), so rules rebuilt per request would never hit the cache, and
validating is most of the fixed cost of a request (about 9 ms before the cache).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import DirectiveNode, GraphQLError, ValidationContext, ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from app.api.cost import QueryCostLimit
from app.settings import Settings

# Distinct documents kept parsed and validated per process: dashboards and integrations
# send a few dozen; the bound keeps clients sending unique texts from growing memory.
DOCUMENT_CACHE_SIZE = 1024


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
    rules: list[type[ValidationRule]] = [
        *QueryDepthLimiter(max_depth=settings.max_query_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=settings.max_aliases).validation_rules,
        max_directives_rule(settings.max_directives),
    ]
    if settings.is_production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return [
        lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        lambda: ParserCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=DOCUMENT_CACHE_SIZE),
        lambda: QueryCostLimit(max_cost=settings.max_query_cost),
    ]
