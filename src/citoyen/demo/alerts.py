"""The demo's early warning: a planted cluster of water-leak reports (labelled planted in each report, so a
newcomer sees what the scan finds and knows it was put there), then a run of the detectors and the scan over the
demo's replayed sensor series and reports. Forecasts are left to the app's first housekeeping round (several
seconds per series): the build stays fast."""

from __future__ import annotations

import base64
import random
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.alerts import service as alerts
from citoyen.reports import service as reports
from citoyen.reports.models import Report, ReportStatus
from citoyen.territory import service as territory

PLANTED = 16
PLANTED_CATEGORY = "fuite-eau"
# Around the place de la République (Paris, 3rd/10th/11th arrondissements): within about 120 m.
PLANTED_CENTRE = (2.3637, 48.8673)
PLANTED_NOTE = (
    "Fuite d'eau sur la chaussée. (Signalement planté par la démonstration\u00a0: un foyer de fuites que la veille "
    "doit trouver.) — Planted by the demonstration: a cluster of leaks for the early warning to find."
)


async def plant_cluster(session: AsyncSession, now: datetime, rng: random.Random) -> int:
    """Insert PLANTED water leaks within about 120 m over the 3 days before yesterday's end; returns how many."""
    category = next((c for c in await reports.list_categories(session) if c.code == PLANTED_CATEGORY), None)
    index = await territory.TerritoryIndexCache().get(session)
    if category is None or index is None:
        return 0
    questions = (await reports.attributes_of(session, [category.id]))[category.id]
    points = [
        (PLANTED_CENTRE[0] + rng.uniform(-0.0012, 0.0012), PLANTED_CENTRE[1] + rng.uniform(-0.0008, 0.0008))
        for _ in range(PLANTED)
    ]
    located = index.locate_many([p[0] for p in points], [p[1] for p in points])
    rows = []
    for number, ((lon, lat), neighbourhood_id) in enumerate(zip(points, located, strict=True)):
        moment = now - timedelta(days=1 + number % 3, hours=rng.randrange(1, 10), minutes=rng.randrange(60))
        cells = territory.h3_cells(lon, lat)
        rows.append(
            {
                "category_id": category.id,
                "status": ReportStatus.OPEN,
                "description": PLANTED_NOTE,
                "lon": lon,
                "lat": lat,
                "neighbourhood_id": neighbourhood_id,
                "h3_r6": cells[6],
                "h3_r8": cells[8],
                "h3_r10": cells[10],
                "department_id": await reports.route(session, category.id, neighbourhood_id),
                "attributes": reports.validate_answers(questions, {"where": ["road"]}),
                "source": "demo",
                "token": base64.urlsafe_b64encode(rng.getrandbits(144).to_bytes(18, "big")).decode(),
                "requested_at": moment,
                "updated_at": moment,
            }
        )
    await session.execute(insert(Report), rows)
    await reports.rebuild_map_counts(session)
    return len(rows)


async def build_demo_alerts(session: AsyncSession, now: datetime, seed: int, with_reports: bool) -> None:
    """Plant the cluster (when the demo has reports), then run the detectors and the scan once."""
    if with_reports:
        await plant_cluster(session, now, random.Random(seed + 15))
    await alerts.run_foresight(session, "demo", now=now, forecasts=False, force=True)
