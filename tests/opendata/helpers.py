"""Catalogue data for the tests, made through the service."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata import service as opendata
from citoyen.opendata.models import Dataset, Organization

_sequence = itertools.count(1)


async def create_organization(session: AsyncSession, name: str | None = None) -> Organization:
    number = next(_sequence)
    return await opendata.create_organization(
        session, name or f"publisher-{number}", f"Direction {number}", f"Department {number}"
    )


async def create_dataset(session: AsyncSession, organization: Organization, **fields: Any) -> Dataset:
    number = next(_sequence)
    data: dict[str, Any] = {
        "name": f"dataset-{number}",
        "title": f"Jeu de données {number}",
        "owner_org": organization.name,
        "license_id": "etalab-2.0",
        **fields,
    }
    checked = await opendata.check_dataset(session, data)
    return await opendata.save_dataset(session, checked)
