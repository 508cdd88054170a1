"""initial schema

Revision ID: 408565ebdfbf
Revises:
Create Date: 2026-11-23 01:48:56.426153
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op
from sqlalchemy.dialects import postgresql

import app.sqltypes

revision: str = "408565ebdfbf"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", app.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('admin', 'operator', 'agent', 'integration')", name=op.f("ck_api_keys_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "channel_exposures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_exposures")),
        sa.UniqueConstraint("channel", "day", name=op.f("uq_channel_exposures_channel")),
    )
    op.create_table(
        "search_outbox",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("created_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_search_outbox")),
    )
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "rule",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("key", name=op.f("uq_segments_key")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("acquisition_channel", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("plan", sa.String(length=64), nullable=True),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("signed_up_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_active_at", app.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("tier IN ('core', 'backbone', 'edge')", name=op.f("ck_users_tier")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("external_id", name=op.f("uq_users_external_id")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_users_acquisition_channel"), ["acquisition_channel"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_users_last_active_at"), ["last_active_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_users_region"), ["region"], unique=False)
        batch_op.create_index("ix_users_signed_up_at_id", ["signed_up_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_users_tier"), ["tier"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("goal", sa.String(length=16), nullable=False),
        sa.Column("theme", sa.Text(), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column(
            "channels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("target_segment_id", sa.Integer(), nullable=True),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("starts_at", app.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ends_at", app.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "form IN ('lottery', 'check_in', 'limited_offer', 'content_contest', 'webinar', 'training')",
            name=op.f("ck_campaigns_form"),
        ),
        sa.CheckConstraint(
            "goal IN ('registrations', 'activity', 'retention', 'revenue')",
            name=op.f("ck_campaigns_goal"),
        ),
        sa.CheckConstraint(
            "status IN ('planned', 'running', 'ended', 'cancelled')",
            name=op.f("ck_campaigns_status"),
        ),
        sa.ForeignKeyConstraint(
            ["target_segment_id"],
            ["segments.id"],
            name=op.f("fk_campaigns_target_segment_id_segments"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("key", name=op.f("uq_campaigns_key")),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_status"), ["status"], unique=False)

    op.create_table(
        "event_batches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("received_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_event_batches_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_batches")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_event_batches_idempotency_key")),
    )
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("assignee", sa.String(length=200), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("first_response_at", app.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", app.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('in_app', 'online_chat', 'hotline', 'email', 'social', 'survey', 'interview')",
            name=op.f("ck_feedback_channel"),
        ),
        sa.CheckConstraint(
            "priority IN ('urgent', 'high', 'normal', 'low')", name=op.f("ck_feedback_priority")
        ),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'resolved', 'closed')",
            name=op.f("ck_feedback_status"),
        ),
        sa.CheckConstraint(
            "type IN ('consultation', 'complaint', 'bug', 'feature_request', 'praise')",
            name=op.f("ck_feedback_type"),
        ),
        sa.CheckConstraint("satisfaction BETWEEN 1 AND 5", name=op.f("ck_feedback_satisfaction")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_feedback_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index("ix_feedback_created_at_id", ["created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_feedback_user_id"), ["user_id"], unique=False)

    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("responded_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'nps' AND score BETWEEN 0 AND 10) OR (kind = 'csat' AND score BETWEEN 1 AND 5)",
            name=op.f("ck_survey_responses_score_range"),
        ),
        sa.CheckConstraint("kind IN ('nps', 'csat')", name=op.f("ck_survey_responses_kind")),
        sa.CheckConstraint(
            "subject_type IN ('product', 'feedback', 'article', 'campaign')",
            name=op.f("ck_survey_responses_subject_type"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_survey_responses_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_survey_responses_kind_responded_at", ["kind", "responded_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_survey_responses_user_id"), ["user_id"], unique=False)

    op.create_table(
        "user_tags",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_tags_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "tag", name=op.f("pk_user_tags")),
    )
    with op.batch_alter_table("user_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("helpful_votes", sa.Integer(), nullable=False),
        sa.Column("unhelpful_votes", sa.Integer(), nullable=False),
        sa.Column("source_feedback_id", sa.Integer(), nullable=True),
        sa.Column("published_at", app.sqltypes.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("language IN ('zh', 'en')", name=op.f("ck_articles_language")),
        sa.CheckConstraint(
            "status IN ('draft', 'in_review', 'published', 'archived')",
            name=op.f("ck_articles_status"),
        ),
        sa.ForeignKeyConstraint(
            ["source_feedback_id"],
            ["feedback.id"],
            name=op.f("fk_articles_source_feedback_id_feedback"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_articles_slug")),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_articles_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_articles_status"), ["status"], unique=False)

    op.create_table(
        "campaign_variants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("is_control", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_variants_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_variants")),
        sa.UniqueConstraint("campaign_id", "key", name=op.f("uq_campaign_variants_campaign_id")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("feature", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("batch_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["event_batches.id"],
            name=op.f("fk_events_batch_id_event_batches"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_events_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_name_feature_occurred_at", ["name", "feature", "occurred_at"], unique=False
        )
        batch_op.create_index(
            "ix_events_occurred_at_user_id", ["occurred_at", "user_id"], unique=False
        )
        batch_op.create_index(
            "ix_events_user_id_occurred_at", ["user_id", "occurred_at"], unique=False
        )

    op.create_table(
        "feedback_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("from_agent", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_replies_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_replies")),
    )
    with op.batch_alter_table("feedback_replies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_replies_feedback_id"), ["feedback_id"], unique=False
        )

    op.create_table(
        "feedback_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("changed_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_status_changes_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_status_changes")),
    )
    with op.batch_alter_table("feedback_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_feedback_status_changes_feedback_id"), ["feedback_id"], unique=False
        )

    op.create_table(
        "feedback_tags",
        sa.Column("feedback_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["feedback_id"],
            ["feedback.id"],
            name=op.f("fk_feedback_tags_feedback_id_feedback"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feedback_id", "tag", name=op.f("pk_feedback_tags")),
    )
    with op.batch_alter_table("feedback_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "article_tags",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_tags_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "tag", name=op.f("pk_article_tags")),
    )
    with op.batch_alter_table("article_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_article_tags_tag"), ["tag"], unique=False)

    op.create_table(
        "article_votes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("voter", sa.String(length=200), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_votes_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_votes")),
        sa.UniqueConstraint("article_id", "voter", name=op.f("uq_article_votes_article_id")),
    )
    op.create_table(
        "campaign_conversions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("converted_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_conversions_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_campaign_conversions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["campaign_variants.id"],
            name=op.f("fk_campaign_conversions_variant_id_campaign_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_conversions")),
        sa.UniqueConstraint(
            "campaign_id", "user_id", name=op.f("uq_campaign_conversions_campaign_id")
        ),
    )
    with op.batch_alter_table("campaign_conversions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_conversions_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "campaign_participations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("variant_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("participated_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_participations_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_campaign_participations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["variant_id"],
            ["campaign_variants.id"],
            name=op.f("fk_campaign_participations_variant_id_campaign_variants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_participations")),
        sa.UniqueConstraint(
            "campaign_id", "user_id", name=op.f("uq_campaign_participations_campaign_id")
        ),
    )
    with op.batch_alter_table("campaign_participations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_participations_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_participations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_participations_user_id"))

    op.drop_table("campaign_participations")
    with op.batch_alter_table("campaign_conversions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_conversions_user_id"))

    op.drop_table("campaign_conversions")
    op.drop_table("article_votes")
    with op.batch_alter_table("article_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_article_tags_tag"))

    op.drop_table("article_tags")
    with op.batch_alter_table("feedback_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_tags_tag"))

    op.drop_table("feedback_tags")
    with op.batch_alter_table("feedback_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_status_changes_feedback_id"))

    op.drop_table("feedback_status_changes")
    with op.batch_alter_table("feedback_replies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_replies_feedback_id"))

    op.drop_table("feedback_replies")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_user_id_occurred_at")
        batch_op.drop_index("ix_events_occurred_at_user_id")
        batch_op.drop_index("ix_events_name_feature_occurred_at")

    op.drop_table("events")
    op.drop_table("campaign_variants")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_articles_status"))
        batch_op.drop_index(batch_op.f("ix_articles_category"))

    op.drop_table("articles")
    with op.batch_alter_table("user_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_tags_tag"))

    op.drop_table("user_tags")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_responses_user_id"))
        batch_op.drop_index("ix_survey_responses_kind_responded_at")

    op.drop_table("survey_responses")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_user_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_status"))
        batch_op.drop_index("ix_feedback_created_at_id")

    op.drop_table("feedback")
    op.drop_table("event_batches")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_status"))

    op.drop_table("campaigns")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_tier"))
        batch_op.drop_index("ix_users_signed_up_at_id")
        batch_op.drop_index(batch_op.f("ix_users_region"))
        batch_op.drop_index(batch_op.f("ix_users_last_active_at"))
        batch_op.drop_index(batch_op.f("ix_users_acquisition_channel"))

    op.drop_table("users")
    op.drop_table("segments")
    op.drop_table("search_outbox")
    op.drop_table("channel_exposures")
    op.drop_table("api_keys")
