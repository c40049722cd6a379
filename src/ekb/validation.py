"""SHACL engines behind one small interface: pyshacl-turbo runs, pyshacl is the reference.

Both take the data as N-Triples and the shapes as N-Triples, and give back the standard
sh:ValidationReport graph, so the tests can compare them result for result.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol

import pyoxigraph as ox
import pyshacl
import pyshacl_turbo
import rdflib

from ekb.errors import InputError


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
