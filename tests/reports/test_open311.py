"""The Open311 GeoReport v2 API over HTTP, as clients use it: form-encoded POSTs, JSON and XML answers
read element by element, and the spec's errors in the requested format."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import throttle
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.reports import open311
from citoyen.reports import service as reports
from citoyen.reports.models import CloseReason, Report, ReportContact, ReportStatus
from citoyen.reports.photos import PreparedPhoto
from citoyen.territory import service as territory
from tests.factories import create_person
from tests.reports.helpers import EAST, WEST, ReportsWorld, create_reports_world, file_report

FORMATS = ["json", "xml"]
W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")
REQUEST_FIELDS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
PERSONAL = {
    "email": "jeanne.reporter@example.org",
    "first_name": "Jeanne-Secrète",
    "last_name": "Dupont-Privé",
    "phone": "+33 6 12 34 56 78",
    "device_id": "device-7f3a-private",
}
DESCRIPTION = "Un trou <profond> & dangereux\nprès du passage piéton"


@pytest.fixture
async def world(session: AsyncSession) -> ReportsWorld:
    world = await create_reports_world(session)
    await session.commit()
    return world


@pytest.fixture
async def api_key(session: AsyncSession) -> str:
    _token, secret = await people.create_api_token(session, "Mobile app", ["open311"])
    await session.commit()
    return secret


# --- reading the answers ------------------------------------------------------------------------


def parse_xml(response: httpx.Response) -> ET.Element:
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.text.startswith('<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.content)  # noqa: S314 (our own answer, not untrusted input)


def parse_json(response: httpx.Response) -> Any:
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def fields(element: ET.Element) -> dict[str, str]:
    """A flat element's children as name -> text (empty elements give "")."""
    return {child.tag: child.text or "" for child in element}


def only_child(element: ET.Element, tag: str) -> ET.Element:
    found = element.findall(tag)
    assert len(found) == 1, ET.tostring(element)
    return found[0]


def assert_error(response: httpx.Response, fmt: str, code: int, text: str) -> None:
    """The spec's error document, in the requested format, with the HTTP status matching."""
    assert response.status_code == code, response.text
    if fmt == "xml":
        root = parse_xml(response)
        assert root.tag == "errors"
        error = only_child(root, "error")
        assert [child.tag for child in error] == ["code", "description"]
        assert error.findtext("code") == str(code)
        assert text in (error.findtext("description") or "")
    else:
        body = parse_json(response)
        assert isinstance(body, list) and len(body) == 1
        assert set(body[0]) == {"code", "description"}
        assert body[0]["code"] == code
        assert text in body[0]["description"]


async def stored_reports(session: AsyncSession) -> tuple[int, int]:
    """How many reports and reporter contacts exist (read afresh)."""
    session.expire_all()
    count_reports = (await session.execute(select(func.count()).select_from(Report))).scalar_one()
    count_contacts = (await session.execute(select(func.count()).select_from(ReportContact))).scalar_one()
    return int(count_reports), int(count_contacts)


def pothole_form(api_key: str, **extra: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "api_key": api_key,
        "jurisdiction_id": "paris.fr",
        "service_code": "pothole",
        "lat": str(WEST[1]),
        "long": str(WEST[0]),
        "attribute[size]": "small",
    }
    form.update(extra)
    return form


async def post(client: httpx.AsyncClient, fmt: str, form: dict[str, Any]) -> httpx.Response:
    # httpx sends a dict as application/x-www-form-urlencoded, repeating the keys of list values.
    return await client.post(f"/open311/v2/requests.{fmt}", data=form)


# --- discovery and services ---------------------------------------------------------------------


async def test_discovery_in_json_and_xml(client: httpx.AsyncClient, settings: Settings) -> None:
    body = parse_json(await client.get("/open311/v2/discovery.json"))
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    assert body["key_service"] and body["contact"]
    assert body["endpoints"] == [
        {
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": "http://testserver/open311/v2",
            "changeset": body["changeset"],
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }
    ]

    root = parse_xml(await client.get("/open311/v2/discovery.xml"))
    assert root.tag == "discovery"
    assert [child.tag for child in root] == ["changeset", "contact", "key_service", "endpoints"]
    assert root.findtext("changeset") == body["changeset"]
    endpoint = only_child(only_child(root, "endpoints"), "endpoint")
    assert [child.tag for child in endpoint] == ["specification", "url", "changeset", "type", "formats"]
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint.findtext("url") == "http://testserver/open311/v2"
    assert endpoint.findtext("type") == "production"
    assert [f.text for f in only_child(endpoint, "formats").findall("format")] == ["text/xml", "application/json"]


