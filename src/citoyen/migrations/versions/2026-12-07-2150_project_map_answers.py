"""projects: the map's costly answers stored for every worker, rebuilt in the background after a change

`project_map_answers` holds the city-wide map answers (and any of a thousand projects or more) as the bytes sent,
with the version of the projects they were built from; a worker claims a rebuild (`claim_version`, `claimed_at`)
while the previous answer is served.

Revision ID: 5d8f3b0a2c69
Revises: 8d2f4a6c1e37
Create Date: 2026-12-07 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "5d8f3b0a2c69"
down_revision: str | None = "8d2f4a6c1e37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "project_map_answers",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("built_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("asked_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claim_version", sa.BigInteger(), nullable=True),
        sa.Column("claimed_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_project_map_answers")),
    )


def downgrade() -> None:
    op.drop_table("project_map_answers")
