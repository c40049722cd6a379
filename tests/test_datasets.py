"""SPARQL datasets as the specification defines them, and updates that say what they did.

A query's FROM / FROM NAMED define its dataset; the protocol's default-graph-uri / named-graph-uri replace
them; only a query that names none gets the union of all graphs as its default graph. Relative IRIs resolve
against the URL the request was sent to. An update writes into named graphs only (the store's own default graph
is the read-only union), and its answer counts the triples it inserted and deleted.
"""

from __future__ import annotations

import json

import httpx
import pytest

from ekb.config import DATA_GRAPH_PREFIX, ONTOLOGY_GRAPH, SHAPES_GRAPH, Settings
from ekb.errors import InputError
from ekb.kb import KnowledgeBase
from ekb.sparql_lexer import names_dataset
from ekb.store import EmbeddedStore
from tests.conftest import ROOT, ApiServer

TOKEN = "dataset-token"
COUNT = "SELECT (COUNT(*) AS ?n) {dataset} WHERE {{ ?s ?p ?o }}"
TIMEOUT = 60.0


def count(kb: KnowledgeBase, dataset: str = "", **options) -> int:
    answer = kb.sparql(COUNT.format(dataset=dataset), **options)
    return int(json.loads(answer.body)["results"]["bindings"][0]["n"]["value"])


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    kb = KnowledgeBase(Settings(root=ROOT, write_token=TOKEN),
                       EmbeddedStore(tmp_path_factory.mktemp("datasets") / "store"))
    kb.load()
    yield kb
    kb.close()


def test_from_and_from_named_define_the_dataset(kb):
    shapes, ontology, union = kb.store.count(SHAPES_GRAPH), kb.store.count(ONTOLOGY_GRAPH), count(kb)
    assert union > shapes + ontology > 0
    assert count(kb, f"FROM <{SHAPES_GRAPH}>") == shapes
    assert count(kb, f"FROM <{SHAPES_GRAPH}> FROM <{ONTOLOGY_GRAPH}>") == shapes + ontology
    assert count(kb, f"FROM NAMED <{SHAPES_GRAPH}>") == 0  # only named graphs: the default graph is empty
    capability = "{ ?s a <https://kb.quantum-energy.example/def/core/BusinessCapability> }"
    assert json.loads(kb.sparql(f"ASK {capability}").body)["boolean"] is True  # in the data graphs
    assert json.loads(kb.sparql(f"ASK FROM <{SHAPES_GRAPH}> {capability}").body)["boolean"] is False
    named = (f"SELECT DISTINCT ?g FROM NAMED <{SHAPES_GRAPH}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}")
    rows = json.loads(kb.sparql(named).body)["results"]["bindings"]
    assert [r["g"]["value"] for r in rows] == [SHAPES_GRAPH]


def test_the_protocols_dataset_replaces_the_querys(kb):
    ontology = kb.store.count(ONTOLOGY_GRAPH)
    assert count(kb, f"FROM <{SHAPES_GRAPH}>", default_graphs=[ONTOLOGY_GRAPH]) == ontology
    assert count(kb, named_graphs=[SHAPES_GRAPH]) == 0  # named-graph-uri alone: an empty default graph
    named = f"SELECT DISTINCT ?g FROM NAMED <{SHAPES_GRAPH}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"
    rows = json.loads(kb.sparql(named, default_graphs=[ONTOLOGY_GRAPH]).body)["results"]["bindings"]
    assert rows == []  # the protocol gave no named graph: the query's FROM NAMED does not apply


def test_from_is_read_as_the_engine_reads_it():
    assert names_dataset("SELECT * from <g> { ?s ?p ?o }")
    assert names_dataset("SELECT * FROM NAMED <g> { GRAPH ?g { ?s ?p ?o } }")
    assert not names_dataset('SELECT * { ?s ?p "FROM <g>" }')  # a string
    assert not names_dataset("SELECT * { ?s ?p <http://e/from> } # FROM <g>")  # an IRI, a comment
    assert not names_dataset("PREFIX from: <http://e/> SELECT * { ?s from:p ?o }")  # a prefix named from
    assert not names_dataset("SELECT * { ?s ?p ?o FILTER(?o = 'x') }")


def test_relative_iris_resolve_against_the_base(kb):
    answer = kb.sparql("SELECT ?x WHERE { BIND(<thing> AS ?x) }", base_iri="http://kb.example/sparql")
    assert json.loads(answer.body)["results"]["bindings"][0]["x"]["value"] == "http://kb.example/thing"


def test_an_update_may_not_write_to_the_default_graph(kb):
    """The store's own default graph is neither validated nor reasoned over: writing there would bypass the
    governance gate, so an update must name its graph."""
    before = kb.store.count()
    sneaky = ("INSERT DATA { <https://kb.quantum-energy.example/id/capability/unowned> "
              "a <https://kb.quantum-energy.example/def/core/BusinessCapability> }")
    with pytest.raises(InputError, match="default graph"):
        kb.update(sneaky)
    assert kb.store.count() == before


