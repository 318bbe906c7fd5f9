"""the opinion map at scale: each participant's point in a table of its own, the picture stored ready

The map page read the whole `opinion_maps.points` (every participant's point, as JSON) to draw a sample and find
the viewer's point: each participant's point is now a row of `opinion_map_points`, read by its key, and the
drawing is stored ready in `opinion_maps.picture`. The maps computed before are recomputed at the next round
(their `last_vote_at` is cleared).

Revision ID: 3f0e8a61c2d5
Revises: 8c10143b1e6e
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f0e8a61c2d5"
down_revision: str | None = "8c10143b1e6e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "opinion_map_points",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("group_id", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["opinion_conversations.id"],
            name=op.f("fk_opinion_map_points_conversation_id_opinion_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "pid", name=op.f("pk_opinion_map_points")),
    )
    with op.batch_alter_table("opinion_maps") as batch:
        batch.add_column(sa.Column("picture", sa.JSON(), nullable=False, server_default="{}"))
        batch.drop_column("points")
    op.execute("UPDATE opinion_maps SET last_vote_at = NULL")


def downgrade() -> None:
    with op.batch_alter_table("opinion_maps") as batch:
        batch.add_column(sa.Column("points", sa.JSON(), nullable=False, server_default="[]"))
        batch.drop_column("picture")
    op.execute("UPDATE opinion_maps SET last_vote_at = NULL")
    op.drop_table("opinion_map_points")
