"""the catalogue's version, changed by every write to it

One row (`opendata_catalogue_version`) whose `version` changes with every statement that writes datasets, their
tags, themes and resources, publishers, themes or tags, in the writing transaction: a process's caches of the
catalogue (the whole catalogue's facets, every dataset's facet values) hold while it reads the same version, one
look-up by key instead of a scan of every dataset. The value is a stamp that never repeats (a sequence on
PostgreSQL, a random 63-bit number on SQLite), so that a rolled-back change's stamp is never taken for a
committed one. PostgreSQL changes it before each writing statement (the row's lock is taken before any row of
the catalogue, so two writers queue instead of deadlocking); SQLite, which has no statement triggers, after
each row written.

Revision ID: c4e8a2f61d07
Revises: 92e17003ea6b
Create Date: 2026-12-07 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4e8a2f61d07"
down_revision: str | None = "92e17003ea6b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WRITTEN = (
    "opendata_datasets",
    "opendata_dataset_tags",
    "opendata_dataset_groups",
    "opendata_resources",
    "opendata_organizations",
    "opendata_groups",
    "opendata_tags",
)
SQLITE_STAMP = "UPDATE opendata_catalogue_version SET version = abs(random() % 9223372036854775807) WHERE id = 1"


def upgrade() -> None:
    op.create_table(
        "opendata_catalogue_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opendata_catalogue_version")),
    )
    op.execute("INSERT INTO opendata_catalogue_version (id, version) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE opendata_catalogue_stamp")
        op.execute(
            "CREATE FUNCTION opendata_catalogue_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "UPDATE opendata_catalogue_version SET version = nextval('opendata_catalogue_stamp') WHERE id = 1; "
            "RETURN NULL; END $$"
        )
        for table in WRITTEN:
            op.execute(
                f"CREATE TRIGGER {table}_changed BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION opendata_catalogue_changed()"
            )
        return
    for table in WRITTEN:
        for event in ("insert", "update", "delete"):
            op.execute(
                f"CREATE TRIGGER {table}_{event}_changed AFTER {event.upper()} ON {table} BEGIN {SQLITE_STAMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WRITTEN:
            op.execute(f"DROP TRIGGER {table}_changed ON {table}")
        op.execute("DROP FUNCTION opendata_catalogue_changed()")
        op.execute("DROP SEQUENCE opendata_catalogue_stamp")
    else:
        for table in WRITTEN:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_{event}_changed")
    op.drop_table("opendata_catalogue_version")
