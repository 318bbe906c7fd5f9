"""Pages read as a careful writer of their language writes: in French, decimal commas, no-break spaces inside
numbers and before ":" ";" "?" "!", dates in words; every name the platform seeds in the page's language (no
"Carbon monoxide" on a French page, no "Voirie et déplacements" on an English one)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.i18n import format_day, format_moment, format_money, format_number, format_ratio, squeeze_spaces
from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.reports.models import EventKind, ReportEvent, ReportStatus
from citoyen.sensing.models import Datastream, ObservedProperty, Thing
from citoyen.web.templating import make_templates
from tests.factories import create_person, log_in
from tests.participation.budget_helpers import create_budget
from tests.participation.helpers import create_process, submit
from tests.reports.helpers import create_reports_world, file_report
from tests.sensing.live_helpers import add_readings, create_sensor

FR = {"Accept-Language": "fr"}
EN = {"Accept-Language": "en"}
# Seeded names in both languages, as the demo and the territory seeders give them.
FRENCH_NAMES = ("Monoxyde de carbone (CO)", "Station air · Belleville", "Voirie et déplacements")
ENGLISH_NAMES = ("Carbon monoxide (CO)", "Air station · Belleville", "Roads and travel")
FRENCH_MONTH = re.compile(r"\b\d{1,2} (janv|févr|mars|avr|mai|juin|juil|août|sept|oct|nov|déc)\.? \d{4}\b")
SPACES = "\u00a0\u202f"


def visible_text(page: str) -> str:
    """What a reader sees: the page without its scripts, styles and tags, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def typography_slips(text: str) -> list[str]:
    """French typography the page gets wrong: a plain space, or none, before : ; ? ! (a URL's "://" and a time's
    "14:05" are not punctuation); a number grouped with a plain space or a comma; an ISO date shown as such."""
    slips = re.findall(rf".{{0,30}}(?: |[^\s{SPACES}])[:;?!](?=\s|$).{{0,10}}", text)
    slips += re.findall(r".{0,20}\b\d{1,3}(?:[ ,]\d{3})+\b(?![,.]\d).{0,10}", text)
    slips += re.findall(r".{0,20}\b\d{4}-\d\d-\d\d\b.{0,10}", text)
    return slips


def test_numbers_money_and_dates_are_written_in_the_readers_language() -> None:
    assert format_number(3.8, "fr", 1) == "3,8" and format_number(3.8, "en", 1) == "3.8"
    assert format_number(3_255_000, "fr") == "3\u202f255\u202f000" and format_number(3_255_000, "en") == "3,255,000"
    assert format_money(3_255_000_00, "fr") == "3\u202f255\u202f000\u00a0€"
    assert format_money(3_255_000_00, "en") == "€3,255,000"
    assert format_money(12_50, "fr") == "12,50\u00a0€"
    assert format_ratio(0.125, "fr") == "12\u00a0%" and format_ratio(0.125, "en") == "12%"
    moment = utcnow().replace(year=2026, month=12, day=7, hour=14, minute=5)
    assert format_day(moment, "fr") == "7 déc. 2026" and format_day(moment, "en") == "Dec 7, 2026"
    assert format_moment(moment, "fr") == "7 déc. 2026, 14:05"


