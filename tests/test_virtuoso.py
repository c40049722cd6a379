"""Virtuoso (Debian package virtuoso-opensource, default settings) as ekb's remote store, and the dialect layer
that makes it answer as the embedded store does. The store suite (tests/test_store.py) and the API suites
(queries, governance, linked data) run on Virtuoso through the fixtures in conftest; the loader suite runs here."""

from __future__ import annotations

import dataclasses
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pyoxigraph as ox
import pytest

from ekb.config import DATA_GRAPH_PREFIX, EKB, GRAPH, ID, ONTOLOGY_GRAPH, RDFS_LABEL, STAGING_PREFIX
from ekb.dialects import OXIGRAPH, VIRTUOSO, detect, is_ekb_graph, query_form, rewrite_update
from ekb.errors import Forbidden, LimitExceeded, QuerySyntaxError, StoreUnavailable
from ekb.formats import DATASET_FORMATS, by_name
from ekb.interpretation import focus_context, route_owners
from ekb.remote import RemoteStore, blank_node_chunks
from ekb.sparql_lexer import OP, read
from ekb.store import EmbeddedStore
from tests.conftest import EkbServe
from tests.test_loader import (  # noqa: F401 - collected here, with this module's Virtuoso `store`
    test_a_reload_keeps_graphs_written_through_the_api_unless_asked,
    test_graph_layout_and_entailments,
    test_malformed_file_names_file_and_line_and_changes_nothing,
    test_removed_data_file_drops_its_graph,
    test_second_load_is_idempotent,
)

G = GRAPH + "test/virtuoso"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"


@pytest.fixture
def store(virtuoso_server):
    virtuoso_server.clear()
    backend = RemoteStore(virtuoso_server.query_url)
    yield backend
    backend.close()


def canonical(triples) -> ox.Dataset:
    dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return dataset


def many(n: int, prefix: str = "s") -> list[ox.Triple]:
    return [ox.Triple(ox.NamedNode(f"http://e/{prefix}{i}"), ox.NamedNode("http://e/p"), ox.Literal(f"v\t{i}"))
            for i in range(n)]


# -- the dialect layer, without a server ------------------------------------------------------------------------

def test_the_query_form_is_read_from_the_grammar_not_the_text():
    assert query_form("PREFIX s: <http://e/select#> CONSTRUCT { ?s ?p 'SELECT' } WHERE { ?s ?p ?o }") == "construct"
    assert query_form("# SELECT\nASK { ?s ?p ?o }") == "ask"
    assert query_form("SELECT * { { SELECT ?s { ?s ?p ?o } } }") == "select"
    assert query_form("DESCRIBE <http://e/a>") == "describe"


def test_virtuoso_updates_keep_their_meaning():
    with_blank = "INSERT DATA { GRAPH <http://e/g> { <http://e/a> <http://e/p> [ <http://e/q> 1 ] } }"
    assert rewrite_update(with_blank, VIRTUOSO) == ("INSERT  { GRAPH <http://e/g> { <http://e/a> <http://e/p> "
                                                     "[ <http://e/q> 1 ] } } WHERE {}")
    ground = "INSERT DATA { GRAPH <http://e/g> { <http://e/a> <http://e/p> '_:x' } }"
    assert rewrite_update(ground, VIRTUOSO) == ground  # a blank node only in a string is no blank node
    assert rewrite_update("DROP GRAPH <http://e/g> ; DROP SILENT GRAPH <http://e/h>", VIRTUOSO) == (
        "DROP SILENT GRAPH <http://e/g> ; DROP SILENT GRAPH <http://e/h>")
    assert rewrite_update(with_blank + " ; DROP GRAPH <http://e/g>", OXIGRAPH) == with_blank + " ; DROP GRAPH <http://e/g>"


def test_the_dialect_comes_from_the_server_header():
    assert detect("Virtuoso/07.20.3229 (Linux) x86_64-pc-linux-gnu") is VIRTUOSO
    assert detect("Oxigraph/0.4.11") is OXIGRAPH
    assert detect(None).name == detect("Apache-Jena-Fuseki/5").name == "generic"


def test_only_graphs_under_the_graph_namespace_or_listed_are_ekbs():
    assert is_ekb_graph(GRAPH + "data/x")
    assert not is_ekb_graph("http://www.openlinksw.com/schemas/virtrdf#")
    assert is_ekb_graph("http://other/g/1", ("http://other/g/",))


