from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.reports import service as reports
from citoyen.reports.models import AttributeType, Category
from citoyen.territory import service as territory
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.territory.helpers import create_territory

ENGLISH = {"Accept-Language": "en"}
NEW = "/admin/reports/categories/new"


async def sign_in_admin(client: httpx.AsyncClient, session: AsyncSession) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, admin.email)


def pothole_form(token: str, **changes: str) -> dict[str, Any]:
    """A new category with a single-choice and a multiple-choice question, and one blank row."""
    form = {
        "csrf_token": token,
        "code": "pothole",
        "name": "Nid-de-poule",
        "name_en": "Pothole",
        "description": "Un trou dans la chaussée.",
        "description_en": "A hole in the road.",
        "group": "Voirie",
        "keywords": "trou, chaussée",
        "active": "on",
        "rows": "3",
        "q0_code": "size",
        "q0_datatype": "singlevaluelist",
        "q0_required": "on",
        "q0_order": "1",
        "q0_description": "Taille du trou",
        "q0_description_en": "Size of the hole",
        "q0_values": "small = Petit | Small\r\nlarge = Grand | Large\r\n",
        "q1_code": "hazards",
        "q1_datatype": "multivaluelist",
        "q1_order": "2",
        "q1_description": "Dangers",
        "q1_datatype_description": "Cochez tout ce qui s'applique",
        "q1_values": "bikes = Vélos | Bikes\ncars = Voitures",
        "q2_code": "",
        "q2_datatype": "string",
        "q2_order": "3",
        "q2_description": "",
        "q2_values": "",
    }
    return form | changes


async def category_count(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Category))).scalar_one())


async def test_an_admin_creates_a_category_with_list_questions_and_edits_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await sign_in_admin(client, session)
    token = await csrf_token(client, NEW)
    created = await client.post("/admin/reports/categories", data=pothole_form(token))
    assert created.status_code == 303 and created.headers["location"] == "/admin/reports/categories"

    category = await reports.get_category(session, "pothole")
    assert (category.name, category.name_en, category.group, category.active) == (
        "Nid-de-poule",
        "Pothole",
        "Voirie",
        True,
    )
    size, hazards = (await reports.attributes_of(session, [category.id]))[category.id]
    assert (size.code, size.datatype, size.required) == ("size", AttributeType.SINGLE, True)
    assert size.values == [
        {"key": "small", "name": "Petit", "name_en": "Small"},
        {"key": "large", "name": "Grand", "name_en": "Large"},
    ]
    assert (hazards.code, hazards.datatype, hazards.required) == ("hazards", AttributeType.MULTI, False)
    assert hazards.values == [
        {"key": "bikes", "name": "Vélos", "name_en": "Bikes"},
        {"key": "cars", "name": "Voitures"},
    ]
    assert hazards.datatype_description == "Cochez tout ce qui s'applique"

    listing = await client.get("/admin/reports/categories", headers=ENGLISH)
    assert listing.status_code == 200
    assert "Nid-de-poule" in listing.text and "trou, chaussée" in listing.text and "<td>2</td>" in listing.text
    assert 'href="/admin/tokens"' in listing.text and "open311" in listing.text

    edit_page = await client.get(f"/admin/reports/categories/{category.id}")
    assert edit_page.status_code == 200
    assert "small = Petit | Small\nlarge = Grand | Large" in edit_page.text
    token = await csrf_token(client, f"/admin/reports/categories/{category.id}")
    edited = pothole_form(
        token,
        name="Trou dans la chaussée",
        q0_order="2",  # hazards now comes first
        q1_order="1",
        q1_values="bikes = Vélos | Bikes\ncars = Voitures | Cars\nwalkers = Piétons | Pedestrians",
        q2_code="depth",
        q2_datatype="number",
        q2_description="Profondeur (cm)",
    )
    del edited["active"]  # unticked: the category is no longer offered
    saved = await client.post(f"/admin/reports/categories/{category.id}", data=edited)
    assert saved.status_code == 303

    session.expire_all()  # the app saved through its own session: read the rows afresh
    await session.refresh(category)
    assert category.name == "Trou dans la chaussée" and not category.active
    attributes = (await reports.attributes_of(session, [category.id]))[category.id]
    assert [a.code for a in attributes] == ["hazards", "size", "depth"]
    assert [v["key"] for v in attributes[0].values] == ["bikes", "cars", "walkers"]
    assert attributes[2].datatype == AttributeType.NUMBER and attributes[2].values == []

    token = await csrf_token(client, f"/admin/reports/categories/{category.id}")
    removed = await client.post(
        f"/admin/reports/categories/{category.id}", data=edited | {"csrf_token": token, "q2_remove": "on"}
    )
    assert removed.status_code == 303
    session.expire_all()
    await session.refresh(category)
    assert [a.code for a in (await reports.attributes_of(session, [category.id]))[category.id]] == ["hazards", "size"]
    assert await category_count(session) == 1


