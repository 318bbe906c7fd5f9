"""The public privacy ledger: every release of figures about people, with the mechanism and what it spent
(ε for differential privacy, k for a minimum cell size), recorded as the privacy layer describes it, and the
totals spent per dataset and period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata.errors import invalid, not_found
from citoyen.opendata.models import Dataset, PrivacyMechanism, PrivacyRelease, Resource
from citoyen.opendata.privacy import LedgerEntry


@dataclass(frozen=True)
class LedgerLine:
    release: PrivacyRelease
    dataset_name: str
    dataset_title: str
    resource_name: str | None


@dataclass(frozen=True)
class LedgerTotal:
    dataset_name: str
    period: str
    epsilon: float
    releases: int


async def record_release(session: AsyncSession, entry: LedgerEntry) -> PrivacyRelease:
    """Store one release of the privacy layer. Its dataset must be in the catalogue; its resource (id or name
    within the dataset) is kept when found. A differentially private release needs ε > 0, a minimum cell
    size release k ≥ 1."""
    try:
        mechanism = PrivacyMechanism(entry.mechanism)
    except ValueError:
        raise invalid("mechanism", f"Unknown mechanism: use one of {', '.join(PrivacyMechanism)}") from None
    if mechanism is PrivacyMechanism.MIN_CELL_SIZE:
        if entry.k is None or entry.k < 1 or entry.epsilon is not None:
            raise invalid("k", "A minimum cell size release needs k ≥ 1 and no ε")
    elif entry.epsilon is None or not entry.epsilon > 0 or entry.k is not None:
        raise invalid("epsilon", "A differentially private release needs ε > 0 and no k")
    dataset = (
        await session.execute(select(Dataset).where(or_(Dataset.name == entry.dataset, Dataset.uuid == entry.dataset)))
    ).scalar_one_or_none()
    if dataset is None:
        raise not_found("Dataset")
    resource_id = None
    if entry.resource:
        resource_id = await session.scalar(
            select(Resource.id)
            .where(
                Resource.dataset_id == dataset.id, or_(Resource.uuid == entry.resource, Resource.name == entry.resource)
            )
            .limit(1)
        )
    release = PrivacyRelease(
        dataset_id=dataset.id,
        resource_id=resource_id,
        released_at=entry.released_at,
        period=entry.period[:40],
        mechanism=mechanism,
        epsilon=entry.epsilon,
        k=entry.k,
        description=entry.description,
        description_en=entry.description_en,
    )
    session.add(release)
    await session.flush()
    return release


async def ledger(session: AsyncSession, since: datetime | None = None, limit: int = 1000) -> list[LedgerLine]:
    """The releases of public datasets, latest first."""
    query = (
        select(PrivacyRelease, Dataset.name, Dataset.title, Resource.name)
        .join(Dataset, Dataset.id == PrivacyRelease.dataset_id)
        .outerjoin(Resource, Resource.id == PrivacyRelease.resource_id)
        .where(Dataset.private.is_(False))
        .order_by(PrivacyRelease.released_at.desc(), PrivacyRelease.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(PrivacyRelease.released_at >= since)
    return [LedgerLine(*row) for row in (await session.execute(query)).all()]


async def ledger_totals(session: AsyncSession) -> list[LedgerTotal]:
    """ε spent per public dataset and period (differentially private releases), with the count of releases."""
    query = (
        select(Dataset.name, PrivacyRelease.period, func.sum(PrivacyRelease.epsilon), func.count())
        .join(Dataset, Dataset.id == PrivacyRelease.dataset_id)
        .where(Dataset.private.is_(False), PrivacyRelease.epsilon.is_not(None))
        .group_by(Dataset.name, PrivacyRelease.period)
        .order_by(Dataset.name, PrivacyRelease.period)
    )
    return [
        LedgerTotal(name, period, float(spent or 0.0), count)
        for name, period, spent, count in (await session.execute(query)).all()
    ]
