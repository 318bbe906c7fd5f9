"""reports and comments: the language they were written in

Proposals already recorded the language their author wrote in (`participation_proposals.locale`). Reports and
comments now do too: the interface language at the time of writing ("fr" or "en"), so that a page in the other
language marks the text with its `lang` and says "(in French)" / "(in English)". Rows written before say "fr", the
city's language.

Revision ID: 8d2f4a6c1e37
Revises: 4c7e2a9d1b58
Create Date: 2026-12-07 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8d2f4a6c1e37"
down_revision: str | None = "4c7e2a9d1b58"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (with its constant default) on both databases: no table is rebuilt, so the full-text
    # triggers of `reports` stay as they are.
    op.add_column("reports", sa.Column("locale", sa.String(length=5), server_default="fr", nullable=False))
    op.add_column(
        "participation_comments", sa.Column("locale", sa.String(length=5), server_default="fr", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("participation_comments", "locale")
    op.drop_column("reports", "locale")
