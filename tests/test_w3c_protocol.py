"""The W3C SPARQL 1.1 Protocol, Graph Store HTTP Protocol and Service Description tests, replayed over HTTP
against a real `ekb serve` process (on 127.0.0.1 and a free port), once with its store in memory and once on
disk. The manifests (tests/w3c/rdf-tests/...) describe each request and the response expected; the harness sends
exactly those requests, with these adaptations, each also said where it is made:

- the manifests' endpoint paths are prefixes to replace (they say so): `/sparql/` becomes ekb's `/sparql`
  (which has no trailing slash) and the Graph Store root `/gsp` becomes `/store`, so the direct identification
  `/gsp/person/1.ttl` is `/store/person/1.ttl` of the service's own base URL;
- writes are closed on ekb without a token, so every request carries `Authorization: Bearer <token>` (reads
  ignore it); the manifests predate authentication;
- every test starts from the store as `ekb serve` loaded it plus the test's `ut:graphData` (the protocol tests'
  named graphs), as the suites assume a fresh service per test (e.g. gsp:put_get_uri_pct_encoded_indirect
  expects 201 Created for a graph that gsp:head_existing_indirect created before it): graphs that earlier tests
  added are dropped and the test's own loaded, in one SPARQL Update, unless the store already holds exactly them;
- the service is a plain SPARQL store: its project has empty ontology/, shapes/ and data/ folders. The update
  tests begin with `CLEAR ALL` or `DROP ALL`, which on a knowledge base with a model is refused (403: the
  ontology, shapes and entailments change only through `ekb load`; tests/test_sparql_api.py holds that policy);
  with no model there is nothing to protect, and the suite measures the protocol itself. The gate, the reasoner
  and the workers still run on every request.

Known failures are in tests/w3c/known_failures.py: they must still fail; everything else must pass.
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from email.message import Message
from pathlib import Path
from urllib.parse import quote, urljoin

import httpx
import pytest
import rdflib
from rdflib.compare import isomorphic

from tests.conftest import ROOT, EkbServe
from tests.w3c.suite import (
    HttpRequest,
    HttpTest,
    check,
    graph_store_tests,
    protocol_tests,
    service_description_tests,
    stale_known_failures,
)

TOKEN = "w3c-suite-write-token"
TIMEOUT = httpx.Timeout(30.0)
STORE_KINDS = ("memory", "disk")
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")

PROTOCOL = protocol_tests()
GRAPH_STORE = graph_store_tests()
SERVICE_DESCRIPTION = service_description_tests()

# Media types by the manifests' mf:expectedFormat. "boolean": the SPARQL results formats that carry a boolean
# (CSV/TSV cannot). "tabular": the four results formats the test names. "RDF": the test names RDF/XML, Turtle,
# N-Triples and RDFa; another reading would take any RDF syntax (JSON-LD, N3): it is not taken, so a service that
# answers a CONSTRUCT without Accept in JSON-LD fails here.
BOOLEAN_TYPES = {"application/sparql-results+json", "application/sparql-results+xml"}
TABULAR_TYPES = BOOLEAN_TYPES | {"text/csv", "text/tab-separated-values"}
RDF_TYPES = {"application/rdf+xml": "xml", "text/turtle": "turtle", "application/n-triples": "nt",
             "text/html": None, "application/xhtml+xml": None}  # RDFa: accepted, not parsed
# Any RDF syntax, for the service description ("an RDF serialization, may be embedded in (X)HTML by RDFa").
ANY_RDF_TYPES = {**RDF_TYPES, "application/ld+json": "json-ld", "text/n3": "n3", "application/trig": "trig",
                 "application/n-quads": "nquads"}


class W3cService:
    """`ekb serve` (tests.conftest.EkbServe) on a plain project, with a write token, and a client for the suite."""

    def __init__(self, kind: str, root: Path, workdir: Path):
        self.kind = kind
        self.server = EkbServe(*(["--store", str(workdir / "store")] if kind == "disk" else []), write_token=TOKEN,
                               root=root, cwd=workdir)
        self.url = self.server.url
        self.client = httpx.Client(base_url=self.url, timeout=TIMEOUT)
        # Only the manifest's headers (and the token): httpx would otherwise send `Accept: */*` on every request.
        del self.client.headers["accept"]
        self.baseline = set(self.graphs())

    def stop(self) -> None:
        self.client.close()
        self.server.stop()

    def request(self, method: str, path: str, headers: list[tuple[str, str]] | None = None,
                body: bytes | None = None) -> httpx.Response:
        """One request, with the write token; a transport error is a test failure, not an error of the harness."""
        try:
            return self.client.request(method, path, headers=[*(headers or []), ("Authorization", f"Bearer {TOKEN}")],
                                       content=body)
        except httpx.HTTPError as err:
            raise AssertionError(f"{method} {path}: no answer ({type(err).__name__}: {err})") from None

    def graphs(self) -> list[str]:
        response = self.client.get("/sparql", params={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { } }"},
                                   headers={"Accept": "application/sparql-results+json"})
        assert response.status_code == 200, f"setup: listing the graphs: {response.status_code} {response.text[:300]}"
        return [row["g"]["value"] for row in response.json()["results"]["bindings"]]

    def holds(self, graph: str, path: Path) -> bool:
        response = self.client.post("/sparql", content=f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}",
                                    headers={"Content-Type": "application/sparql-query", "Accept": "application/n-triples"})
        assert response.status_code == 200, f"setup: reading <{graph}>: {response.status_code} {response.text[:300]}"
        return isomorphic(parse_rdf(response.content, "nt", self.url), parse_rdf(path.read_bytes(), "nt", self.url))

    def prepare(self, graph_data: list[tuple[Path, str]]) -> None:
        """The store as `ekb serve` loaded it plus `graph_data` (file, graph IRI), and nothing else: graphs that
        earlier tests added are dropped. One SPARQL Update, or none when the store already is in that state
        (each write goes through the governance gate, which takes a fraction of a second).
        (Graphs of the loaded model that a test changed are not restored: no W3C test here writes to them.)"""
        wanted = {graph: path for path, graph in graph_data}
        added = set(self.graphs()) - self.baseline
        if added == set(wanted) and all(self.holds(graph, path) for graph, path in wanted.items()):
            return
        update = [f"DROP SILENT GRAPH <{g}>" for g in sorted(added | set(wanted))]
        if wanted:
            update.append("INSERT DATA {\n" + "\n".join(f"GRAPH <{graph}> {{\n{path.read_text()}}}"
                                                         for graph, path in sorted(wanted.items())) + "\n}")
        response = self.request("POST", "/sparql", [("Content-Type", "application/sparql-update")],
                                " ;\n".join(update).encode("utf-8"))
        assert response.is_success, f"setup: preparing the store: {response.status_code} {response.text[:300]}"


@pytest.fixture(scope="module")
def model_root(tmp_path_factory) -> Path:
    """A project folder with empty ontology/, shapes/ and data/ (a plain store) and the repository's queries/."""
    root = tmp_path_factory.mktemp("w3c-root")
    for folder in ("ontology", "shapes", "data"):
        (root / folder).mkdir()
    shutil.copytree(ROOT / "queries", root / "queries")
    return root


