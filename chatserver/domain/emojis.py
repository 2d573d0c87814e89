"""Emoji: the canonical reaction form, `:shortcode:` names (English, French) and picker search."""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import emoji

from chatserver.domain.errors import InvalidEmoji

# The longest shortcode the emoji package knows is a French name of 86 characters, so the
# input bound is set above it: a tighter bound would refuse real shortcodes. The stored
# form is the emoji itself, at most about ten code points.
MAX_REACTION_INPUT = 100

# Shown when the picker has no query: the reactions people reach for most.
POPULAR = (
    "👍", "❤️", "😂", "🎉", "😮", "😢", "🙏", "👏", "🔥", "✅",
    "👀", "💯", "🤔", "😄", "😍", "🚀", "👎", "🙌", "😅", "🤝",
)  # fmt: skip

_VARIATION_SELECTORS = dict.fromkeys((0xFE0E, 0xFE0F))
_SKIN_TONES = frozenset(chr(c) for c in range(0x1F3FB, 0x1F400))
_NO_SKIN_TONES = dict.fromkeys(range(0x1F3FB, 0x1F400))
_SKIN_TONE_NAME = re.compile(r",?_(?:light|medium-light|medium|medium-dark|dark)_skin_tone")
# Unicode gives the mixed-tone "person person" couples no untoned ZWJ form; their
# untoned form is the single code point couple, which is where the picker shows them.
_UNTONED_NAME = {"couple_with_heart_person_person": "💑", "kiss_person_person": "💏"}
_SHORTCODE = re.compile(rf":([^\s:]{{1,{MAX_REACTION_INPUT}}}):")
_FOLD_LETTERS = str.maketrans({"œ": "oe", "æ": "ae", "’": "'"})
_SEPARATORS = re.compile(r"[\s_'\-]+")
_SEP = "\x1f"  # separates names in a search haystack; never typed by anyone


@dataclass(frozen=True, slots=True)
class EmojiEntry:
    """One picker result. Names are shortcodes without their colons: `:name:` works in a message.

    `skins` holds the skin-tone variants of the emoji (uniform tones first, light to dark),
    so the picker shows one result per emoji and offers the tones on it.
    """

    emoji: str
    name: str
    aliases: tuple[str, ...]
    skins: tuple[str, ...]


