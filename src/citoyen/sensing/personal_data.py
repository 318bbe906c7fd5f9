"""Personal Things (a household meter...) in a person's data export and erasure: the sensing provider
of the personal-data registry (GDPR Art. 15, 17 and 20).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person
from citoyen.sensing.entities import THING_LOCATIONS, format_interval, format_time, result_value
from citoyen.sensing.models import ThingAccess
from citoyen.sensing.repository import DATASTREAMS, FEATURES, LOCATIONS, MULTI_DATASTREAMS, OBSERVATIONS, THINGS


def _record_time(value: datetime | None) -> str | None:
    return format_time(value)


async def export_personal_data(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    """A person's personal Things (a household meter...), where they are, their (Multi)Datastreams and readings."""
    things = (
        (
            await session.execute(
                select(THINGS).where(
                    THINGS.c.owner_person_id == person.id, THINGS.c.access == ThingAccess.PERSONAL.value
                )
            )
        )
        .mappings()
        .all()
    )
    thing_ids = [thing["id"] for thing in things]
    locations = (
        (
            await session.execute(
                select(LOCATIONS, THING_LOCATIONS.c.thing_id)
                .join(THING_LOCATIONS, THING_LOCATIONS.c.location_id == LOCATIONS.c.id)
                .where(THING_LOCATIONS.c.thing_id.in_(thing_ids))
            )
        )
        .mappings()
        .all()
    )
    datastreams = (
        (await session.execute(select(DATASTREAMS).where(DATASTREAMS.c.thing_id.in_(thing_ids)))).mappings().all()
    )
    datastream_ids = [datastream["id"] for datastream in datastreams]
    multi_datastreams = (
        (await session.execute(select(MULTI_DATASTREAMS).where(MULTI_DATASTREAMS.c.thing_id.in_(thing_ids))))
        .mappings()
        .all()
    )
    multi_ids = [each["id"] for each in multi_datastreams]
    observations = (
        (
            await session.execute(
                select(OBSERVATIONS)
                .where(
                    or_(
                        OBSERVATIONS.c.datastream_id.in_(datastream_ids),
                        OBSERVATIONS.c.multi_datastream_id.in_(multi_ids),
                    )
                )
                .order_by(
                    OBSERVATIONS.c.datastream_id,
                    OBSERVATIONS.c.multi_datastream_id,
                    OBSERVATIONS.c.phenomenon_time_start,
                )
            )
        )
        .mappings()
        .all()
    )
    return {
        "sensing_things": [
            {
                "id": thing["id"],
                "name": thing["name"],
                "description": thing["description"],
                "kind": str(thing["kind"]),
                "properties": thing["properties"],
            }
            for thing in things
        ],
        "sensing_locations": [
            {"thing_id": row["thing_id"], "name": row["name"], "location": row["location"]} for row in locations
        ],
        "sensing_datastreams": [
            {
                "id": datastream["id"],
                "thing_id": datastream["thing_id"],
                "name": datastream["name"],
                "unit": datastream["unit_of_measurement"],
            }
            for datastream in datastreams
        ],
        "sensing_multi_datastreams": [
            {
                "id": each["id"],
                "thing_id": each["thing_id"],
                "name": each["name"],
                "units": each["unit_of_measurements"],
            }
            for each in multi_datastreams
        ],
        "sensing_observations": [
            {
                "datastream_id": row["datastream_id"],
                "multi_datastream_id": row["multi_datastream_id"],
                "phenomenon_time": format_interval(row["phenomenon_time_start"], row["phenomenon_time_end"]),
                "result_time": _record_time(row["result_time"]),
                "result": result_value(row),
            }
            for row in observations
        ],
    }


async def erase_personal_data(session: AsyncSession, person: Person) -> None:
    """Delete a person's personal Things with everything under them ((Multi)Datastreams, Observations, the
    Locations only they used and the features made from those); other Things they owned are detached."""
    thing_ids = select(THINGS.c.id).where(
        THINGS.c.owner_person_id == person.id, THINGS.c.access == ThingAccess.PERSONAL.value
    )
    shared = select(THING_LOCATIONS.c.location_id).where(THING_LOCATIONS.c.thing_id.not_in(thing_ids))
    own_locations = list(
        (
            await session.execute(
                select(THING_LOCATIONS.c.location_id).where(
                    THING_LOCATIONS.c.thing_id.in_(thing_ids), THING_LOCATIONS.c.location_id.not_in(shared)
                )
            )
        ).scalars()
    )
    await session.execute(delete(THINGS).where(THINGS.c.id.in_(thing_ids)))
    if own_locations:
        await session.execute(delete(FEATURES).where(FEATURES.c.generated_from_location_id.in_(own_locations)))
        await session.execute(delete(LOCATIONS).where(LOCATIONS.c.id.in_(own_locations)))
    await session.execute(update(THINGS).where(THINGS.c.owner_person_id == person.id).values(owner_person_id=None))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="sensing",
            description=N_("your personal sensors (such as a home energy meter), where they are and their readings"),
            export=export_personal_data,
            erase=erase_personal_data,
        )
    )
