"""sensing: the SensorThings API tables; on PostgreSQL, PostGIS and Observations partitioned by month

Revision ID: 3902159cb4ac
Revises: b21806da529c
Create Date: 2026-11-26 01:32:57.905976
"""

import itertools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "3902159cb4ac"
down_revision: str | None = "b21806da529c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Monthly partitions of sta_observations made by this migration (PostgreSQL); later months are added with
# citoyen.sensing.partitions.ensure_observation_partitions (see docs/architecture.md). Rows outside go to
# the default partition, so nothing is ever refused.
FIRST_PARTITION_MONTH = (2024, 1)
PARTITION_MONTHS = 60


def _months(first: tuple[int, int], count: int) -> list[tuple[int, int]]:
    year, month = first
    months = []
    for _ in range(count + 1):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # Geometry functions for $filter (st_within, geo.distance, ...) compile to PostGIS.
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "sta_observed_properties",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_observed_properties")),
    )
    op.create_table(
        "sta_sensors",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(length=100), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_sensors")),
    )
    op.create_table(
        "sta_locations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(length=100), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["neighbourhood_id"],
            ["neighbourhoods.id"],
            name=op.f("fk_sta_locations_neighbourhood_id_neighbourhoods"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_locations")),
    )
    with op.batch_alter_table("sta_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sta_locations_neighbourhood_id"), ["neighbourhood_id"], unique=False)

    op.create_table(
        "sta_things",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column(
            "access",
            sa.Enum("public", "restricted", "personal", name="thingaccess", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("owner_person_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("air", "water", "energy", "mobility", "other", name="thingkind", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("created_at", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_person_id"], ["people.id"], name=op.f("fk_sta_things_owner_person_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_things")),
    )
    with op.batch_alter_table("sta_things", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sta_things_access"), ["access"], unique=False)
        batch_op.create_index(batch_op.f("ix_sta_things_owner_person_id"), ["owner_person_id"], unique=False)

    op.create_table(
        "sta_datastreams",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("observation_type", sa.String(length=200), nullable=False),
        sa.Column("unit_of_measurement", sa.JSON(), nullable=False),
        sa.Column("observed_area", sa.Text(), nullable=True),
        sa.Column("phenomenon_time_start", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("phenomenon_time_end", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_time_start", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_time_end", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sensor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("observed_property_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["observed_property_id"],
            ["sta_observed_properties.id"],
            name=op.f("fk_sta_datastreams_observed_property_id_sta_observed_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sensor_id"], ["sta_sensors.id"], name=op.f("fk_sta_datastreams_sensor_id_sta_sensors"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["thing_id"], ["sta_things.id"], name=op.f("fk_sta_datastreams_thing_id_sta_things"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_datastreams")),
    )
    with op.batch_alter_table("sta_datastreams", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_datastreams_observed_property_id"), ["observed_property_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sta_datastreams_sensor_id"), ["sensor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sta_datastreams_thing_id"), ["thing_id"], unique=False)

    op.create_table(
        "sta_features_of_interest",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("encoding_type", sa.String(length=100), nullable=False),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("generated_from_location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["generated_from_location_id"],
            ["sta_locations.id"],
            name=op.f("fk_sta_features_of_interest_generated_from_location_id_sta_locations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_features_of_interest")),
    )
    with op.batch_alter_table("sta_features_of_interest", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_features_of_interest_generated_from_location_id"),
            ["generated_from_location_id"],
            unique=False,
        )

    op.create_table(
        "sta_historical_locations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("time", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["sta_things.id"],
            name=op.f("fk_sta_historical_locations_thing_id_sta_things"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_historical_locations")),
    )
    with op.batch_alter_table("sta_historical_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sta_historical_locations_thing_id"), ["thing_id"], unique=False)

    op.create_table(
        "sta_thing_locations",
        sa.Column("thing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["sta_locations.id"],
            name=op.f("fk_sta_thing_locations_location_id_sta_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thing_id"], ["sta_things.id"], name=op.f("fk_sta_thing_locations_thing_id_sta_things"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("thing_id", "location_id", name=op.f("pk_sta_thing_locations")),
    )
    with op.batch_alter_table("sta_thing_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sta_thing_locations_location_id"), ["location_id"], unique=False)

    op.create_table(
        "sta_historical_location_locations",
        sa.Column("historical_location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["historical_location_id"],
            ["sta_historical_locations.id"],
            name=op.f("fk_sta_historical_location_locations_historical_location_id_sta_historical_locations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["sta_locations.id"],
            name=op.f("fk_sta_historical_location_locations_location_id_sta_locations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "historical_location_id", "location_id", name=op.f("pk_sta_historical_location_locations")
        ),
    )
    with op.batch_alter_table("sta_historical_location_locations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sta_historical_location_locations_location_id"), ["location_id"], unique=False
        )

    partitioning: dict[str, Any] = {"postgresql_partition_by": "RANGE (phenomenon_time_start)"} if postgresql else {}
    op.create_table(
        "sta_observations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, autoincrement=True),
        sa.Column("datastream_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("phenomenon_time_start", citoyen.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("phenomenon_time_end", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_time", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_type", sa.SmallInteger(), nullable=False),
        sa.Column("result_number", sa.Float(), nullable=True),
        sa.Column("result_string", sa.Text(), nullable=True),
        sa.Column("result_boolean", sa.Boolean(), nullable=True),
        sa.Column("result_json", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("result_quality", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("valid_time_start", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("valid_time_end", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=True),
        sa.Column("feature_of_interest_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["datastream_id"],
            ["sta_datastreams.id"],
            name=op.f("fk_sta_observations_datastream_id_sta_datastreams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["feature_of_interest_id"],
            ["sta_features_of_interest.id"],
            name=op.f("fk_sta_observations_feature_of_interest_id_sta_features_of_interest"),
            ondelete="CASCADE",
        ),
        # A partitioned table's primary key must contain the partition key.
        sa.PrimaryKeyConstraint(
            *(["id", "phenomenon_time_start"] if postgresql else ["id"]), name=op.f("pk_sta_observations")
        ),
        **partitioning,
    )
    if postgresql:
        # id is a bigserial: one sequence feeds every partition, so ids stay unique across them.
        months = _months(FIRST_PARTITION_MONTH, PARTITION_MONTHS)
        for (year, month), (next_year, next_month) in itertools.pairwise(months):
            op.execute(
                f"CREATE TABLE sta_observations_y{year:04d}m{month:02d} PARTITION OF sta_observations "
                f"FOR VALUES FROM ('{year:04d}-{month:02d}-01 00:00:00+00') "
                f"TO ('{next_year:04d}-{next_month:02d}-01 00:00:00+00')"
            )
        op.execute("CREATE TABLE sta_observations_default PARTITION OF sta_observations DEFAULT")
    with op.batch_alter_table("sta_observations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sta_observations_datastream_time", ["datastream_id", "phenomenon_time_start"], unique=False
        )
        batch_op.create_index("ix_sta_observations_feature_of_interest_id", ["feature_of_interest_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sta_observations", schema=None) as batch_op:
        batch_op.drop_index("ix_sta_observations_feature_of_interest_id")
        batch_op.drop_index("ix_sta_observations_datastream_time")

    op.drop_table("sta_observations")  # on PostgreSQL its partitions and sequence go with it
    with op.batch_alter_table("sta_historical_location_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_historical_location_locations_location_id"))

    op.drop_table("sta_historical_location_locations")
    with op.batch_alter_table("sta_thing_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_thing_locations_location_id"))

    op.drop_table("sta_thing_locations")
    with op.batch_alter_table("sta_historical_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_historical_locations_thing_id"))

    op.drop_table("sta_historical_locations")
    with op.batch_alter_table("sta_features_of_interest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_features_of_interest_generated_from_location_id"))

    op.drop_table("sta_features_of_interest")
    with op.batch_alter_table("sta_datastreams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_datastreams_thing_id"))
        batch_op.drop_index(batch_op.f("ix_sta_datastreams_sensor_id"))
        batch_op.drop_index(batch_op.f("ix_sta_datastreams_observed_property_id"))

    op.drop_table("sta_datastreams")
    with op.batch_alter_table("sta_things", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_things_owner_person_id"))
        batch_op.drop_index(batch_op.f("ix_sta_things_access"))

    op.drop_table("sta_things")
    with op.batch_alter_table("sta_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sta_locations_neighbourhood_id"))

    op.drop_table("sta_locations")
    op.drop_table("sta_sensors")
    op.drop_table("sta_observed_properties")
