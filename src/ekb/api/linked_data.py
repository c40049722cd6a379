"""Dereferenceable IRIs, the published @context, collections and JSON-LD import.

Every IRI under the configured base answers here by its path: /id/{kind}/{slug} for individuals, /def/... for
ontology terms (an ontology's own IRI, /def/core, names its whole module), with JSON-LD, Turtle, N-Triples or an
HTML page by content negotiation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

import pyoxigraph as ox
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from ekb import docs
from ekb.api import schemas
from ekb.api.protocol import (
    MAX_PAGE,
    base_url,
    in_thread,
    kb_of,
    negotiate_view,
    not_modified,
    parse_in_thread,
    parse_int,
    parse_iri,
    public_url,
    read_body,
    refuse_protected,
    require_write_token,
)
from ekb.config import BASE_IRI, DATA_GRAPH_PREFIX, PREFIXES
from ekb.console import local_link, render, views
from ekb.formats import GRAPH_FORMATS, by_name
from ekb.linked_data import COLLECTIONS, CONTEXT_PATH, Document, Page, context, parse_import
from ekb.literals import rewrites_json

router = APIRouter(tags=["linked data"])
JSONLD = "application/ld+json"
VIEWS = {JSONLD: "jsonld", "application/json": "jsonld", "text/turtle": "turtle", "application/n-triples": "ntriples",
         "text/html": "html"}


def context_url(request: Request) -> str:
    """The @context URL documents point at: on this server, under the configured base URL."""
    return base_url(request) + CONTEXT_PATH


@router.get("/context.jsonld", summary="The published JSON-LD context (current version)")
def get_current_context() -> JSONResponse:
    return JSONResponse(context(), media_type=JSONLD, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/context/{version}.jsonld", summary="A published JSON-LD context, by version (each stays served unchanged)")
def get_context(version: str) -> JSONResponse:
    return JSONResponse(context(version), media_type=JSONLD, headers={"Cache-Control": "public, max-age=86400"})


async def dereference(request: Request, iri: str) -> Response:
    kb = kb_of(request)
    iri = parse_iri(iri, "the resource")  # a path such as /id/a%20b names no IRI: 400, not an engine error
    view = negotiate_view(request, VIEWS, "this resource")
    doc = await run_in_threadpool(kb.resource, iri, context_url(request))
    # The page also shows what points here and the findings, which any write may change: its tag names the write.
    etag = f'{doc.etag[:-1]}-{view}"' if view != "html" else f'{doc.etag[:-1]}-{view}-{kb.generation}"'
    headers = {"ETag": etag, "Vary": "Accept", "Last-Modified": format_datetime(kb.modified, usegmt=True)}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    if view == "html":  # the page also shows what points here, the thing's findings, its owner's view
        body, media_type = await in_thread(resource_html, kb, doc, iri)
    else:
        body, media_type = await in_thread(render_view, doc, iri, view)
    return Response(body, media_type=media_type, headers=headers)


TURTLE_PREFIXES = {p: PREFIXES[p] for p in ("ekb", "util", "rdfs", "skos", "dcterms")}


def render_view(doc: Document, iri: str, view: str) -> tuple[bytes | str, str]:
    """A resource document in one view, as (body, media type); serialising is done in a worker thread."""
    if view == "jsonld":
        return json.dumps(doc.body, indent=2, ensure_ascii=False), JSONLD
    if view == "html":
        return resource_page(iri, doc.body), "text/html; charset=utf-8"
    own = [t for t in doc.triples if t.subject.value == iri]
    if view == "turtle":
        return ox.serialize(own, format=ox.RdfFormat.TURTLE, prefixes=TURTLE_PREFIXES), "text/turtle; charset=utf-8"
    return ox.serialize(own, format=ox.RdfFormat.N_TRIPLES), "application/n-triples; charset=utf-8"


@router.get("/ontology", summary="The ontology's documentation: its modules", response_class=HTMLResponse)
def ontology_index(request: Request) -> HTMLResponse:
    folder = kb_of(request).settings.ontology_dir
    return HTMLResponse(render("ontology.html", here="/ontology", title="Ontology", modules=list(docs.modules(folder))))


@router.get("/ontology/{module}", summary="One ontology module's documentation, inside the console's layout",
            response_class=HTMLResponse)
async def ontology_module(module: str, request: Request) -> HTMLResponse:
    await run_in_threadpool(docs.page, kb_of(request).settings.ontology_dir, module)  # 404 for an unknown module
    return HTMLResponse(render("ontology_module.html", here="/ontology", title=f"Ontology: {module}", module=module))


@router.get("/ontology/{module}/document", summary="pyLODE documentation of one ontology module (its own page)",
            response_class=HTMLResponse)
async def ontology_module_document(module: str, request: Request) -> HTMLResponse:
    return HTMLResponse(await run_in_threadpool(docs.page, kb_of(request).settings.ontology_dir, module))


@router.get("/id/{path:path}", summary="Dereference an individual's IRI (JSON-LD, Turtle, N-Triples or HTML)",
            responses={200: {"description": "the resource's document", "content": schemas.RESOURCE_TYPES},
                       304: {"description": "not modified"}, **schemas.errors(400, 404, 406)})
async def get_individual(path: str, request: Request) -> Response:
    return await dereference(request, f"{BASE_IRI}id/{path}")


@router.get("/def/{path:path}", summary="Dereference an ontology term's IRI (JSON-LD, Turtle, N-Triples or HTML)",
            responses={200: {"description": "the resource's document", "content": schemas.RESOURCE_TYPES},
                       304: {"description": "not modified"}, **schemas.errors(400, 404, 406)})
async def get_term(path: str, request: Request) -> Response:
    iri = f"{BASE_IRI}def/{path}"
    module = kb_of(request).ontology_module(iri)
    return await module_document(request, module) if module else await dereference(request, iri)


MODULE_VIEWS = {"text/turtle": "turtle", "application/rdf+xml": "rdfxml", JSONLD: "jsonld",
                "application/n-triples": "ntriples", "text/html": "html"}


async def module_document(request: Request, path: Path) -> Response:
    """An ontology IRI names its whole module (what owl:imports and Protégé fetch), not its header: the module
    in Turtle (the file as written), RDF/XML, JSON-LD or N-Triples, or pyLODE's page for a browser."""
    view = negotiate_view(request, MODULE_VIEWS, "an ontology module")
    body = path.read_bytes()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}-{view}"'
    headers = {"ETag": etag, "Vary": "Accept", "Last-Modified": format_datetime(
        dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC), usegmt=True)}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    if view == "html":
        page = render("ontology_module.html", here="/ontology", title=f"Ontology: {path.stem}", module=path.stem)
        return HTMLResponse(page, headers=headers)
    fmt = by_name(view, GRAPH_FORMATS)
    document = await in_thread(docs.module_document, path, fmt.engine)
    charset = "" if view == "rdfxml" else "; charset=utf-8"
    return Response(document, media_type=fmt.media_type + charset, headers=headers)


