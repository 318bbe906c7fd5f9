"""`citoyen.db.keyset_batches`: every row once, in key order, in batches of the size asked, each batch starting
after the last one's key (so rows added behind the reader's position are still read, and none twice)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import keyset_batches
from citoyen.people import service as people
from citoyen.people.models import Department


async def test_rows_come_once_in_key_order_in_batches_of_the_size_asked(session: AsyncSession) -> None:
    for number in (5, 3, 7, 1, 6, 2, 4):
        await people.create_department(session, f"service-{number}", f"Service {number}")
    query = select(Department.code, Department.name).where(Department.code.like("service-%"))
    batches = [batch async for batch in keyset_batches(session, query, Department.id, 3)]
    assert [len(batch) for batch in batches] == [3, 3, 1]
    rows = [row for batch in batches for row in batch]
    assert rows[0] == ("service-5", "Service 5")  # the tuple of the statement's columns, in id order
    assert [code for code, _ in rows] == [f"service-{n}" for n in (5, 3, 7, 1, 6, 2, 4)]


async def test_a_row_added_after_the_readers_position_is_read_and_an_exact_multiple_ends(
    session: AsyncSession,
) -> None:
    for number in range(4):
        await people.create_department(session, f"lot-{number}", f"Lot {number}")
    query = select(Department.code).where(Department.code.like("lot-%"))
    seen: list[str] = []
    async for batch in keyset_batches(session, query, Department.id, 2):
        seen += [code for (code,) in batch]
        if len(seen) == 2:
            await people.create_department(session, "lot-late", "Lot late")
    assert seen == ["lot-0", "lot-1", "lot-2", "lot-3", "lot-late"]
    entities = [batch async for batch in keyset_batches(session, select(Department), Department.id, 5)]
    assert len(entities) == 1 and all(isinstance(row[0], Department) for row in entities[0])
