"""a Datastream's unit symbol and an in-app notification's title have an English form beside the French one

`unit_symbol_en` on SensorThings Datastreams (a unit that is a word, such as "vélos/h", reads "bicycles/h" on an
English page; empty: the symbol as given, which reads the same in both languages, such as "µg/m³") and `title_en`
on notifications (the notification page shows the title in the page's language; empty for older rows: the title
as written then, in the account's language). The SensorThings API answers with the unit as stored.

Revision ID: 7c1d9e4f2a60
Revises: cbe35a045637
Create Date: 2026-12-08 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1d9e4f2a60"
down_revision: str | None = "cbe35a045637"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sta_datastreams") as batch:
        batch.add_column(sa.Column("unit_symbol_en", sa.String(length=100), server_default="", nullable=False))
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("title_en", sa.String(length=300), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("title_en")
    with op.batch_alter_table("sta_datastreams") as batch:
        batch.drop_column("unit_symbol_en")
