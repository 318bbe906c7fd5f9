from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.demo.common import DEMO_ACCOUNTS
from citoyen.demo.generator import build_demo, demo_is_built
from citoyen.people import service as people
from citoyen.people.models import ConsentRecord, Person, Role
from citoyen.territory import service as territory

# The territory, departments, accounts and residents, which these tests check; each part of the city has its own
# tests (tests/demo/test_<part>.py), and building the whole city twice per backend cost CI most of a minute.
CORE_ONLY: frozenset[str] = frozenset()


async def _snapshot(session: AsyncSession) -> tuple[list[str], int]:
    names = list((await session.execute(select(Person.display_name).order_by(Person.id))).scalars())
    consents = int((await session.execute(select(func.count()).select_from(ConsentRecord))).scalar_one())
    return names, consents


async def test_the_demo_city_is_paris_with_accounts_that_log_in(session: AsyncSession, settings: Settings) -> None:
    demo_settings = settings.model_copy(update={"demo_citizens": 120})
    assert not await demo_is_built(session)
    await build_demo(session, demo_settings, with_open_data=False, only=CORE_ONLY)
    assert await demo_is_built(session)
    neighbourhoods = await territory.list_neighbourhoods(session)
    assert len(neighbourhoods) == 80
    assert {n.name for n in neighbourhoods} >= {"Saint-Germain-des-Prés", "Belleville", "La Chapelle"}
    for account in DEMO_ACCOUNTS:
        person = await people.authenticate(session, settings, account.email, account.password, "demo")
        assert person.role == account.role
    staff = await people.find_person_by_email(session, DEMO_ACCOUNTS[2].email)
    assert staff is not None and staff.role == Role.STAFF and staff.department_id is not None
    residents = await session.execute(select(Person).where(Person.password_hash.is_(None)))
    names = [person.display_name for person in residents.scalars()]
    assert len(names) == 120 and len(set(names)) == 120
    assert not any("@" in name or "resident" in name for name in names)


async def test_the_same_seed_builds_the_same_city(session: AsyncSession, settings: Settings) -> None:
    demo_settings = settings.model_copy(update={"demo_citizens": 60})
    first_build = await session.begin_nested()
    await build_demo(session, demo_settings, with_open_data=False, only=CORE_ONLY)
    first = await _snapshot(session)
    await first_build.rollback()
    await build_demo(session, demo_settings, with_open_data=False, only=CORE_ONLY)
    assert await _snapshot(session) == first
    assert first[1] > 0  # some residents gave consent
