"""A streamed CONSTRUCT (the SELECT of its template's variables, instantiated as solutions come) answers the same
RDF graph as the engine's own CONSTRUCT, keeps only a bounded window of what it emitted, and stops at the limits."""

from __future__ import annotations

import pytest
import rdflib
from rdflib.compare import isomorphic

from ekb import construct_stream
from ekb.errors import LimitExceeded, QuerySyntaxError
from ekb.formats import GRAPH_FORMATS
from ekb.store import NTRIPLES, EmbeddedStore

DATA = """PREFIX ex: <http://example.org/>
INSERT DATA {
  GRAPH <http://example.org/g1> { ex:a ex:p ex:b, "x"@en, 3, "2020-01-01"^^<http://www.w3.org/2001/XMLSchema#date> .
                                  ex:b ex:p ex:a . _:n ex:q "blank subject" . ex:c ex:q _:m }
  GRAPH <http://example.org/g2> { ex:a ex:p ex:b . ex:c ex:r "only in g2" }
}"""

QUERIES = [
    "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
    "CONSTRUCT WHERE { ?s ?p ?o }",
    "construct where { ?s ?p ?o . ?o ?p ?s }",
    "PREFIX ex: <http://example.org/> CONSTRUCT { ?o ex:inverse ?s . ?s a ex:Thing } WHERE { ?s ex:p ?o }",
    "PREFIX ex: <http://example.org/> CONSTRUCT { ?s ex:has [ ex:value ?o ; ex:list (1 ?o) ] } WHERE { ?s ?p ?o }",
    "PREFIX ex: <http://example.org/> CONSTRUCT { ?s ex:x ?unbound . ?s ex:y ?o } WHERE { ?s ?p ?o }",
    "CONSTRUCT { ?o ?p ?s } WHERE { ?s ?p ?o }",  # literals where a subject must be: left out
    "CONSTRUCT { ?s ?o ?p } WHERE { ?s ?p ?o }",  # literals and blank nodes where a predicate must be
    "BASE <http://example.org/base/> CONSTRUCT { <relative> <p> ?o } WHERE { ?s ?p ?o } ORDER BY ?o LIMIT 2",
    "CONSTRUCT { ?s ?p ?o } FROM <http://example.org/g2> WHERE { ?s ?p ?o }",
    "CONSTRUCT FROM <http://example.org/g2> WHERE { ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } VALUES ?p { <http://example.org/q> }",
    "# a comment with CONSTRUCT { ?x }\nCONSTRUCT { ?s <http://example.org/label> 'CONSTRUCT {' } WHERE { ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { { SELECT ?s ?p ?o WHERE { ?s ?p ?o } ORDER BY DESC(?s) LIMIT 3 } }",
    "CONSTRUCT { <http://example.org/a> <http://example.org/p> <http://example.org/b> } WHERE { ?s ?p ?o }",
    "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(false) }",
    "DESCRIBE <http://example.org/a>",
]


@pytest.fixture(scope="module")
def store() -> EmbeddedStore:
    store = EmbeddedStore()
    store.update(DATA)
    return store


def streamed(store: EmbeddedStore, query: str, fmt=NTRIPLES, **limits) -> bytes:
    chunks: list[bytes] = []
    rest = store.query(query, graph_format=fmt, forward=lambda answer: chunks.append(answer.body), **limits).body
    return b"".join(chunks) + rest


def graph(body: bytes, fmt: str = "nt") -> rdflib.Graph:
    return rdflib.Graph().parse(data=body.decode("utf-8"), format=fmt)


@pytest.mark.parametrize("query", QUERIES)
def test_streamed_construct_answers_the_engines_graph(store: EmbeddedStore, query: str) -> None:
    native = store.query(query, graph_format=NTRIPLES).body
    assert isomorphic(graph(streamed(store, query)), graph(native))


