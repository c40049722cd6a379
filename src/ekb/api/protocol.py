"""Helpers shared by the HTTP routes: request bodies under a size and time limit, parsing them off the event
loop, input checks (IRIs, integers, protected graphs), negotiation, engine answers, links from the base URL."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import parse_qsl

import anyio
import pyoxigraph as ox
from fastapi import Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import Field, File, FormParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import URL

from ekb.config import BASE_IRI, PROTECTED_GRAPHS, STAGING_PREFIX
from ekb.errors import (
    EkbError,
    Forbidden,
    InputError,
    LimitExceeded,
    QuerySyntaxError,
    QueryTimeout,
    RequestTimeout,
    Unauthorized,
)
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, SOLUTION_FORMATS, Format, best_match, by_name, negotiate
from ekb.kb import KnowledgeBase
from ekb.linked_data import parse_document
from ekb.literals import rewrites_json
from ekb.loader import parse_bytes
from ekb.store import Answer

T = TypeVar("T")
log = logging.getLogger("ekb.api")
MAX_FORM_FIELDS = 1000  # a SPARQL form has a handful; more is an attempt to make the parser work
MAX_PARTS = 8  # the multipart forms here take at most three parts
MAX_SMALL_FIELD = 1024  # a multipart part that is an option (a format name), not a document
MAX_PAGE = 1_000_000  # a page number beyond any store's size; larger ones overflow the engine's OFFSET


class NotAcceptable(InputError):
    http_status = 406


class UnsupportedMediaType(InputError):
    http_status = 415


def kb_of(request: Request) -> KnowledgeBase:
    return request.app.state.kb


# --- the request body -------------------------------------------------------------------------------------

async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past the configured size (checked before and while reading) and
    with 408 if it does not arrive within the configured time: a client that stalls or trickles must not
    hold a connection and a buffer for ever. Every route reads its body here, whatever the content type."""
    settings = kb_of(request).settings
    limit = settings.max_body_bytes
    close = {"Connection": "close"}  # the rest of the body is not read: the connection cannot be reused
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise LimitExceeded(f"request body of {declared} bytes exceeds the limit of {limit} bytes", headers=close)
    body = bytearray()
    try:
        async with asyncio.timeout(settings.body_timeout_s):  # bounds the wait for each chunk and the total
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > limit:
                    raise LimitExceeded(f"request body exceeds the limit of {limit} bytes", headers=close)
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {settings.body_timeout_s:g} s "
                             f"({len(body)} bytes received)") from None
    return bytes(body)


async def read_text(request: Request, what: str = "the request body") -> str:
    """The body as UTF-8 text (SPARQL is UTF-8 by definition)."""
    body = await read_body(request)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{what} is not UTF-8: {err}") from None


def media_type_of(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _parse_form(body: bytes) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"the form body is not UTF-8: {err}") from None
    try:
        return parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError as err:
        raise InputError(f"the form body is refused: {err}") from None


async def form_fields(request: Request) -> list[tuple[str, str]]:
    """An application/x-www-form-urlencoded body as (name, value) pairs, decoded in a worker thread."""
    return await run_in_threadpool(_parse_form, await read_body(request))


@dataclass(frozen=True)
class Part:
    """One part of a multipart/form-data body."""

    name: str
    data: bytes
    content_type: str | None = None
    filename: str | None = None


