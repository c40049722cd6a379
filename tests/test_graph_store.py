"""The Graph Store Protocol, complete: direct and indirect identification, ?default, graph creation by POST,
multipart POST, HEAD wherever GET is served, and the content type of every answer."""

from __future__ import annotations

import httpx
import pytest
import rdflib

from ekb.config import DEFAULT_DATA_GRAPH, Settings
from ekb.kb import KnowledgeBase
from tests.conftest import ROOT, ApiServer

TOKEN = "graph-store-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PERSON = b"""@prefix foaf: <http://xmlns.com/foaf/0.1/> .
<http://www.example/gsp/person/1> a foaf:Person ; foaf:name "John Doe" ; foaf:knows <friend> ."""


@pytest.fixture(scope="module")
def web():
    kb = KnowledgeBase.open(Settings(root=ROOT, write_token=TOKEN))
    kb.load()
    server = ApiServer(kb)
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        yield client
    server.stop()
    kb.close()


def base(web: httpx.Client) -> str:
    return str(web.base_url).rstrip("/")


def graph_of(response: httpx.Response) -> rdflib.Graph:
    assert response.status_code == 200, response.text
    return rdflib.Graph().parse(data=response.text, format=response.headers["content-type"].split(";")[0])


def test_direct_identification_names_the_graph_by_its_url(web):
    put = web.put("/store/person/1.ttl", content=PERSON, headers={**AUTH, "Content-Type": "text/turtle"})
    assert put.status_code == 201
    got = web.get("/store/person/1.ttl", headers={"Accept": "text/turtle"})
    assert got.headers["content-type"] == "text/turtle; charset=utf-8"
    graph = graph_of(got)
    assert len(graph) == 3
    # the same graph, named indirectly; relative IRIs in the body resolved against the graph's IRI
    iri = f"{base(web)}/store/person/1.ttl"
    assert set(graph_of(web.get("/store", params={"graph": iri}, headers={"Accept": "text/turtle"}))) == set(graph)
    friend = rdflib.URIRef(f"{base(web)}/store/person/friend")
    assert (None, rdflib.URIRef("http://xmlns.com/foaf/0.1/knows"), friend) in graph
    again = web.put("/store/person/1.ttl", content=PERSON, headers={**AUTH, "Content-Type": "text/turtle"})
    assert again.status_code == 204  # replaced, not created


def test_the_default_graph_round_trips(web):
    put = web.put("/store", params={"default": ""}, content=PERSON, headers={**AUTH, "Content-Type": "text/turtle"})
    assert put.status_code in (201, 204)
    got = graph_of(web.get("/store?default", headers={"Accept": "application/n-triples"}))
    assert len(got) == 3
    union = web.get("/sparql", params={"query": "ASK { <http://www.example/gsp/person/1> ?p ?o }"}).json()
    assert union["boolean"] is True  # the SPARQL default graph, the union, includes it
    named = web.get("/sparql", params={"query": f"ASK {{ GRAPH <{DEFAULT_DATA_GRAPH}> {{ ?s ?p ?o }} }}"}).json()
    assert named["boolean"] is True
    assert web.delete("/store?default", headers=AUTH).status_code == 204
    assert web.get("/store?default").status_code == 404


def test_post_without_a_graph_creates_one(web):
    created = web.post("/store", content=PERSON, headers={**AUTH, "Content-Type": "text/turtle"})
    assert created.status_code == 201
    location = created.headers["location"]
    assert location.startswith(f"{base(web)}/store/")
    assert len(graph_of(web.get("/store", params={"graph": location}))) == 3
    assert len(graph_of(web.get(location))) == 3  # and it dereferences


def test_multipart_post_adds_every_part(web):
    files = {"first": ("a.ttl", b"<http://e/x> <http://e/p> 1 .", "text/turtle"),
             "second": ("b.nt", b'<http://e/y> <http://e/p> "2" .', "application/octet-stream")}  # by file name
    posted = web.post("/store", params={"graph": "http://e/multi"}, files=files, headers=AUTH)
    assert posted.status_code == 201, posted.text
    assert len(graph_of(web.get("/store", params={"graph": "http://e/multi"}, headers={"Accept": "text/turtle"}))) == 2
    unknown = {"x": ("notes.pdf", b"%PDF-1.4", "application/pdf")}
    refused = web.post("/store", params={"graph": "http://e/multi"}, files=unknown, headers=AUTH)
    assert refused.status_code == 415 and "'x'" in refused.json()["message"]


def test_head_is_get_without_a_body(web):
    for path in ("/store?graph=http%3A%2F%2Fe%2Fmulti", "/sparql", "/health", "/context/v1.jsonld",
                 "/id/capability/10-customer-engagement"):
        get, head = web.get(path), web.head(path)
        assert head.status_code == get.status_code, path
        assert head.content == b""
        assert head.headers.get("content-type") == get.headers.get("content-type"), path
    assert web.head("/store?graph=http%3A%2F%2Fe%2Fnothing").status_code == 404


def test_a_graph_is_named_one_way_only(web):
    both = web.get("/store/person/1.ttl", params={"graph": "http://e/multi"})
    assert both.status_code == 400 and "one way only" in both.json()["message"]
    assert web.put("/store", content=PERSON, headers={**AUTH, "Content-Type": "text/turtle"}).status_code == 400
    assert web.delete("/store/never-written", headers=AUTH).status_code == 404


def test_the_whole_store_as_a_dataset(web):
    dump = web.get("/store", headers={"Accept": "application/n-quads"})
    assert dump.status_code == 200 and dump.headers["content-type"] == "application/n-quads; charset=utf-8"
    dataset = rdflib.Dataset()
    dataset.parse(data=dump.text, format="nquads")
    assert rdflib.URIRef("https://kb.quantum-energy.example/graph/ontology") in {g.identifier for g in dataset.graphs()}
