"""proposal counts

Pre-aggregated counts of visible proposals, kept by triggers: the list's total and the zoomed-out map of a
process with 200,000 proposals read a few hundred rows instead of counting them all. And an index of the
visible proposals' ids, for the random order, and of their map points per neighbourhood; on PostgreSQL,
trigram indexes for the text search (a substring anywhere in the title or the text).

Revision ID: 7c1e5b2a9d40
Revises: 5fc0a8ae752f
Create Date: 2026-11-26 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c1e5b2a9d40"
down_revision: str | None = "5fc0a8ae752f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = "process_id, neighbourhood_id, category_id, status, h3_r8"
COUNTED = "process_id, neighbourhood_id, category_id, status, h3_r8, h3_r6, hidden_at, withdrawn_at"


def _row(alias: str, delta: int) -> str:
    """The counts row of the proposal `alias` (OLD or NEW), moved by `delta` (an upsert)."""
    values = (
        f"{alias}.process_id, coalesce({alias}.neighbourhood_id, 0), coalesce({alias}.category_id, 0), "
        f"{alias}.status, coalesce({alias}.h3_r8, ''), coalesce({alias}.h3_r6, ''), {delta}"
    )
    return (
        f"INSERT INTO participation_proposal_counts ({KEY}, h3_r6, count) VALUES ({values}) "  # noqa: S608 (constants)
        f"ON CONFLICT ({KEY}) DO UPDATE SET count = participation_proposal_counts.count + ({delta})"
    )


def _visible(alias: str) -> str:
    return f"{alias}.hidden_at IS NULL AND {alias}.withdrawn_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "participation_proposal_counts",
        sa.Column("process_id", sa.Integer(), nullable=False),
        sa.Column("neighbourhood_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "published",
                "evaluating",
                "accepted",
                "rejected",
                "in_progress",
                "done",
                name="proposalstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("h3_r8", sa.String(length=16), nullable=False),
        sa.Column("h3_r6", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_id"],
            ["participation_processes.id"],
            name=op.f("fk_participation_proposal_counts_process_id_participation_processes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "process_id",
            "neighbourhood_id",
            "category_id",
            "status",
            "h3_r8",
            name=op.f("pk_participation_proposal_counts"),
        ),
    )
    op.create_index(
        "ix_participation_proposals_visible_ids",
        "participation_proposals",
        ["process_id", "id"],
        postgresql_where=sa.text("hidden_at IS NULL AND withdrawn_at IS NULL"),
        sqlite_where=sa.text("hidden_at IS NULL AND withdrawn_at IS NULL"),
    )
    op.create_index(
        "ix_participation_proposals_visible_points",
        "participation_proposals",
        ["process_id", "neighbourhood_id", "id"],
        postgresql_include=["lon", "lat", "status", "support_count", "title"],
        postgresql_where=sa.text("hidden_at IS NULL AND withdrawn_at IS NULL AND lon IS NOT NULL"),
        sqlite_where=sa.text("hidden_at IS NULL AND withdrawn_at IS NULL AND lon IS NOT NULL"),
    )
    op.execute(
        f"INSERT INTO participation_proposal_counts ({KEY}, h3_r6, count) "  # noqa: S608 (constants)
        "SELECT process_id, coalesce(neighbourhood_id, 0), coalesce(category_id, 0), status, coalesce(h3_r8, ''), "
        "min(coalesce(h3_r6, '')), count(*) FROM participation_proposals "
        "WHERE hidden_at IS NULL AND withdrawn_at IS NULL "
        "GROUP BY process_id, coalesce(neighbourhood_id, 0), coalesce(category_id, 0), status, coalesce(h3_r8, '')"
    )
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension: the database's owner may create it. Not modelled (PostgreSQL only):
        # citoyen.migrations.UNMODELLED_INDEX.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in ("title", "body"):
            op.execute(
                f"CREATE INDEX ix_participation_proposals_{column}_trgm ON participation_proposals "
                f"USING gin (lower({column}) gin_trgm_ops)"
            )
        op.execute(
            f"""
            CREATE FUNCTION participation_proposal_counts_follow() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') AND {_visible("OLD")} THEN
                    {_row("OLD", -1)};
                END IF;
                IF TG_OP IN ('UPDATE', 'INSERT') AND {_visible("NEW")} THEN
                    {_row("NEW", 1)};
                END IF;
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            "CREATE TRIGGER participation_proposal_counts_follow "
            f"AFTER INSERT OR DELETE OR UPDATE OF {COUNTED} ON participation_proposals "
            "FOR EACH ROW EXECUTE FUNCTION participation_proposal_counts_follow()"
        )
    else:
        for name, event, alias, delta in (
            ("insert", "INSERT", "NEW", 1),
            ("delete", "DELETE", "OLD", -1),
            ("update_old", f"UPDATE OF {COUNTED}", "OLD", -1),
            ("update_new", f"UPDATE OF {COUNTED}", "NEW", 1),
        ):
            op.execute(
                f"CREATE TRIGGER participation_proposal_counts_{name} AFTER {event} ON participation_proposals "
                f"WHEN {_visible(alias)} BEGIN {_row(alias, delta)}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in ("title", "body"):
            op.execute(f"DROP INDEX ix_participation_proposals_{column}_trgm")
        op.execute("DROP TRIGGER participation_proposal_counts_follow ON participation_proposals")
        op.execute("DROP FUNCTION participation_proposal_counts_follow()")
    else:
        for name in ("insert", "delete", "update_old", "update_new"):
            op.execute(f"DROP TRIGGER participation_proposal_counts_{name}")
    op.drop_table("participation_proposal_counts")
    op.drop_index("ix_participation_proposals_visible_ids", table_name="participation_proposals")
    op.drop_index("ix_participation_proposals_visible_points", table_name="participation_proposals")
