"""The feed's pages in French and English: posting from a quartier's page, /feed, the Atom feed and the .ics files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.indicators import service as indicators
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.feed.helpers import JUDGED_AT, post, quartiers, resident, unusual_week_of_reports

EN = {"Accept-Language": "en"}
FR = {"Accept-Language": "fr"}
ATOM = "{http://www.w3.org/2005/Atom}"


async def test_a_resident_follows_a_quartier_posts_there_and_reads_it_in_their_feed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ids = await quartiers(session)
    ouest = ids["Ouest"]
    person = await create_person(session, display_name="Camille du 11e")
    await session.commit()
    await log_in(client, person.email)
    path = f"/quartiers/{ouest}"
    token = await csrf_token(client, path)
    refused = await client.post(f"{path}/posts", data={"csrf_token": token, "kind": "question", "title": "Bonjour"})
    assert refused.status_code == 403 and "suivez-le d’abord" in refused.text
    followed = await client.post(
        "/follows",
        data={"csrf_token": token, "kind": "neighbourhood", "target_id": str(ouest), "action": "follow", "next": path},
    )
    assert followed.status_code == 303
    event = {"csrf_token": token, "kind": "event", "title": "Pique-nique", "place": "Square", "starts_at": ""}
    missing = await client.post(f"{path}/posts", data=event, headers=EN)
    assert missing.status_code == 400 and "An event needs its date and time." in missing.text
    starts = (utcnow() + timedelta(days=3)).strftime("%Y-%m-%dT18:00")
    created = await client.post(f"{path}/posts", data={**event, "starts_at": starts})
    assert created.status_code == 303 and created.headers["location"].startswith("/quartiers/posts/")
    page = await client.get(created.headers["location"], headers=FR)
    assert "Pique-nique" in page.text and "Camille du 11e" in page.text and "Ajouter à mon agenda" in page.text
    # Typed and shown in the city's time (Europe/Paris), stored and given to calendars in UTC.
    assert "18:00 (heure locale)" in page.text
    local = datetime.fromisoformat(starts).replace(tzinfo=ZoneInfo("Europe/Paris"))
    ics = await client.get(f"{created.headers['location']}.ics")
    assert f"DTSTART:{local.astimezone(UTC):%Y%m%dT%H%M%SZ}" in ics.text
    mine = await client.get("/feed", headers=EN)
    assert mine.status_code == 200 and "Pique-nique" in mine.text and "From the quartiers you follow" in mine.text
    french = await client.get(path, headers=FR)
    assert "Ce qui se passe ici" in french.text and "Pique-nique" in french.text
    assert (await client.get(path, params={"before": "nope"})).status_code == 400
    assert (await client.get("/quartiers/999999")).status_code == 404


async def test_the_atom_feed_is_valid_atom_and_needs_no_account(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ouest = (await quartiers(session))["Ouest"]
    author = await resident(session, ouest)
    await post(
        session, author, ouest, "Chat perdu rue des Lilas & alentours", kind="lost_found", body="Roux, <b>doux</b>"
    )
    await session.commit()
    answer = await client.get(f"/quartiers/{ouest}.atom", headers=EN)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(answer.content)  # noqa: S314 (our own answer, not untrusted input)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id", "").endswith(f"/quartiers/{ouest}.atom")
    assert feed.findtext(f"{ATOM}updated", "").endswith("Z")
    assert feed.find(f"{ATOM}link[@rel='self']") is not None and feed.find(f"{ATOM}author/{ATOM}name") is not None
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Chat perdu rue des Lilas & alentours"
    assert entry.findtext(f"{ATOM}summary") == "Roux, <b>doux</b>"  # text, escaped in the XML
    for required in ("id", "updated", "link"):
        assert entry.find(f"{ATOM}{required}") is not None


async def test_an_indicator_change_is_in_the_atom_feed_labelled_simulated_in_the_demo(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ids = await quartiers(session)
    await unusual_week_of_reports(session, ids["Est"], ids["Ouest"])
    assert await indicators.detect_changes(session, JUDGED_AT, simulated=True) == 1
    await session.commit()
    answer = await client.get(f"/quartiers/{ids['Est']}.atom", headers=EN)
    [entry] = ElementTree.fromstring(answer.content).findall(f"{ATOM}entry")  # noqa: S314 (our own answer)
    assert entry.findtext(f"{ATOM}title") == "Reports filed: +100% in the week of 30 November 2026 (simulated)"
    assert entry.find(f"{ATOM}category[@term='indicator_change']") is not None
    link = entry.find(f"{ATOM}link")
    assert link is not None and link.get("href", "").endswith(
        f"/indicators/quartiers/{ids['Est']}#indicator-reports-filed"
    )
    page = await client.get(f"/quartiers/{ids['Est']}")
    assert "Signalements déposés\u00a0: +100\u00a0% la semaine du 30 novembre 2026" in page.text
    assert "Indicateur" in page.text and "simulé" in page.text


def _unfolded(calendar: str) -> list[str]:
    assert calendar.endswith("\r\n") and "\n" not in calendar.replace("\r\n", "")
    lines = calendar.split("\r\n")[:-1]
    assert all(len(line.encode()) <= 75 for line in lines)
    unfolded: list[str] = []
    for line in lines:
        if line.startswith(" "):
            unfolded[-1] += line[1:]
        else:
            unfolded.append(line)
    return unfolded


async def test_an_event_downloads_as_ics_and_is_on_the_quartiers_calendar(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    ouest = (await quartiers(session))["Ouest"]
    author = await resident(session, ouest)
    start = (utcnow() + timedelta(days=2)).replace(hour=18, minute=30, second=0, microsecond=0)
    long_place = (
        "Maison des associations, 8 rue du Général-Renault, salle polyvalente du rez-de-chaussée; entrée côté cour"
    )
    event = await post(session, author, ouest, "Atelier vélo", kind="event", starts_at=start, place=long_place)
    notice = await post(session, author, ouest, "Piscine fermée")
    await session.commit()
    answer = await client.get(f"/quartiers/posts/{event.id}.ics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    lines = _unfolded(answer.text)
    assert lines[0] == "BEGIN:VCALENDAR" and lines[-1] == "END:VCALENDAR" and "VERSION:2.0" in lines
    assert f"DTSTART:{start:%Y%m%dT%H%M%S}Z" in lines and f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%S}Z" in lines
    assert "LOCATION:" + long_place.replace(",", "\\,").replace(";", "\\;") in lines
    assert any(line.startswith("UID:feed-post-") for line in lines) and lines.count("BEGIN:VEVENT") == 1
    assert (await client.get(f"/quartiers/posts/{notice.id}.ics")).status_code == 404
    calendar = _unfolded((await client.get(f"/quartiers/{ouest}/agenda.ics")).text)
    assert "SUMMARY:Atelier vélo" in calendar
    agenda = await client.get(f"/quartiers/{ouest}/agenda", headers=EN)
    assert "Coming events in Ouest" in agenda.text and "Atelier vélo" in agenda.text
