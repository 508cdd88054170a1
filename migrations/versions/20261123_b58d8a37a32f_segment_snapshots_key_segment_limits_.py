"""segment snapshots, key segment limits, search log

Revision ID: b58d8a37a32f
Revises: dae91f7c54a8
Create Date: 2026-11-23 02:32:11.865640
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op
from sqlalchemy.dialects import postgresql

import app.sqltypes

revision: str = "b58d8a37a32f"
down_revision: str | None = "dae91f7c54a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("query", sa.String(length=256), nullable=False),
        sa.Column("normalized_query", sa.String(length=256), nullable=False),
        sa.Column("result_count", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("searched_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_log")),
    )
    with op.batch_alter_table("search_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_search_log_normalized_query"), ["normalized_query"], unique=False
        )
        batch_op.create_index("ix_search_log_searched_at", ["searched_at"], unique=False)

    op.create_table(
        "api_key_segments",
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_api_key_segments_api_key_id_api_keys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_api_key_segments_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("api_key_id", "segment_id", name=op.f("pk_api_key_segments")),
    )
    op.create_table(
        "segment_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column(
            "rule",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("taken_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_snapshots_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_snapshots")),
    )
    with op.batch_alter_table("segment_snapshots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_snapshots_segment_id"), ["segment_id"], unique=False
        )

    op.create_table(
        "segment_snapshot_members",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["segment_snapshots.id"],
            name=op.f("fk_segment_snapshot_members_snapshot_id_segment_snapshots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_segment_snapshot_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "user_id", name=op.f("pk_segment_snapshot_members")),
    )
    with op.batch_alter_table("segment_snapshot_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_snapshot_members_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "article_views",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("normalized_query", sa.String(length=256), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("viewed_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_views_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_views")),
    )
    with op.batch_alter_table("article_views", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_article_views_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index("ix_article_views_viewed_at", ["viewed_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("article_views", schema=None) as batch_op:
        batch_op.drop_index("ix_article_views_viewed_at")
        batch_op.drop_index(batch_op.f("ix_article_views_article_id"))

    op.drop_table("article_views")
    with op.batch_alter_table("segment_snapshot_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_snapshot_members_user_id"))

    op.drop_table("segment_snapshot_members")
    with op.batch_alter_table("segment_snapshots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_snapshots_segment_id"))

    op.drop_table("segment_snapshots")
    op.drop_table("api_key_segments")
    with op.batch_alter_table("search_log", schema=None) as batch_op:
        batch_op.drop_index("ix_search_log_searched_at")
        batch_op.drop_index(batch_op.f("ix_search_log_normalized_query"))

    op.drop_table("search_log")
