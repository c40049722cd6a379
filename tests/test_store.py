"""The store interface: one suite, run against the embedded store and a real `oxigraph serve`."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from ekb.errors import QuerySyntaxError, StoreUnavailable
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, SOLUTION_FORMATS, by_name
from ekb.remote import RemoteStore

G1 = "https://kb.quantum-energy.example/graph/test/one"
G2 = "https://kb.quantum-energy.example/graph/test/two"
NT1 = b'<http://e/a> <http://e/p> "caf\xc3\xa9"@fr .\n<http://e/a> <http://e/q> <http://e/b> .\n'
NT2 = b"<http://e/c> <http://e/p> <http://e/d> .\n"


def test_replace_list_and_count(store):
    store.replace_graphs({G1: NT1, G2: NT2})
    assert store.graphs() == [G1, G2]
    assert store.count(G1) == 2 and store.count(G2) == 1 and store.count() == 3
    assert store.counts() == {G1: 2, G2: 1}


def test_replace_is_idempotent_and_drops(store):
    store.replace_graphs({G1: NT1, G2: NT2})
    store.replace_graphs({G1: NT1, G2: NT2})
    assert store.count() == 3
    store.replace_graphs({G1: NT2}, drop=[G2])
    assert store.counts() == {G1: 1}


def test_default_graph_is_the_union(store):
    store.replace_graphs({G1: NT1, G2: NT2})
    rows = store.select("SELECT ?s WHERE { ?s <http://e/p> ?o } ORDER BY ?s")
    assert [r["s"].value for r in rows] == ["http://e/a", "http://e/c"]
    assert store.ask(f"ASK {{ GRAPH <{G2}> {{ <http://e/c> ?p ?o }} }}")
    assert not store.ask(f"ASK {{ GRAPH <{G1}> {{ <http://e/c> ?p ?o }} }}")


def test_query_formats_are_serialised_by_the_engine(store):
    store.replace_graphs({G1: NT1})
    for fmt in SOLUTION_FORMATS:
        answer = store.query("SELECT ?o WHERE { <http://e/a> <http://e/q> ?o }", solution_format=fmt)
        assert answer.media_type == fmt.media_type
        assert b"http://e/b" in answer.body
    turtle = by_name("turtle", GRAPH_FORMATS)
    answer = store.query("CONSTRUCT WHERE { ?s ?p ?o }", graph_format=turtle)
    assert answer.kind == "graph" and answer.media_type == "text/turtle"
    parsed = {q.triple for q in ox.parse(answer.body, format=ox.RdfFormat.TURTLE)}
    assert parsed == {q.triple for q in ox.parse(NT1, format=ox.RdfFormat.N_TRIPLES)}


def test_update_and_construct(store):
    store.update(f"INSERT DATA {{ GRAPH <{G1}> {{ <http://e/x> <http://e/p> 1 }} }}")
    triples = store.construct("CONSTRUCT WHERE { ?s <http://e/p> ?o }")
    assert [(t.subject.value, t.object.value) for t in triples] == [("http://e/x", "1")]


def test_export_graph_and_dataset(store):
    store.replace_graphs({G1: NT1, G2: NT2})
    nt = store.export(by_name("ntriples", GRAPH_FORMATS), G2)
    assert nt.strip() == NT2.strip()
    trig = store.export(by_name("trig", DATASET_FORMATS))
    quads = list(ox.parse(trig, format=ox.RdfFormat.TRIG))
    assert {q.graph_name.value for q in quads} == {G1, G2} and len(quads) == 3


def test_bad_query_is_an_input_error(store):
    with pytest.raises(QuerySyntaxError):
        store.query("SELECT * WHERE { ?s ?p }")
    with pytest.raises(QuerySyntaxError):
        store.update("INSERT DATA { <a> }")


def test_failed_update_changes_nothing(store):
    store.replace_graphs({G1: NT1})
    with pytest.raises(QuerySyntaxError):
        store.update(f"DROP GRAPH <{G1}> ; INSERT DATA {{ GRAPH <{G1}> {{ <http://e/a> }} }}")
    assert store.count(G1) == 2


def test_unreachable_remote_is_a_clear_error():
    from tests.conftest import free_port

    store = RemoteStore(f"http://127.0.0.1:{free_port()}/query")
    with pytest.raises(StoreUnavailable, match="cannot reach the SPARQL server"):
        store.graphs()


def test_answers_past_the_size_limit_are_refused(store):
    from ekb.errors import LimitExceeded

    store.replace_graphs({G1: NT1, G2: NT2})
    with pytest.raises(LimitExceeded, match="larger than the limit of 50 bytes"):
        store.query("SELECT * WHERE { ?s ?p ?o }", max_bytes=50)
    assert len(store.query("SELECT * WHERE { ?s ?p ?o }", max_bytes=10_000).body) < 10_000
