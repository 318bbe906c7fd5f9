"""Test harness: the schema is built by the migrations, on SQLite always and on PostgreSQL when
CITOYEN_TEST_DATABASE_URL is set; each test runs in a transaction that is rolled back."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from citoyen.app import build_event_hub, create_app
from citoyen.config import Settings
from citoyen.db import make_engine, make_sessionmaker
from citoyen.engines import make_app_engine
from citoyen.events import HUB_KEY
from citoyen.migrations import upgrade_engine
from citoyen.people import security

POSTGRES_URL = os.environ.get("CITOYEN_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def run_on_postgres_server(statement: str) -> None:
    """One statement outside any transaction (CREATE/DROP DATABASE), through the test database's server."""

    async def execute() -> None:
        engine = make_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(statement))
        await engine.dispose()

    asyncio.run(execute())


def postgres_database(name: str) -> str:
    """The URL of another database on the test database's server."""
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    """Argon2 at its smallest cost in the tests' own process: the platform's cost (about 0.1 s a hash, on purpose)
    was paid for every person a test creates and every login, minutes of CI; no test is about argon2's cost, and a
    hash still verifies only its own password. Servers the tests start in other processes keep the real cost."""
    patch = pytest.MonkeyPatch()
    patch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    yield
    patch.undo()


def _worker_database_name() -> str:
    """This worker's database on the test database's server (the given one itself without xdist)."""
    name = POSTGRES_URL.rsplit("/", 1)[1]
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return name if worker is None else f"{name}_{worker}"


def _migrate(url: str, wipe: bool = False) -> None:
    """Migrate the database at `url` (on PostgreSQL, with `wipe`, after emptying its public schema)."""

    async def migrate() -> None:
        engine = make_app_engine(url)
        if wipe:
            async with engine.begin() as connection:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
        await upgrade_engine(engine)
        # PostgreSQL copies a template only when nobody is connected to it.
        await engine.dispose()

    asyncio.run(migrate())


@pytest.fixture(scope="session")
def postgres_template() -> str:
    """A PostgreSQL database migrated once per worker, which the session's database and the tests' own databases
    copy (CREATE DATABASE … TEMPLATE): migrating anew for each of them cost CI minutes."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL is not configured: set CITOYEN_TEST_DATABASE_URL")
    name = f"{_worker_database_name()}_template"
    run_on_postgres_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    run_on_postgres_server(f'CREATE DATABASE "{name}"')
    url = postgres_database(name)
    _migrate(url)
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite database migrated once per worker, which the session's database and the tests' own copy."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('template') / 'template.sqlite3'}"
    _migrate(url)
    return url


def copy_of_template(template: str, name: str, directory: Path | None = None) -> str:
    """A new database copied from a migrated template: the file `directory/name.sqlite3`, or the PostgreSQL
    database `name` (which the caller drops)."""
    if not template.startswith("postgresql"):
        assert directory is not None, "a SQLite copy needs a directory"
        copy = directory / f"{name}.sqlite3"
        shutil.copyfile(template.removeprefix("sqlite+aiosqlite:///"), copy)
        return f"sqlite+aiosqlite:///{copy}"
    run_on_postgres_server(f'CREATE DATABASE "{name}" TEMPLATE "{template.rsplit("/", 1)[1]}"')
    return postgres_database(name)


@pytest.fixture(scope="session", params=BACKENDS)
def migrated_template(request: pytest.FixtureRequest) -> str:
    """The worker's migrated template on the session's backend."""
    return str(request.getfixturevalue("sqlite_template" if request.param == "sqlite" else "postgres_template"))


@pytest.fixture(scope="session")
def session_databases() -> dict[str, str]:
    """The session's database of each backend, by template: made once per worker. pytest sets a parametrized
    session fixture up again each time the tests switch backend (dozens of times a run, as files come to a worker),
    and making the database anew at each switch cost CI minutes."""
    return {}


@pytest.fixture(scope="session")
def database_url(
    migrated_template: str, session_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> str:
    """The session's migrated database: a copy of the template (without xdist, PostgreSQL's is the given database
    itself, wiped and migrated)."""
    if migrated_template in session_databases:
        return session_databases[migrated_template]
    if not migrated_template.startswith("postgresql"):
        url = copy_of_template(migrated_template, "test", tmp_path_factory.mktemp("db"))
    elif os.environ.get("PYTEST_XDIST_WORKER") is None:
        url = POSTGRES_URL
        _migrate(url, wipe=True)
    else:
        # Parallel workers (pytest-xdist) each have a database of their own, next to the given one.
        name = _worker_database_name()
        run_on_postgres_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        url = copy_of_template(migrated_template, name)
    session_databases[migrated_template] = url
    return url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The session's migrated database."""
    engine = make_app_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def own_database_url(migrated_template: str, tmp_path: Path) -> Iterator[str]:
    """A migrated database of the test's own, on the test's backend, where commits are real: for what only
    shows outside the rolled-back transaction of the other tests (PostgreSQL's autocommit routes)."""
    url = copy_of_template(migrated_template, f"citoyen_own_{uuid.uuid4().hex[:10]}", tmp_path)
    yield url
    if url.startswith("postgresql"):
        run_on_postgres_server(f'DROP DATABASE "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions on the test's connection: their commits become savepoints, all undone after the test."""
    return make_sessionmaker(connection, build_event_hub(), join_transaction_mode="create_savepoint")


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path, database_url=database_url, secret_key="test-secret-key-" + "x" * 32)


@pytest.fixture
def app(settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]) -> FastAPI:
    app = create_app(settings, engine=engine)
    # The test's sessions deliver their events through this app's hub, as the app's own sessions do (the MQTT
    # ingest and live pages listen there).
    sessionmaker.configure(info={HUB_KEY: app.state.events})
    app.state.sessionmaker = sessionmaker
    return app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def csrf_token(client: httpx.AsyncClient, path: str = "/") -> str:
    """The CSRF token of the client's session, read from a page's form as a browser would."""
    response = await client.get(path)
    match = CSRF_PATTERN.search(response.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def anyio_backend() -> Iterator[str]:
    yield "asyncio"
