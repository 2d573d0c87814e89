"""Emoji: the canonical reaction form, `:shortcode:` names (English, French) and picker search.

Names, keywords and order come from the Unicode CLDR annotations as packaged by
emojibase-data, vendored at a pinned version in `client/vendor/emojibase/emoji.json`
(the client's folder, so the wheel carries it and the web client can read the same file).
The `emoji` package recognises emoji sequences and their qualified forms.
"""

from __future__ import annotations

import json
import re
import unicodedata
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

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
_LANGS = ("en", "fr")


@dataclass(frozen=True, slots=True)
class EmojiEntry:
    """One picker result. Names are shortcodes without their colons: `:name:` works in a message.

    `skins` holds the skin-tone variants of the emoji (uniform tones first, light to dark),
    so the picker shows one result per emoji and offers the tones on it. `label` is the
    CLDR name to show, in sentence case (`Pouce vers le haut`).
    """

    emoji: str
    name: str
    aliases: tuple[str, ...]
    skins: tuple[str, ...]
    label: str


def _fold_letters(text: str) -> str:
    """Case and accents off: `:coeur_rouge:` finds `:cœur_rouge:`, `belgium` finds `Belgium`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLD_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _fold_words(text: str) -> str:
    """Search form: folded letters, and `_ - '` and spaces all one word break."""
    return _SEPARATORS.sub(" ", _fold_letters(text)).strip()


@dataclass(frozen=True, slots=True)
class _Entry:
    """One emoji of the vendored emojibase data (see `_load`), canonical forms throughout."""

    emoji: str
    aliases: tuple[str, ...]  # chat-app shortcodes: `tada`, `+1`
    labels: dict[str, str]  # lang -> CLDR label: `pouce vers le haut`
    codes: dict[str, tuple[str, ...]]  # lang -> CLDR shortcodes: `pouce_vers_le_haut`
    tags: dict[str, tuple[str, ...]]  # lang -> CLDR keywords: `super`, `d’accord`
    skins: tuple[tuple[str, tuple[str, ...]], ...]  # (variant, its shortcodes)


@dataclass(frozen=True, slots=True)
class _Tables:
    # Emoji without variation selectors -> its canonical form (see `canonical_emoji`).
    canon: dict[str, str]
    # Shortcode name without colons -> canonical emoji; then the same keyed by folded name.
    names: dict[str, str]
    folded: dict[str, str]
    # The emojibase entries, most common first: the popular reactions, then CLDR order.
    entries: tuple[_Entry, ...]
    version: str


_DATA = Path("vendor", "emojibase", "emoji.json")


def data_path() -> Path:
    """The vendored emojibase file: in the wheel (`chatserver/_client/`) or the source tree."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_client" / _DATA, package.parent / "client" / _DATA):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"emoji data not found: {_DATA} under chatserver/_client or client/")


def _snake(text: str) -> str:
    """A label or keyword as a shortcode name: `drapeau : Belgique` -> `drapeau_Belgique`."""
    return "_".join(re.findall(r"[^\s:,]+", text))


def _untoned(char: str) -> str:
    return char.translate(_VARIATION_SELECTORS)


