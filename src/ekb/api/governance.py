"""Governance over HTTP: the report (negotiated), a dry-run validation of a proposed change, the history.

Reading the report never writes: GET validates without recording; POST (with the write token) records the run
in the history graph."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from ekb.api import schemas
from ekb.api.protocol import (
    UnsupportedMediaType,
    engine_errors,
    in_thread,
    kb_of,
    media_type_of,
    multipart_parts,
    negotiate_view,
    parse_iri,
    parse_rdf,
    read_body,
    read_text,
    request_base,
    require_write_token,
)
from ekb.config import DATA_GRAPH_PREFIX
from ekb.console import render as render_page
from ekb.errors import InputError
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, by_name
from ekb.gate import Delta
from ekb.report import MEDIA_TYPES, render

router = APIRouter(tags=["governance"])
PROPOSED_GRAPH = DATA_GRAPH_PREFIX + "proposed"
REPORT_TYPES = {media_type: name for name, media_type in MEDIA_TYPES.items()}  # JSON first: the default


def _report_options(request: Request) -> tuple[str, str]:
    fmt = negotiate_view(request, REPORT_TYPES, "the report")
    group = request.query_params.get("group", "rule")
    if group not in ("rule", "owner"):
        raise InputError("group must be 'rule' or 'owner'")
    return fmt, group


async def _report(request: Request, record: bool) -> Response:
    fmt, group = _report_options(request)
    kb = kb_of(request)
    # a view reads the kept result (redone only after a write); a recorded run always validates anew
    produce = (lambda: kb.validate(record=True)) if record else kb.current_report
    body = await in_thread(lambda: render(produce(), fmt, group))
    media_type = MEDIA_TYPES[fmt] + ("; charset=utf-8" if fmt != "json" else "")
    return Response(body, media_type=media_type, headers={"Vary": "Accept"})


@router.get("/governance/report", openapi_extra=schemas.REPORT_OPTIONS, responses={
    200: {"model": schemas.Report, "content": schemas.REPORT_TYPES}, **schemas.errors(406, 503)},
            summary="The governance report of the store as it is now (nothing is recorded): HTML, JSON, "
                                          "Turtle (sh:ValidationReport) or CSV")
async def governance_report(request: Request) -> Response:
    return await _report(request, record=False)


@router.post("/governance/report", openapi_extra=schemas.REPORT_OPTIONS, responses={
    200: {"model": schemas.Report, "content": schemas.REPORT_TYPES}, **schemas.errors(401, 406, 503)},
             summary="Validate the knowledge base and record the run in the governance history "
                                           "(needs the write token)")
async def record_governance_report(request: Request) -> Response:
    require_write_token(request)
    return await _report(request, record=True)


async def _sparql_change(request: Request):
    text, base = await read_text(request), request_base(request)
    # guarded, trialled in a worker process under the time limit, then validated: as a real update is
    return lambda kb: kb.dry_run_update(text, base)


async def _form_change(request: Request, graph: str):
    parts = await multipart_parts(request, allowed=("add", "remove", "format"), small=("format",))
    fmt = parts["format"].data.decode("utf-8", "replace").strip() if "format" in parts else "text/turtle"
    triples = {name: await parse_rdf(parts[name].data, fmt, f"the '{name}' part")
               for name in ("add", "remove") if name in parts}
    if not triples:
        raise InputError("the form needs an 'add' part, a 'remove' part or both")
    delta = Delta(graph, tuple(triples.get("add", [])), tuple(triples.get("remove", [])))
    return lambda kb: kb.dry_run(delta)


async def _proposed_change(request: Request):
    """The dry run of the change a client proposes, as a call on the knowledge base: an RDF document to add
    (into ?graph=, default data/proposed),
    a multipart form with `add` and `remove` parts (and an optional `format`), or a SPARQL Update.
    Every body is read under the size and time limits and parsed in a worker thread."""
    media_type = media_type_of(request)
    graph = parse_iri(request.query_params.get("graph", PROPOSED_GRAPH), "the graph parameter")
    if media_type == "application/sparql-update":
        return await _sparql_change(request)
    if media_type == "multipart/form-data":
        return await _form_change(request, graph)
    fmt = by_name(media_type, GRAPH_FORMATS) or by_name(media_type, DATASET_FORMATS)
    if fmt is None:
        raise UnsupportedMediaType(f"unsupported Content-Type {media_type or '(none)'}: send RDF (Turtle, JSON-LD, ...), "
                                   "multipart/form-data with add/remove, or application/sparql-update")
    delta = Delta(graph, tuple(await parse_rdf(await read_body(request), fmt.media_type)))
    return lambda kb: kb.dry_run(delta)


@router.post("/governance/validate", summary="Dry run: what would the store plus this change violate? Nothing is stored",
             openapi_extra=schemas.DRY_RUN, responses={200: {"model": schemas.DryRun},
                                                       **schemas.errors(400, 403, 408, 413, 415, 503)})
async def validate_change(request: Request) -> JSONResponse:
    dry_run = await _proposed_change(request)
    with engine_errors():
        result = await run_in_threadpool(dry_run, kb_of(request))
    return JSONResponse(result.as_json())


@router.get("/governance/history", summary="Every recorded report run, oldest first, with its counts",
            response_model=list[schemas.HistoryRun])
def governance_history(request: Request) -> Response:
    runs = kb_of(request).history()
    if negotiate_view(request, HISTORY_VIEWS, "the history") == "html":
        return HTMLResponse(render_page("history.html", here="/governance", title="Governance history", runs=runs),
                            headers={"Vary": "Accept"})
    return JSONResponse(runs, headers={"Vary": "Accept"})


HISTORY_VIEWS = {"application/json": "json", "text/html": "html"}  # the runs for programs, a page for a browser
