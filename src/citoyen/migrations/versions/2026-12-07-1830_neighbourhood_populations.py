"""territory: each neighbourhood's population (per-resident indicators)

Revision ID: 3c7a1d9e5b20
Revises: 8b3d6f0e2a91
Create Date: 2026-12-07 18:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from citoyen.db import UTCDateTime

revision: str = "3c7a1d9e5b20"
down_revision: str | None = "8b3d6f0e2a91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "neighbourhood_populations",
        sa.Column(
            "neighbourhood_id",
            sa.Integer(),
            sa.ForeignKey("neighbourhoods.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("imported_at", UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("neighbourhood_populations")