def _value(value) -> dict:
    """One value of a resource document for the page: {"label", "href"} (href for a link, local when it can be)."""
    if isinstance(value, dict):
        target = value.get("id", "")
        prefix, _, rest = target.partition(":")
        if prefix in context()["@context"] and not rest.startswith("//"):
            target = context()["@context"][prefix] + rest  # a compact IRI such as util:Shared
        label = value.get("label") or target
        if isinstance(label, list):
            label = ", ".join(map(str, label))
        return {"label": str(label), "href": local_link(target)} if target else {"label": str(value), "href": None}
    return {"label": str(value), "href": None}


def resource_page(iri: str, body: dict, extra: dict | None = None) -> str:
    """A resource's page: its own statements; with `extra` (see console.views.resource) what points at it, its
    findings, its place and, for an owner, what it owns."""
    rows = []
    for key, value in body.items():
        if key in ("@context", "id", "label", "definition"):
            continue
        rows.append((key, [_value(v) for v in (value if isinstance(value, list) else [value])]))
    label = body.get("label", iri)
    label = ", ".join(map(str, label)) if isinstance(label, list) else str(label)
    definition = body.get("definition", "")
    return render("resource.html", title=label, label=label, iri=iri, rows=rows, extra=extra,
                  definition=", ".join(map(str, definition)) if isinstance(definition, list) else str(definition),
                  crumbs=(extra or {}).get("crumbs"))


