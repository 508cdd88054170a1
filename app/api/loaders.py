"""DataLoaders, made fresh for every request so nothing cached leaks between requests.

Each batch opens its own short-lived session: strawberry runs loaders concurrently, and
one session must never serve two operations at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from app.auth import service as auth
from app.auth.service import Actor
from app.campaigns import service as campaigns
from app.db import Database
from app.feedback import service as feedback
from app.knowledge import service as knowledge
from app.segments import service as segments
from app.users import service as users

Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class Loaders:
    def __init__(self, db: Database, actor: Actor | None) -> None:
        self._db = db
        # Loaders that hand out users or segments are given the caller, to show only
        # what it may see.
        self.user_tags = self._loader(users.tags_by_user, list)
        self.user_lifecycle = self._loader(users.lifecycle_by_user, lambda: None)
        self.user_by_id = self._loader(partial(users.users_by_id, actor=actor), lambda: None)
        self.feedback_by_user = self._loader(feedback.feedback_by_user, list)
        self.feedback_tags = self._loader(feedback.tags_by_feedback, list)
        self.feedback_replies = self._loader(feedback.replies_by_feedback, list)
        self.feedback_history = self._loader(feedback.history_by_feedback, list)
        self.feedback_by_id = self._loader(feedback.feedback_by_id, lambda: None)
        self.article_tags = self._loader(knowledge.tags_by_article, list)
        self.article_by_feedback = self._loader(knowledge.articles_by_source_feedback, lambda: None)
        self.campaign_variants = self._loader(campaigns.variants_by_campaign, list)
        self.campaign_variant = self._loader(campaigns.variants_by_id, lambda: None)
        self.campaign_participant_count = self._loader(campaigns.participant_counts, int)
        self.campaign_conversion_count = self._loader(campaigns.conversion_counts, int)
        self.segment_by_id = self._loader(
            partial(segments.segments_by_id, actor=actor), lambda: None
        )
        self.segment_sizes = self._loader(segments.sizes_by_segment, int)
        self.segments_by_user = self._loader(partial(segments.segments_by_user, actor=actor), list)
        self.api_key_segments = self._loader(auth.segments_by_api_key, lambda: None)

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
