"""guests: the end of a guest account

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at_ms", sa.BigInteger(), nullable=True))
        batch_op.create_index("ix_users_expires_at_ms", ["expires_at_ms"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_expires_at_ms")
        batch_op.drop_column("expires_at_ms")