def test_chunks_never_split_statements_linked_by_a_blank_node():
    a, b = ox.BlankNode("a"), ox.BlankNode("b")
    p = ox.NamedNode("http://e/p")
    linked = [ox.Triple(ox.NamedNode("http://e/x"), p, a), ox.Triple(a, p, b), ox.Triple(b, p, ox.Literal("1"))]
    chunks = blank_node_chunks([*many(5), *linked, *many(5, "t")], 4)
    assert all(len(c) <= 4 for c in chunks if not set(c) & set(linked))
    assert any(set(linked) <= set(c) for c in chunks)
    assert sorted(map(str, (t for c in chunks for t in c))) == sorted(map(str, [*many(5), *linked, *many(5, "t")]))


# -- Virtuoso itself --------------------------------------------------------------------------------------------

def test_virtuosos_own_graphs_are_not_ekbs(store, virtuoso_server):
    assert virtuoso_server.system_graphs  # virtrdf# and others, which hold thousands of triples
    assert store.graphs() == [] and store.counts() == {} and store.count() == 0
    assert store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"].value == "0"
    assert not store.ask("ASK { GRAPH ?g { ?s ?p ?o } }")
    store.add_triples(G, many(3))
    assert store.graphs() == [G] and store.count() == 3
    assert store.select("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")[0]["n"].value == "3"
    never = f"GRAPH <{GRAPH}never> {{ ?s ?p ?o }}"  # Virtuoso: one empty solution for a graph outside the dataset
    assert not store.ask(f"ASK {{ {never} }}") and store.select(f"SELECT (COUNT(*) AS ?n) {{ {never} }}")[0]["n"].value == "0"


def test_updates_go_to_the_query_endpoint_and_blank_nodes_and_drops_pass(store, virtuoso_server):
    assert store.update_endpoint == virtuoso_server.query_url
    store.update(f"INSERT DATA {{ GRAPH <{G}> {{ <http://e/a> <http://e/p> [ <http://e/q> true ] }} }}")
    rows = store.select("SELECT ?b ?v WHERE { <http://e/a> <http://e/p> ?b . ?b <http://e/q> ?v }")
    assert isinstance(rows[0]["b"], ox.BlankNode)  # sent by Virtuoso as nodeID://...
    assert rows[0]["v"] == ox.Literal("true", datatype=ox.NamedNode(XSD_BOOLEAN))  # sent as "1"
    assert store.ask("ASK { ?s <http://e/q> true }") and not store.ask("ASK { ?s <http://e/q> false }")
    store.update(f"DROP GRAPH <{G}>")  # never CREATEd: Virtuoso refuses a plain DROP of it
    assert store.graphs() == []


def test_a_dump_past_the_row_cap_is_whole_and_canonical(store):
    triples = many(25_000)
    chain = [ox.Triple(ox.BlankNode(f"n{i}"), ox.NamedNode("http://e/next"), ox.BlankNode(f"n{i + 1}")) for i in range(30)]
    pairs = [ox.Triple(ox.NamedNode(f"http://e/r{i}"), ox.NamedNode("http://e/has"), ox.BlankNode(f"b{i}")) for i in range(1470)]
    chain += pairs + [ox.Triple(ox.BlankNode(f"b{i}"), ox.NamedNode("http://e/v"), ox.Literal(str(i))) for i in range(1500)]
    store.add_triples(G, triples + chain)
    assert store.count(G) == 28_000
    dump = store.graph_ntriples(G)
    assert b"\t" not in dump.replace(b"\\t", b"")  # pyoxigraph's N-Triples, not Virtuoso's tab-separated
    assert canonical(ox.parse(dump, format=ox.RdfFormat.N_TRIPLES)) == canonical(triples + chain)
    nquads = by_name("nquads", DATASET_FORMATS)
    assert len(list(ox.parse(store.export(nquads), format=ox.RdfFormat.N_QUADS))) == 28_000


