"""Verification rules: normalising and hashing residents' identifiers, importing a residents' list,
verifying an account, and the personal-data provider.

Why HMAC-SHA256 with a pepper, not a slow hash such as Argon2: the identifier space is small (a birth
date has ~36,500 values and document numbers are often sequential), so a slow hash alone would not
stop an attacker who has the database from enumerating it, while it would make importing 100,000
residents take hours (each identifier must hash deterministically so it can be looked up). What makes
enumeration impossible is a key the database never holds: the pepper (`CITOYEN_VERIFICATION_PEPPER`,
or a random one kept in the data directory). A stolen database alone reveals nothing; the pepper and
the database together would let an attacker test guesses, slow hash or not, so keep the pepper apart
(environment or secret store) in production. Each list also has its own random salt, so the same
person's hashes differ between lists and between installations. Online guessing goes through the
verification form, which is rate-limited per account and per client address.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import throttle
from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.errors import Refusal
from citoyen.i18n import N_
from citoyen.people.registry import PersonalDataProvider, PersonalDataRegistry
from citoyen.people.service import Person
from citoyen.verification.models import ResidentEntry, ResidentList

MAX_DOCUMENT_LENGTH = 40
MAX_LIST_ROWS = 2_000_000
ATTEMPT_WINDOW = timedelta(hours=1)
# The column names a residents' CSV must have (French names accepted too).
DOCUMENT_COLUMNS = ("document_number", "numero_document", "document")
BIRTH_DATE_COLUMNS = ("birth_date", "date_naissance", "date_de_naissance")
NOT_VERIFIED = N_("Only verified residents can vote: verify your residence first.")


class VerificationError(Refusal):
    """A refused request (`citoyen.errors.Refusal`); kinds: invalid, not_found, not_verified, taken, throttled."""


class ResidentListError(Refusal):
    """A residents' file that cannot be imported; `problems` say where (nothing was imported)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(problems[0] if problems else "")
        self.problems = problems
        self.args = ("; ".join(problems),)


# --- normalising and hashing ------------------------------------------------------------------

_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$"), ("d", "m", "y")),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), ("y", "m", "d")),
    (re.compile(r"^(\d{2})(\d{2})(\d{4})$"), ("d", "m", "y")),
)


def normalise_document_number(text: str) -> str:
    """Upper case, accents and separators removed: ' ab-12 345.c ' and 'AB12345C' are the same."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))
    return kept.upper()


def normalise_birth_date(text: str) -> date:
    """A birth date typed as 2001-04-09, 09/04/2001, 9.4.2001, 09-04-2001, 20010409 or 09042001
    (day before month, the French and European order, whenever the year comes last)."""
    cleaned = text.strip().replace(" ", "")
    for pattern, order in _DATE_PATTERNS:
        match = pattern.match(cleaned)
        if match:
            parts = dict(zip(order, (int(group) for group in match.groups()), strict=True))
            if not 1880 <= parts["y"] <= 2200:
                continue  # 8 digits read the other way round
            try:
                return date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                continue
    raise VerificationError(N_("This birth date is not a valid date (for example 09/04/2001)."))


def normalised_identifier(document_number: str, birth_date: str) -> str:
    document = normalise_document_number(document_number)
    if not document or len(document) > MAX_DOCUMENT_LENGTH:
        raise VerificationError(N_("Enter the number of your identity document (letters and digits)."))
    return f"{document}|{normalise_birth_date(birth_date).isoformat()}"


def resolved_pepper(settings: Settings) -> bytes:
    """The installation's pepper: the setting, or a random one generated once beside the database."""
    configured = settings.verification_pepper.get_secret_value()
    if configured:
        return configured.encode()
    path = settings.data_dir / "verification_pepper"
    if path.exists():
        return path.read_text().strip().encode()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pepper = secrets.token_urlsafe(48)
    path.write_text(pepper)
    path.chmod(0o600)
    return pepper.encode()


