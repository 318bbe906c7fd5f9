"""What other domains learn about people through `people.service`, many at once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people
from tests.factories import create_person


async def test_display_names_of_many_people_come_back_by_id_leaving_out_unknown_ids(session: AsyncSession) -> None:
    lea = await create_person(session, "lea@example.org", display_name="Léa")
    omar = await create_person(session, "omar@example.org", display_name="Omar")
    names = await people.display_names(session, [lea.id, omar.id, None, 999_999, lea.id])
    assert names == {lea.id: "Léa", omar.id: "Omar"}
    assert await people.display_names(session, []) == {}
    assert await people.display_names(session, [None]) == {}


async def test_emails_are_given_by_id(session: AsyncSession) -> None:
    lea = await create_person(session, "lea@example.org")
    assert await people.emails(session, [lea.id, 999_999]) == {lea.id: "lea@example.org"}


async def test_recipients_are_the_active_accounts_with_their_language(session: AsyncSession) -> None:
    admin = await create_person(session, "admin@example.org", role=people.Role.ADMIN)
    french = await create_person(session, "fr@example.org")
    english = await create_person(session, "en@example.org")
    await people.change_locale(session, english, "en")
    suspended = await create_person(session, "away@example.org")
    await people.set_active(session, admin, suspended, False)
    recipients = await people.active_recipients(session, [english.id, french.id, suspended.id, 999_999])
    assert recipients == [people.Recipient(french.id, "fr"), people.Recipient(english.id, "en")]


async def test_consenting_counts_the_latest_decision_for_that_purpose_only(session: AsyncSession) -> None:
    granted = await create_person(session, "yes@example.org")
    withdrawn = await create_person(session, "no@example.org")
    other_purpose = await create_person(session, "research@example.org")
    never_asked = await create_person(session, "never@example.org")
    await people.record_consent(session, granted, "email_notifications", True)
    await people.record_consent(session, withdrawn, "email_notifications", True)
    await people.record_consent(session, withdrawn, "email_notifications", False)
    await people.record_consent(session, other_purpose, "research", True)
    everyone = [granted.id, withdrawn.id, other_purpose.id, never_asked.id]
    assert await people.consenting(session, everyone, "email_notifications") == {granted.id}
    assert await people.consenting(session, everyone, "research") == {other_purpose.id}
    assert await people.consenting(session, [], "research") == set()
