"""The curated query library over HTTP: `/queries` lists it, `/queries/{name}` runs one.

Each query also gets its own path in the OpenAPI document (see `library_openapi`), with its parameters,
so clients generated from OpenAPI call them by name.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ekb.api.protocol import answer_query, kb_of, result_formats
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
    base = str(request.base_url)
    return JSONResponse([describe(q, base) for q in kb_of(request).library.queries.values()])


@router.get("/queries/{name}", summary="Run a curated query by name", include_in_schema=False)
async def run_query(name: str, request: Request) -> Response:
    kb = kb_of(request)
    query = kb.library.get(name)
    values = {k: v for k, v in request.query_params.items() if k not in ("format", "page")}
    page_text = request.query_params.get("page")
    page = int(page_text) if page_text and page_text.isdigit() else None
    formats = result_formats(request, request.query_params.get("format"))
    text = query.bind(values, page)  # bad parameters are refused before anything runs
    response = await answer_query(request, lambda s, g: kb.sparql(text, s, g), formats)
    if query.pagination:
        response.headers["Link"] = pagination_links(request, page or 1)
    return response


def pagination_links(request: Request, page: int) -> str:
    links = [f'<{request.url.include_query_params(page=page + 1)}>; rel="next"']
    if page > 1:
        links.append(f'<{request.url.include_query_params(page=page - 1)}>; rel="prev"')
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
                     "description": f"{p.kind} parameter (SPARQL variable ?{p.variable})"}
            if p.name in query.example:
                entry["example"] = query.example[p.name]
            parameters.append(entry)
        if query.pagination:
            parameters.append({"name": "page", "in": "query", "required": False,
                               "schema": {"type": "integer", "minimum": 1, "default": 1}})
        parameters.append({"name": "format", "in": "query", "required": False,
                           "schema": {"type": "string", "enum": ["json", "xml", "csv", "tsv"]},
                           "description": "result format, instead of the Accept header"})
        schema["paths"][f"/queries/{query.name}"] = {"get": {
            "tags": ["curated queries"] + query.tags, "summary": query.summary, "description": query.description,
            "operationId": f"query_{query.name.replace('-', '_')}", "parameters": parameters,
            "responses": {"200": {"description": "SPARQL results", "content": {
                "application/sparql-results+json": {}, "application/sparql-results+xml": {}, "text/csv": {},
                "text/tab-separated-values": {}}},
                "400": {"description": "a parameter is missing or not valid"}}}}
    return schema