def parse_multipart(body: bytes, content_type: str, allowed: Collection[str] | None,
                    small: Collection[str] = ()) -> dict[str, Part]:
    """The parts of a multipart/form-data body already read under the size limit (python-multipart, in
    memory). Only the `allowed` names are accepted (None: any name), each once and at most MAX_PARTS parts; the
    `small` ones are options, not documents, and may not exceed MAX_SMALL_FIELD bytes. Blocking: call it in a
    thread."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise InputError("the multipart/form-data Content-Type has no boundary parameter")
    parts: dict[str, Part] = {}
    count = 0

    def on_part(part: Field | File) -> None:
        nonlocal count
        count += 1
        if count > MAX_PARTS:
            raise InputError(f"the form has more than {MAX_PARTS} parts"
                             + (f"; it takes {', '.join(allowed)}" if allowed is not None else ""))
        name = (part.field_name or b"").decode("utf-8", "replace")
        if allowed is not None and name not in allowed:
            raise InputError(f"unknown form part {name!r}; the form takes {', '.join(allowed)}")
        if name in parts:
            raise InputError(f"the form has more than one {name!r} part")
        if isinstance(part, File):
            part.file_object.seek(0)
            data = part.file_object.read()
        else:
            data = part.value or b""
        if name in small and len(data) > MAX_SMALL_FIELD:
            raise InputError(f"the form part {name!r} is longer than {MAX_SMALL_FIELD} bytes")
        filename = part.file_name.decode("utf-8", "replace") if isinstance(part, File) and part.file_name else None
        parts[name] = Part(name, data, part.content_type, filename)

    # Files stay in memory (the body is already bounded): no temporary files on the server's disk.
    config = {"MAX_BODY_SIZE": len(body), "MAX_MEMORY_FILE_SIZE": len(body) + 1}
    try:
        parser = FormParser("multipart/form-data", on_part, on_part, boundary=boundary, config=config)
        parser.write(body)
        parser.finalize()
    except FormParserError as err:
        raise InputError(f"the multipart/form-data body does not parse: {err}") from None
    return parts


async def multipart_parts(request: Request, allowed: Collection[str], small: Collection[str] = ()) -> dict[str, Part]:
    """A multipart/form-data body, read under the same limits as any body and parsed in a worker thread."""
    body = await read_body(request)
    return await run_in_threadpool(parse_multipart, body, request.headers.get("content-type", ""), allowed, small)


# --- parsing documents off the event loop -------------------------------------------------------------------

@contextmanager
def parser_limits(source: str) -> Iterator[None]:
    """What a parser raises on a client's document is the document's fault: one nested deeper than the
    interpreter's stack (JSON, JSON-LD), a term longer than Oxigraph's buffer, a value Python refuses (an
    integer of 100,000 digits, a lone surrogate). Only for pure parsing of the client's bytes, which touches no
    server state: a real shortage of memory stays the server's fault."""
    try:
        yield
    except RecursionError:
        raise InputError(f"{source}: the document is nested too deeply to be read") from None
    except MemoryError as err:
        if "buffer maximal size" not in str(err):
            raise
        raise LimitExceeded(f"{source}: a single term (literal or IRI) is too long for the parser ({err})") from None
    except ValueError as err:  # UnicodeError and the parsers' own ValueErrors
        raise InputError(f"{source}: the document cannot be read: {err}") from None


async def in_thread(function: Callable[..., T], *args) -> T:
    """Run a validating or serialising `function` in a worker thread: CPU work on the event loop stops every
    other request (/health included)."""
    return await run_in_threadpool(function, *args)


async def parse_in_thread(function: Callable[..., T], *args, source: str = "the request body") -> T:
    """Run a parser of the client's document in a worker thread, under `parser_limits`: a large or deeply nested
    document (1.8 MB of RDF/XML took 22 s) must not stop the event loop."""
    def run() -> T:
        with parser_limits(source):
            return function(*args)
    return await run_in_threadpool(run)


async def parse_rdf(data: bytes, media_type: str, source: str = "the request body",
                    base_iri: str = BASE_IRI) -> list[ox.Triple]:
    """An uploaded RDF document of a known media type as triples, parsed in a worker thread. JSON-LD is read as
    /import reads it (the project's contexts resolve offline, nothing is fetched), so a tool can send back,
    or dry-run, exactly what the server emits."""
    if by_name(media_type, GRAPH_FORMATS) is JSONLD_FORMAT:
        return await parse_in_thread(parse_document, data, source, source=source)
    return await parse_in_thread(parse_bytes, data, media_type, source, base_iri, source=source)


JSONLD_FORMAT = by_name("application/ld+json", GRAPH_FORMATS)


# --- input checks ------------------------------------------------------------------------------------------

def parse_iri(text: str, what: str) -> str:
    """`text` as an absolute IRI, or a 400 naming the parameter: an invalid IRI must never reach the engine
    (which raises) or a SPARQL string (which it could break out of)."""
    try:
        return ox.NamedNode(text).value
    except ValueError as err:
        raise InputError(f"{what} {text!r} is not a valid IRI: {err}") from None


def parse_int(text: str, name: str, low: int, high: int | None = None) -> int:
    """A decimal integer parameter within bounds. `str.isdigit` alone is not a test: it accepts '²' and
    other digits int() refuses."""
    value = int(text) if text.isascii() and text.isdigit() else None
    if value is None or value < low or (high is not None and value > high):
        raise InputError(f"{name} must be an integer from {low}" + (f" to {high}" if high is not None else "")
                         + f", not {text!r}")
    return value


def refuse_protected(graph: str) -> None:
    """The ontology, shapes, entailments, governance history and a load's staging graphs change only through
    `ekb load` (or a governance run): a data write to them would bypass what derives them."""
    if graph in PROTECTED_GRAPHS or graph.startswith(STAGING_PREFIX):
        raise Forbidden(f"<{graph}> is a protected graph: it changes only through `ekb load`, not through "
                        "the data routes; write to a data graph instead")


