"""projects: the map's simplified geometries and the version its kept answers are checked against

`projects.geometry_simple` is what the map draws at low zoom (computed on write; filled here for the projects
already stored, with the rule of this revision: shapely's topology-preserving simplification within 0.0002
degrees, coordinates at 5 decimals). `project_map_version` is one row, a version drawn anew (at random) by every
write of a project.

Revision ID: 4c7e2a9d1b58
Revises: 3c9e5d71b4a8
Create Date: 2026-12-07 19:40:00
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from shapely.geometry import mapping, shape

revision: str = "4c7e2a9d1b58"
down_revision: str | None = "3c9e5d71b4a8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(item) for item in value]
    if isinstance(value, float):
        return round(value, 5)
    return value


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("geometry_simple", sa.JSON(none_as_null=True), nullable=True))
    version = op.create_table(
        "project_map_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_map_version")),
    )
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    bind = op.get_bind()
    projects = sa.table("projects", sa.column("id", sa.Integer()), sa.column("geometry_simple", sa.JSON()))
    for project_id, stored in bind.execute(sa.text("SELECT id, geometry FROM projects")).all():
        geometry = json.loads(stored) if isinstance(stored, str) else stored
        simple = _rounded(mapping(shape(geometry).simplify(0.0002, preserve_topology=True)))
        bind.execute(sa.update(projects).where(projects.c.id == project_id).values(geometry_simple=simple))


def downgrade() -> None:
    op.drop_table("project_map_version")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("geometry_simple")
