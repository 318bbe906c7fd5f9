"""The file upkeep: files no resource version uses any more leave the disk after the grace period; files in use,
and recent ones (an upload not yet committed), stay."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.opendata import service as opendata
from citoyen.opendata.upkeep import prune_files
from tests.opendata.helpers import create_dataset, create_organization


async def _upload(session: AsyncSession, directory: Path, dataset: str, content: bytes) -> opendata.ResourceView:
    upload = opendata.Upload("table.csv", io.BytesIO(content), "text/csv")
    return await opendata.create_resource(session, directory, 10_000, {"package_id": dataset}, upload)


async def test_unused_files_leave_after_the_grace_period(session: AsyncSession, tmp_path: Path) -> None:
    organization = await create_organization(session)
    await create_dataset(session, organization, name="kept")
    await create_dataset(session, organization, name="removed")
    kept = await _upload(session, tmp_path, "kept", b"a,b\n1,2\n")
    removed = await _upload(session, tmp_path, "removed", b"a,b\n3,4\n")
    assert kept.version is not None and removed.version is not None
    await opendata.delete_resource(session, removed.resource.uuid)

    assert await prune_files(session, tmp_path, utcnow()) == 0  # too recent: maybe an upload in flight
    assert await prune_files(session, tmp_path, utcnow() + timedelta(hours=2)) == 1
    assert (tmp_path / kept.version.path).exists()
    assert not (tmp_path / removed.version.path).exists()
