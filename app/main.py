"""The ASGI application: GraphQL at /graphql, health at /healthz."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

import app.models  # every table, for foreign keys across domains
from app.api.context import Context, build_context
from app.api.schema import build_schema
from app.db import Database
from app.search.sync import SearchIndex
from app.settings import Settings

logger = logging.getLogger("opsgraph")


class OpsGraphQL(GraphQL[Context, None]):
    def __init__(self, settings: Settings, state: dict[str, Any]) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide=None if settings.is_production else "graphiql",
            allow_queries_via_get=True,
        )
        self._settings = settings
        # Filled by the lifespan: the process's database and search index.
        self._state = state

    async def get_context(self, request: Any, response: Any) -> Context:
        return await build_context(
            request, response, self._settings, self._state["db"], self._state["index"]
        )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        state["db"] = Database(settings.database_url)
        try:
            # The database is the truth: an absent, foreign or unreadable index is rebuilt
            # from it (with a progress bar), then the outbox past its watermark is applied.
            state["index"] = await SearchIndex.open(settings.index_dir)
            async with state["db"].read() as session:
                await state["index"].sync(session, progress=True)
            yield
        finally:
            await state["db"].dispose()

    async def healthz(_request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            async with state["db"].read() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # the point of a health check is to report any failure
            logger.warning("health check: database failed: %s", exc)
            checks["database"] = "unavailable"
        try:
            await state["index"].check()
            checks["index"] = "ok"
        except Exception as exc:
            logger.warning("health check: search index failed: %s", exc)
            checks["index"] = "unavailable"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status_code=200 if healthy else 503,
        )

    graphql = OpsGraphQL(settings, state)
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


app = create_app()
