"""The OpenAPI document is one a generator can use: a client generated from it with openapi-python-client calls a
curated query, /sparql (query and update) and /import, and gets typed results, errors included."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ekb.config import Settings
from ekb.kb import KnowledgeBase
from tests.conftest import ROOT, ApiServer

TOKEN = "openapi-token"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# The generator writes bodies of the media types it knows; RDF and SPARQL bodies are sent as bytes, JSON-LD as JSON.
CONFIG = """content_type_overrides:
  text/turtle: application/octet-stream
  application/n-triples: application/octet-stream
  application/n-quads: application/octet-stream
  application/rdf+xml: application/octet-stream
  application/trig: application/octet-stream
  application/sparql-query: application/octet-stream
  application/sparql-update: application/octet-stream
  application/ld+json: application/json
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    kb = KnowledgeBase.open(Settings(root=ROOT, write_token=TOKEN))
    kb.load()
    server = ApiServer(kb)
    folder = tmp_path_factory.mktemp("generated")
    spec = folder / "openapi.json"
    spec.write_text(json.dumps(server_openapi(server)))
    (folder / "config.yaml").write_text(CONFIG)
    run = subprocess.run([str(GENERATOR), "generate", "--path", str(spec), "--meta", "none", "--config",
                          str(folder / "config.yaml")], cwd=folder, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "WARNING" not in run.stdout + run.stderr, "every route must be generated: " + run.stdout + run.stderr
    sys.path.insert(0, str(folder))
    package = importlib.import_module("ekb_enterprise_knowledge_base_client")
    yield package, server
    sys.path.remove(str(folder))
    server.stop()
    kb.close()


def server_openapi(server: ApiServer) -> dict:
    import httpx

    return httpx.get(server.url + "/openapi.json", timeout=60).json()


def module(package, name: str):
    return importlib.import_module(f"{package.__name__}.{name}")


def test_a_curated_query_returns_typed_rows(generated):
    package, server = generated
    client = package.Client(base_url=server.url, timeout=60)
    search = module(package, "api.curated_queries.query_search")
    results = search.sync(client=client, text="meter")
    assert type(results).__name__ == "SparqlResults"
    labels = [row["label"].value for row in results.results.bindings]
    assert "Meter Reading" in labels
    failed = search.sync(client=client, text="meter", page=0)  # out of range: the error body, typed
    assert type(failed).__name__ == "ErrorBody" and "page" in failed.message


def test_sparql_query_and_update_through_the_client(generated):
    package, server = generated
    sparql_get = module(package, "api.sparql.sparql_get_sparql_get")
    client = package.Client(base_url=server.url, timeout=60)
    answer = sparql_get.sync(client=client, query="SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }")
    assert int(answer.results.bindings[0]["n"].value) > 1000
    bad = sparql_get.sync(client=client, query="SELECT * WHERE {")
    assert type(bad).__name__ == "ErrorBody" and bad.error == "QuerySyntaxError"
    sparql_post = module(package, "api.sparql.sparql_post_sparql_post")
    form = module(package, "models.sparql_post_sparql_post_data_body").SparqlPostSparqlPostDataBody
    writer = package.AuthenticatedClient(base_url=server.url, token=TOKEN, timeout=60)
    update = ("INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/data/client> { "
              "<urn:client:a> <urn:client:p> 1 } }")
    done = sparql_post.sync(client=writer, body=form(update=update))
    assert type(done).__name__ == "UpdateResult" and (done.inserted, done.deleted) == (1, 0)


def test_import_through_the_client(generated):
    package, server = generated
    importer = module(package, "api.linked_data.import_jsonld_import_post")
    body = module(package, "models.import_jsonld_import_post_body").ImportJsonldImportPostBody
    document = {"@context": server.url + "/context/v2.jsonld",
                "id": "https://kb.quantum-energy.example/id/system/client-made",
                "type": ["System"], "label": "Made by a generated client",
                "owner": "https://kb.quantum-energy.example/id/owner/chief-information-officer",
                "scope": "util:Shared"}
    writer = package.AuthenticatedClient(base_url=server.url, token=TOKEN, timeout=60)
    result = importer.sync(client=writer, body=body.from_dict(document),
                           graph="https://kb.quantum-energy.example/graph/data/client")
    assert type(result).__name__ == "ImportResult", result
    assert result.inserted >= 3 and result.graph.endswith("/data/client")
    anonymous = importer.sync(client=package.Client(base_url=server.url, timeout=60), body=body.from_dict(document))
    assert type(anonymous).__name__ == "ErrorBody" and anonymous.error == "Unauthorized"
