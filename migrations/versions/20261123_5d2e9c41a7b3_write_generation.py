"""write generation

One row counting the writes that change what queries answer: cached answers are kept per
generation (app/api/response_cache.py), so every replica retires them after a write
through any of them.

Revision ID: 5d2e9c41a7b3
Revises: 0b7c12fbb5a4
Create Date: 2026-11-23 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5d2e9c41a7b3"
down_revision: str | None = "0b7c12fbb5a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    generation = op.create_table(
        "write_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_write_generation")),
    )
    op.bulk_insert(generation, [{"id": 1, "value": 0}])


def downgrade() -> None:
    op.drop_table("write_generation")
