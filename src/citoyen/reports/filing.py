"""Filing a report (web or Open311): checks, placing it in a neighbourhood, routing, the reporter's
contact kept apart; duplicates nearby; reading one report, its photos and its public history."""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import events
from citoyen.db import utcnow
from citoyen.events import ReportFiled
from citoyen.i18n import N_
from citoyen.people import service as people
from citoyen.reports.catalog import Catalog, get_category, load_catalog, validate_answers
from citoyen.reports.errors import ReportError
from citoyen.reports.models import (
    EventKind,
    Report,
    ReportContact,
    ReportEvent,
    ReportFollower,
    ReportPhoto,
    ReportStatus,
)
from citoyen.reports.photos import PreparedPhoto
from citoyen.reports.repository import count_in_map
from citoyen.territory import service as territory

MAX_DESCRIPTION = 4000


DUPLICATE_RADIUS_M = 50


DUPLICATE_DAYS = 30


EARTH_RADIUS_M = 6_371_008.8


@dataclass
class NewReport:
    category_code: str
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    description: str = ""
    answers: dict[str, list[str]] = field(default_factory=dict)
    person_id: int | None = None
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    device_id: str = ""
    address_id: str = ""
    zipcode: str = ""
    media_url: str = ""
    follow: bool = True
    source: str = "web"
    # The language the description is written in ("fr", "en"): the reporter's interface language.
    locale: str = "fr"
    photos: list[PreparedPhoto] = field(default_factory=list)


async def place_from_text(
    session: AsyncSession,
    index: territory.TerritoryIndexCache,
    text: str,
    gazetteer: territory.Gazetteer | None = None,
) -> tuple[territory.Place, int] | None:
    """Where an address typed without coordinates is, and its neighbourhood: an address of the imported file (or
    of the geocoding API), else a neighbourhood's name or a postcode; None when none is found in the city."""
    place = await (gazetteer or territory.Gazetteer()).place(session, text)
    if place is None:
        return None
    neighbourhood_id = await territory.locate_id(session, index, place.lon, place.lat)
    return None if neighbourhood_id is None else (place, neighbourhood_id)


async def create_report(
    session: AsyncSession,
    index: territory.TerritoryIndexCache,
    new: NewReport,
    now: datetime | None = None,
    catalog: Catalog | None = None,
    gazetteer: territory.Gazetteer | None = None,
) -> Report:
    """File a report: validate, place it in a neighbourhood, route it, keep the reporter's contact apart.
    Everything is checked before anything is written, so a refused report leaves nothing behind.
    `catalog`: the app's cached one (`CatalogCache`); read from the database when not given. `gazetteer`: the
    app's, which places an address typed without coordinates (offline, uncached, when not given)."""
    catalog = catalog or await load_catalog(session)
    category = catalog.active_category(new.category_code)
    description = new.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise ReportError(N_("The description may be at most 4000 characters."), field="description")
    address = new.address.strip()[:300]
    address_id = new.address_id
    if new.lon is None or new.lat is None:
        if not address:
            raise ReportError(N_("Say where the problem is: a point on the map or an address."), field="location")
        placed = await place_from_text(session, index, address, gazetteer)
        if placed is None:
            raise ReportError(
                N_("We could not find this address in the city; place a point on the map instead."), field="location"
            )
        place, neighbourhood_id = placed
        lon, lat = place.lon, place.lat
        address_id = address_id or place.address_id
    else:
        lon, lat = float(new.lon), float(new.lat)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or not (math.isfinite(lon) and math.isfinite(lat)):
            raise ReportError(N_("These coordinates are not valid."), field="location")
        located = await territory.locate_id(session, index, lon, lat)
        if located is None:
            raise ReportError(N_("This place is outside the city."), field="location")
        neighbourhood_id = located
    answers = validate_answers(catalog.questions.get(category.id, []), new.answers)
    email = checked_email(new.email) if new.email.strip() else ""
    cells = territory.h3_cells(lon, lat)
    moment = now or utcnow()
    report = Report(
        category_id=category.id,
        status=ReportStatus.OPEN,
        description=description,
        locale=new.locale if new.locale in ("fr", "en") else "fr",
        lon=lon,
        lat=lat,
        address=address,
        address_id=address_id[:100],
        zipcode=new.zipcode[:20],
        neighbourhood_id=neighbourhood_id,
        h3_r6=cells[6],
        h3_r8=cells[8],
        h3_r10=cells[10],
        department_id=catalog.route(category.id, neighbourhood_id),
        attributes=answers,
        media_url=new.media_url[:500],
        source=new.source,
        token=secrets.token_urlsafe(18),
        requested_at=moment,
        updated_at=moment,
    )
    session.add(report)
    await session.flush()
    await count_in_map(session, report, ReportStatus.OPEN, 1)
    if new.person_id or email or new.first_name or new.last_name or new.phone or new.device_id:
        session.add(
            ReportContact(
                report_id=report.id,
                person_id=new.person_id,
                email=email,
                first_name=new.first_name[:100],
                last_name=new.last_name[:100],
                phone=new.phone[:40],
                device_id=new.device_id[:100],
            )
        )
    for position, photo in enumerate(new.photos):
        session.add(
            ReportPhoto(
                report_id=report.id,
                content=photo.content,
                media_type=photo.media_type,
                width=photo.width,
                height=photo.height,
                position=position,
            )
        )
    session.add(ReportEvent(report_id=report.id, at=moment, kind=EventKind.CREATED, status=ReportStatus.OPEN))
    if new.follow and (new.person_id or email):
        session.add(
            ReportFollower(report_id=report.id, person_id=new.person_id, email=None if new.person_id else email)
        )
    await session.flush()
    await events.announce(session, ReportFiled(report_id=report.id))
    return report