def test_an_answer_that_reaches_the_row_cap_is_refused_and_names_the_setting(store):
    store.add_triples(G, many(12_000))
    assert store.row_cap() == 10_000  # Virtuoso's default ResultSetMaxRows, measured
    with pytest.raises(LimitExceeded, match="ResultSetMaxRows"):
        store.select("SELECT ?s WHERE { ?s ?p ?o }")
    with pytest.raises(LimitExceeded, match="ResultSetMaxRows"):
        store.construct("CONSTRUCT WHERE { ?s ?p ?o }")
    assert len(store.select("SELECT ?s WHERE { ?s ?p ?o } LIMIT 9000")) == 9000
    # ekb's own dumps (a reasoner's premises) have the shape that pages: read whole, checked against COUNT
    premises = store.construct("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(isLiteral(?o)) }")
    assert canonical(premises) == canonical(many(12_000))


def test_a_dump_the_engine_cuts_short_is_an_error_not_a_smaller_graph(store):
    store.add_triples(G, many(12_000))
    store._row_cap, store._row_cap_known = 50_000, True  # believe the cap higher than it is: one page of 12,000
    with pytest.raises(LimitExceeded, match=r"holds 12,000 triples but the server returned 10,00\d: .*ResultSetMaxRows"):
        store.graph_ntriples(G)


def test_inserts_in_chunks_under_the_engines_limit_keep_blank_nodes_whole(virtuoso_server):
    virtuoso_server.clear()
    no_graph_store = dataclasses.replace(VIRTUOSO, graph_store_path=None)  # INSERT, 1,000 triples a request
    store = RemoteStore(virtuoso_server.query_url, dialect=no_graph_store)
    shape = [ox.Triple(ox.BlankNode(f"x{i // 3}"), ox.NamedNode("http://e/p"), ox.BlankNode(f"y{i}")) for i in range(1200)]
    store.add_triples(G, many(3000) + shape)  # Virtuoso refuses an INSERT of 1,500 triples
    assert canonical(store.graph_triples(G)) == canonical(many(3000) + shape)
    store.replace_graphs({G: ox.serialize(many(2), format=ox.RdfFormat.N_TRIPLES)})
    assert store.graphs() == [G] and store.count(G) == 2  # staged, swapped, the staging graph dropped
    store.close()


def test_an_answer_in_another_format_than_asked_is_refused():
    class Wrong(BaseHTTPRequestHandler):
        def do_POST(self):  # what Virtuoso did with ekb's old Accept header: a CONSTRUCT answered as JSON
            self.rfile.read(int(self.headers["Content-Length"]))
            body = b'{"head": {"vars": []}, "results": {"bindings": []}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/sparql-results+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Wrong)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = RemoteStore(f"http://127.0.0.1:{server.server_address[1]}/sparql", dialect="generic")
        with pytest.raises(StoreUnavailable, match="for application/n-triples and it answered application/sparql-results"):
            store.construct("CONSTRUCT WHERE { ?s ?p ?o }")
        with pytest.raises(StoreUnavailable, match="for application/n-triples"):
            store.query("DESCRIBE <http://e/a>", default_graphs=[GRAPH + "x"])
    finally:
        server.shutdown()


