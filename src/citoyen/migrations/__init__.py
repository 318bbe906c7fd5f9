"""Alembic migrations; `upgrade_database` is what `citoyen migrate`, the app start and the tests call."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from citoyen.db import make_engine

if TYPE_CHECKING:
    from alembic.config import Config

# Alembic is imported by the functions that migrate, not with this module, which the app imports: with Mako and
# Pygments it is about 10 MB resident that a served PostgreSQL process (migrated by `citoyen migrate`) never uses.

MIGRATIONS_DIR = Path(__file__).parent

# Tables in the database that no model describes, on purpose: PostGIS's catalogue, the monthly
# partitions of sta_observations (PostgreSQL), which are the model's table split by time, and the full-text
# indexes on SQLite of datasets, proposals and reports (an FTS5 table each, and its shadow tables) and on
# PostgreSQL of datasets (opendata_dataset_words, kept by a trigger), and the open-data DataStore's tables, one
# per loaded file version, made at run time like CKAN's (citoyen.opendata.datastore).
UNMODELLED_TABLE = re.compile(
    r"spatial_ref_sys|sta_observations_(y\d{4}m\d{2}|default)"
    r"|(opendata_datasets|participation_proposals|reports)_fts(_data|_idx|_docsize|_config)?"
    r"|opendata_dataset_words"
    r"|datastore_[0-9a-f]{32}_v\d+t?"
)
# PostgreSQL-only full-text indexes (GIN over search_vector, and over the datasets' words), made by the migrations
# alone; and the BRIN index on the observations' ids, which stands in for their primary key there (migration
# "observation_store").
UNMODELLED_INDEX = re.compile(
    r"ix_(opendata_datasets|opendata_dataset_words|participation_proposals|reports)_fts|ix_sta_observations_id_brin"
)
# The observations' foreign keys, which SQLite keeps and PostgreSQL checks once per batch instead (the store locks
# the batch's parents; statement triggers cascade deletes): models declare them, PostgreSQL has none.
STORE_CHECKED_KEY = re.compile(r"fk_sta_observations_(datastream_id|multi_datastream_id|feature_of_interest_id)_.*")


# PostgreSQL-only generated columns, made by the migrations alone: the full-text vectors.
UNMODELLED_COLUMN = re.compile(r"search_vector")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Autogenerate (and the models-vs-migrations test) ignore the tables listed in UNMODELLED_TABLE, the
    indexes listed in UNMODELLED_INDEX, the columns listed in UNMODELLED_COLUMN and, where the database lacks
    them (PostgreSQL), the observations' foreign keys in STORE_CHECKED_KEY."""
    if type_ == "foreign_key_constraint" and not reflected and compare_to is None:
        return not STORE_CHECKED_KEY.fullmatch(name or "")
    unmodelled = {"table": UNMODELLED_TABLE, "index": UNMODELLED_INDEX, "column": UNMODELLED_COLUMN}.get(type_)
    return not (unmodelled and reflected and compare_to is None and unmodelled.fullmatch(name or ""))


def alembic_config(database_url: str = "") -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _upgrade_on(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    from alembic import command

    command.upgrade(config, revision)


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade_on, revision)


async def upgrade_database_async(database_url: str, revision: str = "head") -> None:
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()


def upgrade_database(database_url: str, revision: str = "head") -> None:
    asyncio.run(upgrade_database_async(database_url, revision))
