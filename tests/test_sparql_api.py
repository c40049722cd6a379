"""The SPARQL 1.1 Protocol endpoint, tested with the clients architects use, against a real server."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, N3, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

from ekb.config import Settings
from ekb.kb import KnowledgeBase
from ekb.store import EmbeddedStore
from tests import web
from tests.conftest import ROOT, ApiServer, EkbServe, OxigraphServer, child_cpu_seconds, cpu_seconds

TOKEN = "s3cret-token"
SELECT_L1 = """PREFIX ekb: <https://kb.quantum-energy.example/def/core/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?c WHERE { ?c a ekb:L1Capability ; skos:notation "10" }"""
L1_10 = "https://kb.quantum-energy.example/id/capability/10-customer-engagement-and-service"


QUERY_TIMEOUT_S = 2.0
MAX_BODY = 100_000
BACKENDS = ["embedded", "remote"]


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    """As `ekb serve` runs, on each backend. embedded: a store on disk, clients' SPARQL in worker processes (the
    API in this process, so the tests can watch its workers). remote: a real `ekb serve --endpoint` process in
    front of a real `oxigraph serve`, with the same limits and the token from the environment."""
    if request.param == "embedded":
        kb = KnowledgeBase(Settings(root=ROOT, write_token=TOKEN, query_timeout_s=QUERY_TIMEOUT_S, max_body_bytes=MAX_BODY,
                                    max_result_bytes=4 * 1024**3),
                           EmbeddedStore(tmp_path_factory.mktemp("sparql-api") / "store"))
        kb.load()
        kb.start_workers()
        running = ApiServer(kb)
        running.backend = "embedded"
        yield running
        running.stop()
        kb.close()
        return
    oxigraph = OxigraphServer(tmp_path_factory.mktemp("sparql-api-oxigraph"))
    try:
        running = EkbServe("--endpoint", oxigraph.query_url, "--update-endpoint", oxigraph.url + "/update",
                           "--query-timeout", f"{QUERY_TIMEOUT_S:g}", "--max-body", str(MAX_BODY),
                           "--max-result-bytes", str(4 * 1024**3), write_token=TOKEN)
    except BaseException:
        oxigraph.stop()
        raise
    running.backend = "remote"
    yield running
    running.stop()
    oxigraph.stop()


@contextmanager
def socket_timeout(seconds: float):
    """rdflib's SPARQLStore opens its connections with urllib and no timeout of its own: bound them here."""
    saved = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(saved)


def wrapper(server, query: str, fmt) -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setTimeout(int(web.TIMEOUT))
    return client


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_and_ask_in_every_format(server, method):
    client = wrapper(server, SELECT_L1, JSON)
    client.setMethod(method)
    rows = client.query().convert()["results"]["bindings"]
    assert [r["c"]["value"] for r in rows] == [L1_10]
    for fmt in (XML, CSV, TSV):
        client.setReturnFormat(fmt)
        converted = client.query().convert()
        text = converted.toxml() if hasattr(converted, "toxml") else converted.decode()
        assert L1_10 in text
    ask = wrapper(server, "ASK { ?s a <https://kb.quantum-energy.example/def/core/System> }", JSON)
    assert ask.query().convert()["boolean"] is True


def test_sparqlwrapper_construct_and_describe(server):
    construct = wrapper(server, f"CONSTRUCT {{ <{L1_10}> ?p ?o }} WHERE {{ <{L1_10}> ?p ?o }}", TURTLE)
    graph = rdflib.Graph().parse(data=construct.query().convert(), format="turtle")
    assert len(graph) > 10
    for fmt, syntax in ((XML, "xml"), (RDFXML, "xml"), (N3, "n3"), ("json-ld", "json-ld")):
        described = wrapper(server, f"DESCRIBE <{L1_10}>", fmt).query().convert()
        if not isinstance(described, rdflib.Graph):  # SPARQLWrapper hands some formats back as bytes
            described = rdflib.Graph().parse(data=described, format=syntax)
        label = rdflib.Literal("Customer Engagement & Service", lang="en")
        assert len(described) > 10 and (rdflib.URIRef(L1_10), rdflib.RDFS.label, label) in described, fmt


def test_rdflib_sparqlstore(server):
    store = SPARQLStore(server.url + "/sparql")
    with socket_timeout(web.TIMEOUT):
        rows = list(store.query(SELECT_L1))
        assert [str(r[0]) for r in rows] == [L1_10]
        assert store.query("ASK { ?s ?p ?o }").askAnswer is True
        assert store.query("ASK { <urn:nothing> ?p ?o }").askAnswer is False
        graph = store.query(f"CONSTRUCT WHERE {{ <{L1_10}> ?p ?o }}").graph
    assert len(graph) > 10 and (rdflib.URIRef(L1_10), None, None) in graph


