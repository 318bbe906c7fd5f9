"""Absolute links follow the address the platform is served at: CITOYEN_BASE_URL when set, else what a trusted
proxy says it served, else the host and port `citoyen serve` listens on; never what an untrusted client claims."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.addresses import DEFAULT_BASE_URL, base_url, served_url
from citoyen.config import Settings
from citoyen.people.models import OutboxMessage
from citoyen.web.proxies import TrustedProxies
from tests.conftest import csrf_token
from tests.factories import create_person

SERVED = "http://127.0.0.1:8300"
FORGED = {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
PROXIED = {"X-Forwarded-Host": "ville.example", "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"}


async def client_at(app: FastAPI, client_address: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=(client_address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8300") as client:
        yield client


@pytest.fixture
async def stranger(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that reaches the platform directly from the internet (not a trusted proxy)."""
    app.state.settings.served_url = SERVED
    async for client in client_at(app, "203.0.113.7"):
        yield client


@pytest.fixture
async def proxy(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The reverse proxy in front of the platform, on the loopback (trusted by default)."""
    app.state.settings.served_url = SERVED
    async for client in client_at(app, "127.0.0.1"):
        yield client


def test_the_configured_address_wins_then_the_served_one() -> None:
    assert base_url(Settings(base_url="https://ville.example/", served_url=SERVED)) == "https://ville.example"
    assert base_url(Settings(served_url=SERVED)) == SERVED
    assert base_url(Settings()) == DEFAULT_BASE_URL


@pytest.mark.parametrize(
    ("host", "port", "address"),
    [("127.0.0.1", 8300, SERVED), ("0.0.0.0", 80, "http://127.0.0.1:80"), ("::1", 8000, "http://[::1]:8000")],  # noqa: S104
)
def test_the_served_address_is_one_a_browser_can_open(host: str, port: int, address: str) -> None:
    assert served_url(host, port) == address


def test_trusted_proxies_are_addresses_and_networks() -> None:
    trusted = TrustedProxies("127.0.0.1, 10.0.0.0/8, ::1")
    assert "127.0.0.1" in trusted and "10.2.3.4" in trusted and "::1" in trusted
    assert "11.0.0.1" not in trusted and "evil" not in trusted and None not in trusted
    assert "203.0.113.7" in TrustedProxies("*")


async def test_behind_a_trusted_proxy_links_follow_the_address_it_served(proxy: httpx.AsyncClient) -> None:
    discovery = (await proxy.get("/open311/v2/discovery.json", headers=PROXIED)).json()
    assert discovery["endpoints"][0]["url"] == "https://ville.example/open311/v2"
    root = (await proxy.get("/sta/v1.1", headers=PROXIED)).json()
    assert {entity["url"].split("/sta/")[0] for entity in root["value"]} == {"https://ville.example"}
    # Without X-Forwarded-Host, the Host the proxy passed on (nginx: proxy_set_header Host $host).
    direct = (await proxy.get("/open311/v2/discovery.json", headers={"Host": "ville.example:8443"})).json()
    assert direct["endpoints"][0]["url"] == "http://ville.example:8443/open311/v2"


async def test_an_untrusted_client_cannot_choose_the_links(stranger: httpx.AsyncClient) -> None:
    discovery = (await stranger.get("/open311/v2/discovery.json", headers=FORGED)).json()
    assert discovery["endpoints"][0]["url"] == f"{SERVED}/open311/v2"
    root = (await stranger.get("/sta/v1.1", headers=FORGED)).json()
    assert {entity["url"].split("/sta/")[0] for entity in root["value"]} == {SERVED}


async def test_a_mailed_link_follows_the_served_address_whatever_host_the_client_sent(
    stranger: httpx.AsyncClient, session: AsyncSession
) -> None:
    person = await create_person(session)
    await session.commit()
    token = await csrf_token(stranger, "/password/forgot")
    sent = await stranger.post("/password/forgot", data={"email": person.email, "csrf_token": token}, headers=FORGED)
    assert sent.status_code in (200, 303)
    message = (await session.execute(select(OutboxMessage))).scalar_one()
    assert f"{SERVED}/password/reset/" in message.body and "evil.example" not in message.body


async def test_the_configured_address_is_used_even_behind_a_proxy(app: FastAPI, proxy: httpx.AsyncClient) -> None:
    app.state.settings.base_url = "https://www.ville.example/"
    discovery = (await proxy.get("/open311/v2/discovery.json", headers=PROXIED)).json()
    assert discovery["endpoints"][0]["url"] == "https://www.ville.example/open311/v2"
