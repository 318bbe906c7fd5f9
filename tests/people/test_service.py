from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import make_engine, make_sessionmaker, utcnow
from citoyen.people import security
from citoyen.people import service as people
from citoyen.people.mail import send_mail
from citoyen.people.models import (
    AccessLogEntry,
    EmailLink,
    LoginFailure,
    LoginSession,
    OutboxMessage,
    PasswordResetToken,
    Person,
    Role,
)
from citoyen.people.registry import PersonalDataRegistry
from citoyen.people.security import credential_stamp, hash_token
from citoyen.people.tasks import prune_expired
from tests.factories import STRONG_PASSWORD, create_person


@pytest.fixture
def registry() -> PersonalDataRegistry:
    from citoyen.app import build_personal_data_registry

    return build_personal_data_registry()


@pytest.mark.parametrize(
    ("email", "password", "problem"),
    [
        ("not-an-email", STRONG_PASSWORD, "This e-mail address is not valid."),
        ("ok@example.org", "short", "The password must have at least 10 characters."),
        ("ok@example.org", "password1234", "too easy to guess"),
        ("ok@example.org", "azertyuiop", "too easy to guess"),
        ("jeanne.martin@example.org", "jeanne.martin-2026!", "must not contain your e-mail"),
    ],
)
async def test_sign_up_refuses_bad_email_and_weak_passwords(
    session: AsyncSession, email: str, password: str, problem: str
) -> None:
    with pytest.raises(people.PeopleError) as refused:
        await people.create_person(session, email, password)
    assert any(problem in message for message in refused.value.problems)
    assert (await session.execute(select(Person))).first() is None


async def test_sign_up_refuses_an_existing_email_whatever_its_case(session: AsyncSession) -> None:
    await create_person(session, "Lea@Example.org")
    with pytest.raises(people.PeopleError, match="already exists"):
        await people.create_person(session, "lea@example.ORG", STRONG_PASSWORD)


async def test_new_accounts_get_a_pseudonym_that_reveals_nothing_of_the_email(session: AsyncSession) -> None:
    person = await create_person(session, "marie.dupont@example.org")
    assert person.display_name.startswith("Citoyen-")
    assert "marie" not in person.display_name.lower()
    assert person.password_hash is not None and person.password_hash.startswith("$argon2")


async def _age_failures(session: AsyncSession, seconds: float) -> None:
    """As if the failures so far had happened `seconds` earlier."""
    for failure in (await session.execute(select(LoginFailure))).scalars():
        failure.at -= timedelta(seconds=seconds)
    await session.flush()


async def test_failures_slow_down_the_client_making_them_with_a_growing_delay_but_not_the_owner(
    session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session)
    assert (await people.authenticate(session, settings, person.email, STRONG_PASSWORD, "10.0.0.1")).id == person.id
    for _ in range(settings.login_max_failures):
        with pytest.raises(people.PeopleError, match="Wrong e-mail address or password"):
            await people.authenticate(session, settings, person.email, "wrong-password", "10.0.0.1")
    # That client waits, even with the right password; the owner, elsewhere, logs in.
    with pytest.raises(people.LoginThrottled):
        await people.authenticate(session, settings, person.email, STRONG_PASSWORD, "10.0.0.1")
    assert (await people.authenticate(session, settings, person.email, STRONG_PASSWORD, "10.0.0.2")).id == person.id
    # After the delay, one more try; a new failure doubles the wait.
    await _age_failures(session, settings.login_delay_seconds + 1)
    with pytest.raises(people.PeopleError, match="Wrong e-mail address or password"):
        await people.authenticate(session, settings, person.email, "wrong-password", "10.0.0.1")
    await _age_failures(session, settings.login_delay_seconds + 1)
    with pytest.raises(people.LoginThrottled):
        await people.authenticate(session, settings, person.email, STRONG_PASSWORD, "10.0.0.1")
    await _age_failures(session, settings.login_delay_seconds)
    assert (await people.authenticate(session, settings, person.email, STRONG_PASSWORD, "10.0.0.1")).id == person.id


async def test_one_client_failing_on_many_accounts_is_refused(session: AsyncSession, settings: Settings) -> None:
    person = await create_person(session)
    for attempt in range(settings.login_client_max_failures):
        with pytest.raises(people.PeopleError, match="Wrong e-mail address or password"):
            await people.authenticate(session, settings, f"cible{attempt}@example.org", "devine-devine", "10.0.0.9")
    with pytest.raises(people.LoginThrottled):
        await people.authenticate(session, settings, person.email, STRONG_PASSWORD, "10.0.0.9")
    assert (await people.authenticate(session, settings, person.email, STRONG_PASSWORD, "10.0.0.8")).id == person.id