def resource_html(kb, doc: Document, iri: str) -> tuple[str, str]:
    """The HTML view of a resource, with the console's extras (blocking: run in a worker thread)."""
    return resource_page(iri, doc.body, views.resource(kb, iri)), "text/html; charset=utf-8"


@router.get("/collections", summary="The collections of main kinds, with their filters",
            response_model=list[schemas.CollectionInfo])
def list_collections(request: Request) -> Response:
    base = base_url(request)
    body = [{"kind": k, "url": f"{base}/collections/{k}", "filters": sorted(f)} for k, (_, f) in COLLECTIONS.items()]
    if negotiate_view(request, LIST_VIEWS, "the list of collections") == "html":
        return HTMLResponse(render("collections.html", title="Collections", collections=body), headers={"Vary": "Accept"})
    return JSONResponse(body, headers={"Vary": "Accept"})


LIST_VIEWS = {"application/json": "json", "text/html": "html"}  # a list for programs, a page for a browser


COLLECTION_VIEWS = {**VIEWS, "text/csv": "csv"}


@router.get("/collections/{kind}", openapi_extra=schemas.COLLECTION_QUERY, responses={
    200: {"model": schemas.CollectionPage, "content": schemas.COLLECTION_TYPES}, 304: {"description": "not modified"},
    **schemas.errors(*schemas.READ_ERRORS)},
            summary="A page of a filterable collection of one kind: JSON-LD (an Activity "
            "Streams OrderedCollectionPage), Turtle, N-Triples, CSV or HTML")
async def get_collection(kind: str, request: Request) -> Response:
    params = dict(request.query_params)
    params.pop("format", None)
    page, size = parse_int(params.pop("page", "1"), "page", 1, MAX_PAGE), parse_int(params.pop("size", "50"), "size", 1, 500)
    view = negotiate_view(request, COLLECTION_VIEWS, "a collection")
    result = await run_in_threadpool(kb_of(request).collection, kind, params, page, size)
    here = public_url(request)
    next_url = str(here.include_query_params(page=page + 1)) if result.has_next else None
    prev_url = str(here.include_query_params(page=page - 1)) if page > 1 else None
    etag = f'{result.etag[:-1]}-{view}"'
    links = [f'<{url}>; rel="{rel}"' for url, rel in ((next_url, "next"), (prev_url, "prev")) if url]
    headers = {"ETag": etag, "Vary": "Accept", **({"Link": ", ".join(links)} if links else {})}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    collection = str(public_url(request, f"/collections/{kind}"))
    body = result.document(str(here), collection, context_url(request), next_url, prev_url)
    text, media_type = await in_thread(render_page, result, body, view)
    return Response(text, media_type=media_type, headers=headers)


def render_page(page: Page, body: dict, view: str) -> tuple[str | bytes, str]:
    """A collection page in one view, as (body, media type); serialising is done in a worker thread."""
    if view == "jsonld":
        return json.dumps(body, indent=2, ensure_ascii=False), JSONLD
    if view == "csv":
        return page.csv(), "text/csv; charset=utf-8"
    if view == "html":
        return collection_html(body), "text/html; charset=utf-8"
    if view == "turtle":
        return ox.serialize(page.rdf(), format=ox.RdfFormat.TURTLE, prefixes=TURTLE_PREFIXES), "text/turtle; charset=utf-8"
    return ox.serialize(page.rdf(), format=ox.RdfFormat.N_TRIPLES), "application/n-triples; charset=utf-8"


