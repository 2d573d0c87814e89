"""meetups: events, RSVPs, waitlist and reminders

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 09:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "meetups",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("room_id", ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("ends_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("going", sa.Integer(), server_default="0", nullable=False),
        sa.Column("maybe", sa.Integer(), server_default="0", nullable=False),
        sa.Column("waitlist", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_position", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cancelled", sa.Boolean(), server_default="0", nullable=False),
        sa.Column("scheduled_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_meetups_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name=op.f("fk_meetups_room_id_rooms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_meetups")),
    )
    with op.batch_alter_table("meetups", schema=None) as batch_op:
        batch_op.create_index("ix_meetups_starts", ["starts_at_ms", "message_id"], unique=False)

    op.create_table(
        "meetup_rsvps",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=True),
        sa.Column("updated_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_meetup_rsvps_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_meetup_rsvps_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "user_id", name=op.f("pk_meetup_rsvps")),
    )
    with op.batch_alter_table("meetup_rsvps", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meetup_rsvps_queue", ["message_id", "status", "position"], unique=False
        )
        batch_op.create_index("ix_meetup_rsvps_user", ["user_id"], unique=False)

    op.create_table(
        "meetup_reminders",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("offset_s", sa.Integer(), nullable=False),
        sa.Column("starts_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("sent_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_meetup_reminders_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "message_id", "offset_s", "starts_at_ms", name=op.f("pk_meetup_reminders")
        ),
    )


def downgrade() -> None:
    op.drop_table("meetup_reminders")
    with op.batch_alter_table("meetup_rsvps", schema=None) as batch_op:
        batch_op.drop_index("ix_meetup_rsvps_user")
        batch_op.drop_index("ix_meetup_rsvps_queue")
    op.drop_table("meetup_rsvps")
    with op.batch_alter_table("meetups", schema=None) as batch_op:
        batch_op.drop_index("ix_meetups_starts")
    op.drop_table("meetups")
