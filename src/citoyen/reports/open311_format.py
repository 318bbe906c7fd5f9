"""Open311 GeoReport v2 documents: what each resource holds, and how it is written in JSON and in XML.

The spec's XML is schemaless: a root element, lists as a plural element holding singular items
(`<services><service>`), booleans as `true`/`false`, unknown values as empty elements. Its JSON is the
same tree (the "Spark convention"): lists at the top for services, requests and errors, objects for
discovery and service definitions.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import Response

from citoyen import fastjson
from citoyen.config import Settings
from citoyen.i18n import localized
from citoyen.reports.models import AttributeType, Category, CategoryAttribute, Report, ReportStatus

FORMATS = ("json", "xml")
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# When this API last changed in a way clients may care about (discovery's changeset).
CHANGESET = "2026-11-25T00:00:00+00:00"

# The element each list's items take in XML: the spec's plural/singular pairs.
ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}

# Characters XML 1.0 cannot carry at all, even escaped (control characters other than tab and newlines).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def w3c(moment: datetime | None) -> str | None:
    """A moment in the spec's W3C/ISO 8601 form with its offset, e.g. 2026-11-25T14:03:00+00:00."""
    if moment is None:
        return None
    if moment.tzinfo is UTC:  # what the database gives back: no conversion needed
        return moment.isoformat(timespec="seconds")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# --- the resources ----------------------------------------------------------------------------


def discovery(settings: Settings, base_url: str) -> dict[str, Any]:
    return {
        "changeset": CHANGESET,
        "contact": f"City of {settings.city_name}: {base_url}",
        "key_service": (
            "Reading is open to all. To post service requests, ask the city for an api_key "
            "(its administrators issue them with: citoyen token create --name NAME --scope open311)."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": base_url + "/open311/v2",
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def service(category: Category, has_questions: bool, locale: str) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.label(locale),
        "description": localized(locale, category.description, category.description_en),
        "metadata": has_questions,
        "type": "realtime",
        "keywords": category.keywords,
        "group": category.group,
    }


def service_definition(category: Category, questions: list[CategoryAttribute], locale: str) -> dict[str, Any]:
    attributes = []
    for order, question in enumerate(questions, start=1):
        attribute: dict[str, Any] = {
            "variable": True,
            "code": question.code,
            "datatype": question.datatype.value,
            "required": question.required,
            "datatype_description": question.datatype_description,
            "order": order,
            "description": question.question(locale),
        }
        if question.datatype in (AttributeType.SINGLE, AttributeType.MULTI):
            attribute["values"] = [
                {"key": value["key"], "name": localized(locale, value["name"], value.get("name_en"))}
                for value in question.values
            ]
        attributes.append(attribute)
    return {"service_code": category.code, "attributes": attributes}


OPEN311_STATUS = {status: status.open311 for status in ReportStatus}


def service_requests(
    rows: Sequence[Any],
    categories: dict[int, Category],
    agencies: dict[int, str],
    base_url: str,
    locale: str,
) -> list[dict[str, Any]]:
    """Rows of `service.REQUEST_COLUMNS` (and `has_photo`) as the spec's requests: every field it lists,
    and nothing about who filed them. What repeats (labels, agencies) is looked up once per answer."""
    labels = {category_id: (category.label(locale), category.code) for category_id, category in categories.items()}
    items = []
    # Unpacked in the order of REQUEST_COLUMNS: by position, a row costs a third of reading it by name.
    for (
        report_id,
        status,
        status_notes,
        category_id,
        description,
        department_id,
        requested_at,
        updated_at,
        expected_at,
        address,
        address_id,
        zipcode,
        lat,
        lon,
        media_url,
        has_photo,
    ) in rows:
        name, code = labels[category_id]
        items.append(
            {
                "service_request_id": report_id,
                "status": OPEN311_STATUS[status],
                "status_notes": status_notes,
                "service_name": name,
                "service_code": code,
                "description": description,
                "agency_responsible": agencies.get(department_id, "") if department_id is not None else "",
                "service_notice": "",
                "requested_datetime": w3c(requested_at),
                "updated_datetime": w3c(updated_at),
                "expected_datetime": w3c(expected_at) if expected_at is not None else None,
                "address": address,
                "address_id": address_id,
                "zipcode": zipcode,
                "lat": lat,
                "long": lon,
                "media_url": media_url or (f"{base_url}/reports/{report_id}/photos/1" if has_photo else ""),
            }
        )
    return items


def created(report: Report) -> dict[str, Any]:
    """The answer to a POST. The spec returns either the id or, when the id is not known yet, a token: the id
    is always known here, so the answer carries it alone."""
    return {"service_request_id": report.id, "service_notice": "", "account_id": None}


def token(report: Report) -> dict[str, Any]:
    return {"service_request_id": report.id, "token": report.token}


# --- writing them -----------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return _NOT_XML.sub("", str(value))


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _fill(ET.SubElement(element, name), item)
    elif isinstance(value, list):
        item_name = ITEM_NAMES[element.tag]
        for item in value:
            _fill(ET.SubElement(element, item_name), item)
    else:
        element.text = _text(value)


def to_xml(root: str, value: Any) -> bytes:
    """The document as UTF-8 XML with its declaration (ElementTree escapes the text)."""
    element = ET.Element(root)
    _fill(element, value)
    return (XML_DECLARATION + ET.tostring(element, encoding="unicode")).encode("utf-8")


def document(fmt: str, root: str, value: Any, status_code: int = 200) -> Response:
    """`value` in the requested format: `root` names the XML root element (JSON has none)."""
    if fmt == "xml":
        return Response(to_xml(root, value), status_code, media_type=XML_TYPE)
    # A thousand requests, encoded by orjson in a tenth of the time the standard library takes.
    return Response(fastjson.dumps(value), status_code, media_type=JSON_TYPE)


def errors(fmt: str, code: int, description: str, headers: dict[str, str] | None = None) -> Response:
    """The spec's error document, in XML when XML was asked for, JSON otherwise, with the HTTP status."""
    response = document("xml" if fmt == "xml" else "json", "errors", [{"code": code, "description": description}], code)
    response.headers.update(headers or {})
    return response
