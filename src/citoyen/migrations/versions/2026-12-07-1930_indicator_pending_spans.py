"""indicators: the spans of readings the rollups still have to fold in

Ingest no longer adds to the rollups in its own transaction (two writers of the same hour waited for each other's
commit on the rollup rows, and the upserts cost ingest more than half its rate on PostgreSQL): each write appends
what it touched, one row per Datastream, to this table without key or index, and a fold a few seconds later
recomputes those buckets (citoyen.indicators.rollups.fold).

Revision ID: 5e7a2c9d4b18
Revises: 4c7e1d9a2b58
Create Date: 2026-12-07 19:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "5e7a2c9d4b18"
down_revision: str | None = "4c7e1d9a2b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indicator_pending_spans",
        sa.Column("datastream_id", sa.BigInteger(), nullable=False),
        sa.Column("first_time", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_time", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("noted_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("indicator_pending_spans")
