"""address points for geocoding

The `addresses` table holds the points of a Base Adresse Nationale (BAN) CSV file (`citoyen territory
import-addresses`): the BAN id, number and repetition, street, postcode, commune, WGS84 point, and the street's
normalised name (`street_key`) the geocoder compares. Two indexes serve it: (street_key, numero) for an
address's numbers, (lat, lon) for the nearest address to a pin. `address_imports` records each import; the
newest one's revision tells every process to rebuild its street index. On PostgreSQL the key is compared
byte by byte (collation "C"), so that a prefix is a range of the index whatever the database's locale.

Revision ID: a7d3c1e9b2f4
Revises: 92e17003ea6b
Create Date: 2026-12-07 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "a7d3c1e9b2f4"
down_revision: str | None = "92e17003ea6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ban_id", sa.String(length=60), nullable=False),
        sa.Column("numero", sa.Integer(), nullable=False),
        sa.Column("suffixe", sa.String(length=20), nullable=False),
        sa.Column("nom_voie", sa.String(length=200), nullable=False),
        sa.Column("code_postal", sa.String(length=5), nullable=False),
        sa.Column("nom_commune", sa.String(length=100), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column(
            "street_key",
            sa.String(length=200).with_variant(sa.String(length=200, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_addresses")),
    )
    op.create_index("ix_addresses_street_number", "addresses", ["street_key", "numero"])
    op.create_index("ix_addresses_lat_lon", "addresses", ["lat", "lon"])
    op.create_table(
        "address_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("imported_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_address_imports")),
    )


def downgrade() -> None:
    op.drop_table("address_imports")
    op.drop_index("ix_addresses_lat_lon", table_name="addresses")
    op.drop_index("ix_addresses_street_number", table_name="addresses")
    op.drop_table("addresses")
