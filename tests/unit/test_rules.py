"""Who may do what, and the notification filter's decision table."""

from __future__ import annotations

import pytest

from chatserver.domain import rules
from chatserver.domain.errors import BadRequest, Forbidden
from chatserver.domain.models import Level, Membership, Message, Room, User

STUDENT = User(1, "sam", "Sam", "student")
MENTOR = User(2, "mia", "Mia", "mentor")
ADMIN = User(3, "ada", "Ada", "admin")


def _room(kind: str = "cohort", visibility: str = "private", created_by: int = 2) -> Room:
    return Room(9, "r", "R", kind, visibility, None, 3, 0, created_by)  # type: ignore[arg-type]


def _message(author: User) -> Message:
    return Message(1, 9, 1, author, "hi", 0, None, False, None, (), None, 1)


def test_students_create_topic_rooms_only() -> None:
    rules.check_can_create_room(STUDENT, "topic")
    for kind in ("cohort", "region"):
        with pytest.raises(Forbidden):
            rules.check_can_create_room(STUDENT, kind)
    for user in (MENTOR, ADMIN):
        for kind in ("cohort", "region", "topic"):
            rules.check_can_create_room(user, kind)  # type: ignore[arg-type]
        with pytest.raises(BadRequest):
            rules.check_can_create_room(user, "dm")


def test_cohorts_are_private_and_other_rooms_default_public() -> None:
    assert rules.room_visibility("cohort", None) == "private"
    assert rules.room_visibility("topic", None) == "public"
    assert rules.room_visibility("region", "private") == "private"
    with pytest.raises(BadRequest):
        rules.room_visibility("cohort", "public")


def test_moderators_add_members_to_any_room_but_a_dm() -> None:
    owner = Membership(9, STUDENT.id, 0, None, room_role="owner")
    member = Membership(9, STUDENT.id, 0, None)
    rules.check_can_add_member(STUDENT, _room(created_by=STUDENT.id), owner)
    rules.check_can_add_member(MENTOR, _room(), Membership(9, MENTOR.id, 0, None))
    rules.check_can_add_member(MENTOR, _room(kind="topic", visibility="public"), None)
    rules.check_can_add_member(ADMIN, _room(), None)  # the admins' door
    rules.check_can_add_member(None, _room(), None)  # the operator's command line
    with pytest.raises(Forbidden):
        rules.check_can_add_member(STUDENT, _room(), member)
    with pytest.raises(Forbidden):
        rules.check_can_add_member(ADMIN, _room(kind="dm"), None)


def test_nobody_bans_or_mutes_an_admin_and_only_admins_touch_an_owner() -> None:
    owner_seat = Membership(9, STUDENT.id, 0, None, room_role="owner")
    with pytest.raises(Forbidden):
        rules.check_can_act_on(MENTOR, ADMIN, None, "ban")
    with pytest.raises(Forbidden):
        rules.check_can_act_on(ADMIN, ADMIN, None, "mute")
    with pytest.raises(Forbidden):
        rules.check_can_act_on(MENTOR, STUDENT, owner_seat, "mute")
    rules.check_can_act_on(ADMIN, STUDENT, owner_seat, "ban")
    rules.check_can_act_on(STUDENT, MENTOR, Membership(9, MENTOR.id, 0, None), "mute")


def test_moderation() -> None:
    member = Membership(9, MENTOR.id, 0, None)
    assert rules.deleted_by(MENTOR, _message(STUDENT), _room(), member) == "moderator"
    assert rules.deleted_by(STUDENT, _message(STUDENT), _room(), None) == "author"
    with pytest.raises(Forbidden):
        rules.deleted_by(STUDENT, _message(MENTOR), _room(), Membership(9, STUDENT.id, 0, None))
    owner = Membership(9, STUDENT.id, 0, None, room_role="owner")
    assert rules.deleted_by(STUDENT, _message(MENTOR), _room(), owner) == "moderator"
    with pytest.raises(Forbidden):  # DMs have no moderators
        rules.deleted_by(ADMIN, _message(STUDENT), _room(kind="dm"), member)
    with pytest.raises(Forbidden):
        rules.check_can_edit(ADMIN, _message(STUDENT))


def test_dm_rooms_use_all_unless_overridden() -> None:
    assert rules.effective_level("mentions", None, is_dm=True) == "all"
    assert rules.effective_level("none", None, is_dm=True) == "all"
    assert rules.effective_level("mentions", "none", is_dm=True) == "none"
    assert rules.effective_level("friends", None, is_dm=False) == "friends"
    assert rules.effective_level("all", "mentions", is_dm=False) == "mentions"


@pytest.mark.parametrize(
    ("level", "is_dm", "is_friend", "mentioned", "expected"),
    [
        ("all", False, False, False, "all"),
        ("all", False, True, False, "friend"),
        ("all", True, True, False, "dm"),
        ("all", True, False, True, "mention"),
        ("friends", False, True, False, "friend"),
        ("friends", False, False, False, None),
        ("friends", False, False, True, "mention"),
        ("friends", True, True, False, "dm"),
        ("friends", True, False, False, None),
        ("mentions", False, True, False, None),
        ("mentions", False, False, True, "mention"),
        ("mentions", True, True, False, None),
        ("none", False, True, True, None),
        ("none", True, True, True, None),
    ],
)
def test_notification_reason_is_the_strongest_that_applies(
    level: Level, is_dm: bool, is_friend: bool, mentioned: bool, expected: str | None
) -> None:
    assert (
        rules.notification_reason(level, is_dm=is_dm, is_friend=is_friend, mentioned=mentioned)
        == expected
    )


@pytest.mark.parametrize(
    ("level", "is_friend", "mentioned", "expected"),
    [
        ("mentions", False, False, "room_mention"),
        ("friends", False, False, "room_mention"),
        ("friends", True, False, "room_mention"),
        ("all", True, False, "room_mention"),
        ("all", False, True, "mention"),
        ("none", True, True, None),
    ],
)
def test_a_moderators_room_mention_beats_friends_and_mentions_but_not_none(
    level: Level, is_friend: bool, mentioned: bool, expected: str | None
) -> None:
    reason = rules.notification_reason(
        level, is_dm=False, is_friend=is_friend, mentioned=mentioned, room_mentioned=True
    )
    assert reason == expected
