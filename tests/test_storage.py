"""The schema: migrations and models agree, on every backend; the health check reflects the database."""

from __future__ import annotations

from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from citoyen.migrations import include_object
from citoyen.models import metadata


def _differences(connection: Connection) -> list[Any]:
    # Documented exceptions (citoyen.migrations.UNMODELLED_TABLE and _INDEX): PostGIS's spatial_ref_sys, the
    # monthly partitions of sta_observations (the partitioned parent itself is compared) and the trigram
    # search indexes, all on PostgreSQL only.
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
    return list(compare_metadata(context, metadata))


async def test_observations_are_partitioned_by_phenomenon_time_on_postgresql(connection: AsyncConnection) -> None:
    if connection.dialect.name != "postgresql":
        return
    partition_key = await connection.scalar(text("SELECT pg_get_partkeydef('sta_observations'::regclass)"))
    assert partition_key == "RANGE (phenomenon_time_start)"
    partitions = set(
        (
            await connection.execute(
                text("SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'sta_observations'::regclass")
            )
        ).scalars()
    )
    assert {"sta_observations_y2026m11", "sta_observations_default"} <= partitions


async def test_migrations_build_exactly_the_models(connection: AsyncConnection) -> None:
    differences = await connection.run_sync(_differences)
    assert differences == [], f"models and migrations disagree; write a migration for: {differences}"


async def test_healthz_is_ok_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_is_503_when_the_database_is_unreachable(app: FastAPI, client: httpx.AsyncClient) -> None:
    from citoyen.db import make_engine

    dead = make_engine("sqlite+aiosqlite:////nonexistent-dir/nowhere.sqlite3")
    app.state.sessionmaker = async_sessionmaker(dead)
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    await dead.dispose()


async def test_unknown_api_route_is_a_json_404_and_unknown_page_a_friendly_html_404(
    client: httpx.AsyncClient,
) -> None:
    api = await client.get("/api/territory/nothing-here")
    assert api.status_code == 404
    assert api.json()["error"]["status"] == 404
    page = await client.get("/nothing-here", headers={"Accept-Language": "en"})
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "Page not found" in page.text
    assert 'href="/"' in page.text
