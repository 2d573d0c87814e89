"""Message search, pure: text normalised into index terms, and the query language parsed.

Text is normalised once, here, for both databases: words are split on anything that is
not a letter or a digit, case-folded, stripped of accents, cut to `MAX_TERM` characters
and stemmed by the Snowball stemmers for French and for English (PyStemmer). A word
stands in the index for the set of its stems, so `Réponses` is indexed as `repons` and
`respons`, and a query word matches a message holding any of its own stems: `reponse`
finds `Réponses`, `meetup` finds `meetups`, and accents and case never matter.

Besides words, a message's terms hold a few *facet* terms that no word can produce
(they start with `§`, which is neither a letter nor a digit): its room, its author and
whether it has a link. The room and author filters are then index lookups like the
words themselves, on SQLite's FTS5 and PostgreSQL's GIN alike.

The index only ever sees terms made here (lower-case letters and digits, or a facet),
and a query is turned into the engine's syntax from those terms alone, each quoted:
no character the user typed reaches FTS5's or PostgreSQL's query parser.

The query language: words, all of which must match; `-word` excludes messages holding
the word. Everything else (quotes, `*`, parentheses, `OR`, `:`) is punctuation between
words. A query is 1-200 characters, at most `MAX_WORDS` words, and needs at least one
word to find: empty, operator-only or exclusion-only queries are `bad_request`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Literal

import Stemmer

from chatserver.domain.errors import BadRequest

MAX_QUERY_CHARS = 200
MAX_WORDS = 16
MAX_TERM = 40
"""Characters of a folded word that count; longer words are cut (both sides alike)."""
MAX_CURSOR_CHARS = 24

Has = Literal["question", "attachment", "link", "pin"]

FACET = "§"
LINK_TERM = FACET + "link"

# A word: letters and digits, with the combining accents of decomposed text kept inside
# it (`e` + U+0301 is one word, as `é` is).
_WORD = re.compile(
    r"[^\W_](?:[^\W_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])*"
)
_LINK = re.compile(r"(?i)(?:https?://|mailto:)\S")
_CURSOR = re.compile(r"m([1-9][0-9]{0,18})")

_FRENCH = Stemmer.Stemmer("french")
_ENGLISH = Stemmer.Stemmer("english")


def fold(word: str) -> str:
    """A word case-folded, without accents, letters and digits only, cut to MAX_TERM."""
    # Compatibility forms first (`🄰` is `A`), then the fold, then its own decompositions.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", word).casefold())
    kept = "".join(c for c in decomposed if c.isalnum())
    return kept[:MAX_TERM]


@lru_cache(maxsize=65_536)
def stems(word: str) -> frozenset[str]:
    """The index terms of one word (as typed): its French and English stems, folded.

    Cached: a chat's vocabulary is small, and the send path pays for a word once."""
    folded = fold(word)
    if not folded:
        return frozenset()
    return frozenset((_FRENCH.stemWord(folded), _ENGLISH.stemWord(folded))) - {""}


def words(text: str) -> list[tuple[int, int, str]]:
    """The words of `text` as (start, end, word), offsets in code points."""
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(text)]


def room_term(room_id: int) -> str:
    return f"{FACET}r{room_id}"


def author_term(author_id: int) -> str:
    return f"{FACET}u{author_id}"


@lru_cache(maxsize=65_536)
def index_token(term: str) -> str:
    """What the index stores for a term: 16 hex digits of its BLAKE2b hash.

    Deleting a message removes its index row in the same transaction, but FTS5 keeps the
    tokens of removed rows inside its segments until they are merged, and PostgreSQL
    keeps a dead row until vacuum: text put there would outlive its deletion. Hashed,
    those leftovers are not text; someone holding the database file could still confirm
    a word they guess (docs/security.md). 64 bits make a collision between two terms of
    one school's vocabulary vanishingly unlikely, and a collision only adds a result.
    Cached, as `stems` is: the send path hashes a term of its vocabulary once."""
    return hashlib.blake2b(term.encode(), digest_size=8).hexdigest()


def indexed_terms(body: str, room_id: int, author_id: int) -> list[str]:
    """The index tokens of a message: its `document_terms`, hashed, sorted.

    This runs on every send, so it works on the body's whitespace-separated chunks, each
    one's tokens cached (`_chunk_tokens`): in chat most chunks are frequent words, and a
    message costs a split and a cache lookup per chunk instead of a scan with a Unicode
    regular expression, stemming and hashing (6 µs instead of 15 for the benchmark's
    messages)."""
    found = {index_token(room_term(room_id)), index_token(author_term(author_id))}
    found.update(*map(_chunk_tokens, body.split()))
    return sorted(found)


@lru_cache(maxsize=16_384)
def _chunk_tokens(chunk: str) -> tuple[str, ...]:
    """The index tokens of a chunk of text (no whitespace in it). A tuple, not a set: a
    chunk has one word or a few, and the cache holds thousands of them."""
    return tuple(map(index_token, _chunk_terms(chunk)))


def indexed(query: Query) -> Query:
    """The query over index tokens (what the engines are given)."""
    return Query(
        tuple(frozenset(map(index_token, group)) for group in query.include),
        tuple(
            tuple(frozenset(map(index_token, group)) for group in groups)
            for groups in query.exclude
        ),
    )