def identifier_hash(pepper: bytes, salt: str, normalised: str) -> str:
    return hmac.new(pepper, f"{salt}|{normalised}".encode(), hashlib.sha256).hexdigest()


# --- importing a list -------------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedList:
    identifiers: list[str]  # normalised, in file order


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [name.strip().lower().lstrip("\ufeff") for name in header]
    return next((lowered.index(name) for name in names if name in lowered), None)


def parse_resident_csv(data: bytes) -> ParsedList:
    """Read a residents' CSV (UTF-8, comma or semicolon separated, a header naming the columns
    document_number and birth_date); every problem is reported with its line, and nothing is kept
    in clear beyond this function."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ResidentListError(["the file is not UTF-8 text"]) from None
    if not text.strip():
        raise ResidentListError(["the file is empty"])
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(rows)
    document_at, birth_at = _column(header, DOCUMENT_COLUMNS), _column(header, BIRTH_DATE_COLUMNS)
    if document_at is None or birth_at is None:
        raise ResidentListError(
            ["the first line must name the columns document_number and birth_date (found: " + ", ".join(header) + ")"]
        )
    problems: list[str] = []
    identifiers: list[str] = []
    seen: dict[str, int] = {}
    for line_number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(document_at, birth_at):
            problems.append(f"line {line_number}: missing columns")
            continue
        try:
            identifier = normalised_identifier(row[document_at], row[birth_at])
        except VerificationError as error:
            problems.append(f"line {line_number}: {error}")
            continue
        if identifier in seen:
            problems.append(f"line {line_number}: the same resident as line {seen[identifier]}")
            continue
        seen[identifier] = line_number
        identifiers.append(identifier)
        if len(identifiers) > MAX_LIST_ROWS:
            raise ResidentListError([f"more than {MAX_LIST_ROWS} residents in one file"])
        if len(problems) >= 20:
            break
    if problems:
        raise ResidentListError(problems)
    if not identifiers:
        raise ResidentListError(["the file has a header but no resident"])
    return ParsedList(identifiers)


async def import_resident_list(
    session: AsyncSession, settings: Settings, name: str, parsed: ParsedList, imported_by: Person | None = None
) -> ResidentList:
    """Store a new list: only keyed hashes of the identifiers."""
    name = name.strip()
    if not name:
        raise ResidentListError(["the list needs a name"])
    pepper = resolved_pepper(settings)
    resident_list = ResidentList(
        name=name[:200],
        salt=secrets.token_hex(16),
        entry_count=len(parsed.identifiers),
        imported_by_id=imported_by.id if imported_by else None,
    )
    session.add(resident_list)
    await session.flush()
    rows = [
        {"list_id": resident_list.id, "identifier_hash": identifier_hash(pepper, resident_list.salt, identifier)}
        for identifier in parsed.identifiers
    ]
    for start in range(0, len(rows), 5000):
        await session.execute(insert(ResidentEntry), rows[start : start + 5000])
    await session.flush()
    return resident_list


async def list_resident_lists(session: AsyncSession) -> list[tuple[ResidentList, int]]:
    """Every list, newest first, with how many of its residents verified an account."""
    verified = (
        select(ResidentEntry.list_id, func.count().label("verified"))
        .where(ResidentEntry.person_id.is_not(None))
        .group_by(ResidentEntry.list_id)
        .subquery()
    )
    query = (
        select(ResidentList, func.coalesce(verified.c.verified, 0))
        .outerjoin(verified, verified.c.list_id == ResidentList.id)
        .order_by(ResidentList.created_at.desc(), ResidentList.id.desc())
    )
    return [(row[0], int(row[1])) for row in (await session.execute(query)).all()]


async def set_list_active(session: AsyncSession, list_id: int, active: bool) -> ResidentList:
    resident_list = await session.get(ResidentList, list_id)
    if resident_list is None:
        raise VerificationError(N_("Unknown residents' list."), "not_found")
    resident_list.active = active
    await session.flush()
    return resident_list


# --- verifying an account ---------------------------------------------------------------------


async def verification_of(session: AsyncSession, person_id: int) -> ResidentEntry | None:
    """The resident entry that verifies this account, if it is on a list in force."""
    query = (
        select(ResidentEntry)
        .join(ResidentList, ResidentList.id == ResidentEntry.list_id)
        .where(ResidentEntry.person_id == person_id, ResidentList.active.is_(True))
    )
    return (await session.execute(query)).scalar_one_or_none()


async def is_verified(session: AsyncSession, person_id: int) -> bool:
    return await verification_of(session, person_id) is not None


async def require_verified(session: AsyncSession, person_id: int) -> ResidentEntry:
    """The account's resident entry (the key of its votes); refused when it is not verified."""
    entry = await verification_of(session, person_id)
    if entry is None:
        raise VerificationError(NOT_VERIFIED, "not_verified")
    return entry


