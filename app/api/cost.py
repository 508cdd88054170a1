"""Query cost: an estimate of the rows an operation may touch, checked before it runs.

Every field costs 1. A field with a `first` argument multiplies the cost of what it
selects by `first` (its value, its variable's value, or its default); a list without
`first` multiplies by LIST_FACTOR, except a connection's `edges`, which `first` already
bounds. Nested lists multiply: 50 users with 10 tickets each cost about 50 × 10.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    value_from_ast,
)
from strawberry.extensions import SchemaExtension

LIST_FACTOR = 10


def _is_list(field: GraphQLField) -> bool:
    field_type = field.type
    if isinstance(field_type, GraphQLNonNull):
        field_type = field_type.of_type
    return isinstance(field_type, GraphQLList)


def _first(node: FieldNode, field: GraphQLField, variables: Mapping[str, Any]) -> int | None:
    if "first" not in field.args:
        return None
    argument = field.args["first"]
    for arg in node.arguments or ():
        if arg.name.value == "first":
            if isinstance(arg.value, VariableNode):
                value = variables.get(arg.value.name.value, argument.default_value)
            else:
                value = value_from_ast(arg.value, argument.type, variables)
            break
    else:
        value = argument.default_value
    return value if isinstance(value, int) and value >= 0 else 0


class _Estimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def _fields(
        self, selection_set: SelectionSetNode | None, seen: frozenset[str] = frozenset()
    ) -> Iterator[FieldNode]:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                yield selection
            elif isinstance(selection, InlineFragmentNode):
                yield from self._fields(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:  # cycles are invalid anyway
                    yield from self._fields(fragment.selection_set, seen | {name})

    def cost(self, parent: GraphQLObjectType, selection_set: SelectionSetNode | None) -> int:
        total = 0
        for node in self._fields(selection_set):
            field = parent.fields.get(node.name.value)
            if field is None:  # __typename and introspection fields
                total += 1
                continue
            child = get_named_type(field.type)
            children = 0
            if node.selection_set is not None and isinstance(child, GraphQLObjectType):
                children = self.cost(child, node.selection_set)
            elif node.selection_set is not None:  # interfaces and unions: their first type
                possible = self.schema.get_possible_types(child)  # type: ignore[arg-type]
                children = max((self.cost(t, node.selection_set) for t in possible), default=0)
            first = _first(node, field, self.variables)
            if first is not None:
                factor = first
            elif _is_list(field) and node.name.value != "edges":
                factor = LIST_FACTOR
            else:
                factor = 1
            total += 1 + factor * children
        return total


def estimate_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return _Estimator(schema, fragments, variables).cost(root, operation.selection_set)


class QueryCostLimit(SchemaExtension):
    """Refuses an operation whose estimated cost is over the limit, before it runs, and
    records the cost on the context for the per-key cost rate limit."""

    def __init__(self, *, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_execute(self) -> Iterator[None]:
        execution = self.execution_context
        document = execution.graphql_document
        if document is not None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            chosen = [
                o
                for o in operations
                if execution.operation_name is None
                or (o.name is not None and o.name.value == execution.operation_name)
            ]
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            if len(chosen) == 1:
                cost = estimate_cost(
                    execution.schema._schema, chosen[0], fragments, execution.variables or {}
                )
                if cost > self.max_cost:
                    refusal: GraphQLError | None = GraphQLError(
                        f"query cost {cost} exceeds the maximum of {self.max_cost}: "
                        "ask for fewer rows (smaller `first`) or fewer nested lists",
                        extensions={"code": "COST_LIMIT", "cost": cost, "maxCost": self.max_cost},
                    )
                else:
                    refusal = execution.context.admit(cost)
                if refusal is not None:
                    execution.result = ExecutionResult(data=None, errors=[refusal])
        yield