@cache
def _tables() -> _Tables:
    """Built once, on first use (about 100 ms), then read-only (safe to share across threads)."""
    emoji.config.load_language("fr")
    data = emoji.EMOJI_DATA
    canon: dict[str, str] = {}
    # STATUS orders component < fully-qualified < minimally < unqualified, so the first
    # form seen for a key is the most qualified one the package knows.
    for char in sorted(data, key=lambda c: int(data[c]["status"])):
        canon.setdefault(_untoned(char), char)
    raw = json.loads(data_path().read_text("utf-8"))

    def canonical(char: str) -> str:
        return canon.setdefault(_untoned(char), char)

    popular_rank = {canonical(c): rank for rank, c in enumerate(POPULAR)}
    entries = sorted(
        (
            _Entry(
                canonical(item["e"]),
                tuple(item["a"]),
                {lang: item[lang][0] for lang in _LANGS},
                {lang: tuple(item[lang][1]) for lang in _LANGS},
                {lang: tuple(item[lang][2]) for lang in _LANGS},
                tuple((canonical(skin), tuple(codes)) for skin, codes in item.get("s", ())),
            )
            for item in raw["emoji"]
        ),
        key=lambda e: popular_rank.get(e.emoji, len(POPULAR)),  # stable: CLDR order after
    )
    names: dict[str, str] = {}

    def claim(name: str, char: str) -> None:
        if name and len(name) <= MAX_REACTION_INPUT:
            names.setdefault(name, char)

    def claim_words(text: str, char: str) -> None:
        # A label or keyword without a letter (`30` for 🕧) is no name: `10:30:45` is a time.
        if any(c.isalpha() for c in text):
            claim(_snake(text), char)
            claim(_snake(_fold_letters(text)), char)  # `coeur` as well as `cœur`

    # Precedence when two emoji claim one name: chat-app aliases (`:clap:` is 👏, as in the
    # apps people learned shortcodes from, not the French name of the clapper board), then
    # the labels and keywords of the popular reactions (`:coeur:` is ❤️, as in the picker,
    # not the anatomical 🫀 that CLDR names `cœur`), then CLDR shortcodes (English, French,
    # skin tones), then the names of the `emoji` package (kept so that names that worked
    # before still do), then CLDR labels and keywords, the most common emoji first:
    # `:fête:` is 🎉, `:joie:` 😂, `:bravo:` 👏.
    for e in entries:
        for name in e.aliases:
            claim(name, e.emoji)
    for e in entries[: len(POPULAR)]:
        for lang in _LANGS:
            for text in (e.labels[lang], *e.tags[lang]):
                claim_words(text, e.emoji)
    for e in entries:
        for lang in _LANGS:
            for name in e.codes[lang]:
                claim(name, e.emoji)
        for skin, codes in e.skins:
            for name in codes:
                claim(name, skin)
    for key in ("alias", "en", "fr"):
        for char, info in data.items():
            value = info.get(key)
            for legacy in value if isinstance(value, list) else [value]:
                if isinstance(legacy, str):
                    claim(legacy.strip(":"), canon[_untoned(char)])
    for e in entries:
        for lang in _LANGS:
            for text in (e.labels[lang], *e.tags[lang]):
                claim_words(text, e.emoji)
    folded: dict[str, str] = {}
    for name, char in names.items():
        folded.setdefault(_fold_letters(name), char)
    return _Tables(canon, names, folded, tuple(entries), str(raw["version"]))


def data_version() -> str:
    """The emojibase-data version the names and keywords come from."""
    return _tables().version


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
class _LangIndex:
    # One result per base emoji, most common first (the popular reactions, then CLDR
    # order), with its haystacks: own-language names and keywords, and English as fallback.
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


def _sentence_case(label: str) -> str:
    return label[:1].upper() + label[1:]


def _words(e: _Entry, lang: str) -> tuple[str, ...]:
    """Everything a search in `lang` matches: label, shortcodes, keywords (and aliases)."""
    aliases = e.aliases if lang == "en" else ()
    return (e.labels[lang], *e.codes[lang], *aliases, *e.tags[lang])


@cache
def _search_index() -> dict[str, _LangIndex]:
    """Built once, on first search (about 60 ms); a search then scans ~1,900 short strings."""
    return {lang: _lang_index(_tables().entries, lang) for lang in _LANGS}


def _lang_index(entries: tuple[_Entry, ...], lang: str) -> _LangIndex:
    results = []
    for e in entries:
        own = e.codes[lang] or (_snake(e.labels[lang]),)
        english = (*e.codes["en"], *e.aliases) if lang != "en" else e.aliases
        skins = tuple(sorted((skin for skin, _ in e.skins), key=_tone_order))
        aliases = tuple(dict.fromkeys(n for n in (*own[1:], *english) if n != own[0]))
        results.append(EmojiEntry(e.emoji, own[0], aliases, skins, _sentence_case(e.labels[lang])))
    haystacks = tuple(
        (_haystack(_words(e, lang)), _haystack(_words(e, "en")) if lang != "en" else "")
        for e in entries
    )
    position: dict[str, int] = {}
    for i, entry in enumerate(results):
        for char in (entry.emoji, *entry.skins):
            position.setdefault(char, i)
    popular = tuple(position[char] for char in map(canonical_emoji, POPULAR) if char in position)
    longest = max(len(name) for pair in haystacks for hay in pair for name in hay.split(_SEP))
    return _LangIndex(tuple(results), haystacks, position, popular, longest)