def test_the_usual_constructs_are_planned_and_the_rest_left_to_the_engine() -> None:
    planned = [q for q in QUERIES if construct_stream.plan(q) is not None]
    assert len(planned) == len(QUERIES) - 2  # no variable in the template; a DESCRIBE
    escaped = "CONSTRUCT { ?s ?p \"\\u0041\" } WHERE { ?s ?p ?o }"
    assert construct_stream.plan(escaped) is None
    large = "CONSTRUCT { " + " ".join(f"?s <http://example.org/p{i}> ?o ." for i in range(65)) + " } WHERE { ?s ?p ?o }"
    assert construct_stream.plan(large) is None  # past MAX_TEMPLATE: the engine's CONSTRUCT, faster there
    plan = construct_stream.plan(QUERIES[9])
    assert plan.select.startswith("SELECT ?s ?p ?o ") and "FROM <http://example.org/g2>" in plan.select


@pytest.mark.parametrize("fmt", GRAPH_FORMATS, ids=lambda f: f.name)
def test_every_graph_format_streams(store: EmbeddedStore, fmt) -> None:
    query = QUERIES[4]  # blank nodes and a collection in the template
    parsed = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml", "jsonld": "json-ld", "n3": "n3"}[fmt.name]
    native = store.query(query, graph_format=fmt).body
    assert isomorphic(graph(streamed(store, query, fmt), parsed), graph(native, parsed))


def test_duplicates_are_dropped_within_the_window_and_only_there(store: EmbeddedStore, monkeypatch) -> None:
    """Each subject's type is emitted once per triple of that subject: once in all while the window holds them,
    more than once when the window is too small to hold them (the bound is real), the same graph either way."""
    many = EmbeddedStore()
    many.update("INSERT DATA { GRAPH <http://example.org/g> { "
                + " ".join(f"<http://example.org/s{i % 10}> <http://example.org/p{i}> {i} ." for i in range(200))
                + " } }")
    query = "CONSTRUCT { ?s a <http://example.org/Thing> } WHERE { ?o ?p ?s2 . ?s ?p ?o2 }"
    lines = streamed(many, query).splitlines()
    assert len(lines) == len(set(lines)) == 10
    monkeypatch.setattr(construct_stream, "WINDOW", 2)
    small_window = streamed(many, query).splitlines()
    assert len(small_window) > 10 and set(small_window) == set(lines)


def test_a_syntax_error_is_the_engines_even_where_the_select_would_read(store: EmbeddedStore) -> None:
    with pytest.raises(QuerySyntaxError, match="GROUP BY"):
        streamed(store, "CONSTRUCT { ?s <http://example.org/p> ?o } WHERE { ?s ?p ?o } GROUP BY ?s")


def test_the_size_limit_stops_a_streamed_construct() -> None:
    big = EmbeddedStore()
    big.update("INSERT DATA { GRAPH <http://example.org/g> { "
               + " ".join(f"<http://example.org/s{i}> <http://example.org/p> {i} ." for i in range(20_000)) + " } }")
    with pytest.raises(LimitExceeded, match="larger than the limit of 100,000 bytes"):
        streamed(big, "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", max_bytes=100_000)


def test_an_answer_that_revisits_each_triple_far_apart_is_the_engines_size() -> None:
    """Each subject typed once per class it is found in, the classes one after the other: a triple's twins come
    20,000 solutions apart, within the window, so the answer is exactly the engine's (not three times larger,
    which the size limit would count)."""
    typed = EmbeddedStore()
    typed.update("INSERT DATA { GRAPH <http://example.org/g> { " + " ".join(
        f"<http://example.org/s{i}> a <http://example.org/C{c}> ." for i in range(20_000) for c in range(3)) + " } }")
    query = ("CONSTRUCT { ?s a <http://example.org/Thing> } WHERE { "
             "VALUES ?c { <http://example.org/C0> <http://example.org/C1> <http://example.org/C2> } ?s a ?c }")
    native = typed.query(query, graph_format=NTRIPLES).body
    assert streamed(typed, query) == native and native.count(b"\n") == 20_000
