"""Test data for reports: the two-square test territory, categories with questions, a routed department."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from citoyen.people.models import Department
from citoyen.reports import service as reports
from citoyen.reports.models import AttributeType, Category, Report
from citoyen.territory.service import TerritoryIndexCache
from tests.territory.helpers import create_territory

# Inside the "Ouest" square of the test territory, and inside "Est".
WEST = (2.305, 48.855)
EAST = (2.315, 48.855)


@dataclass
class ReportsWorld:
    pothole: Category
    light: Category
    roads: Department
    lighting: Department
    index: TerritoryIndexCache


async def create_reports_world(session: AsyncSession) -> ReportsWorld:
    """A territory, two categories (one with questions of every list kind), two departments, routing."""
    await create_territory(session)
    roads = await people.create_department(session, "voirie", "Voirie")
    lighting = await people.create_department(session, "eclairage", "Éclairage public")
    pothole = await reports.save_category(
        session,
        reports.CategoryInput(
            code="pothole",
            name="Nid-de-poule",
            name_en="Pothole",
            group="Voirie",
            keywords="trou, chaussée",
            attributes=[
                reports.AttributeInput(
                    code="size",
                    datatype=AttributeType.SINGLE,
                    description="Taille du trou",
                    description_en="Size of the hole",
                    required=True,
                    values=[
                        {"key": "small", "name": "Petit", "name_en": "Small"},
                        {"key": "large", "name": "Grand", "name_en": "Large"},
                    ],
                ),
                reports.AttributeInput(
                    code="hazards",
                    datatype=AttributeType.MULTI,
                    description="Dangers",
                    values=[{"key": "bikes", "name": "Vélos"}, {"key": "cars", "name": "Voitures"}],
                ),
                reports.AttributeInput(code="depth_cm", datatype=AttributeType.NUMBER, description="Profondeur (cm)"),
            ],
        ),
    )
    light = await reports.save_category(
        session, reports.CategoryInput(code="streetlight", name="Lampadaire en panne", name_en="Street light out")
    )
    await reports.set_routing_rule(session, pothole.id, roads.id)
    await reports.set_routing_rule(session, light.id, lighting.id)
    return ReportsWorld(pothole, light, roads, lighting, TerritoryIndexCache())


async def file_report(
    session: AsyncSession,
    world: ReportsWorld,
    where: tuple[float, float] = WEST,
    category: str = "streetlight",
    **fields: object,
) -> Report:
    answers = fields.pop("answers", {"size": ["small"]} if category == "pothole" else {})
    new = reports.NewReport(category_code=category, lon=where[0], lat=where[1], answers=answers, **fields)  # type: ignore[arg-type]
    return await reports.create_report(session, world.index, new)