def _strength(haystack: str, exact: str, start: str, word: str) -> int:
    if haystack.startswith(exact):  # the label comes first in a haystack
        return 1
    if exact in haystack:
        return 2
    if start in haystack:
        return 4
    if word in haystack:
        return 6
    return 8


def search_emoji(
    q: str, lang: str = "en", limit: int = 50, recent: Sequence[str] = ()
) -> list[EmojiEntry]:
    """Picker search over names, labels and CLDR keywords: the exact label first, then an
    exact name or keyword, then one starting with `q`, then a later word starting with it,
    then one containing it; at equal strength CLDR order. A popular reaction with a name
    starting with `q`, in either language, comes before all of these, so `coeur` gives ❤️
    (keyword `cœur`) before 🫀 (labelled `cœur`) and `pouce` gives 👍 (`pouce vers le
    haut`) before 👎 (keyword `pouce`). French (`lang="fr"`) also searches English, ranked
    after French at equal strength, so `thumbs` still finds 👍. Case, accents, `_` and `-`
    do not matter. Other languages fall back to English. An empty `q` gives the popular
    reactions. `recent` (the person's recent emoji, newest first) ranks their matches just
    after the popular reactions' at equal strength.

    Measured on a shared, busy two-core machine: a query's first search scans the index,
    1-4 ms for two letters or more, about 20 ms for one letter (which matches nearly every
    emoji), about twice the name-only index this replaced, keywords making the haystacks
    longer; its matches are then cached (`_ranked`), so the next search for it, by anyone,
    only orders them (well under 1 ms). The first call builds the index (about 0.5 s there,
    plus the tables it shares with reactions, about 0.8 s).
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
    popular = len(index.popular)  # the popular reactions are the first results
    mine = {index.position[c]: r for r, c in enumerate(recent[:50]) if c in index.position}
    found: list[int] = []
    ranked = _ranked(key, lang if lang in indexes else "en")
    j = 0
    while j < len(ranked) and len(found) < limit:
        # One strength at a time: the popular reactions, then the person's recent emoji
        # (newest first), then CLDR order.
        strength = ranked[j] >> _INDEX_BITS
        k = j
        while k < len(ranked) and ranked[k] >> _INDEX_BITS == strength:
            k += 1
        same = [p & _INDEX_MASK for p in ranked[j:k]]
        found += [i for i in same if i < popular]
        found += sorted((i for i in same if i >= popular and i in mine), key=mine.__getitem__)
        found += [i for i in same if i >= popular and i not in mine]
        j = k
    return [index.results[i] for i in found[:limit]]


_INDEX_BITS = 12  # an emoji's index in a result list; there are about 1,900
_INDEX_MASK = (1 << _INDEX_BITS) - 1


@lru_cache(maxsize=1024)
def _ranked(key: str, lang: str) -> array[int]:
    """Every match of a folded query, as `strength << 12 | index`, sorted. Cached: a query
    is typed one letter at a time by many people (`c`, `co`, `coe`…), and the short ones,
    which match nearly everything, cost the most (at most 8 bytes a match held)."""
    index = _search_index()[lang]
    assert len(index.results) <= _INDEX_MASK
    exact, start, word = _SEP + key + _SEP, _SEP + key, " " + key
    popular = len(index.popular)
    ranked = array("q")
    for i, (own, fallback) in enumerate(index.haystacks):
        # Strength, lower first: a popular reaction with a name starting with the query,
        # then the exact label, then an exact name or keyword, then one starting with the
        # query, then a later word starting with it, then a substring; at each step a match
        # in the user's language comes before one in the fallback language. The cheap `in`
        # tests reject most entries before any of this.
        strength = 10
        if key in own:
            strength = _strength(own, exact, start, word)
        if strength > 2 and fallback and key in fallback:  # English can only tie at 2
            strength = min(strength, _strength(fallback, exact, start, word) + 1)
        if strength <= 5 and i < popular:
            strength = 0
        if strength < 10:
            ranked.append(strength << _INDEX_BITS | i)
    return array("q", sorted(ranked))
