"""Query answers kept for a few seconds: dashboards poll the same queries, and agents
repeat the popular searches.

An answer is kept per API key (with its segment limit), document, operation name and
variables, and per write generation (app/api/models.py): a counter that every mutation
advances once it has committed, except those recording what end users did (events,
exposures, campaign participations and conversions, article views, survey answers),
which integrations send continuously and which would otherwise leave nothing cached. So:

- what operators and agents change is answered from the next query on, through any
  replica: each cached answer is served only after reading the generation;
- recorded activity shows within `OPSGRAPH_RESPONSE_CACHE_SECONDS` (0 turns caching off).

Only answers without errors are kept, and a key never gets an answer computed for
another. What answering does besides the answer (the search log) runs again for each
cached answer served (`Context.after_answer`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from asyncio import FIRST_COMPLETED
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    get_operation_ast,
)
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.extensions import SchemaExtension

from app.api.models import WriteGeneration
from app.db import DATABASE_FAILURES
from app.observability import Metrics

if TYPE_CHECKING:
    from app.api.context import Context, Effect

logger = logging.getLogger("opsgraph.cache")

_ACTIVITY = "opsgraph.records_activity"
# Marks a mutation that records end users' activity: `@strawberry.mutation(metadata=...)`.
RECORDS_ACTIVITY = MappingProxyType({_ACTIVITY: True})

_GENERATION = select(WriteGeneration.value).where(WriteGeneration.id == 1)


async def current_generation(session: AsyncSession) -> int | None:
    """None when the row is missing, and then nothing is cached."""
    return await session.scalar(_GENERATION)


async def advance_generation(session: AsyncSession) -> None:
    await session.execute(
        update(WriteGeneration)
        .where(WriteGeneration.id == 1)
        .values(value=WriteGeneration.value + 1)
    )


@dataclass(frozen=True)
class _Answer:
    data: dict[str, Any]
    generation: int
    expires: float
    size: int  # bytes
    effects: tuple[Effect, ...]


class ResponseCache:
    """One process's answers, the least recently served dropped when together they take
    more than `max_bytes` of memory: clients choose how large their answers are, so a
    count of answers would bound nothing.

    Requests missing the same answer at once wait for the first to compute it: when an
    answer expires under load, one users page is computed, not one per waiting client.
    """

    def __init__(self, seconds: float, max_bytes: int, metrics: Metrics) -> None:
        self.seconds = seconds
        self.max_bytes = max_bytes
        self._metrics = metrics
        self._answers: OrderedDict[Hashable, _Answer] = OrderedDict()
        self._kept_bytes = 0
        self._computing: dict[tuple[Hashable, int], _Computation] = {}

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    async def get(self, key: Hashable, generation: int) -> _Answer | None:
        """The answer if fresh or being computed; otherwise None, and the caller computes
        it and must then call `finish`."""
        answer = self._answers.get(key)
        if (
            answer is not None
            and answer.generation == generation
            and answer.expires >= time.monotonic()
        ):
            self._answers.move_to_end(key)
            self._metrics.response_cache.labels(outcome="hit").inc()
            return answer
        computation = self._computing.get((key, generation))
        if computation is None:
            self._computing[key, generation] = _Computation()
            answer = None
        else:
            answer = await computation.outcome()
            if computation.task.done():  # ended without finishing (cancelled)
                self._computing.pop((key, generation), None)
        self._metrics.response_cache.labels(outcome="hit" if answer else "miss").inc()
        return answer

    def finish(
        self,
        key: Hashable,
        generation: int,
        data: dict[str, Any] | None,
        effects: tuple[Effect, ...] = (),
    ) -> None:
        """Keeps `data` (None: nothing to keep) and hands it to the requests waiting."""
        answer = None
        if data is not None:
            size = _footprint(data)
            answer = _Answer(data, generation, time.monotonic() + self.seconds, size, effects)
            if size <= self.max_bytes:
                self._drop(key)
                self._answers[key] = answer
                self._kept_bytes += size
                while self._kept_bytes > self.max_bytes:
                    self._drop(next(iter(self._answers)))
        computation = self._computing.get((key, generation))
        if computation is not None and computation.task is asyncio.current_task():
            del self._computing[key, generation]
            computation.answer.set_result(answer)

    def clear(self) -> None:
        self._answers.clear()
        self._kept_bytes = 0

    def _drop(self, key: Hashable) -> None:
        dropped = self._answers.pop(key, None)
        if dropped is not None:
            self._kept_bytes -= dropped.size


def _footprint(data: dict[str, Any]) -> int:
    """The memory an answer takes, its field names aside (the schema's own strings): about
    1 ms for an answer of 1,000 rows, paid once per answer kept."""
    size = 0
    pending: list[Any] = [data]
    while pending:
        value = pending.pop()
        size += sys.getsizeof(value)
        if isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return size


def _current_task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None
    return task


@dataclass
class _Computation:
    """An answer one request is computing, which others missing it wait for."""

    answer: asyncio.Future[_Answer | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    task: asyncio.Task[Any] = field(default_factory=_current_task)

    async def outcome(self) -> _Answer | None:
        """The answer, or None if it could not be kept (errors) or its request ended
        without it (cancelled): then the waiter computes its own."""
        await asyncio.wait({self.answer, self.task}, return_when=FIRST_COMPLETED)
        return self.answer.result() if self.answer.done() else None


class ResponseCaching(SchemaExtension):
    """Serves and keeps query answers, and advances the generation after mutations. Runs
    after the cost limit, so a cached answer still counts against the key's rate limits."""

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context: Context = execution.context
        document = execution.graphql_document
        operation = (
            get_operation_ast(document, execution.operation_name) if document is not None else None
        )
        if execution.result is not None or operation is None:  # refused, or cannot run
            yield
            return
        if operation.operation == OperationType.MUTATION:
            yield
            if _may_have_written(execution.result) and not _records_activity_only(
                execution.schema._schema, operation
            ):
                await _retire_answers(context)
            return
        cache = context.runtime.response_cache
        generation = None
        if operation.operation == OperationType.QUERY and cache.enabled:
            generation = await _generation(context)
        if generation is None:
            yield
            return
        key = (
            context.actor,
            execution.query,
            execution.operation_name,
            json.dumps(execution.variables or {}, sort_keys=True, default=str),
        )
        answer = await cache.get(key, generation)
        if answer is not None:
            execution.result = ExecutionResult(data=answer.data)
            for effect in answer.effects:
                context.after_answer(effect)
            yield
            return
        data = None
        try:
            yield
            result = execution.result
            if (
                context.cacheable
                and isinstance(result, ExecutionResult)
                and not result.errors
                and result.data is not None
            ):
                data = result.data
        finally:
            cache.finish(key, generation, data, tuple(context.effects))


async def _generation(context: Context) -> int | None:
    try:
        async with context.db.read() as session:
            return await current_generation(session)
    except DATABASE_FAILURES:
        return None  # answered without the cache; the resolvers report the database


async def _retire_answers(context: Context) -> None:
    """After a mutation: this process's answers go at once, other processes' at their next
    read of the generation. Should advancing it fail, their answers expire within seconds."""
    context.runtime.response_cache.clear()
    try:
        async with context.db.unit_of_work() as session:
            await advance_generation(session)
    except DATABASE_FAILURES as error:
        logger.warning("write generation not advanced: %s", error)


def _may_have_written(result: object) -> bool:
    """Some mutation field answered: one refused (unauthenticated, forbidden) wrote nothing,
    and must not cost a write either."""
    data = getattr(result, "data", None)
    return isinstance(data, dict) and any(value is not None for value in data.values())


def _records_activity_only(schema: GraphQLSchema, operation: OperationDefinitionNode) -> bool:
    mutation = schema.mutation_type
    assert mutation is not None
    for selection in operation.selection_set.selections:
        if not isinstance(selection, FieldNode):
            return False  # fragments at the root: not worth telling apart
        field = mutation.fields.get(selection.name.value)
        definition = field.extensions.get("strawberry-definition") if field else None
        if definition is None or not definition.metadata.get(_ACTIVITY):
            return False
    return True
