"""The SPARQL 1.1 Protocol endpoint (query and update) with its Service Description.

https://www.w3.org/TR/sparql11-protocol/ and https://www.w3.org/TR/sparql11-service-description/
"""

from __future__ import annotations

import rdflib
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from ekb.api import schemas
from ekb.api.protocol import (
    NotAcceptable,
    UnsupportedMediaType,
    answer_query,
    engine_errors,
    form_fields,
    in_thread,
    kb_of,
    media_type_of,
    parse_iri,
    prefers_html,
    public_url,
    read_text,
    request_base,
    require_write_token,
    result_formats,
    update_response,
)
from ekb.config import BASE_IRI, PREFIXES
from ekb.console import render, views
from ekb.errors import InputError
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, SOLUTION_FORMATS, negotiate

router = APIRouter(tags=["SPARQL"])
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
FORMATS_NS = "http://www.w3.org/ns/formats/"
SD_FORMATS = {"json": "SPARQL_Results_JSON", "xml": "SPARQL_Results_XML", "csv": "SPARQL_Results_CSV",
              "tsv": "SPARQL_Results_TSV", "turtle": "Turtle", "ntriples": "N-Triples", "rdfxml": "RDF_XML",
              "jsonld": "JSON-LD", "trig": "TriG", "nquads": "N-Quads", "n3": "N3"}


def _single(fields: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in fields if k == name]
    if len(values) > 1:
        raise InputError(f"the request has {len(values)} '{name}' parameters; the protocol allows one")
    return values[0] if values else None


