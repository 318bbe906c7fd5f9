"""Importing address points from the Base Adresse Nationale's CSV format (adresse.data.gouv.fr, "format CSV":
UTF-8, semicolon-separated, one address a line; columns id, numero, rep, nom_voie, code_postal, nom_commune,
lon, lat among others, which are ignored).

The file is read as a stream and stored in batches; the caller's transaction makes the import all or nothing:
the first bad line stops it with a message naming the line, and the addresses already there stay as they were.
"""

from __future__ import annotations

import csv
import math
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.errors import Refusal
from citoyen.territory.geocoding import street_key
from citoyen.territory.models import Address, AddressImport

REQUIRED_COLUMNS = ("id", "numero", "nom_voie", "code_postal", "nom_commune", "lon", "lat")
BATCH = 5000
MAX_NUMBER = 99_999


class AddressImportError(Refusal):
    """A line of the address file cannot be imported; the message (English) names the line and says why."""


def _counted_lines(binary: IO[bytes], progress: Callable[[int], None]) -> Iterator[str]:
    """The file's lines as text, telling `progress` how many bytes have been read (for a progress bar)."""
    read = 0
    for number, raw in enumerate(binary, start=1):
        read += len(raw)
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError:
            raise AddressImportError(f"line {number}: not UTF-8 text (the BAN's files are UTF-8)") from None
        if number % 2000 == 0:
            progress(read)
        yield line
    progress(read)


def _row(line: int, record: dict[str, str]) -> dict[str, Any]:
    """One CSV record as an `addresses` row, or a refusal naming the line."""

    def text(name: str, longest: int) -> str:
        value = (record.get(name) or "").strip()
        if len(value) > longest:
            raise AddressImportError(f"line {line}: {name} is longer than {longest} characters")
        if any(ord(c) < 32 for c in value):
            raise AddressImportError(f"line {line}: {name} holds control characters")
        return value

    ban_id = text("id", 60)
    name = text("nom_voie", 200)
    if not ban_id:
        raise AddressImportError(f"line {line}: the id is empty")
    if not name:
        raise AddressImportError(f"line {line}: nom_voie (the street's name) is empty")
    try:
        numero = int(text("numero", 10))
    except ValueError:
        raise AddressImportError(f"line {line}: numero is not a whole number: {record.get('numero')!r}") from None
    if not 0 <= numero <= MAX_NUMBER:
        raise AddressImportError(f"line {line}: numero {numero} is outside 0 to {MAX_NUMBER}")
    postcode = text("code_postal", 10)
    if postcode and not (len(postcode) == 5 and postcode.isdigit()):
        raise AddressImportError(f"line {line}: code_postal {postcode!r} is not five digits")
    try:
        lon, lat = float(text("lon", 30)), float(text("lat", 30))
    except ValueError:
        raise AddressImportError(f"line {line}: lon and lat must be numbers (WGS84 degrees)") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise AddressImportError(f"line {line}: lon {lon} and lat {lat} are not WGS84 degrees")
    key = street_key(name)
    if not key:
        raise AddressImportError(f"line {line}: nom_voie {name!r} has no letters or digits")
    return {
        "ban_id": ban_id,
        "numero": numero,
        "suffixe": text("rep", 20).lower(),
        "nom_voie": name,
        "code_postal": postcode,
        "nom_commune": text("nom_commune", 100),
        "lon": lon,
        "lat": lat,
        "street_key": key,
    }


def read_addresses(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The rows of a BAN CSV file's lines, checked one by one (a generator: the file is never held whole)."""
    reader = csv.DictReader(lines, delimiter=";")
    columns = reader.fieldnames or []
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        found = ", ".join(columns) or "nothing"
        raise AddressImportError(
            f"line 1: the header lacks {', '.join(missing)} (found: {found}); is it the BAN's CSV format, "
            "separated by semicolons?"
        )
    try:
        for record in reader:
            if None in record or any(value is None for value in record.values()):
                raise AddressImportError(f"line {reader.line_num}: {len(columns)} columns expected, as in the header")
            yield _row(reader.line_num, record)
    except csv.Error as exc:
        raise AddressImportError(f"line {reader.line_num}: {exc}") from None


async def import_addresses(
    session: AsyncSession,
    binary: IO[bytes],
    source: str = "",
    progress: Callable[[int], None] = lambda read: None,
) -> AddressImport:
    """Replace the imported addresses with those of a BAN CSV file, in batches (the caller commits, or rolls
    back on an AddressImportError). `progress` hears the bytes read so far."""
    await session.execute(delete(Address))
    batch: list[dict[str, Any]] = []
    count = 0
    for row in read_addresses(_counted_lines(binary, progress)):
        batch.append(row)
        if len(batch) == BATCH:
            await session.execute(insert(Address), batch)
            count += len(batch)
            batch = []
    if batch:
        await session.execute(insert(Address), batch)
        count += len(batch)
    if count == 0:
        raise AddressImportError("the file holds no address (only a header, or nothing)")
    imported = AddressImport(revision=str(uuid.uuid4()), source=source[:500], count=count)
    session.add(imported)
    await session.flush()
    return imported
