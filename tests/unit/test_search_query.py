"""The search query parser and the text normalisation, property-tested: any text is either
a query made only of quoted terms or a bad_request; what FTS5 matches is what the query
means; case, accents and inflections fold away."""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from chatserver.domain import search_query as sq
from chatserver.domain.errors import BadRequest

# Text with what query languages treat as syntax well represented.
SYNTAX = "\"*()-+:^~!&|\\'{}[];,. NEAR OR AND NOT"
query_text = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(list(SYNTAX))), max_size=220
)
latin_words = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèêàçôûïÉÀ", min_size=1, max_size=14)

_FTS5_TOKENS = re.compile(r'"(?:[^"]|"")*"|AND|OR|NOT|\(|\)|\s+')
_TSQUERY_TOKENS = re.compile(r"'(?:[^'\\]|''|\\.)*'|[&|!()]|\s+")


def parsed_or_refused(q: str) -> sq.Query | None:
    try:
        return sq.parse(q)
    except BadRequest:
        return None


@given(query_text)
@settings(max_examples=400)
@example("")
@example("-")
@example('"')
@example("x" * 201)
@example("NEAR(a b)")
@example("a:* | b")
def test_any_text_is_a_query_of_quoted_terms_or_a_bad_request(q: str) -> None:
    query = parsed_or_refused(q)
    if query is None:
        return
    assert 1 <= len(q) <= sq.MAX_QUERY_CHARS and query.include
    # Nothing but quoted terms and the operators we wrote ourselves.
    assert _FTS5_TOKENS.sub("", sq.fts5_match(query, ("§r1",))) == ""
    assert _TSQUERY_TOKENS.sub("", sq.tsquery(query, ("§r1",))) == ""
    for group in (*query.include, *(g for groups in query.exclude for g in groups)):
        for term in group:
            assert term and term.isalnum() and term == term.casefold()
            assert len(term) <= sq.MAX_TERM


@pytest.mark.parametrize(
    "q", ["", " ", "\t\n", "-", "- -", "--x", "-word", "-a -b", '"" ()', "*", "!?", "x" * 201]
)
def test_nothing_to_search_for_is_a_bad_request(q: str) -> None:
    with pytest.raises(BadRequest):
        sq.parse(q)


def test_words_beyond_the_limit_are_a_bad_request() -> None:
    sq.parse(" ".join(f"w{i}" for i in range(sq.MAX_WORDS)))
    with pytest.raises(BadRequest):
        sq.parse(" ".join(f"w{i}" for i in range(sq.MAX_WORDS + 1)))


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("reponse", "Les Réponses de la semaine"),
        ("réponses", "une reponse"),
        ("meetup", "two meetups in July"),
        ("meetups", "the meetup"),
        ("Bruxelles", "qui est à BRUXELLES ?"),
        ("contrat", "votre avis sur ces contrats"),
        ("running", "she runs"),
        ("mothers", "Mother's Day ad"),
        ("élève", "les eleves"),
        ("naïve", "NAIVE"),
        ("straße", "STRASSE"),
    ],
)
def test_inflections_accents_and_case_match(query: str, body: str) -> None:
    assert matches(sq.parse(query), set(sq.document_terms(body, 1, 1)))


def without_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


@given(latin_words)
def test_case_and_accents_never_change_the_query(word: str) -> None:
    query = parsed_or_refused(word)
    assume(query is not None)
    assert sq.parse(word.upper()) == query
    assert sq.parse(without_accents(word)) == query
    assert sq.parse(unicodedata.normalize("NFD", word)) == query


@given(st.lists(latin_words, min_size=1, max_size=12), st.data())
def test_every_word_of_a_message_finds_it(words: list[str], data: st.DataObject) -> None:
    body = " ".join(words)
    terms = set(sq.document_terms(body, 7, 9))
    word = data.draw(st.sampled_from(words))
    query = parsed_or_refused(word.swapcase())
    assume(query is not None)
    assert query is not None and matches(query, terms)
    # And its highlights are that word wherever it appears.
    marked = {body[start:end] for start, end in sq.highlights(body, query)}
    assert word in marked


@given(st.text(max_size=300), query_text)
def test_highlights_are_words_of_the_body(body: str, q: str) -> None:
    query = parsed_or_refused(q)
    assume(query is not None)
    assert query is not None
    last = 0
    for start, end in sq.highlights(body, query):
        assert last <= start < end <= len(body)
        assert sq.stems(body[start:end]) & query.highlighted
        last = end


def matches(query: sq.Query, terms: set[str]) -> bool:
    """What a query means, evaluated in Python."""
    if not all(group & terms for group in query.include):
        return False
    return not any(all(group & terms for group in groups) for groups in query.exclude)


