"""buildings: a building's attributes beside its SensorThings Thing, and the residents linked to it

Revision ID: 5b0e2d7c9a41
Revises: d1ae2b77d117
Create Date: 2026-12-07 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "5b0e2d7c9a41"
down_revision: str | tuple[str, ...] | None = "d1ae2b77d117"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "buildings",
        sa.Column("thing_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("use", sa.String(length=20), nullable=False),
        sa.Column("floor_area_m2", sa.Integer(), nullable=False),
        sa.Column("year_built", sa.Integer(), nullable=False),
        sa.Column("dwellings", sa.Integer(), nullable=False),
        sa.Column("energy_class", sa.String(length=1), nullable=True),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.Column("water_datastream_id", sa.BigInteger(), nullable=True),
        sa.Column("electricity_datastream_id", sa.BigInteger(), nullable=True),
        sa.Column("heating_datastream_id", sa.BigInteger(), nullable=True),
        sa.Column("temperature_datastream_id", sa.BigInteger(), nullable=True),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("thing_id", name=op.f("pk_buildings")),
    )
    op.create_index(op.f("ix_buildings_use"), "buildings", ["use"], unique=False)
    op.create_index(op.f("ix_buildings_neighbourhood_id"), "buildings", ["neighbourhood_id"], unique=False)
    op.create_table(
        "building_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("requested_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.thing_id"],
            name=op.f("fk_building_links_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["people.id"], name=op.f("fk_building_links_decided_by_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_building_links_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_building_links")),
        sa.UniqueConstraint("building_id", "person_id", name="uq_building_links_building_person"),
    )
    op.create_index(op.f("ix_building_links_building_id"), "building_links", ["building_id"], unique=False)
    op.create_index(op.f("ix_building_links_person_id"), "building_links", ["person_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_building_links_person_id"), table_name="building_links")
    op.drop_index(op.f("ix_building_links_building_id"), table_name="building_links")
    op.drop_table("building_links")
    op.drop_index(op.f("ix_buildings_neighbourhood_id"), table_name="buildings")
    op.drop_index(op.f("ix_buildings_use"), table_name="buildings")
    op.drop_table("buildings")