def _graph_uris(fields: list[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The protocol's dataset parameters, each checked as an IRI before it reaches the engine."""
    return ([parse_iri(v, k) for k, v in fields if k == "default-graph-uri"],
            [parse_iri(v, k) for k, v in fields if k == "named-graph-uri"])


async def _run_query(request: Request, query: str, fields: list[tuple[str, str]]) -> Response:
    kb = kb_of(request)
    default_graphs, named_graphs = _graph_uris(fields)
    # SPARQLWrapper repeats `format` (and `output`); the first one wins, as Fuseki does.
    override = next((v for k, v in fields if k in ("format", "output")), None)
    formats = result_formats(request, override)
    base = request_base(request)
    return await answer_query(
        request, lambda s, g: kb.sparql(query, s, g, default_graphs, named_graphs, base, stream=True), formats)


async def _run_update(request: Request, update: str, fields: list[tuple[str, str]]) -> Response:
    require_write_token(request)
    using = [parse_iri(v, k) for k, v in fields if k == "using-graph-uri"]
    using_named = [parse_iri(v, k) for k, v in fields if k == "using-named-graph-uri"]
    with engine_errors():
        result = await run_in_threadpool(kb_of(request).update, update, request_base(request), using, using_named)
    return update_response(result)


@router.get("/sparql", summary="SPARQL query (GET), or the service description when no query is given",
            openapi_extra=schemas.SPARQL_GET, responses={200: {
                "model": schemas.SparqlResults, "description": "SPARQL results (SELECT, ASK), RDF (CONSTRUCT, DESCRIBE) "
                "or, without a query, the service description", "content": schemas.ANSWER_TYPES},
                **schemas.errors(*schemas.READ_ERRORS, 403)})
async def sparql_get(request: Request) -> Response:
    fields = list(request.query_params.multi_items())
    if _single(fields, "update") is not None:
        raise InputError("SPARQL Update must be sent with POST")
    query = _single(fields, "query")
    if query is None:
        return await service_description(request)
    return await _run_query(request, query, fields)


@router.post("/sparql", summary="SPARQL query or update (POST form, or direct sparql-query / sparql-update body)",
             openapi_extra=schemas.SPARQL_POST, responses={200: {
                 "model": schemas.SparqlResults | schemas.UpdateResult, "description": "a query's answer, or what an "
                 "update inserted and deleted", "content": schemas.ANSWER_TYPES},
                 **schemas.errors(*schemas.READ_ERRORS, *schemas.WRITE_ERRORS)})
async def sparql_post(request: Request) -> Response:
    media_type = media_type_of(request)
    url_fields = list(request.query_params.multi_items())
    if media_type == "application/x-www-form-urlencoded":
        fields = await form_fields(request)
        query, update = _single(fields, "query"), _single(fields, "update")
        if (query is None) == (update is None):
            raise InputError("a form POST needs exactly one of 'query' or 'update'")
        if update is not None:
            return await _run_update(request, update, fields + url_fields)
        return await _run_query(request, query, fields + url_fields)
    if media_type in ("application/sparql-query", "application/sparql-update"):
        if media_type == "application/sparql-update":
            require_write_token(request)  # before reading a body that only a writer may send
        text = await read_text(request)
        if media_type == "application/sparql-update":
            return await _run_update(request, text, url_fields)
        return await _run_query(request, text, url_fields)
    raise UnsupportedMediaType(
        f"unsupported Content-Type {media_type or '(none)'}: send application/x-www-form-urlencoded, "
        "application/sparql-query or application/sparql-update")


async def service_description(request: Request) -> Response:
    """The service description; its endpoint IRI comes from the configured base URL, not the Host header."""
    endpoint = str(public_url(request, request.app.url_path_for("sparql_get")))
    rdf_types = [f.media_type for f in GRAPH_FORMATS]
    if prefers_html(request, rdf_types):
        return HTMLResponse(await in_thread(query_page, endpoint, kb_of(request)))
    fmt = negotiate(request.headers.get("accept"), GRAPH_FORMATS)
    if fmt is None:
        raise NotAcceptable("the service description is available as " + ", ".join(rdf_types) + " or text/html")
    kb = kb_of(request)
    syntax = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml", "jsonld": "json-ld", "n3": "n3"}[fmt.name]

    def build() -> str:  # a store read and an rdflib serialisation: both in a worker thread
        return describe_service(endpoint, kb.graphs(), bool(kb.settings.allowed_service_hosts)).serialize(format=syntax)

    return Response(await in_thread(build), media_type=fmt.media_type, headers={"Vary": "Accept"})


def describe_service(endpoint: str, graphs: list[str], federation: bool = False) -> rdflib.Graph:
    g = rdflib.Graph()
    g.bind("sd", SD)
    service, dataset, default = rdflib.URIRef(endpoint + "#service"), rdflib.BNode(), rdflib.BNode()
    g.add((service, rdflib.RDF.type, SD.Service))
    g.add((service, SD.endpoint, rdflib.URIRef(endpoint)))
    for language in (SD.SPARQL11Query, SD.SPARQL11Update):
        g.add((service, SD.supportedLanguage, language))
    g.add((service, SD.feature, SD.UnionDefaultGraph))
    if federation:  # SERVICE is refused unless the operator allowed hosts
        g.add((service, SD.feature, SD.BasicFederatedQuery))
    for fmt in SOLUTION_FORMATS + GRAPH_FORMATS + DATASET_FORMATS:
        g.add((service, SD.resultFormat, rdflib.URIRef(FORMATS_NS + SD_FORMATS[fmt.name])))
    g.add((service, SD.defaultDataset, dataset))
    g.add((dataset, rdflib.RDF.type, SD.Dataset))
    g.add((dataset, SD.defaultGraph, default))
    g.add((default, rdflib.RDF.type, SD.Graph))
    g.add((default, rdflib.RDFS.comment, rdflib.Literal("The union of all named graphs.")))
    for name in graphs:
        named = rdflib.BNode()
        g.add((dataset, SD.namedGraph, named))
        g.add((named, rdflib.RDF.type, SD.NamedGraph))
        g.add((named, SD.name, rdflib.URIRef(name)))
    return g


EXAMPLE = """PREFIX ekb: <https://kb.quantum-energy.example/def/core/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>

SELECT ?number ?capability WHERE {
  ?c a ekb:L1Capability ; skos:notation ?number ; rdfs:label ?capability .
} ORDER BY xsd:integer(?number)"""


def query_page(endpoint: str, kb) -> str:
    """The SPARQL console (vendored YASGUI, see ekb/console/static/yasgui/README.md): its configuration is in the
    page, the model's classes and properties included, so the editor completes without asking another host."""
    vocabulary = views.vocabulary(kb)
    queries = list(kb.library.queries.values())
    config = {"endpoint": endpoint, "base": BASE_IRI, "example": EXAMPLE, "classes": vocabulary["class"],
              "properties": vocabulary["property"], "prefixes": PREFIXES,
              "prefixLines": [f"{p}: <{iri}>" for p, iri in PREFIXES.items()],
              "queries": {q.name: q.text for q in queries}}
    return render("sparql.html", here="/sparql", title="SPARQL console", endpoint=endpoint, example=EXAMPLE,
                  queries=queries, config=config, solution_formats=[_download(f) for f in SOLUTION_FORMATS],
                  graph_formats=[_download(f) for f in GRAPH_FORMATS])


def _download(fmt) -> dict:
    """A download link's format name and the file extension it is saved with (the engine's own)."""
    return {"name": fmt.name, "extension": fmt.engine.file_extension}
