"""Open data's file upkeep (a housekeeping job): stored files that no version refers to any more (their resource
or dataset was removed) and uploads left half-way (a crash) are deleted once older than a grace period, so that
an upload whose transaction has not committed yet never loses its file. The DataStore tables of deleted datasets
are dropped too."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.housekeeping import Housekeeping
from citoyen.opendata import datastore
from citoyen.opendata.models import Dataset, DatasetState, Resource, ResourceVersion

GRACE = timedelta(hours=1)


async def prune_files(session: AsyncSession, directory: Path, now: datetime, grace: timedelta = GRACE) -> int:
    """Delete the files under `directory` (stored ones and abandoned uploads in `incoming/`) that no resource
    version names and that were last written more than `grace` before `now`."""
    referenced = set((await session.execute(select(ResourceVersion.path).distinct())).scalars())
    return await asyncio.to_thread(_prune, directory, referenced, (now - grace).timestamp())


def _prune(directory: Path, referenced: set[str], oldest: float) -> int:
    if not directory.is_dir():
        return 0
    removed = 0
    for path in directory.glob("*/*"):
        relative = path.relative_to(directory).as_posix()
        if relative in referenced or not path.is_file():
            continue
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < oldest:
                path.unlink()
                removed += 1
    return removed


async def prune_datastore(session: AsyncSession) -> int:
    """Drop the DataStore tables of versions no longer served: a deleted dataset's resources' (a deleted resource's
    go with it), or a replaced version's that a crash left."""
    query = (
        select(Resource.uuid, Resource.current_version)
        .join(Dataset, Dataset.id == Resource.dataset_id)
        .where(
            Dataset.state == DatasetState.ACTIVE,
            Resource.current_version.is_not(None),
            Resource.format.in_(datastore.TABULAR),
        )
    )
    current = {(uuid, number) for uuid, number in (await session.execute(query)).all() if number is not None}
    return await datastore.prune_tables(session, current)


def register_housekeeping(housekeeping: Housekeeping, settings: Settings) -> None:
    async def job(session: AsyncSession, now: datetime) -> int:
        return await prune_files(session, settings.opendata_path, now)

    async def tables(session: AsyncSession, now: datetime) -> int:
        return await prune_datastore(session)

    housekeeping.add("opendata: files no version uses", job)
    housekeeping.add("opendata: DataStore tables no version uses", tables)
