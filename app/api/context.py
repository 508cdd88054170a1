"""The per-request context: settings, database, the authenticated actor and fresh loaders."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError
from starlette.background import BackgroundTasks
from starlette.requests import Request
from starlette.responses import Response

from app.api.errors import ClientError
from app.api.loaders import Loaders
from app.api.runtime import Runtime
from app.auth.service import Actor, authenticate
from app.db import Database
from app.search.sync import SearchIndex
from app.settings import Settings

# Work done for an answer after it is sent, given the context of the request it answers.
Effect = Callable[["Context"], Awaitable[None]]


@dataclass
class Context:
    request: Request
    response: Response
    settings: Settings
    db: Database
    index: SearchIndex  # the process's article index, kept in step with db
    actor: Actor | None
    auth_problem: str  # why `actor` is None, for the error a protected field raises
    loaders: Loaders
    runtime: Runtime
    effects: list[Effect] = field(default_factory=list)  # this answer's, see after_answer
    # False for an answer known to be incomplete, which must not outlive its cause.
    cacheable: bool = True

    def after_response(self, task: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Runs `task(*args)` once the response is sent, for work the client does not wait
        on. It still runs within the request, so a graceful shutdown waits for it."""
        if self.response.background is None:
            self.response.background = BackgroundTasks()
        assert isinstance(self.response.background, BackgroundTasks)
        self.response.background.add_task(task, *args)

    def after_answer(self, effect: Effect) -> None:
        """Runs `effect(context)` once the response is sent, and again for each request
        answered with a cached copy of this answer (app/api/response_cache.py), with that
        request's context: for records of what was asked, such as the search log."""
        self.effects.append(effect)
        self.after_response(effect, self)

    def admit(self, cost: int) -> GraphQLError | None:
        """Counts this operation against the key's rate limits; the error when over."""
        if self.actor is None:
            return None
        retry_after = self.runtime.limiter.admit(self.actor.key_id, self.actor.role.value, cost)
        if retry_after is None:
            return None
        self.response.status_code = 429
        self.response.headers["Retry-After"] = str(int(retry_after))
        return ClientError(
            f"rate limit for role '{self.actor.role.value}' reached; retry in {int(retry_after)} s",
            "RATE_LIMITED",
            retryAfter=int(retry_after),
        )

    def page_size(self, first: int) -> int:
        """A list's `first`, checked against the page limit before any SQL runs."""
        limit = self.settings.max_page_size
        if not 0 <= first <= limit:
            raise ClientError(f"first must be between 0 and {limit}", "BAD_USER_INPUT")
        return first


def bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def build_context(request: Request, response: Response, runtime: Runtime) -> Context:
    db = runtime.db
    token = bearer_token(request)
    actor: Actor | None = None
    problem = "missing API key: send 'Authorization: Bearer <key>'"
    if token is not None:
        async with db.read() as session:
            actor = await authenticate(session, token)
        problem = "invalid or revoked API key"
    return Context(
        request=request,
        response=response,
        settings=runtime.settings,
        db=db,
        index=runtime.index,
        actor=actor,
        auth_problem=problem,
        loaders=Loaders(db, actor),
        runtime=runtime,
    )
