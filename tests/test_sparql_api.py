"""The SPARQL 1.1 Protocol endpoint, tested with the clients architects use, against a real server."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, N3, TSV, TURTLE, XML, SPARQLWrapper

from ekb.config import Settings
from ekb.kb import KnowledgeBase
from ekb.store import EmbeddedStore
from tests.conftest import ROOT, ApiServer, child_cpu_seconds

TOKEN = "s3cret-token"
SELECT_L1 = """PREFIX ekb: <https://kb.quantum-energy.example/def/core/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?c WHERE { ?c a ekb:L1Capability ; skos:notation "10" }"""
L1_10 = "https://kb.quantum-energy.example/id/capability/10-customer-engagement-and-service"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """As `ekb serve` runs: a store on disk, clients' SPARQL in worker processes."""
    kb = KnowledgeBase(Settings(root=ROOT, write_token=TOKEN, query_timeout_s=2.0, max_body_bytes=100_000,
                                max_result_bytes=4 * 1024**3),
                       EmbeddedStore(tmp_path_factory.mktemp("sparql-api") / "store"))
    kb.load()
    kb.start_workers()
    running = ApiServer(kb)
    yield running
    running.stop()
    kb.close()


def wrapper(server, query: str, fmt) -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "/sparql")
    client.setQuery(query)
    client.setReturnFormat(fmt)
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
    for fmt in (XML, N3, "json-ld"):
        described = wrapper(server, f"DESCRIBE <{L1_10}>", fmt).query().convert()
        assert len(described) > 10 if isinstance(described, rdflib.Graph) else described


def test_rdflib_sparqlstore(server):
    store = SPARQLStore(server.url + "/sparql")
    rows = list(store.query(SELECT_L1))
    assert [str(r[0]) for r in rows] == [L1_10]
    assert store.query("ASK { ?s ?p ?o }").askAnswer
    graph = store.query(f"CONSTRUCT WHERE {{ <{L1_10}> ?p ?o }}").graph
    assert len(graph) > 10


