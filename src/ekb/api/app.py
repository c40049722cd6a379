"""The FastAPI application: wiring only; each group of routes lives in its own module."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from ekb import __version__
from ekb.errors import EkbError
from ekb.kb import KnowledgeBase


def create_app(kb: KnowledgeBase) -> FastAPI:
    app = FastAPI(
        title="ekb: enterprise knowledge base",
        version=__version__,
        description="SPARQL, governance reports and JSON-LD over the Quantum Energy knowledge graph.",
    )
    app.state.kb = kb

    @app.exception_handler(EkbError)
    async def ekb_error(_: Request, err: EkbError) -> JSONResponse:
        return JSONResponse({"error": type(err).__name__, "message": str(err)}, status_code=err.http_status)

    @app.get("/health", tags=["service"], summary="Is the knowledge base up, and what does it hold?")
    def health() -> dict:
        return {"status": "ok", "version": __version__, "backend": kb.backend,
                "graphs": len(kb.store.graphs()), "triples": kb.store.count()}

    return app
