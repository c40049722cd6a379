"""SHACL engines behind one small interface: pyshacl-turbo runs, pyshacl is the reference.

Both take the data as N-Triples and the shapes as N-Triples, and give back the standard
sh:ValidationReport graph, so the tests can compare them result for result.
"""

from __future__ import annotations

from typing import Protocol

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
    """pyshacl-turbo: pyshacl's behaviour, evaluated in Rust."""

    name = "pyshacl-turbo"

    def validate(self, data_nt, shapes_nt, focus_nodes=None):
        options = {"focus_nodes": [rdflib.URIRef(n) for n in focus_nodes]} if focus_nodes else {}
        # Text, not a pyoxigraph Store: pyshacl-turbo 0.6.5 reads a Store natively but then compares plain string
        # literals wrongly (sh:in ("Approved") fails on "Approved"); the text path agrees with pyshacl.
        _, report, _ = pyshacl_turbo.validate(data_nt.decode("utf-8"), data_graph_format="nt",
                                              shacl_graph=_graph(shapes_nt), advanced=True, **options)
        if not isinstance(report, rdflib.Graph):
            raise InputError(f"the shapes cannot be used: {report}")
        return report


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
