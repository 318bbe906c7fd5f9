"""Citizen pages of reports: filing (visitor and signed in), errors, abuse limits, duplicates, supports,
follows, the public page (which never says who reported), photos, the list."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.reports import service as reports
from citoyen.reports.models import Report, ReportContact, ReportFollower
from citoyen.territory import service as territory
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.reports.helpers import EAST, WEST, ReportsWorld, create_reports_world, file_report

GPS_IFD = 0x8825


@pytest.fixture
async def world(session: AsyncSession) -> ReportsWorld:
    world = await create_reports_world(session)
    await session.commit()
    return world


def phone_photo() -> bytes:
    """A small JPEG as a phone writes it: with the camera's name and where it was taken."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def pothole_form(**overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "category": "pothole",
        "lon": str(WEST[0]),
        "lat": str(WEST[1]),
        "address": "",
        "description": "Un trou devant l'école",
        "answer_size": "large",
        "answer_hazards": ["bikes", "cars"],
        "answer_depth_cm": "",
        "email": "",
        "website": "",
    }
    form.update(overrides)
    return form


async def send_report(
    client: httpx.AsyncClient, form: dict[str, Any], photos: list[bytes] | None = None, language: str = "en"
) -> httpx.Response:
    """Post the form as the browser does: multipart, with the session's CSRF token."""
    token = await csrf_token(client, "/reports/new")
    files = [("photos", (f"photo{n}.jpg", data, "image/jpeg")) for n, data in enumerate(photos or [])]
    if not files:
        files = [("photos", ("", b"", "application/octet-stream"))]  # a file input left empty
    headers = {"Accept-Language": language}
    return await client.post("/reports", data={**form, "csrf_token": token}, files=files, headers=headers)


def report_id(response: httpx.Response) -> int:
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/reports/(\d+)", response.headers["location"])
    assert match, response.headers["location"]
    return int(match.group(1))


async def stored(session: AsyncSession, report_id: int) -> Report:
    report = await reports.get_report(session, report_id)
    await session.refresh(report)  # changed by the app's own session since
    return report


