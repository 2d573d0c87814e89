"""profiles: avatar, bio, region, pronouns

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # `region` already exists (0001); a profile adds a bio, pronouns and an avatar.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("bio", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("pronouns", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("avatar", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("avatar")
        batch_op.drop_column("pronouns")
        batch_op.drop_column("bio")
