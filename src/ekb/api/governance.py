"""Governance over HTTP: the report (negotiated), a dry-run validation of a proposed change, the history."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ekb.api.protocol import NotAcceptable, UnsupportedMediaType, kb_of, media_type_of, read_body
from ekb.config import DATA_GRAPH_PREFIX
from ekb.errors import InputError
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, by_name
from ekb.governance import Delta, check_change, history
from ekb.loader import parse_bytes
from ekb.report import MEDIA_TYPES, render

router = APIRouter(tags=["governance"])
PROPOSED_GRAPH = DATA_GRAPH_PREFIX + "proposed"
REPORT_TYPES = {"text/html": "html", "application/json": "json", "text/turtle": "turtle", "text/csv": "csv",
                "text/plain": "text"}


def report_format(request: Request) -> str:
    override = request.query_params.get("format")
    if override:
        if override not in MEDIA_TYPES:
            raise NotAcceptable(f"unknown report format {override!r}; choose one of {', '.join(MEDIA_TYPES)}")
        return override
    import mimeparse

    accept = request.headers.get("accept") or "application/json"
    best = mimeparse.best_match(list(reversed(list(REPORT_TYPES))), accept)
    if not best:
        raise NotAcceptable("the report is available as " + ", ".join(REPORT_TYPES))
    return REPORT_TYPES[best]


@router.get("/governance/report", summary="Validate the knowledge base now: HTML, JSON, Turtle (sh:ValidationReport) or CSV")
async def governance_report(request: Request) -> Response:
    fmt = report_format(request)
    group = request.query_params.get("group", "rule")
    if group not in ("rule", "owner"):
        raise InputError("group must be 'rule' or 'owner'")
    report = await run_in_threadpool(kb_of(request).validate)
    media_type = MEDIA_TYPES[fmt] + ("; charset=utf-8" if fmt != "json" else "")
    return Response(render(report, fmt, group), media_type=media_type, headers={"Vary": "Accept"})


async def _proposed_change(request: Request):
    """The change a client proposes: an RDF document to add (into ?graph=, default data/proposed),
    a multipart form with `add` and `remove` parts, or a SPARQL Update."""
    media_type = media_type_of(request)
    graph = request.query_params.get("graph", PROPOSED_GRAPH)
    if media_type == "application/sparql-update":
        text = (await read_body(request)).decode("utf-8")
        return lambda store: store.update(text)
    if media_type == "multipart/form-data":
        form = await request.form()
        fmt = str(form.get("format") or "text/turtle")
        parts = {}
        for name in ("add", "remove"):
            value = form.get(name)
            if value is not None:
                raw = await value.read() if hasattr(value, "read") else str(value).encode()
                parts[name] = parse_bytes(raw, fmt, f"the '{name}' part")
        if not parts:
            raise InputError("the form needs an 'add' part, a 'remove' part or both")
        return Delta(graph, tuple(parts.get("add", [])), tuple(parts.get("remove", []))).apply
    fmt = by_name(media_type, GRAPH_FORMATS) or by_name(media_type, DATASET_FORMATS)
    if fmt is None:
        raise UnsupportedMediaType(f"unsupported Content-Type {media_type or '(none)'}: send RDF (Turtle, JSON-LD, ...), "
                                   "multipart/form-data with add/remove, or application/sparql-update")
    triples = parse_bytes(await read_body(request), fmt.media_type, "request body")
    return Delta(graph, tuple(triples)).apply


@router.post("/governance/validate", summary="Dry run: what would the store plus this change violate? Nothing is stored")
async def validate_change(request: Request) -> JSONResponse:
    change = await _proposed_change(request)
    result = await run_in_threadpool(check_change, kb_of(request).store, change)
    return JSONResponse(result.as_json())


@router.get("/governance/history", summary="Every recorded report run, oldest first, with its counts")
def governance_history(request: Request) -> JSONResponse:
    return JSONResponse(history(kb_of(request).store))
