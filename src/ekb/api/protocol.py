"""Helpers shared by the HTTP routes: request bodies under a size limit, negotiation, engine answers."""

from __future__ import annotations

import asyncio
import hmac
from urllib.parse import parse_qsl

import mimeparse
from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from ekb.errors import InputError, LimitExceeded, QueryTimeout, Unauthorized
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, SOLUTION_FORMATS, Format, by_name, negotiate
from ekb.kb import KnowledgeBase
from ekb.store import Answer


class NotAcceptable(InputError):
    http_status = 406


class UnsupportedMediaType(InputError):
    http_status = 415


def kb_of(request: Request) -> KnowledgeBase:
    return request.app.state.kb


async def read_body(request: Request) -> bytes:
    """The request body, refused with 413 past the configured limit (checked before and while reading)."""
    limit = kb_of(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise LimitExceeded(f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise LimitExceeded(f"request body exceeds the limit of {limit} bytes")
    return bytes(body)


def media_type_of(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def form_fields(request: Request) -> list[tuple[str, str]]:
    body = await read_body(request)
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as err:
        raise InputError(f"the form body is not UTF-8: {err}") from None


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
    return mimeparse.best_match([*reversed(alternatives), "text/html"], accept) == "text/html"


async def answer_query(request: Request, run, formats: tuple[Format | None, Format | None]) -> Response:
    """Run `run(solution_format, graph_format)` off the event loop, under the time limit, and send the
    engine's bytes; 406 if the client accepts no format for the kind of answer the query gives."""
    kb = kb_of(request)
    solution, graph = formats
    try:
        answer: Answer = await asyncio.wait_for(
            run_in_threadpool(run, solution or SOLUTION_FORMATS[0], graph or GRAPH_FORMATS[0]),
            timeout=kb.settings.query_timeout_s)
    except TimeoutError:
        raise QueryTimeout(f"the query ran past the time limit of {kb.settings.query_timeout_s:g} s and was "
                           "stopped; narrow it or ask the operator for a higher limit") from None
    wanted = solution if answer.kind in ("solutions", "boolean") else graph
    if wanted is None:
        offered = SOLUTION_FORMATS if answer.kind != "graph" else GRAPH_FORMATS + DATASET_FORMATS
        raise NotAcceptable(f"none of the media types in Accept can carry a {answer.kind} answer; "
                            f"try {', '.join(f.media_type for f in offered)}")
    charset = "" if answer.media_type == "application/sparql-results+xml" else "; charset=utf-8"
    return Response(answer.body, media_type=answer.media_type + charset, headers={"Vary": "Accept"})


def require_write_token(request: Request) -> None:
    token = kb_of(request).settings.write_token
    given = request.headers.get("authorization", "")
    if not token:
        raise Unauthorized("writes are closed on this server: start it with --write-token to allow them")
    if not given.lower().startswith("bearer ") or not hmac.compare_digest(given[7:].strip(), token):
        raise Unauthorized("a write needs the header 'Authorization: Bearer <write token>'")


def write_response(result) -> Response:
    """204 when a write added nothing to report; 200 with the warnings and infos it added otherwise."""
    if not result.new_findings:
        return Response(status_code=204)
    from fastapi.responses import JSONResponse

    body = result.as_json()
    return JSONResponse({"accepted": True, "newFindings": body["newFindings"]}, status_code=200)