def collection_html(body: dict) -> str:
    items = [{"id": item["id"], "label": str(item.get("label", item["id"])), "type": item.get("type", [])}
             for item in body["items"]]
    first = body["startIndex"] + 1 if body["items"] else 0
    here = {"systems": "/collections/systems", "owners": "/collections/owners"}.get(body["kind"], "")
    return render("collection.html", here=here, title=body["kind"], kind=body["kind"], items=items, first=first,
                  last=body["startIndex"] + len(body["items"]), total=body["totalItems"],
                  prev=_local_url(body.get("prev")), next=_local_url(body.get("next")))


def _local_url(url: str | None) -> str | None:
    """A page link relative to this server: the document's links are under the base URL, which a browser behind
    another name may not reach."""
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def _import(request: Request, replace: bool) -> Response:
    require_write_token(request)
    graph = parse_iri(request.query_params.get("graph", DATA_GRAPH_PREFIX + "imported"), "the graph parameter")
    refuse_protected(graph)
    triples, described = await parse_in_thread(parse_import, await read_body(request), "the request body")
    result = await run_in_threadpool(kb_of(request).import_triples, graph, triples, described, replace)
    body = result.as_json()
    return JSONResponse({"graph": graph, "triples": len(triples), "inserted": result.inserted,
                         "deleted": result.deleted, "newFindings": body["newFindings"],
                         **rewrites_json(list(result.rewritten))},
                        status_code=201 if result.inserted else 200)


@router.post("/import", summary="Merge a JSON-LD document into a named graph, through the governance gate",
             openapi_extra=schemas.IMPORT, responses={201: {"model": schemas.ImportResult, "description": "imported"},
                                                      200: {"model": schemas.ImportResult, "description": "nothing new"},
                                                      **schemas.errors(*schemas.WRITE_ERRORS)})
async def import_jsonld(request: Request) -> Response:
    return await _import(request, replace=False)


@router.put("/import", openapi_extra=schemas.IMPORT, responses={
    201: {"model": schemas.ImportResult, "description": "imported"},
    200: {"model": schemas.ImportResult, "description": "replaced (or nothing new)"},
    **schemas.errors(*schemas.WRITE_ERRORS)},
            summary="Import a JSON-LD document, replacing the description of every resource it "
                               "describes, through the governance gate")
async def replace_jsonld(request: Request) -> Response:
    return await _import(request, replace=True)


@router.get("/changes", summary="The change feed: every accepted write after a cursor, oldest first (Activity Streams)",
            openapi_extra={"parameters": [
                schemas.query_parameter("after", "the number of the last change the tool has seen (0: from the start)",
                                        {"type": "integer", "minimum": 0, "default": 0}, example=0),
                schemas.query_parameter("size", "changes per page", {"type": "integer", "minimum": 1, "maximum": 500,
                                                                     "default": 100}, example=100)]},
            responses={200: {"model": schemas.ChangePage}, 410: {"model": schemas.ErrorBody, "description":
                             "the cursor is older than the changes kept: resync from a full read"},
                       **schemas.errors(400)})
async def get_changes(request: Request) -> Response:
    after = parse_int(request.query_params.get("after", "0"), "after", 0, 2 ** 62)
    size = parse_int(request.query_params.get("size", "100"), "size", 1, 500)
    kb = kb_of(request)
    changes, more = await run_in_threadpool(kb.changes_after, after, size)
    here, base = public_url(request), base_url(request)
    items = [{"id": f"{base}/changes/{c.number}", "type": [c.kind], "number": c.number, "published": c.time,
              "via": c.actor, "object": c.resources, "target": c.graphs, "added": c.added, "removed": c.removed,
              "complete": c.complete} for c in changes]
    last = changes[-1].number if changes else after
    body = {"@context": context_url(request), "id": str(here), "type": ["OrderedCollectionPage"], "kind": "changes",
            "partOf": f"{base}/changes", "totalItems": len(items), "startIndex": after, "cursor": last,
            "items": items}
    if more:
        body["next"] = str(here.include_query_params(after=last))
    etag = f'"changes-{after}-{last}-{size}"'
    headers = {"ETag": etag, **({"Link": f'<{body["next"]}>; rel="next"'} if more else {})}
    if not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return JSONResponse(body, media_type=JSONLD, headers=headers)
