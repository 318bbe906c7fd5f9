"""a Thing's access, kind and owner never inside its properties

A Thing's `properties` hold only what its clients wrote; Citoyen's settings (access level, kind, owner) live in
their own columns and are read and written as the annotations `@citoyen.access`, `@citoyen.kind` and
`@citoyen.owner`. Writes always took `properties.citoyen` out into the columns; this moves any that a row still
holds (written around the API, or imported) into the columns, where a value there is valid, and removes it from
the properties. Nothing to undo: the columns keep what they hold.

Revision ID: 6d2b9e4f1a37
Revises: 3f0e8a61c2d5
Create Date: 2026-12-07 15:45:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "6d2b9e4f1a37"
down_revision: str | None = "3f0e8a61c2d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCESS = ("public", "restricted", "personal")
KINDS = ("air", "water", "energy", "mobility", "other")

things = sa.table(
    "sta_things",
    sa.column("id", sa.BigInteger),
    sa.column("properties", sa.JSON),
    sa.column("access", sa.String),
    sa.column("kind", sa.String),
    sa.column("owner_person_id", sa.BigInteger),
)
people = sa.table("people", sa.column("id", sa.BigInteger))


def _settings(connection: sa.Connection, citoyen: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if not isinstance(citoyen, dict):
        return values
    if citoyen.get("access") in ACCESS:
        values["access"] = citoyen["access"]
    if citoyen.get("kind") in KINDS:
        values["kind"] = citoyen["kind"]
    owner = citoyen.get("owner")
    if type(owner) is int and connection.execute(sa.select(people.c.id).where(people.c.id == owner)).first():
        values["owner_person_id"] = owner
    return values


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(things.c.id, things.c.properties).where(things.c.properties.is_not(None)))
    for thing_id, properties in rows.all():
        if not isinstance(properties, dict) or "citoyen" not in properties:
            continue
        kept = {key: value for key, value in properties.items() if key != "citoyen"}
        values = {"properties": kept, **_settings(connection, properties["citoyen"])}
        connection.execute(sa.update(things).where(things.c.id == thing_id).values(**values))


def downgrade() -> None:
    pass