@pytest.fixture(scope="module", params=STORE_KINDS)
def ekb(request, model_root, tmp_path_factory):
    server = W3cService(request.param, model_root, tmp_path_factory.mktemp(f"w3c-{request.param}"))
    yield server
    server.stop()


# --- checking a response --------------------------------------------------------------------------------------

def media_type(response: httpx.Response) -> tuple[str, dict[str, str]]:
    message = Message()
    message["content-type"] = response.headers.get("content-type", "")
    params = {k.lower(): v for k, v in message.get_params()[1:]} if response.headers.get("content-type") else {}
    return message.get_content_type() if response.headers.get("content-type") else "", params


def parse_boolean(response: httpx.Response, step: str) -> bool:
    kind, _ = media_type(response)
    if kind == "application/sparql-results+json":
        document = json.loads(response.content)
        assert isinstance(document.get("boolean"), bool), f"{step}: the JSON answer has no boolean: {response.text[:200]}"
        return document["boolean"]
    root = ET.fromstring(response.content)
    found = root.find("{http://www.w3.org/2005/sparql-results#}boolean")
    assert found is not None and found.text in ("true", "false"), f"{step}: the XML answer has no boolean"
    return found.text == "true"


def parse_rdf(text: bytes, syntax: str, base: str) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(data=text, format=syntax, publicID=base)
    return graph


