"""Report administration pages: the categories citizens report in (Open311 services), their questions
(Open311 attributes), and the routing rules that send each report to a department."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.i18n import N_, localized
from citoyen.people import service as people
from citoyen.reports import service as reports
from citoyen.reports.models import AttributeType, Category
from citoyen.territory import service as territory
from citoyen.web.forms import found, see_other
from citoyen.web.params import PathId
from citoyen.web.security import AdminPerson, Form
from citoyen.web.templating import flash, gettext_for, locale_of, render

router = APIRouter(include_in_schema=False)

CATEGORIES_URL = "/admin/reports/categories"
MAX_QUESTION_ROWS = 100
LIST_TYPES = (AttributeType.SINGLE, AttributeType.MULTI)
DATATYPE_LABELS = {
    AttributeType.STRING.value: N_("short text"),
    AttributeType.TEXT.value: N_("long text"),
    AttributeType.NUMBER.value: N_("number"),
    AttributeType.DATETIME.value: N_("date and time"),
    AttributeType.SINGLE.value: N_("one choice from a list"),
    AttributeType.MULTI.value: N_("several choices from a list"),
}
# Column sizes (see reports.models), checked here so that PostgreSQL never refuses a long text.
MAX_LENGTHS = {
    "name": (200, N_("Name (French)")),
    "name_en": (200, N_("Name (English)")),
    "group": (100, N_("Group")),
    "keywords": (300, N_("Keywords")),
}
MAX_QUESTION_TEXT = 500
MAX_DATATYPE_DESCRIPTION = 300


@dataclass
class QuestionRow:
    """A question as the form shows it and sends it back (as typed, so errors keep it)."""

    code: str = ""
    datatype: str = AttributeType.STRING.value
    required: bool = False
    order: str = ""
    description: str = ""
    description_en: str = ""
    datatype_description: str = ""
    values: str = ""
    remove: bool = False

    def is_blank(self) -> bool:
        return not any(
            text.strip()
            for text in (self.code, self.description, self.description_en, self.datatype_description, self.values)
        )


@dataclass
class CategoryForm:
    code: str = ""
    name: str = ""
    name_en: str = ""
    description: str = ""
    description_en: str = ""
    group: str = ""
    keywords: str = ""
    active: bool = True
    questions: list[QuestionRow] = field(default_factory=list)


def format_values(values: list[dict[str, str]]) -> str:
    """List values as the form shows them: one per line, `key = Nom français | English name`."""
    lines = []
    for value in values:
        line = f"{value.get('key', '')} = {value.get('name', '')}"
        if value.get("name_en"):
            line += f" | {value['name_en']}"
        lines.append(line)
    return "\n".join(lines)


def parse_values(code: str, text: str) -> list[dict[str, str]]:
    """The values typed for a list question; the French name defaults to the key, the English one is optional."""
    values: list[dict[str, str]] = []
    keys: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        key, _equals, names = line.partition("=")
        key = key.strip()
        name, _bar, name_en = names.partition("|")
        if not key or "|" in key:
            raise reports.ReportError(
                N_("Each value of %(code)s needs a key before '=': %(line)s"), field="attributes", code=code, line=line
            )
        if key in keys:
            raise reports.ReportError(
                N_("Two values of %(code)s have the same key: %(key)s."), field="attributes", code=code, key=key
            )
        keys.add(key)
        value = {"key": key, "name": name.strip() or key}
        if name_en.strip():
            value["name_en"] = name_en.strip()
        values.append(value)
    return values


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def read_form(form: Any, extra_rows: int = 0) -> CategoryForm:
    """What was typed, row by row (plus `extra_rows` blank question rows when asked for more)."""
    try:
        row_count = min(max(int(_text(form, "rows") or 0), 0), MAX_QUESTION_ROWS)
    except ValueError:
        row_count = 0
    questions = [
        QuestionRow(
            code=_text(form, f"q{i}_code"),
            datatype=_text(form, f"q{i}_datatype") or AttributeType.STRING.value,
            required=form.get(f"q{i}_required") == "on",
            order=_text(form, f"q{i}_order"),
            description=_text(form, f"q{i}_description"),
            description_en=_text(form, f"q{i}_description_en"),
            datatype_description=_text(form, f"q{i}_datatype_description"),
            values=str(form.get(f"q{i}_values") or "").strip(),
            remove=form.get(f"q{i}_remove") == "on",
        )
        for i in range(row_count)
    ]
    questions += [QuestionRow() for _ in range(extra_rows)]
    return CategoryForm(
        code=_text(form, "code"),
        name=_text(form, "name"),
        name_en=_text(form, "name_en"),
        description=str(form.get("description") or "").strip(),
        description_en=str(form.get("description_en") or "").strip(),
        group=_text(form, "group"),
        keywords=_text(form, "keywords"),
        active=form.get("active") == "on",
        questions=questions,
    )


def to_input(typed: CategoryForm) -> reports.CategoryInput:
    """The service's input for what was typed; refuses what the service does not check itself."""
    for name, (limit, label) in MAX_LENGTHS.items():
        if len(getattr(typed, name)) > limit:
            raise reports.ReportError(N_("%(label)s: at most %(max)d characters."), field=name, label=label, max=limit)
    kept: list[tuple[int, int, QuestionRow]] = []
    for position, row in enumerate(typed.questions):
        if row.remove or row.is_blank():
            continue
        try:
            order = int(row.order) if row.order else position + 1
        except ValueError:
            raise reports.ReportError(
                N_("The order of question %(code)s must be a whole number."), field="attributes", code=row.code
            ) from None
        kept.append((order, position, row))
    attributes = []
    for _order, _position, row in sorted(kept, key=lambda item: (item[0], item[1])):
        if row.datatype not in DATATYPE_LABELS:
            raise reports.ReportError(
                N_("Unknown question type: %(datatype)s."), field="attributes", datatype=row.datatype
            )
        datatype = AttributeType(row.datatype)
        if not row.description:
            raise reports.ReportError(
                N_("Question %(code)s needs its question text in French."), field="attributes", code=row.code
            )
        if max(len(row.description), len(row.description_en)) > MAX_QUESTION_TEXT:
            raise reports.ReportError(
                N_("%(label)s: at most %(max)d characters."),
                field="attributes",
                label=N_("Question"),
                max=MAX_QUESTION_TEXT,
            )
        if len(row.datatype_description) > MAX_DATATYPE_DESCRIPTION:
            raise reports.ReportError(
                N_("%(label)s: at most %(max)d characters."),
                field="attributes",
                label=N_("Help for the answer"),
                max=MAX_DATATYPE_DESCRIPTION,
            )
        attributes.append(
            reports.AttributeInput(
                code=row.code,
                datatype=datatype,
                description=row.description,
                description_en=row.description_en,
                required=row.required,
                datatype_description=row.datatype_description,
                values=parse_values(row.code, row.values) if datatype in LIST_TYPES else [],
            )
        )
    return reports.CategoryInput(
        code=typed.code,
        name=typed.name,
        name_en=typed.name_en,
        description=typed.description,
        description_en=typed.description_en,
        group=typed.group,
        keywords=typed.keywords,
        attributes=attributes,
    )


