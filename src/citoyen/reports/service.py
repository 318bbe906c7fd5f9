"""Reports rules: categories and their questions, routing, filing a report (web or Open311), duplicates
nearby, supports and followers, the staff workflow, notifications, searching and map aggregation."""

from __future__ import annotations

import logging
import math
import secrets
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVarTuple

import h3
from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import detached_copy, utcnow
from citoyen.i18n import N_, get_translations
from citoyen.notifications import service as notifications
from citoyen.people import service as people
from citoyen.people.mail import send_mail
from citoyen.people.models import Person
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.reports.models import (
    AttributeType,
    CatalogRevision,
    Category,
    CategoryAttribute,
    CloseReason,
    EventKind,
    Report,
    ReportContact,
    ReportEvent,
    ReportFollower,
    ReportMapCount,
    ReportMapTotal,
    ReportPhoto,
    ReportStatus,
    ReportSupport,
    RoutingRule,
)
from citoyen.reports.photos import PreparedPhoto
from citoyen.territory import maplayer
from citoyen.territory import service as territory

log = logging.getLogger(__name__)
Columns = TypeVarTuple("Columns")

MAX_DESCRIPTION = 4000
DUPLICATE_RADIUS_M = 50
DUPLICATE_DAYS = 30
EARTH_RADIUS_M = 6_371_008.8

STATUS_LABELS = {
    ReportStatus.OPEN: N_("open"),
    ReportStatus.ACKNOWLEDGED: N_("acknowledged"),
    ReportStatus.IN_PROGRESS: N_("in progress"),
    ReportStatus.CLOSED: N_("closed"),
}
CLOSE_REASON_LABELS = {
    CloseReason.FIXED: N_("fixed"),
    CloseReason.DUPLICATE: N_("duplicate of another report"),
    CloseReason.NOT_RESPONSIBLE: N_("not the city's responsibility"),
    CloseReason.NOT_FOUND: N_("problem not found on site"),
    CloseReason.NO_ACTION: N_("no action planned"),
}