async def test_key_pages_read_in_french_and_in_english(
    client: httpx.AsyncClient, session: AsyncSession, app: FastAPI
) -> None:
    world = await create_reports_world(session)
    roads = await people.create_department(session, "roads", FRENCH_NAMES[2], name_en=ENGLISH_NAMES[2])
    report = await file_report(session, world, description="Le trou s’agrandit de jour en jour.")
    report.department_id = roads.id
    # The history keeps an expected date as ISO text: pages write it as a date.
    session.add(
        ReportEvent(report_id=report.id, kind=EventKind.EXPECTED, status=ReportStatus.OPEN, text="2026-12-19T00:00:00")
    )
    process = await create_process(session)
    author = await create_person(session)
    proposal = await submit(session, process, author)
    sensor = await create_sensor(session, name=FRENCH_NAMES[1])
    thing = await session.get(Thing, sensor.thing_id)
    assert thing is not None
    thing.name_en = ENGLISH_NAMES[1]
    observed = (
        await session.execute(
            select(ObservedProperty)
            .join(Datastream, Datastream.observed_property_id == ObservedProperty.id)
            .where(Datastream.id == sensor.datastream_id)
        )
    ).scalar_one()
    observed.name, observed.name_en = FRENCH_NAMES[0], ENGLISH_NAMES[0]
    # A unit that is a word (the bicycle counters') reads in the page's language.
    datastream = await session.get(Datastream, sensor.datastream_id)
    assert datastream is not None
    datastream.unit_of_measurement = {"name": "vélos par heure", "symbol": "vélos/h", "definition": "count"}
    datastream.unit_symbol_en = "bicycles/h"
    await add_readings(session, sensor, [(utcnow() - timedelta(minutes=5), 1234.5)])
    budget, _ = await create_budget(session, costs=[1_500_000_00], total_cents=3_255_000_00, open_now=False)
    owner = await create_person(session)
    admin = await create_person(session, role=Role.ADMIN)
    await people.log_access(session, admin, owner.id, "report_contact_viewed", f"report #{report.id}")
    await people.log_access(session, admin, owner.id, "sensing_read", FRENCH_NAMES[1])
    await session.commit()
    await app.state.budget_results.warm(session, budget)
    await app.state.budget_results.wait(budget.id)

    pages = [
        "/",
        f"/participation/proposals/{proposal.id}",
        f"/reports/{report.id}",
        f"/sensing/things/{sensor.thing_id}",
        f"/participation/budgets/{budget.id}/results",
        "/data",
    ]
    french: dict[str, str] = {}
    english: dict[str, str] = {}
    for path in pages:  # in English, the pages that show seeded names
        for headers, texts in ((FR, french), (EN, english)) if path in pages[3:5] else ((FR, french),):
            response = await client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.status_code)
            texts[path] = visible_text(response.text)
    await log_in(client, owner.email)
    french["/account"] = visible_text((await client.get("/account", headers=FR)).text)
    english["/account"] = visible_text((await client.get("/account", headers=EN)).text)

    slips = {path: typography_slips(text) for path, text in french.items() if typography_slips(text)}
    assert not slips, "\n".join(f"{path}: {slip!r}" for path, found in slips.items() for slip in found)
    assert not {path for path, text in french.items() if any(name in text for name in ENGLISH_NAMES)}
    # The sensor's French name is its name as stored (not translated): English pages may show it elsewhere.
    french_seeded = (FRENCH_NAMES[0], FRENCH_NAMES[2])
    assert not {path for path, text in english.items() if any(name in text for name in french_seeded)}
    sensor_fr, sensor_en = french[pages[3]], english[pages[3]]
    assert "Station air · Belleville" in sensor_fr and "Monoxyde de carbone (CO)" in sensor_fr
    assert "1\u202f234,50" in sensor_fr and "1,234.50" in sensor_en
    assert "Air station · Belleville" in sensor_en and "Carbon monoxide (CO)" in sensor_en
    assert re.search(r"1\u202f234,50\s+vélos/h", sensor_fr) and "bicycles/h" not in sensor_fr
    assert re.search(r"1,234.50\s+bicycles/h", sensor_en) and "vélos/h" not in sensor_en
    assert "3\u202f255\u202f000\u00a0€" in french[pages[4]] and "€3,255,000" in english[pages[4]]
    assert FRENCH_MONTH.search(french[pages[2]]) and FRENCH_MONTH.search(french[pages[1]])
    assert "Prévu pour le 19 déc. 2026." in french[pages[2]]
    # The access log names what staff did in the reader's words, never a raw label such as "sensing_read".
    assert "a consulté les mesures de votre capteur personnel" in french["/account"]
    assert f"signalement n°\u00a0{report.id}" in french["/account"]
    assert "sensing_read" not in french["/account"] and "sensing_read" not in english["/account"]

    await log_in(client, admin.email)
    staff_en = visible_text((await client.get(f"/staff/reports/{report.id}", headers=EN)).text)
    staff_fr = visible_text((await client.get(f"/staff/reports/{report.id}", headers=FR)).text)
    assert "Department: Roads and travel" in staff_en and "Voirie et déplacements" not in staff_en
    assert "Service\u00a0: Voirie et déplacements" in staff_fr


def test_text_put_on_one_line_keeps_french_no_break_spaces() -> None:
    # Feed items, proposal titles and posts are squeezed onto one line: the spaces French puts before : ; ? !
    # stay no-break spaces ("Nouvelle proposition : ..." on a feed used to lose them).
    squeezed = squeeze_spaces(" Nouvelle proposition\u00a0:  Des\tbancs\u202f?\n")
    assert squeezed == "Nouvelle proposition\u00a0: Des bancs\u202f?"


def test_a_name_shown_in_french_on_an_english_page_says_so() -> None:
    template = make_templates().env.from_string(
        '<h1{% if in_french(title, title_en) %} lang="fr"{% endif %}>{{ localized(title, title_en) }}</h1>'
    )
    assert (
        template.render(title="Budget participatif", title_en="", locale="en")
        == '<h1 lang="fr">Budget participatif</h1>'
    )
    assert template.render(title="Budget participatif", title_en="Budget", locale="en") == "<h1>Budget</h1>"
    assert template.render(title="Budget participatif", title_en="", locale="fr") == "<h1>Budget participatif</h1>"
