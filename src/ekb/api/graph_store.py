"""The SPARQL 1.1 Graph Store HTTP Protocol at /store (indirect identification: ?graph=IRI or ?default).

https://www.w3.org/TR/sparql11-http-rdf-update/ . Writes need the write token; every write is one atomic
update, so a failed one leaves the store as it was. The graphs `ekb load` derives (ontology, shapes, inferred,
history, staging) are read-only here.
"""

from __future__ import annotations

import pyoxigraph as ox
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ekb.api.protocol import (
    NotAcceptable,
    UnsupportedMediaType,
    kb_of,
    media_type_of,
    parse_iri,
    parse_rdf,
    read_body,
    refuse_protected,
    require_write_token,
    write_response,
)
from ekb.errors import InputError, NotFound
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, by_name, negotiate
from ekb.gate import Delta

router = APIRouter(tags=["graph store"])


def target_graph(request: Request) -> str:
    params = request.query_params
    if "default" in params and "graph" in params:
        raise InputError("give either ?graph=IRI or ?default, not both")
    if "default" in params:
        raise InputError("the default graph is the read-only union of all graphs here: name a graph with ?graph=IRI")
    graph = params.get("graph")
    if not graph:
        raise InputError("name the graph with ?graph=IRI")
    return parse_iri(graph, "the graph parameter")


def writable_graph(request: Request) -> str:
    """The target of a write: a valid IRI, and not one of the graphs only `ekb load` may change."""
    graph = target_graph(request)
    refuse_protected(graph)
    return graph


@router.get("/store", summary="Get a named graph")
def get_graph(request: Request) -> Response:
    kb = kb_of(request)
    graph = target_graph(request)
    fmt = negotiate(request.headers.get("accept"), GRAPH_FORMATS)
    if fmt is None:
        raise NotAcceptable("a graph is available as " + ", ".join(f.media_type for f in GRAPH_FORMATS))
    if not kb.has_graph(graph):
        raise NotFound(f"no graph named <{graph}> (GET /sparql?query=SELECT DISTINCT ?g {{GRAPH ?g {{?s ?p ?o}}}} "
                       "lists the graphs)")
    return Response(kb.export(fmt, graph), media_type=fmt.media_type, headers={"Vary": "Accept"})


async def _payload(request: Request) -> list[ox.Triple]:
    """The request's RDF document, parsed in a worker thread."""
    media_type = media_type_of(request)
    fmt = by_name(media_type, GRAPH_FORMATS) or by_name(media_type, DATASET_FORMATS)
    if fmt is None:
        raise UnsupportedMediaType(f"unsupported Content-Type {media_type or '(none)'}: send one of "
                                   + ", ".join(f.media_type for f in GRAPH_FORMATS))
    return await parse_rdf(await read_body(request), fmt.media_type)


@router.put("/store", summary="Replace a named graph", status_code=204)
async def put_graph(request: Request) -> Response:
    require_write_token(request)
    kb, graph = kb_of(request), writable_graph(request)
    triples = await _payload(request)
    result, existed = await run_in_threadpool(kb.replace_graph, graph, triples)
    return write_response(result) if existed else Response(status_code=201)


@router.post("/store", summary="Add triples to a named graph", status_code=204)
async def post_graph(request: Request) -> Response:
    require_write_token(request)
    kb, graph = kb_of(request), writable_graph(request)
    existed = await run_in_threadpool(kb.has_graph, graph)
    delta = Delta(graph, added=tuple(await _payload(request)))
    result = await run_in_threadpool(kb.apply, delta)
    return write_response(result) if existed else Response(status_code=201)


@router.delete("/store", summary="Delete a named graph", status_code=204)
async def delete_graph(request: Request) -> Response:
    require_write_token(request)
    kb, graph = kb_of(request), writable_graph(request)
    result = await run_in_threadpool(kb.drop_graph, graph)
    return write_response(result)
