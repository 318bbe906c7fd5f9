"""What a PostgreSQL database must offer before the migrations run, checked first so that a missing piece is
named with the package that brings it rather than surfacing as a failed migration halfway.

PostGIS is required on PostgreSQL: the SensorThings `$filter` geometry functions (st_within, st_intersects,
geo.distance, ...) compile to PostGIS there, which evaluates them in the query with its spatial types; on SQLite
shapely provides the same functions (`citoyen.sensing.sqlite_functions`). The migration `sensing` runs
`CREATE EXTENSION IF NOT EXISTS postgis`.
"""

from __future__ import annotations

from sqlalchemy import text

from citoyen.db import make_engine

# Extensions the migrations create, and the Debian package that installs each ({major}: the server's version).
REQUIRED_EXTENSIONS: dict[str, str] = {"postgis": "postgresql-{major}-postgis-3"}


async def missing_extensions(database_url: str) -> list[str]:
    """What keeps the migrations from creating the required extensions in this database, one sentence each
    (nothing on SQLite, or when all are there or can be created)."""
    if not database_url.startswith("postgresql"):
        return []
    engine = make_engine(database_url)
    problems: list[str] = []
    try:
        async with engine.connect() as connection:
            version = int((await connection.execute(text("SHOW server_version_num"))).scalar_one())
            major = version // 10_000
            database = (await connection.execute(text("SELECT current_database()"))).scalar_one()
            installed = set((await connection.execute(text("SELECT extname FROM pg_extension"))).scalars())
            available = set((await connection.execute(text("SELECT name FROM pg_available_extensions"))).scalars())
            superuser = (await connection.execute(text("SHOW is_superuser"))).scalar_one() == "on"
    finally:
        await engine.dispose()
    for extension, package in REQUIRED_EXTENSIONS.items():
        if extension in installed:
            continue
        if extension not in available:
            problems.append(
                f"the PostgreSQL server has no {extension} extension, which Citoyen needs: install it on the "
                f"database server (Debian/Ubuntu: apt-get install {package.format(major=major)}; "
                f"elsewhere the package is usually called {extension}), then run citoyen migrate again"
            )
        elif not superuser:
            problems.append(
                f"the {extension} extension is installed on the server but not created in database {database}, "
                f"and only a superuser may create it: run "
                f'psql -d {database} -c "CREATE EXTENSION {extension}" as postgres, then citoyen migrate again'
            )
    return problems
