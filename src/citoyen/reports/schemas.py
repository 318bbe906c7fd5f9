"""Reports API shapes: what the web UI reads (categories and their questions, the map layer, duplicates
nearby, public reports). Nothing here ever says who filed, follows or supports a report."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from citoyen.i18n import localized
from citoyen.reports.models import AttributeType, Category, CategoryAttribute, Report

StatusValue = Literal["open", "acknowledged", "in_progress", "closed"]


def value_label(value: dict[str, str], locale: str) -> str:
    """The label of one choice of a list question, in the locale (French is the source)."""
    return localized(locale, value.get("name") or value["key"], value.get("name_en"))


class ErrorBody(BaseModel):
    status: int
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


# --- categories -------------------------------------------------------------------------------


class ChoiceOut(BaseModel):
    key: str
    name: str


class QuestionOut(BaseModel):
    """A question of a category (an Open311 attribute), labelled in the request's language."""

    code: str
    datatype: AttributeType
    required: bool
    order: int
    description: str = Field(description="The question, in the request's language.")
    datatype_description: str
    values: list[ChoiceOut]

    @classmethod
    def of(cls, attribute: CategoryAttribute, locale: str) -> QuestionOut:
        return cls(
            code=attribute.code,
            datatype=attribute.datatype,
            required=attribute.required,
            order=attribute.position,
            description=attribute.question(locale),
            datatype_description=attribute.datatype_description,
            values=[ChoiceOut(key=value["key"], name=value_label(value, locale)) for value in attribute.values],
        )


class CategoryOut(BaseModel):
    code: str
    name: str
    description: str
    group: str
    keywords: str
    questions: list[QuestionOut]

    @classmethod
    def of(cls, category: Category, attributes: list[CategoryAttribute], locale: str) -> CategoryOut:
        description = localized(locale, category.description, category.description_en)
        return cls(
            code=category.code,
            name=category.label(locale),
            description=description,
            group=category.group,
            keywords=category.keywords,
            questions=[QuestionOut.of(attribute, locale) for attribute in attributes],
        )


# --- the map layer ----------------------------------------------------------------------------


class MapPoint(BaseModel):
    id: int
    lon: float
    lat: float
    status: StatusValue
    category_id: int


class MapPoints(BaseModel):
    """At high zoom: one point per report (the most recent first, at most 5000)."""

    kind: Literal["points"]
    points: list[MapPoint]


class MapCell(BaseModel):
    cell: str = Field(description="The H3 cell id.")
    count: int
    lon: float = Field(description="The cell's centre.")
    lat: float


class MapCells(BaseModel):
    """At low zoom: the number of reports per H3 cell (resolution 6 below zoom 12, 8 below 16; 10 at zoom 16
    and 17 when the view holds more than 400 reports)."""

    kind: Literal["cells"]
    resolution: int
    cells: list[MapCell]


MapLayer = Annotated[MapPoints | MapCells, Field(discriminator="kind")]


# --- reports ----------------------------------------------------------------------------------


class DuplicateOut(BaseModel):
    """An unclosed report of the same category nearby, which a citizen may support instead."""

    id: int
    category: str
    status: StatusValue
    description: str
    requested_at: datetime
    distance_m: float
    supports: int
    url: str


class ReportOut(BaseModel):
    """The public fields of a report: never who filed it."""

    id: int
    category: str
    category_name: str
    status: StatusValue
    close_reason: str | None
    description: str
    locale: Literal["fr", "en"] = Field(description="The language the description is written in.")
    lon: float
    lat: float
    address: str
    neighbourhood_id: int | None
    status_notes: str = Field(description="The city's public answer.")
    answers: dict[str, Any] = Field(description="Answers to the category's questions, by question code.")
    supports: int
    duplicate_of_id: int | None
    requested_at: datetime
    updated_at: datetime
    expected_at: datetime | None
    closed_at: datetime | None
    photos: list[str] = Field(description="URLs of the report's photos.")
    url: str

    @classmethod
    def of(cls, report: Report, category: Category | None, locale: str, photo_count: int) -> ReportOut:
        return cls(
            id=report.id,
            category=category.code if category else "",
            category_name=category.label(locale) if category else "",
            status=report.status.value,
            close_reason=report.close_reason.value if report.close_reason else None,
            description=report.description,
            locale="en" if report.locale == "en" else "fr",
            lon=report.lon,
            lat=report.lat,
            address=report.address,
            neighbourhood_id=report.neighbourhood_id,
            status_notes=report.status_notes,
            answers=report.attributes,
            supports=report.supports,
            duplicate_of_id=report.duplicate_of_id,
            requested_at=report.requested_at,
            updated_at=report.updated_at,
            expected_at=report.expected_at,
            closed_at=report.closed_at,
            photos=[f"/reports/{report.id}/photos/{n}" for n in range(1, photo_count + 1)],
            url=f"/reports/{report.id}",
        )


class ReportPage(BaseModel):
    total: int
    limit: int
    offset: int
    reports: list[ReportOut]
