"""Times each GraphQL operation into the process's Prometheus histogram.

The label is the operation's first root field (`users`, `searchArticles`, …): bounded by
the schema, unlike client-chosen operation names.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import FieldNode, OperationDefinitionNode
from strawberry.extensions import SchemaExtension


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        execution = self.execution_context
        runtime = getattr(execution.context, "runtime", None)
        if runtime is None:
            return
        result = execution.result
        outcome = "error" if result is not None and result.errors else "ok"
        runtime.metrics.operations.labels(
            operation=_root_field(execution), outcome=outcome
        ).observe(time.perf_counter() - started)


def _root_field(execution: object) -> str:
    document = getattr(execution, "graphql_document", None)
    for definition in document.definitions if document else ():
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    return selection.name.value
    return "invalid"
