"""mail leaves through the outbox

Every message is written to `mail_outbox` in the transaction of what it tells about and sent after commit
by a background sender, with retries: a message now has the time of its next attempt and its last error.
Messages already there (the demo's outbox) are due at once; with no SMTP server configured they stay.

Revision ID: 5e2f7b84a1d6
Revises: 4d9e1a63f2c5
Create Date: 2026-12-06 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from citoyen.db import UTCDateTime

revision: str = "5e2f7b84a1d6"
down_revision: str | None = "4d9e1a63f2c5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mail_outbox") as batch_op:
        batch_op.add_column(
            sa.Column("next_attempt_at", UTCDateTime(), nullable=False, server_default=sa.text("CURRENT_TIMESTAMP"))
        )
        batch_op.add_column(sa.Column("last_error", sa.String(length=300), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_mail_outbox_next_attempt_at"), ["next_attempt_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mail_outbox") as batch_op:
        batch_op.drop_index(batch_op.f("ix_mail_outbox_next_attempt_at"))
        batch_op.drop_column("last_error")
        batch_op.drop_column("next_attempt_at")
