"""events index for segment behaviour rules

Segment rules probe each user's events by name and time (app/segments/rules.py); this
index answers those probes alone (see bench/segments/README.md for the measurements).

Revision ID: 0f681f57d8d1
Revises: 0e0479d2e28c
Create Date: 2026-11-23 02:44:59.147649
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0f681f57d8d1"
down_revision: str | None = "0e0479d2e28c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_user_id_name_occurred_at_feature",
            ["user_id", "name", "occurred_at", "feature"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_user_id_name_occurred_at_feature")
