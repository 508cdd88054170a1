"""Logs and metrics: JSON log lines carrying a request id, and Prometheus collectors.

Each application gets its own metrics registry, so several apps in one process (tests,
or replicas in one interpreter) never collide. API keys and request bodies are never logged.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id.get(),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's access log repeats what RequestObserver logs, with the query string.
    logging.getLogger("uvicorn.access").disabled = True


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "opsgraph_http_requests", "HTTP requests", ["path", "status"], registry=self.registry
        )
        self.operations = Histogram(
            "opsgraph_graphql_operation_seconds",
            "GraphQL operations by name and outcome",
            ["operation", "outcome"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.response_cache = Counter(
            "opsgraph_response_cache_lookups",
            "Query answers looked up in the response cache, by outcome (hit or miss)",
            ["outcome"],
            registry=self.registry,
        )
        self.index_lag = Gauge(
            "opsgraph_search_index_lag",
            "Outbox changes not yet in this process's index",
            registry=self.registry,
        )
        self.pool_in_use = Gauge(
            "opsgraph_db_connections_in_use",
            "Database connections checked out",
            registry=self.registry,
        )


class RequestObserver:
    """ASGI middleware: a request id per request (from X-Request-ID when sane), a bound on
    the body size (413), one access log line and the HTTP counters."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.log = logging.getLogger("opsgraph.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        token = request_id.set(given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex)
        started = time.perf_counter()
        status = 500
        try:
            declared = headers.get(b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
                status = 413
                await _plain(send, 413, b"request body too large")
                return

            received = 0

            async def bounded_receive() -> Message:
                nonlocal received
                message = await receive()
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
                return message

            async def tagged_send(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    message.setdefault("headers", [])
                    message["headers"] = [
                        *message["headers"],
                        (b"x-request-id", request_id.get().encode()),
                    ]
                await send(message)

            try:
                await self.app(scope, bounded_receive, tagged_send)
            except _BodyTooLarge:
                status = 413
                await _plain(send, 413, b"request body too large")
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            path = scope.get("path", "")
            self.metrics.http_requests.labels(path=path, status=str(status)).inc()
            self.log.info("%s %s %d %.1fms", scope.get("method"), path, status, elapsed_ms)
            request_id.reset(token)


class _BodyTooLarge(Exception):
    pass


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain"),
                (b"x-request-id", request_id.get().encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
