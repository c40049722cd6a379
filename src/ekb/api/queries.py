"""The curated query library over HTTP: `/queries` lists it, `/queries/{name}` runs one.

Each query also gets its own path in the OpenAPI document (see `library_openapi`), with its parameters,
so clients generated from OpenAPI call them by name.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from ekb.api.protocol import (
    MAX_PAGE,
    answer_query,
    base_url,
    engine_errors,
    in_thread,
    kb_of,
    parse_int,
    prefers_html,
    public_url,
    result_formats,
)
from ekb.api.schemas import ERROR_STATUS
from ekb.config import BASE_IRI
from ekb.formats import SOLUTION_FORMATS
from ekb.library import NamedQuery

router = APIRouter(tags=["curated queries"])


def describe(query: NamedQuery, base: str) -> dict:
    return {
        "name": query.name, "summary": query.summary, "description": query.description, "tags": query.tags,
        "method": query.method, "url": f"{base}queries/{query.name}", "pagination": query.pagination,
        "parameters": [{"name": p.name, "required": p.required, "kind": p.kind, "datatype": p.datatype,
                        "language": p.language, "default": p.default, "enum": list(p.enum) or None}
                       for p in query.parameters],
        "example": query.example or None,
    }


@router.get("/queries", summary="List the curated queries with their parameters")
def list_queries(request: Request) -> JSONResponse:
    base = base_url(request) + "/"
    return JSONResponse([describe(q, base) for q in kb_of(request).library.queries.values()])


@router.get("/queries/{name}", summary="Run a curated query by name", include_in_schema=False)
async def run_query(name: str, request: Request) -> Response:
    kb = kb_of(request)
    query = kb.library.get(name)
    values = {k: v for k, v in request.query_params.items() if k not in ("format", "page")}
    page_text = request.query_params.get("page")
    page = parse_int(page_text, "page", 1, MAX_PAGE) if page_text is not None else None
    text = query.bind(values, page)  # bad parameters are refused before anything runs
    if request.query_params.get("format") == "html" or (
            "format" not in request.query_params and prefers_html(request, [f.media_type for f in SOLUTION_FORMATS])):
        as_json = await answer_query(request, lambda s, g: kb.sparql(text, s, g), (SOLUTION_FORMATS[0], None))
        response = HTMLResponse(await in_thread(results_page, query, values, as_json.body))
        response.headers["Vary"] = "Accept"
    else:
        formats = result_formats(request, request.query_params.get("format"))
        response = await answer_query(request, lambda s, g: kb.sparql(text, s, g), formats)
    if query.pagination:
        probe = query.bind(values, page, probe_next=True)
        with engine_errors():
            following = await run_in_threadpool(kb.sparql, probe)
        links = pagination_links(request, page or 1, bool(json.loads(following.body)["results"]["bindings"]))
        if links:
            response.headers["Link"] = links
    return response


def _cell(term: dict | None) -> str:
    if term is None:
        return ""
    value = term["value"]
    if term["type"] == "uri":
        href = "/" + value[len(BASE_IRI):] if value.startswith(BASE_IRI) else value
        return f'<a href="{escape(href)}">{escape(value.rsplit("/", 1)[-1])}</a>'
    return escape(value)


def results_page(query: NamedQuery, values: dict[str, str], body: bytes) -> str:
    """A curated query's answer as a table a person reads, each resource linking to its own page."""
    results = json.loads(body)
    names = results["head"].get("vars", [])
    rows = results.get("results", {}).get("bindings", [])
    head = "".join(f"<th>{escape(n)}</th>" for n in names)
    cells = "".join("<tr>" + "".join(f"<td>{_cell(row.get(n))}</td>" for n in names) + "</tr>" for row in rows)
    given = ", ".join(f"{escape(k)} = {escape(v)}" for k, v in values.items()) or "none"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(query.summary)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:80rem;margin:2rem auto;padding:0 1rem;color:#1d2330}}
