"""the names the platform seeds are bilingual: departments and sensors have an English name

`name_en` on departments, `name_en` and `description_en` on SensorThings Things, Sensors, ObservedProperties
and Datastreams: a page reads them with `citoyen.i18n.localized` (empty: the French name, as given). The
SensorThings API does not show them: it answers with the data as stored.

Revision ID: 5b8e2c41d7a9
Revises: 92e17003ea6b
Create Date: 2026-12-07 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b8e2c41d7a9"
down_revision: str | None = "92e17003ea6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SENSING_TABLES = ("sta_things", "sta_sensors", "sta_observed_properties", "sta_datastreams")


def upgrade() -> None:
    with op.batch_alter_table("departments") as batch:
        batch.add_column(sa.Column("name_en", sa.String(length=200), server_default="", nullable=False))
    for table in SENSING_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("name_en", sa.String(length=300), server_default="", nullable=False))
            batch.add_column(sa.Column("description_en", sa.Text(), server_default="", nullable=False))


def downgrade() -> None:
    for table in SENSING_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("description_en")
            batch.drop_column("name_en")
    with op.batch_alter_table("departments") as batch:
        batch.drop_column("name_en")
