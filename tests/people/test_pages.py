from __future__ import annotations

import io
import json
import zipfile

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.participation import service as participation
from citoyen.participation.models import Support
from citoyen.people import service as people
from citoyen.people.models import OutboxMessage, Person, Role
from tests.conftest import csrf_token
from tests.factories import STRONG_PASSWORD, create_person, log_in
from tests.participation.helpers import create_process, setup_territory, submit


async def sign_up(
    client: httpx.AsyncClient, email: str, password: str = STRONG_PASSWORD, **headers: str
) -> httpx.Response:
    token = await csrf_token(client, "/signup")
    return await client.post(
        "/signup", data={"email": email, "password": password, "display_name": "", "csrf_token": token}, headers=headers
    )


def mailed_link(message: OutboxMessage) -> str:
    return message.body.split("http://127.0.0.1:8000")[1].split()[0]


async def outbox_to(session: AsyncSession, recipient: str) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.recipient == recipient).order_by(OutboxMessage.id)
    return list((await session.execute(query)).scalars())


async def test_sign_up_mails_a_link_that_creates_the_account_and_logs_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await sign_up(client, "nouvelle@example.org", **{"Accept-Language": "en"})
    assert response.status_code == 200 and "Check your mailbox" in response.text
    assert (await session.execute(select(Person).where(Person.email == "nouvelle@example.org"))).first() is None
    assert (await client.get("/account")).status_code == 303
    [message] = await outbox_to(session, "nouvelle@example.org")
    link = mailed_link(message)
    assert link.startswith("/login/link/")
    # Opening the link (as a mail scanner would) spends nothing: the button does.
    assert (await client.get(link)).status_code == 200
    token = await csrf_token(client, link)
    followed = await client.post(link, data={"csrf_token": token})
    assert followed.status_code == 303 and followed.headers["location"] == "/account"
    account = await client.get("/account")
    assert account.status_code == 200 and "nouvelle@example.org" in account.text
    assert (await session.execute(select(Person).where(Person.email == "nouvelle@example.org"))).scalar_one()
    again = await client.post(link, data={"csrf_token": await csrf_token(client, "/account")})
    assert again.status_code == 400


async def test_sign_up_errors_are_in_the_chosen_language_and_keep_what_was_typed(client: httpx.AsyncClient) -> None:
    token = await csrf_token(client, "/signup")
    form = {"email": "pas-un-email", "password": "123", "display_name": "Léon", "csrf_token": token}
    french = await client.post("/signup", data=form, headers={"Accept-Language": "fr"})
    assert french.status_code == 400
    assert "adresse" in french.text.lower() and 'value="pas-un-email"' in french.text and 'value="Léon"' in french.text
    english = await client.post("/signup", data=form, headers={"Accept-Language": "en"})
    assert "This e-mail address is not valid." in english.text


