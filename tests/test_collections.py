"""Collections as Linked Data: a page is an Activity Streams OrderedCollectionPage whose every key is in the
published context, so a JSON-LD processor reads every item; items have one shape; other views by Accept; ETag and
gzip. The one-pass shaping is checked against pyld's framing, the reference."""

from __future__ import annotations

import json

import httpx
import pytest
import rdflib
from pyld import jsonld
from rdflib.compare import isomorphic

from ekb.config import Settings
from ekb.kb import KnowledgeBase
from ekb.linked_data import COLLECTIONS, describe, document_loader, framed_reference, published_terms, to_expanded
from ekb.shaping import shape
from tests.conftest import ROOT, ApiServer

LOADER = {"documentLoader": document_loader}


@pytest.fixture(scope="module")
def served():
    kb = KnowledgeBase.open(Settings(root=ROOT))
    kb.load()
    server = ApiServer(kb)
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        yield kb, client
    server.stop()
    kb.close()


def page_of(client: httpx.Client, kind: str, **params) -> dict:
    response = client.get(f"/collections/{kind}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def nquads(document: dict) -> rdflib.Graph:
    return rdflib.Graph().parse(data=jsonld.to_rdf(document, {**LOADER, "format": "application/n-quads"}), format="nt")


@pytest.mark.parametrize("kind", sorted(COLLECTIONS))
def test_a_page_expands_to_every_items_statements(served, kind):
    kb, client = served
    page = page_of(client, kind, size=20)
    assert page["type"] == ["OrderedCollectionPage"] and page["items"]
    graph = nquads(page)
    as_ = rdflib.Namespace("https://www.w3.org/ns/activitystreams#")
    here = rdflib.URIRef(page["id"])
    assert (here, rdflib.RDF.type, as_.OrderedCollectionPage) in graph
    assert int(graph.value(here, as_.totalItems)) == page["totalItems"]
    listed = list(rdflib.collection.Collection(graph, graph.value(here, as_.items)))
    assert [str(i) for i in listed] == [item["id"] for item in page["items"]]  # the order, kept as a list
    for item in page["items"]:
        expected = rdflib.Graph().parse(data=_own_ntriples(kb, item["id"]), format="nt")
        found = rdflib.Graph()
        for triple in graph.triples((rdflib.URIRef(item["id"]), None, None)):
            found.add(triple)
        assert isomorphic(found, expected), item["id"]


def _own_ntriples(kb: KnowledgeBase, iri: str) -> str:
    import pyoxigraph as ox

    own = [t for t in describe(kb.store, [iri]) if t.subject.value == iri]
    return ox.serialize(own, format=ox.RdfFormat.N_TRIPLES).decode()


def test_items_have_one_shape_whoever_else_is_on_the_page(served):
    _, client = served
    items = page_of(client, "capabilities", size=500)["items"]
    parents = [item["parent"] for item in items if "parent" in item]
    assert parents and all(set(parent) == {"id", "label"} for parent in parents)


def test_shaping_equals_pyld_framing_for_every_kind(served):
    kb, client = served
    terms = published_terms()
    for kind in sorted(COLLECTIONS):
        for item in page_of(client, kind, size=10)["items"]:
            triples = describe(kb.store, [item["id"]])
            reference = framed_reference(to_expanded(triples), item["id"], "C")
            reference.pop("@context")
            assert unordered(shape(item["id"], triples, terms)) == unordered(reference), item["id"]


def unordered(value):
    """JSON-LD @set values are unordered: compare them as sorted lists."""
    if isinstance(value, dict):
        return {k: unordered(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted((unordered(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    return value


def test_pages_link_and_stop(served):
    _, client = served
    first = page_of(client, "capabilities", level=1, size=5)
    assert first["totalItems"] == 22 and first["startIndex"] == 0 and "prev" not in first
    seen, page = [], first
    while True:
        seen += [item["id"] for item in page["items"]]
        if "next" not in page:
            break
        page = client.get(page["next"]).json()
    assert len(seen) == len(set(seen)) == 22
    assert page["partOf"].endswith("/collections/capabilities") and page["startIndex"] == 20


@pytest.mark.parametrize(("accept", "media_type"), [("text/turtle", "text/turtle"),
                                                    ("application/n-triples", "application/n-triples"),
                                                    ("text/csv", "text/csv"), ("text/html", "text/html")])
def test_other_views_by_accept(served, accept, media_type):
    _, client = served
    response = client.get("/collections/systems", params={"size": 3}, headers={"Accept": accept})
    assert response.status_code == 200 and response.headers["content-type"].startswith(media_type)
    ids = [item["id"] for item in page_of(client, "systems", size=3)["items"]]
    for iri in ids:
        assert iri in response.text or iri.rsplit("/", 1)[-1] in response.text


def test_etag_and_gzip(served):
    _, client = served
    response = client.get("/collections/capabilities", params={"size": 100}, headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip" and "Accept-Encoding" in response.headers["vary"]
    assert response.num_bytes_downloaded < len(response.content) / 4
    raw = client.get("/collections/capabilities", params={"size": 100}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.json() == response.json()
    again = client.get("/collections/capabilities", params={"size": 100},
                       headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/health", headers={"Accept-Encoding": "gzip"}).headers.get("content-encoding") is None


TOKEN = "collections-token"


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    from ekb.store import EmbeddedStore

    kb = KnowledgeBase(Settings(root=ROOT, write_token=TOKEN), EmbeddedStore(tmp_path_factory.mktemp("import") / "s"))
    kb.load()
    server = ApiServer(kb)
    with httpx.Client(base_url=server.url, timeout=60.0,
                      headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/ld+json"}) as client:
        yield client
    server.stop()
    kb.close()


def test_what_the_server_emits_it_accepts_back(writable):
    """Round trip: a resource document is a valid import and dry run; importing it again changes nothing."""
    document = writable.get("/id/system/cis", headers={"Accept": "application/ld+json"}).json()
    dry = writable.post("/governance/validate", content=json.dumps(document))
    assert dry.status_code == 200 and dry.json()["accepted"] is True, dry.text
    graph = {"graph": "https://kb.quantum-energy.example/graph/data/systems"}
    first = writable.post("/import", params=graph, content=json.dumps(document))
    assert first.status_code in (200, 201), first.text  # it may assert what was entailed (inverse links)
    again = writable.post("/import", params=graph, content=json.dumps(document))
    assert again.status_code == 200 and again.json()["inserted"] == 0, again.text


def test_unknown_keys_are_refused_by_name(writable):
    document = {"@context": str(writable.base_url).rstrip("/") + "/context/v3.jsonld",
                "id": "https://kb.quantum-energy.example/id/system/x", "type": ["System"], "label": "X",
                "colour": "red", "sizeInMetres": 3}
    refused = writable.post("/import", content=json.dumps(document))
    assert refused.status_code == 400
    assert "colour" in refused.json()["message"] and "sizeInMetres" in refused.json()["message"]
    assert writable.get("/id/system/x").status_code == 404  # nothing stored


def test_put_replaces_a_description_and_post_merges(writable):
    context = str(writable.base_url).rstrip("/") + "/context/v3.jsonld"
    original = writable.get("/id/system/cis", headers={"Accept": "application/ld+json"}).json()
    graph = {"graph": "https://kb.quantum-energy.example/graph/data/systems"}
    merged = {**original, "@context": context, "definition": "A new definition."}
    assert writable.post("/import", params=graph, content=json.dumps(merged)).json()["inserted"] == 1
    both = writable.get("/id/system/cis", headers={"Accept": "application/ld+json"}).json()["definition"]
    assert sorted(both) == sorted([original["definition"], "A new definition."])  # merged: two values
    replaced = writable.put("/import", params=graph, content=json.dumps(merged))
    assert replaced.status_code == 200 and replaced.json()["deleted"] == 1, replaced.text
    now = writable.get("/id/system/cis", headers={"Accept": "application/ld+json"}).json()
    assert now["definition"] == "A new definition." and now["owner"] == original["owner"]
