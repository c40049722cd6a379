"""Media types ekb reads and writes, and content negotiation over them.

One table per kind of answer (solutions, graphs, datasets), so the SPARQL endpoint, the graph store,
the CLI and the exports agree on names. Negotiation itself is python-mimeparse's.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mimeparse
import pyoxigraph as ox


@dataclass(frozen=True)
class Format:
    name: str
    media_type: str
    engine: ox.RdfFormat | ox.QueryResultsFormat
    aliases: tuple[str, ...] = ()


SOLUTION_FORMATS: tuple[Format, ...] = (
    Format("json", "application/sparql-results+json", ox.QueryResultsFormat.JSON, ("srj",)),
    Format("xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML, ("srx",)),
    Format("csv", "text/csv", ox.QueryResultsFormat.CSV),
    Format("tsv", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
)
GRAPH_FORMATS: tuple[Format, ...] = (
    Format("turtle", "text/turtle", ox.RdfFormat.TURTLE, ("ttl",)),
    Format("ntriples", "application/n-triples", ox.RdfFormat.N_TRIPLES, ("nt",)),
    Format("rdfxml", "application/rdf+xml", ox.RdfFormat.RDF_XML, ("rdf", "owl", "xml", "rdf+xml")),
    Format("jsonld", "application/ld+json", ox.RdfFormat.JSON_LD, ("json-ld",)),
    Format("n3", "text/n3", ox.RdfFormat.N3),
)
DATASET_FORMATS: tuple[Format, ...] = (
    Format("trig", "application/trig", ox.RdfFormat.TRIG),
    Format("nquads", "application/n-quads", ox.RdfFormat.N_QUADS, ("nq",)),
)
# Aliases clients send that mean the same thing as a canonical type.
MEDIA_ALIASES = {
    "application/json": "application/sparql-results+json",
    "application/xml": "application/sparql-results+xml",
    "text/xml": "application/sparql-results+xml",
    "text/plain": "application/n-triples",
    "application/x-turtle": "text/turtle",
    "application/json+ld": "application/ld+json",
}


def by_name(name: str, table: tuple[Format, ...]) -> Format | None:
    """Find a format by short name, alias or media type (the `format=` parameter and --format)."""
    key = MEDIA_ALIASES.get(name.strip().lower(), name.strip().lower())
    for fmt in table:
        if key in (fmt.name, fmt.media_type, *fmt.aliases):
            return fmt
    return None


def best_match(offered: list[str], accept: str) -> str:
    """The one content negotiator: mimeparse's best match among `offered` (the last wins a tie, so list the
    default last), or '' for none or for an Accept header it cannot read (a malformed q, an empty range)."""
    try:
        return mimeparse.best_match(offered, accept)
    except (ValueError, IndexError):
        return ""


@functools.lru_cache(maxsize=1024)
def negotiate(accept: str | None, table: tuple[Format, ...]) -> Format | None:
    """The best format of `table` for an Accept header; the first is the default for */* or none.
    Cached: clients send the same few headers, and matching one costs as much as a lookup query's engine time."""
    if not accept or not accept.strip():
        return table[0]
    # mimeparse prefers the last of equally good offers: list the table's default last.
    aliases = [a for a, m in MEDIA_ALIASES.items() if by_name(m, table)]
    offered = aliases + [f.media_type for f in reversed(table)]
    best = best_match(offered, accept)
    return by_name(best, table) if best else None


def for_file(path: str) -> Format | None:
    """The RDF format of a file, from its extension; None when only rdflib could read it."""
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    for fmt in GRAPH_FORMATS + DATASET_FORMATS:
        if suffix in (fmt.name, *fmt.aliases) or suffix == fmt.engine.file_extension:
            return fmt
    return None
