"""Errors that carry their context, so a user reads the reason and the place, never a traceback."""

from __future__ import annotations


class EkbError(Exception):
    """Base of every error ekb reports to a user; the message is complete on its own."""

    http_status = 500
    details: dict | None = None
    # Response headers the HTTP layer sends with the error (Retry-After on a 503, Connection: close on a 408).
    headers: dict[str, str] | None = None

    def __init__(self, *args: object, headers: dict[str, str] | None = None):
        super().__init__(*args)
        if headers is not None:
            self.headers = headers


class InputError(EkbError):
    """The user's input is wrong (a file, a query, a parameter): fix the input, not ekb."""

    http_status = 400


class RdfSyntaxError(InputError):
    """An RDF document does not parse; names the source and the position."""

    def __init__(self, source: str, message: str, line: int | None = None, column: int | None = None):
        self.source, self.line, self.column, self.reason = source, line, column, message
        where = source
        if line is not None:
            where += f", line {line}" + (f", column {column}" if column is not None else "")
        super().__init__(f"{where}: {message}")


class QuerySyntaxError(InputError):
    """A SPARQL query or update does not parse; the message includes the parser's position."""


class NotFound(EkbError):
    http_status = 404


class CursorExpired(EkbError):
    """A change-feed cursor older than the changes kept: the tool resyncs from a full read."""

    http_status = 410


class Unauthorized(EkbError):
    http_status = 401


class Forbidden(EkbError):
    http_status = 403


class QueryTimeout(EkbError):
    http_status = 503


class Busy(EkbError):
    """Every slot for this kind of work is taken; `headers` carries Retry-After."""

    http_status = 503


class LimitExceeded(EkbError):
    http_status = 413


class RequestTimeout(EkbError):
    """The client did not send its request body in time; the connection is closed rather than kept waiting."""

    http_status = 408
    headers = {"Connection": "close"}


class StoreUnavailable(EkbError):
    """The remote SPARQL server cannot be reached or answers with a server error."""

    http_status = 502


class GateRefused(EkbError):
    """A write would add governance violations; `details` carries the report."""

    http_status = 422

    def __init__(self, message: str, details: dict):
        super().__init__(message)
        self.details = details
