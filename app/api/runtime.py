"""What one server process holds for its lifetime and shares across requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.api.persisted import PersistedQueries
from app.api.ratelimit import RateLimiter
from app.api.response_cache import ResponseCache
from app.db import Database
from app.knowledge.search_log import SearchLogWriter
from app.observability import Metrics
from app.search.sync import SearchIndex
from app.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    index: SearchIndex
    metrics: Metrics
    limiter: RateLimiter = field(init=False)
    persisted: PersistedQueries = field(init=False)
    search_log: SearchLogWriter = field(init=False)
    response_cache: ResponseCache = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.settings.rate_limits)
        self.persisted = PersistedQueries(self.settings.persisted_query_cache_size)
        self.search_log = SearchLogWriter(self.db)
        self.response_cache = ResponseCache(
            self.settings.response_cache_seconds,
            self.settings.response_cache_megabytes * 2**20,
            self.metrics,
        )
