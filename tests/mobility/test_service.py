"""The carpool board's rules: what matches (walking distance, direction, windows, days) and in what order, what
is refused with nothing stored, who may write to whom, expiry deleting the cells, export and erasure."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.db import utcnow
from citoyen.errors import Kind
from citoyen.housekeeping import Housekeeping
from citoyen.indicators import service as indicators
from citoyen.mobility import indicator as mobility_indicator
from citoyen.mobility import service as mobility
from citoyen.mobility.models import CarpoolMessage, CarpoolRequest, CarpoolTrip
from citoyen.notifications import service as notifications
from citoyen.people import service as people
from citoyen.people.registry import PersonalDataRegistry
from citoyen.territory import service as territory
from tests.factories import create_person
from tests.mobility.helpers import HOME, WORK, post
from tests.territory.helpers import create_territory

# About 330 m from HOME and WORK (within walking distance); FAR is about 1.2 km from HOME.
NEAR_HOME = (2.3060, 48.8540)
NEAR_WORK = (2.3140, 48.8590)
FAR = (2.3180, 48.8520)


async def _two(session: AsyncSession):  # type: ignore[no-untyped-def]
    await create_territory(session)
    return await create_person(session), await create_person(session)


async def _ids(session: AsyncSession, trip: CarpoolTrip) -> list[int]:
    return [match.trip.id for match in await mobility.find_matches(session, trip)]


async def test_matches_are_near_both_ends_same_direction_overlapping_and_ranked(session: AsyncSession) -> None:
    rider, driver = await _two(session)
    other = await create_person(session)
    mine = await post(session, rider)
    near = await post(session, driver, "offer", NEAR_HOME, NEAR_WORK, window=(7 * 60 + 40, 8 * 60 + 30), seats=3)
    exact = await post(session, other, "offer", HOME, WORK, window=(7 * 60 + 30, 8 * 60))
    # Not matches: too far at the start, the other direction, a window that does not overlap, no common day,
    # another seeker (same kind).
    await post(session, driver, "offer", FAR, WORK)
    await post(session, driver, "offer", WORK, HOME)
    await post(session, driver, "offer", window=(9 * 60, 9 * 60 + 30))
    await post(session, driver, "offer", weekdays=frozenset({5, 6}))
    other_seeker = await post(session, other, "seek", window=(8 * 60, 8 * 60 + 30))
    assert await _ids(session, mine) == [exact.id, near.id]
    found = (await mobility.find_matches(session, mine))[1]
    assert 0 < found.walk_start_m <= 800 and 0 < found.walk_end_m <= 800 and found.gap_minutes == 10
    # The driver finds both seekers the other way round, the closer in time first.
    assert await _ids(session, near) == [mine.id, other_seeker.id]


async def test_one_off_trips_match_on_their_weekday_and_date(session: AsyncSession) -> None:
    rider, driver = await _two(session)
    day = (utcnow() + timedelta(days=3)).date()
    once = await post(session, rider, on_date=day)
    regular = await post(session, driver, "offer", weekdays=frozenset({day.weekday()}))
    await post(session, driver, "offer", weekdays=frozenset({(day.weekday() + 1) % 7}))
    same_day = await post(session, driver, "offer", on_date=day)
    await post(session, driver, "offer", on_date=day + timedelta(days=1))
    assert sorted(await _ids(session, once)) == sorted([regular.id, same_day.id])


async def test_bad_trips_are_refused_and_nothing_is_stored(session: AsyncSession) -> None:
    person, _ = await _two(session)
    yesterday = (utcnow() - timedelta(days=1)).date()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"start": (2.40, 48.90)}, "start"),  # outside the city
        ({"end": HOME}, "end"),  # ends where it starts
        ({"seats": 0}, "seats"),
        ({"seats": 9}, "seats"),
        ({"window": (9 * 60, 8 * 60)}, "window"),
        ({"weekdays": frozenset()}, "days"),
        ({"on_date": yesterday}, "window"),  # a window already past
    ]
    for change, field in cases:
        with pytest.raises(mobility.CarpoolError) as refused:
            await post(session, person, **change)
        assert refused.value.kind == Kind.INVALID and refused.value.status_code == 400, change
        assert refused.value.field == field, change
    assert (await session.execute(select(func.count()).select_from(CarpoolTrip))).scalar_one() == 0


async def test_only_the_two_people_of_an_accepted_request_write_to_each_other(session: AsyncSession) -> None:
    rider, driver = await _two(session)
    stranger = await create_person(session)
    offer = await post(session, driver, "offer", seats=1)
    asked = await mobility.ask(session, rider, offer.id)
    for person in (rider, driver, stranger):
        with pytest.raises(mobility.CarpoolError) as refused:
            await mobility.write(session, person, asked.id, "Bonjour")
        assert refused.value.status_code == 403
    with pytest.raises(mobility.CarpoolError) as not_owner:
        await mobility.answer(session, rider, asked.id, accept=True)
    assert not_owner.value.status_code == 403
    with pytest.raises(mobility.CarpoolError) as unseen:
        await mobility.exchange(session, stranger, asked.id)
    assert unseen.value.status_code == 404
    await mobility.answer(session, driver, asked.id, accept=True)
    await mobility.write(session, rider, asked.id, "Devant la boulangerie à 7 h 40 ?")
    await mobility.write(session, driver, asked.id, "Parfait.")
    with pytest.raises(mobility.CarpoolError) as stranger_writes:
        await mobility.write(session, stranger, asked.id, "Moi aussi")
    assert stranger_writes.value.status_code == 403
    assert [m.body for m in await mobility.messages_of(session, asked.id)] == [
        "Devant la boulangerie à 7 h 40 ?",
        "Parfait.",
    ]
    # The one seat is taken: another neighbour cannot ask; then the rider withdraws and no one writes any more.
    with pytest.raises(mobility.CarpoolError) as full:
        await mobility.ask(session, stranger, offer.id)
    assert full.value.status_code == 409
    await mobility.withdraw(session, rider, asked.id)
    with pytest.raises(mobility.CarpoolError) as closed:
        await mobility.write(session, driver, asked.id, "Dommage")
    assert closed.value.status_code == 403


async def test_the_owner_withdraws_a_trip_and_its_requests_close(session: AsyncSession) -> None:
    rider, driver = await _two(session)
    offer = await post(session, driver, "offer", seats=2)
    asked = await mobility.ask(session, rider, offer.id)
    with pytest.raises(mobility.CarpoolError) as not_yours:
        await mobility.withdraw_trip(session, rider, offer.id)
    assert not_yours.value.status_code == 403
    await mobility.withdraw_trip(session, driver, offer.id)
    await session.refresh(asked)
    assert asked.status == "withdrawn" and offer.from_cell is None and offer.to_cell is None
    with pytest.raises(mobility.CarpoolError):
        await mobility.ask(session, rider, offer.id)


async def test_housekeeping_expires_trips_and_deletes_their_cells(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    rider, driver = await _two(session)
    now = utcnow()
    once = await post(session, rider, on_date=(now + timedelta(days=2)).date(), now=now)
    regular = await post(session, driver, "offer", now=now)
    await session.commit()
    housekeeping = Housekeeping()
    mobility.register_housekeeping(housekeeping)
    done = await housekeeping.run(sessionmaker, now + timedelta(days=5))
    assert list(done.values()) == [1]
    await session.refresh(once)
    await session.refresh(regular)
    assert (once.status, once.from_cell, once.to_cell) == ("expired", None, None)
    assert once.from_neighbourhood_id is not None  # kept for the aggregates
    assert regular.status == "active" and regular.from_cell is not None
    assert await mobility.find_matches(session, regular, now + timedelta(days=5)) == []


async def test_export_and_erase(session: AsyncSession) -> None:
    rider, driver = await _two(session)
    offer = await post(session, driver, "offer", seats=2)
    mine = await post(session, rider)
    asked = await mobility.ask(session, rider, offer.id, mine.id)
    await mobility.answer(session, driver, asked.id, accept=True)
    await mobility.write(session, rider, asked.id, "Merci !")
    await people.create_api_token(session, "mon appli de covoiturage", ["carpool"], rider)
    await people.create_api_token(session, "capteurs", ["sensing:write"], rider)  # a machine's: it stays
    registry = PersonalDataRegistry()
    mobility.register_personal_data(registry)
    (provider,) = registry.providers
    exported = await provider.export(session, rider)
    assert [trip["trip_id"] for trip in exported["carpool_trips"]] == [mine.id]
    assert exported["carpool_trips"][0]["from_h3_cell"] == mine.from_cell
    assert exported["carpool_requests"][0]["made_by_you"] is True
    assert exported["carpool_messages"][0]["text"] == "Merci !"
    assert not any("lon" in key or "lat" in key for key in exported["carpool_trips"][0])
    assert [token["name"] for token in exported["carpool_api_tokens"]] == ["mon appli de covoiturage"]
    await provider.erase(session, rider)
    session.expunge_all()
    for model in (CarpoolMessage, CarpoolRequest):
        assert (await session.execute(select(func.count()).select_from(model))).scalar_one() == 0
    left = (await session.execute(select(CarpoolTrip.person_id))).scalars().all()
    assert left == [driver.id]
    assert [token.name for token in await people.list_api_tokens(session)] == ["capteurs"]


async def test_flows_between_quartiers_leave_out_pairs_under_ten_trips(session: AsyncSession) -> None:
    rider, driver = await _two(session)
    for _ in range(10):
        await post(session, rider)  # Ouest -> Est
    for _ in range(9):
        await post(session, driver, "offer", WORK, HOME)  # Est -> Ouest: too few to be shown
    withdrawn = await post(session, driver, "offer", WORK, HOME)
    await mobility.withdraw_trip(session, driver, withdrawn.id)  # withdrawn trips are not counted
    (flow,) = await mobility.flows(session)
    assert (flow.trips, flow.hour) == (10, None)
    (by_hour,) = await mobility.flows(session, by_hour=True)
    assert (by_hour.trips, by_hour.hour) == (10, 7)


async def test_each_step_of_a_request_is_told_to_the_other_person_in_their_language(session: AsyncSession) -> None:
    rider, driver = await _two(session)
    driver.locale = "en"
    offer = await post(session, driver, "offer", seats=2)
    asked = await mobility.ask(session, rider, offer.id)
    await mobility.answer(session, driver, asked.id, accept=True)
    await mobility.write(session, rider, asked.id, "Devant la boulangerie ?")
    await mobility.withdraw(session, rider, asked.id)

    async def told(person: Any) -> list[tuple[str, str]]:
        return [
            (n.title_in(person.locale), n.link)
            for n in reversed(await notifications.list_notifications(session, person))
        ]

    link = f"/carpool/requests/{asked.id}"
    assert await told(driver) == [
        ("A neighbour asks to share your trip", link),
        ("A new message about your carpool", link),
        ("A neighbour withdrew their request to share your trip", link),
    ]
    assert await told(rider) == [("Votre demande de covoiturage a été acceptée", link)]


async def test_the_quartier_indicator_counts_trips_per_week_and_leaves_out_weeks_under_ten(
    session: AsyncSession,
) -> None:
    rider, driver = await _two(session)
    now = utcnow()
    for _ in range(10):
        await post(session, rider, now=now)  # from Ouest
    for _ in range(9):
        await post(session, driver, "offer", WORK, HOME, now=now)  # from Est: too few to be shown
    withdrawn = await post(session, rider, now=now)
    await mobility.withdraw_trip(session, rider, withdrawn.id)
    housekeeping = Housekeeping()
    mobility_indicator.register_housekeeping(housekeeping)
    (job,) = housekeeping.jobs.values()
    assert await job(session, now) == 1
    names = {name: id_ for id_, name in (await territory.neighbourhood_names(session)).items()}
    carpool = indicators.BY_ID["mobility-carpool"]
    local = now.astimezone(mobility.city_zone()).date()
    monday = datetime.combine(local - timedelta(days=local.weekday()), time(0), tzinfo=UTC)
    week = (monday - timedelta(days=7), monday + timedelta(days=7))
    assert await indicators.values(session, carpool, "day", *week, names["Ouest"]) == {monday: 10.0}
    assert await indicators.values(session, carpool, "day", *week, names["Est"]) == {}
    assert await indicators.values(session, carpool, "week", *week) == {monday: 10.0}
