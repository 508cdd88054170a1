"""Runtime settings, read from OPSGRAPH_* environment variables and validated at start."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Hours within which a feedback ticket of each priority is due (SLA, 服务时效).
DEFAULT_SLA_HOURS = {"urgent": 24, "high": 72, "normal": 7 * 24, "low": 14 * 24}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPSGRAPH_", extra="ignore")

    database_url: str = "sqlite:///var/opsgraph.db"
    index_dir: Path = Path("var/index")
    timezone: str = "UTC"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    env: str = Field(default="development", pattern="^(development|production|test)$")

    # Limits that protect the server from oversized or abusive operations.
    max_query_depth: int = Field(default=12, ge=2)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=2000, ge=50)
    max_events_per_batch: int = Field(default=5000, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    max_query_cost: int = Field(default=50_000, ge=1)
    max_directives: int = Field(default=20, ge=0)
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    statement_timeout_ms: int = Field(default=15_000, ge=100)
    # PostgreSQL connections per process. A request's loaders each take one at a time, so
    # a busy worker wants a few dozen; past the pool, each extra connection was a new
    # server process forked and dropped per request, which cost more than the queries.
    db_pool_size: int = Field(default=20, ge=1)
    persisted_query_cache_size: int = Field(default=2000, ge=1)
    # Query answers kept per key (app/api/response_cache.py): how long recorded activity
    # (events, exposures, …) may take to show in them; 0 turns the cache off.
    response_cache_seconds: float = Field(default=2.0, ge=0, le=60)
    # The memory the answers kept take per process.
    response_cache_megabytes: int = Field(default=100, ge=1)

    # Per API key and minute: requests and summed query cost, by role (see docs/deploy.md).
    rate_limits: dict[str, tuple[int, int]] = {
        "admin": (600, 2_000_000),
        "operator": (600, 2_000_000),
        "agent": (600, 500_000),
        "integration": (1200, 2_000_000),
    }

    # Browsers on these origins may call the API ("*" for any); empty turns CORS off.
    cors_origins: list[str] = []

    # OPSGRAPH_SLA_HOURS='{"urgent": 8}': a JSON object overriding some priorities' hours.
    sla_hours: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_SLA_HOURS))

    @field_validator("sla_hours")
    @classmethod
    def _sla_per_priority(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(value.keys() - DEFAULT_SLA_HOURS.keys())
        if unknown:
            raise ValueError(f"unknown priorities {unknown}; known: {sorted(DEFAULT_SLA_HOURS)}")
        if any(hours < 1 for hours in value.values()):
            raise ValueError("SLA hours must be at least 1")
        return {**DEFAULT_SLA_HOURS, **value}

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_production(self) -> bool:
        return self.env == "production"
