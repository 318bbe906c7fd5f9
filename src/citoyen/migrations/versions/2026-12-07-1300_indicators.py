"""indicators: hourly and daily rollups of sensor readings, per Datastream and per neighbourhood and quantity

Filled as readings arrive (the ObservationsStored subscriber) and by `citoyen indicators rebuild`, which
recomputes them from the raw Observations: run it once after upgrading to fill them with the readings already
stored.

Revision ID: 3c1d9a7e5f20
Revises: 80e29769ad46, a7d3c1e9b2f4, c4e8a2f61d07
Create Date: 2026-12-07 13:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "3c1d9a7e5f20"
down_revision: str | tuple[str, ...] | None = ("80e29769ad46", "a7d3c1e9b2f4", "c4e8a2f61d07")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _measures() -> list[sa.Column[Any]]:
    return [
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("minimum", sa.Float(), nullable=False),
        sa.Column("maximum", sa.Float(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "indicator_datastream_rollups",
        sa.Column("datastream_id", sa.BigInteger(), nullable=False),
        sa.Column("step", sa.String(length=5), nullable=False),
        sa.Column("bucket", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint("datastream_id", "step", "bucket"),
    )
    op.create_table(
        "indicator_area_rollups",
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(length=120), nullable=False),
        sa.Column("step", sa.String(length=5), nullable=False),
        sa.Column("bucket", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        *_measures(),
        sa.PrimaryKeyConstraint("neighbourhood_id", "quantity", "step", "bucket"),
    )
    op.create_index("ix_indicator_area_rollups_quantity", "indicator_area_rollups", ["quantity", "step", "bucket"])


def downgrade() -> None:
    op.drop_index("ix_indicator_area_rollups_quantity", table_name="indicator_area_rollups")
    op.drop_table("indicator_area_rollups")
    op.drop_table("indicator_datastream_rollups")
