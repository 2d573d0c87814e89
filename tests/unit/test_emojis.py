"""Reactions, shortcodes and the emoji picker search."""

from __future__ import annotations

import json
import time
from typing import Any

import emoji
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatserver.domain.emojis import (
    POPULAR,
    EmojiEntry,
    _ranked,
    data_path,
    data_version,
    emojize_shortcodes,
    normalize_reaction,
    search_emoji,
)
from chatserver.domain.errors import InvalidEmoji

SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("👍", "👍"),
        ("👍🏽", "👍🏽"),  # skin tone
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # ZWJ family
        ("🏳️\u200d🌈", "🏳️\u200d🌈"),  # ZWJ with a variation selector inside
        ("🇧🇪", "🇧🇪"),  # flag
        ("1️⃣", "1️⃣"),  # keycap
        ("#️⃣", "#️⃣"),
        ("  🎉\n", "🎉"),  # surrounding white space
        (":thumbs_up:", "👍"),  # English name
        (":+1:", "👍"),  # alias
        (":tada:", "🎉"),
        (":thumbs_up_medium_skin_tone:", "👍🏽"),
        (":pouce_vers_le_haut:", "👍"),  # French
        (":cœur_rouge:", "❤️"),
        (":coeur_rouge:", "❤️"),  # French without the ligature, as people type it
        (":Thumbs_Up:", "👍"),  # case does not matter
        (":heart:", "❤️"),
        (":clap:", "👏"),  # the alias wins over the French name of 🎬
    ],
)
def test_reaction_is_stored_as_the_emoji(raw: str, stored: str) -> None:
    assert normalize_reaction(raw) == stored


@pytest.mark.parametrize(
    "spelling",
    ["❤", "❤️", "❤\ufe0e", " ❤ ", ":red_heart:", ":heart:", ":cœur_rouge:"],
)
def test_every_spelling_of_the_red_heart_is_one_reaction(spelling: str) -> None:
    # The fully-qualified form (with U+FE0F) is the one stored.
    assert normalize_reaction(spelling) == "\u2764\ufe0f"


@pytest.mark.parametrize(
    ("unqualified", "qualified"),
    [("1\u20e3", "1\ufe0f\u20e3"), ("☺", "☺️"), ("👍\ufe0f", "👍"), ("🏳\u200d🌈", "🏳️\u200d🌈")],
)
def test_variation_selectors_fold_to_the_fully_qualified_form(
    unqualified: str, qualified: str
) -> None:
    assert normalize_reaction(unqualified) == qualified


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "👍👍",
        "👍 🎉",
        "ok",
        "1",
        "#",
        ":",
        "::",
        "thumbs_up",
        ":notanemoji:",
        ":+1::+1:",
        ":thumbs up:",
        "👍" + "x" * 200,
        None,
        42,
        ["👍"],
    ],
)
def test_anything_but_one_emoji_is_invalid_emoji(raw: object) -> None:
    with pytest.raises(InvalidEmoji) as caught:
        normalize_reaction(raw)
    assert caught.value.code == "invalid_emoji"
    assert caught.value.message


def test_two_emoji_are_refused_with_a_message_saying_so() -> None:
    with pytest.raises(InvalidEmoji, match="exactly one emoji, not 2"):
        normalize_reaction("👍🎉")


def test_every_emoji_the_package_knows_is_accepted_and_stable() -> None:
    for char in emoji.EMOJI_DATA:
        stored = normalize_reaction(char)
        assert normalize_reaction(stored) == stored
        assert emoji.EMOJI_DATA[stored]["status"] <= emoji.STATUS["fully_qualified"]


def test_every_shortcode_the_package_knows_gives_an_emoji() -> None:
    # Names that worked before the CLDR keywords came still give an emoji; where the
    # emojibase aliases claim a name (`:up:` is 🔼 there), they win.
    emoji.config.load_language("fr")
    for info in emoji.EMOJI_DATA.values():
        if info["status"] > emoji.STATUS["fully_qualified"]:
            continue
        for name in (info["en"], *info.get("alias", []), info["fr"]):
            assert emoji.is_emoji(normalize_reaction(name)), name


def _vendored() -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(data_path().read_text("utf-8"))["emoji"]
    return entries


