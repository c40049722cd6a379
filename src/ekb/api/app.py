"""The FastAPI application: wiring only; each group of routes lives in its own module."""

from __future__ import annotations

import gzip
import logging
from http import HTTPStatus

import anyio
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ekb import __version__
from ekb.api import console, governance, graph_store, linked_data, queries, schemas, sparql
from ekb.api.protocol import prefers_html
from ekb.console import STATIC_DIR, render
from ekb.errors import EkbError
from ekb.kb import KnowledgeBase
from ekb.linked_data import CONTEXT_VERSIONS

log = logging.getLogger("ekb.api")


class HeadAsGet:
    """HEAD wherever GET is served (RFC 9110 §9.3.2): routed as GET, answered with GET's status and headers
    (Content-Length included) and no body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class Gzip:
    """gzip for every whole response over 1 KiB whose client accepts it, compressed in a worker thread (a large
    SPARQL answer compressed on the event loop would stall every other request). Streamed responses pass as
    they are."""

    MIN_BYTES = 1024

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accepts = scope["type"] == "http" and any(
            name == b"accept-encoding" and b"gzip" in value.lower() for name, value in scope["headers"])
        if not accepts:
            await self.app(scope, receive, send)
            return
        start: Message | None = None

        async def compressing(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            pending, start = start, None
            body = message.get("body", b"")
            headers = MutableHeaders(raw=pending["headers"])
            if message.get("more_body") or len(body) < self.MIN_BYTES or "content-encoding" in headers:
                await send(pending)
                await send(message)
                return
            body = await anyio.to_thread.run_sync(gzip.compress, body, 6)
            headers["Content-Encoding"] = "gzip"
            headers["Content-Length"] = str(len(body))
            headers.add_vary_header("Accept-Encoding")
            await send(pending)
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await self.app(scope, receive, compressing)


def wants_html(request: Request) -> bool:
    """A browser asking (HTML preferred over JSON in its parsed Accept): errors get a page on the console's layout."""
    return prefers_html(request, ["application/json"])


def error_page(status: int, error: str, message: str, headers: dict[str, str]) -> HTMLResponse:
    """The error a JSON client gets (`error`, `message`), as a page on the console's layout."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = error
    return HTMLResponse(render("error.html", title=phrase, status=status, error=error, message=message),
                        status_code=status, headers=headers)


def create_app(kb: KnowledgeBase) -> FastAPI:
    # /docs and /redoc with their scripts and styles shipped in a package (fastapi-offline), not from a CDN: the
    # pages work on a machine without internet.
    app = FastAPIOffline(
        title="ekb: enterprise knowledge base",
        version=__version__,
        description="SPARQL, governance reports and JSON-LD over the Quantum Energy knowledge graph.",
        # Starlette's trailing-slash redirect builds its Location from the Host header: a client could make the
        # server send a link to any host. Paths are exact here.
        redirect_slashes=False,
    )
    app.state.kb = kb
    app.add_middleware(Gzip)
    app.add_middleware(HeadAsGet)
    if kb.settings.cors:  # browser tools on other origins (YASGUI, notebooks); writes still need the token
        app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "PUT", "DELETE"],
                           allow_headers=["*"], expose_headers=["ETag", "Link", "Last-Modified"])

    @app.exception_handler(EkbError)
    async def ekb_error(request: Request, err: EkbError) -> Response:
        body = {"error": type(err).__name__, "message": str(err), **(err.details or {})}
        headers = dict(err.headers or {})
        if err.http_status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if wants_html(request):
            return error_page(err.http_status, body["error"], body["message"], headers)
        return JSONResponse(body, status_code=err.http_status, headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> Response:
        """Routing errors (no such path, method not allowed): a page for a browser, FastAPI's JSON otherwise."""
        if wants_html(request):
            return error_page(err.status_code, "NotFound" if err.status_code == 404 else "HTTPError", str(err.detail),
                              dict(err.headers or {}))
        return await http_exception_handler(request, err)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, err: Exception) -> JSONResponse:
        """A fault of the server, not of the input (those are EkbErrors): a one-line JSON 500 for the client.
        Starlette re-raises the exception after this answer, so the server still logs its traceback."""
        log.error("unexpected error on %s %s: %s: %s", request.method, request.scope.get("path"), type(err).__name__, err)
        message = f"the server failed on this request ({type(err).__name__}); the operator's log has the details"
        if wants_html(request):
            return error_page(500, "InternalError", message, {})
        return JSONResponse({"error": "InternalError", "message": message}, status_code=500)

    @app.get("/health", tags=["service"], summary="Is the knowledge base up, and what does it hold?",
             response_model=schemas.Health)
    async def health() -> dict:
        # The figures the knowledge base keeps (counted by the writer, once per write): no store access and no
        # thread from the pool, which a burst of queries may have taken.
        graphs, triples = kb.cached_stats() or await run_in_threadpool(kb.stats)
        return {"status": "ok", "version": __version__, "backend": kb.backend, "graphs": graphs, "triples": triples}

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(console.router)
    app.include_router(sparql.router)
    app.include_router(queries.router)
    app.include_router(graph_store.router)
    app.include_router(governance.router)
    app.include_router(linked_data.router)

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema = schemas.refine(schema, CONTEXT_VERSIONS)
            app.openapi_schema = queries.library_openapi(schema, kb.library.queries)
        return app.openapi_schema

    app.openapi = openapi
    return app