async def test_an_attacked_account_stops_taking_its_password_the_same_way_whether_it_exists(
    session: AsyncSession, settings: Settings
) -> None:
    """Past the limit of failures from anywhere, the password is not checked for the window; the owner gets
    one login link, however many attempts follow, and an unknown address gets the same answer."""
    person = await create_person(session)
    login_link = people.MailText("Log in", "{link}")
    refusals = []
    for email in (person.email, "inconnue@example.org"):
        for attempt in range(settings.login_account_max_failures):
            with pytest.raises(people.PeopleError):
                await people.authenticate(session, settings, email, "devine-devine", f"203.0.113.{attempt}")
        for _ in range(3):
            with pytest.raises(people.LoginThrottled) as refused:
                await people.authenticate(session, settings, email, STRONG_PASSWORD, "192.0.2.1", login_link)
            refusals.append(refused.value.problems)
    assert refusals == [[people.ACCOUNT_UNDER_ATTACK]] * 6
    mails = list((await session.execute(select(OutboxMessage))).scalars())
    assert [m.recipient for m in mails] == [person.email]
    assert (await people.follow_email_link(session, mails[0].body.rsplit("/", 1)[1])).id == person.id


async def test_login_checks_a_password_hash_even_for_unknown_or_unusable_accounts(
    session: AsyncSession, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So that an answer takes as long whether the account exists (argon2 is the slow part of a login)."""
    checked: list[str] = []
    real_verify = security.verify_password

    def verify(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash or "")
        return real_verify(password_hash, password)

    monkeypatch.setattr("citoyen.people.login.verify_password", verify)
    person = await create_person(session)
    suspended = await create_person(session)
    suspended.is_active = False
    without_password = await people.create_person(session, "demo@example.org", None)
    problems = []
    for email in (person.email, "personne@example.org", suspended.email, without_password.email):
        with pytest.raises(people.PeopleError) as refused:
            await people.authenticate(session, settings, email, "pas-le-bon-mot", "10.0.0.3")
        problems.append(refused.value.problems)
    assert len(checked) == 4 and all(h.startswith("$argon2") for h in checked)
    assert problems == [["Wrong e-mail address or password."]] * 4
    with pytest.raises(people.PeopleError):
        await people.authenticate(session, settings, suspended.email, STRONG_PASSWORD, "10.0.0.4")


async def test_sign_up_by_mail_creates_the_account_only_when_the_link_is_followed(
    session: AsyncSession, settings: Settings
) -> None:
    confirm, taken = people.MailText("Confirm", "{link}"), people.MailText("Taken", "{link}")
    owner = await create_person(session, "prise@example.org")
    for email in ("Prise@example.org", "neuve@example.org"):
        await people.request_sign_up(session, settings, email, STRONG_PASSWORD, "", "en", confirm, taken)
    mails = {m.recipient: m for m in (await session.execute(select(OutboxMessage))).scalars()}
    assert mails["prise@example.org"].subject == "Taken" and "/password/reset/" in mails["prise@example.org"].body
    assert mails["neuve@example.org"].subject == "Confirm"
    assert (await session.execute(select(Person).where(Person.email == "neuve@example.org"))).first() is None
    # Someone else's sign-up with the same address, then the first link: one account, the first password.
    await people.request_sign_up(
        session, settings, "neuve@example.org", "autre-mot-de-passe-long", "", "en", confirm, taken
    )
    person = await people.follow_email_link(session, mails["neuve@example.org"].body.rsplit("/", 1)[1])
    assert person.email == "neuve@example.org" and person.locale == "en"
    assert (await people.authenticate(session, settings, person.email, STRONG_PASSWORD, "10.0.0.5")).id == person.id
    assert (await session.execute(select(EmailLink))).first() is None
    assert owner.password_hash is not None


async def test_ended_sessions_stop_holding_their_claim_at_once(session: AsyncSession) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    person = await create_person(session)

    async def claim() -> people.Claim:
        return people.Claim(
            person.id,
            credential_stamp(person.password_hash),
            hash_token(await people.open_session(session, person, "")),
        )

    ended = await claim()
    assert await people.claim_holds_now(session, ended)
    await people.end_session(session, ended.session)
    assert not await people.claim_holds_now(session, ended)
    others = [await claim(), await claim()]
    await people.end_all_sessions(session, person.id)
    assert not any([await people.claim_holds_now(session, c) for c in others])
    before_role_change = await claim()
    await people.set_role(session, admin, person, Role.MODERATOR, None)
    assert not await people.claim_holds_now(session, before_role_change)
    before_suspension = await claim()
    await people.set_active(session, admin, person, False)
    await people.set_active(session, admin, person, True)
    assert not await people.claim_holds_now(session, before_suspension)
    assert await people.claim_holds_now(session, await claim())
    assert [s.ended_at for s in await people.live_sessions(session, person.id)] == [None]


async def test_a_single_statement_route_notes_a_session_seen_without_a_savepoint(
    own_database_url: str, settings: Settings
) -> None:
    """On PostgreSQL a single-statement route (a vote) runs in autocommit, where a SAVEPOINT is an error: a
    signed-in page there that noted its session seen answered 500 once the session had gone unseen for
    `session_touch_minutes`. The claim holds and the session is noted seen, with commits that are real."""
    if not own_database_url.startswith("postgresql"):
        pytest.skip("SQLite routes never run in autocommit")
    engine = make_engine(own_database_url)
    try:
        async with make_sessionmaker(engine)() as setup:
            person = await create_person(setup)
            session_hash = hash_token(await people.open_session(setup, person, ""))
            long_ago = utcnow() - timedelta(minutes=settings.session_touch_minutes + 1)
            await setup.execute(
                update(LoginSession).where(LoginSession.id_hash == session_hash).values(last_seen_at=long_ago)
            )
            await setup.commit()
        claim = people.Claim(person.id, credential_stamp(person.password_hash), session_hash)
        async with make_sessionmaker(engine)() as voting:
            await voting.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            signed_in = await people.signed_in_person(voting, settings, claim)
            assert signed_in is not None and signed_in.id == person.id
        async with make_sessionmaker(engine)() as check:
            seen = await check.scalar(select(LoginSession.last_seen_at).where(LoginSession.id_hash == session_hash))
            assert seen is not None and seen > long_ago
    finally:
        await engine.dispose()


async def test_password_reset_mails_a_one_time_link_that_sets_a_new_password(
    session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session)
    await people.start_password_reset(session, settings, person.email, "Reset", "Open {link}")
    message = (await session.execute(select(OutboxMessage))).scalar_one()
    assert message.recipient == person.email
    token = message.body.split("/password/reset/")[1].strip()
    assert await people.reset_token_is_valid(session, token)
    with pytest.raises(people.PeopleError, match="too easy"):
        await people.complete_password_reset(session, token, "1234567890")
    await people.complete_password_reset(session, token, "un-nouveau-mot-de-passe-solide")
    assert (await people.authenticate(session, settings, person.email, "un-nouveau-mot-de-passe-solide", "x")).id
    with pytest.raises(people.PeopleError, match="invalid or has expired"):
        await people.complete_password_reset(session, token, "encore-un-autre-mot-de-passe")


async def test_password_reset_for_an_unknown_email_sends_nothing(session: AsyncSession, settings: Settings) -> None:
    await people.start_password_reset(session, settings, "nobody@example.org", "Reset", "{link}")
    assert (await session.execute(select(OutboxMessage))).first() is None


async def test_expired_reset_links_are_refused(session: AsyncSession, settings: Settings) -> None:
    person = await create_person(session)
    session.add(
        PasswordResetToken(
            person_id=person.id, token_hash=hash_token("old"), expires_at=utcnow() - timedelta(minutes=1)
        )
    )
    await session.flush()
    assert not await people.reset_token_is_valid(session, "old")


async def test_spent_and_expired_reset_tokens_are_deleted_when_a_new_reset_starts(
    session: AsyncSession, settings: Settings
) -> None:
    person = await create_person(session)
    session.add_all(
        [
            PasswordResetToken(person_id=person.id, token_hash=hash_token("old"), expires_at=utcnow() - timedelta(1)),
            PasswordResetToken(
                person_id=person.id, token_hash=hash_token("used"), expires_at=utcnow() + timedelta(1), used_at=utcnow()
            ),
        ]
    )
    await session.flush()
    await people.start_password_reset(session, settings, person.email, "Reset", "Open {link}")
    remaining = (await session.execute(select(PasswordResetToken.token_hash))).scalars().all()
    assert len(remaining) == 1 and hash_token("old") not in remaining and hash_token("used") not in remaining


async def test_the_outbox_forgets_messages_older_than_its_retention(session: AsyncSession, settings: Settings) -> None:
    session.add(OutboxMessage(recipient="a@example.org", subject="Old", body="x", created_at=utcnow() - timedelta(30)))
    await session.flush()
    await send_mail(session, settings, "b@example.org", "New", "y")
    await prune_expired(session, settings, utcnow())  # housekeeping
    assert (await session.execute(select(OutboxMessage.subject))).scalars().all() == ["New"]


async def test_consent_is_recorded_per_purpose_with_history_and_can_be_withdrawn(session: AsyncSession) -> None:
    person = await create_person(session)
    assert not await people.has_consent(session, person, "research")
    await people.record_consent(session, person, "research", True)
    assert await people.has_consent(session, person, "research")
    assert not await people.has_consent(session, person, "email_notifications")
    await people.record_consent(session, person, "research", False)
    assert not await people.has_consent(session, person, "research")
    current = await people.current_consents(session, person)
    record = current["research"]
    assert record is not None and record.text_version == people.CONSENT_PURPOSES["research"].version
    with pytest.raises(people.PeopleError):
        await people.record_consent(session, person, "advertising", True)


async def test_staff_access_is_logged_for_the_person_but_not_their_own(session: AsyncSession) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    citizen = await create_person(session)
    await people.log_access(session, admin, citizen.id, "account_viewed", "admin account page")
    await people.log_access(session, citizen, citizen.id, "account_viewed")
    entries = await people.access_log(session, citizen)
    assert [(e.actor_role, e.action) for e in entries] == [("admin", "account_viewed")]


async def test_export_contains_everything_held_about_the_person(
    session: AsyncSession, settings: Settings, registry: PersonalDataRegistry
) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    person = await create_person(session, display_name="Léa du canal")
    await people.record_consent(session, person, "email_notifications", True)
    await people.log_access(session, admin, person.id, "account_viewed")
    await people.start_password_reset(session, settings, person.email, "Reset", "{link}")
    await people.open_session(session, person, "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    export = await people.export_personal_data(session, registry, person)
    tables = export["domains"]["people"]["tables"]
    assert tables["account"][0]["email"] == person.email
    assert tables["account"][0]["display_name"] == "Léa du canal"
    assert "password_hash" not in tables["account"][0]
    assert tables["consents"][0]["purpose"] == "email_notifications"
    assert tables["access_log"][0]["action"] == "account_viewed"
    assert tables["mail_sent"][0]["recipient"] == person.email
    assert tables["sessions"][0]["user_agent"] == "Firefox / Linux" and tables["sessions"][0]["ended_at"] is None


async def test_export_as_zip_has_one_csv_per_table(session: AsyncSession, registry: PersonalDataRegistry) -> None:
    import io
    import zipfile

    person = await create_person(session)
    archive = zipfile.ZipFile(
        io.BytesIO(people.export_as_csv_zip(await people.export_personal_data(session, registry, person)))
    )
    assert {"export.json", "people/account.csv", "people/consents.csv"} <= set(archive.namelist())
    assert person.email in archive.read("people/account.csv").decode()


async def _all_text_in_database(session: AsyncSession) -> str:
    """Every value of every table, as one string, to look for leftovers of a person."""
    from citoyen.models import metadata

    chunks: list[str] = []
    for table in metadata.sorted_tables:
        rows = await session.execute(text(f"SELECT * FROM {table.name}"))  # noqa: S608 - our own table names
        chunks.extend(str(tuple(row)) for row in rows)
    return "\n".join(chunks)


async def test_erasure_leaves_no_personal_data_anywhere(
    session: AsyncSession, settings: Settings, registry: PersonalDataRegistry
) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    person = await create_person(session, "erase.me@example.org", display_name="Pseudo-à-effacer")
    await people.record_consent(session, person, "research", True)
    await people.log_access(session, admin, person.id, "account_viewed")
    await people.start_password_reset(session, settings, person.email, "Reset", "{link}")
    with pytest.raises(people.PeopleError):
        await people.authenticate(session, settings, person.email, "wrong-password", "10.1.1.1")
    await people.create_api_token(session, "made by admin", ["open311"], admin)
    session_id = await people.open_session(session, person, "Mozilla/5.0 (Windows NT 10.0) Edg/120.0")
    from citoyen.buildings import service as buildings
    from tests.buildings.helpers import add_building

    await buildings.request_link(session, (await add_building(session)).thing_id, person)
    from tests.feed.helpers import erasable_feed_data

    await erasable_feed_data(session, person)
    from tests.projects.helpers import erasable_project_data

    await erasable_project_data(session, person)
    link = people.MailText("Log in", "{link}")
    for attempt in range(settings.login_account_max_failures + 1):
        with pytest.raises(people.PeopleError):
            await people.authenticate(session, settings, person.email, "wrong-password", f"10.2.2.{attempt}", link)
    await people.request_sign_up(
        session, settings, "erase.me@example.org", STRONG_PASSWORD, "", "fr", link, people.MailText("Taken", "{link}")
    )
    await session.flush()
    everything = await _all_text_in_database(session)
    assert (
        "erase.me@example.org" in everything and hash_token(session_id) in everything and "Edge / Windows" in everything
    )
    assert (await session.execute(select(EmailLink))).first() is not None

    person_id = person.id
    await people.erase_person(session, registry, person)
    await session.flush()

    everything = await _all_text_in_database(session)
    assert "erase.me@example.org" not in everything
    assert "Pseudo-à-effacer" not in everything
    assert hash_token("account:erase.me@example.org") not in everything
    assert hash_token(session_id) not in everything and "Edge / Windows" not in everything
    assert (await session.execute(select(LoginSession))).first() is None
    assert (await session.execute(select(EmailLink))).first() is None
    assert await session.get(Person, person_id) is None
    assert (await session.execute(select(AccessLogEntry).where(AccessLogEntry.subject_id == person_id))).first() is None
    assert (await buildings.export_personal_data(session, person)) == {"building_links": []}
    feed_data = next(provider for provider in registry.providers if provider.domain == "feed")
    assert not any((await feed_data.export(session, person)).values())
    projects_data = next(provider for provider in registry.providers if provider.domain == "projects")
    assert not any((await projects_data.export(session, person)).values())


async def test_erasing_a_staff_member_keeps_the_access_log_of_others_meaningful(
    session: AsyncSession, registry: PersonalDataRegistry
) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    citizen = await create_person(session)
    await people.log_access(session, admin, citizen.id, "account_viewed")
    await people.erase_person(session, registry, admin)
    await session.flush()
    entries = await people.access_log(session, citizen)
    assert len(entries) == 1 and entries[0].actor_role == "admin"


async def test_api_tokens_are_stored_hashed_checked_by_scope_and_revocable(session: AsyncSession) -> None:
    token, secret = await people.create_api_token(session, "capteurs", ["sensing:write"])
    assert secret not in token.token_hash and token.token_hash == hash_token(secret)
    assert await people.verify_api_token(session, secret, "sensing:write") is not None
    assert await people.verify_api_token(session, secret, "open311") is None
    assert await people.verify_api_token(session, secret + "x", "sensing:write") is None
    await people.revoke_api_token(session, token.id)
    assert await people.verify_api_token(session, secret, "sensing:write") is None
    with pytest.raises(people.PeopleError, match="Unknown scope"):
        await people.create_api_token(session, "bad", ["everything"])


async def test_roles_staff_needs_a_department_and_admins_cannot_demote_themselves(session: AsyncSession) -> None:
    admin = await create_person(session, role=Role.ADMIN)
    citizen = await create_person(session)
    with pytest.raises(people.PeopleError, match="belong to a department"):
        await people.set_role(session, admin, citizen, Role.STAFF, None)
    department = await people.create_department(session, "voirie", "Voirie")
    await people.set_role(session, admin, citizen, Role.STAFF, department.id)
    assert citizen.role == Role.STAFF and citizen.department_id == department.id
    with pytest.raises(people.PeopleError, match="your own administrator role"):
        await people.set_role(session, admin, admin, Role.CITIZEN, None)
    log = await people.access_log(session, citizen)
    assert log[0].action == "role_changed"


async def test_department_codes_are_unique_and_well_formed(session: AsyncSession) -> None:
    await people.create_department(session, "Eau", "Eau et assainissement")
    with pytest.raises(people.PeopleError, match="already exists"):
        await people.create_department(session, "eau", "Autre")
    with pytest.raises(people.PeopleError, match="may only contain"):
        await people.create_department(session, "eau potable!", "Autre")
