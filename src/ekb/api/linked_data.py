"""Dereferenceable IRIs, the published @context, collections and JSON-LD import.

Every IRI under the configured base answers here by its path: /id/{kind}/{slug} for individuals, /def/... for
ontology terms, with JSON-LD, Turtle, N-Triples or an HTML page by content negotiation.
"""

from __future__ import annotations

import json
from email.utils import format_datetime
from html import escape

import mimeparse
import pyoxigraph as ox
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from ekb.api.protocol import NotAcceptable, kb_of, read_body, require_write_token
from ekb.config import BASE_IRI, DATA_GRAPH_PREFIX, EKB, ID, UTIL
from ekb.errors import InputError, NotFound
from ekb.linked_data import COLLECTIONS, CONTEXT_PATH, PREFIXES, collection_items, context, resource_document
from ekb.linked_data import parse_document as parse_jsonld

router = APIRouter(tags=["linked data"])
JSONLD = "application/ld+json"
VIEWS = {JSONLD: "jsonld", "application/json": "jsonld", "text/turtle": "turtle", "application/n-triples": "ntriples",
         "text/html": "html"}


def context_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + CONTEXT_PATH


@router.get("/context.jsonld", summary="The published JSON-LD context (current version)")
@router.get(CONTEXT_PATH, summary="The published JSON-LD context, version 1")
def get_context() -> JSONResponse:
    return JSONResponse(context(), media_type=JSONLD, headers={"Cache-Control": "public, max-age=86400"})


def view_of(request: Request) -> str:
    override = request.query_params.get("format")
    if override:
        if override not in set(VIEWS.values()):
            raise NotAcceptable(f"unknown format {override!r}; choose one of jsonld, turtle, ntriples, html")
        return override
    accept = request.headers.get("accept") or JSONLD
    best = mimeparse.best_match(list(reversed(list(VIEWS))), accept)
    if not best:
        raise NotAcceptable("this resource is available as " + ", ".join(VIEWS))
    return VIEWS[best]


def local_link(iri: str) -> str:
    return "/" + iri[len(BASE_IRI):] if iri.startswith(BASE_IRI) else iri


async def dereference(request: Request, iri: str) -> Response:
    kb = kb_of(request)
    view = view_of(request)
    doc = await run_in_threadpool(resource_document, kb.store, iri, context_url(request))
    etag = f'{doc.etag[:-1]}-{view}"'
    headers = {"ETag": etag, "Vary": "Accept", "Last-Modified": format_datetime(kb.modified, usegmt=True)}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    if view == "jsonld":
        return Response(json.dumps(doc.body, indent=2, ensure_ascii=False), media_type=JSONLD, headers=headers)
    if view == "html":
        return HTMLResponse(resource_page(iri, doc.body), headers=headers)
    own = [t for t in doc.triples if t.subject.value == iri]
    fmt = ox.RdfFormat.TURTLE if view == "turtle" else ox.RdfFormat.N_TRIPLES
    media_type = "text/turtle" if view == "turtle" else "application/n-triples"
    prefixes = {"ekb": EKB, "util": UTIL, "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
                "skos": "http://www.w3.org/2004/02/skos/core#", "dcterms": "http://purl.org/dc/terms/"} \
        if view == "turtle" else None
    body = ox.serialize(own, format=fmt, prefixes=prefixes) if prefixes else ox.serialize(own, format=fmt)
    return Response(body, media_type=media_type + "; charset=utf-8", headers=headers)


@router.get("/id/{path:path}", summary="Dereference an individual's IRI (JSON-LD, Turtle, N-Triples or HTML)")
async def get_individual(path: str, request: Request) -> Response:
    return await dereference(request, f"{BASE_IRI}id/{path}")


@router.get("/def/{path:path}", summary="Dereference an ontology term's IRI (JSON-LD, Turtle, N-Triples or HTML)")
async def get_term(path: str, request: Request) -> Response:
    return await dereference(request, f"{BASE_IRI}def/{path}")


def _value_html(value) -> str:
    if isinstance(value, dict):
        target = value.get("id", "")
        label = value.get("label") or target
        if isinstance(label, list):
            label = ", ".join(map(str, label))
        return f'<a href="{escape(local_link(target))}">{escape(str(label))}</a>' if target else escape(str(value))
    return escape(str(value))


def resource_page(iri: str, body: dict) -> str:
    rows = []
    for key, value in body.items():
        if key in ("@context", "id", "label", "definition"):
            continue
        values = value if isinstance(value, list) else [value]
        rows.append(f"<tr><th>{escape(key)}</th><td>{'<br>'.join(_value_html(v) for v in values)}</td></tr>")
    label = body.get("label", iri)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(str(label))}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2330}}
