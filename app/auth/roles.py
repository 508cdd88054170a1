"""What each role may do. Permissions are checked on root fields (app/api/permissions.py)."""

from __future__ import annotations

from enum import StrEnum

from app.auth.models import Role


class Permission(StrEnum):
    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    EVENTS_READ = "events:read"
    EVENTS_WRITE = "events:write"
    SEGMENTS_READ = "segments:read"
    SEGMENTS_WRITE = "segments:write"
    FEEDBACK_READ = "feedback:read"
    FEEDBACK_WRITE = "feedback:write"
    ARTICLES_READ = "articles:read"
    ARTICLES_WRITE = "articles:write"
    CAMPAIGNS_READ = "campaigns:read"
    CAMPAIGNS_WRITE = "campaigns:write"
    # Participations and conversions happen in the product; integrations report them.
    CAMPAIGNS_RECORD = "campaigns:record"
    SURVEYS_READ = "surveys:read"
    SURVEYS_WRITE = "surveys:write"
    METRICS_READ = "metrics:read"
    KEYS_MANAGE = "keys:manage"


_EVERYTHING = frozenset(Permission)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: _EVERYTHING,
    Role.OPERATOR: _EVERYTHING - {Permission.KEYS_MANAGE},
    Role.AGENT: frozenset(
        {
            Permission.USERS_READ,
            Permission.EVENTS_READ,
            Permission.FEEDBACK_READ,
            Permission.FEEDBACK_WRITE,
            Permission.ARTICLES_READ,
            Permission.ARTICLES_WRITE,
            Permission.SURVEYS_READ,
        }
    ),
    # Integrations mirror the product: its sign-ups, behaviour, campaign participations and
    # survey answers flow in;
    # users, segments and metrics flow out.
    Role.INTEGRATION: frozenset(
        {
            Permission.USERS_READ,
            Permission.USERS_WRITE,
            Permission.EVENTS_WRITE,
            Permission.SEGMENTS_READ,
            Permission.SURVEYS_WRITE,
            Permission.CAMPAIGNS_RECORD,
            Permission.METRICS_READ,
        }
    ),
}
