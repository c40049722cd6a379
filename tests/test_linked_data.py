"""JSON-LD for tools: the published context, dereferenceable IRIs, collections, import and export, checked
with an independent JSON-LD processor (pyld) and with plain `json`, as the two kinds of consumers read them."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from pyld import jsonld
from rdflib.compare import isomorphic

from ekb.config import Settings
from ekb.kb import KnowledgeBase
from ekb.linked_data import COLLECTIONS, context, describe
from ekb.store import EmbeddedStore
from tests import web
from tests.conftest import ROOT, ApiServer
from tests.test_cli import ekb

SNAPSHOTS = Path(__file__).parent / "snapshots"
ID = "https://kb.quantum-energy.example/id/"
TOKEN = "import-token"


def http_loader(url: str, options=None) -> dict:
    """A consumer's own document loader: it fetches the context over HTTP like any client would."""
    response = web.get(url, headers={"Accept": "application/ld+json"})  # the generous default of tests/web.py
    response.raise_for_status()
    return {"contextUrl": None, "documentUrl": url, "document": response.json()}


def pyld_triples(document: dict) -> rdflib.Graph:
    nquads = jsonld.to_rdf(document, {"format": "application/n-quads", "documentLoader": http_loader})
    return rdflib.Graph().parse(data=nquads, format="nt")


def store_triples(store, iri: str) -> rdflib.Graph:
    return rdflib.Graph().parse(data=ox.serialize(describe(store, [iri]), format=ox.RdfFormat.N_TRIPLES), format="nt")


def first_item(api, kind: str) -> str:
    return web.get(f"{api.url}/collections/{kind}", params={"size": 1}).json()["items"][0]["id"]


def local(api, iri: str) -> str:
    return api.url + "/" + iri.removeprefix("https://kb.quantum-energy.example/")


@pytest.mark.parametrize(("paths", "version"), [(("/context/v1.jsonld",), "v1"), (("/context/v2.jsonld",), "v2"),
                                                (("/context.jsonld", "/context/v3.jsonld"), "v3")])
def test_every_context_version_stays_published_unchanged(api, paths, version):
    snapshot = json.loads((SNAPSHOTS / f"context-{version}.jsonld").read_text())
    for path in paths:
        response = web.get(api.url + path)
        assert response.headers["content-type"].startswith("application/ld+json")
        assert response.json() == snapshot, "a published context changed: add a version instead"
    assert web.get(api.url + "/context/v4.jsonld").status_code == 404


@pytest.mark.parametrize("kind", sorted(COLLECTIONS))
def test_every_kind_expands_to_the_store_triples(api, kind):
    iri = first_item(api, kind)
    document = web.get(local(api, iri), headers={"Accept": "application/ld+json"}).json()
    assert document["id"] == iri and document["type"]
    assert isomorphic(pyld_triples(document), store_triples(api.kb.store, iri))


def test_plain_json_consumer_reads_stable_shapes(api):
    snapshot = json.loads((SNAPSHOTS / "document-keys.json").read_text())
    seen = {}
    for kind in sorted(COLLECTIONS):
        items = web.get(f"{api.url}/collections/{kind}", params={"size": 500}, timeout=60).json()["items"]
        keys = sorted({key for item in items for key in item})
        seen[kind] = keys
        for item in items:
            assert isinstance(item["type"], list) and isinstance(item["label"], str)
            for key in ("source", "uses", "children", "supportedBy", "stages", "enabledBy", "performedBy"):
                assert key not in item or isinstance(item[key], list), (kind, key)
            for key in ("owner", "parent", "domain", "steward"):
                assert key not in item or isinstance(item[key], dict) and {"id", "label"} <= set(item[key]), (kind, key)
    assert seen == snapshot


def test_capability_document_embeds_its_neighbourhood(api):
    doc = web.get(local(api, ID + "capability/10-2-billing-and-payment-management")).json()
    assert doc["owner"] == {"id": ID + "owner/chief-customer-officer", "label": "Chief Customer Officer"}
    assert doc["parent"]["label"] == "Customer Engagement & Service"
    assert [s["label"] for s in doc["supportedBy"]] == ["Customer Information System (CIS)"]
    assert {e["label"] for e in doc["uses"]} == {"Customer Account", "Meter Reading", "Tariff/Rate Schedule"}
    l1 = web.get(local(api, ID + "capability/10-customer-engagement-and-service")).json()
    assert len(l1["children"]) == 5 and l1["level"] == 1