async def test_asking_for_another_question_row_keeps_what_was_typed_and_saves_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await sign_in_admin(client, session)
    token = await csrf_token(client, NEW)
    page = await client.post("/admin/reports/categories", data=pothole_form(token, action="add_question"))
    assert page.status_code == 200
    assert 'name="rows" value="4"' in page.text and 'name="q3_code"' in page.text
    assert 'value="Nid-de-poule"' in page.text and "small = Petit | Small" in page.text
    assert await category_count(session) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"code": "existing"}, "A category with this code already exists."),
        ({"q1_values": ""}, "A list question needs values to choose from."),
        ({"code": "nid de poule"}, "A code may only contain letters"),
        ({"q1_code": "size"}, "Two questions have the same code: size."),
        ({"q1_values": "= Vélos"}, "Each value of hazards needs a key before"),
        ({"q1_values": "bikes = Vélos\nbikes = Bicyclettes"}, "Two values of hazards have the same key: bikes."),
        ({"q1_datatype": "colour"}, "Unknown question type: colour."),
        ({"q1_description": ""}, "Question hazards needs its question text in French."),
        ({"name": "N" * 201}, "Name (French): at most 200 characters."),
    ],
)
async def test_bad_input_is_refused_with_what_was_typed_and_nothing_is_stored(
    client: httpx.AsyncClient, session: AsyncSession, changes: dict[str, str], message: str
) -> None:
    await reports.save_category(session, reports.CategoryInput(code="existing", name="Déjà là"))
    await sign_in_admin(client, session)
    token = await csrf_token(client, NEW)
    refused = await client.post("/admin/reports/categories", data=pothole_form(token, **changes), headers=ENGLISH)
    assert refused.status_code == 400
    assert message in refused.text
    assert "Taille du trou" in refused.text and "small = Petit | Small" in refused.text  # kept as typed
    assert await category_count(session) == 1


async def test_errors_are_translated_and_an_edit_that_fails_changes_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await reports.save_category(session, reports.CategoryInput(code="existing", name="Déjà là"))
    await sign_in_admin(client, session)
    token = await csrf_token(client, NEW)
    await client.post("/admin/reports/categories", data=pothole_form(token))
    category = await reports.get_category(session, "pothole")

    token = await csrf_token(client, f"/admin/reports/categories/{category.id}")
    refused = await client.post(
        f"/admin/reports/categories/{category.id}",
        data=pothole_form(token, code="existing", name="Autre nom"),
        headers={"Accept-Language": "fr"},
    )
    assert refused.status_code == 400
    assert "Une catégorie avec ce code existe déjà." in refused.text and 'value="Autre nom"' in refused.text
    await session.refresh(category)
    assert (category.code, category.name) == ("pothole", "Nid-de-poule")
    assert len((await reports.attributes_of(session, [category.id]))[category.id]) == 2


async def test_routing_rules_are_added_used_and_deleted(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await create_territory(session)
    roads = await people.create_department(session, "voirie", "Voirie")
    cleaning = await people.create_department(session, "proprete", "Propreté")
    graffiti = await reports.save_category(session, reports.CategoryInput(code="graffiti", name="Graffiti"))
    west, east = await territory.list_neighbourhoods(session)
    await sign_in_admin(client, session)

    page = await client.get("/admin/reports/categories")
    assert f'<option value="{east.id}"' in page.text and "Propreté" in page.text
    token = await csrf_token(client, "/admin/reports/categories")
    whole_city = {"csrf_token": token, "category_id": str(graffiti.id), "neighbourhood_id": "", "department_id": ""}
    added = await client.post("/admin/reports/routing", data=whole_city | {"department_id": str(cleaning.id)})
    assert added.status_code == 303
    only_east = whole_city | {"neighbourhood_id": str(east.id), "department_id": str(roads.id)}
    assert (await client.post("/admin/reports/routing", data=only_east)).status_code == 303

    assert await reports.route(session, graffiti.id, west.id) == cleaning.id
    assert await reports.route(session, graffiti.id, east.id) == roads.id
    listing = await client.get("/admin/reports/categories", headers=ENGLISH)
    assert "the whole city" in listing.text and "Est" in listing.text

    unknown = whole_city | {"department_id": "9999"}
    refused = await client.post("/admin/reports/routing", data=unknown, headers=ENGLISH)
    assert refused.status_code == 400 and "Choose a category, a department" in refused.text
    assert len(await reports.list_routing_rules(session)) == 2

    east_rule = next(rule for rule in await reports.list_routing_rules(session) if rule.neighbourhood_id)
    deleted = await client.post(f"/admin/reports/routing/{east_rule.id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    assert await reports.route(session, graffiti.id, east.id) == cleaning.id


async def test_only_administrators_manage_categories(client: httpx.AsyncClient, session: AsyncSession) -> None:
    anonymous = await client.get("/admin/reports/categories")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    staff = await create_person(session, role=Role.STAFF)
    await session.commit()
    await log_in(client, staff.email)
    assert (await client.get("/admin/reports/categories")).status_code == 403
    assert (await client.get(NEW)).status_code == 403
    token = await csrf_token(client, "/account")
    assert (await client.post("/admin/reports/categories", data=pothole_form(token))).status_code == 403
    routing = {"csrf_token": token, "category_id": "1", "department_id": "1"}
    assert (await client.post("/admin/reports/routing", data=routing)).status_code == 403
    assert await category_count(session) == 0