def test_ekb_serve_on_a_fresh_virtuoso_loads_the_model_and_speaks_the_protocol(virtuoso_server):
    virtuoso_server.clear()
    served = EkbServe("--endpoint", virtuoso_server.query_url, write_token="t0ken")
    try:
        sparql = served.url + "/sparql"
        graphs = httpx.get(sparql, params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"},
                           headers={"Accept": "application/sparql-results+json"}, timeout=60).json()
        names = [b["g"]["value"] for b in graphs["results"]["bindings"]]
        assert ONTOLOGY_GRAPH in names and all(is_ekb_graph(g) for g in names)
        turtle = httpx.get(sparql, params={"query": f"CONSTRUCT WHERE {{ ?s <{RDFS_LABEL}> ?o }} "},
                           headers={"Accept": "text/turtle"}, timeout=60)
        assert turtle.status_code == 200 and turtle.headers["content-type"].startswith("text/turtle")
        assert len(list(ox.parse(turtle.content, format=ox.RdfFormat.TURTLE))) > 100
        ask = httpx.get(sparql, params={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": "application/sparql-results+json"},
                        timeout=60)
        assert ask.json()["boolean"] is True
        auth, graph = {"Authorization": "Bearer t0ken"}, {"graph": DATA_GRAPH_PREFIX + "gsp"}
        document = '<http://e/a> <http://e/p> _:b .\n_:b <http://e/q> "1" .\n'
        put = httpx.put(served.url + "/store", params=graph, content=document,
                        headers={**auth, "Content-Type": "application/n-triples"}, timeout=60)
        assert put.status_code == 201, put.text
        assert httpx.delete(served.url + "/store", params=graph, headers=auth, timeout=60).status_code == 204
        assert httpx.get(served.url + "/store", params=graph, timeout=60).status_code == 404
    finally:
        served.stop()


# -- the finding-owner lookup past the size Virtuoso refused in one request (about 6,550 focus nodes) -------------

def owned_things(n: int) -> list[ox.Triple]:
    """n things: the odd ones name their owner (a post), the even ones are operated by a unit whose post owns."""
    rdf_type, label, post_in = (ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"), ox.NamedNode(RDFS_LABEL),
                                ox.NamedNode("http://www.w3.org/ns/org#postIn"))
    own, operated = ox.NamedNode(EKB + "hasAccountableOwner"), ox.NamedNode(EKB + "isOperatedBy")
    triples = []
    for u in range(50):
        unit, post = ox.NamedNode(f"{ID}unit/u{u}"), ox.NamedNode(f"{ID}post/p{u}")
        triples += [ox.Triple(post, post_in, unit), ox.Triple(post, rdf_type, ox.NamedNode(EKB + "Owner")),
                    ox.Triple(post, label, ox.Literal(f"Post {u}")), ox.Triple(unit, label, ox.Literal(f"Unit {u}")),
                    ox.Triple(ox.NamedNode(f"{ID}thing/anchor{u}"), own, post)]
    for i in range(n):
        thing = ox.NamedNode(f"{ID}thing/t{i}")
        triples += [ox.Triple(thing, label, ox.Literal(f"Thing {i}")),
                    ox.Triple(thing, own, ox.NamedNode(f"{ID}post/p{i % 50}")) if i % 2 else
                    ox.Triple(thing, operated, ox.NamedNode(f"{ID}unit/u{i % 50}"))]
    return triples


@pytest.mark.parametrize("backend", ["embedded", "virtuoso"])
def test_owners_are_found_for_thousands_of_focus_nodes(backend, request):
    n = 21_000  # past the 10,000 rows Virtuoso answered to a batch that ignored its VALUES (the whole store)
    if backend == "embedded":
        store = EmbeddedStore()
    else:
        server = request.getfixturevalue("virtuoso_server")
        server.clear()
        store = RemoteStore(server.query_url)
    store.load_graph(DATA_GRAPH_PREFIX + "owned", ox.serialize(owned_things(n), format=ox.RdfFormat.N_TRIPLES))
    focuses = [f"{ID}thing/t{i}" for i in range(n)]
    routed = route_owners(store, focus_context(store, focuses))
    assert {f: routed[f].owner for f in focuses} == {f"{ID}thing/t{i}": f"{ID}post/p{i % 50}" for i in range(n)}
    assert routed[f"{ID}thing/t0"].route == ("the unit that operates it Unit 0",)
    store.close()



# -- gated writes: one operation, staged past the engine's limit; only ekb's graphs ------------------------------

def test_a_request_of_several_operations_is_not_atomic_on_virtuoso(store, virtuoso_server):
    """What `RemoteStore.change_quads` is built on: when the second operation of a request fails at run time,
    Virtuoso 7.2 keeps the first (so a change goes as one operation)."""
    request = (f"INSERT DATA {{ GRAPH <{G}> {{ <http://e/a> <http://e/p> 1 }} }} ;\n"
               f"DROP GRAPH <{GRAPH}never-created>")  # sent as written: no SILENT added
    answer = httpx.post(virtuoso_server.query_url, content=request.encode(),
                        headers={"Content-Type": "application/sparql-update"}, timeout=60)
    assert answer.status_code == 500 and "has not been explicitly created" in answer.text
    assert store.count(G) == 1  # the first operation stayed


def sent_updates(store: RemoteStore) -> list[str]:
    """The text of every update request the store sends from now on."""
    sent: list[str] = []

    def record(request: httpx.Request) -> None:
        if request.headers.get("content-type") == "application/sparql-update":
            sent.append(request.content.decode())

    store._http.event_hooks["request"].append(record)
    return sent


def operations(update: str) -> int:
    """Operations in an update request: its `;` outside every bracket, plus one."""
    return 1 + sum(1 for kind, start, end, depth in read(update).tokens
                   if kind == OP and depth == 0 and update[start:end] == ";")


@pytest.fixture(params=["oxigraph", "virtuoso"])
def remote(request):
    """An empty `oxigraph serve` and Virtuoso, each taking 1,000 quads per update (Virtuoso's limit): past
    that, a change is staged on both."""
    server = request.getfixturevalue("oxigraph_server" if request.param == "oxigraph" else "virtuoso_server")
    server.clear()
    backend = RemoteStore(server.query_url)
    backend._dialect = dataclasses.replace(backend.dialect, update_chunk=1_000)  # Virtuoso's, on both engines
    yield backend
    backend.close()


def quads(triples, graph: str = G) -> list[ox.Quad]:
    return [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in triples]


def is_one_chain(triples: list[ox.Triple], n: int) -> bool:
    """`n` links `_:a next _:b` that form one chain of blank nodes (a chain split across requests would
    come back as several, its labels meaning other nodes in each)."""
    following = {t.subject: t.object for t in triples if isinstance(t.subject, ox.BlankNode)}
    start = set(following) - set(following.values())
    if len(triples) != n or len(start) != 1:
        return False
    node, steps = start.pop(), 0
    while node in following:
        node, steps = following[node], steps + 1
    return steps == n


def test_a_large_change_is_staged_then_applied_by_one_operation(remote):
    kept, gone = many(1_500, "k"), many(2_000, "g")
    remote.add_triples(G, kept + gone)
    other = GRAPH + "test/other"
    chain = [ox.Triple(ox.BlankNode(f"n{i}"), ox.NamedNode("http://e/next"), ox.BlankNode(f"n{i + 1}")) for i in range(1_200)]
    added = quads(many(3_000, "a")) + quads(chain, other)  # 6,200 quads: past Virtuoso's ~1,400 per update
    sent = sent_updates(remote)
    remote.change_quads(quads(gone), added)
    changes = [u for u in sent if "WHERE" in u]
    assert len(changes) == 1 and operations(changes[0]) == 1
    assert canonical(remote.graph_triples(G)) == canonical(kept + many(3_000, "a"))
    assert is_one_chain(remote.graph_triples(other), 1_200)  # the blank nodes stayed whole
    assert sorted(remote.graphs()) == sorted([G, other])  # the staging graphs are dropped


def test_a_staged_change_that_fails_changes_nothing_and_leaves_no_staging_graph(remote, monkeypatch):
    remote.add_triples(G, many(10))
    monkeypatch.setattr("ekb.remote.changed_from_staging", lambda removed, added: "INSERT { oops } WHERE {}")
    with pytest.raises(QuerySyntaxError):
        remote.change_quads(quads(many(10)), quads(many(3_000, "a")))
    assert remote.graphs() == [G] and canonical(remote.graph_triples(G)) == canonical(many(10))


def test_a_small_change_is_one_operation_too(remote):
    remote.add_triples(G, many(3))
    sent = sent_updates(remote)
    blank = ox.Triple(ox.NamedNode("http://e/s0"), ox.NamedNode("http://e/q"), ox.BlankNode("x"))
    remote.change_quads(quads(many(1)), quads([blank]))
    assert len(sent) == 1 and operations(sent[0]) == 1
    assert len(remote.graph_triples(G)) == 3 and remote.ask("ASK { <http://e/s0> <http://e/q> ?b FILTER(isBlank(?b)) }")


def test_a_large_insert_data_goes_as_a_staged_change(remote):
    body = ox.serialize(many(5_000), format=ox.RdfFormat.N_TRIPLES).decode()
    sent = sent_updates(remote)
    remote.update(f"INSERT DATA {{ GRAPH <{G}> {{ {body} }} }}")
    assert remote.count(G) == 5_000 and not any(u.startswith("INSERT DATA") for u in sent)
    remote.update(f"DELETE DATA {{ GRAPH <{G}> {{ {body} }} }}")
    assert remote.count(G) == 0


FOREIGN = "http://other.example/graph/1"


def test_writes_to_graphs_that_are_not_ekbs_are_refused_before_anything_is_sent(remote):
    sent = sent_updates(remote)
    triple = many(1)
    with pytest.raises(Forbidden, match=f"<{FOREIGN}>.*--graph-namespace"):
        remote.change_quads([], quads(triple, FOREIGN))
    with pytest.raises(Forbidden, match=FOREIGN):
        remote.update("PREFIX o: <http://other.example/graph/> INSERT DATA { GRAPH o:1 { <http://e/a> <http://e/p> 1 } }")
    with pytest.raises(Forbidden, match=FOREIGN):
        remote.update(f"DELETE {{ GRAPH <{FOREIGN}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{G}> {{ ?s ?p ?o }} }}")
    with pytest.raises(Forbidden, match=FOREIGN):
        remote.replace_graphs({FOREIGN: b"<http://e/a> <http://e/p> 1 .\n"})
    with pytest.raises(Forbidden, match="DROP/CLEAR ALL"):
        remote.update("DROP SILENT ALL")
    assert sent == []
    remote.update(f"INSERT {{ GRAPH <{G}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{FOREIGN}> {{ ?s ?p ?o }} }}")  # a read
    declared = RemoteStore(remote.endpoint, graph_prefixes=("http://other.example/graph/",))
    declared.change_quads([], quads(triple, FOREIGN))
    assert declared.graphs() == [FOREIGN] and remote.graphs() == []
    declared.update(f"DROP GRAPH <{FOREIGN}>")
    declared.close()


def test_the_embedded_store_takes_any_graph():
    store = EmbeddedStore()
    store.change_quads([], quads(many(1), FOREIGN))
    store.update(f"INSERT DATA {{ GRAPH <{FOREIGN}2> {{ <http://e/a> <http://e/p> 1 }} }}")
    assert store.graphs() == [FOREIGN, FOREIGN + "2"]


def test_ekb_serve_on_virtuoso_gates_and_stores_large_writes_and_refuses_foreign_graphs(virtuoso_server):
    virtuoso_server.clear()
    served = EkbServe("--endpoint", virtuoso_server.query_url, write_token="t0ken")
    auth = {"Authorization": "Bearer t0ken"}
    body = ox.serialize(many(5_000), format=ox.RdfFormat.N_TRIPLES)
    try:
        put = httpx.put(served.url + "/store", params={"graph": DATA_GRAPH_PREFIX + "bulk-put"}, content=body,
                        headers={**auth, "Content-Type": "application/n-triples"}, timeout=300)
        assert put.status_code == 201, put.text
        post = httpx.post(served.url + "/store", params={"graph": DATA_GRAPH_PREFIX + "bulk-post"}, content=body,
                          headers={**auth, "Content-Type": "application/n-triples"}, timeout=300)
        assert post.status_code in (200, 201, 204), post.text  # the gate's neighbourhood reads 5,000 nodes
        update = f"INSERT DATA {{ GRAPH <{DATA_GRAPH_PREFIX}bulk-update> {{ {body.decode()} }} }}"
        sparql = httpx.post(served.url + "/sparql", content=update.encode(),
                            headers={**auth, "Content-Type": "application/sparql-update"}, timeout=300)
        assert sparql.status_code in (200, 204), sparql.text
        counts = RemoteStore(virtuoso_server.query_url).counts()
        assert [counts.get(DATA_GRAPH_PREFIX + g) for g in ("bulk-put", "bulk-post", "bulk-update")] == [5_000] * 3
        foreign = httpx.put(served.url + "/store", params={"graph": FOREIGN}, content=body[:200].rsplit(b"\n", 1)[0] + b"\n",
                            headers={**auth, "Content-Type": "application/n-triples"}, timeout=300)
        assert foreign.status_code == 403 and FOREIGN in foreign.text and "graph-namespace" in foreign.text
        assert FOREIGN not in virtuoso_server.graphs()
    finally:
        served.stop()


# -- loads: what was staged is not read back; the swap -----------------------------------------------------------

STAGED = STAGING_PREFIX + "test-run/graph"
XSD = "http://www.w3.org/2001/XMLSchema#"
# Every kind of literal and node a load sends, literals in forms the engines keep otherwise (both keep "0.2" for
# "0.20"^^xsd:decimal; Virtuoso keeps "P1D"^^xsd:duration as "86400.0" and "Hello"@en-US as "Hello"@en-us).
def test_what_was_sent_is_kept_for_the_rules_until_any_other_write(remote):
    """The lines sent to a staging graph are what the rules in this process read (ekb.rules_in_process): any other
    write to the engine may change the graph, so they are forgotten then."""
    remote.begin_filling(STAGED)
    remote.add_triples(STAGED, many(3))
    remote.add_triples(STAGED + "/change", many(2))  # a staging graph no load began (a gated write's): nothing kept
    assert remote.lines_sent([STAGED + "/change"]) is None and list(remote._sent) == [STAGED]
    assert sorted(remote.lines_sent([STAGED])) == sorted(ox.serialize(many(3), format=ox.RdfFormat.N_TRIPLES).splitlines())
    assert remote.lines_sent([G]) is None  # a live graph: never
    remote.update(f'INSERT DATA {{ GRAPH <{G}> {{ <http://e/new> <http://e/p> "x" }} }}')
    assert remote.lines_sent([STAGED]) is None


def test_a_remote_load_reads_no_graph_back_and_a_write_not_known_triple_by_triple_reloads_its_graph(remote, tmp_path):
    """No content digest is recorded on a remote engine (reading a graph back costs what loading it does): after a
    write the journal cannot describe, the next load parses the graph again, and the store ends as the files say."""
    from ekb import loader
    from tests.test_loader import make_project

    settings = make_project(tmp_path / "project")
    queries: list[str] = []
    remote._http.event_hooks["request"].append(
        lambda r: queries.append(httpx.QueryParams(r.content.decode())["query"]) if b"query=" in r.content else None)
    loader.load(remote, settings)
    assert not [q for q in queries if q.startswith("CONSTRUCT")], queries
    units = DATA_GRAPH_PREFIX + "org/units"
    loader.note_write(remote)  # a write known by no graph: every graph's content is in doubt
    remote.update(f"DELETE WHERE {{ GRAPH <{units}> {{ <http://e/a> a ?c }} }}")
    remote.update(f"INSERT DATA {{ GRAPH <{units}> {{ <http://e/a> a <http://e/Capability> }} }}")  # undone
    report = loader.load(remote, settings)
    assert units not in report.skipped and remote.count(units) == 2


def test_a_graph_emptied_by_a_write_is_not_listed(remote):
    remote.add_triples(G, many(2))
    remote.add_triples(G + "/cleared", many(2))
    remote.update(f"DELETE DATA {{ GRAPH <{G}> {{ {ox.serialize(many(2), format=ox.RdfFormat.N_TRIPLES).decode()} }} }} ;"
                  f" CLEAR GRAPH <{G}/cleared>")
    assert remote.graphs() == [] and remote.counts() == {}


def test_large_staging_chunks_load_without_a_transaction_where_the_engine_offers_it(oxigraph_server):
    oxigraph_server.clear()
    store = RemoteStore(oxigraph_server.query_url)
    urls: list[str] = []
    store._http.event_hooks["request"].append(lambda request: urls.append(str(request.url)))
    large = OXIGRAPH.staging_load_from
    store.add_triples(STAGED, many(large))
    store.add_triples(STAGED + "/small", many(3))  # 0.3 s more per request without a transaction: not worth it
    store.add_triples(G, many(large))
    assert store.count(STAGED) == store.count(G) == large  # a query waits for the chunks queued (UploadQueue)
    posts = [u for u in urls if "/store" in u]
    assert len(posts) == 3 and "no_transaction" in posts[0] and not any("no_transaction" in u for u in posts[1:])
    store.close()


def test_a_swap_replaces_each_graph_whole_in_one_request_or_one_per_graph_on_virtuoso(remote):
    """Oxigraph applies a request atomically: the swap is one. Virtuoso does not (see above) and a 10^6 swap in
    one request exceeds its transaction log: one `MOVE staging TO live` per graph (it replaces the live graph),
    one DROP per graph dropped."""
    old, gone = G + "/old", G + "/gone"
    remote.add_triples(old, many(5, "old"))
    remote.add_triples(gone, many(5))
    sent = sent_updates(remote)
    remote.replace_graphs({old: ox.serialize(many(3, "new"), format=ox.RdfFormat.N_TRIPLES),
                           G: ox.serialize(many(2), format=ox.RdfFormat.N_TRIPLES)}, drop=[gone])
    assert sorted(remote.graphs()) == sorted([G, old])
    assert canonical(remote.graph_triples(old)) == canonical(many(3, "new"))
    assert canonical(remote.graph_triples(G)) == canonical(many(2))
    swaps = [u for u in sent if "MOVE" in u or f"<{gone}>" in u]
    if remote.dialect.name == "virtuoso":
        assert len(swaps) == 3 and all(operations(u) == 1 for u in swaps)
    else:
        assert len(swaps) == 1
