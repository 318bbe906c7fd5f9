"""Storage: engine, the request's session (which owns the transaction), the declarative Base, shared types."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy import ARRAY, ColumnElement, DateTime, Integer, MetaData, Select, any_, bindparam, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, QueryableAttribute
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only

from citoyen.events import HUB_KEY, EventHub, attach

# Explicit constraint names so that Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no offset, so we store naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Citoyen stores timezone-aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        # asyncpg already returns timestamptz values as aware UTC datetimes: nothing to convert, and big
        # SensorThings collections read tens of thousands of them.
        if dialect.name == "postgresql" and dialect.driver == "asyncpg":
            return None
        return super().result_processor(dialect, coltype)


def utcnow() -> datetime:
    return datetime.now(UTC)


Model = TypeVar("Model", bound=Base)


def detached_copy(item: Model) -> Model:
    """A copy of a loaded row outside any session, safe to keep between requests: the session's own
    object stays its, and that session's rollback (a refused request) expires its objects, which a
    cache must not hand to the next requests."""
    columns = sa_inspect(type(item)).column_attrs
    return type(item)(**{column.key: getattr(item, column.key) for column in columns})


def one_of(
    session: AsyncSession, column: ColumnElement[Any] | QueryableAttribute[Any], ids: Iterable[int]
) -> ColumnElement[bool]:
    """`column IN ids`, sent to PostgreSQL as one array (`= ANY`): the statement is then the same for any
    number of ids, compiled and prepared once, where an IN list renders and prepares one per length."""
    values = list(ids)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=ARRAY(Integer)))
    return column.in_(values)


async def keyset_batches(
    session: AsyncSession,
    stmt: Select[*tuple[Any, ...]],
    key_column: ColumnElement[Any] | QueryableAttribute[Any],
    batch_size: int,
) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The rows of `stmt` in batches of `batch_size`, ordered by `key_column` (unique: a primary key), each batch
    one query that starts after the last batch's key: memory holds one batch however many rows there are, and
    no OFFSET makes the database walk past the rows already read. Each row is the tuple of `stmt`'s columns."""
    query = stmt.add_columns(key_column).order_by(key_column).limit(batch_size)
    last: Any = None
    while True:
        page = query if last is None else query.where(key_column > last)
        rows = (await session.execute(page)).all()
        if not rows:
            return
        yield [tuple(row)[:-1] for row in rows]
        if len(rows) < batch_size:
            return
        last = rows[-1][-1]


SQLITE_IMMEDIATE = "citoyen_sqlite_immediate"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Execution option: seconds a statement may run on this engine or connection (None: no limit). Set by
# `make_engine(statement_timeout=...)`; `without_statement_timeout` lifts it (the SQLite app's own migrations).
STATEMENT_TIMEOUT = "citoyen_statement_timeout"
# SQLite calls the progress handler every this many virtual-machine instructions (about a millisecond).
_SQLITE_PROGRESS_STEPS = 50_000
_POSTGRES_QUERY_CANCELED = "57014"


SQLiteSetup = Callable[[Any], None]


