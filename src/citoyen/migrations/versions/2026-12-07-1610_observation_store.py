"""sensing: the observation store built for ingest (PostgreSQL; SQLite keeps its simple table)

`sta_observations` loses what it checked row by row on every insert:
- its two foreign keys (to its Datastream and its FeatureOfInterest): the store checks them once per batch instead,
  reading and locking the batch's Datastreams and FeaturesOfInterest `FOR KEY SHARE` (citoyen.sensing.integrity),
  and the cascades are done set-based by statement triggers (`AFTER DELETE ... REFERENCING OLD TABLE`) on
  `sta_datastreams` and `sta_features_of_interest`, which delete the Observations of every row a statement
  deleted, however it was deleted (an API DELETE, a Thing's cascade, the personal-data eraser);
- its primary key `(id, phenomenon_time_start)`, a unique B-tree checked on every row, though the store makes
  every id itself from one sequence: ids are found through a BRIN index on `id` instead (ids grow with the
  sequence, so each partition's blocks hold narrow id ranges).
What stays: one B-tree on (datastream, phenomenon time) per monthly partition, the reads' index, and the
FeatureOfInterest index (its Observations, its deletion's cascade).

The upgrade keeps the rows (dropping constraints and adding an index); the downgrade puts the keys back, which
checks the rows against them.

Revision ID: 8b3d6f0e2a91
Revises: 6d2b9e4f1a37
Create Date: 2026-12-07 16:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "8b3d6f0e2a91"
down_revision: str | None = "6d2b9e4f1a37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (parent table, observation column, foreign key name as the first migration made it: SQLAlchemy shortened the
# second, longer than PostgreSQL's 63 characters, with a hash)
PARENTS = (
    ("sta_datastreams", "datastream_id", "fk_sta_observations_datastream_id_sta_datastreams"),
    (
        "sta_features_of_interest",
        "feature_of_interest_id",
        "fk_sta_observations_feature_of_interest_id_sta_features_51e4",
    ),
)


def _trigger(parent: str) -> str:
    return f"{parent}_delete_observations"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for parent, column, key in PARENTS:
        op.execute(f"ALTER TABLE sta_observations DROP CONSTRAINT {key}")
        body = f"DELETE FROM sta_observations o USING gone WHERE o.{column} = gone.id; RETURN NULL;"  # noqa: S608
        op.execute(f"CREATE FUNCTION {_trigger(parent)}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} END $$")
        op.execute(
            f"CREATE TRIGGER {_trigger(parent)} AFTER DELETE ON {parent} REFERENCING OLD TABLE AS gone "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_trigger(parent)}()"
        )
    op.execute("ALTER TABLE sta_observations DROP CONSTRAINT pk_sta_observations")
    op.execute("CREATE INDEX ix_sta_observations_id_brin ON sta_observations USING brin (id)")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_sta_observations_id_brin")
    op.execute(
        "ALTER TABLE sta_observations ADD CONSTRAINT pk_sta_observations PRIMARY KEY (id, phenomenon_time_start)"
    )
    for parent, column, key in PARENTS:
        op.execute(f"DROP TRIGGER {_trigger(parent)} ON {parent}")
        op.execute(f"DROP FUNCTION {_trigger(parent)}()")
        op.execute(
            f"ALTER TABLE sta_observations ADD CONSTRAINT {key} FOREIGN KEY ({column}) "
            f"REFERENCES {parent} (id) ON DELETE CASCADE"
        )
