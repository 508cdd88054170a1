"""search synonyms

Revision ID: dae91f7c54a8
Revises: 408565ebdfbf
Create Date: 2026-11-23 02:03:25.453411
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "dae91f7c54a8"
down_revision: str | None = "408565ebdfbf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "search_synonym_groups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "terms",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_synonym_groups")),
    )


def downgrade() -> None:
    op.drop_table("search_synonym_groups")
