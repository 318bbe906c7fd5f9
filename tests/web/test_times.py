"""Every time a person reads is in the city's time (`CITOYEN_TIME_ZONE`, Europe/Paris) and written as the page's
language writes it: half an hour before midnight UTC on 7 December is already 8 December in Paris."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.notifications import service as notifications
from citoyen.notifications.models import Notification
from citoyen.participation.models import Proposal
from citoyen.reports.models import EventKind, ReportEvent, ReportStatus
from tests.factories import create_person, log_in
from tests.participation.helpers import create_process, submit
from tests.reports.helpers import create_reports_world, file_report
from tests.web.test_languages import visible_text

FR = {"Accept-Language": "fr"}
EN = {"Accept-Language": "en"}
LATE = datetime(2026, 12, 7, 23, 30, tzinfo=UTC)  # 00:30 on 8 December in Paris (UTC+1 in winter)


async def test_pages_show_times_in_the_citys_time_zone_and_the_pages_language(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    person = await create_person(session)
    french_title, english_title = notifications.in_both_languages(
        lambda gettext, _: gettext("Report #%(id)s is now: %(status)s") % {"id": 12, "status": gettext("closed")}
    )
    await notifications.notify(session, person.id, french_title, "", "/", title_en=english_title)
    world = await create_reports_world(session)
    report = await file_report(session, world)
    session.add(ReportEvent(report_id=report.id, kind=EventKind.STATUS, status=ReportStatus.OPEN, at=LATE))
    proposal = await submit(session, await create_process(session), person)
    await session.flush()
    await session.execute(update(Notification).where(Notification.person_id == person.id).values(created_at=LATE))
    await session.execute(update(Proposal).where(Proposal.id == proposal.id).values(created_at=LATE))
    await session.commit()
    await log_in(client, person.email)

    french = visible_text((await client.get("/notifications", headers=FR)).text)
    english = visible_text((await client.get("/notifications", headers=EN)).text)
    assert "8 déc. 2026, 00:30" in french and "Dec 8, 2026, 12:30\u202fAM" in english
    # The notification's title in the page's language, whatever the account's.
    assert "Report #12 is now: closed" in english and "Report #12" not in french
    assert french_title in french and french_title.startswith("Le signalement n°")
    history = visible_text((await client.get(f"/reports/{report.id}", headers=FR)).text)
    assert "8 déc. 2026, 00:30" in history
    assert "8 déc. 2026" in visible_text((await client.get(f"/participation/proposals/{proposal.id}", headers=FR)).text)
    for text in (french, english, history):
        assert "UTC" not in text and "23:30" not in text and "11:30" not in text