# --- negotiation and answers ---------------------------------------------------------------------------------

def not_modified(request: Request, etag: str) -> bool:
    """Whether the client already holds this version (`If-None-Match` names the ETag): answer 304."""
    return etag in [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]


def negotiate_view(request: Request, views: dict[str, str], what: str) -> str:
    """The view of a page or document asked for: `format=` (browsers cannot set Accept) or else the Accept
    header, among `views` (media type -> view name; the first is the default)."""
    override = request.query_params.get("format")
    names = list(dict.fromkeys(views.values()))
    if override:
        if override not in names:
            raise NotAcceptable(f"unknown format {override!r}; choose one of {', '.join(names)}")
        return override
    best = best_match(list(reversed(list(views))), request.headers.get("accept") or next(iter(views)))
    if not best:
        raise NotAcceptable(f"{what} is available as " + ", ".join(views))
    return views[best]


def result_formats(request: Request, override: str | None) -> tuple[Format | None, Format | None]:
    """The negotiated (solutions, graph) formats; `format=` wins over Accept, as browsers cannot set Accept."""
    if override:
        solution = by_name(override, SOLUTION_FORMATS)
        graph = by_name(override, GRAPH_FORMATS) or by_name(override, DATASET_FORMATS)
        if not (solution or graph):
            raise NotAcceptable(f"unknown format {override!r}")
        return solution, graph
    accept = request.headers.get("accept")
    return negotiate(accept, SOLUTION_FORMATS), negotiate(accept, GRAPH_FORMATS + DATASET_FORMATS)


def prefers_html(request: Request, alternatives: list[str]) -> bool:
    accept = request.headers.get("accept", "")
    if "text/html" not in accept:
        return False
    return best_match([*reversed(alternatives), "text/html"], accept) == "text/html"


@contextmanager
def engine_errors() -> Iterator[None]:
    """The engine raises RuntimeError for a query it parsed but cannot run (an unknown function IRI, an
    unsupported service): the query is at fault, so it is a 400. Any other RuntimeError is the server's."""
    try:
        yield
    except RuntimeError as err:
        if "is not supported" not in str(err):
            raise
        raise QuerySyntaxError(f"the query cannot be run: {err}") from None


async def answer_query(request: Request, run, formats: tuple[Format | None, Format | None]) -> Response:
    """Run `run(solution_format, graph_format)` off the event loop, under the time limit, and send the
    engine's bytes; 406 if the client accepts no format for the kind of answer the query gives."""
    kb = kb_of(request)
    solution, graph = formats
    try:
        with engine_errors():
            answer: Answer = await asyncio.wait_for(
                run_in_threadpool(run, solution or SOLUTION_FORMATS[0], graph or GRAPH_FORMATS[0]),
                timeout=kb.settings.query_timeout_s)
    except TimeoutError:
        raise QueryTimeout(f"the query ran past the time limit of {kb.settings.query_timeout_s:g} s and was "
                           "stopped; narrow it or ask the operator for a higher limit") from None
    wanted = solution if answer.kind in ("solutions", "boolean") else graph
    if wanted is None:
        if answer.rest is not None:
            await run_in_threadpool(answer.rest.close)
        offered = SOLUTION_FORMATS if answer.kind != "graph" else GRAPH_FORMATS + DATASET_FORMATS
        raise NotAcceptable(f"none of the media types in Accept can carry a {answer.kind} answer; "
                            f"try {', '.join(f.media_type for f in offered)}")
    charset = "" if answer.media_type == "application/sparql-results+xml" else "; charset=utf-8"
    if answer.rest is not None:
        return StreamedAnswer(answer, media_type=answer.media_type + charset, headers={"Vary": "Accept"})
    return Response(answer.body, media_type=answer.media_type + charset, headers={"Vary": "Accept"})


COMMENTED = {f.media_type for f in GRAPH_FORMATS + DATASET_FORMATS if f.name in ("turtle", "ntriples", "n3", "trig",
                                                                                   "nquads")}


