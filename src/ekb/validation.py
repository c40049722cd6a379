"""Running the shapes: SHACL engines behind one small interface (pyshacl-turbo runs, pyshacl is the reference),
over the knowledge base or over files.

Both engines take the data as N-Triples and the shapes as N-Triples, and give back the standard
sh:ValidationReport graph, so the tests can compare them result for result.

What is validated: the asserted data and the ontology (for SHACL's own rdfs:subClassOf semantics), never the
inferred graph: OWL RL types whatever a domain or range touches, which would make sh:class checks pass
vacuously. The shapes take inverse and alternative paths, so they need no inferred inverse links.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import lru_cache
from typing import Protocol

import pyoxigraph as ox
import pyshacl
import pyshacl_turbo
import rdflib

from ekb.config import ID, SHAPES_GRAPH, is_data_graph
from ekb.errors import InputError
from ekb.findings import Report
from ekb.interpretation import interpret
from ekb.store import EmbeddedStore, Store


class ShaclEngine(Protocol):
    name: str

    def validate(self, data_nt: bytes, shapes_nt: bytes, focus_nodes: list[str] | None = None) -> rdflib.Graph:
        """The sh:ValidationReport graph of `data_nt` against `shapes_nt`."""


def _graph(nt: bytes) -> rdflib.Graph:
    graph = rdflib.Graph()
    graph.parse(data=nt, format="nt")
    return graph


class TurboEngine:
    """pyshacl-turbo: pyshacl's behaviour, evaluated in Rust, on a pyoxigraph store it reads natively.

    Two workarounds, both checked against pyshacl by the tests: the shapes are compiled once per version
    (compiling costs more than validating a small change), and their plain string literals are given the
    explicit datatype xsd:string, because pyshacl-turbo 0.6.5 compares a store's plain literals as
    xsd:string ones (RDF 1.1 says they are the same) and would otherwise fail sh:in ("Approved")."""

    name = "pyshacl-turbo"

    def validate(self, data_nt, shapes_nt, focus_nodes=None):
        options = {"focus_nodes": [rdflib.URIRef(n) for n in focus_nodes]} if focus_nodes else {}
        data = ox.Store()
        data.load(data_nt, format=ox.RdfFormat.N_TRIPLES)
        _, report, _ = compiled(shapes_nt).validate(data, **options)
        if not isinstance(report, rdflib.Graph):
            raise InputError(f"the shapes cannot be used: {report}")
        return report


@lru_cache(maxsize=8)
def compiled(shapes_nt: bytes):
    graph = rdflib.Graph()
    for s, p, o in _graph(shapes_nt):
        if isinstance(o, rdflib.Literal) and o.datatype is None and o.language is None:
            o = rdflib.Literal(str(o), datatype=rdflib.XSD.string)
        graph.add((s, p, o))
    return pyshacl_turbo.compile_shapes(graph, advanced=True)


class PyshaclEngine:
    """pyshacl: the reference implementation (slow; used by the tests and on request)."""

    name = "pyshacl"

    def validate(self, data_nt, shapes_nt, focus_nodes=None):
        options = {"focus_nodes": [rdflib.URIRef(n) for n in focus_nodes]} if focus_nodes else {}
        _, report, text = pyshacl.validate(_graph(data_nt), shacl_graph=_graph(shapes_nt), advanced=True, **options)
        if not isinstance(report, rdflib.Graph):
            raise InputError(f"the shapes cannot be used: {text}")
        return report


ENGINES: dict[str, type] = {"pyshacl-turbo": TurboEngine, "turbo": TurboEngine, "pyshacl": PyshaclEngine}


def engine_named(name: str) -> ShaclEngine:
    try:
        return ENGINES[name]()
    except KeyError:
        raise InputError(f"unknown SHACL engine {name!r}; choose pyshacl-turbo or pyshacl") from None


def split_store(store: Store) -> tuple[bytes, bytes]:
    """(data with the ontology, shapes) as N-Triples, read graph by graph from the store."""
    graphs = store.graphs()
    data = b"".join(store.graph_ntriples(g) for g in graphs if is_data_graph(g))
    shapes = store.graph_ntriples(SHAPES_GRAPH) if SHAPES_GRAPH in graphs else b""
    return data, shapes


def validate_store(store: Store, engine: ShaclEngine | None = None, focus_nodes: list[str] | None = None,
                   context_store: Store | None = None, shapes_nt: bytes | None = None, enrich: bool = True) -> Report:
    engine = engine or TurboEngine()
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = time.perf_counter()
    data_nt, own_shapes = split_store(store)
    shapes_nt = own_shapes if shapes_nt is None else shapes_nt
    report_graph = engine.validate(data_nt, shapes_nt, focus_nodes)
    findings, rules = interpret(report_graph, shapes_nt, context_store or store, enrich)
    return Report(findings, rules, engine.name, started.isoformat().replace("+00:00", "Z"),
                  time.perf_counter() - clock, data_nt.count(b"\n"), report_graph)


def validate_files(data: list[ox.Triple], shapes: list[ox.Triple], engine: ShaclEngine | None = None) -> Report:
    """Validate any data files against any shapes files (the CLI's `ekb validate FILES --shapes FILES`)."""
    staging = EmbeddedStore()
    staging.replace_graphs({ID + "validate/data": ox.serialize(data, format=ox.RdfFormat.N_TRIPLES),
                            SHAPES_GRAPH: ox.serialize(shapes, format=ox.RdfFormat.N_TRIPLES)})
    return validate_store(staging, engine)