table{{border-collapse:collapse;width:100%;font-size:.92rem}}td,th{{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #e3e7ef;vertical-align:top}}.meta{{color:#5b6475}}</style></head><body>
<p><a href="/sparql">SPARQL</a> · <a href="/queries">curated queries</a> · <a href="/docs">API</a></p>
<h1>{escape(query.summary)}</h1><p>{escape(query.description)}</p>
<p class="meta">Parameters: {given}. {len(rows)} row{"s" if len(rows) != 1 else ""}. Also as
<a href="?{escape(_query_string(values, "csv"))}">CSV</a> and <a href="?{escape(_query_string(values, "json"))}">JSON</a>.</p>
<table><tr>{head}</tr>{cells}</table></body></html>"""


def _query_string(values: dict[str, str], fmt: str) -> str:
    return urlencode({**values, "format": fmt})


def pagination_links(request: Request, page: int, has_next: bool) -> str:
    """RFC 8288 links to the next page (only if a row follows this one: a client that follows `next` stops)
    and the previous one, under the configured base URL."""
    here = public_url(request)
    links = [f'<{here.include_query_params(page=page + 1)}>; rel="next"'] if has_next else []
    if page > 1:
        links.append(f'<{here.include_query_params(page=page - 1)}>; rel="prev"')
    return ", ".join(links)


JSON_SCHEMA_OF = {"integer": "integer", "decimal": "number", "double": "number", "boolean": "boolean"}


def library_openapi(schema: dict, queries: dict[str, NamedQuery]) -> dict:
    """Add one OpenAPI path per curated query, with typed parameters and an example."""
    for query in queries.values():
        parameters = []
        for p in query.parameters:
            short = (p.datatype or "").rsplit("#", 1)[-1]
            param_schema: dict = {"type": JSON_SCHEMA_OF.get(short, "string")}
            if p.kind == "iri":
                param_schema["format"] = "iri"
            elif short in ("date", "dateTime"):
                param_schema["format"] = "date" if short == "date" else "date-time"
            if p.enum:
                param_schema["enum"] = list(p.enum)
            if p.default is not None:
                param_schema["default"] = p.default
            entry = {"name": p.name, "in": "query", "required": p.required, "schema": param_schema,
                     "description": parameter_description(p)}
            example = query.example.get(p.name, p.default if p.default is not None else (p.enum or [None])[0])
            if example is not None:
                entry["example"] = example
            parameters.append(entry)
        if query.pagination:
            parameters.append({"name": "page", "in": "query", "required": False, "example": 1,
                               "description": f"the page of results ({query.pagination} rows each), from 1",
                               "schema": {"type": "integer", "minimum": 1, "default": 1}})
        parameters.append({"name": "format", "in": "query", "required": False,
                           "schema": {"type": "string", "enum": ["json", "xml", "csv", "tsv", "html"]},
                           "description": "result format, instead of the Accept header"})
        schema["paths"][f"/queries/{query.name}"] = {"get": {
            "tags": ["curated queries"] + query.tags, "summary": query.summary, "description": query.description,
            "operationId": f"query_{query.name.replace('-', '_')}", "parameters": parameters,
            "responses": {"200": {"description": "SPARQL results", "content": {
                "application/sparql-results+json": {"schema": {"$ref": "#/components/schemas/SparqlResults"}},
                "application/sparql-results+xml": {}, "text/csv": {}, "text/tab-separated-values": {},
                "text/html": {}}},
                **{str(status): {"description": ERROR_STATUS[status], "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ErrorBody"}}}} for status in (400, 406, 503)}}}}
    return schema


KIND_WORDS = {"iri": "an IRI, or the slug of one under https://kb.quantum-energy.example/id/",
              "literal": "text", "integer": "a whole number", "decimal": "a number", "boolean": "true or false",
              "date": "a date (YYYY-MM-DD)"}


def parameter_description(p) -> str:
    """What to send, in words a person reads (the SPARQL variable it binds is the query's business)."""
    short = (p.datatype or "").rsplit("#", 1)[-1]
    kind = KIND_WORDS.get(short) or KIND_WORDS.get(p.kind, p.kind)
    words = p.name.replace("_", " ").replace("-", " ")
    return (f"the {words}" if words == kind else f"the {words}: {kind}") + (f"; one of {', '.join(p.enum)}" if p.enum else "") + (
        "" if p.required else " (optional)")
