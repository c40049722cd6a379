"""Names that must stay stable (IRIs of graphs and namespaces) and the runtime settings.

Graph names and namespaces are part of the public contract: queries, shapes and tools outside
this repository refer to them, so they live in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

BASE_IRI = "https://kb.quantum-energy.example/"

# Ontology namespaces (terms) and the individuals' namespace.
EKB = BASE_IRI + "def/core/"
UTIL = BASE_IRI + "def/utility/"
INFO = BASE_IRI + "def/info/"
ID = BASE_IRI + "id/"
ONTOLOGY_NS = BASE_IRI + "def/"  # every term of the ontology

# Named-graph layout: one graph per concern, one per data file, one for entailments.
GRAPH = BASE_IRI + "graph/"
ONTOLOGY_GRAPH = GRAPH + "ontology"
SHAPES_GRAPH = GRAPH + "shapes"
INFERRED_GRAPH = GRAPH + "inferred"
DATA_GRAPH_PREFIX = GRAPH + "data/"
DEFAULT_DATA_GRAPH = DATA_GRAPH_PREFIX + "default"  # the Graph Store Protocol's `?default` graph
HISTORY_GRAPH = GRAPH + "governance-history"
STAGING_PREFIX = GRAPH + "staging/"  # a load's or a write's temporary graphs
LOAD_MANIFEST_GRAPH = GRAPH + "load-manifest"  # which data graphs the last `ekb load` wrote from files
# Graphs that change only through `ekb load` (or, for history, through the governance runs), never through
# the data-write routes.
PROTECTED_GRAPHS = (GRAPH + "ontology", GRAPH + "shapes", GRAPH + "inferred", GRAPH + "governance-history",
                    LOAD_MANIFEST_GRAPH)


def is_data_graph(graph: str) -> bool:
    """A graph of asserted facts: not shapes, entailments, history, or a load's staging graph."""
    return (graph not in (SHAPES_GRAPH, INFERRED_GRAPH, HISTORY_GRAPH, LOAD_MANIFEST_GRAPH)
            and not graph.startswith(STAGING_PREFIX))


# The same test in SPARQL, for a graph variable.
DATA_GRAPH_FILTER = (f'FILTER(?g NOT IN (<{SHAPES_GRAPH}>, <{INFERRED_GRAPH}>, <{HISTORY_GRAPH}>, <{LOAD_MANIFEST_GRAPH}>) '
                     f'&& !STRSTARTS(STR(?g), "{STAGING_PREFIX}"))')

PREFIXES: dict[str, str] = {
    "ekb": EKB,
    "util": UTIL,
    "info": INFO,
    "id": ID,
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "org": "http://www.w3.org/ns/org#",
    "prov": "http://www.w3.org/ns/prov#",
    "sh": "http://www.w3.org/ns/shacl#",
}


def expand(curie: str) -> str:
    """The IRI of a prefixed name ('rdfs:label'), from the one prefix table: IRIs are built here, not by hand."""
    prefix, _, local = curie.partition(":")
    try:
        return PREFIXES[prefix] + local
    except KeyError:
        raise ValueError(f"unknown prefix {prefix!r} in {curie!r}") from None


RDF_TYPE = expand("rdf:type")
RDFS_LABEL = expand("rdfs:label")
RDFS_SUBCLASS = expand("rdfs:subClassOf")
XSD_INTEGER = expand("xsd:integer")
SH = PREFIXES["sh"]


def sparql_prologue() -> str:
    """The project's prefixes as a SPARQL prologue, for queries written inside ekb."""
    return "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in PREFIXES.items())


def default_project_root() -> Path:
    """The folder holding ontology/, shapes/, data/ and queries/.

    EKB_HOME wins; otherwise the current directory, which is the repository for `make serve`.
    """
    return Path(os.environ.get("EKB_HOME", Path.cwd())).resolve()


@dataclass
class Settings:
    """Everything the core and the API need to know about one running knowledge base."""

    root: Path = field(default_factory=default_project_root)
    store_dir: Path | None = None
    endpoint: str | None = None
    update_endpoint: str | None = None
    # The remote engine's dialect (oxigraph, virtuoso, generic; None: detected from its first answer), and graph
    # namespaces besides ekb's own that hold ekb's graphs there (every other graph of a shared engine is ignored).
    dialect: str | None = None
    graph_prefixes: tuple[str, ...] = ()
    write_token: str | None = None
    query_timeout_s: float = 30.0
    max_result_bytes: int = 256 * 1024 * 1024
    max_body_bytes: int = 10 * 1024 * 1024
    # A request body must arrive within this many seconds (a client that stalls holds a connection and memory).
    body_timeout_s: float = 10.0
    # The public URL clients reach the API at: links, @context URLs and the service description are built from
    # it, never from the request's Host header (which any client sets). None: the address the server listens on.
    base_url: str | None = None
    allowed_service_hosts: tuple[str, ...] = ()
    cors: bool = False
    reasoner: str = "reasonable"
    # Up to this size the gate is exact for every rule: a change known as triples is checked on its neighbourhood
    # and the SPARQL rules' reach (gate.check_delta, every link followed), else (a rule or a walk that cannot be
    # bounded, a property axiom) the whole store plus the change is validated. Above it, a change known as triples
    # is always checked that way, links into a node with over 200 incoming ones not followed by the neighbourhood.
    gate_full_max_triples: int = 20_000
    # How many changes the change feed (/changes) keeps; a tool whose cursor is older resyncs.
    changes_retention: int = 10_000

    @property
    def ontology_dir(self) -> Path:
        return self.root / "ontology"

    @property
    def shapes_dir(self) -> Path:
        return self.root / "shapes"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"