def _fold_letters(text: str) -> str:
    """Case and accents off: `:coeur_rouge:` finds `:cœur_rouge:`, `belgium` finds `Belgium`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fold_words(text: str) -> str:
    """Search form: folded letters, and `_ - '` and spaces all one word break."""
    return _SEPARATORS.sub(" ", _fold_letters(text)).strip()


@dataclass(frozen=True, slots=True)
class _Tables:
    # Emoji without variation selectors -> its canonical form (see `canonical_emoji`).
    canon: dict[str, str]
    # Shortcode name without colons -> canonical emoji; then the same keyed by folded name.
    names: dict[str, str]
    folded: dict[str, str]


@cache
def _tables() -> _Tables:
    """Built once, on first use (about 80 ms), then read-only (safe to share across threads)."""
    emoji.config.load_language("fr")
    data = emoji.EMOJI_DATA
    canon: dict[str, str] = {}
    # STATUS orders component < fully-qualified < minimally < unqualified, so the first
    # form seen for a key is the most qualified one the package knows.
    for char in sorted(data, key=lambda c: int(data[c]["status"])):
        canon.setdefault(char.translate(_VARIATION_SELECTORS), char)
    names: dict[str, str] = {}
    # Aliases first, then English, then French: `:clap:` is 👏 (as in the chat apps people
    # learned shortcodes from), not the French name of the clapper board.
    for key in ("alias", "en", "fr"):
        for char, info in data.items():
            value = info.get(key)
            for name in value if isinstance(value, list) else [value]:
                if isinstance(name, str):
                    names.setdefault(name.strip(":"), canon[char.translate(_VARIATION_SELECTORS)])
    folded: dict[str, str] = {}
    for name, char in names.items():
        folded.setdefault(_fold_letters(name), char)
    return _Tables(canon, names, folded)


def canonical_emoji(text: str) -> str | None:
    """The stored form of one emoji, or None if `text` is not exactly one known emoji.

    The same emoji with or without U+FE0F (❤ and ❤️), or with the text selector U+FE0E,
    is one reaction: it is stored in its fully-qualified form (❤️), the form Unicode
    recommends for interchange, so every client renders it as an emoji.
    """
    return _tables().canon.get(text.translate(_VARIATION_SELECTORS))


def shortcode_emoji(name: str) -> str | None:
    """The emoji a shortcode name (without colons) stands for, or None.

    Exact names win; then case and accents are ignored so `:Thumbs_Up:` and the French
    `:coeur_rouge:` (for `:cœur_rouge:`) work as typed.
    """
    tables = _tables()
    return tables.names.get(name) or tables.folded.get(_fold_letters(name))


def normalize_reaction(raw: object) -> str:
    """One emoji or one `:shortcode:` -> the canonical emoji; anything else is InvalidEmoji.

    Reactions are compared by string, so two spellings of one emoji must store as one.
    """
    if not isinstance(raw, str):
        raise InvalidEmoji("emoji must be a string")
    text = raw.strip()
    if not text:
        raise InvalidEmoji("emoji is empty")
    if len(text) > MAX_REACTION_INPUT:
        raise InvalidEmoji(f"emoji is too long (at most {MAX_REACTION_INPUT} characters)")
    if len(text) > 2 and text[0] == ":" and text[-1] == ":":
        found = shortcode_emoji(text[1:-1])
        if found is None:
            raise InvalidEmoji(f"unknown emoji shortcode {text!r}")
        return found
    found = canonical_emoji(text)
    if found is not None:
        return found
    count = len(emoji.emoji_list(text))
    if count > 1:
        raise InvalidEmoji(f"a reaction is exactly one emoji, not {count}")
    raise InvalidEmoji("a reaction is exactly one emoji or one known :shortcode:")


def emojize_shortcodes(text: str) -> str:
    """Replace every known `:shortcode:` in `text` by its emoji; leave the rest as typed.

    Unknown candidates are not consumed, so their closing colon can open the next one:
    `10:30:tada:` keeps `10:30` and turns `:tada:` into 🎉.
    """
    if text.count(":") < 2:
        return text
    parts: list[str] = []
    done = 0
    search_from = 0
    while (match := _SHORTCODE.search(text, search_from)) is not None:
        found = shortcode_emoji(match.group(1))
        if found is None:
            search_from = match.end() - 1
            continue
        parts += (text[done : match.start()], found)
        done = search_from = match.end()
    parts.append(text[done:])
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class _Base:
    emoji: str
    names: dict[str, tuple[str, ...]]  # lang -> shortcode names, primary first
    skins: list[str]


@dataclass(frozen=True, slots=True)
class _LangIndex:
    # One result per base emoji, in tie-break order (popular first, then shorter names),
    # with its haystacks: own-language names, and English names as the fallback.
    results: tuple[EmojiEntry, ...]
    haystacks: tuple[tuple[str, str], ...]
    position: dict[str, int]  # any fully-qualified emoji, skin variants too -> result index
    popular: tuple[int, ...]
    longest: int  # no query longer than the longest folded name can match


def _haystack(names: Iterable[str]) -> str:
    folded = [_fold_words(name) for name in names]
    return _SEP + _SEP.join(folded) + _SEP if folded else ""


def _tone_order(variant: str) -> tuple[bool, tuple[str, ...]]:
    tones = tuple(c for c in variant if c in _SKIN_TONES)
    return (len(set(tones)) > 1, tones)


@cache
def _search_index() -> dict[str, _LangIndex]:
    """Built once, on first search (about 40 ms); a search then scans ~1,900 short strings."""
    tables = _tables()
    data = emoji.EMOJI_DATA
    bases: dict[str, _Base] = {}
    variants: list[tuple[str, str]] = []
    for char, info in data.items():
        if info["status"] != emoji.STATUS["fully_qualified"]:
            continue
        if len(char) > 1 and _SKIN_TONES.intersection(char):
            variants.append((char, info["en"].strip(":")))
            continue
        names = {
            "en": (info["en"].strip(":"), *(a.strip(":") for a in info.get("alias", []))),
            "fr": (info["fr"].strip(":"),),
        }
        bases[char] = _Base(char, names, [])
    for char, en_name in variants:
        base = bases.get(canonical_emoji(char.translate(_NO_SKIN_TONES)) or "")
        if base is None:
            untoned = _SKIN_TONE_NAME.sub("", en_name)
            base = bases.get(tables.names.get(untoned) or _UNTONED_NAME.get(untoned, ""))
        if base is None:  # a future package version may add one; better shown than lost
            bases[char] = _Base(char, {"en": (en_name,), "fr": (data[char]["fr"].strip(":"),)}, [])
        else:
            base.skins.append(char)
    popular_rank = {tables.canon.get(c, c): rank for rank, c in enumerate(POPULAR)}
    return {lang: _lang_index(list(bases.values()), lang, popular_rank) for lang in ("en", "fr")}


def _lang_index(unordered: list[_Base], lang: str, popular_rank: dict[str, int]) -> _LangIndex:
    bases = sorted(
        unordered, key=lambda b: (popular_rank.get(b.emoji, len(POPULAR)), len(b.names[lang][0]))
    )
    results = tuple(
        EmojiEntry(
            b.emoji,
            b.names[lang][0],
            b.names[lang][1:] + (b.names["en"] if lang != "en" else ()),
            tuple(sorted(b.skins, key=_tone_order)),
        )
        for b in bases
    )
    haystacks = tuple(
        (_haystack(b.names[lang]), _haystack(b.names["en"]) if lang != "en" else "") for b in bases
    )
    position = {char: i for i, e in enumerate(results) for char in (e.emoji, *e.skins)}
    popular = tuple(position[char] for char in popular_rank if char in position)
    longest = max(len(name) for pair in haystacks for hay in pair for name in hay.split(_SEP))
    return _LangIndex(results, haystacks, position, popular, longest)


def _strength(haystack: str, exact: str, start: str, word: str) -> int:
    if exact in haystack:
        return 0
    if start in haystack:
        return 2
    if word in haystack:
        return 4
    return 6


def search_emoji(q: str, lang: str = "en", limit: int = 50) -> list[EmojiEntry]:
    """Picker search by name: exact names first, then names (or aliases) starting with `q`,
    then later words starting with it, then names containing it. French (`lang="fr"`) also
    searches English, ranked after French at equal strength, so `thumbs` still finds 👍.
    Case, accents, `_` and `-` do not matter. Other languages fall back to English. An
    empty `q` gives the popular reactions.

    Measured on one core: 0.11-0.17 ms for queries of three letters or more, 0.25 ms for
    two, 0.4 ms (English) to 0.7 ms (French) for one letter, which matches nearly every
    emoji; the first call also builds the index (about 40 ms, plus the tables it shares
    with reactions, about 80 ms with the French names).
    """
    indexes = _search_index()
    index = indexes.get(lang, indexes["en"])
    stripped = q.strip()
    # Folding is the costly step; no name survives a query this long, however it folds.
    if limit <= 0 or len(stripped) > 4 * index.longest:
        return []
    typed = canonical_emoji(stripped) if stripped else None
    if typed is not None and typed in index.position:
        return [index.results[index.position[typed]]]  # a pasted emoji finds itself
    key = _fold_words(stripped.strip(":"))
    if not key:
        return [index.results[i] for i in index.popular[:limit]]
    if len(key) > index.longest:
        return []
    exact, start, word = _SEP + key + _SEP, _SEP + key, " " + key
    scored: list[tuple[int, int]] = []
    for i, (own, fallback) in enumerate(index.haystacks):
        # Strength, lower first: exact name, then a name (or alias) starting with the query,
        # then a later word starting with it, then a substring; at each step a match in
        # the user's language comes before one in the fallback language. The cheap `in`
        # tests reject most entries before any of this.
        strength = 8
        if key in own:
            strength = _strength(own, exact, start, word)
        if strength > 0 and fallback and key in fallback:
            strength = min(strength, _strength(fallback, exact, start, word) + 1)
        if strength < 8:
            scored.append((strength, i))
    return [index.results[i] for _, i in heapq.nsmallest(limit, scored)]
