"""GraphQL over HTTP as the GraphQL-over-HTTP specification asks, on strawberry's ASGI view.

- Content negotiation: `application/graphql-response+json` (the spec's media type) or
  `application/json` (legacy, the default when Accept is absent); anything else is 406.
  A request error (the document was never executed: syntax, validation, cost) has no
  `data` entry, and with the new media type it is a 400; strawberry answers 200 always.
- A malformed request (body not JSON, `query` missing or not a string, `variables` not a
  map, …) is answered as a GraphQL response with `errors` and no `data`, where strawberry
  answers plain text: 400 with the new media type, 200 with legacy JSON, as the
  GraphQL-over-HTTP audit (graphql-http) expects.
- POST bodies must be `application/json` (415 otherwise). GET runs queries only: a
  mutation over GET is 405, and in production GET runs only persisted queries.
- Automatic persisted queries (see app/api/persisted.py).
- In production "did you mean …" suggestions are removed from error messages, since they
  reveal the schema that introspection hides.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from strawberry import UNSET
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from app.api.context import Context, build_context
from app.api.persisted import PersistedQueryError
from app.api.runtime import Runtime
from app.db import DATABASE_FAILURES, unavailable

logger = logging.getLogger("opsgraph.http")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# Per-request flags live in the ASGI scope: request.state can be shared across requests.
_MEDIA_TYPE = "opsgraph.media_type"
_REQUEST_ERROR = "opsgraph.request_error"
# The error code of a request refused before it was executed, by its HTTP status.
_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def negotiate(accept: str | None) -> str | None:
    """The media type to answer with, or None when the client accepts neither."""
    if not accept:
        return JSON
    best: tuple[float, int, str] | None = None
    for position, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        chosen = {
            GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON,
            JSON: JSON,
            "application/*": GRAPHQL_RESPONSE_JSON,
            "*/*": JSON,
        }.get(media.lower())
        if chosen and quality > 0 and (best is None or (quality, -position) > best[:2]):
            best = (quality, -position, chosen)
    return best[2] if best else None


class GraphQLView(GraphQL[Context, None]):
    def __init__(self, schema: BaseSchema, runtime: dict[str, Runtime], production: bool) -> None:
        super().__init__(
            schema,
            graphql_ide=None if production else "graphiql",
            allow_queries_via_get=True,
            multipart_uploads_enabled=False,
        )
        self._runtime = runtime  # filled by the application's lifespan
        self._production = production

    async def get_context(self, request: Any, response: Any) -> Context:
        return await build_context(request, response, self._runtime["runtime"])

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        if not isinstance(request, Request):
            return await super().run(request, context, root_value)
        wants_ide = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        media_type = JSON if wants_ide else negotiate(request.headers.get("accept"))
        if media_type is None:
            return PlainTextResponse(
                f"Not Acceptable: send Accept: {GRAPHQL_RESPONSE_JSON} or {JSON}", 406
            )
        if request.method == "POST":
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != JSON:
                return PlainTextResponse(f"Unsupported Media Type: POST {JSON}", 415)
        request.scope[_MEDIA_TYPE] = media_type
        try:
            response: Response = await super().run(request, context, root_value)
        except HTTPException as error:
            code = _CODES.get(error.status_code, "BAD_REQUEST")
            return _request_error(media_type, error.status_code, error.reason, code)
        except DATABASE_FAILURES as error:
            if not unavailable(error):
                raise
            # Raised before any resolver runs (authentication reads the database).
            logger.warning("database unavailable: %s", error)
            return _request_error(
                media_type,
                503,
                "the database is unavailable; retry shortly",
                "DATABASE_UNAVAILABLE",
                retryable=True,
                headers={"Retry-After": "1"},
            )
        except PersistedQueryError as error:
            # Apollo's clients expect PERSISTED_QUERY_NOT_FOUND with a 200, then resend.
            status = 400 if error.code == "BAD_REQUEST" else 200
            return _request_error(media_type, status, str(error), error.code)
        if response.media_type == JSON or response.headers.get("content-type", "").startswith(JSON):
            response.headers["content-type"] = f"{media_type}; charset=utf-8"
            if (
                media_type == GRAPHQL_RESPONSE_JSON
                and request.scope.get(_REQUEST_ERROR, False)
                and response.status_code == 200
            ):
                response.status_code = 400
        return response

    def should_render_graphql_ide(self, request: Any) -> bool:
        # Only a browser asking for a page gets GraphiQL; "*/*" is a client wanting data.
        return (
            request.method == "GET"
            and request.query_params.get("query") is None
            and "text/html" in request.headers.get("accept", "")
        )

    async def parse_http_body(self, request: Any) -> GraphQLRequestData:  # type: ignore[override]
        data = await super().parse_http_body(request)
        if isinstance(data, list):
            raise HTTPException(400, "batched operations are not supported")
        persisted = (data.extensions or {}).get("persistedQuery")
        if persisted is not None:
            data = replace(
                data, query=self._runtime["runtime"].persisted.resolve(persisted, data.query)
            )
        elif request.method == "GET" and self._production:
            raise HTTPException(405, "in production, GET runs only persisted queries")
        if request.method == "GET" and _is_mutation(data):
            raise HTTPException(405, "mutations are not allowed over GET: use POST")
        return data

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        body = await super().process_result(request, result)
        errors = result.errors or []
        if errors and result.data is None and all(e.path is None for e in errors):
            # The document was never executed: a request error in the spec's terms, and
            # then GraphQL's own spec wants no `data` entry at all (strawberry sends null).
            request.scope[_REQUEST_ERROR] = True
            body.pop("data", None)
        if self._production:
            for error in body.get("errors", []):
                error["message"] = _SUGGESTION.sub("", error["message"])
        return body


def _request_error(
    media_type: str,
    status: int,
    message: str,
    code: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    """A request that was never executed, as a GraphQL response without `data`. With legacy
    JSON a malformed request (400) is still a 200: such clients read `errors`, not status."""
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]},
        status_code=200 if status == 400 and media_type == JSON else status,
        media_type=f"{media_type}; charset=utf-8",
        headers=headers,
    )


def _is_mutation(data: GraphQLRequestData) -> bool:
    if not data.query:
        return False
    try:
        operation = get_operation_ast(parse(data.query), data.operation_name)
    except GraphQLError:
        return False  # the execution reports the syntax error
    return operation is not None and operation.operation == OperationType.MUTATION
