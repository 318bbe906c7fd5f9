"""A demo city built once per module and backend, for the modules whose tests all read the same city: building it
for each test cost CI minutes. Each test still runs in a transaction of its own, rolled back afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from citoyen.app import build_event_hub
from citoyen.config import Settings
from citoyen.db import make_sessionmaker
from citoyen.demo.generator import build_demo
from citoyen.engines import make_app_engine
from tests.conftest import copy_of_template, run_on_postgres_server


@pytest.fixture(scope="module")
def module_database_url(
    migrated_template: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A migrated database (a copy of the run's template) for the module's tests, where its build is committed."""
    name = f"{migrated_template.rsplit('/', 1)[1].removesuffix('.sqlite3')}_{request.module.__name__.rsplit('.', 1)[1]}"
    if migrated_template.startswith("postgresql"):
        run_on_postgres_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    url = copy_of_template(migrated_template, name, tmp_path_factory.mktemp("demo-module"))
    yield url
    if url.startswith("postgresql"):
        run_on_postgres_server(f'DROP DATABASE "{name}" WITH (FORCE)')


@asynccontextmanager
async def demo_engine(
    database_url: str, data_dir: Path, parts: frozenset[str], **settings: Any
) -> AsyncIterator[AsyncEngine]:
    """The demo's `parts` (see `build_demo`'s `only`) built and committed in the database at `database_url`."""
    engine = make_app_engine(database_url)
    try:
        demo_settings = Settings(
            data_dir=data_dir, database_url=database_url, secret_key="demo-module-" + "x" * 40, **settings
        )
        async with make_sessionmaker(engine, build_event_hub())() as session:
            await build_demo(session, demo_settings, with_open_data=False, only=parts)
            await session.commit()
        yield engine
    finally:
        await engine.dispose()


async def rolled_back_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """What the `connection` fixture of tests/conftest.py yields, on `engine`: the test's commits are undone."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()