def test_every_name_of_the_vendored_data_gives_its_emoji_or_a_more_common_one() -> None:
    entries = _vendored()
    assert len(entries) > 1800
    for item in entries:
        mine = normalize_reaction(item["e"])
        for name in item["en"][1] + item["fr"][1]:
            assert emoji.is_emoji(normalize_reaction(f":{name}:")), name
        for skin, codes in item.get("s", []):
            assert normalize_reaction(skin) != mine
            for name in codes:
                assert emoji.is_emoji(normalize_reaction(f":{name}:")), name
    assert data_version() == json.loads(data_path().read_text("utf-8"))["version"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (":fête: :fete: :joie: :bravo:", "🎉 🎉 😂 👏"),  # French keywords
        (":coeur: :cœur:", "❤️ ❤️"),  # the common heart, as the picker offers it
        (":lol: :mdr:", "😆 😂"),
        (":anatomical_heart:", "🫀"),
        ("à 10:30:45 puis 12:30:00", "à 10:30:45 puis 12:30:00"),  # no name without a letter
    ],
)
def test_cldr_keywords_are_shortcodes(text: str, expected: str) -> None:
    assert emojize_shortcodes(text) == expected


# Every code point, lone surrogates included: a URL path or JSON string can carry them.
@given(st.text(st.characters(exclude_categories=()), max_size=120))
def test_normalize_reaction_raises_only_invalid_emoji(raw: str) -> None:
    try:
        stored = normalize_reaction(raw)
    except InvalidEmoji:
        return
    assert normalize_reaction(stored) == stored


_KNOWN = sorted(emoji.EMOJI_DATA)
_PIECES = st.sampled_from([*_KNOWN[::7], "\ufe0f", "\ufe0e", "\u200d", " ", ":", "🏽", "a"])


@given(st.lists(_PIECES, min_size=1, max_size=4).map("".join))
def test_emoji_like_input_is_accepted_idempotently_or_refused(raw: str) -> None:
    try:
        stored = normalize_reaction(raw)
    except InvalidEmoji:
        return
    assert emoji.is_emoji(stored)
    assert normalize_reaction(stored) == stored


@given(st.sampled_from(_KNOWN))
def test_stored_reaction_is_idempotent(char: str) -> None:
    once = normalize_reaction(char)
    assert normalize_reaction(once) == once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:30:45", "10:30:45"),
        (":notanemoji:", ":notanemoji:"),
        ("see :tada: and :+1:", "see 🎉 and 👍"),
        ("10:30:tada:", "10:30🎉"),  # an unknown candidate does not swallow the next colon
        (":+1::thumbs_up:", "👍👍"),
        (":pouce_vers_le_haut:", "👍"),
        ("ratio 3:2", "ratio 3:2"),
    ],
)
def test_emojize_shortcodes(text: str, expected: str) -> None:
    assert emojize_shortcodes(text) == expected


def _emoji(results: list[EmojiEntry]) -> list[str]:
    return [r.emoji for r in results]


def test_empty_query_gives_popular_reactions() -> None:
    results = search_emoji("")
    assert _emoji(results)[:4] == ["👍", "❤️", "😂", "🎉"]
    assert len(results) == len(POPULAR)
    assert _emoji(search_emoji("  ", limit=3)) == ["👍", "❤️", "😂"]


def test_search_finds_by_english_name_and_groups_skin_tones() -> None:
    results = search_emoji("thumbs")
    assert _emoji(results)[:2] == ["👍", "👎"]
    up = results[0]
    assert up.name == "thumbs_up"
    assert "+1" in up.aliases
    assert up.skins == ("👍🏻", "👍🏼", "👍🏽", "👍🏾", "👍🏿")  # light to dark


def test_skin_tone_variants_are_never_separate_results() -> None:
    for q in ("hand", "person", "couple", "kiss", "family", "man", "woman", "holding"):
        for entry in search_emoji(q, limit=5000):
            assert not SKIN_TONES.intersection(entry.emoji), (q, entry)


def test_mixed_tone_couples_are_offered_on_their_base() -> None:
    (couple,) = [e for e in search_emoji("couple_with_heart", limit=5000) if e.emoji == "💑"]
    assert "🧑🏻\u200d❤️\u200d🧑🏿" in couple.skins
    assert len(couple.skins) == 25
    # Uniform tones come before mixed ones.
    assert couple.skins[0] == "💑🏻"


def test_exact_match_then_prefix_then_substring() -> None:
    results = _emoji(search_emoji("ear", limit=500))
    assert results[0] == "👂"  # exact name
    assert results.index("🌽") < results.index("❤️")  # `ear_of_corn` before `red_heart`
    assert _emoji(search_emoji("heart"))[0] == "❤️"  # exact alias


def test_search_ignores_case_accents_and_separators() -> None:
    assert _emoji(search_emoji("THUMBS UP"))[0] == "👍"
    assert _emoji(search_emoji(":thumbs_up:"))[0] == "👍"
    assert _emoji(search_emoji("coeur rouge", lang="fr"))[0] == "❤️"
    assert _emoji(search_emoji("cœur_rouge", lang="fr"))[0] == "❤️"


