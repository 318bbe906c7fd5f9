"""indicators: the quartiers' pages read precomputed figures

A quartier's page computed every indicator for the city and the quartier on each request (0.9-1.2 s under load).
The figures of every quartier and of the city are now computed at once after the rollups change and stored as one
row per quartier (citoyen.indicators.snapshots); a counter says which change of the rollups they were computed
from.

Revision ID: 8b1f4d2e6a37
Revises: 5d8f3b0a2c69
Create Date: 2026-12-08 00:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "8b1f4d2e6a37"
down_revision: str | None = "5d8f3b0a2c69"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    version = op.create_table(
        "indicator_rollup_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_rollup_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    op.create_table(
        "indicator_page_snapshots",
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("population_stamp", sa.String(length=64), nullable=False),
        sa.Column("computed_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("neighbourhood_id", name=op.f("pk_indicator_page_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("indicator_page_snapshots")
    op.drop_table("indicator_rollup_version")