class ReportError(ValueError):
    """A refused request. `message` is an English msgid (translated on pages); `kind` maps to HTTP:
    invalid -> 400, not_found -> 404, forbidden -> 403, throttled -> 429."""

    def __init__(
        self,
        message: str,
        kind: str = "invalid",
        field: str = "",
        localized: dict[str, dict[str, Any]] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(message % values if values else message)
        self.message = message
        self.kind = kind
        self.field = field
        self.values = values
        # Values that exist in other languages (a question's English wording): {locale: {name: value}}.
        self.localized = localized or {}

    def values_in(self, locale: str) -> dict[str, Any]:
        """The placeholders' values for a page in `locale`."""
        return {**self.values, **self.localized.get(locale, {})}


# --- categories and routing -------------------------------------------------------------------


@dataclass
class AttributeInput:
    code: str
    datatype: AttributeType
    description: str
    description_en: str = ""
    required: bool = False
    datatype_description: str = ""
    values: list[dict[str, str]] = field(default_factory=list)


@dataclass
class CategoryInput:
    code: str
    name: str
    name_en: str = ""
    description: str = ""
    description_en: str = ""
    group: str = ""
    keywords: str = ""
    attributes: list[AttributeInput] = field(default_factory=list)


async def list_categories(session: AsyncSession, include_inactive: bool = False) -> list[Category]:
    query = select(Category).order_by(Category.position, Category.name)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return list((await session.execute(query)).scalars())


async def get_category(session: AsyncSession, code: str) -> Category:
    category = (await session.execute(select(Category).where(Category.code == code))).scalar_one_or_none()
    if category is None:
        raise ReportError(N_("Unknown category: %(code)s."), "not_found", "service_code", code=code)
    return category


async def attributes_of(session: AsyncSession, category_ids: Sequence[int]) -> dict[int, list[CategoryAttribute]]:
    """The questions of each category, in order (one query for all)."""
    result: dict[int, list[CategoryAttribute]] = {category_id: [] for category_id in category_ids}
    if not category_ids:
        return result
    query = (
        select(CategoryAttribute)
        .where(CategoryAttribute.category_id.in_(category_ids))
        .order_by(CategoryAttribute.category_id, CategoryAttribute.position, CategoryAttribute.id)
    )
    for attribute in (await session.execute(query)).scalars():
        result[attribute.category_id].append(attribute)
    return result


def _check_code(code: str) -> str:
    code = code.strip()
    if not code or len(code) > 60 or not all(c.isalnum() or c in "-_." for c in code):
        raise ReportError(N_("A code may only contain letters, digits, '-', '_' and '.' (at most 60)."), field="code")
    return code


async def save_category(session: AsyncSession, data: CategoryInput, category: Category | None = None) -> Category:
    """Create a category, or update one, with its questions (which replace the previous ones)."""
    code = _check_code(data.code)
    if not data.name.strip():
        raise ReportError(N_("A category needs a name."), field="name")
    existing = (await session.execute(select(Category).where(Category.code == code))).scalar_one_or_none()
    if existing is not None and existing is not category:
        raise ReportError(N_("A category with this code already exists."), field="code")
    seen: set[str] = set()
    for attribute in data.attributes:
        _check_code(attribute.code)
        if attribute.code in seen:
            raise ReportError(
                N_("Two questions have the same code: %(code)s."), field="attributes", code=attribute.code
            )
        seen.add(attribute.code)
        if attribute.datatype in (AttributeType.SINGLE, AttributeType.MULTI) and not attribute.values:
            raise ReportError(N_("A list question needs values to choose from."), field="attributes")
    if category is None:
        category = Category(code=code)
        session.add(category)
    category.code = code
    category.name = data.name.strip()
    category.name_en = data.name_en.strip()
    category.description = data.description.strip()
    category.description_en = data.description_en.strip()
    category.group = data.group.strip()
    category.keywords = data.keywords.strip()
    await session.flush()
    await session.execute(delete(CategoryAttribute).where(CategoryAttribute.category_id == category.id))
    for position, attribute in enumerate(data.attributes):
        session.add(
            CategoryAttribute(
                category_id=category.id,
                code=attribute.code,
                datatype=attribute.datatype,
                required=attribute.required,
                position=position,
                description=attribute.description,
                description_en=attribute.description_en,
                datatype_description=attribute.datatype_description,
                values=attribute.values,
            )
        )
    await session.flush()
    await _catalog_changed(session)
    return category


async def set_category_active(session: AsyncSession, category: Category, active: bool) -> None:
    category.active = active
    await session.flush()
    await _catalog_changed(session)


async def set_routing_rule(
    session: AsyncSession, category_id: int, department_id: int, neighbourhood_id: int | None = None
) -> RoutingRule:
    query = select(RoutingRule).where(
        RoutingRule.category_id == category_id,
        RoutingRule.neighbourhood_id.is_(None)
        if neighbourhood_id is None
        else RoutingRule.neighbourhood_id == neighbourhood_id,
    )
    rule = (await session.execute(query)).scalar_one_or_none()
    if rule is None:
        rule = RoutingRule(category_id=category_id, neighbourhood_id=neighbourhood_id, department_id=department_id)
        session.add(rule)
    rule.department_id = department_id
    await session.flush()
    await _catalog_changed(session)
    return rule


async def list_routing_rules(session: AsyncSession) -> list[RoutingRule]:
    return list((await session.execute(select(RoutingRule).order_by(RoutingRule.category_id))).scalars())


async def delete_routing_rule(session: AsyncSession, rule_id: int) -> None:
    await session.execute(delete(RoutingRule).where(RoutingRule.id == rule_id))
    await _catalog_changed(session)


async def route(session: AsyncSession, category_id: int, neighbourhood_id: int | None) -> int | None:
    """The department for a report: a rule for its neighbourhood wins over the category's general rule."""
    query = select(RoutingRule).where(
        RoutingRule.category_id == category_id,
        or_(RoutingRule.neighbourhood_id.is_(None), RoutingRule.neighbourhood_id == neighbourhood_id),
    )
    rules = list((await session.execute(query)).scalars())
    specific = [rule for rule in rules if rule.neighbourhood_id is not None]
    chosen = specific[0] if specific else (rules[0] if rules else None)
    return chosen.department_id if chosen else None


# --- the catalog: categories, questions and routing, cached per process ----------------------


async def _catalog_changed(session: AsyncSession) -> None:
    """Bump the catalog revision, in the transaction of the change: every process reloads its copy."""
    statement = (
        _insert_for(session)(CatalogRevision)
        .values(id=1, revision=1)
        .on_conflict_do_update(index_elements=["id"], set_={"revision": CatalogRevision.revision + 1})
    )
    await session.execute(statement)


async def catalog_revision(session: AsyncSession) -> int:
    query = select(CatalogRevision.revision).where(CatalogRevision.id == 1)
    return int((await session.execute(query)).scalar_one_or_none() or 0)


@dataclass(frozen=True)
class Catalog:
    """Every category (active or not) with its questions, and the routing rules, as of one revision."""

    revision: int
    by_code: dict[str, Category]
    by_id: dict[int, Category]
    questions: dict[int, list[CategoryAttribute]]
    rules: dict[tuple[int, int | None], int]  # (category, neighbourhood or None for all) -> department

    def active_category(self, code: str) -> Category:
        category = self.by_code.get(code)
        if category is None or not category.active:
            raise ReportError(N_("Unknown category: %(code)s."), "not_found", "service_code", code=code)
        return category

    def route(self, category_id: int, neighbourhood_id: int | None) -> int | None:
        """A rule for the neighbourhood wins over the category's general rule (as `route`)."""
        specific = self.rules.get((category_id, neighbourhood_id)) if neighbourhood_id is not None else None
        return specific if specific is not None else self.rules.get((category_id, None))


async def load_catalog(session: AsyncSession, revision: int | None = None) -> Catalog:
    revision = await catalog_revision(session) if revision is None else revision
    categories = [detached_copy(c) for c in (await session.execute(select(Category))).scalars()]
    questions = {
        category_id: [detached_copy(question) for question in asked]
        for category_id, asked in (await attributes_of(session, [c.id for c in categories])).items()
    }
    rules = (
        await session.execute(select(RoutingRule.category_id, RoutingRule.neighbourhood_id, RoutingRule.department_id))
    ).all()
    return Catalog(
        revision,
        {category.code: category for category in categories},
        {category.id: category for category in categories},
        questions,
        {(rule.category_id, rule.neighbourhood_id): rule.department_id for rule in rules},
    )


class CatalogCache:
    """The catalog for one app process. Its revision is checked (one small query) at most every
    `revalidate_seconds`; a change made by any process (an admin's edit) makes the next check reload it.
    Filing a report then reads no category, question or rule."""

    def __init__(self, revalidate_seconds: float = 0.0) -> None:
        self.revalidate_seconds = revalidate_seconds
        self._catalog: Catalog | None = None
        self._checked_at = -math.inf

    async def get(self, session: AsyncSession) -> Catalog:
        if self._catalog is not None and time.monotonic() - self._checked_at < self.revalidate_seconds:
            return self._catalog
        revision = await catalog_revision(session)
        if self._catalog is None or self._catalog.revision != revision:
            self._catalog = await load_catalog(session, revision)
        self._checked_at = time.monotonic()
        return self._catalog

    def forget(self) -> None:
        """Reload on next use (this process just changed the catalog)."""
        self._catalog = None


# --- answers to a category's questions --------------------------------------------------------


def validate_answers(attributes: list[CategoryAttribute], raw: dict[str, list[str]]) -> dict[str, Any]:
    """Check the answers against the questions (Open311 attribute rules) and convert them to values."""
    by_code = {attribute.code: attribute for attribute in attributes}
    unknown = sorted(set(raw) - set(by_code))
    if unknown:
        raise ReportError(N_("Unknown question: %(code)s."), field="attribute", code=unknown[0])
    answers: dict[str, Any] = {}
    for attribute in attributes:
        given = [value.strip() for value in raw.get(attribute.code, []) if value.strip()]
        if not given:
            if attribute.required:
                raise ReportError(
                    N_("Please answer: %(question)s"),
                    field="attribute",
                    localized={"en": {"question": attribute.question("en")}},
                    question=attribute.description,
                )
            continue
        keys = {value["key"] for value in attribute.values}
        match attribute.datatype:
            case AttributeType.MULTI:
                wrong = [value for value in given if value not in keys]
                if wrong:
                    raise ReportError(
                        N_("Unknown value %(value)s for %(code)s."),
                        field="attribute",
                        value=wrong[0],
                        code=attribute.code,
                    )
                answers[attribute.code] = list(dict.fromkeys(given))
            case AttributeType.SINGLE:
                if len(given) > 1 or given[0] not in keys:
                    raise ReportError(
                        N_("Unknown value %(value)s for %(code)s."),
                        field="attribute",
                        value=given[-1],
                        code=attribute.code,
                    )
                answers[attribute.code] = given[0]
            case AttributeType.NUMBER:
                try:
                    number = float(given[0].replace(",", "."))
                except ValueError:
                    raise ReportError(
                        N_("%(code)s must be a number."), field="attribute", code=attribute.code
                    ) from None
                if not math.isfinite(number):
                    raise ReportError(N_("%(code)s must be a number."), field="attribute", code=attribute.code)
                answers[attribute.code] = int(number) if number.is_integer() else number
            case AttributeType.DATETIME:
                try:
                    moment = datetime.fromisoformat(given[0].replace("Z", "+00:00"))
                except ValueError:
                    raise ReportError(
                        N_("%(code)s must be a date and time (ISO 8601)."), field="attribute", code=attribute.code
                    ) from None
                answers[attribute.code] = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
            case AttributeType.STRING:
                answers[attribute.code] = given[0][:255]
            case AttributeType.TEXT:
                answers[attribute.code] = given[0][:4000]
    return answers


# --- filing a report --------------------------------------------------------------------------


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
    photos: list[PreparedPhoto] = field(default_factory=list)


def _fold(text: str) -> str:
    """Lower-case without accents, for matching typed place names."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower()) if not unicodedata.combining(c))


async def place_from_text(session: AsyncSession, text: str) -> tuple[float, float, int] | None:
    """A place for an address-like text with no coordinates, from the city's own gazetteer: the
    neighbourhood named in it (no external geocoder is needed, or reachable)."""
    folded = _fold(text)
    best: tuple[int, float, float, int] | None = None
    for neighbourhood in await territory.list_neighbourhoods(session):
        name = _fold(neighbourhood.name)
        if name and name in folded and (best is None or len(name) > best[0]):
            best = (len(name), neighbourhood.centroid_lon, neighbourhood.centroid_lat, neighbourhood.id)
    return None if best is None else (best[1], best[2], best[3])


async def create_report(
    session: AsyncSession,
    index: territory.TerritoryIndexCache,
    new: NewReport,
    now: datetime | None = None,
    catalog: Catalog | None = None,
) -> Report:
    """File a report: validate, place it in a neighbourhood, route it, keep the reporter's contact apart.
    Everything is checked before anything is written, so a refused report leaves nothing behind.
    `catalog`: the app's cached one (`CatalogCache`); read from the database when not given."""
    catalog = catalog or await load_catalog(session)
    category = catalog.active_category(new.category_code)
    description = new.description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise ReportError(N_("The description may be at most 4000 characters."), field="description")
    address = new.address.strip()[:300]
    if new.lon is None or new.lat is None:
        if not address:
            raise ReportError(N_("Say where the problem is: a point on the map or an address."), field="location")
        placed = await place_from_text(session, address)
        if placed is None:
            raise ReportError(
                N_("We could not find this address in the city; place a point on the map instead."), field="location"
            )
        lon, lat, neighbourhood_id = placed
    else:
        lon, lat = float(new.lon), float(new.lat)
        if not (-180 <= lon <= 180 and -90 <= lat <= 90) or not (math.isfinite(lon) and math.isfinite(lat)):
            raise ReportError(N_("These coordinates are not valid."), field="location")
        located = await territory.locate_id(session, index, lon, lat)
        if located is None:
            raise ReportError(N_("This place is outside the city."), field="location")
        neighbourhood_id = located
    answers = validate_answers(catalog.questions.get(category.id, []), new.answers)
    email = _checked_email(new.email) if new.email.strip() else ""
    cells = territory.h3_cells(lon, lat)
    moment = now or utcnow()
    report = Report(
        category_id=category.id,
        status=ReportStatus.OPEN,
        description=description,
        lon=lon,
        lat=lat,
        address=address,
        address_id=new.address_id[:100],
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
    await _count_in_map(session, report, ReportStatus.OPEN, 1)
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
    return report


def _checked_email(email: str) -> str:
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


# --- supports and followers -------------------------------------------------------------------


async def support(session: AsyncSession, report: Report, supporter_key: str, person_id: int | None = None) -> None:
    """One "me too" per person (or per browser): it counts towards the report's priority."""
    exists = await session.execute(
        select(ReportSupport.id).where(
            ReportSupport.report_id == report.id, ReportSupport.supporter_key == supporter_key
        )
    )
    if exists.first() is not None:
        raise ReportError(N_("You already support this report."))
    if report.status == ReportStatus.CLOSED:
        raise ReportError(N_("This report is closed."))
    session.add(ReportSupport(report_id=report.id, person_id=person_id, supporter_key=supporter_key))
    await session.execute(update(Report).where(Report.id == report.id).values(supports=Report.supports + 1))
    await session.flush()
    await session.refresh(report, ["supports"])


async def follow(session: AsyncSession, report: Report, person_id: int | None = None, email: str = "") -> None:
    """Ask for news of a report (idempotent)."""
    if person_id is None and not email.strip():
        raise ReportError(N_("Give an e-mail address to be told of updates."), field="email")
    email = _checked_email(email) if person_id is None else ""
    condition = ReportFollower.person_id == person_id if person_id is not None else ReportFollower.email == email
    exists = await session.execute(select(ReportFollower.id).where(ReportFollower.report_id == report.id, condition))
    if exists.first() is None:
        session.add(ReportFollower(report_id=report.id, person_id=person_id, email=email or None))
        await session.flush()


async def unfollow(session: AsyncSession, report: Report, person_id: int) -> None:
    await session.execute(
        delete(ReportFollower).where(ReportFollower.report_id == report.id, ReportFollower.person_id == person_id)
    )


async def is_following(session: AsyncSession, report: Report, person_id: int) -> bool:
    query = select(ReportFollower.id).where(
        ReportFollower.report_id == report.id, ReportFollower.person_id == person_id
    )
    return (await session.execute(query)).first() is not None


# --- the staff workflow -----------------------------------------------------------------------


def can_handle(actor: Person, report: Report) -> bool:
    """Admins handle every report; staff those of their department (or not yet routed)."""
    if actor.is_admin:
        return True
    return actor.is_staff and (report.department_id is None or report.department_id == actor.department_id)


def _require_handler(actor: Person, report: Report) -> None:
    if not can_handle(actor, report):
        raise ReportError(N_("This report belongs to another department."), "forbidden")


@dataclass
class StaffUpdate:
    """What a staff member changes on a report in one go; empty fields mean "no change"."""

    status: ReportStatus | None = None
    close_reason: CloseReason | None = None
    public_answer: str = ""
    internal_note: str = ""
    expected_at: datetime | None = None
    department_id: int | None = None


async def update_report(
    session: AsyncSession, settings: Settings, actor: Person, report: Report, change: StaffUpdate
) -> None:
    """Apply a staff update, record it in the history, and tell followers of every public change."""
    _require_handler(actor, report)
    now = utcnow()
    new_status = change.status or report.status
    if new_status == ReportStatus.CLOSED and report.status != ReportStatus.CLOSED and change.close_reason is None:
        raise ReportError(N_("Say why the report is closed."), field="close_reason")
    events: list[ReportEvent] = []

    def record(kind: EventKind, text: str, public: bool = True) -> None:
        events.append(
            ReportEvent(
                report_id=report.id, at=now, kind=kind, status=new_status, public=public, actor_id=actor.id, text=text
            )
        )

    if change.department_id is not None and change.department_id != report.department_id:
        report.department_id = change.department_id
        record(EventKind.REASSIGNED, str(change.department_id), public=False)
    if change.status is not None and change.status != report.status:
        closing = change.status == ReportStatus.CLOSED
        await _count_in_map(session, report, report.status, -1)
        await _count_in_map(session, report, change.status, 1)
        report.status = change.status
        report.close_reason = change.close_reason if closing else None
        report.closed_at = now if closing else None
        record(EventKind.STATUS, change.close_reason.value if closing and change.close_reason else "")
    if change.public_answer.strip():
        report.status_notes = change.public_answer.strip()[:4000]
        record(EventKind.ANSWER, report.status_notes)
    if change.expected_at is not None and change.expected_at != report.expected_at:
        report.expected_at = change.expected_at
        record(EventKind.EXPECTED, change.expected_at.isoformat())
    if change.internal_note.strip():
        record(EventKind.NOTE, change.internal_note.strip()[:4000], public=False)
    session.add_all(events)
    report.updated_at = now
    await session.flush()
    if any(event.public for event in events):
        await notify_followers(session, settings, report)


async def merge_into(
    session: AsyncSession, settings: Settings, actor: Person, duplicate: Report, original: Report
) -> None:
    """Close `duplicate` as a duplicate of `original`, moving its followers and supports over.

    Both reports change (the original gains followers and supports), so the actor must handle both."""
    if duplicate.id == original.id:
        raise ReportError(N_("A report cannot be a duplicate of itself."))
    _require_handler(actor, duplicate)
    _require_handler(actor, original)
    followers = (
        await session.execute(select(ReportFollower).where(ReportFollower.report_id == duplicate.id))
    ).scalars()
    for follower in list(followers):
        await follow(session, original, follower.person_id, follower.email or "")
    moved = int(
        (await session.execute(select(func.count()).where(ReportSupport.report_id == duplicate.id))).scalar_one()
    )
    await session.execute(
        delete(ReportSupport).where(
            ReportSupport.report_id == duplicate.id,
            ReportSupport.supporter_key.in_(
                select(ReportSupport.supporter_key).where(ReportSupport.report_id == original.id)
            ),
        )
    )
    await session.execute(
        update(ReportSupport).where(ReportSupport.report_id == duplicate.id).values(report_id=original.id)
    )
    original.supports = (
        int((await session.execute(select(func.count()).where(ReportSupport.report_id == original.id))).scalar_one())
        + (duplicate.supports - moved)
        + 1
    )
    duplicate.duplicate_of_id = original.id
    await update_report(
        session,
        settings,
        actor,
        duplicate,
        StaffUpdate(status=ReportStatus.CLOSED, close_reason=CloseReason.DUPLICATE, public_answer=f"#{original.id}"),
    )


async def notify_followers(session: AsyncSession, settings: Settings, report: Report) -> None:
    """Tell each follower, in their language, in the app (accounts) and by e-mail."""
    followers = list(
        (await session.execute(select(ReportFollower).where(ReportFollower.report_id == report.id))).scalars()
    )
    link = f"/reports/{report.id}"
    for follower in followers:
        person = await people.get_person(session, follower.person_id) if follower.person_id else None
        locale = person.locale if person else settings.default_locale
        _ = get_translations(locale).gettext
        title = _("Report #%(id)s is now: %(status)s") % {"id": report.id, "status": _(STATUS_LABELS[report.status])}
        body = report.status_notes
        if person is not None:
            await notifications.notify(session, person.id, title, body, link)
        recipient = person.email if person else follower.email
        if recipient:
            text = "\n\n".join(part for part in (title, body, settings.base_url.rstrip("/") + link) if part)
            await send_mail(session, settings, recipient, title, text, person.id if person else None)


# --- searching --------------------------------------------------------------------------------


@dataclass
class ReportFilters:
    ids: list[int] | None = None
    category_codes: list[str] | None = None
    category_ids: list[int] | None = None
    statuses: list[ReportStatus] | None = None
    neighbourhood_id: int | None = None
    department_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    text: str = ""


def _filtered(query: Select[*Columns], filters: ReportFilters) -> Select[*Columns]:
    if filters.ids is not None:
        query = query.where(Report.id.in_(filters.ids))
    if filters.category_codes:
        query = query.where(
            Report.category_id.in_(select(Category.id).where(Category.code.in_(filters.category_codes)))
        )
    if filters.category_ids is not None:
        query = query.where(Report.category_id.in_(filters.category_ids))
    if filters.statuses:
        query = query.where(Report.status.in_(filters.statuses))
    if filters.neighbourhood_id is not None:
        query = query.where(Report.neighbourhood_id == filters.neighbourhood_id)
    if filters.department_id is not None:
        query = query.where(Report.department_id == filters.department_id)
    if filters.start is not None:
        query = query.where(Report.requested_at >= filters.start)
    if filters.end is not None:
        query = query.where(Report.requested_at <= filters.end)
    if filters.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = filters.bbox
        query = query.where(Report.lon.between(min_lon, max_lon), Report.lat.between(min_lat, max_lat))
    if filters.text.strip():
        query = query.where(func.lower(Report.description).contains(filters.text.strip().lower()))
    return query


SORTS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "newest": (Report.requested_at.desc(), Report.id.desc()),
    "oldest": (Report.requested_at.asc(), Report.id.asc()),
    "updated": (Report.updated_at.desc(), Report.id.desc()),
    "supports": (Report.supports.desc(), Report.requested_at.desc()),
}


async def search_reports(
    session: AsyncSession, filters: ReportFilters, limit: int = 50, offset: int = 0, sort: str = "newest"
) -> list[Report]:
    query = _filtered(select(Report), filters).order_by(*SORTS.get(sort, SORTS["newest"])).offset(offset).limit(limit)
    return list((await session.execute(query)).scalars())


# What an Open311 service request shows of a report, read as plain rows: a thousand ORM objects (and
# their JSON attributes, which Open311 does not show) cost more than the query itself.
REQUEST_COLUMNS = (
    Report.id,
    Report.status,
    Report.status_notes,
    Report.category_id,
    Report.description,
    Report.department_id,
    Report.requested_at,
    Report.updated_at,
    Report.expected_at,
    Report.address,
    Report.address_id,
    Report.zipcode,
    Report.lat,
    Report.lon,
    Report.media_url,
)


async def request_rows(session: AsyncSession, filters: ReportFilters, limit: int) -> Sequence[Any]:
    """Newest first: the columns of `REQUEST_COLUMNS` and `has_photo`."""
    has_photo = select(ReportPhoto.id).where(ReportPhoto.report_id == Report.id).exists().label("has_photo")
    query = _filtered(select(*REQUEST_COLUMNS, has_photo), filters).order_by(*SORTS["newest"]).limit(limit)
    return (await session.execute(query)).all()


async def data_version(session: AsyncSession) -> tuple[Any, ...]:
    """Changes whenever a report is filed or updated, or the catalog changes: what a cached answer checks
    (two index look-ups and one row)."""
    query = select(
        select(func.max(Report.id)).scalar_subquery(),
        select(func.max(Report.updated_at)).scalar_subquery(),
        select(CatalogRevision.revision).where(CatalogRevision.id == 1).scalar_subquery(),
    )
    return tuple((await session.execute(query)).one())


async def count_reports(session: AsyncSession, filters: ReportFilters) -> int:
    query = _filtered(select(func.count()).select_from(Report), filters)
    return int((await session.execute(query)).scalar_one())


async def categories_by_id(session: AsyncSession) -> dict[int, Category]:
    return {category.id: category for category in await list_categories(session, include_inactive=True)}


# --- the map ----------------------------------------------------------------------------------

# Average H3 edge lengths in degrees of latitude (about 3.7 km and 0.53 km): a cell is drawn when its
# centre lies within the view widened by this much, so that cells cut by the view's edge still show.
CELL_MARGIN_DEG = {6: 3.72 / 111.32, 8: 0.53 / 111.32}


def month_of(moment: datetime) -> date:
    """The first day of `moment`'s month (UTC): the time bucket of the map counts."""
    moment = moment.astimezone(UTC)
    return date(moment.year, moment.month, 1)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def _insert_for(session: AsyncSession) -> Any:
    bind = session.bind
    return pg_insert if bind is not None and bind.dialect.name == "postgresql" else sqlite_insert


async def _count_in_map(session: AsyncSession, report: Report, status: ReportStatus, delta: int) -> None:
    """Add `delta` to the map counts (of its month, and of all time) of the report's cell, neighbourhood,
    category and `status`. Upserts: concurrent filings wait for each other only on the same cell's rows."""
    key: dict[str, Any] = {
        "h3_r8": report.h3_r8,
        "neighbourhood_id": report.neighbourhood_id or 0,
        "category_id": report.category_id,
        "status": status,
    }
    insert_into = _insert_for(session)
    upserts = [
        insert_into(table)
        .values(**table_key, h3_r6=report.h3_r6, count=delta)
        .on_conflict_do_update(index_elements=list(table_key), set_={"count": table.count + delta})
        for table, table_key in (
            (ReportMapTotal, key),
            (ReportMapCount, {**key, "month": month_of(report.requested_at)}),
        )
    ]
    if insert_into is pg_insert:  # one round trip: the first upsert runs as a data-modifying WITH
        await session.execute(upserts[1].add_cte(upserts[0].cte("total_upsert")))
    else:
        for upsert in upserts:
            await session.execute(upsert)


async def rebuild_map_counts(session: AsyncSession) -> int:
    """Recompute every map count from the reports (after a bulk load that bypassed `create_report`).
    Returns the number of monthly count rows."""
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        month: ColumnElement[Any] = cast(func.date_trunc("month", func.timezone("UTC", Report.requested_at)), Date)
    else:  # SQLite keeps naive UTC text, "YYYY-MM-DD HH:MM:SS..."
        month = func.substr(cast(Report.requested_at, String), 1, 7).concat("-01")
    key = (Report.h3_r8, func.coalesce(Report.neighbourhood_id, 0), Report.category_id, Report.status)
    columns = ["h3_r8", "neighbourhood_id", "category_id", "status", "h3_r6", "count"]
    await session.execute(delete(ReportMapCount))
    await session.execute(delete(ReportMapTotal))
    monthly = select(month, *key, func.min(Report.h3_r6), func.count()).group_by(month, *key)
    await session.execute(insert(ReportMapCount).from_select(["month", *columns], monthly))
    summed = (
        ReportMapCount.h3_r8,
        ReportMapCount.neighbourhood_id,
        ReportMapCount.category_id,
        ReportMapCount.status,
    )
    totals = select(*summed, func.min(ReportMapCount.h3_r6), func.sum(ReportMapCount.count)).group_by(*summed)
    await session.execute(insert(ReportMapTotal).from_select(columns, totals))
    return int((await session.execute(select(func.count()).select_from(ReportMapCount))).scalar_one())


def _counted_filters(filters: ReportFilters) -> bool:
    """Whether the map counts can answer: they know cells, neighbourhoods, categories, statuses and months."""
    return filters.ids is None and filters.department_id is None and not filters.text.strip()


async def _cell_counts(session: AsyncSession, filters: ReportFilters, resolution: int) -> dict[str, int]:
    """Reports per H3 cell: whole months from the map counts, the days of a partial month at either end of
    the period from the reports themselves (the requested_at index keeps those small)."""
    if not _counted_filters(filters):
        column = Report.h3_r6 if resolution == 6 else Report.h3_r8
        unbounded = ReportFilters(**{**filters.__dict__, "bbox": None})
        rows = (await session.execute(_filtered(select(column, func.count()), unbounded).group_by(column))).all()
        return {cell: int(count) for cell, count in rows}
    first_full = None
    if filters.start is not None:
        first_full = month_of(filters.start)
        if _month_start(first_full) != filters.start:
            first_full = _next_month(first_full)
    after_full = month_of(filters.end) if filters.end is not None else None
    edges: list[tuple[datetime | None, datetime | None, bool]] = []  # [start, end] or [start, end)
    if first_full is not None and after_full is not None and first_full >= after_full:
        edges.append((filters.start, filters.end, True))
        first_full = after_full = None
    else:
        if first_full is not None and filters.start is not None and _month_start(first_full) != filters.start:
            edges.append((filters.start, _month_start(first_full), False))
        if after_full is not None and filters.end is not None:
            edges.append((_month_start(after_full), filters.end, True))

    counts: dict[str, int] = {}
    undated = filters.start is None and filters.end is None
    if first_full is not None or after_full is not None or undated:
        table: type[ReportMapCount] | type[ReportMapTotal] = ReportMapTotal if undated else ReportMapCount
        column = table.h3_r6 if resolution == 6 else table.h3_r8
        query = select(column, func.sum(table.count)).group_by(column)
        if filters.category_codes:
            query = query.where(
                table.category_id.in_(select(Category.id).where(Category.code.in_(filters.category_codes)))
            )
        if filters.statuses:
            query = query.where(table.status.in_(filters.statuses))
        if filters.neighbourhood_id is not None:
            query = query.where(table.neighbourhood_id == filters.neighbourhood_id)
        if first_full is not None:
            query = query.where(ReportMapCount.month >= first_full)
        if after_full is not None:
            query = query.where(ReportMapCount.month < after_full)
        for cell, count in (await session.execute(query)).all():
            counts[cell] = int(count)
    for start, end, end_included in edges:
        column = Report.h3_r6 if resolution == 6 else Report.h3_r8
        edge = ReportFilters(
            category_codes=filters.category_codes,
            statuses=filters.statuses,
            neighbourhood_id=filters.neighbourhood_id,
            start=start,
            end=end if end_included else None,
        )
        query = _filtered(select(column, func.count()), edge).group_by(column)
        if end is not None and not end_included:
            query = query.where(Report.requested_at < end)
        for cell, count in (await session.execute(query)).all():
            counts[cell] = counts.get(cell, 0) + int(count)
    return {cell: count for cell, count in counts.items() if count > 0}


async def map_layer(session: AsyncSession, filters: ReportFilters, zoom: int) -> dict[str, Any]:
    """What the map draws: counts per H3 cell at low zoom (coarser as the view widens), points when close,
    or counts per ~100 m cell when a close-up view is crowded (zoom 18 draws every point). Cells count all
    their reports and are drawn when they reach into the view (`bbox`)."""
    if zoom >= maplayer.POINTS_FROM_ZOOM:
        if zoom < maplayer.ALL_POINTS_ZOOM:
            # Counted first: a busy quartier's close-up is answered by this one grouped query.
            dense = _filtered(select(Report.h3_r10, func.count()), filters).group_by(Report.h3_r10)
            crowded = maplayer.crowded_cells_layer([(row[0], row[1]) for row in await session.execute(dense)])
            if crowded is not None:
                return crowded
        query = _filtered(select(Report.id, Report.lon, Report.lat, Report.status, Report.category_id), filters)
        rows = (await session.execute(query.order_by(Report.requested_at.desc()).limit(maplayer.MAX_POINTS))).all()
        return {
            "kind": "points",
            "points": [
                {"id": r.id, "lon": r.lon, "lat": r.lat, "status": r.status.value, "category_id": r.category_id}
                for r in rows
            ],
        }
    resolution = 6 if zoom < 12 else 8
    cells = []
    for cell, count in (await _cell_counts(session, filters, resolution)).items():
        lat, lon = h3.cell_to_latlng(cell)
        if filters.bbox is not None:
            min_lon, min_lat, max_lon, max_lat = filters.bbox
            margin = CELL_MARGIN_DEG[resolution]
            lon_margin = margin / max(math.cos(math.radians(lat)), 0.01)
            if not (
                min_lon - lon_margin <= lon <= max_lon + lon_margin and min_lat - margin <= lat <= max_lat + margin
            ):
                continue
        cells.append({"cell": cell, "count": count, "lon": lon, "lat": lat})
    return {"kind": "cells", "resolution": resolution, "cells": cells}


# --- personal data ----------------------------------------------------------------------------


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    contacts = (
        await session.execute(
            select(ReportContact).where(or_(ReportContact.person_id == person.id, ReportContact.email == person.email))
        )
    ).scalars()
    followed = (
        await session.execute(
            select(ReportFollower).where(
                or_(ReportFollower.person_id == person.id, ReportFollower.email == person.email)
            )
        )
    ).scalars()
    supported = (await session.execute(select(ReportSupport).where(ReportSupport.person_id == person.id))).scalars()
    return {
        "reports_filed": [
            {
                "report_id": c.report_id,
                "email": c.email,
                "first_name": c.first_name,
                "last_name": c.last_name,
                "phone": c.phone,
                "device_id": c.device_id,
            }
            for c in contacts
        ],
        "reports_followed": [{"report_id": f.report_id, "since": f.created_at.isoformat()} for f in followed],
        "reports_supported": [{"report_id": s.report_id, "at": s.created_at.isoformat()} for s in supported],
    }


async def _erase(session: AsyncSession, person: Person) -> None:
    """The reports stay (they are about public space); every link to the person goes."""
    await session.execute(
        delete(ReportContact).where(or_(ReportContact.person_id == person.id, ReportContact.email == person.email))
    )
    await session.execute(
        delete(ReportFollower).where(or_(ReportFollower.person_id == person.id, ReportFollower.email == person.email))
    )
    # Supports keep counting, but no longer say whose they were.
    await session.execute(
        update(ReportSupport)
        .where(ReportSupport.person_id == person.id)
        .values(person_id=None, supporter_key=literal("erased:").concat(cast(ReportSupport.id, String)))
    )


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="reports",
            description=N_("the reports you filed (and the contact details you left), followed and supported"),
            export=_export,
            erase=_erase,
        )
    )