def form_of(category: Category, attributes: list[Any]) -> CategoryForm:
    return CategoryForm(
        code=category.code,
        name=category.name,
        name_en=category.name_en,
        description=category.description,
        description_en=category.description_en,
        group=category.group,
        keywords=category.keywords,
        active=category.active,
        questions=[
            QuestionRow(
                code=a.code,
                datatype=a.datatype.value,
                required=a.required,
                order=str(position),
                description=a.description,
                description_en=a.description_en,
                datatype_description=a.datatype_description,
                values=format_values(a.values) if a.datatype in LIST_TYPES else "",
            )
            for position, a in enumerate(attributes, start=1)
        ],
    )


def error_text(request: Request, error: reports.ReportError) -> str:
    """The error in the page's language (a `label` value is itself a message to translate)."""
    _ = gettext_for(request)
    values = {key: _(value) if key == "label" else value for key, value in error.values.items()}
    return _(error.message, **values)


async def _category_or_404(session: DbSession, category_id: int) -> Category:
    return found((await reports.categories_by_id(session)).get(category_id), "Unknown category.")


# --- the list of categories and the routing rules ---------------------------------------------


async def _render_categories(
    request: Request,
    session: DbSession,
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    categories = await reports.list_categories(session, include_inactive=True)
    questions = await reports.attributes_of(session, [category.id for category in categories])
    departments = await people.list_departments(session)
    neighbourhoods = await territory.list_neighbourhoods(session)
    rules = await reports.list_routing_rules(session)
    rules_by_category: dict[int, list[Any]] = {category.id: [] for category in categories}
    for rule in sorted(rules, key=lambda rule: (rule.neighbourhood_id is not None, rule.id)):
        rules_by_category.setdefault(rule.category_id, []).append(rule)
    context = {
        "categories": categories,
        "question_counts": {category_id: len(items) for category_id, items in questions.items()},
        "rules_by_category": rules_by_category,
        "departments": departments,
        "department_names": {
            department.id: localized(locale_of(request), department.name, department.name_en)
            for department in departments
        },
        "neighbourhoods": sorted(neighbourhoods, key=lambda n: n.name),
        "neighbourhood_names": {n.id: n.name for n in neighbourhoods},
        "values": values or {},
        "errors": errors or [],
    }
    return render(request, "reports/admin_categories.html", context, status_code)


@router.get(CATEGORIES_URL)
async def admin_categories(request: Request, session: DbSession, admin: AdminPerson) -> Response:
    return await _render_categories(request, session)


def _catalog_edited(request: Request) -> None:
    """This process's cached catalog is reloaded on next use rather than after its revalidation delay."""
    request.app.state.report_catalog.forget()


@router.post("/admin/reports/routing")
async def admin_add_routing_rule(request: Request, session: DbSession, admin: AdminPerson, form: Form) -> Response:
    values = {name: _text(form, name) for name in ("category_id", "neighbourhood_id", "department_id")}
    categories = await reports.categories_by_id(session)
    department_ids = {department.id for department in await people.list_departments(session)}
    neighbourhood_ids = {n.id for n in await territory.list_neighbourhoods(session)}
    try:
        category_id = int(values["category_id"])
        department_id = int(values["department_id"])
        neighbourhood_id = int(values["neighbourhood_id"]) if values["neighbourhood_id"] else None
    except ValueError:
        category_id = department_id = 0
        neighbourhood_id = None
    if (
        category_id not in categories
        or department_id not in department_ids
        or (neighbourhood_id is not None and neighbourhood_id not in neighbourhood_ids)
    ):
        _ = gettext_for(request)
        errors = [_("Choose a category, a department and, if the rule is for one neighbourhood only, that one.")]
        return await _render_categories(request, session, values, errors, 400)
    await reports.set_routing_rule(session, category_id, department_id, neighbourhood_id)
    _catalog_edited(request)
    flash(request, N_("The routing rule has been saved."), "success")
    return see_other(f"{CATEGORIES_URL}#routing")


@router.post("/admin/reports/routing/{rule_id}/delete")
async def admin_delete_routing_rule(
    request: Request, session: DbSession, admin: AdminPerson, rule_id: PathId, form: Form
) -> Response:
    await reports.delete_routing_rule(session, rule_id)
    _catalog_edited(request)
    flash(request, N_("The routing rule has been deleted."), "success")
    return see_other(f"{CATEGORIES_URL}#routing")


# --- one category and its questions -----------------------------------------------------------


def _render_category(
    request: Request,
    typed: CategoryForm,
    category: Category | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "category": category,
        "typed": typed,
        "datatypes": DATATYPE_LABELS,
        "list_types": [datatype.value for datatype in LIST_TYPES],
        "action": f"{CATEGORIES_URL}/{category.id}" if category else CATEGORIES_URL,
        "errors": errors or [],
    }
    return render(request, "reports/admin_category.html", context, status_code)


@router.get(f"{CATEGORIES_URL}/new")
async def admin_new_category(request: Request, admin: AdminPerson) -> Response:
    return _render_category(request, CategoryForm(questions=[QuestionRow(order="1")]))


@router.get(CATEGORIES_URL + "/{category_id}")
async def admin_category(request: Request, session: DbSession, admin: AdminPerson, category_id: PathId) -> Response:
    category = await _category_or_404(session, category_id)
    attributes = (await reports.attributes_of(session, [category.id]))[category.id]
    typed = form_of(category, attributes)
    typed.questions.append(QuestionRow(order=str(len(typed.questions) + 1)))
    return _render_category(request, typed, category)


async def _save(request: Request, session: DbSession, form: Any, category: Category | None) -> Response:
    if form.get("action") == "add_question":
        # Another blank row for a new question; nothing is saved yet.
        return _render_category(request, read_form(form, extra_rows=1), category)
    typed = read_form(form)
    try:
        saved = await reports.save_category(session, to_input(typed), category)
    except reports.ReportError as error:
        return _render_category(request, typed, category, [error_text(request, error)], 400)
    await reports.set_category_active(session, saved, typed.active)
    _catalog_edited(request)
    flash(request, N_("The category has been saved."), "success")
    return see_other(CATEGORIES_URL)


@router.post(CATEGORIES_URL)
async def admin_create_category(request: Request, session: DbSession, admin: AdminPerson, form: Form) -> Response:
    return await _save(request, session, form, None)


@router.post(CATEGORIES_URL + "/{category_id}")
async def admin_update_category(
    request: Request, session: DbSession, admin: AdminPerson, category_id: PathId, form: Form
) -> Response:
    return await _save(request, session, form, await _category_or_404(session, category_id))
