"""Alembic environment: runs on a connection handed in by Citoyen, or on `sqlalchemy.url` (async)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from citoyen.db import make_engine
from citoyen.migrations import include_object
from citoyen.models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async(config.get_main_option("sqlalchemy.url") or ""))
