"""The database schema: the metadata Alembic migrations are checked against."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Row

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Ids are BIGINT on PostgreSQL and INTEGER (the rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("display_name", String(64), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("region", String(64), nullable=True),
    Column("dm_policy", String(16), nullable=False, server_default="everyone"),
    Column("notify_default", String(16), nullable=False, server_default="mentions"),
    Column("created_at_ms", BigInteger, nullable=False),
    # Set by an admin's deactivation or the account's deletion: tokens and logins refused.
    Column("deactivated_at_ms", BigInteger, nullable=True),
    # A deleted account's row stays, anonymised, as the author of its messages.
    Column("deleted_at_ms", BigInteger, nullable=True),
    # A guest account's end (null for every other account): its tokens stop then.
    Column("expires_at_ms", BigInteger, nullable=True),
    # The profile: a short bio, optional pronouns, and the stored avatar's key (null: none).
    Column("bio", String(300), nullable=True),
    Column("pronouns", String(32), nullable=True),
    Column("avatar", String(64), nullable=True),
    # Few users change their default level: the filter starts from those few.
    Index("ix_users_notify_default", "notify_default"),
    # The guest sweep finds ended guests without scanning every account.
    Index("ix_users_expires_at_ms", "expires_at_ms"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the token: a stolen database does not hand out sessions.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Index("ix_tokens_user_id", "user_id"),
)

password_resets = Table(
    "password_resets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the link's token, as for login tokens; the row is deleted when used.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Index("ix_password_resets_user_id", "user_id"),
)

rooms = Table(
    "rooms",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(80), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("topic", String(500), nullable=True),
    Column("created_by", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    # The room's sequence counter: bumped in the same transaction as each sequenced event.
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    Column("member_count", Integer, nullable=False, server_default="0"),
    Column("created_at_ms", BigInteger, nullable=False),
    # Room settings (PROTOCOL-COMMUNITY section 1).
    Column("posting", String(16), nullable=False, server_default="everyone"),
    Column("slow_mode", Integer, nullable=False, server_default="0"),
    Column("guests_allowed", Boolean, nullable=False, server_default="0"),
    Column("archived", Boolean, nullable=False, server_default="0"),
    # Set while a workshop runs (question mode on): when it ends.
    Column("workshop_ends_ms", BigInteger, nullable=True),
    Index("ix_rooms_kind", "kind"),
)

room_members = Table(
    "room_members",
    metadata,
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("joined_at_ms", BigInteger, nullable=False),
    Column("last_read_seq", BigInteger, nullable=False, server_default="0"),
    Column("notify_level", String(16), nullable=True),
    # owner | moderator | member
    Column("room_role", String(16), nullable=False, server_default="member"),
    Column("muted_until_ms", BigInteger, nullable=True),
    # When the member last posted here: slow mode holds across restarts and nodes.
    Column("last_post_ms", BigInteger, nullable=True),
    Index("ix_room_members_user_id", "user_id"),
    Index("ix_room_members_overrides", "room_id", "notify_level"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("author_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("edited_at_ms", BigInteger, nullable=True),
    Column("deleted", Boolean, nullable=False, server_default="0"),
    Column("reply_to", Id, nullable=True),
    # Comma-separated user ids: read with the message, never queried by.
    Column("mentions", Text, nullable=False, server_default=""),
    # JSON text, so a numeric nonce comes back as a number.
    Column("nonce", String(200), nullable=True),
    # The seq of the latest event that changed this message (edit, delete, reaction).
    Column("updated_seq", BigInteger, nullable=False),
    # Set while pinned: pins are listed oldest first.
    Column("pinned_at_ms", BigInteger, nullable=True),
    # author | moderator, once deleted.
    Column("deleted_by", String(16), nullable=True),
    UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),
    Index("ix_messages_pins", "room_id", "pinned_at_ms"),
    Index("ix_messages_room_updated", "room_id", "updated_seq"),
    # A resent nonce must never make a second message, even from two racing retries.
    Index("ix_messages_nonce", "room_id", "author_id", "nonce", unique=True),
    # An author's messages in order: their data export pages through it.
    Index("ix_messages_author", "author_id", "id"),
)

room_events = Table(
    "room_events",
    metadata,
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    # The exact frame that was broadcast, so a node filling a gap sends the same bytes.
    Column("payload", LargeBinary, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

reactions = Table(
    "reactions",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("emoji", String(64), primary_key=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_reactions_user_recent", "user_id", "created_at_ms"),
)

reaction_counts = Table(
    "reaction_counts",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("emoji", String(64), primary_key=True),
    Column("count", Integer, nullable=False),
    # Orders a message's reactions by when each emoji first appeared.
    Column("first_seq", BigInteger, nullable=False),
)

friendships = Table(
    "friendships",
    metadata,
    # Stored in both directions so "friends of X" is one index range.
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("friend_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at_ms", BigInteger, nullable=False),
)

friend_requests = Table(
    "friend_requests",
    metadata,
    Column("from_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("to_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_friend_requests_to_id", "to_id"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("blocker_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("blocked_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_blocks_blocked_id", "blocked_id"),
)

dm_pairs = Table(
    "dm_pairs",
    metadata,
    # "lowid:highid" (or the sorted ids of a group DM): one DM room per set of people.
    Column("key", String(200), primary_key=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("read", Boolean, nullable=False, server_default="0"),
    Index("ix_notifications_user", "user_id", "read", "id"),
    Index("ix_notifications_message", "message_id"),
)


room_bans = Table(
    "room_bans",
    metadata,
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("by_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("reason", String(500), nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("reporter_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(500), nullable=False),
    # open | resolved
    Column("state", String(16), nullable=False, server_default="open"),
    # The message as it was reported (JSON), kept only until the report is resolved.
    Column("snapshot", Text, nullable=True),
    Column("action", String(16), nullable=True),
    Column("resolved_by", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("resolved_at_ms", BigInteger, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_reports_state", "state", "id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("action", String(32), nullable=False),
    Column("actor_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="SET NULL"), nullable=True),
    Column("target_user_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    # No foreign key: an entry outlives what it is about, and never keeps deleted text.
    Column("target_message_id", Id, nullable=True),
    Column("reason", String(500), nullable=True),
    Column("details", Text, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_audit_log_room", "room_id", "id"),
)

invites = Table(
    "invites",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # Looked up by its SHA-256, so no comparison ever runs on the secret itself; the
    # code is kept too, so that moderators can copy a link again from the list.
    Column("code_hash", String(64), nullable=False, unique=True),
    Column("code", String(64), nullable=False),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    # student | guest
    Column("role", String(16), nullable=False, server_default="student"),
    Column("max_uses", Integer, nullable=True),
    Column("uses", Integer, nullable=False, server_default="0"),
    Column("expires_at_ms", BigInteger, nullable=False),
    Column("revoked", Boolean, nullable=False, server_default="0"),
    Column("created_by", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    Index("ix_invites_room", "room_id", "id"),
)

questions = Table(
    "questions",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    # open | answered
    Column("state", String(16), nullable=False, server_default="open"),
    # Kept in step with question_votes in the vote's own transaction.
    Column("votes", Integer, nullable=False, server_default="0"),
    Column("claimed_by", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("answered_by", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    # The answering message: no foreign key, an answer may be deleted later.
    Column("answer_id", Id, nullable=True),
    Column("asked_at_ms", BigInteger, nullable=False),
    Index("ix_questions_asked", "room_id", "asked_at_ms"),
)
# The queue, most votes then oldest, is a walk of this index, never a sort of the room.
Index(
    "ix_questions_queue",
    questions.c.room_id,
    questions.c.state,
    questions.c.votes.desc(),
    questions.c.message_id,
)

question_votes = Table(
    "question_votes",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at_ms", BigInteger, nullable=False),
)

workshops = Table(
    "workshops",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("started_by", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("started_at_ms", BigInteger, nullable=False),
    Column("ends_at_ms", BigInteger, nullable=False),
    # Set once, by the conditional UPDATE that claims the end (one node, one time).
    Column("ended_at_ms", BigInteger, nullable=True),
    # The settings to give back at the end.
    Column("prev_slow_mode", Integer, nullable=False),
    Column("prev_guests_allowed", Boolean, nullable=False),
    # JSON: asked, answered, open and the top-voted question ids, written at the end.
    Column("summary", Text, nullable=True),
    Column("summary_message_id", Id, nullable=True),
    Index("ix_workshops_due", "ended_at_ms", "ends_at_ms"),
    Index("ix_workshops_room", "room_id", "id"),
)

polls = Table(
    "polls",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("question", String(300), nullable=False),
    Column("multiple", Boolean, nullable=False),
    Column("anonymous", Boolean, nullable=False),
    Column("closed", Boolean, nullable=False, server_default="0"),
    Column("closed_by", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("closed_at_ms", BigInteger, nullable=True),
    # Distinct voters, kept in step with poll_votes in the vote's own transaction.
    Column("voters", Integer, nullable=False, server_default="0"),
    # Random per poll: keys the hash that names a voter in poll_votes.
    Column("salt", String(32), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

poll_options = Table(
    "poll_options",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    # 1..10, in the order the author gave them.
    Column("option_id", Integer, primary_key=True),
    Column("text", String(100), nullable=False),
    # Kept in step with poll_votes in the vote's own transaction.
    Column("votes", Integer, nullable=False, server_default="0"),
)

poll_votes = Table(
    "poll_votes",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    # HMAC-SHA256 of the user id keyed by the poll's salt (hex): one voter, one name.
    Column("voter", String(64), primary_key=True),
    Column("option_id", Integer, primary_key=True),
    # Who voted, for the voters list; always null in an anonymous poll. No time is kept.
    Column("user_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Index("ix_poll_votes_user_id", "user_id"),
)

AnyRow = Row[*tuple[Any, ...]]
"""A result row of any width, read by column name (`row.username`), never by position."""

# -- meetups (PROTOCOL-COMMUNITY section 7) ------------------------------------------------

meetups = Table(
    "meetups",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("room_id", Id, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("starts_at_ms", BigInteger, nullable=False),
    Column("ends_at_ms", BigInteger, nullable=True),
    Column("place", String(200), nullable=True),
    # Null: no limit.
    Column("capacity", Integer, nullable=True),
    # Kept in step with meetup_rsvps under the meetup row's lock.
    Column("going", Integer, nullable=False, server_default="0"),
    Column("maybe", Integer, nullable=False, server_default="0"),
    Column("waitlist", Integer, nullable=False, server_default="0"),
    # The waitlist's order: each newcomer takes the next number.
    Column("next_position", BigInteger, nullable=False, server_default="0"),
    Column("cancelled", Boolean, nullable=False, server_default="0"),
    # When it was created or last moved: reminders falling before it are not sent.
    Column("scheduled_at_ms", BigInteger, nullable=False),
    # Upcoming meetups and the reminders due are ranges of this index.
    Index("ix_meetups_starts", "starts_at_ms", "message_id"),
)

meetup_rsvps = Table(
    "meetup_rsvps",
    metadata,
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # going | maybe | waitlisted ("no" deletes the row)
    Column("status", String(16), nullable=False),
    # Set while waitlisted: the order places are given in.
    Column("position", BigInteger, nullable=True),
    Column("updated_at_ms", BigInteger, nullable=False),
    Index("ix_meetup_rsvps_queue", "message_id", "status", "position"),
    Index("ix_meetup_rsvps_user", "user_id"),
)

meetup_reminders = Table(
    "meetup_reminders",
    metadata,
    # One row per reminder sent: its insert is the claim, so one node sends it, once.
    Column("message_id", Id, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True),
    Column("offset_s", Integer, primary_key=True),
    Column("starts_at_ms", BigInteger, primary_key=True),
    Column("sent_at_ms", BigInteger, nullable=False),
)

# -- uploads (PROTOCOL-COMMUNITY section 6) ------------------------------------------------

uploads = Table(
    "uploads",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("owner_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("content_type", String(64), nullable=False),
    # Bytes of the stored file (an image's after its metadata is stripped).
    Column("size", BigInteger, nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("file_key", String(200), nullable=False),
    Column("thumbnail_key", String(200), nullable=True),
    # pending (files being written) | ready | gone (files to delete, then the row)
    Column("state", String(16), nullable=False),
    # Set once, by the conditional UPDATE that attaches it to the message being sent.
    Column("message_id", Id, ForeignKey("messages.id", ondelete="SET NULL"), nullable=True),
    Column("position", Integer, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    # A sweep's claim on the row (one node deletes its files), renewed after a lease.
    Column("claimed_at_ms", BigInteger, nullable=True),
    Index("ix_uploads_message", "message_id", "position"),
    Index("ix_uploads_owner", "owner_id", "state"),
    Index("ix_uploads_sweep", "state", "created_at_ms"),
)
