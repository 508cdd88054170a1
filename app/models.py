"""Every domain's tables, imported so that SQLModel.metadata is complete (alembic, tests)."""

from app.api.models import WriteGeneration
from app.auth.models import ApiKey, ApiKeySegment
from app.campaigns.models import (
    Campaign,
    CampaignConversion,
    CampaignParticipation,
    CampaignVariant,
)
from app.events.models import ChannelExposure, Event, EventBatch
from app.feedback.models import Feedback, FeedbackReply, FeedbackStatusChange, FeedbackTag
from app.knowledge.models import (
    Article,
    ArticleTag,
    ArticleView,
    ArticleVote,
    SearchLogEntry,
    SearchOutbox,
    SearchSynonymGroup,
)
from app.metrics.models import ActivityDay, ActivityDayEvent, RollupState
from app.segments.models import Segment, SegmentSnapshot, SegmentSnapshotMember
from app.surveys.models import SurveyResponse
from app.users.models import User, UserTag

__all__ = [
    "ActivityDay",
    "ActivityDayEvent",
    "ApiKey",
    "ApiKeySegment",
    "Article",
    "ArticleTag",
    "ArticleView",
    "ArticleVote",
    "Campaign",
    "CampaignConversion",
    "CampaignParticipation",
    "CampaignVariant",
    "ChannelExposure",
    "Event",
    "EventBatch",
    "Feedback",
    "FeedbackReply",
    "FeedbackStatusChange",
    "FeedbackTag",
    "RollupState",
    "SearchLogEntry",
    "SearchOutbox",
    "SearchSynonymGroup",
    "Segment",
    "SegmentSnapshot",
    "SegmentSnapshotMember",
    "SurveyResponse",
    "User",
    "UserTag",
    "WriteGeneration",
]
