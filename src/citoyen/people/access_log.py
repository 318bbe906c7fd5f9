"""The log of staff accesses to someone's personal data, which that person can read."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.i18n import N_
from citoyen.people.models import AccessLogEntry, Person

ACCESS_ACTION_LABELS = {
    "account_viewed": N_("viewed your account"),
    "role_changed": N_("changed your role"),
    "mail_viewed": N_("read mail sent to you"),
    "account_suspended": N_("suspended your account"),
    "account_restored": N_("restored your account"),
    "report_contact_viewed": N_("viewed your contact details on a report"),
    "sensing_read": N_("read the readings of your personal sensor"),
    "sensing_live": N_("watched the live readings of your personal sensor"),
    "sensing_owner": N_("changed who owns your personal sensor"),
}
# The fixed details some accesses are logged with, shown in the reader's language (others are names, as stored).
ACCESS_DETAIL_LABELS = {
    "admin account page": N_("the account's page in the administration"),
    "admin mail outbox": N_("the mail outbox in the administration"),
}


async def log_access(session: AsyncSession, actor: Person, subject_id: int, action: str, detail: str = "") -> None:
    """Record that staff saw or changed someone's personal data (not logged when people act on their own)."""
    if actor.id == subject_id:
        return
    session.add(
        AccessLogEntry(
            subject_id=subject_id,
            actor_id=actor.id,
            actor_role=actor.role.value,
            action=action,
            detail=detail[:300],
        )
    )
    await session.flush()


async def access_log(session: AsyncSession, person: Person) -> list[AccessLogEntry]:
    query = select(AccessLogEntry).where(AccessLogEntry.subject_id == person.id).order_by(AccessLogEntry.id.desc())
    return list((await session.execute(query)).scalars())