def make_engine(
    database_url: str,
    *,
    statement_timeout: float | None = None,
    sqlite_setup: Iterable[SQLiteSetup] = (),
    **kwargs: Any,
) -> AsyncEngine:
    """An engine; with `statement_timeout` (seconds), every statement past it is cancelled by the database
    (PostgreSQL's statement_timeout) or interrupted (SQLite's progress handler) and raises a `DBAPIError`
    that `is_statement_timeout` recognises. The served app's engine has one; migrations, imports and
    benchmark loads, which legitimately run long, make theirs without.

    `sqlite_setup` runs on each new SQLite connection (given the driver's connection): what domains add to
    SQLite, such as the SensorThings spatial functions. Storage knows no domain: `citoyen.engines.make_app_engine`
    hands in every domain's setup, and is what the app, the CLI, the tests and the benchmarks use."""
    if statement_timeout and database_url.startswith("postgresql"):
        server_settings = kwargs.setdefault("connect_args", {}).setdefault("server_settings", {})
        server_settings["statement_timeout"] = str(max(1, round(statement_timeout * 1000)))
    engine = create_async_engine(database_url, **kwargs)
    setups = tuple(sqlite_setup)
    if engine.dialect.name == "sqlite":
        _interruptible_sqlite(engine)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # The driver's own transaction handling breaks SAVEPOINT and transactional DDL:
            # switch it off and let SQLAlchemy emit BEGIN itself (the documented recipe).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
            for setup in setups:
                setup(dbapi_connection)

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(connection: Any) -> None:
            # A transaction that will write takes the write lock up front: a plain BEGIN that reads, then
            # writes while another connection writes, fails at once with "database is locked".
            immediate = connection.get_execution_options().get(SQLITE_IMMEDIATE, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    if statement_timeout:  # a copy of the engine (same pool, same events) whose connections carry the option
        return engine.execution_options(**{STATEMENT_TIMEOUT: statement_timeout})
    return engine


def without_statement_timeout(engine: AsyncEngine) -> AsyncEngine:
    """The same engine (same pool) without a statement timeout on SQLite, for work that legitimately runs long.
    (On PostgreSQL the timeout is a setting of the connections: make another engine instead.)"""
    return engine.execution_options(**{STATEMENT_TIMEOUT: None})


def _interruptible_sqlite(engine: AsyncEngine) -> None:
    """Each connection carries a deadline, set when a statement starts, that a progress handler checks while
    SQLite runs it: past the deadline the statement stops with "interrupted" (and its transaction can be
    rolled back as usual)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _install(dbapi_connection: Any, record: Any) -> None:
        deadline = [math.inf]
        record.info["citoyen_deadline"] = deadline

        def past_deadline() -> int:
            return 1 if time.monotonic() > deadline[0] else 0

        # The handler runs in aiosqlite's thread, where SQLite runs the statement.
        await_only(dbapi_connection._connection.set_progress_handler(past_deadline, _SQLITE_PROGRESS_STEPS))

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _start(connection: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any, _many: Any) -> None:
        deadline = connection.connection.info.get("citoyen_deadline")
        if deadline is not None:
            timeout = connection.get_execution_options().get(STATEMENT_TIMEOUT)
            deadline[0] = time.monotonic() + timeout if timeout else math.inf

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _end(connection: Any, _cursor: Any, _statement: Any, _parameters: Any, _context: Any, _many: Any) -> None:
        deadline = connection.connection.info.get("citoyen_deadline")
        if deadline is not None:
            deadline[0] = math.inf

    @event.listens_for(engine.sync_engine, "handle_error")
    def _failed(context: Any) -> None:
        connection = context.connection
        deadline = connection.connection.info.get("citoyen_deadline") if connection is not None else None
        if deadline is not None:  # the rollback that follows must not be interrupted too
            deadline[0] = math.inf


def is_statement_timeout(error: BaseException) -> bool:
    """Whether a database error is a statement cancelled by the engine's statement timeout."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    if getattr(original, "sqlstate", None) == _POSTGRES_QUERY_CANCELED:
        return True
    return "interrupted" in str(original) and "sqlite" in type(original).__module__


def make_sessionmaker(
    bind: AsyncEngine | AsyncConnection, hub: EventHub | None = None, **options: Any
) -> async_sessionmaker[AsyncSession]:
    """Sessions whose domain events go through `hub` (citoyen.events): the app's, the CLI's and the tests' carry
    one, so that the rules subscribed in the transaction (a follower's notification) run wherever a change is
    made."""
    info = {HUB_KEY: hub} if hub is not None else {}
    return async_sessionmaker(bind, expire_on_commit=False, info=info, **options)


Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def single_statement_writes(endpoint: Endpoint) -> Endpoint:
    """Marks a route whose every write is one statement, atomic by itself: on PostgreSQL its session runs
    in autocommit, each statement its own transaction, without the BEGIN and COMMIT round trips (about 10 % more
    supports per second, measured with bench/participation.py). Its reads are then each of their moment,
    which such a route must not mind."""
    setattr(endpoint, _SINGLE_STATEMENT_WRITES, True)
    return endpoint


_SINGLE_STATEMENT_WRITES = "citoyen_single_statement_writes"


def reads_when(predicate: Callable[[Request], bool]) -> Callable[[Endpoint], Endpoint]:
    """Marks a route that only reads for the requests `predicate` picks, whatever their method (CKAN's clients
    send read actions as POST): those run as a GET does, without waiting for SQLite's write turn."""

    def mark(endpoint: Endpoint) -> Endpoint:
        setattr(endpoint, _READS_WHEN, predicate)
        return endpoint

    return mark


_READS_WHEN = "citoyen_reads_when"


def writes_on_get(endpoint: Endpoint) -> Endpoint:
    """Marks a page that writes although it is read with GET (the notifications page marks them read once shown):
    on SQLite it takes the write turn from the start like a form's POST, where its write after its reads would meet
    "database is locked" as soon as another writer (the demo's sensor feed, a fold) wrote in between."""
    setattr(endpoint, _WRITES_ON_GET, True)
    return endpoint


_WRITES_ON_GET = "citoyen_writes_on_get"


def may_write(request: Request) -> bool:
    """Whether a request may write: not by its method (GET, HEAD, OPTIONS) unless its route says it writes, nor
    when its route says it reads."""
    if request.method in READ_ONLY_METHODS:
        return bool(getattr(request.scope.get("endpoint"), _WRITES_ON_GET, False))
    predicate = getattr(request.scope.get("endpoint"), _READS_WHEN, None)
    return predicate is None or not predicate(request)


def affected_rows(result: Any) -> int:
    """How many rows an UPDATE or DELETE touched (0 where the driver cannot tell)."""
    return max(getattr(result, "rowcount", 0) or 0, 0)


@contextlib.asynccontextmanager
async def sqlite_write_turn(state: Any, session: AsyncSession) -> AsyncIterator[None]:
    """On SQLite, the process's writers (requests, each transaction of a large batch, the MQTT ingest) take turns
    on one lock kept on `state` (the app's), and their transaction takes SQLite's write lock up front. They queue
    here, in order, rather than in SQLite's busy handler, which polls with growing sleeps and gives up after
    busy_timeout ("database is locked"). Elsewhere it does nothing."""
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    lock: asyncio.Lock | None = getattr(state, "sqlite_write_lock", None)
    if lock is None:
        lock = state.sqlite_write_lock = asyncio.Lock()
    async with lock:
        await session.connection(execution_options={SQLITE_IMMEDIATE: True})
        yield


_NO_TURN = contextlib.nullcontext()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: commits when the route returns, rolls back when it raises. The domain events
    its services publish are delivered through the app's hub once it commits (citoyen.events)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        hub: EventHub | None = getattr(request.app.state, "events", None)
        if hub is not None:
            attach(session, hub)
        dialect = session.bind.dialect.name if session.bind is not None else None
        if (
            dialect == "postgresql"
            # A session joined to its caller's transaction (the tests' savepoints) stays in it.
            and isinstance(session.bind, AsyncEngine)
            and getattr(request.scope.get("endpoint"), _SINGLE_STATEMENT_WRITES, False)
        ):
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        # SQLite has one writer at a time: a request that may write waits for its turn (sqlite_write_turn).
        writing = dialect == "sqlite" and may_write(request)
        async with sqlite_write_turn(request.app.state, session) if writing else _NO_TURN:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise


# scope="function": commit before the response leaves, so a redirect never races its own write.
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