def check_response(request: HttpRequest, response: httpx.Response, step: str) -> None:
    expected = request.expected
    status = response.status_code
    assert any(status in codes for _, codes in expected.statuses), (
        f"{step}: status {status}, expected {expected.status_names()}"
        + (f"; body: {response.text[:300]}" if response.content else ""))
    kind, params = media_type(response)
    if expected.result_format == "boolean":
        assert kind in BOOLEAN_TYPES, f"{step}: a boolean answer in {kind or '(no Content-Type)'}"
        value = parse_boolean(response, step)
        if expected.boolean is not None:
            assert value is expected.boolean, f"{step}: answered {value}, expected {expected.boolean}"
    elif expected.result_format == "tabular":
        assert kind in TABULAR_TYPES, f"{step}: a SELECT answer in {kind or '(no Content-Type)'}"
        if kind == "application/sparql-results+json":
            assert "results" in json.loads(response.content), f"{step}: JSON results without 'results'"
    elif expected.result_format == "RDF":
        assert kind in RDF_TYPES, f"{step}: an RDF answer in {kind or '(no Content-Type)'}, not {', '.join(RDF_TYPES)}"
        if RDF_TYPES[kind]:
            parse_rdf(response.content, RDF_TYPES[kind], str(response.url))
    for name, value in expected.headers:
        if name.lower() == "content-type":
            # The media type must match; so must a charset the response gives (Turtle is UTF-8 without one too).
            wanted = Message()
            wanted["content-type"] = value
            assert kind == wanted.get_content_type(), f"{step}: Content-Type {kind or '(none)'}, expected {value}"
            charset = wanted.get_param("charset")
            if charset and "charset" in params:
                assert params["charset"].lower() == str(charset).lower(), (
                    f"{step}: charset {params['charset']}, expected {charset}")
        else:
            assert response.headers.get(name) == value, f"{step}: header {name}: {response.headers.get(name)}, expected {value}"
    if expected.body is not None and request.method != "HEAD":
        wanted_type = next((v for n, v in expected.headers if n.lower() == "content-type"), "text/turtle")
        syntax = ANY_RDF_TYPES.get(wanted_type.split(";")[0].strip().lower(), "turtle")
        want = parse_rdf(expected.body.encode("utf-8"), syntax, str(response.url))
        assert kind in ANY_RDF_TYPES and ANY_RDF_TYPES[kind], f"{step}: a graph in {kind or '(no Content-Type)'}"
        got = parse_rdf(response.content, ANY_RDF_TYPES[kind], str(response.url))
        assert isomorphic(got, want), (f"{step}: the graph differs from the expected one:\n got:\n"
                                       f"{got.serialize(format='nt')}\n expected:\n{want.serialize(format='nt')}")


# --- replaying a test -------------------------------------------------------------------------------------------

def service_path(suite: str, path: str) -> str:
    """The manifest's path on ekb: its endpoint prefix replaced by ekb's (the manifests ask for this)."""
    if suite == "protocol":
        assert path.startswith("/sparql/"), path
        return "/sparql" + path.removeprefix("/sparql/")  # "/sparql/?query=..." -> "/sparql?query=..."
    assert path.startswith("/gsp"), path
    # Indirect identification keeps the manifest's graph IRIs (http://www.example/gsp/person/1.ttl): to ekb they
    # are names like any other. Another reading rewrites the test host www.example to the service's own address,
    # so that they name the same graphs as direct identification; no expected response depends on the choice.
    return "/store" + path.removeprefix("/gsp")


def substitute(text: str, variables: dict[str, str], encode: bool) -> str:
    """$LOCATION$-style template variables. In a request URI the value is percent-encoded: the manifest puts it
    in `?graph=`, where a Location with its own `?`, `&` or `#` would otherwise change the query (a literal
    reading pastes it as is; for an IRI without those characters both readings send the same graph IRI)."""
    for name, value in variables.items():
        text = text.replace(name, quote(value, safe="") if encode else value)
    return text


