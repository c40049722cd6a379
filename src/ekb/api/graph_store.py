"""The SPARQL 1.1 Graph Store HTTP Protocol at /store: https://www.w3.org/TR/sparql11-http-rdf-update/ .

A graph is named indirectly (`/store?graph=IRI`, `/store?default`) or directly (`/store/any/path` names the graph
whose IRI is that URL under the public base URL). `?default` is the Graph Store's unnamed graph of facts: here the
data graph `graph/data/default`, validated and reasoned over like any other (the SPARQL default graph stays the
union of all graphs, which includes it). `POST /store` with no graph creates a new graph and answers `201` with
its IRI in `Location`. GET and HEAD read; PUT replaces, POST adds (an RDF document, or multipart/form-data with
one document per part), DELETE drops. Writes need the write token and pass the governance gate; each is one
atomic update, so a failed one leaves the store as it was. The graphs `ekb load` derives (ontology, shapes,
inferred, history, staging) are read-only here.
"""

from __future__ import annotations

import uuid

import pyoxigraph as ox
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ekb.api import schemas
from ekb.api.protocol import (
    NotAcceptable,
    UnsupportedMediaType,
    base_url,
    kb_of,
    media_type_of,
    parse_iri,
    parse_multipart,
    parse_rdf,
    read_body,
    refuse_protected,
    require_write_token,
    write_response,
)
from ekb.config import DEFAULT_DATA_GRAPH
from ekb.errors import InputError, NotFound
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, by_name, for_file, negotiate
from ekb.gate import Delta

router = APIRouter(tags=["graph store"])
ROOT = "/store"


def direct_iri(request: Request, path: str) -> str:
    """The IRI a direct request names: its own URL under the public base URL (never the Host header)."""
    return parse_iri(f"{base_url(request)}{ROOT}/{path}", "the graph's URL")


def target_graph(request: Request, path: str = "") -> str | None:
    """The graph a request names (direct path, ?graph=IRI or ?default), or None when it names none."""
    params = request.query_params
    given = [name for name in ("graph", "default") if name in params] + (["a path under /store"] if path else [])
    if len(given) > 1:
        raise InputError(f"name the graph one way only (got {' and '.join(given)}): ?graph=IRI, ?default or "
                         "a path under /store")
    if path:
        return direct_iri(request, path)
    if "default" in params:
        return DEFAULT_DATA_GRAPH
    if "graph" in params:
        return parse_iri(params["graph"], "the graph parameter")
    return None


def named_graph(request: Request, path: str) -> str:
    graph = target_graph(request, path)
    if graph is None:
        raise InputError("name the graph: ?graph=IRI, ?default, or a path under /store")
    return graph


def writable_graph(request: Request, path: str) -> str:
    """The target of a write: a valid IRI, and not one of the graphs only `ekb load` may change."""
    graph = named_graph(request, path)
    refuse_protected(graph)
    return graph


async def read_graph(request: Request, path: str = "") -> Response:
    kb = kb_of(request)
    graph = target_graph(request, path)
    accept = request.headers.get("accept")
    if graph is None:  # the whole store, with its graph names
        fmt = negotiate(accept, DATASET_FORMATS)
        if fmt is None:
            raise NotAcceptable("the store is available as " + ", ".join(f.media_type for f in DATASET_FORMATS))
        body = await run_in_threadpool(kb.export, fmt)
        return Response(body, media_type=f"{fmt.media_type}; charset=utf-8", headers={"Vary": "Accept"})
    fmt = negotiate(accept, GRAPH_FORMATS)
    if fmt is None:
        raise NotAcceptable("a graph is available as " + ", ".join(f.media_type for f in GRAPH_FORMATS))
    if not await run_in_threadpool(kb.has_graph, graph):
        raise NotFound(f"no graph named <{graph}> (GET /sparql?query=SELECT DISTINCT ?g {{GRAPH ?g {{?s ?p ?o}}}} "
                       "lists the graphs)")
    body = await run_in_threadpool(kb.export, fmt, graph)
    return Response(body, media_type=f"{fmt.media_type}; charset=utf-8", headers={"Vary": "Accept"})