def document_terms(body: str, room_id: int, author_id: int) -> list[str]:
    """Every term a message is indexed under, sorted, each once."""
    found: set[str] = {room_term(room_id), author_term(author_id)}
    found.update(*map(_chunk_terms, body.split()))
    return sorted(found)


def _chunk_terms(chunk: str) -> set[str]:
    """The terms of a chunk of text without whitespace: the stems of its words, and the
    link facet if a link starts in it.

    A message's terms are the union of its chunks': neither a word (letters, digits and
    combining accents) nor a link (which needs a non-space right after its scheme) can
    span whitespace, and `str.split` and the link pattern's `\\S` agree on what
    whitespace is (both are `str.isspace`), so this finds what a scan of the whole body
    finds, as highlighting does (`words`)."""
    found: set[str] = set().union(*map(stems, _WORD.findall(chunk)))
    if _LINK.search(chunk):
        found.add(LINK_TERM)
    return found


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: each group is one word's stems (any of them matches the word).

    A message matches when it holds a term of every `include` group, and for each
    `exclude` entry, not a term of every one of its groups (`-l'équipe` excludes
    messages holding both `l` and `equipe`)."""

    include: tuple[frozenset[str], ...]
    exclude: tuple[tuple[frozenset[str], ...], ...] = ()

    @property
    def highlighted(self) -> frozenset[str]:
        """The terms whose words are marked in results."""
        return frozenset().union(*self.include)


def parse(q: object) -> Query:
    """The query `q` as typed; bad_request when there is nothing to search for."""
    if not isinstance(q, str):
        raise BadRequest("q must be a string")
    if len(q) > MAX_QUERY_CHARS:
        raise BadRequest(f"q is longer than {MAX_QUERY_CHARS} characters")
    if not q.strip():
        raise BadRequest("q is empty")
    include: list[frozenset[str]] = []
    exclude: list[tuple[frozenset[str], ...]] = []
    count = 0
    for chunk in q.split():
        negated = chunk.startswith("-")
        groups = tuple(g for _, _, word in words(chunk) if (g := stems(word)))
        count += len(groups)
        if count > MAX_WORDS:
            raise BadRequest(f"q has more than {MAX_WORDS} words")
        if not groups:
            continue
        if negated:
            exclude.append(groups)
        else:
            include.extend(g for g in groups if g not in include)
    if not include:
        raise BadRequest("q has no word to search for (letters or digits, not only -excluded)")
    return Query(tuple(include), tuple(exclude))


def highlights(body: str, query: Query) -> list[tuple[int, int]]:
    """[start, end) code-point offsets of the words of `body` that the query matched."""
    wanted = query.highlighted
    return [(start, end) for start, end, word in words(body) if stems(word) & wanted]


# -- what each engine is given: built from terms only, every term quoted ---------------


def _fts5(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _any_fts5(group: frozenset[str]) -> str:
    terms = sorted(group)
    return _fts5(terms[0]) if len(terms) == 1 else "(" + " OR ".join(map(_fts5, terms)) + ")"


def fts5_match(query: Query, facets: tuple[str, ...] = ()) -> str:
    """The FTS5 MATCH expression for `query` plus required facet terms."""
    parts = [_any_fts5(g) for g in query.include] + [_fts5(f) for f in facets]
    expression = " AND ".join(parts)
    if query.exclude:
        expression = "(" + expression + ")"
    for groups in query.exclude:
        expression += " NOT (" + " AND ".join(_any_fts5(g) for g in groups) + ")"
    return expression


def _lexeme(term: str) -> str:
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _any_tsquery(group: frozenset[str]) -> str:
    return "(" + " | ".join(_lexeme(t) for t in sorted(group)) + ")"


def tsquery(query: Query, facets: tuple[str, ...] = ()) -> str:
    """The same query as PostgreSQL `tsquery` text (cast, never parsed by a config)."""
    parts = [_any_tsquery(g) for g in query.include] + [_lexeme(f) for f in facets]
    for groups in query.exclude:
        parts.append("!(" + " & ".join(_any_tsquery(g) for g in groups) + ")")
    return " & ".join(parts)


def tsvector(terms: list[str]) -> str:
    """Terms as PostgreSQL `tsvector` text (cast as is: no configuration re-parses them)."""
    return " ".join(_lexeme(t) for t in terms)


# -- the other parameters ---------------------------------------------------------------


def parse_time(value: object, name: str) -> int:
    """An ISO 8601 time (with a zone; `Z` allowed) as epoch milliseconds."""
    if not isinstance(value, str) or len(value) > 40:
        raise BadRequest(f"{name} must be an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name} must be an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def cursor_for(message_id: int) -> str:
    """The opaque cursor of the page after the message `message_id` (newest first)."""
    return f"m{message_id}"


def parse_cursor(value: object) -> int:
    """The message id a cursor continues below."""
    if not isinstance(value, str) or len(value) > MAX_CURSOR_CHARS:
        raise BadRequest("cursor is not one this server gave")
    match = _CURSOR.fullmatch(value)
    if match is None or int(match.group(1)) > 2**63 - 1:
        raise BadRequest("cursor is not one this server gave")
    return int(match.group(1))