def checked_email(email: str) -> str:
    try:
        return people.normalize_email(email)
    except people.PeopleError as error:
        raise ReportError(error.problems[0], field="email") from error


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


async def nearby_duplicates(
    session: AsyncSession,
    category_code: str,
    lon: float,
    lat: float,
    radius_m: float = DUPLICATE_RADIUS_M,
    days: int = DUPLICATE_DAYS,
) -> list[tuple[Report, float]]:
    """Unclosed reports of the same category within `radius_m` filed in the last `days`, nearest first."""
    category = await get_category(session, category_code)
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(math.cos(math.radians(lat)), 0.01))
    query = select(Report).where(
        Report.category_id == category.id,
        Report.status != ReportStatus.CLOSED,
        Report.requested_at >= utcnow() - timedelta(days=days),
        Report.lon.between(lon - dlon, lon + dlon),
        Report.lat.between(lat - dlat, lat + dlat),
    )
    found = [
        (report, distance_m(lon, lat, report.lon, report.lat)) for report in (await session.execute(query)).scalars()
    ]
    return sorted([item for item in found if item[1] <= radius_m], key=lambda item: item[1])


async def get_report(session: AsyncSession, report_id: int) -> Report:
    report = await session.get(Report, report_id)
    if report is None:
        raise ReportError(N_("Unknown report: %(id)s."), "not_found", "service_request_id", id=report_id)
    return report


async def get_report_by_token(session: AsyncSession, token: str) -> Report:
    report = (await session.execute(select(Report).where(Report.token == token))).scalar_one_or_none()
    if report is None:
        raise ReportError(N_("Unknown token."), "not_found", "token")
    return report


async def contact_of(session: AsyncSession, report_id: int) -> ReportContact | None:
    """Personal data: who filed a report, for the staff who handle it (the caller logs the access)."""
    query = select(ReportContact).where(ReportContact.report_id == report_id)
    return (await session.execute(query)).scalar_one_or_none()


async def photos_of(session: AsyncSession, report_id: int) -> list[ReportPhoto]:
    query = select(ReportPhoto).where(ReportPhoto.report_id == report_id).order_by(ReportPhoto.position)
    return list((await session.execute(query)).scalars())


async def photo_counts(session: AsyncSession, report_ids: Sequence[int]) -> dict[int, int]:
    if not report_ids:
        return {}
    query = (
        select(ReportPhoto.report_id, func.count())
        .where(ReportPhoto.report_id.in_(report_ids))
        .group_by(ReportPhoto.report_id)
    )
    return {int(report_id): int(count) for report_id, count in (await session.execute(query)).all()}


async def history(session: AsyncSession, report_id: int, include_internal: bool = False) -> list[ReportEvent]:
    query = select(ReportEvent).where(ReportEvent.report_id == report_id)
    if not include_internal:
        query = query.where(ReportEvent.public.is_(True))
    return list((await session.execute(query.order_by(ReportEvent.at, ReportEvent.id))).scalars())