async def test_services_list_every_active_category(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    hidden = await reports.save_category(session, reports.CategoryInput(code="old", name="Ancien"))
    await reports.set_category_active(session, hidden, False)
    await session.commit()

    body = parse_json(await client.get("/open311/v2/services.json", params={"jurisdiction_id": "anything"}))
    assert body == [
        {
            "service_code": "streetlight",
            "service_name": "Lampadaire en panne",
            "description": "",
            "metadata": False,
            "type": "realtime",
            "keywords": "",
            "group": "",
        },
        {
            "service_code": "pothole",
            "service_name": "Nid-de-poule",
            "description": "",
            "metadata": True,
            "type": "realtime",
            "keywords": "trou, chaussée",
            "group": "Voirie",
        },
    ]

    root = parse_xml(await client.get("/open311/v2/services.xml"))
    assert root.tag == "services"
    services = root.findall("service")
    assert [child.tag for child in root] == ["service", "service"]
    assert fields(services[1]) == {
        "service_code": "pothole",
        "service_name": "Nid-de-poule",
        "description": "",
        "metadata": "true",
        "type": "realtime",
        "keywords": "trou, chaussée",
        "group": "Voirie",
    }
    assert fields(services[0])["metadata"] == "false"
    assert fields(services[0])["service_code"] == "streetlight"


async def test_services_speak_english_when_asked(client: httpx.AsyncClient, world: ReportsWorld) -> None:
    by_param = parse_json(await client.get("/open311/v2/services.json", params={"locale": "en"}))
    assert [s["service_name"] for s in by_param] == ["Street light out", "Pothole"]
    by_header = parse_json(await client.get("/open311/v2/services.json", headers={"Accept-Language": "en-GB"}))
    assert [s["service_name"] for s in by_header] == ["Street light out", "Pothole"]
    french = parse_json(await client.get("/open311/v2/services.json", params={"locale": "fr"}))
    assert [s["service_name"] for s in french] == ["Lampadaire en panne", "Nid-de-poule"]


async def test_service_definition_in_json(client: httpx.AsyncClient, world: ReportsWorld) -> None:
    body = parse_json(await client.get("/open311/v2/services/pothole.json"))
    assert body == {
        "service_code": "pothole",
        "attributes": [
            {
                "variable": True,
                "code": "size",
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": "",
                "order": 1,
                "description": "Taille du trou",
                "values": [{"key": "small", "name": "Petit"}, {"key": "large", "name": "Grand"}],
            },
            {
                "variable": True,
                "code": "hazards",
                "datatype": "multivaluelist",
                "required": False,
                "datatype_description": "",
                "order": 2,
                "description": "Dangers",
                "values": [{"key": "bikes", "name": "Vélos"}, {"key": "cars", "name": "Voitures"}],
            },
            {
                "variable": True,
                "code": "depth_cm",
                "datatype": "number",
                "required": False,
                "datatype_description": "",
                "order": 3,
                "description": "Profondeur (cm)",
            },
        ],
    }
    english = parse_json(await client.get("/open311/v2/services/pothole.json", params={"locale": "en"}))
    assert english["attributes"][0]["description"] == "Size of the hole"
    assert english["attributes"][0]["values"] == [{"key": "small", "name": "Small"}, {"key": "large", "name": "Large"}]
    # Without an English name, a value keeps its own.
    assert english["attributes"][1]["values"][0] == {"key": "bikes", "name": "Vélos"}
    no_questions = parse_json(await client.get("/open311/v2/services/streetlight.json"))
    assert no_questions == {"service_code": "streetlight", "attributes": []}


async def test_service_definition_in_xml(client: httpx.AsyncClient, world: ReportsWorld) -> None:
    root = parse_xml(await client.get("/open311/v2/services/pothole.xml"))
    assert root.tag == "service_definition"
    assert [child.tag for child in root] == ["service_code", "attributes"]
    assert root.findtext("service_code") == "pothole"
    attributes = only_child(root, "attributes").findall("attribute")
    assert len(attributes) == 3
    size = attributes[0]
    assert [child.tag for child in size] == [
        "variable",
        "code",
        "datatype",
        "required",
        "datatype_description",
        "order",
        "description",
        "values",
    ]
    assert {k: v for k, v in fields(size).items() if k != "values"} == {
        "variable": "true",
        "code": "size",
        "datatype": "singlevaluelist",
        "required": "true",
        "datatype_description": "",
        "order": "1",
        "description": "Taille du trou",
    }
    values = only_child(size, "values").findall("value")
    assert [fields(value) for value in values] == [{"key": "small", "name": "Petit"}, {"key": "large", "name": "Grand"}]
    assert fields(attributes[1])["required"] == "false"
    assert fields(attributes[1])["order"] == "2"
    assert fields(attributes[2])["datatype"] == "number"
    assert attributes[2].find("values") is None


@pytest.mark.parametrize("fmt", FORMATS)
async def test_an_unknown_or_inactive_service_is_not_found(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, fmt: str
) -> None:
    assert_error(await client.get(f"/open311/v2/services/nothing.{fmt}"), fmt, 404, "service_code")
    await reports.set_category_active(session, world.light, False)
    await session.commit()
    assert_error(await client.get(f"/open311/v2/services/streetlight.{fmt}"), fmt, 404, "streetlight")


@pytest.mark.parametrize("fmt", FORMATS)
async def test_another_jurisdiction_is_not_found_when_ours_is_set(
    client: httpx.AsyncClient, settings: Settings, world: ReportsWorld, fmt: str
) -> None:
    settings.open311_jurisdiction_id = "paris.fr"
    ok = await client.get(f"/open311/v2/services.{fmt}", params={"jurisdiction_id": "paris.fr"})
    assert ok.status_code == 200
    assert (await client.get(f"/open311/v2/services.{fmt}")).status_code == 200
    refused = await client.get(f"/open311/v2/services.{fmt}", params={"jurisdiction_id": "lyon.fr"})
    assert_error(refused, fmt, 404, "jurisdiction_id")
    refused = await client.get(f"/open311/v2/requests.{fmt}", params={"jurisdiction_id": "lyon.fr"})
    assert_error(refused, fmt, 404, "jurisdiction_id")


async def test_an_unknown_format_is_not_found_in_json(client: httpx.AsyncClient, world: ReportsWorld) -> None:
    for path in ("discovery.csv", "services.csv", "services/pothole.csv", "requests.csv", "requests/1.html"):
        assert_error(await client.get(f"/open311/v2/{path}"), "json", 404, "Unknown format")


# --- posting and reading back -------------------------------------------------------------------


async def test_a_posted_request_is_stored_and_read_back_with_every_field(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: ReportsWorld, api_key: str
) -> None:
    form = pothole_form(
        api_key,
        **PERSONAL,
        account_id="account-123",
        address_string="12 rue de la Roquette",
        address_id="ADR-75011-12",
        description=DESCRIPTION,
        media_url="https://photos.example.org/trou.jpg",
        locale="en-GB",
        **{
            "attribute[size]": "large",  # attribute[code]=value
            "attribute[hazards]": ["bikes", "cars"],  # repeated, as FixMyStreet sends a multivaluelist
            "attribute[depth_cm][]": "12",  # the attribute[code][]= form
            "attribute[fixmystreet_id]": "991",  # a client's own attribute: ignored
        },
    )
    response = await post(client, "json", form)
    assert response.status_code == 200, response.text
    created = parse_json(response)
    assert len(created) == 1
    # The id is known at once: the spec's token (for when it is not) is not sent beside it.
    assert set(created[0]) == {"service_request_id", "service_notice", "account_id"}
    assert created[0]["account_id"] is None
    assert created[0]["service_notice"] == ""
    report_id = created[0]["service_request_id"]

    report = await reports.get_report(session, report_id)
    assert report.source == "open311"
    assert report.locale == "en"  # the language the description is written in, as the client said
    assert report.attributes == {"size": "large", "hazards": ["bikes", "cars"], "depth_cm": 12}
    assert report.department_id == world.roads.id
    contact = (await session.execute(select(ReportContact).where(ReportContact.report_id == report_id))).scalar_one()
    assert (contact.email, contact.first_name, contact.last_name, contact.phone, contact.device_id) == (
        PERSONAL["email"],
        PERSONAL["first_name"],
        PERSONAL["last_name"],
        PERSONAL["phone"],
        PERSONAL["device_id"],
    )

    expected_open = {
        "service_request_id": report_id,
        "status": "open",
        "status_notes": "",
        "service_name": "Nid-de-poule",
        "service_code": "pothole",
        "description": DESCRIPTION,
        "agency_responsible": "Voirie",
        "service_notice": "",
        "requested_datetime": report.requested_at.astimezone(UTC).isoformat(timespec="seconds"),
        "updated_datetime": report.updated_at.astimezone(UTC).isoformat(timespec="seconds"),
        "expected_datetime": None,
        "address": "12 rue de la Roquette",
        "address_id": "ADR-75011-12",
        "zipcode": "",
        "lat": WEST[1],
        "long": WEST[0],
        "media_url": "https://photos.example.org/trou.jpg",
    }
    body = parse_json(await client.get(f"/open311/v2/requests/{report_id}.json"))
    assert body == [expected_open]
    assert list(body[0]) == REQUEST_FIELDS
    assert W3C.match(body[0]["requested_datetime"])

    # Staff close it with a public answer and a date: status, notes and expected_datetime follow.
    admin = await create_person(session, role=Role.ADMIN)
    await reports.update_report(
        session,
        settings,
        admin,
        report,
        reports.StaffUpdate(
            status=ReportStatus.CLOSED,
            close_reason=CloseReason.FIXED,
            public_answer="Rebouché le 1er décembre.",
            expected_at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        ),
    )
    await session.commit()
    closed = {
        **expected_open,
        "status": "closed",
        "status_notes": "Rebouché le 1er décembre.",
        "updated_datetime": report.updated_at.astimezone(UTC).isoformat(timespec="seconds"),
        "expected_datetime": "2026-12-01T09:30:00+00:00",
    }
    assert parse_json(await client.get(f"/open311/v2/requests/{report_id}.json")) == [closed]

    root = parse_xml(await client.get(f"/open311/v2/requests/{report_id}.xml"))
    assert root.tag == "service_requests"
    element = only_child(root, "request")
    assert [child.tag for child in element] == REQUEST_FIELDS
    assert fields(element) == {
        **{name: str(value) for name, value in closed.items()},
        "lat": str(WEST[1]),
        "long": str(WEST[0]),
    }

    english = parse_json(await client.get(f"/open311/v2/requests/{report_id}.json", params={"locale": "en"}))
    assert english[0]["service_name"] == "Pothole"


async def test_personal_fields_never_leave_through_any_get(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, api_key: str
) -> None:
    first = await post(client, "json", pothole_form(api_key, **PERSONAL, description="Premier"))
    second = await post(client, "xml", pothole_form(api_key, **PERSONAL, description="Second"))
    ids = [
        parse_json(first)[0]["service_request_id"],
        int(only_child(parse_xml(second), "request").findtext("service_request_id") or "0"),
    ]
    assert ids[0] != ids[1]
    token = (await reports.get_report(session, ids[0])).token
    answers = [first.text, second.text]
    for fmt in FORMATS:
        for path, params in [
            (f"requests.{fmt}", {}),
            (f"requests.{fmt}", {"service_request_id": f"{ids[0]},{ids[1]}"}),
            (f"requests/{ids[0]}.{fmt}", {}),
            (f"requests/{ids[1]}.{fmt}", {}),
            (f"tokens/{token}.{fmt}", {}),
        ]:
            response = await client.get(f"/open311/v2/{path}", params=params)
            assert response.status_code == 200, response.text
            answers.append(response.text)
    for text in answers:
        for name, value in PERSONAL.items():
            assert value not in text
            assert f'"{name}"' not in text and f"<{name}>" not in text
    assert (await stored_reports(session)) == (2, 2)


async def test_several_requests_by_id_with_the_list_form_of_attributes(
    client: httpx.AsyncClient, world: ReportsWorld, api_key: str
) -> None:
    spec_form = pothole_form(api_key, **{"attribute[size][]": "small", "attribute[hazards][]": ["cars", "bikes"]})
    del spec_form["attribute[size]"]
    first = parse_json(await post(client, "json", spec_form))[0]["service_request_id"]
    light = {"api_key": api_key, "service_code": "streetlight", "lat": str(EAST[1]), "long": str(EAST[0])}
    second = parse_json(await post(client, "json", light))[0]["service_request_id"]

    body = parse_json(await client.get("/open311/v2/requests.json", params={"service_request_id": f"{first},{second}"}))
    assert [item["service_request_id"] for item in body] == [second, first]  # newest first
    assert [item["service_code"] for item in body] == ["streetlight", "pothole"]
    assert [item["agency_responsible"] for item in body] == ["Éclairage public", "Voirie"]

    root = parse_xml(
        await client.get("/open311/v2/requests.xml", params={"service_request_id": f"{first},{second},999999"})
    )
    assert [fields(item)["service_request_id"] for item in root.findall("request")] == [str(second), str(first)]


async def test_the_post_answer_in_xml(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, api_key: str
) -> None:
    response = await post(client, "xml", pothole_form(api_key))
    assert response.status_code == 200
    root = parse_xml(response)
    assert root.tag == "service_requests"
    request = only_child(root, "request")
    assert [child.tag for child in request] == ["service_request_id", "service_notice", "account_id"]
    report = await reports.get_report(session, int(request.findtext("service_request_id") or "0"))
    assert fields(request) == {"service_request_id": str(report.id), "service_notice": "", "account_id": ""}
    assert report.attributes == {"size": "small"}
    assert report.locale == "fr"  # no locale, no Accept-Language: the city's language


async def test_a_post_with_an_address_string_only_is_placed_by_the_gazetteer(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, api_key: str
) -> None:
    form = {"api_key": api_key, "service_code": "streetlight", "address_string": "8 rue des Lilas, quartier Ouest"}
    created = parse_json(await post(client, "json", form))
    west = await reports.place_from_text(session, territory.TerritoryIndexCache(), "Ouest")
    assert west is not None
    item = parse_json(await client.get(f"/open311/v2/requests/{created[0]['service_request_id']}.json"))[0]
    assert item["address"] == "8 rue des Lilas, quartier Ouest"
    assert (item["long"], item["lat"]) == (west[0].lon, west[0].lat)
    report = await reports.get_report(session, created[0]["service_request_id"])
    assert report.neighbourhood_id == west[1]


async def test_an_address_string_alone_is_placed_at_the_imported_address_or_refused(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, api_key: str
) -> None:
    ban = "id;numero;rep;nom_voie;code_postal;nom_commune;lon;lat\nt-8;8;;Rue des Lilas;75015;Paris;2.3051;48.8552\n"
    await territory.import_addresses(session, io.BytesIO(ban.encode()), "lilas.csv")
    await session.commit()
    form = {"api_key": api_key, "service_code": "streetlight", "address_string": "8 r. des lilas"}
    created = parse_json(await post(client, "json", form))
    item = parse_json(await client.get(f"/open311/v2/requests/{created[0]['service_request_id']}.json"))[0]
    assert (item["long"], item["lat"], item["address"], item["address_id"]) == (
        2.3051,
        48.8552,
        "8 r. des lilas",
        "t-8",
    )
    unknown = await post(client, "json", form | {"address_string": "12 chemin des Nuages, Atlantide"})
    assert unknown.status_code == 400
    assert unknown.json() == [
        {"code": 400, "description": "We could not find this address in the city; place a point on the map instead."}
    ]


async def test_a_multipart_post_is_accepted_too(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, api_key: str
) -> None:
    form = pothole_form(api_key, **{"attribute[hazards][]": ["bikes", "cars"]})
    # A file part makes httpx send multipart/form-data; an empty one is what a form with no photo chosen sends.
    response = await client.post(
        "/open311/v2/requests.json", data=form, files={"media": ("", b"", "application/octet-stream")}
    )
    assert response.status_code == 200, response.text
    report = await reports.get_report(session, parse_json(response)[0]["service_request_id"])
    assert report.attributes == {"size": "small", "hazards": ["bikes", "cars"]}
    assert await reports.photos_of(session, report.id) == []


async def test_a_report_photo_is_its_media_url(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: ReportsWorld
) -> None:
    photo = PreparedPhoto(content=b"\xff\xd8jpeg", media_type="image/jpeg", width=4, height=3)
    with_photo = await file_report(session, world, photos=[photo])
    without = await file_report(session, world)
    await session.commit()
    body = parse_json(await client.get("/open311/v2/requests.json"))
    media = {item["service_request_id"]: item["media_url"] for item in body}
    assert media == {with_photo.id: f"http://testserver/reports/{with_photo.id}/photos/1", without.id: ""}


async def test_a_photo_file_sent_as_media_is_kept_without_its_metadata(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, api_key: str
) -> None:
    """Mobile apps that send the photo itself (multipart `media`) get it on the report, stripped like the web
    form's; a file that is no photo, or under another name, is refused and nothing is filed."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "orange").save(buffer, format="JPEG", exif=exif)
    form = pothole_form(api_key, description="Photo jointe")
    sent = await client.post(
        "/open311/v2/requests.json", data=form, files={"media": ("trou.jpg", buffer.getvalue(), "image/jpeg")}
    )
    assert sent.status_code == 200, sent.text
    report_id = parse_json(sent)[0]["service_request_id"]
    (photo,) = await reports.photos_of(session, report_id)
    assert photo.media_type == "image/jpeg" and b"PhoneMaker" not in photo.content
    listed = parse_json(await client.get(f"/open311/v2/requests/{report_id}.json"))
    assert listed[0]["media_url"] == f"http://testserver/reports/{report_id}/photos/1"

    before = await stored_reports(session)
    not_a_photo = await client.post(
        "/open311/v2/requests.json", data=form, files={"media": ("trou.jpg", b"%PDF-1.4 not a photo", "image/jpeg")}
    )
    assert_error(not_a_photo, "json", 400, "")
    elsewhere = await client.post(
        "/open311/v2/requests.xml", data=form, files={"picture": ("trou.jpg", buffer.getvalue(), "image/jpeg")}
    )
    assert_error(elsewhere, "xml", 400, "media")
    assert await stored_reports(session) == before


# --- tokens -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
async def test_a_token_gives_its_request(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, fmt: str
) -> None:
    report = await file_report(session, world)
    await session.commit()
    response = await client.get(f"/open311/v2/tokens/{report.token}.{fmt}")
    assert response.status_code == 200
    if fmt == "json":
        assert parse_json(response) == [{"service_request_id": report.id, "token": report.token}]
    else:
        root = parse_xml(response)
        assert root.tag == "service_requests"
        assert fields(only_child(root, "request")) == {"service_request_id": str(report.id), "token": report.token}
    assert_error(await client.get(f"/open311/v2/tokens/not-a-token.{fmt}"), fmt, 404, "token")


# --- filters ------------------------------------------------------------------------------------


async def old_report(session: AsyncSession, world: ReportsWorld, days: int, category: str = "streetlight") -> Report:
    answers = {"size": ["small"]} if category == "pothole" else {}
    new = reports.NewReport(category_code=category, lon=WEST[0], lat=WEST[1], answers=answers)
    return await reports.create_report(session, world.index, new, now=utcnow() - timedelta(days=days))


def ids_of(body: list[dict[str, Any]]) -> list[int]:
    return [item["service_request_id"] for item in body]


async def test_filters_by_service_status_and_dates(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, world: ReportsWorld
) -> None:
    ten_days = await old_report(session, world, 10, "pothole")
    five_days = await old_report(session, world, 5)
    today = await file_report(session, world, category="pothole")
    admin = await create_person(session, role=Role.ADMIN)
    await reports.update_report(
        session, settings, admin, five_days, reports.StaffUpdate(status=ReportStatus.IN_PROGRESS)
    )
    await reports.update_report(
        session,
        settings,
        admin,
        ten_days,
        reports.StaffUpdate(status=ReportStatus.CLOSED, close_reason=CloseReason.FIXED),
    )
    await session.commit()

    async def found(**params: str) -> list[int]:
        response = await client.get("/open311/v2/requests.json", params=params)
        assert response.status_code == 200, response.text
        return ids_of(parse_json(response))

    assert await found() == [today.id, five_days.id, ten_days.id]
    assert await found(service_code="pothole") == [today.id, ten_days.id]
    assert await found(service_code="pothole,streetlight") == [today.id, five_days.id, ten_days.id]
    assert await found(status="open") == [today.id, five_days.id]  # in progress is open to Open311
    assert await found(status="closed") == [ten_days.id]
    assert await found(status="open,closed") == [today.id, five_days.id, ten_days.id]
    assert await found(status="closed", service_code="streetlight") == []
    seven_days_ago = (utcnow() - timedelta(days=7)).isoformat()
    three_days_ago = (utcnow() - timedelta(days=3)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    assert await found(start_date=seven_days_ago) == [today.id, five_days.id]
    assert await found(end_date=three_days_ago) == [five_days.id, ten_days.id]
    assert await found(start_date=seven_days_ago, end_date=three_days_ago) == [five_days.id]
    # Another offset names the same instants.
    in_paris = (utcnow() - timedelta(days=7)).astimezone(timezone(timedelta(hours=1)))
    assert await found(start_date=in_paris.isoformat()) == [today.id, five_days.id]
    # A "+" sent unencoded arrives as a space: still understood.
    raw = (utcnow() - timedelta(days=7)).replace(microsecond=0).isoformat().replace("+", "%20")
    response = await client.get(f"/open311/v2/requests.json?start_date={raw}")
    assert ids_of(parse_json(response)) == [today.id, five_days.id]
    # The XML list answers the same.
    root = parse_xml(await client.get("/open311/v2/requests.xml", params={"status": "open"}))
    assert [int(item.findtext("service_request_id") or "0") for item in root.findall("request")] == [
        today.id,
        five_days.id,
    ]
    assert [item.findtext("status") for item in root.findall("request")] == ["open", "open"]


async def test_the_last_90_days_by_default_and_ids_override_every_filter(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld
) -> None:
    ancient = await old_report(session, world, 100)
    older = await old_report(session, world, 200)
    recent = await old_report(session, world, 80)
    await session.commit()
    assert ids_of(parse_json(await client.get("/open311/v2/requests.json"))) == [recent.id]
    # end_date alone: the 90 days before it.
    end = (utcnow() - timedelta(days=95)).isoformat()
    assert ids_of(parse_json(await client.get("/open311/v2/requests.json", params={"end_date": end}))) == [ancient.id]
    start = (utcnow() - timedelta(days=365)).isoformat()
    everything = parse_json(await client.get("/open311/v2/requests.json", params={"start_date": start}))
    assert ids_of(everything) == [recent.id, ancient.id, older.id]
    by_id = await client.get(
        "/open311/v2/requests.json",
        params={"service_request_id": f"{older.id}", "status": "open,closed", "service_code": "pothole"},
    )
    assert ids_of(parse_json(by_id)) == [older.id]


async def test_at_most_max_requests_newest_first(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    filed = [await old_report(session, world, days) for days in (4, 3, 2, 1)]
    await session.commit()
    monkeypatch.setattr(open311, "MAX_REQUESTS", 3)
    body = parse_json(await client.get("/open311/v2/requests.json"))
    assert ids_of(body) == [filed[3].id, filed[2].id, filed[1].id]
    root = parse_xml(await client.get("/open311/v2/requests.xml"))
    assert len(root.findall("request")) == 3


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("change", "code", "text"),
    [
        ({"api_key": None}, 403, "api_key"),
        ({"api_key": "cit_wrong-key"}, 403, "api_key"),
        ({"service_code": "nothing"}, 404, "service_code"),
        ({"service_code": None}, 400, "service_code"),
        ({"lat": None, "long": None}, 400, "location"),
        ({"long": None}, 400, "lat and long"),
        ({"lat": "north"}, 400, "numbers"),
        ({"lat": "45.76", "long": "4.83"}, 400, "outside the city"),
        ({"address_string": "Place Bellecour, Lyon", "lat": None, "long": None}, 400, "address"),
        ({"attribute[size]": "huge"}, 400, "Unknown value huge for size"),
        ({"attribute[size]": "small", "attribute[hazards]": ["bikes", "trains"]}, 400, "trains"),
        ({"attribute[size]": None}, 400, "Please answer: Taille du trou"),
        ({"attribute[size]": ["small", "large"]}, 400, "size"),
        ({"attribute[depth_cm]": "deep"}, 400, "depth_cm must be a number"),
        ({"description": "x" * 4001}, 400, "4000"),
        ({"email": "not an address"}, 400, "e-mail"),
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"locale": "de"}, 400, "locale must be one of en, fr"),
    ],
)
async def test_a_refused_post_answers_the_spec_error_and_stores_nothing(
    client: httpx.AsyncClient,
    session: AsyncSession,
    world: ReportsWorld,
    api_key: str,
    fmt: str,
    change: dict[str, Any],
    code: int,
    text: str,
) -> None:
    form = pothole_form(api_key, **PERSONAL)
    for name, value in change.items():
        if value is None:
            form.pop(name)
        else:
            form[name] = value
    assert_error(await post(client, fmt, form), fmt, code, text)
    assert (await stored_reports(session)) == (0, 0)


async def test_a_description_of_4000_characters_is_accepted(
    client: httpx.AsyncClient, world: ReportsWorld, api_key: str
) -> None:
    response = await post(client, "json", pothole_form(api_key, description="x" * 4000))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("fmt", FORMATS)
async def test_revoked_keys_and_keys_for_other_scopes_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, world: ReportsWorld, fmt: str
) -> None:
    revoked, revoked_secret = await people.create_api_token(session, "Old app", ["open311"])
    await people.revoke_api_token(session, revoked.id)
    _sensor, sensor_secret = await people.create_api_token(session, "Sensors", ["sensing:write"])
    await session.commit()
    for secret in (revoked_secret, sensor_secret):
        assert_error(await post(client, fmt, pothole_form(secret)), fmt, 403, "api_key")
    assert (await stored_reports(session)) == (0, 0)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_too_many_posts_for_one_key_are_throttled(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    world: ReportsWorld,
    api_key: str,
    fmt: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.open311_requests_per_minute = 2
    # One fixed moment, so the requests cannot straddle two one-minute windows.
    moment = utcnow()
    monkeypatch.setattr(throttle, "utcnow", lambda: moment)
    _other, other_key = await people.create_api_token(session, "Another app", ["open311"])
    await session.commit()
    assert (await post(client, fmt, pothole_form(api_key))).status_code == 200
    # Refused requests count too: a client cannot probe without limit.
    assert (await post(client, fmt, pothole_form(api_key, service_code="nothing"))).status_code == 404
    throttled = await post(client, fmt, pothole_form(api_key, description="third"))
    assert_error(throttled, fmt, 429, "Too many requests")
    assert throttled.headers["retry-after"] == "60"
    assert (await stored_reports(session)) == (1, 0)
    # The limit is per key.
    assert (await post(client, fmt, pothole_form(other_key))).status_code == 200


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("path", "params", "code", "text"),
    [
        ("requests/999999", {}, 404, "999999"),
        ("requests/abc", {}, 404, "abc"),
        ("requests/99999999999999999999", {}, 404, "service_request_id"),
        ("requests", {"start_date": "yesterday"}, 400, "start_date"),
        ("requests", {"end_date": "2026-13-45T00:00:00Z"}, 400, "end_date"),
        ("requests", {"start_date": "2026-11-01T00:00:00"}, 400, "time zone"),
        ("requests", {"start_date": "2026-11-20T00:00:00Z", "end_date": "2026-11-10T00:00:00Z"}, 400, "before"),
        ("requests", {"end_date": "0001-01-02T00:00:00Z"}, 400, "end_date"),
        ("requests", {"status": "pending"}, 400, "status"),
        ("requests", {"status": "open,done"}, 400, "status"),
        ("requests", {"service_request_id": "1,two"}, 400, "service_request_id"),
    ],
)
async def test_bad_reads_answer_the_spec_error(
    client: httpx.AsyncClient,
    world: ReportsWorld,
    fmt: str,
    path: str,
    params: dict[str, str],
    code: int,
    text: str,
) -> None:
    assert_error(await client.get(f"/open311/v2/{path}.{fmt}", params=params), fmt, code, text)


@pytest.mark.parametrize(
    ("method", "path", "status", "fmt"),
    [
        ("GET", "/open311/v2/requests", 404, "json"),
        ("GET", "/open311/v2/services", 404, "json"),
        ("GET", "/open311/v2/nothing.xml", 404, "xml"),
        ("DELETE", "/open311/v2/requests.json", 405, "json"),
        ("PUT", "/open311/v2/requests.xml", 405, "xml"),
    ],
)
async def test_paths_without_a_format_and_wrong_methods_answer_in_the_spec_error_format(
    client: httpx.AsyncClient, method: str, path: str, status: int, fmt: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == status
    if fmt == "xml":
        error = parse_xml(response).find("error")
        assert error is not None and error.findtext("code") == str(status)
        description = error.findtext("description") or ""
    else:
        [error_item] = response.json()
        assert error_item["code"] == status
        description = error_item["description"]
    assert description
    if status == 405:
        assert "GET" in response.headers["allow"]