@pytest.fixture(scope="module")
def server(kb):
    running = ApiServer(kb)
    yield running
    running.stop()


def test_over_http_updates_count_what_they_changed(server):
    url, auth = server.url + "/sparql", {"Authorization": f"Bearer {TOKEN}"}
    graph = DATA_GRAPH_PREFIX + "dataset-test"
    insert = f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:x:a> <urn:x:p> 1 , 2 }} }}"
    first = httpx.post(url, data={"update": insert}, headers=auth, timeout=TIMEOUT)
    assert first.status_code == 200, first.text
    assert (first.json()["inserted"], first.json()["deleted"]) == (2, 0)
    again = httpx.post(url, data={"update": insert}, headers=auth, timeout=TIMEOUT).json()
    assert (again["inserted"], again["deleted"]) == (0, 0) and "changed nothing" in again["note"]
    # copied from a working SELECT, without GRAPH: it reads the (empty) default graph and says it did nothing
    nothing = httpx.post(url, data={"update": "DELETE WHERE { <urn:x:a> <urn:x:p> ?o }"}, headers=auth,
                         timeout=TIMEOUT).json()
    assert nothing["deleted"] == 0 and "changed nothing" in nothing["note"]
    deleted = httpx.post(url, data={"update": f"DELETE WHERE {{ GRAPH <{graph}> {{ <urn:x:a> <urn:x:p> ?o }} }}"},
                         headers=auth, timeout=TIMEOUT).json()
    assert (deleted["inserted"], deleted["deleted"]) == (0, 2)


def test_over_http_relative_iris_resolve_against_the_request_url(server):
    answer = httpx.get(server.url + "/sparql", params={"query": "SELECT ?x WHERE { BIND(<thing> AS ?x) }"},
                       headers={"Accept": "application/sparql-results+json"}, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"]["bindings"][0]["x"]["value"] == server.url + "/thing"
    update = "INSERT DATA { GRAPH <graph/data/relative> { <a> <b> <c> } }"
    written = httpx.post(server.url + "/sparql", data={"update": update},
                         headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT)
    assert written.status_code == 200, written.text
    ask = f"ASK {{ GRAPH <{server.url}/graph/data/relative> {{ <{server.url}/a> ?p ?o }} }}"
    assert httpx.get(server.url + "/sparql", params={"query": ask}, timeout=TIMEOUT).json()["boolean"] is True


def test_over_http_from_is_honoured(server):
    query = COUNT.format(dataset=f"FROM <{SHAPES_GRAPH}>")
    answer = httpx.get(server.url + "/sparql", params={"query": query}, timeout=TIMEOUT).json()
    assert int(answer["results"]["bindings"][0]["n"]["value"]) == server.kb.store.count(SHAPES_GRAPH)


def test_over_http_the_protocols_using_graphs_are_the_updates_dataset(server):
    url, auth = server.url + "/sparql", {"Authorization": f"Bearer {TOKEN}"}
    source, target = DATA_GRAPH_PREFIX + "using-source", DATA_GRAPH_PREFIX + "using-target"
    seeded = httpx.post(url, data={"update": f"INSERT DATA {{ GRAPH <{source}> {{ <urn:x:doc> a <urn:x:Doc> }} }}"},
                        headers=auth, timeout=TIMEOUT)
    assert seeded.status_code == 200
    copy = f"INSERT {{ GRAPH <{target}> {{ ?s a <urn:x:Copied> }} }} WHERE {{ ?s a <urn:x:Doc> }}"
    unscoped = httpx.post(url, data={"update": copy}, headers=auth, timeout=TIMEOUT).json()
    assert unscoped["inserted"] == 0  # without a dataset, WHERE reads the empty default graph
    scoped = httpx.post(url, params={"using-graph-uri": source}, content=copy,
                        headers={**auth, "Content-Type": "application/sparql-update"}, timeout=TIMEOUT)
    assert scoped.status_code == 200 and scoped.json()["inserted"] == 1, scoped.text
    remove = "DELETE WHERE { ?s a <urn:x:Doc> }"  # the shorthand, given a dataset: deletes nothing from it
    assert httpx.post(url, data={"update": remove, "using-graph-uri": source}, headers=auth,
                      timeout=TIMEOUT).json()["deleted"] == 0
    named = "DELETE { GRAPH ?g { ?s a <urn:x:Doc> } } WHERE { GRAPH ?g { ?s a <urn:x:Doc> } }"
    deleted = httpx.post(url, data={"update": named, "using-named-graph-uri": source}, headers=auth, timeout=TIMEOUT)
    assert deleted.json()["deleted"] == 1, deleted.text
    both = httpx.post(url, data={"update": f"WITH <{source}> " + copy.replace("GRAPH", "").replace(f"<{target}>", ""),
                                 "using-graph-uri": source}, headers=auth, timeout=TIMEOUT)
    assert both.status_code == 400 and "one or the other" in both.json()["message"]