async def test_the_form_lists_categories_and_loads_their_questions(
    client: httpx.AsyncClient, world: ReportsWorld
) -> None:
    page = await client.get("/reports/new", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert '<option value="pothole"' in page.text and "Street light out" in page.text
    assert 'hx-get="/reports/new/questions"' in page.text and 'name="website"' in page.text
    assert 'type="file"' in page.text and 'accept="image/*"' in page.text and "multiple" in page.text
    fragment = await client.get(
        "/reports/new/questions", params={"category": "pothole"}, headers={"Accept-Language": "en"}
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert "Size of the hole" in fragment.text and "(required)" in fragment.text
    assert 'type="radio"' in fragment.text and 'name="answer_size" value="large"' in fragment.text
    assert 'type="checkbox"' in fragment.text and 'name="answer_hazards" value="bikes"' in fragment.text
    assert 'name="answer_depth_cm"' in fragment.text and 'inputmode="decimal"' in fragment.text
    empty = await client.get("/reports/new/questions", params={"category": "unknown"})
    assert empty.status_code == 200 and "answer_" not in empty.text


async def test_a_visitor_files_a_report_with_a_photo(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    form = pothole_form(email="Riveraine@Example.org")
    response = await send_report(client, form, [phone_photo()])
    new_id = report_id(response)

    page = await client.get(f"/reports/{new_id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert f"Report #{new_id}" in page.text and "Thank you! Your report has been filed." in page.text
    assert "Pothole" in page.text and "open" in page.text and "Un trou devant l&#39;école" in page.text
    assert "Size of the hole" in page.text and "Large" in page.text and "Vélos, Voitures" in page.text
    assert f'src="/reports/{new_id}/photos/1"' in page.text
    assert "riveraine" not in page.text.lower()
    assert "(in French)" not in page.text and "(in English)" not in page.text
    french = await client.get(f"/reports/{new_id}", headers={"Accept-Language": "fr"})
    assert french.status_code == 200 and '<html lang="fr">' in french.text
    assert f"Signalement n°\u00a0{new_id}" in french.text
    # Written from the English interface: a French page marks the description as English.
    assert '<p class="multiline report-description" lang="en">' in french.text and "(en anglais)" in french.text

    photo = await client.get(f"/reports/{new_id}/photos/1")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert "max-age=31536000" in photo.headers["cache-control"]
    served = Image.open(io.BytesIO(photo.content))
    assert served.format == "JPEG" and len(served.getexif()) == 0
    assert b"PhoneMaker" not in photo.content and b"Exif" not in photo.content
    assert (await client.get(f"/reports/{new_id}/photos/2")).status_code == 404

    report = await stored(session, new_id)
    assert report.attributes == {"size": "large", "hazards": ["bikes", "cars"]}
    assert report.locale == "en"
    contact = (await session.execute(select(ReportContact).where(ReportContact.report_id == new_id))).scalar_one()
    assert contact.email == "riveraine@example.org" and contact.person_id is None
    follower = (await session.execute(select(ReportFollower).where(ReportFollower.report_id == new_id))).scalar_one()
    assert follower.email == "riveraine@example.org"


async def test_a_signed_in_reporter_is_the_contact_and_follows(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    person = await create_person(session, "habitante@example.org", display_name="Habitante du canal")
    await session.commit()
    await log_in(client, person.email)
    form = pothole_form(email="ignored@example.org")
    new_id = report_id(await send_report(client, form))
    report = await stored(session, new_id)
    contact = await reports.contact_of(session, new_id)
    assert contact is not None and contact.person_id == person.id and contact.email == ""
    assert await reports.is_following(session, report, person.id)
    page = await client.get(f"/reports/{new_id}", headers={"Accept-Language": "en"})
    assert "Stop following" in page.text
    assert "Habitante du canal" not in page.text.split("</header>", 1)[1]
    assert "habitante@example.org" not in page.text


async def test_errors_keep_what_was_typed(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    form = pothole_form(answer_size="", description="Profond & dangereux", email="moi@example.org")
    response = await send_report(client, form)
    assert response.status_code == 400
    assert "Please answer: Size of the hole" in response.text  # the question in the page's language
    french = await send_report(client, pothole_form(answer_size=""), language="fr")
    assert "Veuillez répondre\u00a0: Taille du trou" in french.text
    assert "Profond &amp; dangereux" in response.text and 'value="moi@example.org"' in response.text
    assert f'value="{WEST[0]}"' in response.text and f'value="{WEST[1]}"' in response.text
    assert re.search(r'value="bikes"\s+checked', response.text) and re.search(r'value="cars"\s+checked', response.text)
    assert '<option value="pothole" selected' in response.text

    outside = await send_report(client, pothole_form(lon="2.6", lat="48.6"))
    assert outside.status_code == 400 and "This place is outside the city." in outside.text
    french = await send_report(client, pothole_form(lon="nord", lat=""), language="fr")
    assert french.status_code == 400 and 'value="nord"' in french.text
    not_a_photo = await send_report(client, pothole_form(), [b"GIF89a not really"])
    assert not_a_photo.status_code == 400 and "This file is not a photo" in not_a_photo.text
    too_many = await send_report(client, pothole_form(), [phone_photo()] * 4)
    assert too_many.status_code == 400 and "At most 3 photos per report." in too_many.text
    assert await reports.count_reports(session, reports.ReportFilters()) == 0


async def test_an_address_instead_of_a_pin(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    form = pothole_form(lon="", lat="", address="5 rue de l'Est")
    new_id = report_id(await send_report(client, form))
    report = await stored(session, new_id)
    assert report.address == "5 rue de l'Est" and report.neighbourhood_id is not None


async def test_a_typed_address_is_placed_at_the_imported_address(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    ban = "id;numero;rep;nom_voie;code_postal;nom_commune;lon;lat\nt-12;12;;Rue de l'Est;75015;Paris;2.3151;48.8549\n"
    await territory.import_addresses(session, io.BytesIO(ban.encode()), "est.csv")
    await session.commit()
    new_id = report_id(await send_report(client, pothole_form(lon="", lat="", address="12, rue de l'est")))
    report = await stored(session, new_id)
    assert (report.lon, report.lat, report.address_id) == (2.3151, 48.8549, "t-12")


async def test_the_honeypot_refuses_quietly(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    response = await send_report(client, pothole_form(website="http://spam.example"))
    assert response.status_code == 400
    assert "honeypot" not in response.text.lower() and "website" not in response.text.lower()
    assert await reports.count_reports(session, reports.ReportFilters()) == 0


async def test_visitors_are_limited_per_connection(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: ReportsWorld
) -> None:
    settings.anonymous_reports_per_hour = 2
    for _ in range(2):
        report_id(await send_report(client, pothole_form()))
    refused = await send_report(client, pothole_form(description="Encore"))
    assert refused.status_code == 429
    assert "please try again in an hour" in refused.text and "Encore" in refused.text
    assert await reports.count_reports(session, reports.ReportFilters()) == 2
    # Signed-in people are not counted as visitors.
    person = await create_person(session)
    await session.commit()
    await log_in(client, person.email)
    report_id(await send_report(client, pothole_form()))


async def test_the_duplicates_fragment_offers_to_support_the_nearby_report(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    near = await file_report(session, world, WEST, "pothole")
    far = await file_report(session, world, EAST, "pothole")
    await session.commit()
    params = {"category": "pothole", "lon": str(WEST[0] + 0.0002), "lat": str(WEST[1])}
    fragment = await client.get("/reports/new/duplicates", params=params, headers={"Accept-Language": "en"})
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert f"Report #{near.id}" in fragment.text and f"Report #{far.id}" not in fragment.text
    assert "Support this one instead" in fragment.text
    assert f'formaction="/reports/{near.id}/support"' in fragment.text and 'form="support-form"' in fragment.text
    assert "15 m away" in fragment.text
    other = await client.get("/reports/new/duplicates", params={**params, "category": "streetlight"})
    assert "Support" not in other.text
    incomplete = await client.get("/reports/new/duplicates", params={"category": "pothole", "lon": "x", "lat": ""})
    assert incomplete.status_code == 200 and incomplete.text.strip() == ""
    page = await client.get("/reports/new")
    assert 'id="support-form"' in page.text


async def test_support_counts_once(client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld) -> None:
    report = await file_report(session, world)
    await session.commit()
    token = await csrf_token(client, f"/reports/{report.id}")
    first = await client.post(f"/reports/{report.id}/support", data={"csrf_token": token})
    assert first.status_code == 303 and first.headers["location"] == f"/reports/{report.id}"
    page = await client.get(f"/reports/{report.id}", headers={"Accept-Language": "en"})
    assert "your support has been counted" in page.text and "1 person supports this report." in page.text
    again = await client.post(f"/reports/{report.id}/support", data={"csrf_token": token})
    assert again.status_code == 303
    page = await client.get(f"/reports/{report.id}", headers={"Accept-Language": "en"})
    assert "You already support this report." in page.text
    assert (await stored(session, report.id)).supports == 1
    forged = await client.post(f"/reports/{report.id}/support", data={"csrf_token": "forged"})
    assert forged.status_code == 403


async def test_follow_as_a_visitor_and_as_a_signed_in_person(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    report = await file_report(session, world)
    person = await create_person(session)
    await session.commit()
    token = await csrf_token(client, f"/reports/{report.id}")
    bad = await client.post(f"/reports/{report.id}/follow", data={"csrf_token": token, "email": "nope"})
    assert bad.status_code == 303
    assert "not valid" in (await client.get(f"/reports/{report.id}", headers={"Accept-Language": "en"})).text
    response = await client.post(
        f"/reports/{report.id}/follow", data={"csrf_token": token, "email": "voisin@example.org"}
    )
    assert response.status_code == 303 and response.headers["location"].endswith("#follow")
    emails = (await session.execute(select(ReportFollower.email).where(ReportFollower.report_id == report.id))).all()
    assert [row.email for row in emails] == ["voisin@example.org"]
    page = await client.get(f"/reports/{report.id}")
    assert "voisin@example.org" not in page.text

    await log_in(client, person.email)
    token = await csrf_token(client, f"/reports/{report.id}")
    await client.post(f"/reports/{report.id}/follow", data={"csrf_token": token, "action": "follow"})
    assert await reports.is_following(session, report, person.id)
    page = await client.get(f"/reports/{report.id}", headers={"Accept-Language": "en"})
    assert "Stop following" in page.text
    await client.post(f"/reports/{report.id}/follow", data={"csrf_token": token, "action": "unfollow"})
    assert not await reports.is_following(session, report, person.id)


async def test_the_public_page_never_shows_the_reporter(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    person = await create_person(session, "reporter@example.org", display_name="Marcelle Signaleuse")
    by_account = await file_report(session, world, person_id=person.id)
    by_mail = await file_report(
        session, world, EAST, email="anonyme@example.org", first_name="Paulette", last_name="Dupont", phone="0601"
    )
    await session.commit()
    for report in (by_account, by_mail):
        page = (await client.get(f"/reports/{report.id}")).text
        for secret in ("reporter@example.org", "Marcelle", "Signaleuse", "anonyme@example.org", "Paulette", "Dupont"):
            assert secret not in page
    assert (await client.get("/reports/999999")).status_code == 404


async def test_the_public_list_filters_and_pages(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    light = await file_report(session, world, WEST, description="Lampe")
    pothole = await file_report(session, world, EAST, "pothole", description="Trou")
    await session.commit()
    page = await client.get("/reports", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "2 reports" in page.text
    assert f"/reports/{light.id}" in page.text and f"/reports/{pothole.id}" in page.text
    assert 'id="reports-map"' in page.text and "/static/cell-map.js" in page.text
    filtered = await client.get("/reports", params={"category": "pothole", "status": "open", "sort": "supports"})
    assert f"/reports/{pothole.id}" in filtered.text and f'href="/reports/{light.id}"' not in filtered.text
    assert 'data-api-query="category=pothole&amp;status=open"' in filtered.text
    by_place = await client.get("/reports", params={"neighbourhood": str(light.neighbourhood_id)})
    assert f'href="/reports/{light.id}"' in by_place.text and f'href="/reports/{pothole.id}"' not in by_place.text
    dated = await client.get("/reports", params={"start": "2000-01-01", "end": "2000-12-31"})
    assert f'href="/reports/{light.id}"' not in dated.text
    assert "start=2000-01-01T00%3A00%3A00%2B00%3A00" in dated.text
    nonsense = await client.get("/reports", params={"status": "lost", "neighbourhood": "x", "start": "hier"})
    assert nonsense.status_code == 200 and f'href="/reports/{light.id}"' in nonsense.text


async def test_see_on_the_map_opens_the_map_at_the_report(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    report = await file_report(session, world, EAST)
    await session.commit()
    page = (await client.get(f"/reports/{report.id}", headers={"Accept-Language": "en"})).text
    at = f"{report.lon:.6f},{report.lat:.6f}"
    assert f'href="/reports?at={at}#reports-map">See on the map</a>' in page
    assert f'data-centre="{at}"' in (await client.get("/reports", params={"at": at})).text
    assert 'data-centre=""' in (await client.get("/reports", params={"at": "2.35;48.85"})).text
