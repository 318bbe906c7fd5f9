"""The catalog: categories and their questions, routing rules, the catalog revision every change
bumps, the per-process CatalogCache that lets filing read none of them, and the checking of
answers to a category's questions."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import detached_copy
from citoyen.i18n import N_
from citoyen.reports.errors import ReportError
from citoyen.reports.models import AttributeType, CatalogRevision, Category, CategoryAttribute, RoutingRule
from citoyen.reports.repository import insert_for


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


async def categories_by_id(session: AsyncSession) -> dict[int, Category]:
    return {category.id: category for category in await list_categories(session, include_inactive=True)}


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


async def _catalog_changed(session: AsyncSession) -> None:
    """Bump the catalog revision, in the transaction of the change: every process reloads its copy."""
    statement = (
        insert_for(session)(CatalogRevision)
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
