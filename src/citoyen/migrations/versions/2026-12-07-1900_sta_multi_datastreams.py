"""sensing: MultiDatastreams (OGC 18-088 §14), whose Observations share `sta_observations`

New tables `sta_multi_datastreams` and `sta_multi_observed_properties` (a MultiDatastream's
ObservedProperties with their positions). `sta_observations` gets `multi_datastream_id` beside a now nullable
`datastream_id`, a check that exactly one is set, and a partial index on (multi_datastream_id, phenomenon time) that
only the Observations of MultiDatastreams enter (ingest into Datastreams pays nothing for it).

On PostgreSQL the new key is checked as the store checks the others (no foreign key: the writer locks the
MultiDatastream `FOR KEY SHARE`), and a statement trigger on `sta_multi_datastreams` deletes the Observations of
the rows a statement deleted; SQLite keeps a foreign key with ON DELETE CASCADE (the table is rebuilt to add it).

Revision ID: 4c7e1d9a2b58
Revises: 3c7a1d9e5b20
Create Date: 2026-12-07 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import citoyen.db

revision: str = "4c7e1d9a2b58"
down_revision: str | None = "3c7a1d9e5b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TRIGGER = "sta_multi_datastreams_delete_observations"
ONE_STREAM = "(datastream_id IS NULL) <> (multi_datastream_id IS NULL)"
WHERE_MULTI = sa.text("multi_datastream_id IS NOT NULL")


def upgrade() -> None:
    op.create_table(
        "sta_multi_datastreams",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("observation_type", sa.String(length=200), nullable=False),
        sa.Column("unit_of_measurements", sa.JSON(), nullable=False),
        sa.Column("multi_observation_data_types", sa.JSON(), nullable=False),
        sa.Column("observed_area", sa.Text(), nullable=True),
        sa.Column("phenomenon_time_start", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("phenomenon_time_end", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_time_start", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result_time_end", citoyen.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=True),
        sa.Column("thing_id", BIG_ID, nullable=False),
        sa.Column("sensor_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["sensor_id"],
            ["sta_sensors.id"],
            name=op.f("fk_sta_multi_datastreams_sensor_id_sta_sensors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["thing_id"],
            ["sta_things.id"],
            name=op.f("fk_sta_multi_datastreams_thing_id_sta_things"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sta_multi_datastreams")),
    )
    op.create_index(op.f("ix_sta_multi_datastreams_sensor_id"), "sta_multi_datastreams", ["sensor_id"])
    op.create_index(op.f("ix_sta_multi_datastreams_thing_id"), "sta_multi_datastreams", ["thing_id"])
    op.create_table(
        "sta_multi_observed_properties",
        sa.Column("multi_datastream_id", BIG_ID, nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("observed_property_id", BIG_ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["multi_datastream_id"],
            ["sta_multi_datastreams.id"],
            name=op.f("fk_sta_multi_observed_properties_multi_datastream_id_st_2e43"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["observed_property_id"],
            ["sta_observed_properties.id"],
            name=op.f("fk_sta_multi_observed_properties_observed_property_id_s_a677"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("multi_datastream_id", "position", name=op.f("pk_sta_multi_observed_properties")),
    )
    op.create_index(
        op.f("ix_sta_multi_observed_properties_observed_property_id"),
        "sta_multi_observed_properties",
        ["observed_property_id"],
    )

    if op.get_bind().dialect.name == "postgresql":
        # A partitioned table: each statement reaches every partition (existing and future ones).
        op.add_column("sta_observations", sa.Column("multi_datastream_id", sa.BigInteger(), nullable=True))
        op.alter_column("sta_observations", "datastream_id", existing_type=sa.BigInteger(), nullable=True)
        op.create_check_constraint(op.f("ck_sta_observations_one_stream"), "sta_observations", ONE_STREAM)
        body = "DELETE FROM sta_observations o USING gone WHERE o.multi_datastream_id = gone.id; RETURN NULL;"
        op.execute(f"CREATE FUNCTION {TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} END $$")
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER DELETE ON sta_multi_datastreams REFERENCING OLD TABLE AS gone "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {TRIGGER}()"
        )
    else:
        with op.batch_alter_table("sta_observations", recreate="always") as batch:
            batch.add_column(sa.Column("multi_datastream_id", BIG_ID, nullable=True))
            batch.alter_column("datastream_id", existing_type=BIG_ID, nullable=True)
            batch.create_foreign_key(
                op.f("fk_sta_observations_multi_datastream_id_sta_multi_datastreams"),
                "sta_multi_datastreams",
                ["multi_datastream_id"],
                ["id"],
                ondelete="CASCADE",
            )
            batch.create_check_constraint(op.f("ck_sta_observations_one_stream"), ONE_STREAM)
    op.create_index(
        "ix_sta_observations_multi_datastream_time",
        "sta_observations",
        ["multi_datastream_id", "phenomenon_time_start"],
        postgresql_where=WHERE_MULTI,
        sqlite_where=WHERE_MULTI,
    )


def downgrade() -> None:
    op.drop_index("ix_sta_observations_multi_datastream_time", table_name="sta_observations")
    # The Observations of MultiDatastreams have no place in the older table.
    op.execute("DELETE FROM sta_observations WHERE multi_datastream_id IS NOT NULL")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TRIGGER} ON sta_multi_datastreams")
        op.execute(f"DROP FUNCTION {TRIGGER}()")
        op.drop_constraint(op.f("ck_sta_observations_one_stream"), "sta_observations", type_="check")
        op.alter_column("sta_observations", "datastream_id", existing_type=sa.BigInteger(), nullable=False)
        op.drop_column("sta_observations", "multi_datastream_id")
    else:
        with op.batch_alter_table("sta_observations", recreate="always") as batch:
            batch.drop_constraint(op.f("ck_sta_observations_one_stream"), type_="check")
            batch.drop_constraint(op.f("fk_sta_observations_multi_datastream_id_sta_multi_datastreams"), "foreignkey")
            batch.alter_column("datastream_id", existing_type=BIG_ID, nullable=False)
            batch.drop_column("multi_datastream_id")
    op.drop_table("sta_multi_observed_properties")
    op.drop_index(op.f("ix_sta_multi_datastreams_thing_id"), table_name="sta_multi_datastreams")
    op.drop_index(op.f("ix_sta_multi_datastreams_sensor_id"), table_name="sta_multi_datastreams")
    op.drop_table("sta_multi_datastreams")
