"""activity rollup: each user's activity per day (and per event name), and its timezone

Revision ID: 0e0479d2e28c
Revises: b58d8a37a32f
Create Date: 2026-11-23 02:44:43.773416
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401
from alembic import op

import app.sqltypes

revision: str = "0e0479d2e28c"
down_revision: str | None = "b58d8a37a32f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("built_at", app.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_state")),
    )
    op.create_table(
        "activity_day_events",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_activity_day_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "day", "name", name=op.f("pk_activity_day_events")),
    )
    with op.batch_alter_table("activity_day_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_day_events_name_day_user_id", ["name", "day", "user_id"], unique=False
        )
    op.create_table(
        "activity_days",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("session_seconds", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("gap_days", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_activity_days_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "day", name=op.f("pk_activity_days")),
    )
    with op.batch_alter_table("activity_days", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activity_days_day_gap_days_user_id", ["day", "gap_days", "user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("activity_days", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_days_day_gap_days_user_id")
    op.drop_table("activity_days")
    with op.batch_alter_table("activity_day_events", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_day_events_name_day_user_id")
    op.drop_table("activity_day_events")
    op.drop_table("rollup_state")