th{{text-align:left;vertical-align:top;padding:.3rem 1rem .3rem 0;color:#5b6475;font-weight:500}}
td{{padding:.3rem 0}}code{{background:#f3f5f9;padding:.1rem .3rem}}</style></head><body>
<p><a href="/sparql">SPARQL</a> · <a href="/queries">curated queries</a> · <a href="/docs">API</a></p>
<h1>{escape(str(label))}</h1><p><code>{escape(iri)}</code></p>
<p>{escape(str(body.get("definition", "")))}</p>
<table>{''.join(rows)}</table>
<p>Also as <a href="?format=jsonld">JSON-LD</a>, <a href="?format=turtle">Turtle</a>,
<a href="?format=ntriples">N-Triples</a>.</p></body></html>"""


def filter_term(name: str, value: str, kind: str) -> ox.NamedNode | ox.Literal:
    """A filter value as an RDF term: an integer, a scope name, a full IRI or a slug of the expected kind."""
    if kind == "integer":
        if not value.lstrip("-").isdigit():
            raise InputError(f"filter {name}: {value!r} is not an integer")
        return ox.Literal(value, datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer"))
    if kind == "scope":
        names = {"regulated": "Regulated", "non-regulated": "NonRegulated", "nonregulated": "NonRegulated",
                 "shared": "Shared"}
        if value.lower() in names:
            return ox.NamedNode(UTIL + names[value.lower()])
    iri = value if "://" in value else f"{ID}{kind}/{value}"
    try:
        return ox.NamedNode(iri)
    except ValueError:
        raise InputError(f"filter {name}: {value!r} is not an IRI or a slug") from None


@router.get("/collections", summary="The collections of main kinds, with their filters")
def list_collections(request: Request) -> JSONResponse:
    base = str(request.base_url).rstrip("/")
    return JSONResponse([{"kind": k, "url": f"{base}/collections/{k}", "filters": sorted(f)}
                         for k, (_, f) in COLLECTIONS.items()])


@router.get("/collections/{kind}", summary="A paginated, filterable collection of one kind, as framed JSON-LD")
async def get_collection(kind: str, request: Request) -> Response:
    if kind not in COLLECTIONS:
        raise NotFound(f"no collection {kind!r}; the collections are: {', '.join(COLLECTIONS)}")
    cls, filters = COLLECTIONS[kind]
    params = dict(request.query_params)
    page, size = _int(params.pop("page", "1"), "page", 1), _int(params.pop("size", "50"), "size", 1, 500)
    unknown = sorted(set(params) - set(filters))
    if unknown:
        raise InputError(f"unknown filter {', '.join(unknown)} for {kind}; filters: {', '.join(sorted(filters)) or 'none'}")
    patterns = [f"?item {filters[n][0]} {filter_term(n, v, filters[n][1])} ." for n, v in params.items()]
    where = f"?item a {cls} . {' '.join(patterns)} OPTIONAL {{ ?item rdfs:label ?label }} OPTIONAL {{ ?item skos:notation ?n }}"
    kb = kb_of(request)

    def run() -> tuple[int, list[dict]]:
        total = int(kb.store.select(PREFIXES + f"SELECT (COUNT(DISTINCT ?item) AS ?c) WHERE {{ {where} }}")[0]["c"].value)
        rows = kb.store.select(PREFIXES + f"SELECT DISTINCT ?item WHERE {{ {where} }} "
                               f"ORDER BY ?label ?item LIMIT {size} OFFSET {(page - 1) * size}")
        return total, collection_items(kb.store, [r["item"].value for r in rows], context_url(request))

    total, items = await run_in_threadpool(run)
    here = request.url
    body = {"@context": context_url(request), "id": str(here), "type": ["Collection"], "kind": kind,
            "totalItems": total, "page": page, "pageSize": size, "items": items}
    links = []
    if page * size < total:
        body["next"] = str(here.include_query_params(page=page + 1))
        links.append(f'<{body["next"]}>; rel="next"')
    if page > 1:
        body["prev"] = str(here.include_query_params(page=page - 1))
        links.append(f'<{body["prev"]}>; rel="prev"')
    headers = {"Link": ", ".join(links)} if links else {}
    return Response(json.dumps(body, indent=2, ensure_ascii=False), media_type=JSONLD, headers=headers)


def _int(text: str, name: str, low: int, high: int | None = None) -> int:
    if not text.isdigit() or int(text) < low or (high is not None and int(text) > high):
        raise InputError(f"{name} must be an integer from {low}" + (f" to {high}" if high else ""))
    return int(text)


@router.post("/import", summary="Import a JSON-LD document into a named graph, through the governance gate")
async def import_jsonld(request: Request) -> Response:
    require_write_token(request)
    graph = request.query_params.get("graph", DATA_GRAPH_PREFIX + "imported")
    try:
        target = ox.NamedNode(graph)
    except ValueError:
        raise InputError(f"?graph={graph!r} is not a valid IRI") from None
    triples = parse_jsonld(await read_body(request), "the request body")
    body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
    kb = kb_of(request)
    result = await run_in_threadpool(kb.write, lambda store: store.update(f"INSERT DATA {{ GRAPH {target} {{ {body} }} }}"))
    findings = result.as_json()["newFindings"]
    return JSONResponse({"graph": graph, "triples": len(triples), "newFindings": findings}, status_code=201)
