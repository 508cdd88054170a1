"""events batch id without a foreign key

`events.batch_id` records which batch delivered an event. Its foreign key was checked
row by row on every insert, to confirm an id the same transaction had just created: 7.5
of the 38 ms that PostgreSQL took to insert a batch of 1,000 events (the median of 25
inserts each way). Batches are never deleted, so its ON DELETE SET NULL never fired.

SQLite cannot drop a constraint in place: its `events` table is copied, which takes a
while on a large database. PostgreSQL drops it in place.

Revision ID: 62882c7a268e
Revises: 0f681f57d8d1
Create Date: 2026-11-23 08:26:46.328789
"""

from collections.abc import Sequence

from alembic import op

revision: str = "62882c7a268e"
down_revision: str | None = "0f681f57d8d1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_events_batch_id_event_batches"), type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_events_batch_id_event_batches"),
            "event_batches",
            ["batch_id"],
            ["id"],
            ondelete="SET NULL",
        )