def test_protocol_methods_and_status_codes(server):
    url = server.url + "/sparql"
    direct = httpx.post(url, content=SELECT_L1, headers={"Content-Type": "application/sparql-query",
                                                         "Accept": "text/csv"})
    assert direct.status_code == 200 and direct.headers["content-type"].startswith("text/csv")
    form = httpx.post(url, data={"query": SELECT_L1}, headers={"Accept": "application/sparql-results+xml"})
    assert form.status_code == 200 and "sparql-results+xml" in form.headers["content-type"]
    assert httpx.get(url, params={"query": SELECT_L1}, headers={"Accept": "image/png"}).status_code == 406
    assert httpx.post(url, content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    bad = httpx.get(url, params={"query": "SELECT * WHERE { ?s ?p }"})
    assert bad.status_code == 400 and "error at 1:" in bad.json()["message"]
    assert httpx.get(url, params=[("query", "ASK {}"), ("query", "ASK {}")]).status_code == 400
    too_big = httpx.post(url, content=b"#" * 200_000, headers={"Content-Type": "application/sparql-query"})
    assert too_big.status_code == 413


def test_named_graphs_and_dataset_parameters(server):
    url = server.url + "/sparql"
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    ontology = "https://kb.quantum-energy.example/graph/ontology"
    only = httpx.get(url, params={"query": query, "default-graph-uri": ontology}).json()
    union = httpx.get(url, params={"query": query}).json()
    assert 0 < int(only["results"]["bindings"][0]["n"]["value"]) < int(union["results"]["bindings"][0]["n"]["value"])
    graphs = httpx.get(url, params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"}).json()
    assert {b["g"]["value"] for b in graphs["results"]["bindings"]} >= {ontology,
                                                                     "https://kb.quantum-energy.example/graph/inferred"}


def test_service_description_and_page(server):
    sd = httpx.get(server.url + "/sparql", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=sd.text, format="turtle")
    SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (None, SD.feature, SD.UnionDefaultGraph) in graph
    assert (None, SD.supportedLanguage, SD.SPARQL11Query) in graph
    page = httpx.get(server.url + "/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html") and "<form" in page.text


def test_updates_need_the_token(server):
    url = server.url + "/sparql"
    update = "INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/scratch> { <urn:a> <urn:b> <urn:c> } }"
    refused = httpx.post(url, data={"update": update})
    assert refused.status_code == 401
    wrong = httpx.post(url, data={"update": update}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ask = {"query": "ASK { <urn:a> <urn:b> <urn:c> }"}
    assert httpx.get(url, params=ask).json()["boolean"] is False
    ok = httpx.post(url, content=update, headers={"Authorization": f"Bearer {TOKEN}",
                                                  "Content-Type": "application/sparql-update"})
    assert ok.status_code == 200 and ok.json()["inserted"] == 1 and httpx.get(url, params=ask).json()["boolean"] is True
    scratch = "https://kb.quantum-energy.example/graph/scratch"
    broken = httpx.post(url, content=f"DROP GRAPH <{scratch}> ; INSERT DATA {{ <x> }}",
                        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"})
    assert broken.status_code == 400 and httpx.get(url, params=ask).json()["boolean"] is True


def test_service_and_load_are_refused(server):
    url = server.url + "/sparql"
    service = httpx.get(url, params={"query": "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"})
    assert service.status_code == 403 and "SERVICE <http://example.org/sparql> is refused" in service.json()["message"]
    load = httpx.post(url, data={"update": "LOAD <http://example.org/data.ttl>"},
                      headers={"Authorization": f"Bearer {TOKEN}"})
    assert load.status_code == 403


def test_runaway_query_is_stopped_while_others_are_served(server):
    url = server.url + "/sparql"
    runaway = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    results = {}

    def run_slow():
        results["slow"] = httpx.get(url, params={"query": runaway}, timeout=60)

    thread = threading.Thread(target=run_slow)
    thread.start()
    time.sleep(0.3)
    started = time.monotonic()
    quick = httpx.get(url, params={"query": SELECT_L1}, timeout=10)
    assert quick.status_code == 200 and time.monotonic() - started < 1.5
    thread.join(60)
    assert results["slow"].status_code == 503
    assert "time limit" in results["slow"].json()["message"]
    time.sleep(0.5)  # within a second of the limit, nothing computes any more
    before = child_cpu_seconds()
    time.sleep(0.5)
    after = child_cpu_seconds()
    assert not {pid for pid in after if after[pid] - before.get(pid, after[pid]) > 0.1}


def test_openapi_and_health(server):
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    schema = httpx.get(server.url + "/openapi.json").json()
    path = schema["paths"]["/queries/capabilities-touching-entity"]["get"]
    assert path["parameters"][0]["name"] == "entity" and path["parameters"][0]["required"] is True
    assert httpx.get(server.url + "/docs").status_code == 200
    assert json.loads(httpx.get(server.url + "/queries").text)[0]["name"]


def test_graph_store_protocol(server):
    url = server.url + "/store"
    graph = "https://kb.quantum-energy.example/graph/gsp-test"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    turtle = "@prefix e: <http://e/> . e:a e:p e:b , e:c ."
    assert httpx.put(url, params={"graph": graph}, content=turtle,
                     headers={"Content-Type": "text/turtle"}).status_code == 401
    created = httpx.put(url, params={"graph": graph}, content=turtle, headers={**auth, "Content-Type": "text/turtle"})
    assert created.status_code == 201
    got = httpx.get(url, params={"graph": graph}, headers={"Accept": "application/n-triples"})
    assert got.status_code == 200 and len(got.text.strip().splitlines()) == 2
    added = httpx.post(url, params={"graph": graph}, content="<http://e/x> <http://e/p> <http://e/y> .",
                       headers={**auth, "Content-Type": "application/n-triples"})
    assert added.status_code == 204
    broken = httpx.put(url, params={"graph": graph}, content="@prefix e: <http://e/> .\ne:a e:p .",
                       headers={**auth, "Content-Type": "text/turtle"})
    assert broken.status_code == 400 and "line 2" in broken.json()["message"]
    got = httpx.get(url, params={"graph": graph}, headers={"Accept": "application/n-triples"})
    assert len(got.text.strip().splitlines()) == 3
    assert httpx.put(url, params={"graph": graph}, content="x", headers={**auth, "Content-Type": "image/png"}
                     ).status_code == 415
    assert httpx.delete(url, params={"graph": graph}, headers=auth).status_code == 204
    assert httpx.get(url, params={"graph": graph}).status_code == 404
    assert httpx.delete(url, params={"graph": graph}, headers=auth).status_code == 404


def test_a_violating_write_is_refused_and_nothing_changes(server):
    url = server.url + "/sparql"
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
    count = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}
    before = httpx.get(url, params=count).json()["results"]["bindings"][0]["n"]["value"]
    update = """PREFIX info: <https://kb.quantum-energy.example/def/info/>
INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/data/crm-sync> {
  <urn:customer:x> a info:Customer ; <http://www.w3.org/2000/01/rdf-schema#label> "Customer X"@en } }"""
    refused = httpx.post(url, content=update, headers=auth, timeout=60)
    assert refused.status_code == 422
    body = refused.json()
    assert "nothing was stored" in body["message"]
    assert [v["focus"] for v in body["newViolations"]] == ["urn:customer:x"]
    assert body["newViolations"][0]["sentence"].startswith("Violation: Customer X (customer) has no customer account.")
    assert httpx.get(url, params=count).json()["results"]["bindings"][0]["n"]["value"] == before
    lonely = ("<urn:customer:y> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
              "<https://kb.quantum-energy.example/def/info/Customer> .")
    refused_gsp = httpx.post(server.url + "/store", params={"graph": "https://kb.quantum-energy.example/graph/data/crm"},
                             content=lonely, headers={"Authorization": f"Bearer {TOKEN}",
                                                      "Content-Type": "application/n-triples"}, timeout=60)
    assert refused_gsp.status_code == 422
    assert httpx.get(url, params=count).json()["results"]["bindings"][0]["n"]["value"] == before


def test_an_accepted_write_reports_new_findings_and_updates_the_entailments(server):
    url = server.url + "/sparql"
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
    update = """PREFIX ekb: <https://kb.quantum-energy.example/def/core/>
INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/data/crm-sync> {
  <urn:capability:field-sales> a ekb:L2Capability ; <http://www.w3.org/2000/01/rdf-schema#label> "Field Sales"@en ;
    ekb:hasParentCapability <https://kb.quantum-energy.example/id/capability/10-customer-engagement-and-service> ;
    ekb:hasAccountableOwner <https://kb.quantum-energy.example/id/owner/chief-customer-officer> } }"""
    response = httpx.post(url, content=update, headers=auth, timeout=60)
    assert response.status_code == 200
    assert [(f["severity"], f["focus"]) for f in response.json()["newFindings"]] == [("Info", "urn:capability:field-sales")]
    within = {"query": "ASK { <urn:capability:field-sales> <https://kb.quantum-energy.example/def/core/isWithinCapability> "
                       "<https://kb.quantum-energy.example/id/capability/10-customer-engagement-and-service> }"}
    assert httpx.get(url, params=within).json()["boolean"] is True
    two_customers = """PREFIX info: <https://kb.quantum-energy.example/def/info/>
PREFIX id: <https://kb.quantum-energy.example/id/>
INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/data/crm-sync> {
  <https://kb.quantum-energy.example/id/customer/c-1001> info:hasAccount id:customer-account\\/a-5003 } }"""
    assert httpx.post(url, content=two_customers, headers=auth, timeout=60).status_code == 422


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
