"""One refusal (`citoyen.errors.Refusal`), one handler: a rule's refusal that no route turned into its own answer
gets its kind's status, as JSON on our APIs, in Open311's format on Open311, and as the error page, in the
reader's language, on pages."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from citoyen.errors import STATUS, Kind, Refusal
from citoyen.participation.service import ParticipationError
from citoyen.reports.service import ReportError

CLOSED = "The amount of the budget is above %(max_cents)s: check it."


@pytest.fixture
def refusing_app(app: FastAPI) -> FastAPI:
    """The app with routes that raise a refusal of the kind named in the path."""

    async def refuse(kind: str) -> None:
        raise ParticipationError(CLOSED, kind, "amount", max_cents="1 000 €")

    for path in ("/api/refusing/{kind}", "/refusing/{kind}", "/open311/v2/refusing/{kind}.json"):
        app.add_api_route(path, refuse)
    return app


def test_every_kind_has_one_status_and_a_refusal_keeps_its_kind() -> None:
    assert set(STATUS) == set(Kind)
    assert STATUS[Kind.INVALID] == 400 and STATUS[Kind.NOT_FOUND] == 404 and STATUS[Kind.THROTTLED] == 429
    refusal = ReportError("Unknown report.", "not_found")
    assert isinstance(refusal, Refusal) and isinstance(refusal, ValueError)
    assert refusal.kind == "not_found" and refusal.status_code == 404
    with pytest.raises(ValueError, match="no_such_kind"):
        Refusal("message", "no_such_kind")


async def test_our_json_api_answers_the_kinds_status_and_the_english_message(
    refusing_app: FastAPI, client: httpx.AsyncClient
) -> None:
    answer = await client.get("/api/refusing/conflict", headers={"Accept-Language": "fr"})
    assert answer.status_code == 409
    assert answer.json() == {
        "error": {"status": 409, "message": "The amount of the budget is above 1 000 €: check it."}
    }
    assert (await client.get("/api/refusing/not_found")).status_code == 404


async def test_a_page_shows_the_refusal_translated_with_its_values(
    refusing_app: FastAPI, client: httpx.AsyncClient
) -> None:
    french = await client.get("/refusing/closed", headers={"Accept-Language": "fr"})
    assert french.status_code == 409 and "Le montant du budget dépasse 1 000 €\u00a0: vérifiez-le." in french.text
    english = await client.get("/refusing/invalid", headers={"Accept-Language": "en"})
    assert english.status_code == 400 and "The amount of the budget is above 1 000 €: check it." in english.text
    assert (await client.get("/refusing/forbidden")).status_code == 403
    signed_out = await client.get("/refusing/signed_out")
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/login?next=/refusing/signed_out"


async def test_open311_answers_a_refusal_in_its_own_format(refusing_app: FastAPI, client: httpx.AsyncClient) -> None:
    answer = await client.get("/open311/v2/refusing/throttled.json")
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "60"
    assert answer.json() == [{"code": 429, "description": "The amount of the budget is above 1 000 €: check it."}]
