"""DataLoaders, made fresh for every request so nothing cached leaks between requests.

Each batch opens its own short-lived session: strawberry runs loaders concurrently, and
one session must never serve two operations at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from app.db import Database
from app.users import service as users

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class Loaders:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.user_tags = self._loader(users.tags_by_user, list)
        self.user_lifecycle = self._loader(users.lifecycle_by_user, lambda: None)

    def _loader(
        self,
        fetch: Callable[[AsyncSession, Sequence[Key]], Awaitable[dict[Key, Value]]],
        missing: Callable[[], Any],
    ) -> DataLoader[Key, Value]:
        async def load(keys: Sequence[Key]) -> list[Value]:
            async with self._db.read() as session:
                found = await fetch(session, keys)
            return [found.get(key, missing()) for key in keys]

        return DataLoader(load_fn=load)