async def verify_person(
    session: AsyncSession,
    settings: Settings,
    person: Person,
    document_number: str,
    birth_date: str,
    client_address: str = "",
) -> ResidentEntry:
    """Link the account to the resident these identifiers name, once: an identifier verifies one account."""
    window = ATTEMPT_WINDOW
    allowed_person = await throttle.hit(
        session, f"verify:person:{person.id}", settings.verification_attempts_per_hour, window
    )
    allowed_client = await throttle.hit(
        session, f"verify:client:{client_address}", settings.verification_attempts_per_hour * 4, window
    )
    if not (allowed_person and allowed_client):
        raise VerificationError(N_("Too many verification attempts: please try again in an hour."), "throttled")
    existing = await verification_of(session, person.id)
    if existing is not None:
        return existing
    normalised = normalised_identifier(document_number, birth_date)
    pepper = resolved_pepper(settings)
    lists = (await session.execute(select(ResidentList).where(ResidentList.active.is_(True)))).scalars().all()
    for resident_list in lists:
        wanted = identifier_hash(pepper, resident_list.salt, normalised)
        entry = (
            await session.execute(
                select(ResidentEntry).where(
                    ResidentEntry.list_id == resident_list.id, ResidentEntry.identifier_hash == wanted
                )
            )
        ).scalar_one_or_none()
        if entry is None:
            continue
        if entry.person_id is not None and entry.person_id != person.id:
            raise VerificationError(
                N_("These identifiers have already verified another account. Contact the city if this is a mistake."),
                "taken",
            )
        # An account verified on a list no longer in force moves to its entry on the current list.
        await session.execute(
            update(ResidentEntry).where(ResidentEntry.person_id == person.id).values(person_id=None, verified_at=None)
        )
        entry.person_id = person.id
        entry.verified_at = utcnow()
        await session.flush()
        return entry
    raise VerificationError(
        N_("We found no resident with this document number and birth date. Check them, or contact the city.")
    )


# --- personal data ----------------------------------------------------------------------------


async def _export(session: AsyncSession, person: Person) -> dict[str, list[dict[str, Any]]]:
    query = (
        select(ResidentEntry, ResidentList.name)
        .join(ResidentList, ResidentList.id == ResidentEntry.list_id)
        .where(ResidentEntry.person_id == person.id)
    )
    records = []
    for entry, list_name in (await session.execute(query)).all():
        verified_at: datetime | None = entry.verified_at
        records.append(
            {
                "residents_list": list_name,
                "verified_at": verified_at.isoformat() if verified_at else None,
                "note": "your identifiers are not stored, only a keyed hash of them",
            }
        )
    return {"residence_verification": records}


async def _erase(session: AsyncSession, person: Person) -> None:
    """The link to the account goes; the resident entry stays, so votes keyed by it still count once."""
    await session.execute(
        update(ResidentEntry).where(ResidentEntry.person_id == person.id).values(person_id=None, verified_at=None)
    )


def register_personal_data(registry: PersonalDataRegistry) -> None:
    registry.register(
        PersonalDataProvider(
            domain="verification",
            description=N_("whether your account is verified as a resident (never your identifiers)"),
            export=_export,
            erase=_erase,
        )
    )
