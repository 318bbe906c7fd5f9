"""The engines the app, the CLI, the tests and the benchmarks make: `citoyen.db.make_engine` with what each domain
adds to a new SQLite connection (the SensorThings `$filter` spatial functions, which PostGIS provides on
PostgreSQL). The storage core imports no domain; this module, above the domains like the app, hands their setup in.
A domain adding SQL functions to SQLite adds its setup to `SQLITE_SETUP`."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from citoyen.db import SQLiteSetup, make_engine
from citoyen.sensing.sqlite_functions import register_sqlite_functions  # light: the CLI starts without the app

SQLITE_SETUP: tuple[SQLiteSetup, ...] = (register_sqlite_functions,)


def make_app_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """`citoyen.db.make_engine` (same options) whose SQLite connections have every domain's functions."""
    return make_engine(database_url, sqlite_setup=SQLITE_SETUP, **kwargs)
