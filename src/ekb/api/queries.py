"""The curated query library over HTTP: `/queries` lists it, `/queries/{name}` runs one.

Each query also gets its own path in the OpenAPI document (see `library_openapi`), with its parameters,
so clients generated from OpenAPI call them by name.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from ekb.api.protocol import (
    MAX_PAGE,
    answer_query,
    base_url,
    in_thread,
    kb_of,
    negotiate_view,
    parse_int,
    prefers_html,
    public_url,
    result_formats,
)
from ekb.api.schemas import ERROR_STATUS
from ekb.console import render
from ekb.formats import SOLUTION_FORMATS, Format
from ekb.library import NamedQuery
from ekb.store import Answer

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


LIST_VIEWS = {"application/json": "json", "text/html": "html"}  # the list for programs, a page for a browser


@router.get("/queries", summary="List the curated queries with their parameters")
def list_queries(request: Request) -> Response:
    base = base_url(request) + "/"
    body = [describe(q, base) for q in kb_of(request).library.queries.values()]
    if negotiate_view(request, LIST_VIEWS, "the list of queries") == "html":
        return HTMLResponse(render("queries.html", here="/queries", title="Curated queries", queries=body),
                            headers={"Vary": "Accept"})
    return JSONResponse(body, headers={"Vary": "Accept"})


@router.get("/queries/{name}", summary="Run a curated query by name", include_in_schema=False)
async def run_query(name: str, request: Request) -> Response:
    kb = kb_of(request)
    query = kb.library.get(name)
    values = {k: v for k, v in request.query_params.items() if k not in ("format", "page")}
    page_text = request.query_params.get("page")
    page = parse_int(page_text, "page", 1, MAX_PAGE) if page_text is not None else None
    html = request.query_params.get("format") == "html" or (
        "format" not in request.query_params and prefers_html(request, [f.media_type for f in SOLUTION_FORMATS]))
    if html and _missing(query, values):  # a person opening the query: its form, filled with the example
        return HTMLResponse(results_page(query, {**query.example, **values}, None), headers={"Vary": "Accept"})
    formats = (SOLUTION_FORMATS[0], None) if html else result_formats(request, request.query_params.get("format"))
    text = query.bind(values, page, lookahead=True)  # bad parameters are refused before anything runs
    following = False

    def run(solution: Format, graph: Format) -> Answer:
        nonlocal following
        if not query.pagination:
            return kb.sparql(text, solution, graph)
        answer, following = query.page_of(kb.sparql(text, SOLUTION_FORMATS[0], graph), solution)
        return answer

    response = await answer_query(request, run, formats)
    if html:
        response = HTMLResponse(await in_thread(results_page, query, values, response.body, page or 1, following))
        response.headers["Vary"] = "Accept"
    if query.pagination:
        links = pagination_links(request, page or 1, following)
        if links:
            response.headers["Link"] = links
    return response


def _missing(query: NamedQuery, values: dict[str, str]) -> bool:
    """A required parameter has no value: nothing can run yet."""
    return any(p.required and not values.get(p.name) for p in query.parameters)


INPUTS = {"integer": ("number", "1"), "decimal": ("number", "any"), "double": ("number", "any"),
          "date": ("date", None), "dateTime": ("datetime-local", None)}


def form_fields(query: NamedQuery, values: dict[str, str]) -> list[dict]:
    """The form's inputs, typed from each parameter: a choice list from `#+ enumerate` (and for booleans), a
    number or date input from the datatype, text otherwise."""
    fields = []
    for p in query.parameters:
        short = (p.datatype or "").rsplit("#", 1)[-1]
        kind, step = INPUTS.get(short, ("url" if p.kind == "iri" else "text", None))
        choices = list(p.enum) or (["true", "false"] if short == "boolean" else [])
        fields.append({"name": p.name, "required": p.required, "choices": choices, "input": kind, "step": step,
                       "value": values.get(p.name, p.default or ""), "description": parameter_description(p),
                       "hint": query.example.get(p.name, "")})
    return fields


def results_page(query: NamedQuery, values: dict[str, str], body: bytes | None, page: int = 1,
                 has_next: bool = False) -> str:
    """A curated query's page: its form, its answer as a table a person reads (each resource linking to its own
    page), paging links and the SPARQL. Without `body`, the form alone (a required value is missing)."""
    context: dict = {"results": None}
    if body is not None:
        results = json.loads(body)
        context = {"results": results, "names": results["head"].get("vars", []),
                   "rows": results.get("results", {}).get("bindings", []),
                   "downloads": {fmt: "?" + _query_string(values, fmt) for fmt in ("csv", "tsv", "json", "xml")},
                   "page": page if query.pagination else None,
                   "prev": "?" + urlencode({**values, "page": page - 1}) if query.pagination and page > 1 else None,
                   "next": "?" + urlencode({**values, "page": page + 1}) if query.pagination and has_next else None}
    return render("query.html", here="/queries", title=query.summary or query.name, query=query,
                  fields=form_fields(query, values), **context)


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
