"""The search log's writer: one per process, writing rows in batches after the answers.

Each search's row is written after its answer has gone (see app/api/context.py), but one
write transaction per search made searches on SQLite queue for its one writer, and once
they no longer waited, their writes starved the event batches (trackEvents p99 29 s in
bench/load). Here each transaction takes every row that arrived while the previous one
waited, so a burst of searches is one INSERT.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.db import Database
from app.knowledge import service

logger = logging.getLogger("opsgraph.search")


class SearchLogWriter:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[dict[str, Any]] = []
        self._one_batch_at_a_time = asyncio.Lock()

    async def record(self, row: dict[str, Any]) -> None:
        """Stores `row`, with whatever else is pending; returns once it is written (or
        its batch failed, which is logged: the searches were answered). A crash loses the
        rows not yet written, which no client was promised."""
        self._pending.append(row)
        async with self._one_batch_at_a_time:
            if not self._pending:  # the batch before took this row
                return
            batch, self._pending = self._pending, []
            try:
                async with self._db.unit_of_work() as session:
                    await service.log_searches(session, batch)
            except Exception:
                logger.exception("%d search log rows were not written", len(batch))
