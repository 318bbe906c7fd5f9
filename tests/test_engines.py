"""Engines: storage knows no domain, yet every engine the app, the CLI and the tests make has what the domains add
to SQLite (the SensorThings spatial functions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from citoyen.db import make_engine
from citoyen.engines import make_app_engine

WITHIN = "SELECT citoyen_st_within('POINT(2.35 48.85)', 'POLYGON((2 48, 3 48, 3 49, 2 49, 2 48))')"


async def test_each_new_sqlite_connection_runs_the_setup_it_is_given(tmp_path: Path) -> None:
    seen: list[Any] = []
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'a.sqlite3'}", sqlite_setup=[seen.append])
    try:
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        assert len(seen) == 1
    finally:
        await engine.dispose()


async def test_the_app_engine_has_the_spatial_functions_on_sqlite_and_the_bare_storage_engine_none(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}"
    app_engine, bare = make_app_engine(url), make_engine(url)
    try:
        async with app_engine.connect() as connection:
            assert (await connection.execute(text(WITHIN))).scalar_one() == 1
        async with bare.connect() as connection:
            with pytest.raises(OperationalError, match="no such function"):
                await connection.execute(text(WITHIN))
    finally:
        await app_engine.dispose()
        await bare.dispose()
