"""Field limits, message bodies and @mentions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatserver.domain.errors import BadRequest, ChatError, TooLarge
from chatserver.domain.text import (
    MAX_BODY_CHARS,
    MAX_MENTIONS,
    mention_candidates,
    normalize_username,
    prepare_body,
    resolve_mentions,
    validate_display_name,
    validate_password,
    validate_region,
    validate_room_name,
    validate_slug,
    validate_topic,
)

# --- accounts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("Alice", "alice"),
        ("bob", "bob"),
        ("a.b-c_9", "a.b-c_9"),
        ("abc", "abc"),
        ("X" * 32, "x" * 32),
    ],
)
def test_username_is_folded_to_lower_case(raw: str, stored: str) -> None:
    assert normalize_username(raw) == stored


@pytest.mark.parametrize(
    "raw",
    ["", "ab", "a" * 33, "al ice", " alice", "alicé", "\u212aate", "ali@ce", "ali+ce", None, 123],
)
def test_bad_usernames_are_bad_requests(raw: object) -> None:
    with pytest.raises(BadRequest, match="username"):
        normalize_username(raw)


def test_password_is_kept_exactly_as_typed() -> None:
    assert validate_password("  pass word  ") == "  pass word  "
    assert validate_password("8charsok") == "8charsok"
    assert validate_password("p" * 1024) == "p" * 1024


def test_password_limits() -> None:
    with pytest.raises(BadRequest, match="at least 8"):
        validate_password("7chars!")
    with pytest.raises(TooLarge):
        validate_password("p" * 1025)
    with pytest.raises(BadRequest):
        validate_password(12345678)
    with pytest.raises(BadRequest):
        validate_password("password\ud800")  # cannot be encoded for hashing


@pytest.mark.parametrize("slug", ["rust", "ab", "rust-fr-2026", "a" * 32])
def test_valid_slugs(slug: str) -> None:
    assert validate_slug(slug) == slug


@pytest.mark.parametrize("slug", ["Rust", "a", "a" * 33, "rust_fr", "rust fr", "", "café", None])
def test_invalid_slugs_are_refused_not_renamed(slug: object) -> None:
    with pytest.raises(BadRequest, match="slug"):
        validate_slug(slug)


# --- profile and room fields ---------------------------------------------------------------


def test_display_name() -> None:
    assert validate_display_name(None, "alice") == "alice"
    assert validate_display_name("  Alice L.  ", "alice") == "Alice L."
    assert validate_display_name("👨\u200d👩\u200d👧 family", "x") == "👨\u200d👩\u200d👧 family"
    assert validate_display_name("n" * 64, "x") == "n" * 64
    with pytest.raises(TooLarge):
        validate_display_name("n" * 65, "x")


@pytest.mark.parametrize("raw", ["", "   ", "two\nlines", "tab\there", "\u202eevil", "bell\x07", 5])
def test_display_name_refusals(raw: object) -> None:
    with pytest.raises(BadRequest):
        validate_display_name(raw, "alice")


def test_room_name() -> None:
    assert validate_room_name("  Rust learners ") == "Rust learners"
    assert validate_room_name("r" * 80) == "r" * 80
    with pytest.raises(TooLarge):
        validate_room_name("r" * 81)
    with pytest.raises(BadRequest):
        validate_room_name("  ")
    with pytest.raises(BadRequest):
        validate_room_name(None)


def test_topic() -> None:
    assert validate_topic(None) is None
    assert validate_topic("") is None  # clears the topic
    assert validate_topic(" Weekly sync ") == "Weekly sync"
    assert validate_topic("t" * 500) == "t" * 500
    with pytest.raises(TooLarge):
        validate_topic("t" * 501)
    with pytest.raises(BadRequest):
        validate_topic(["topic"])


def test_region() -> None:
    assert validate_region(None) is None
    assert validate_region("") is None
    assert validate_region("   ") is None
    assert validate_region(" Brussels ") == "Brussels"
    assert validate_region("r" * 64) == "r" * 64
    with pytest.raises(TooLarge):
        validate_region("r" * 65)
    with pytest.raises(BadRequest):
        validate_region(42)


# --- message bodies ------------------------------------------------------------------------


def test_body_is_stored_as_sent() -> None:
    assert prepare_body("  hello\n\n  world  ") == "  hello\n\n  world  "


@pytest.mark.parametrize("raw", ["", "   ", "\n\t ", None, 42, {"text": "hi"}])
def test_empty_or_non_text_body_is_a_bad_request(raw: object) -> None:
    with pytest.raises(BadRequest):
        prepare_body(raw)


def test_body_limit_counts_the_trimmed_text() -> None:
    full = "b" * MAX_BODY_CHARS
    assert prepare_body(full) == full
    assert prepare_body(f"   {full}\n\n") == f"   {full}\n\n"
    with pytest.raises(TooLarge) as caught:
        prepare_body(full + "b")
    assert caught.value.code == "too_large"


def test_body_limit_is_on_what_was_typed_and_shortcodes_only_shorten() -> None:
    typed = ":tada:" * (MAX_BODY_CHARS // 6)
    assert prepare_body(typed) == "🎉" * (MAX_BODY_CHARS // 6)


def test_body_with_nul_or_lone_surrogate_is_refused() -> None:
    with pytest.raises(BadRequest):
        prepare_body("hello\x00")
    with pytest.raises(BadRequest):
        prepare_body("hello \udc80")


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("great :tada:", "great 🎉"),
        (":+1: :thumbs_up: :thumbsup:", "👍 👍 👍"),
        ("bravo :pouce_vers_le_haut: :cœur_rouge:", "bravo 👍 ❤️"),
        ("meet at 10:30:45", "meet at 10:30:45"),
        ("this is :notanemoji: ok", "this is :notanemoji: ok"),
        ("`:tada:` :tada:", "`:tada:` 🎉"),
        ("``a ` :tada:`` :tada:", "``a ` :tada:`` 🎉"),
        ("```\nx = {':tada:': 1}\n```\n:tada:", "```\nx = {':tada:': 1}\n```\n🎉"),
        ("```py\n:tada:\n", "```py\n:tada:\n"),  # an unclosed fence runs to the end
        ("a ` alone :tada:", "a ` alone 🎉"),  # an unclosed backtick is just a backtick
        ("x```:+1:```y:+1:", "x```:+1:```y👍"),
    ],
)
def test_shortcodes_outside_code_become_emoji(raw: str, stored: str) -> None:
    assert prepare_body(raw) == stored


_BODY_PIECES = st.sampled_from(
    ["`", "``", "```", ":", ":tada:", ":+1:", "@alice", "x", " ", "\n", "10:30", "é", "👍"]
)


@given(
    st.one_of(
        st.text(st.characters(exclude_categories=())),  # lone surrogates included
        st.lists(_BODY_PIECES, max_size=40).map("".join),
    )
)
def test_prepare_body_raises_only_bad_request_or_too_large(raw: str) -> None:
    try:
        stored = prepare_body(raw)
    except (BadRequest, TooLarge):
        return
    if ":" not in raw:
        assert stored == raw
    assert len(stored) <= len(raw)


@given(st.one_of(st.none(), st.integers(), st.floats(), st.binary(), st.lists(st.text())))
def test_prepare_body_refuses_non_text_with_bad_request(raw: object) -> None:
    with pytest.raises(BadRequest):
        prepare_body(raw)


def test_many_code_spans_in_one_body() -> None:
    spans = "`:+1:` `` ` :+1: `` " * 150
    assert prepare_body(spans + ":+1:") == spans + "👍"


# --- mentions ------------------------------------------------------------------------------


def test_candidates_are_every_prefix_longest_first() -> None:
    assert mention_candidates("hi @Alice.Smith!") == [
        "alice.smith",
        "alice.smit",
        "alice.smi",
        "alice.sm",
        "alice.s",
        "alice.",
        "alice",
        "alic",
        "ali",
    ]


def test_candidates_skip_emails_code_and_short_tokens() -> None:
    body = "mail me@example.com, see `@carol` and\n```\n@dave\n```\n@al @bob"
    assert mention_candidates(body) == ["bob"]


def test_candidates_are_deduplicated_and_capped() -> None:
    assert mention_candidates("@bob @BOB @bob.") == ["bob", "bob."]
    many = " ".join(f"@{i:03d}" for i in range(MAX_MENTIONS + 20))  # one candidate each
    assert mention_candidates(many) == [f"{i:03d}" for i in range(MAX_MENTIONS)]
    long_token = "@" + "a" * 40
    assert mention_candidates(long_token)[0] == "a" * 32  # no username is longer


_MENTION_PIECES = st.sampled_from(["@", "a", "B", ".", "-", "_", "7", " ", "`", "x@", "é", "!"])
_MENTION_BODIES = st.one_of(st.text(), st.lists(_MENTION_PIECES, max_size=60).map("".join))


@given(_MENTION_BODIES)
def test_candidates_are_always_valid_usernames(body: str) -> None:
    for candidate in mention_candidates(body):
        assert normalize_username(candidate) == candidate


MEMBERS = {"alice": 1, "bob": 2, "alice.smith": 3, "carol": 4}


@pytest.mark.parametrize(
    ("body", "ids"),
    [
        ("thanks @alice.", [1]),  # sentence punctuation is not part of the name
        ("@alice.smith can you check?", [3]),  # the longest member username wins
        ("@alice.smithers is new", [3]),
        ("@alice.jones is not a member", [1]),
        ("@Bob and @ALICE", [2, 1]),  # first-mention order, case folded
        ("@bob @alice @bob", [2, 1]),  # no duplicates
        ("write to alice@example.com", []),  # an email address is not a mention
        ("`@alice` in code", []),
        ("```\n@alice\n```", []),
        ("@dave is not in the room", []),
        ("(@carol)", [4]),
        ("@al", []),
    ],
)
def test_resolve_mentions(body: str, ids: list[int]) -> None:
    assert resolve_mentions(body, MEMBERS) == ids


def test_resolve_mentions_uses_only_the_capped_mentions() -> None:
    filler = " ".join(f"@u{i:03d}" for i in range(MAX_MENTIONS))
    assert resolve_mentions(f"{filler} @alice", MEMBERS) == []
    assert resolve_mentions(f"@alice {filler}", MEMBERS) == [1]


@given(
    _MENTION_BODIES, st.dictionaries(st.sampled_from(["aaa", "bab", "a.b", "aa-"]), st.integers())
)
def test_resolved_ids_come_from_members_without_duplicates(
    body: str, members: dict[str, int]
) -> None:
    ids = resolve_mentions(body, members)
    assert len(ids) == len(set(ids))
    assert set(ids) <= set(members.values())


def test_refusals_carry_the_protocol_code_and_a_message() -> None:
    with pytest.raises(ChatError) as caught:
        normalize_username("x")
    assert caught.value.code == "bad_request"
    assert "3-32" in caught.value.message