def replay(server: W3cService, test: HttpTest) -> None:
    server.prepare(test.graph_data)
    suite = test.id.split("/", 1)[0]
    variables: dict[str, str] = {}
    for number, request in enumerate(test.requests, 1):
        path = service_path(suite, substitute(request.path, variables, encode=True))
        body = request.body
        if body is not None and variables:
            body = substitute(body.decode("utf-8"), variables, encode=False).encode("utf-8")
        step = f"request {number} of {len(test.requests)} ({request.method} {path})"
        response = server.request(request.method, path, request.headers, body)
        check_response(request, response, step)
        if request.expected.location_variable:
            location = response.headers.get("location")
            assert location, f"{step}: no Location header"
            variables[request.expected.location_variable] = urljoin(server.url + path, location)


@pytest.mark.parametrize("test", PROTOCOL, ids=[t.id.split("/", 1)[1] for t in PROTOCOL])
def test_protocol(ekb, test):
    check(test.id, ekb.kind, lambda: replay(ekb, test))


@pytest.mark.parametrize("test", GRAPH_STORE, ids=[t.id.split("/", 1)[1] for t in GRAPH_STORE])
def test_graph_store(ekb, test):
    check(test.id, ekb.kind, lambda: replay(ekb, test))


# --- service description ----------------------------------------------------------------------------------------

def service_description(server: W3cService) -> tuple[httpx.Response, rdflib.Graph]:
    """GET on the endpoint without a query string and without Accept (the WG validator's request: "GET on
    endpoint returns RDF"). Another reading sends an RDF Accept header; ekb is asked the stricter way."""
    response = server.request("GET", "/sparql")
    assert response.status_code == 200, f"GET /sparql: status {response.status_code}"
    kind, _ = media_type(response)
    assert kind in ANY_RDF_TYPES, f"GET /sparql: answered {kind or '(no Content-Type)'}, not RDF"
    syntax = ANY_RDF_TYPES[kind]
    assert syntax, f"GET /sparql: answered {kind}; RDFa is not read by this harness"
    return response, parse_rdf(response.content, syntax, server.url + "/sparql")


def sd_returns_rdf(server: W3cService) -> None:
    _, graph = service_description(server)
    assert len(graph) > 0, "the service description is empty"


def sd_has_endpoint_triple(server: W3cService) -> None:
    # "Matching": the object of sd:endpoint is the URL the description was fetched from.
    _, graph = service_description(server)
    endpoint = rdflib.URIRef(server.url + "/sparql")
    services = set(graph.subjects(SD.endpoint, endpoint))
    assert services, f"no sd:endpoint <{endpoint}>; found {sorted(map(str, graph.objects(None, SD.endpoint)))}"


def sd_conforms_to_schema(server: W3cService) -> None:
    # The WG's validator checked that every sd:NamedGraph has an sd:name.
    _, graph = service_description(server)
    nameless = [n for n in graph.subjects(rdflib.RDF.type, SD.NamedGraph) if graph.value(n, SD.name) is None]
    assert not nameless, f"{len(nameless)} sd:NamedGraph without sd:name"


SD_CHECKS = {"returns-rdf": sd_returns_rdf, "has-endpoint-triple": sd_has_endpoint_triple,
             "conforms-to-schema": sd_conforms_to_schema}


@pytest.mark.parametrize("test", SERVICE_DESCRIPTION, ids=[t[0].split("/", 1)[1] for t in SERVICE_DESCRIPTION])
def test_service_description(ekb, test):
    test_id, _ = test
    criterion = SD_CHECKS[test_id.split("/", 1)[1]]

    def run() -> None:
        ekb.prepare([])
        criterion(ekb)

    check(test_id, ekb.kind, run)


def test_suites_complete_and_known_failures_current():
    """The counts the W3C suites have, and no entry in known_failures that names no test here."""
    assert (len(PROTOCOL), len(GRAPH_STORE), len(SERVICE_DESCRIPTION)) == (34, 13, 3)
    ids = [t.id for t in PROTOCOL + GRAPH_STORE] + [t[0] for t in SERVICE_DESCRIPTION]
    assert stale_known_failures(("protocol/", "graph-store/", "service-description/"), ids, STORE_KINDS) == []
