"""`citoyen projects import FILE`: many projects at once from a CSV file (the place as WKT or GeoJSON in a
`geometry` column) or a GeoJSON FeatureCollection. Every line is checked before anything is written: one bad line
(an invalid or self-intersecting geometry, a place outside the city, an unknown theme…) refuses the whole file,
naming the line."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.errors import Refusal
from citoyen.i18n import N_
from citoyen.people import service as people
from citoyen.projects.errors import ProjectError
from citoyen.projects.rules import Checked, PhaseInput, ProjectInput, check_input, store_checked
from citoyen.territory import service as territory

CSV_COLUMNS = ("title", "theme", "phase", "geometry")
MAX_IMPORT_BYTES = 200 * 1024 * 1024


class ProjectImportError(Refusal):
    """A refused import: `where` names the line (CSV) or the feature (GeoJSON); `str()` says what is wrong."""

    def __init__(self, where: str, error: Refusal | str) -> None:
        message = str(error)
        super().__init__(N_("%(where)s: %(problem)s"), where=where, problem=message)
        self.where = where


def parse_phases(text: str) -> list[PhaseInput]:
    """`study:2025-01-06/2025-06-30; works:2026-03-02/` — kind, start and (optional) end, separated by `;`."""
    phases = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        kind, _, span = part.partition(":")
        start, _, end = span.partition("/")
        try:
            phases.append(
                PhaseInput(
                    kind.strip(), date.fromisoformat(start.strip()), date.fromisoformat(end) if end.strip() else None
                )
            )
        except ValueError as error:
            raise ProjectError(
                N_("Phases are written kind:YYYY-MM-DD/YYYY-MM-DD separated by semicolons."), field="phases"
            ) from error
    return phases


def _budget_cents(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int((Decimal(str(value).replace(" ", "").replace(",", ".")) * 100).to_integral_value())
    except (InvalidOperation, ValueError) as error:
        raise ProjectError(N_("The budget is a positive amount in euros."), field="budget") from error


def _ids(value: Any) -> list[int]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else str(value).replace(";", " ").replace(",", " ").split()
    try:
        return [int(item) for item in items]
    except (TypeError, ValueError) as error:
        raise ProjectError(N_("Proposal ids are whole numbers."), field="proposal_ids") from error


def _input(fields: dict[str, Any], geometry: str | dict[str, Any], departments: dict[str, int]) -> ProjectInput:
    def text(name: str) -> str:
        value = fields.get(name)
        return "" if value is None else str(value)

    department = text("department").strip()
    if department and department not in departments:
        raise ProjectError(N_("Unknown department."), field="department")
    process = text("process_id").strip()
    try:
        process_id = int(process) if process else None
    except ValueError as error:
        raise ProjectError(N_("The process id is a whole number."), field="process_id") from error
    return ProjectInput(
        title=text("title"),
        title_en=text("title_en"),
        description=text("description"),
        description_en=text("description_en"),
        theme=text("theme").strip(),
        phase=text("phase").strip(),
        geometry=geometry,
        phases=parse_phases(text("phases")),
        budget_cents=_budget_cents(fields.get("budget_eur")),
        department_id=departments.get(department) if department else None,
        process_id=process_id,
        proposal_ids=_ids(fields.get("proposal_ids")),
    )


def _rows(content: bytes, filename: str) -> list[tuple[str, dict[str, Any], str | dict[str, Any]]]:
    """(where, fields, geometry) for each project of the file."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProjectImportError("file", N_("The file is not UTF-8 text.")) from error
    if filename.lower().endswith((".geojson", ".json")) or text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as error:
            raise ProjectImportError("file", f"not JSON ({error})") from error
        if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
            raise ProjectImportError("file", "a GeoJSON file must be a FeatureCollection")
        rows = []
        for number, feature in enumerate(document.get("features") or [], start=1):
            if not isinstance(feature, dict):
                raise ProjectImportError(f"feature {number}", "not a GeoJSON Feature")
            properties = feature.get("properties") or {}
            rows.append((f"feature {number}", properties, feature.get("geometry") or {}))
        return rows
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or [])]
    if missing:
        raise ProjectImportError("line 1", f"missing columns: {', '.join(missing)}")
    return [(f"line {reader.line_num}", row, row.get("geometry") or "") for row in reader]


async def import_projects(
    session: AsyncSession, cache: territory.TerritoryIndexCache, content: bytes, filename: str
) -> int:
    """Checks every project of the file, then stores them all (the caller commits, once); returns how many.
    ProjectImportError names the first bad line and nothing is written."""
    if len(content) > MAX_IMPORT_BYTES:
        raise ProjectImportError("file", "larger than 200 MB")
    departments = {department.code: department.id for department in await people.list_departments(session)}
    checked: list[Checked] = []
    for where, fields, geometry in _rows(content, filename):
        try:
            checked.append(await check_input(session, cache, _input(fields, geometry, departments)))
        except Refusal as error:
            raise ProjectImportError(where, error) from error
    for item in checked:
        await store_checked(session, item)
    return len(checked)
