"""server-side sessions

Revision ID: 2b7c9e41d0a3
Revises: e7b2f4a9c613
Create Date: 2026-12-06 23:30:00
"""

from collections.abc import Sequence

revision: str = "2b7c9e41d0a3"
down_revision: str | None = "e7b2f4a9c613"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
