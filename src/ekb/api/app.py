"""The FastAPI application: wiring only; each group of routes lives in its own module."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, RedirectResponse

from ekb import __version__
from ekb.api import governance, graph_store, linked_data, queries, sparql
from ekb.errors import EkbError
from ekb.kb import KnowledgeBase


def create_app(kb: KnowledgeBase) -> FastAPI:
    app = FastAPI(
        title="ekb: enterprise knowledge base",
        version=__version__,
        description="SPARQL, governance reports and JSON-LD over the Quantum Energy knowledge graph.",
    )
    app.state.kb = kb
    if kb.settings.cors:  # browser tools on other origins (YASGUI, notebooks); writes still need the token
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["*"], expose_headers=["ETag", "Link", "Last-Modified"])

    @app.exception_handler(EkbError)
    async def ekb_error(_: Request, err: EkbError) -> JSONResponse:
        body = {"error": type(err).__name__, "message": str(err), **(err.details or {})}
        headers = {"WWW-Authenticate": "Bearer"} if err.http_status == 401 else None
        return JSONResponse(body, status_code=err.http_status, headers=headers)

    @app.get("/health", tags=["service"], summary="Is the knowledge base up, and what does it hold?")
    def health() -> dict:
        return {"status": "ok", "version": __version__, "backend": kb.backend,
                "graphs": len(kb.store.graphs()), "triples": kb.store.count()}

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/sparql")

    app.include_router(sparql.router)
    app.include_router(queries.router)
    app.include_router(graph_store.router)
    app.include_router(governance.router)
    app.include_router(linked_data.router)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            app.openapi_schema = queries.library_openapi(schema, kb.library.queries)
        return app.openapi_schema

    app.openapi = openapi
    return app
