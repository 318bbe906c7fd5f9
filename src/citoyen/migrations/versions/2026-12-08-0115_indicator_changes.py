"""indicators: a quartier's weekly figure that left its usual range, and the weeks judged

`indicator_changes` holds at most one change per indicator, quartier and week (announced as `IndicatorChanged`, which
the quartier's feed records); `indicator_weeks_judged` the weeks already judged, each once.

Revision ID: cbe35a045637
Revises: 8b1f4d2e6a37
Create Date: 2026-12-08 01:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "cbe35a045637"
down_revision: str | None = "8b1f4d2e6a37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "indicator_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.String(length=60), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("week", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("judged_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_changes")),
        sa.UniqueConstraint(
            "indicator_id",
            "neighbourhood_id",
            "week",
            name=op.f("uq_indicator_changes_indicator_id_neighbourhood_id_week"),
        ),
    )
    op.create_table(
        "indicator_weeks_judged",
        sa.Column("week", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("judged_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_indicator_weeks_judged")),
    )


def downgrade() -> None:
    op.drop_table("indicator_weeks_judged")
    op.drop_table("indicator_changes")
