"""proposals and reports are searched by words

Proposals keep the words of their title and body, reports those of their description and address, in the form
`citoyen.textsearch.indexed_text` gives them (lower case, no accents, French stems), filled here for the rows
already there. PostgreSQL indexes them in a stored tsvector `search_vector` (French and English configurations,
titles weighted A) with a GIN index; SQLite in an FTS5 table over them kept in step by triggers, as the
catalogue's datasets are. The trigram indexes that served the old search by exact phrase go.

Revision ID: 92e17003ea6b
Revises: 6f3a0c95b2d7
Create Date: 2026-12-07 04:50:00
"""

# ruff: noqa: S608 (the statements name this file's own tables and columns; values are bound parameters)

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from citoyen.textsearch import indexed_text

revision: str = "92e17003ea6b"
down_revision: str | None = "6f3a0c95b2d7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
# table -> {search column: the columns whose words it holds}; the first search column weighs more.
SEARCHED: dict[str, dict[str, tuple[str, ...]]] = {
    "participation_proposals": {"search_title": ("title",), "search_body": ("body",)},
    "reports": {"search_text": ("description", "address")},
}
WEIGHTS = "AB"


def _backfill(table: str, columns: dict[str, tuple[str, ...]]) -> None:
    connection = op.get_bind()
    sources = sorted({source for names in columns.values() for source in names})
    last = 0
    while True:
        rows = connection.execute(
            sa.text(f"SELECT id, {', '.join(sources)} FROM {table} WHERE id > :last ORDER BY id LIMIT {BATCH}"),
            {"last": last},
        ).all()
        if not rows:
            return
        values = [
            {"row_id": row.id}
            | {
                name: indexed_text(str(getattr(row, source) or "") for source in names)
                for name, names in columns.items()
            }
            for row in rows
        ]
        settings = ", ".join(f"{name} = :{name}" for name in columns)
        connection.execute(sa.text(f"UPDATE {table} SET {settings} WHERE id = :row_id"), values)
        last = rows[-1].id


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, columns in SEARCHED.items():
        for name in columns:
            op.add_column(table, sa.Column(name, sa.Text(), nullable=False, server_default=""))
        _backfill(table, columns)
        names = list(columns)
        if postgres:
            vector = " || ".join(
                f"setweight(to_tsvector('{config}'::regconfig, {name}), '{WEIGHTS[rank]}')"
                for rank, name in enumerate(names)
                for config in ("french", "english")
            )
            # Stored, so that ranking reads the vector instead of building it again for every match.
            op.execute(f"ALTER TABLE {table} ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({vector}) STORED")
            op.execute(f"CREATE INDEX ix_{table}_fts ON {table} USING gin (search_vector)")
            continue
        fts, listed = f"{table}_fts", ", ".join(names)
        new, old = ", ".join(f"new.{name}" for name in names), ", ".join(f"old.{name}" for name in names)
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5({listed}, content='{table}', content_rowid='id', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
        op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
        op.execute(
            f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, {listed}) VALUES (new.id, {new}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {listed}) VALUES ('delete', old.id, {old}); END"
        )
        op.execute(
            f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {listed} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, {listed}) VALUES ('delete', old.id, {old}); "
            f"INSERT INTO {fts}(rowid, {listed}) VALUES (new.id, {new}); END"
        )
    if postgres:
        for column in ("title", "body"):
            op.execute(f"DROP INDEX IF EXISTS ix_participation_proposals_{column}_trgm")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        for column in ("title", "body"):
            op.execute(
                f"CREATE INDEX ix_participation_proposals_{column}_trgm ON participation_proposals "
                f"USING gin (lower({column}) gin_trgm_ops)"
            )
    for table, columns in SEARCHED.items():
        if postgres:
            op.execute(f"DROP INDEX ix_{table}_fts")
            op.execute(f"ALTER TABLE {table} DROP COLUMN search_vector")
        else:
            for trigger in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER {table}_fts_{trigger}")
            op.execute(f"DROP TABLE {table}_fts")
        with op.batch_alter_table(table) as batch_op:
            for name in columns:
                batch_op.drop_column(name)
