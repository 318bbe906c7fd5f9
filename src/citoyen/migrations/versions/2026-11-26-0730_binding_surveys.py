"""binding surveys

A survey may be a binding consultation: only verified residents answer it.

Revision ID: b3d9e1f27a60
Revises: 7c1e5b2a9d40
Create Date: 2026-11-26 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b3d9e1f27a60"
down_revision: str | None = "7c1e5b2a9d40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("participation_surveys") as batch:
        batch.add_column(sa.Column("binding", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("participation_surveys") as batch:
        batch.drop_column("binding")
