"""Export and erasure of a person (GDPR Art. 15, 17 and 20) through the personal-data registry, and
the people domain's own provider (account, sessions, consents, access log, mail)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.i18n import N_, get_translations
from citoyen.people.access_log import access_log
from citoyen.people.login import account_failures_key
from citoyen.people.models import ConsentRecord, EmailLink, LoginFailure, LoginSession, OutboxMessage, Person
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry


def _record(obj: Any, *fields: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


async def _export_people(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    consents = (
        await session.execute(
            select(ConsentRecord).where(ConsentRecord.person_id == person.id).order_by(ConsentRecord.id)
        )
    ).scalars()
    log_entries = await access_log(session, person)
    outbox = (await session.execute(select(OutboxMessage).where(OutboxMessage.person_id == person.id))).scalars()
    sessions = (
        await session.execute(
            select(LoginSession).where(LoginSession.person_id == person.id).order_by(LoginSession.created_at)
        )
    ).scalars()
    account = _record(person, "id", "email", "display_name", "locale", "created_at", "last_login_at")
    account["role"] = person.role.value
    return {
        "account": [account],
        "consents": [_record(c, "purpose", "granted", "text_version", "recorded_at") for c in consents],
        "access_log": [_record(e, "at", "actor_role", "action", "detail") for e in log_entries],
        "mail_sent": [_record(m, "created_at", "recipient", "subject", "body") for m in outbox],
        "sessions": [_record(s, "created_at", "last_seen_at", "user_agent", "ended_at") for s in sessions],
    }


async def _erase_people(session: AsyncSession, person: Person) -> None:
    # Rows keyed by the person (sessions, login links) cascade with the account; these are keyed by data
    # derived from it. Failures counted per client address and account stay until the window ends: their
    # key mixes the address in, so they cannot be found from the account alone, nor traced back to it.
    await session.execute(delete(LoginFailure).where(LoginFailure.key_hash == account_failures_key(person.email)))
    await session.execute(delete(OutboxMessage).where(OutboxMessage.recipient == person.email))
    await session.execute(delete(EmailLink).where(EmailLink.email == person.email))
    await session.execute(delete(LoginSession).where(LoginSession.person_id == person.id))


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="people",
            description=N_("account, sessions, consent decisions, staff accesses to your data, mail sent to you"),
            export=_export_people,
            erase=_erase_people,
        )
    )


async def export_personal_data(session: AsyncSession, registry: PersonalDataRegistry, person: Person) -> dict[str, Any]:
    """Everything the platform holds about a person (GDPR Art. 15 and 20), by domain and table, each domain
    described in English and in French."""
    data: dict[str, Any] = {"exported_at": utcnow().isoformat(), "domains": {}}
    french = get_translations("fr")
    for provider in registry.providers:
        data["domains"][provider.domain] = {
            "description": provider.description,
            "description_fr": french.gettext(provider.description),
            "tables": await provider.export(session, person),
        }
    return data


def export_as_csv_zip(export: dict[str, Any]) -> bytes:
    """The same export as one CSV file per table, in a zip, plus the JSON for completeness."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", json.dumps(export, ensure_ascii=False, indent=2))
        for domain, content in export["domains"].items():
            for table, rows in content["tables"].items():
                text = io.StringIO()
                columns = sorted({key for row in rows for key in row})
                writer = csv.DictWriter(text, fieldnames=columns)
                writer.writeheader()
                for row in rows:
                    writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
                archive.writestr(f"{domain}/{table}.csv", text.getvalue())
    return buffer.getvalue()


async def erase_person(session: AsyncSession, registry: PersonalDataRegistry, person: Person) -> None:
    """Erase an account (GDPR Art. 17): each domain detaches or deletes what it holds, then the account
    goes; contributions stay, signed by no one."""
    for provider in registry.providers:
        await provider.erase(session, person)
    await session.delete(person)
    await session.flush()