def test_protocol_methods_and_status_codes(server):
    url = server.url + "/sparql"
    direct = web.post(url, content=SELECT_L1, headers={"Content-Type": "application/sparql-query",
                                                         "Accept": "text/csv"})
    assert direct.status_code == 200 and direct.headers["content-type"].startswith("text/csv")
    form = web.post(url, data={"query": SELECT_L1}, headers={"Accept": "application/sparql-results+xml"})
    assert form.status_code == 200 and "sparql-results+xml" in form.headers["content-type"]
    assert web.get(url, params={"query": SELECT_L1}, headers={"Accept": "image/png"}).status_code == 406
    assert web.post(url, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    bad = web.get(url, params={"query": "SELECT * WHERE { ?s ?p }"})
    assert bad.status_code == 400 and "error at 1:" in bad.json()["message"]
    assert web.get(url, params=[("query", "ASK {}"), ("query", "ASK {}")]).status_code == 400
    too_big = web.post(url, content=b"#" * 200_000, headers={"Content-Type": "application/sparql-query"})
    assert too_big.status_code == 413


def test_named_graphs_and_dataset_parameters(server):
    """The protocol's dataset parameters reach the store, whichever backend: on the remote one, RemoteStore must
    pass default-graph-uri and named-graph-uri on to the server."""
    url = server.url + "/sparql"
    ontology = "https://kb.quantum-energy.example/graph/ontology"
    shapes = "https://kb.quantum-energy.example/graph/shapes"

    def count(**dataset) -> int:
        answer = web.get(url, params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", **dataset})
        assert answer.status_code == 200, answer.text
        return int(answer.json()["results"]["bindings"][0]["n"]["value"])

    per_graph = web.get(url, params={"query": "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"})
    in_graph = {b["g"]["value"]: int(b["n"]["value"]) for b in per_graph.json()["results"]["bindings"]}
    assert {ontology, shapes, "https://kb.quantum-energy.example/graph/inferred"} <= set(in_graph)
    assert count() == sum(in_graph.values())  # the default graph is the union
    assert count(**{"default-graph-uri": ontology}) == in_graph[ontology]
    assert count(**{"default-graph-uri": [ontology, shapes]}) == in_graph[ontology] + in_graph[shapes]
    named = web.get(url, params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                 "named-graph-uri": shapes}).json()
    assert [b["g"]["value"] for b in named["results"]["bindings"]] == [shapes]
    # a named graph given alone is not in the default graph, and the default graph given alone names no graph
    assert count(**{"named-graph-uri": shapes}) == 0
    graphs = web.get(url, params={"query": "ASK { GRAPH ?g { ?s ?p ?o } }", "default-graph-uri": ontology}).json()
    assert graphs["boolean"] is False


def test_service_description_and_page(server):
    sd = web.get(server.url + "/sparql", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=sd.text, format="turtle")
    SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (None, SD.feature, SD.UnionDefaultGraph) in graph
    assert (None, SD.supportedLanguage, SD.SPARQL11Query) in graph
    page = web.get(server.url + "/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html") and "<form" in page.text


def test_updates_need_the_token(server):
    url = server.url + "/sparql"
    update = "INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/scratch> { <urn:a> <urn:b> <urn:c> } }"
    refused = web.post(url, data={"update": update})
    assert refused.status_code == 401
    wrong = web.post(url, data={"update": update}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ask = {"query": "ASK { <urn:a> <urn:b> <urn:c> }"}
    assert web.get(url, params=ask).json()["boolean"] is False
    ok = web.post(url, content=update, headers={"Authorization": f"Bearer {TOKEN}",
                                                  "Content-Type": "application/sparql-update"})
    assert ok.status_code == 200 and ok.json()["inserted"] == 1 and web.get(url, params=ask).json()["boolean"] is True
    scratch = "https://kb.quantum-energy.example/graph/scratch"
    broken = web.post(url, content=f"DROP GRAPH <{scratch}> ; INSERT DATA {{ <x> }}",
                        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"})
    assert broken.status_code == 400 and web.get(url, params=ask).json()["boolean"] is True


def test_service_and_load_are_refused(server):
    url = server.url + "/sparql"
    service = web.get(url, params={"query": "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"})
    assert service.status_code == 403 and "SERVICE <http://example.org/sparql> is refused" in service.json()["message"]
    load = web.post(url, data={"update": "LOAD <http://example.org/data.ttl>"},
                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert load.status_code == 403


def test_openapi_and_health(server):
    assert web.get(server.url + "/health").json()["status"] == "ok"
    schema = web.get(server.url + "/openapi.json").json()
    path = schema["paths"]["/queries/capabilities-touching-entity"]["get"]
    assert path["parameters"][0]["name"] == "entity" and path["parameters"][0]["required"] is True
    assert web.get(server.url + "/docs").status_code == 200
    assert json.loads(web.get(server.url + "/queries").text)[0]["name"]


def test_graph_store_protocol(server):
    url = server.url + "/store"
    graph = "https://kb.quantum-energy.example/graph/gsp-test"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    turtle = "@prefix e: <http://e/> . e:a e:p e:b , e:c ."
    assert web.put(url, params={"graph": graph}, content=turtle,
                     headers={"Content-Type": "text/turtle"}).status_code == 401
    created = web.put(url, params={"graph": graph}, content=turtle, headers={**auth, "Content-Type": "text/turtle"})
    assert created.status_code == 201
    got = web.get(url, params={"graph": graph}, headers={"Accept": "application/n-triples"})
    assert got.status_code == 200 and len(got.text.strip().splitlines()) == 2
    added = web.post(url, params={"graph": graph}, content="<http://e/x> <http://e/p> <http://e/y> .",
                       headers={**auth, "Content-Type": "application/n-triples"})
    assert added.status_code == 204
    broken = web.put(url, params={"graph": graph}, content="@prefix e: <http://e/> .\ne:a e:p .",
                       headers={**auth, "Content-Type": "text/turtle"})
    assert broken.status_code == 400 and "line 2" in broken.json()["message"]
    got = web.get(url, params={"graph": graph}, headers={"Accept": "application/n-triples"})
    assert len(got.text.strip().splitlines()) == 3
    assert web.put(url, params={"graph": graph}, content="x", headers={**auth, "Content-Type": "image/png"}
                     ).status_code == 415
    assert web.delete(url, params={"graph": graph}, headers=auth).status_code == 204
    assert web.get(url, params={"graph": graph}).status_code == 404
    assert web.delete(url, params={"graph": graph}, headers=auth).status_code == 404


def test_a_violating_write_is_refused_and_nothing_changes(server):
    url = server.url + "/sparql"
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
    count = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}
    before = web.get(url, params=count).json()["results"]["bindings"][0]["n"]["value"]
    update = """PREFIX info: <https://kb.quantum-energy.example/def/info/>
INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/data/crm-sync> {
  <urn:customer:x> a info:Customer ; <http://www.w3.org/2000/01/rdf-schema#label> "Customer X"@en } }"""
    refused = web.post(url, content=update, headers=auth, timeout=60)
    assert refused.status_code == 422
    body = refused.json()
    assert "nothing was stored" in body["message"]
    assert [v["focus"] for v in body["newViolations"]] == ["urn:customer:x"]
    assert body["newViolations"][0]["sentence"].startswith("Violation: Customer X (customer) has no customer account.")
    assert web.get(url, params=count).json()["results"]["bindings"][0]["n"]["value"] == before
    lonely = ("<urn:customer:y> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
              "<https://kb.quantum-energy.example/def/info/Customer> .")
    refused_gsp = web.post(server.url + "/store", params={"graph": "https://kb.quantum-energy.example/graph/data/crm"},
                             content=lonely, headers={"Authorization": f"Bearer {TOKEN}",
                                                      "Content-Type": "application/n-triples"}, timeout=60)
    assert refused_gsp.status_code == 422
    assert web.get(url, params=count).json()["results"]["bindings"][0]["n"]["value"] == before


def test_an_accepted_write_reports_new_findings_and_updates_the_entailments(server):
    url = server.url + "/sparql"
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
    update = """PREFIX ekb: <https://kb.quantum-energy.example/def/core/>
INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/data/crm-sync> {
  <urn:capability:field-sales> a ekb:L2Capability ; <http://www.w3.org/2000/01/rdf-schema#label> "Field Sales"@en ;
    ekb:hasParentCapability <https://kb.quantum-energy.example/id/capability/10-customer-engagement-and-service> ;
    ekb:hasAccountableOwner <https://kb.quantum-energy.example/id/owner/chief-customer-officer> } }"""
    response = web.post(url, content=update, headers=auth, timeout=60)
    assert response.status_code == 200
    assert [(f["severity"], f["focus"]) for f in response.json()["newFindings"]] == [("Info", "urn:capability:field-sales")]
    within = {"query": "ASK { <urn:capability:field-sales> <https://kb.quantum-energy.example/def/core/isWithinCapability> "
                       "<https://kb.quantum-energy.example/id/capability/10-customer-engagement-and-service> }"}
    assert web.get(url, params=within).json()["boolean"] is True
    two_customers = """PREFIX info: <https://kb.quantum-energy.example/def/info/>
PREFIX id: <https://kb.quantum-energy.example/id/>
INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/data/crm-sync> {
  <https://kb.quantum-energy.example/id/customer/c-1001> info:hasAccount id:customer-account\\/a-5003 } }"""
    assert web.post(url, content=two_customers, headers=auth, timeout=60).status_code == 422


# The runaways come last in this module: on the remote backend, `oxigraph serve` goes on computing a runaway
# after ekb stopped waiting for it (its own --timeout-s does not stop it), which slows whatever follows.
RUNAWAY = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # streams rows at once, for ever
COUNTING = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # answers nothing until the end


def server_cpu_seconds(server) -> dict[int, float]:
    """CPU seconds so far of the processes that compute for this server: its query workers (embedded, in this
    process's children; the Oxigraph servers of other fixtures are not ekb's), or the `ekb serve` process and
    its children (remote: the Oxigraph server behind it applies its own limits and is not watched here)."""
    if server.backend == "embedded":
        return {pid: cpu for pid, cpu in child_cpu_seconds().items() if pid not in OxigraphServer.running}
    return {**cpu_seconds([server.process.pid]), **child_cpu_seconds(server.process.pid)}


def busy_after(server, settle_s: float = 0.5, window_s: float = 0.5) -> dict[int, float]:
    """The server's processes that still compute `settle_s` after a stopped query (CPU seconds in a window)."""
    time.sleep(settle_s)
    before = server_cpu_seconds(server)
    time.sleep(window_s)
    after = server_cpu_seconds(server)
    return {pid: round(after[pid] - before[pid], 2) for pid in after if pid in before and after[pid] - before[pid] > 0.1}


def test_runaway_query_is_stopped_while_others_are_served(server):
    url = server.url + "/sparql"
    results = {}

    # remote: the counting runaway (a streaming one is stopped by closing the connection: see the next test)
    runaway = RUNAWAY if server.backend == "embedded" else COUNTING

    def run_slow():
        started = time.monotonic()
        try:
            results["slow"] = web.get(url, params={"query": runaway})
        except httpx.RemoteProtocolError as err:  # embedded: its rows were streaming when the limit came
            results["slow"] = err
        results["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    quick = web.get(url, params={"query": SELECT_L1})
    assert quick.status_code == 200 and time.monotonic() - started < 1.5
    thread.join(QUERY_TIMEOUT_S + 30)
    if server.backend == "embedded":  # the answer had begun: its body is cut (tests/test_streaming.py)
        assert isinstance(results["slow"], httpx.RemoteProtocolError)
    else:
        assert results["slow"].status_code == 503
        assert "time limit" in results["slow"].json()["message"]
    assert results["elapsed"] < QUERY_TIMEOUT_S + 10, "the query was not stopped at its deadline"


@pytest.mark.parametrize("query", [COUNTING, RUNAWAY], ids=["counting", "streaming"])
def test_a_stopped_query_leaves_the_cpu_idle(server, query):
    started = time.monotonic()
    try:
        response = web.get(server.url + "/sparql", params={"query": query})
        assert response.status_code == 503  # stopped before its answer began
    except httpx.RemoteProtocolError:  # embedded: the rows were streaming when the limit came; the body is cut
        assert server.backend == "embedded" and query == RUNAWAY
    assert time.monotonic() - started < QUERY_TIMEOUT_S + 10
    busy = busy_after(server)
    assert not busy, f"still computing within a second of the limit: {busy}"


def test_cors_is_off_by_default_and_on_when_asked():
    from fastapi.testclient import TestClient

    from ekb.api import create_app

    def preflight(cors: bool):
        kb = KnowledgeBase(Settings(root=ROOT, cors=cors), EmbeddedStore())
        client = TestClient(create_app(kb))
        return client.options("/sparql", headers={"Origin": "https://yasgui.example",
                                                  "Access-Control-Request-Method": "POST"})

    assert "access-control-allow-origin" not in preflight(False).headers
    assert preflight(True).headers["access-control-allow-origin"] == "*"