async def test_sign_up_answers_the_same_for_a_taken_address_and_mails_its_owner_a_reset_link(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner = await create_person(session, "deja@example.org")
    await session.commit()
    taken = await sign_up(client, "deja@example.org", **{"Accept-Language": "en"})
    free = await sign_up(client, "libre@example.org", **{"Accept-Language": "en"})
    assert taken.status_code == free.status_code == 200
    assert taken.text.replace("deja@", "libre@") == free.text
    [warning] = await outbox_to(session, "deja@example.org")
    assert "tried to sign up" in warning.subject and mailed_link(warning).startswith("/password/reset/")
    await session.refresh(owner)
    assert (await session.execute(select(Person).where(Person.email == "deja@example.org"))).scalar_one() is owner


async def test_weak_passwords_are_refused_at_sign_up(client: httpx.AsyncClient, session: AsyncSession) -> None:
    weak = await sign_up(client, "autre@example.org", "motdepasse1", **{"Accept-Language": "en"})
    assert weak.status_code == 400 and "too easy to guess" in weak.text
    assert (await session.execute(select(Person).where(Person.email == "autre@example.org"))).first() is None


async def test_forms_without_the_csrf_token_are_refused(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await client.get("/signup")
    response = await client.post("/signup", data={"email": "x@example.org", "password": STRONG_PASSWORD})
    assert response.status_code == 403
    forged = await client.post(
        "/signup", data={"email": "x@example.org", "password": STRONG_PASSWORD, "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert (await session.execute(select(Person))).first() is None


async def test_session_cookie_is_httponly_and_samesite_lax(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    cookie = response.headers["set-cookie"].lower()
    assert "citoyen_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


async def test_login_logout_and_wrong_password(client: httpx.AsyncClient, session: AsyncSession) -> None:
    person = await create_person(session)
    await session.commit()
    token = await csrf_token(client, "/login")
    wrong = await client.post(
        "/login",
        data={"email": person.email, "password": "nope-nope-nope", "csrf_token": token},
        headers={"Accept-Language": "en"},
    )
    assert wrong.status_code == 400 and "Wrong e-mail address or password" in wrong.text
    await log_in(client, person.email)
    assert (await client.get("/account")).status_code == 200
    token = await csrf_token(client, "/account")
    assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
    anonymous = await client.get("/account")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


async def test_a_cookie_copied_before_logout_no_longer_opens_the_account(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    person = await create_person(session)
    await session.commit()
    await log_in(client, person.email)
    copied = dict(client.cookies)
    token = await csrf_token(client, "/account")
    assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver", cookies=copied) as thief:
        stolen = await thief.get("/account")
        assert stolen.status_code == 303 and stolen.headers["location"].startswith("/login")


async def test_the_account_page_lists_sessions_and_ends_one_or_all(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    person = await create_person(session)
    await session.commit()
    transport = client._transport
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605 Version/17.0 Safari/604.1"
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver", headers={"User-Agent": firefox}) as a,
        httpx.AsyncClient(transport=transport, base_url="http://testserver", headers={"User-Agent": iphone}) as b,
    ):
        await log_in(a, person.email)
        await log_in(b, person.email)
        await log_in(client, person.email)
        page = await a.get("/account", headers={"Accept-Language": "en"})
        assert "Firefox / Linux" in page.text and "Safari / iOS" in page.text
        assert page.text.count("(this session)") == 1
        assert "Firefox / Linux <strong>(this session)" in page.text
        # From the laptop, end the phone's session.
        rows = page.text.split("<tr>")
        phone_row = next(row for row in rows if "Safari / iOS" in row)
        phone_session = phone_row.split('name="session" value="')[1].split('"')[0]
        token = await csrf_token(a, "/account")
        ended = await a.post("/account/sessions/end", data={"session": phone_session, "csrf_token": token})
        assert ended.status_code == 303
        assert (await b.get("/account")).status_code == 303
        assert "Safari / iOS" not in (await a.get("/account")).text
        # Another person's session cannot be ended from here.
        assert (
            await a.post("/account/sessions/end", data={"session": phone_session, "csrf_token": token})
        ).status_code == 400
        everywhere = await a.post("/account/sessions/end-all", data={"csrf_token": token})
        assert everywhere.status_code == 303
        assert (await a.get("/account")).status_code == 303
        assert (await client.get("/account")).status_code == 303


async def test_a_role_change_ends_the_sessions_of_the_person(client: httpx.AsyncClient, session: AsyncSession) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    moderator = await create_person(session, role=Role.MODERATOR)
    await session.commit()
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver") as theirs:
        await log_in(theirs, moderator.email)
        assert (await theirs.get("/account")).status_code == 200
        await log_in(client, admin.email)
        token = await csrf_token(client, f"/admin/people/{moderator.id}")
        changed = await client.post(f"/admin/people/{moderator.id}/role", data={"role": "citizen", "csrf_token": token})
        assert changed.status_code == 303
        assert (await theirs.get("/account")).status_code == 303
        assert (await client.get("/account")).status_code == 200


async def test_a_support_from_a_cookie_copied_before_logout_records_nothing(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """The support statement checks the session record as it writes (in SQL on PostgreSQL)."""
    await setup_territory(session)
    process = await create_process(session)
    proposal = await submit(session, process, await create_person(session))
    person = await create_person(session)
    await session.commit()
    await log_in(client, person.email)
    token = await csrf_token(client, f"/participation/proposals/{proposal.id}")
    copied = dict(client.cookies)
    await client.post("/logout", data={"csrf_token": token})
    async with httpx.AsyncClient(transport=client._transport, base_url="http://testserver", cookies=copied) as thief:
        sent = await thief.post(f"/participation/proposals/{proposal.id}/support", data={"csrf_token": token})
        assert sent.status_code == 303 and sent.headers["location"].startswith("/login")
    assert (await participation.get_support_target(session, proposal.id)).support_count == 0
    assert await session.scalar(select(func.count()).select_from(Support)) == 0


async def test_login_answers_the_same_for_an_unknown_address(client: httpx.AsyncClient, session: AsyncSession) -> None:
    person = await create_person(session)
    await session.commit()
    answers = []
    for email in (person.email, "personne@example.org"):
        token = await csrf_token(client, "/login")
        answer = await client.post("/login", data={"email": email, "password": "pas-le-bon-mot", "csrf_token": token})
        answers.append((answer.status_code, answer.text.replace(email, "EMAIL").replace(token, "TOKEN")))
    assert answers[0] == answers[1]


async def test_an_attacked_account_mails_its_owner_a_login_link_that_lets_them_in(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    settings = app.state.settings
    person = await create_person(session)
    await session.commit()
    for attempt in range(settings.login_account_max_failures):
        with pytest.raises(people.PeopleError):
            await people.authenticate(session, settings, person.email, "devine-devine", f"198.51.100.{attempt}")
    await session.commit()
    token = await csrf_token(client, "/login")
    form = {"email": person.email, "password": STRONG_PASSWORD, "csrf_token": token}
    refused = await client.post("/login", data=form, headers={"Accept-Language": "en"})
    assert refused.status_code == 429 and "sent you an e-mail with a link to log in" in refused.text
    [message] = await outbox_to(session, person.email)
    link = mailed_link(message)
    token = await csrf_token(client, link)
    assert (await client.post(link, data={"csrf_token": token})).status_code == 303
    assert (await client.get("/account")).status_code == 200


async def test_language_switch_is_remembered(client: httpx.AsyncClient) -> None:
    assert "Se connecter" in (await client.get("/login")).text  # French by default
    token = await csrf_token(client, "/login")
    switched = await client.post("/language", data={"locale": "en", "next": "/login", "csrf_token": token})
    assert switched.status_code == 303 and switched.headers["location"] == "/login"
    page = await client.get("/login")
    assert "Log in" in page.text and page.headers["content-language"] == "en"


async def test_forgot_password_puts_a_mail_in_the_outbox_and_the_link_works(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    person = await create_person(session)
    await session.commit()
    token = await csrf_token(client, "/password/forgot")
    sent = await client.post("/password/forgot", data={"email": person.email, "csrf_token": token})
    assert sent.status_code == 200
    message = (await session.execute(select(OutboxMessage))).scalar_one()
    link = message.body.split("http://127.0.0.1:8000")[1].split()[0]
    token = await csrf_token(client, link)
    reset = await client.post(link, data={"password": "nouveau-depart-a-belleville", "csrf_token": token})
    assert reset.status_code == 303
    assert (await client.get("/account")).status_code == 200


async def test_a_password_reset_signs_out_the_other_devices(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    person = await create_person(session)
    await session.commit()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as other:
        await log_in(other, person.email)
        assert (await other.get("/account")).status_code == 200
        token = await csrf_token(client, "/password/forgot")
        await client.post("/password/forgot", data={"email": person.email, "csrf_token": token})
        message = (await session.execute(select(OutboxMessage))).scalar_one()
        link = message.body.split("http://127.0.0.1:8000")[1].split()[0]
        token = await csrf_token(client, link)
        await client.post(link, data={"password": "nouveau-depart-a-belleville", "csrf_token": token})
        # The device that reset the password stays signed in; the one opened with the old password does not.
        assert (await client.get("/account")).status_code == 200
        stale = await other.get("/account")
        assert stale.status_code == 303 and stale.headers["location"].startswith("/login")


async def test_account_exports_and_consents(client: httpx.AsyncClient, session: AsyncSession) -> None:
    person = await create_person(session)
    await session.commit()
    await log_in(client, person.email)
    token = await csrf_token(client, "/account")
    await client.post("/account/consents", data={"consent_research": "on", "csrf_token": token})
    exported = await client.get("/account/export.json")
    assert exported.headers["content-disposition"].startswith("attachment")
    data = json.loads(exported.content)
    people_tables = data["domains"]["people"]["tables"]
    assert people_tables["account"][0]["email"] == person.email
    assert [(c["purpose"], c["granted"]) for c in people_tables["consents"]] == [("research", True)]
    archive = zipfile.ZipFile(io.BytesIO((await client.get("/account/export.zip")).content))
    assert "people/consents.csv" in archive.namelist()
    token = await csrf_token(client, "/account")
    await client.post("/account/consents", data={"csrf_token": token})  # unchecked: withdrawn
    again = json.loads((await client.get("/account/export.json")).content)
    assert [c["granted"] for c in again["domains"]["people"]["tables"]["consents"]] == [True, False]


async def test_erasing_the_account_needs_the_password_then_logs_out(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    person = await create_person(session)
    await session.commit()
    person_id = person.id
    await log_in(client, person.email)
    token = await csrf_token(client, "/account")
    refused = await client.post("/account/erase", data={"password": "wrong", "csrf_token": token})
    assert refused.status_code == 400
    erased = await client.post("/account/erase", data={"password": STRONG_PASSWORD, "csrf_token": token})
    assert erased.status_code == 303
    session.expunge_all()
    assert await session.get(Person, person_id) is None
    assert (await client.get("/account")).status_code == 303


async def test_administration_is_for_admins_and_their_look_is_logged(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    citizen = await create_person(session)
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, citizen.email)
    assert (await client.get("/admin")).status_code == 403
    client.cookies.clear()
    await log_in(client, admin.email)
    listing = await client.get("/admin")
    assert citizen.display_name in listing.text and citizen.email not in listing.text
    detail = await client.get(f"/admin/people/{citizen.id}")
    assert citizen.email in detail.text
    client.cookies.clear()
    await log_in(client, citizen.email)
    account = await client.get("/account", headers={"Accept-Language": "en"})
    assert "viewed your account" in account.text


async def test_admin_manages_departments_roles_and_tokens(client: httpx.AsyncClient, session: AsyncSession) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    citizen = await create_person(session)
    await session.commit()
    await log_in(client, admin.email)
    token = await csrf_token(client, "/admin/departments")
    created = await client.post("/admin/departments", data={"code": "eau", "name": "Eau", "csrf_token": token})
    assert created.status_code == 303
    duplicate = await client.post("/admin/departments", data={"code": "eau", "name": "Eau 2", "csrf_token": token})
    assert duplicate.status_code == 400
    page = await client.get("/admin/departments")
    assert "Eau" in page.text
    department_id = page.text.split("/admin/departments/")[1].split("/")[0]
    role = await client.post(
        f"/admin/people/{citizen.id}/role", data={"role": "staff", "department_id": department_id, "csrf_token": token}
    )
    assert role.status_code == 303
    await session.refresh(citizen)
    assert citizen.role == Role.STAFF
    made = await client.post(
        "/admin/tokens", data={"name": "capteurs", "scopes": ["sensing:write"], "csrf_token": token}
    )
    assert made.status_code == 201
    secret = made.text.split('id="new-token">')[1].split("<")[0]
    assert secret.startswith("cit_")
    listing = await client.get("/admin/tokens")
    assert secret not in listing.text and "capteurs" in listing.text
    bad = await client.post("/admin/tokens", data={"name": "", "csrf_token": token})
    assert bad.status_code == 400


async def test_privacy_page_says_what_is_stored_and_why(client: httpx.AsyncClient) -> None:
    page = await client.get("/privacy", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "What we store and why" in page.text and "Argon2" in page.text


async def test_a_suspended_account_cannot_log_in_and_is_signed_out(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    citizen = await create_person(session)
    await session.commit()
    citizen_client = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    await log_in(citizen_client, citizen.email)
    await log_in(client, admin.email)
    token = await csrf_token(client, f"/admin/people/{citizen.id}")
    own = await client.post(f"/admin/people/{admin.id}/active", data={"active": "0", "csrf_token": token})
    assert own.status_code == 400
    suspended = await client.post(f"/admin/people/{citizen.id}/active", data={"active": "0", "csrf_token": token})
    assert suspended.status_code == 303
    assert (await citizen_client.get("/account")).status_code == 303
    token = await csrf_token(citizen_client, "/login")
    refused = await citizen_client.post(
        "/login", data={"email": citizen.email, "password": STRONG_PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 400
    await citizen_client.aclose()
