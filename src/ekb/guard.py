"""Request guards for SPARQL text: federated queries and LOAD make the server fetch URLs, so they are
refused unless the operator allowed the host."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from ekb.errors import Forbidden
from ekb.library import _strip_strings_and_comments

REMOTE = re.compile(r"(?<![?$:\w-])(SERVICE|LOAD)\s+(?:SILENT\s+)?", re.IGNORECASE)
TARGET = re.compile(r"<[^<>\s]*>|[?$]\w+")


def check_remote_access(sparql: str, allowed_hosts: tuple[str, ...]) -> None:
    """Raise Forbidden if the text asks the server to reach a host the operator did not allow."""
    lowered = sparql.lower()
    if "service" not in lowered and "load" not in lowered:  # most queries: no need to read their structure
        return
    structure = _strip_strings_and_comments(sparql)
    for match in REMOTE.finditer(structure):
        keyword = match.group(1).upper()
        # The IRI is blanked in `structure`: read the keyword's target from the original text.
        found = TARGET.match(sparql, REMOTE.match(sparql, match.start()).end())
        target = found.group(0) if found else "(unknown target)"
        host = urlparse(target[1:-1]).hostname if target.startswith("<") else None
        if host is None or host not in allowed_hosts:
            raise Forbidden(f"{keyword} {target} is refused: this server does not fetch remote data"
                            + (f" except from {', '.join(allowed_hosts)}" if allowed_hosts else "")
                            + " (start it with --allow-service-host HOST to allow a host)")
