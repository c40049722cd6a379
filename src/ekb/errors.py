"""Errors that carry their context, so a user reads the reason and the place, never a traceback."""

from __future__ import annotations


class EkbError(Exception):
    """Base of every error ekb reports to a user; the message is complete on its own."""

    http_status = 500
    details: dict | None = None


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


class Unauthorized(EkbError):
    http_status = 401


class Forbidden(EkbError):
    http_status = 403


class QueryTimeout(EkbError):
    http_status = 503


class LimitExceeded(EkbError):
    http_status = 413


class StoreUnavailable(EkbError):
    """The remote SPARQL server cannot be reached or answers with a server error."""

    http_status = 502


class GateRefused(EkbError):
    """A write would add governance violations; `details` carries the report."""

    http_status = 422

    def __init__(self, message: str, details: dict):
        super().__init__(message)
        self.details = details