async def _document(request: Request, graph: str) -> list[ox.Triple]:
    """The request's RDF: one document, or every part of a multipart/form-data body; parsed in a worker thread,
    relative IRIs resolved against the graph's IRI."""
    media_type = media_type_of(request)
    if media_type == "multipart/form-data":
        return await _multipart(request, graph)
    fmt = by_name(media_type, GRAPH_FORMATS) or by_name(media_type, DATASET_FORMATS)
    if fmt is None:
        raise UnsupportedMediaType(f"unsupported Content-Type {media_type or '(none)'}: send one of "
                                   + ", ".join(f.media_type for f in GRAPH_FORMATS) + " or multipart/form-data")
    return await parse_rdf(await read_body(request), fmt.media_type, base_iri=graph)


async def _multipart(request: Request, graph: str) -> list[ox.Triple]:
    """Each part of the form is an RDF document (its Content-Type, else its file name, says which format)."""
    body = await read_body(request)
    parts = await run_in_threadpool(parse_multipart, body, request.headers.get("content-type", ""), None)
    if not parts:
        raise InputError("the multipart/form-data body has no part")
    triples: list[ox.Triple] = []
    for part in parts.values():
        fmt = (by_name((part.content_type or "").split(";")[0].strip(), GRAPH_FORMATS)
               or for_file(part.filename or ""))
        if fmt is None:
            raise UnsupportedMediaType(f"the form part {part.name!r} has no RDF Content-Type or file name "
                                       f"({part.content_type or 'none'})")
        triples += await parse_rdf(part.data, fmt.media_type, f"the form part {part.name!r}", base_iri=graph)
    return triples


async def replace_graph(request: Request, path: str = "") -> Response:
    require_write_token(request)
    kb, graph = kb_of(request), writable_graph(request, path)
    triples = await _document(request, graph)
    result, existed = await run_in_threadpool(kb.replace_graph, graph, triples)
    return write_response(result, 200 if existed else 201)


async def add_to_graph(request: Request, path: str = "") -> Response:
    require_write_token(request)
    kb = kb_of(request)
    graph = target_graph(request, path)
    created = graph is None
    if created:  # the protocol's graph creation: a new graph under /store, its IRI in Location
        graph = direct_iri(request, uuid.uuid4().hex)
    refuse_protected(graph)
    existed = False if created else await run_in_threadpool(kb.has_graph, graph)
    delta = Delta(graph, added=tuple(await _document(request, graph)))
    result = await run_in_threadpool(kb.apply, delta)
    return write_response(result, 200 if existed else 201, {"Location": graph} if created else None)


async def drop_graph(request: Request, path: str = "") -> Response:
    require_write_token(request)
    kb, graph = kb_of(request), writable_graph(request, path)
    return write_response(await run_in_threadpool(kb.drop_graph, graph))


# Indirect identification (and the store itself) at /store; direct identification below it.
READ = {"openapi_extra": schemas.GRAPH_READ, "responses": {
    200: {"description": "the graph (or, with no graph named, the whole store)", "content": schemas.RDF_CONTENT},
    **schemas.errors(400, 404, 406)}}
WRITE = {"openapi_extra": schemas.GRAPH_WRITE, "responses": {
    200: {"model": schemas.WriteResult, "description": "written, with warnings, infos or rewritten literals to report"},
    201: {"description": "the graph was created (POST with no graph named: its IRI in Location)"},
    204: {"description": "written, nothing to report"}, **schemas.errors(*schemas.WRITE_ERRORS, 404)}}
DROP = {"openapi_extra": schemas.GRAPH_READ, "responses": {204: {"description": "dropped"},
                                                           **schemas.errors(*schemas.WRITE_ERRORS, 404)}}
for path in (ROOT, ROOT + "/{path:path}"):
    named = "the graph this URL names" if path != ROOT else "a graph (?graph=IRI or ?default)"
    router.add_api_route(path, read_graph, methods=["GET"], summary=f"Get {named}" + (
        ", or the whole store as TriG/N-Quads" if path == ROOT else ""), **READ)
    router.add_api_route(path, replace_graph, methods=["PUT"], summary=f"Replace {named}", **WRITE)
    router.add_api_route(path, add_to_graph, methods=["POST"], summary=f"Add triples to {named}" + (
        "; with no graph named, create a new one (201 Created, Location)" if path == ROOT else ""), **WRITE)
    router.add_api_route(path, drop_graph, methods=["DELETE"], summary=f"Delete {named}", **DROP)