class StreamedAnswer(StreamingResponse):
    """An answer sent as the engine produces it (HTTP/1.1 chunked), each chunk read from its worker in a thread
    while the event loop serves others; the next one is read only once the previous one was handed to the
    connection, so a slow client slows the query down instead of filling the server's memory. If the query is
    stopped after the response began (time or size limit), the body ends without its last chunk: every HTTP
    client then reports an incomplete answer, which no one can take for a complete one; formats that have
    comments get the reason as a last `# ...` line first. A client that goes away stops the query."""

    def __init__(self, answer: Answer, media_type: str, headers: dict[str, str]):
        super().__init__(self._chunks(answer), media_type=media_type, headers=headers)
        self.answer = answer
        self.commented = media_type.split(";")[0] in COMMENTED

    @staticmethod
    async def _chunks(answer: Answer):
        yield answer.body
        while (chunk := await run_in_threadpool(answer.rest.read)) is not None:
            yield chunk

    async def stream_response(self, send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        try:
            async for chunk in self.body_iterator:
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except EkbError as err:
            log.warning("a streamed answer was cut: %s: %s", type(err).__name__, err)
            if self.commented:
                reason = " ".join(f"{type(err).__name__}: {err}".split())
                await send({"type": "http.response.body", "body": f"\n# {reason}\n".encode(), "more_body": True})
            return  # without the last chunk: the server closes the connection, the body is incomplete
        finally:
            with anyio.CancelScope(shield=True):  # also when the client went away (the task is cancelled)
                await run_in_threadpool(self.answer.rest.close)
        await send({"type": "http.response.body", "body": b"", "more_body": False})


# --- links: from the configured base URL, never from the Host header ---------------------------------------------

def base_url(request: Request) -> str:
    """The public base URL, without a trailing slash: the configured one, else the address of the socket the
    request came in on (the server's own, not the client-chosen Host header)."""
    configured = kb_of(request).settings.base_url
    if configured:
        return configured.rstrip("/")
    host, port = request.scope.get("server") or ("127.0.0.1", 80)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}" + ("" if port == 80 else f":{port}")


def public_url(request: Request, path: str | None = None) -> URL:
    """The request's own URL (its path and query string, which are not host-controlled) under the base URL;
    or `path` under it."""
    if path is not None:
        return URL(base_url(request) + path)
    query = request.scope.get("query_string", b"").decode("latin-1")
    return URL(base_url(request) + request.scope["path"] + (f"?{query}" if query else ""))


def request_base(request: Request) -> str:
    """The base IRI of a SPARQL request's relative IRIs: the URL it was sent to (SPARQL 1.1 Query §4.1.1.1),
    under the public base URL, without its query string."""
    return str(public_url(request, request.scope["path"]))


# --- writes ----------------------------------------------------------------------------------------------------

def require_write_token(request: Request) -> None:
    """The bearer token, compared in constant time as bytes: compare_digest refuses non-ASCII str, and a
    header is whatever bytes the client sent (Starlette decodes them as Latin-1, which round-trips)."""
    token = kb_of(request).settings.write_token
    given = request.headers.get("authorization", "")
    if not token:
        raise Unauthorized("writes are closed on this server: start it with a write token (EKB_WRITE_TOKEN or "
                           "--write-token-file) to allow them")
    offered = given[7:].strip().encode("latin-1") if given[:7].lower() == "bearer " else b""
    if not offered or not hmac.compare_digest(offered, token.encode("utf-8")):
        raise Unauthorized("a write needs the header 'Authorization: Bearer <write token>'")


def update_response(result) -> JSONResponse:
    """A SPARQL Update's outcome, always with a body: how many triples it inserted and deleted (an update that
    matched nothing says so, instead of a bare success), and the warnings and infos it added. Its literals are
    not inspected before the store normalises them (see `ekb.literals`): a result that names rewritten
    literals (none, today) has them in the body, as a write's does."""
    body = {"accepted": True, "inserted": result.inserted, "deleted": result.deleted,
            "newFindings": [f.as_json() for f in result.new_findings], **rewrites_json(list(result.rewritten))}
    if not (result.inserted or result.deleted):
        body["note"] = ("the update changed nothing: its patterns matched no triples, or it inserted only what "
                        "was there already (an update's WHERE reads the graphs it names: use GRAPH ?g or USING)")
    return JSONResponse(body)


def write_response(result, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A write's outcome: 204 when it has nothing to report; else `status_code` (200, or 201 for a write that
    created its graph) with the warnings and infos it added and the literals the store keeps in another form
    than written (`rewrittenLiterals`, the first few, and their count): the store holds "7"^^xsd:integer where
    the client sent "7"^^xsd:int, and the client is told. A created graph with nothing to report answers 201
    without a body."""
    rewritten = rewrites_json(list(result.rewritten))
    if not (result.new_findings or rewritten):
        return Response(status_code=204 if status_code == 200 else status_code, headers=headers)
    return JSONResponse({"accepted": True, "newFindings": [f.as_json() for f in result.new_findings], **rewritten},
                        status_code=status_code, headers=headers)
