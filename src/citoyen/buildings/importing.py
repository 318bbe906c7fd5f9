"""Buildings created by the buildings department: one at a time from `/staff/buildings`, or many from a CSV file
(`citoyen buildings import FILE`).

The file (UTF-8, `;` or `,` between columns, a header line) has the columns `name`, `use` (housing, office,
school), `floor_area_m2`, `year_built`, `lon`, `lat` (WGS84), and optionally `dwellings`, `energy_class` (A–G),
`address`, `meters` (among heating, electricity, water, separated by spaces or `|`; all three when empty) and
`temperature_datastream` (the id of the outdoor temperature Datastream the heating's degree-days come from).

A building is about a place, never a person: the file holds no resident (residents link themselves, and staff
confirm them), and nothing in it is personal. All or nothing: every line is checked before anything is created,
the first bad line stops the import with its number and why, and the caller's transaction leaves what was there.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.buildings.links import may_decide
from citoyen.buildings.models import Building, BuildingUse
from citoyen.buildings.registry import METERS, BuildingError, BuildingSpec, MeterKit, check_spec, create_building
from citoyen.errors import Kind, Refusal
from citoyen.i18n import N_
from citoyen.people.service import Person
from citoyen.sensing import service as sensing

REQUIRED = ("name", "use", "floor_area_m2", "year_built", "lon", "lat")


class BuildingImportError(Refusal):
    """A line of the buildings file cannot be imported; the message (English) names the line and says why."""


def _integer(text: str, column: str, line: int, empty: int | None = None) -> int:
    text = text.strip()
    if not text and empty is not None:
        return empty
    try:
        return int(text)
    except ValueError:
        raise BuildingImportError(f"line {line}: {column} is not a whole number: {text!r}") from None


def _degrees(text: str, column: str, line: int, limit: float) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise BuildingImportError(f"line {line}: {column} is not a number of degrees: {text!r}") from None
    if not math.isfinite(value) or abs(value) > limit:
        raise BuildingImportError(f"line {line}: {column} {text!r} is not a WGS84 {column}")
    return value


def spec_of(record: dict[str, str], line: int) -> BuildingSpec:
    """One line as a building, checked; a refusal naming the line otherwise."""
    try:
        use = BuildingUse(record["use"].strip().lower())
    except ValueError:
        raise BuildingImportError(f"line {line}: use {record['use']!r} is not housing, office or school") from None
    meters_text = record.get("meters", "").strip()
    meters = tuple(m for m in re.split(r"[\s|,]+", meters_text.lower()) if m) if meters_text else METERS
    temperature = record.get("temperature_datastream", "").strip()
    spec = BuildingSpec(
        name=record["name"].strip()[:200],
        use=use,
        floor_area_m2=_integer(record["floor_area_m2"], "floor_area_m2", line),
        year_built=_integer(record["year_built"], "year_built", line),
        lon=_degrees(record["lon"], "lon", line, 180),
        lat=_degrees(record["lat"], "lat", line, 90),
        dwellings=_integer(record.get("dwellings", ""), "dwellings", line, empty=0),
        energy_class=record.get("energy_class", "").strip().upper() or None,
        address=record.get("address", "").strip()[:300],
        meters=meters,
        temperature_datastream_id=_integer(temperature, "temperature_datastream", line) if temperature else None,
    )
    try:
        check_spec(spec)
    except BuildingError as exc:
        raise BuildingImportError(f"line {line}: {exc}") from None
    return spec


def parse_buildings(text: str) -> list[tuple[int, BuildingSpec]]:
    """Every line of a buildings file with its number, checked; a refusal naming the first bad line."""
    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first.count(";") >= first.count(",") else ",")
    columns = {name.strip() for name in reader.fieldnames or ()}
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise BuildingImportError(f"line 1: missing column(s) {', '.join(missing)}")
    specs = []
    for record in reader:
        line = reader.line_num
        cleaned = {(key or "").strip(): (value or "") for key, value in record.items() if isinstance(value, str)}
        if not any(value.strip() for value in cleaned.values()):
            continue
        if None in record:
            raise BuildingImportError(f"line {line}: more columns than the header has")
        specs.append((line, spec_of(cleaned, line)))
    if not specs:
        raise BuildingImportError("the file has no building")
    return specs


async def _check_temperature(session: AsyncSession, datastream_id: int) -> None:
    """The outdoor temperature must be a Datastream whose daily rollups are kept (of a public or restricted
    Thing): the degree-days are read from them."""
    if not await sensing.summed_streams(session, [datastream_id]):
        raise BuildingError(
            N_("No public or restricted Datastream %(id)s for the outdoor temperature."),
            Kind.INVALID,
            "temperature_datastream_id",
            id=datastream_id,
        )


async def create_checked(session: AsyncSession, ctx: sensing.Context, spec: BuildingSpec, kit: MeterKit) -> Building:
    """A staff member's building (its temperature Datastream must exist), through sensing's service."""
    if spec.temperature_datastream_id is not None:
        await _check_temperature(session, spec.temperature_datastream_id)
    return await create_building(session, ctx, spec, kit)


async def import_buildings(
    session: AsyncSession, ctx: sensing.Context, specs: Sequence[tuple[int, BuildingSpec]]
) -> list[Building]:
    """Creates the buildings of a parsed file in the caller's transaction; a refusal naming the line of the first
    that cannot be created (then nothing is: the caller rolls back)."""
    kit = MeterKit()
    created = []
    for line, spec in specs:
        try:
            created.append(await create_checked(session, ctx, spec, kit))
        except Refusal as exc:
            raise BuildingImportError(f"line {line}: {exc}") from None
    return created


def _form_number(form: dict[str, str], name: str, empty: int | None = None) -> int:
    text = form.get(name, "").strip()
    if not text and empty is not None:
        return empty
    try:
        return int(text)
    except ValueError:
        raise BuildingError(N_("%(name)s must be a whole number."), Kind.INVALID, name, name=name) from None


def _form_degrees(form: dict[str, str], name: str, limit: float) -> float:
    try:
        value = float(form.get(name, "").strip().replace(",", "."))
    except ValueError:
        value = math.inf
    if not math.isfinite(value) or abs(value) > limit:
        raise BuildingError(N_("%(name)s must be WGS84 degrees."), Kind.INVALID, name, name=name)
    return value


def spec_from_form(form: dict[str, str], meters: Sequence[str]) -> BuildingSpec:
    """A building from the staff page's form, checked; a 400 naming the field otherwise."""
    try:
        use = BuildingUse(form.get("use", ""))
    except ValueError:
        raise BuildingError(N_("Choose the building's use."), Kind.INVALID, "use") from None
    spec = BuildingSpec(
        name=form.get("name", "").strip()[:200],
        use=use,
        floor_area_m2=_form_number(form, "floor_area_m2"),
        year_built=_form_number(form, "year_built"),
        lon=_form_degrees(form, "lon", 180),
        lat=_form_degrees(form, "lat", 90),
        dwellings=_form_number(form, "dwellings", empty=0),
        energy_class=form.get("energy_class", "").strip().upper() or None,
        address=form.get("address", "").strip()[:300],
        meters=tuple(meters),
        temperature_datastream_id=_form_number(form, "temperature_datastream_id")
        if form.get("temperature_datastream_id", "").strip()
        else None,
    )
    check_spec(spec)
    return spec


async def create_by_staff(
    session: AsyncSession, ctx: sensing.Context, person: Person, form: dict[str, str], meters: Sequence[str]
) -> Building:
    """A building created from `/staff/buildings` by the buildings department's staff or an administrator (403
    for others), checked field by field."""
    if not await may_decide(session, person):
        raise BuildingError(N_("Only the buildings department's staff create buildings."), Kind.FORBIDDEN, "building")
    return await create_checked(session, ctx, spec_from_form(form, meters), MeterKit())
