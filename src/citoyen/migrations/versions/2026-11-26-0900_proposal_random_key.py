"""proposal random key, dense map views

The "random" order of proposals walks a random key drawn once per proposal, from a point the seed picks,
instead of hashing and sorting every proposal of the process on each page. Existing proposals get a key
hashed from their id. The index of a neighbourhood's map points also holds their ~100 m H3 cell, which a
crowded close-up view counts instead of drawing every point.

Revision ID: d5a8c3e1f902
Revises: b3d9e1f27a60
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d5a8c3e1f902"
down_revision: str | None = "b3d9e1f27a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VISIBLE = "hidden_at IS NULL AND withdrawn_at IS NULL"


POINTS_INCLUDE = ["lon", "lat", "status", "support_count", "title"]


def _points_index(include: list[str]) -> None:
    op.drop_index("ix_participation_proposals_visible_points", table_name="participation_proposals")
    op.create_index(
        "ix_participation_proposals_visible_points",
        "participation_proposals",
        ["process_id", "neighbourhood_id", "id"],
        postgresql_include=include,
        postgresql_where=sa.text(VISIBLE + " AND lon IS NOT NULL"),
        sqlite_where=sa.text(VISIBLE + " AND lon IS NOT NULL"),
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a NOT NULL column only with a default; rebuilding the table instead would drop the
        # proposal-count triggers. The model sets every new key, so the default is never used.
        op.execute("ALTER TABLE participation_proposals ADD COLUMN random_key INTEGER NOT NULL DEFAULT 0")
    else:
        op.add_column("participation_proposals", sa.Column("random_key", sa.Integer(), nullable=True))
    op.execute("UPDATE participation_proposals SET random_key = (CAST(id AS BIGINT) * 1103515245 + 12345) % 2147483647")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("participation_proposals", "random_key", nullable=False)
    op.drop_index("ix_participation_proposals_visible_ids", table_name="participation_proposals")
    op.create_index(
        "ix_participation_proposals_visible_random",
        "participation_proposals",
        ["process_id", "random_key", "id"],
        postgresql_include=["neighbourhood_id", "category_id", "status"],
        postgresql_where=sa.text(VISIBLE),
        sqlite_where=sa.text(VISIBLE),
    )
    if op.get_bind().dialect.name == "postgresql":
        _points_index([*POINTS_INCLUDE, "h3_r10"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _points_index(POINTS_INCLUDE)
    op.drop_index("ix_participation_proposals_visible_random", table_name="participation_proposals")
    op.create_index(
        "ix_participation_proposals_visible_ids",
        "participation_proposals",
        ["process_id", "id"],
        postgresql_where=sa.text(VISIBLE),
        sqlite_where=sa.text(VISIBLE),
    )
    op.drop_column("participation_proposals", "random_key")