def test_three_views_etag_and_unknown(api):
    url = local(api, ID + "system/scada")
    turtle = web.get(url, headers={"Accept": "text/turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert len(rdflib.Graph().parse(data=turtle.text, format="turtle")) > 5
    assert web.get(url, headers={"Accept": "application/ld+json"}).json()["label"] == "SCADA"
    page = web.get(url, headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and 'href="/owner/' not in page.text
    assert 'href="/id/owner/vp-system-operations"' in page.text
    nt = web.get(url, headers={"Accept": "application/n-triples"})
    assert nt.text.startswith("<https://kb.quantum-energy.example/id/system/scada>")
    etag = turtle.headers["etag"]
    assert web.get(url, headers={"Accept": "text/turtle", "If-None-Match": etag}).status_code == 304
    assert "last-modified" in turtle.headers
    missing = web.get(local(api, ID + "system/no-such-system"))
    assert missing.status_code == 404 and "nothing is known about" in missing.json()["message"]
    term = web.get(api.url + "/def/core/BusinessCapability").json()
    assert term["label"] == "business capability" and "definition" in term


def test_collections_filter_and_paginate(api):
    first = web.get(f"{api.url}/collections/capabilities", params={"parent": "10-customer-engagement-and-service",
                                                                   "size": 2}).json()
    assert first["totalItems"] == 5 and len(first["items"]) == 2 and "next" in first and "prev" not in first
    assert first["next"] == f"{api.url}/collections/capabilities?parent=10-customer-engagement-and-service&size=2&page=2"
    second = web.get(first["next"]).json()  # the link is followed as given: it names this server
    assert second["page"] == 2 and second["prev"] == first["next"].replace("&page=2", "&page=1")
    assert not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}
    regulated = web.get(f"{api.url}/collections/systems", params={"scope": "regulated"}).json()
    assert {i["label"] for i in regulated["items"]} >= {"SCADA", "OMS"}
    entities = web.get(f"{api.url}/collections/information-entities",
                         params={"domain": "operational", "steward": "operational-data-steward"}).json()
    assert entities["totalItems"] == 6
    assert web.get(f"{api.url}/collections/capabilities", params={"colour": "red"}).status_code == 400
    assert web.get(f"{api.url}/collections/nothing").status_code == 404


@pytest.fixture(scope="module")
def writable(tmp_path_factory):
    kb = KnowledgeBase(Settings(root=ROOT, write_token=TOKEN), EmbeddedStore())
    kb.load()
    server = ApiServer(kb)
    yield server
    server.stop()


NEW_SYSTEM = {
    "id": ID + "system/gis",
    "type": ["System"],
    "label": "Geographic Information System (GIS)",
    "definition": "The network and asset map.",
    "owner": {"id": ID + "owner/chief-information-officer", "label": "Chief Information Officer"},
    "scope": {"id": "util:Shared", "label": "shared"},
    "source": [{"id": ID + "source/assumption", "label": "modelling assumption"}],
}


def test_import_then_fetch_gives_the_document_back(writable):
    document = {"@context": writable.url + "/context/v3.jsonld", **NEW_SYSTEM}
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/ld+json"}
    response = web.post(writable.url + "/import", content=json.dumps(document), headers=auth, timeout=60)
    assert response.status_code == 201, response.text
    fetched = web.get(local(writable, NEW_SYSTEM["id"]), headers={"Accept": "application/ld+json"}).json()
    assert fetched == document


def test_import_with_another_context(writable):
    document = {"@context": {"@language": "en", "name": "http://www.w3.org/2000/01/rdf-schema#label",
                             "Sys": "https://kb.quantum-energy.example/def/core/System",
                             "accountable": {"@id": "https://kb.quantum-energy.example/def/core/hasAccountableOwner",
                                             "@type": "@id"}},
                "@id": ID + "system/historian", "@type": "Sys", "name": "Plant Historian",
                "accountable": ID + "owner/vp-system-operations"}
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/ld+json"}
    assert web.post(writable.url + "/import", content=json.dumps(document), headers=auth, timeout=60).status_code == 201
    fetched = web.get(local(writable, ID + "system/historian")).json()
    assert fetched["label"] == "Plant Historian" and fetched["owner"]["label"] == "VP System Operations & Grid Control"


def test_import_reports_warnings_and_keeps_the_document(writable):
    untagged = {"@context": {"name": "http://www.w3.org/2000/01/rdf-schema#label"}, "@id": ID + "system/historian",
                "name": "Historian (plain label)"}
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/ld+json"}
    response = web.post(writable.url + "/import", content=json.dumps(untagged), headers=auth, timeout=60)
    assert response.status_code == 201
    assert [(f["severity"], f["rule_name"]) for f in response.json()["newFindings"]] == [
        ("Warning", "Labels are tagged English")]


def test_broken_or_violating_documents_are_refused_and_nothing_is_stored(writable):
    auth = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/ld+json"}
    count = {"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"}
    before = web.get(writable.url + "/sparql", params=count).json()
    broken = web.post(writable.url + "/import", content=b'{"@context": {}, "label": ', headers=auth)
    assert broken.status_code == 400 and "malformed JSON at line 1" in broken.json()["message"]
    bad_jsonld = web.post(writable.url + "/import", content=b'{"@context": 42, "@id": "x"}', headers=auth)
    assert bad_jsonld.status_code == 400 and "not valid JSON-LD" in bad_jsonld.json()["message"]
    remote = web.post(writable.url + "/import", content=b'{"@context": "http://example.org/ctx", "@id": "urn:x"}',
                        headers=auth)
    assert remote.status_code == 400
    orphan = {"@context": writable.url + "/context/v1.jsonld", "id": ID + "system/orphan", "type": ["System"],
              "label": "Orphan"}
    refused = web.post(writable.url + "/import", content=json.dumps(orphan), headers=auth, timeout=60)
    assert refused.status_code == 422
    assert refused.json()["newViolations"][0]["sentence"].startswith("Violation: Orphan (system) needs exactly one")
    assert web.post(writable.url + "/import", content=json.dumps(orphan)).status_code == 401
    assert web.get(writable.url + "/sparql", params=count).json() == before


def test_cli_import_and_framed_export(tmp_path):
    store = str(tmp_path / "store")
    run = ekb
    assert run("load", "--store", store).returncode == 0
    document = tmp_path / "gis.jsonld"
    document.write_text(json.dumps({"@context": "https://kb.quantum-energy.example/context/v1.jsonld", **NEW_SYSTEM}))
    imported = run("import", str(document), "--store", store)
    assert imported.returncode == 0, imported.stderr
    assert "imported" in imported.stderr
    exported = json.loads(run("export", "--format", "jsonld", "--kind", "systems", "--store", store).stdout)
    assert exported["@context"] == context()["@context"]  # embedded: any processor reads the file offline
    assert ID + "system/gis" in {item["id"] for item in exported["@graph"]}
    expanded = jsonld.expand(exported)  # pyld, with no document loader of ours and no network
    assert any(node["@id"] == ID + "system/gis" for node in expanded)
    pointing = json.loads(run("export", "--format", "jsonld", "--kind", "systems", "--store", store,
                              "--context-url", "http://127.0.0.1:8000/context/v2.jsonld").stdout)
    assert pointing["@context"] == "http://127.0.0.1:8000/context/v2.jsonld"
    broken = tmp_path / "broken.jsonld"
    broken.write_text("{not json")
    failed = run("import", str(broken), "--store", store)
    assert failed.returncode == 1 and "malformed JSON" in failed.stderr and "Traceback" not in failed.stderr


def test_ontology_documentation_pages(api):
    index = web.get(api.url + "/ontology")
    assert index.status_code == 200 and 'href="/ontology/core"' in index.text
    framed = web.get(api.url + "/ontology/core", timeout=60)
    assert framed.status_code == 200 and "<nav" in framed.text and 'src="/ontology/core/document"' in framed.text
    core = web.get(api.url + "/ontology/core/document", timeout=60)
    assert core.status_code == 200 and "ekb enterprise core ontology" in core.text and "business capability" in core.text
    assert web.get(api.url + "/ontology/nothing").status_code == 404
    assert web.get(api.url + "/ontology/nothing/document").status_code == 404


@pytest.mark.parametrize("module", sorted(p.stem for p in (ROOT / "ontology").glob("*.ttl")))
def test_an_ontology_iri_dereferences_to_its_whole_module(api, module):
    """What owl:imports and Protégé fetch: the whole module in every RDF syntax, not the ontology's header."""
    path = ROOT / "ontology" / f"{module}.ttl"
    written = rdflib.Graph().parse(path)
    [iri] = written.subjects(rdflib.RDF.type, rdflib.OWL.Ontology)
    url = api.url + "/" + str(iri).removeprefix("https://kb.quantum-energy.example/")
    turtle = web.get(url, headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200 and turtle.content == path.read_bytes(), "Turtle is the file as written"
    for media_type, syntax in (("application/rdf+xml", "xml"), ("application/ld+json", "json-ld"),
                               ("application/n-triples", "nt")):
        answer = web.get(url, headers={"Accept": media_type})
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media_type)
        assert isomorphic(rdflib.Graph().parse(data=answer.content, format=syntax), written), media_type
    page = web.get(url, headers={"Accept": "text/html"}, timeout=60)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert web.get(url, headers={"Accept": "text/turtle", "If-None-Match": turtle.headers["etag"]}).status_code == 304
    assert web.get(url, headers={"Accept": "image/png"}).status_code == 406


def test_a_term_still_dereferences_to_its_own_description(api):
    term = web.get(api.url + "/def/core/BusinessCapability", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=term.content, format="turtle")
    assert {str(s) for s in graph.subjects()} == {"https://kb.quantum-energy.example/def/core/BusinessCapability"}