def test_french_search_uses_french_names_and_falls_back_to_english() -> None:
    pouce = search_emoji("pouce", lang="fr")
    assert pouce[0].emoji == "👍"
    assert pouce[0].name == "pouce_vers_le_haut"
    assert "thumbs_up" in pouce[0].aliases
    assert _emoji(search_emoji("thumbs", lang="fr"))[0] == "👍"
    feu = search_emoji("feu", lang="fr")[0]
    assert (feu.emoji, feu.name) == ("🔥", "feu")
    assert _emoji(search_emoji("fire", lang="fr"))[0] == "🔥"


def test_french_match_ranks_before_english_match_of_equal_strength() -> None:
    # `lion` is the French label of ♌, a French keyword of 🦁 and the English label of 🦁.
    assert _emoji(search_emoji("lion", lang="fr"))[:2] == ["♌", "🦁"]
    assert _emoji(search_emoji("lion", lang="en"))[0] == "🦁"
    # `fire` is a French keyword of 🧯 too, but 🔥 is a popular reaction named `fire`.
    assert _emoji(search_emoji("fire", lang="fr"))[0] == "🔥"


@pytest.mark.parametrize(
    ("q", "first"),
    [("coeur", "❤️"), ("cœur", "❤️"), ("fête", "🎉"), ("fete", "🎉"), ("FETE", "🎉"),
     ("joie", "😂"), ("bravo", "👏"), ("pouce", "👍"), ("merci", "🙏"), ("mdr", "😂")],
)  # fmt: skip
def test_french_keywords_find_the_common_choice_first(q: str, first: str) -> None:
    found = search_emoji(q, lang="fr")
    assert found[0].emoji == first
    if q.startswith("co"):
        assert _emoji(found).index("❤️") < _emoji(found).index("🫀")


def test_labels_are_in_sentence_case_in_the_asked_language() -> None:
    assert search_emoji("pouce", lang="fr")[0].label == "Pouce vers le haut"
    assert search_emoji("thumbs", lang="en")[0].label == "Thumbs up"
    assert (
        search_emoji("belgique", lang="fr")[0].label == "Drapeau\u202f: Belgique"
    )  # CLDR French spacing


def test_unknown_language_falls_back_to_english() -> None:
    assert search_emoji("thumbs", lang="xx")[0].name == "thumbs_up"


def test_search_limits_and_nonsense() -> None:
    assert len(search_emoji("a", limit=7)) == 7
    assert search_emoji("thumbs", limit=0) == []
    assert search_emoji("xyzzyplugh") == []
    assert search_emoji("x" * 10_000) == []


def test_pasting_an_emoji_finds_it() -> None:
    assert _emoji(search_emoji("👍🏽")) == ["👍"]
    assert _emoji(search_emoji("❤")) == ["❤️"]


def test_search_is_fast_once_the_index_is_built() -> None:
    search_emoji("warm up")
    queries = ["a", "th", "thumbs", "heart", "smiling face", "xyz", "coeur", "fire"]
    start = time.perf_counter()
    for _ in range(5):
        _ranked.cache_clear()
        for q in queries:
            search_emoji(q, lang="fr")
    per_scan = (time.perf_counter() - start) / (5 * len(queries))
    start = time.perf_counter()
    for _ in range(20):
        for q in queries:
            search_emoji(q, lang="fr", recent=["🫀", "💚"])
    per_search = (time.perf_counter() - start) / (20 * len(queries))
    # About 2 ms a scan and 0.1 ms a cached search measured on a busy machine; the bounds
    # are loose so slow CI machines pass, yet a scan that stopped using the prebuilt
    # index, or a cache that stopped caching, would fail them.
    assert per_scan < 0.03
    assert per_search < 0.002


def test_the_persons_recent_emoji_rank_after_the_popular_ones() -> None:
    plain = _emoji(search_emoji("chat", lang="fr"))
    assert plain[:2] == ["🐈", "😺"]
    mine = _emoji(search_emoji("chat", lang="fr", recent=["🙀", "🎉", "😿"]))
    assert mine[:4] == ["🐈", "🙀", "😿", "😺"]  # the exact label still comes first
    assert _emoji(search_emoji("coeur", lang="fr", recent=["💚"]))[:3] == ["❤️", "😍", "🫀"]
    assert _emoji(search_emoji("coeur", lang="fr", recent=["💚"]))[3] == "💚"
