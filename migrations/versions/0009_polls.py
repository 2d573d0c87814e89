"""polls: options and votes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _message_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["message_id"],
        ["messages.id"],
        name=op.f(f"fk_{table}_message_id_messages"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("closed_by", ID, nullable=True),
        sa.Column("closed_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("voters", sa.Integer(), server_default="0", nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        _message_fk("polls"),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["users.id"],
            name=op.f("fk_polls_closed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_polls")),
    )
    op.create_table(
        "poll_options",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=100), nullable=False),
        sa.Column("votes", sa.Integer(), server_default="0", nullable=False),
        _message_fk("poll_options"),
        sa.PrimaryKeyConstraint("message_id", "option_id", name=op.f("pk_poll_options")),
    )
    op.create_table(
        "poll_votes",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("voter", sa.String(length=64), nullable=False),
        sa.Column("option_id", sa.Integer(), nullable=False),
        sa.Column("user_id", ID, nullable=True),
        _message_fk("poll_votes"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_poll_votes_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("message_id", "voter", "option_id", name=op.f("pk_poll_votes")),
    )
    with op.batch_alter_table("poll_votes", schema=None) as batch_op:
        batch_op.create_index("ix_poll_votes_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("poll_votes", schema=None) as batch_op:
        batch_op.drop_index("ix_poll_votes_user_id")
    op.drop_table("poll_votes")
    op.drop_table("poll_options")
    op.drop_table("polls")
