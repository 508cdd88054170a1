"""The ASGI application: GraphQL at /graphql, health at /healthz, Prometheus at /metrics."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import app.models  # every table, for foreign keys across domains
from app.api.http import GraphQLView
from app.api.runtime import Runtime
from app.api.schema import build_schema
from app.db import Database
from app.metrics.rollup import ensure_rollup
from app.observability import Metrics, RequestObserver
from app.search.sync import SearchIndex
from app.settings import Settings

logger = logging.getLogger("opsgraph")
GC_YOUNG_THRESHOLD = 50_000  # allocations between collections of the youngest generation


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    metrics = Metrics()
    state: dict[str, Runtime] = {}

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        db = Database(
            settings.database_url,
            statement_timeout_ms=settings.statement_timeout_ms,
            pool_size=settings.db_pool_size,
        )
        try:
            # The database is the truth: an absent, foreign or unreadable index is rebuilt
            # from it (with a progress bar), then the outbox past its watermark is applied.
            # A new database, or a new reporting timezone, needs the activity rollup built
            # before the first metric rather than during it.
            await ensure_rollup(db, settings.timezone)
            index = await SearchIndex.open(settings.index_dir)
            async with db.read() as session:
                await index.sync(session, progress=True)
            state["runtime"] = Runtime(settings=settings, db=db, index=index, metrics=metrics)
            _tune_garbage_collector()
            yield
        finally:
            await db.dispose()

    async def healthz(_request: Request) -> Response:
        runtime = state["runtime"]
        checks: dict[str, str] = {}
        try:
            async with runtime.db.read() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # the point of a health check is to report any failure
            logger.warning("health check: database failed: %s", exc)
            checks["database"] = "unavailable"
        try:
            await runtime.index.check()
            checks["index"] = "ok"
        except Exception as exc:
            logger.warning("health check: search index failed: %s", exc)
            checks["index"] = "unavailable"
        healthy = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", "checks": checks},
            status_code=200 if healthy else 503,
        )

    async def prometheus(_request: Request) -> Response:
        runtime = state["runtime"]
        try:
            async with runtime.db.read() as session:
                metrics.index_lag.set(await runtime.index.lag(session))
        except Exception as exc:  # a scrape reports what it can
            logger.warning("metrics: index lag unavailable: %s", exc)
        pool = runtime.db.engine.pool
        metrics.pool_in_use.set(getattr(pool, "checkedout", lambda: 0)())
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    graphql = GraphQLView(build_schema(settings), state, production=settings.is_production)
    middleware = [
        Middleware(RequestObserver, metrics=metrics, max_body_bytes=settings.max_body_bytes)
    ]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
                expose_headers=["X-Request-ID", "Retry-After"],
                max_age=600,
            )
        )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )


def _tune_garbage_collector() -> None:
    """A request allocates tens of thousands of short-lived objects (rows, GraphQL
    results), and at Python's default threshold of 700 the cyclic collector ran dozens of
    times per request: a quarter of a users page's CPU. What start-up built (modules, the
    schema, the index) lives as long as the process, so the collector stops scanning it."""
    gc.collect()  # garbage left by start-up is not frozen with the rest
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


app = create_app()
