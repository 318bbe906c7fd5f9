"""The seam through which a domain that sits above indicators hands it daily counts per quartier under a quantity
of its own (the carpool trips posted, from mobility): indicators never import that domain, it pushes here. The
counts replace every earlier bucket of the quantity, as the civic refresh does for reports and proposals."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.indicators.models import AreaRollup
from citoyen.indicators.versions import bump

AREAS = cast(Table, AreaRollup.__table__)


async def replace_area_counts(session: AsyncSession, quantity: str, counts: dict[tuple[int, datetime], float]) -> int:
    """Writes `counts` ((neighbourhood, UTC day) -> amount) as the quantity's daily buckets, in place of the earlier
    ones; returns the buckets written."""
    await session.execute(delete(AREAS).where(AREAS.c.quantity == quantity))
    rows = [
        {
            "neighbourhood_id": neighbourhood_id,
            "quantity": quantity,
            "step": "day",
            "bucket": day,
            "count": 1,
            "total": amount,
            "minimum": amount,
            "maximum": amount,
        }
        for (neighbourhood_id, day), amount in sorted(counts.items())
    ]
    for start in range(0, len(rows), 2000):
        await session.execute(insert(AREAS), rows[start : start + 2000])
    await bump(session)
    return len(rows)