@pytest.fixture(scope="module")
def fts5() -> Iterator[sqlite3.Connection]:
    """The SQLite index exactly as migration 0006 makes it, in memory."""
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE message_search USING fts5(terms, tokenize = 'ascii', detail = 'none')"
    )
    yield db
    db.close()


documents = st.lists(
    st.lists(
        st.one_of(latin_words, st.sampled_from(["NEAR", "OR", "AND", "NOT", "x"])), max_size=8
    ).map(" ".join),
    min_size=1,
    max_size=8,
)


@given(documents, query_text)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fts5_matches_exactly_what_the_query_means(
    fts5: sqlite3.Connection, docs: list[str], q: str
) -> None:
    query = parsed_or_refused(q)
    assume(query is not None)
    assert query is not None
    fts5.execute("DELETE FROM message_search")
    expected = set()
    for rowid, body in enumerate(docs, start=1):
        terms = sq.document_terms(body, 1, 2)
        fts5.execute(
            "INSERT INTO message_search (rowid, terms) VALUES (?, ?)", (rowid, " ".join(terms))
        )
        if matches(query, set(terms)):
            expected.add(rowid)
    found = {
        row[0]
        for row in fts5.execute(
            "SELECT rowid FROM message_search WHERE message_search MATCH ?",
            (sq.fts5_match(query, ("§r1",)),),
        )
    }
    assert found == expected


def test_facets_are_terms_no_word_can_produce() -> None:
    terms = sq.document_terms("§r1 §u2 §link r1 u2 link", 5, 6)
    assert "§r5" in terms and "§u6" in terms
    assert "§r1" not in terms and "§u2" not in terms and sq.LINK_TERM not in terms
    assert sq.LINK_TERM in sq.document_terms("see https://example.org", 5, 6)


# Text cut into chunks every way whitespace can cut it, with accents to combine.
SPLITS = [" ", "\t", "\n", "\u00a0", "\u2028", "\u3000", "\x1c", "\u0301", "https://", "mailto:"]
chunked_text = st.lists(
    st.one_of(st.sampled_from(SPLITS), st.text(max_size=4), latin_words), max_size=20
).map("".join)


@given(chunked_text)
@settings(max_examples=400)
@example("e\u0301te\u0301 e\u00a0\u0301t HTTPS://x mailto: x")
def test_a_message_is_indexed_under_exactly_the_words_highlighting_finds(body: str) -> None:
    """Indexing caches the body's whitespace-separated chunks; highlighting scans the
    whole body: a word highlighted in a result is one its message is indexed under."""
    expected = {sq.room_term(1), sq.author_term(2)}.union(
        *(sq.stems(w) for *_, w in sq.words(body))
    )
    if re.search(r"(?i)(?:https?://|mailto:)\S", body):
        expected.add(sq.LINK_TERM)
    assert sq.document_terms(body, 1, 2) == sorted(expected)
    assert sq.indexed_terms(body, 1, 2) == sorted(map(sq.index_token, expected))


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("2026-12-06T08:00:00Z", 1796544000000),
        ("2026-12-06T09:00:00+01:00", 1796544000000),
        ("2026-12-06T08:00:00.250Z", 1796544000250),
        ("2026-12-06T08:00:00", 1796544000000),
    ],
)
def test_times(value: str, ms: int) -> None:
    assert sq.parse_time(value, "before") == ms


@pytest.mark.parametrize("value", ["", "yesterday", "2026-13-01", "1" * 41, "12:00"])
def test_bad_times(value: str) -> None:
    with pytest.raises(BadRequest):
        sq.parse_time(value, "before")


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_cursors_round_trip(message_id: int) -> None:
    assert sq.parse_cursor(sq.cursor_for(message_id)) == message_id


@given(st.text(max_size=30))
def test_any_other_cursor_is_a_bad_request(value: str) -> None:
    assume(not re.fullmatch(r"m[1-9][0-9]{0,18}", value))
    with pytest.raises(BadRequest):
        sq.parse_cursor(value)


def test_the_index_is_given_hashes_of_terms_never_the_words() -> None:
    """FTS5 keeps a deleted row's tokens in its segments until they merge: what it is
    given must not be the text. The same hashing on both sides keeps the matches."""
    body = "Le contrat confidentiel de Zoé"
    tokens = sq.indexed_terms(body, 3, 4)
    assert len(tokens) == len(sq.document_terms(body, 3, 4))
    for token in tokens:
        assert len(token) == 16 and all(c in "0123456789abcdef" for c in token)
    for word in ("contrat", "confidentiel", "zoe", "conf"):
        assert not any(word in token for token in tokens)
    query = sq.parse("confidentiels")
    assert matches(sq.indexed(query), set(tokens))
    assert not matches(sq.indexed(sq.parse("public")), set(tokens))
