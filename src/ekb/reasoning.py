"""OWL 2 RL materialisation behind one small interface, so the fast engine and the reference agree.

`reasonable` (Rust) is the engine ekb runs; `owlrl` (pure Python) is the reference the tests compare it
with. Only entailments about named resources are kept: the inferred graph must be useful to a person
querying it, not a dump of axiomatic triples (see `is_useful`). Engines read and write N-Triples, so a
million triples never become a million Python objects on the way in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from typing import Protocol

import owlrl
import pyoxigraph as ox
import rdflib
import reasonable

from ekb.errors import InputError

OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = rdflib.RDF.type
# Types every OWL RL engine hands out to everything; they tell a reader nothing.
TRIVIAL_TYPES = {rdflib.URIRef(OWL + n) for n in ("Thing", "Class")} | {
    rdflib.URIRef(RDFS + n) for n in ("Resource", "Class", "Datatype")} | {
    rdflib.URIRef(RDF + n) for n in ("Property", "List")}
REFLEXIVE = {rdflib.URIRef(OWL + "sameAs"), rdflib.URIRef(RDFS + "subClassOf"), rdflib.URIRef(RDFS + "subPropertyOf"),
             rdflib.URIRef(OWL + "equivalentClass"), rdflib.URIRef(OWL + "equivalentProperty")}
BUILT_IN = (OWL, RDF, RDFS, XSD)
RdflibTriple = tuple[rdflib.term.Node, rdflib.term.Node, rdflib.term.Node]


class Reasoner(Protocol):
    name: str

    def closure(self, premises: bytes) -> Iterable[RdflibTriple]:
        """Every triple the engine holds after materialising the N-Triples `premises` (asserted and inferred)."""


class ReasonableReasoner:
    name = "reasonable"

    def closure(self, premises: bytes) -> Iterable[RdflibTriple]:
        engine = reasonable.PyReasoner()
        # Through a file: reasonable parses Turtle natively, much faster than taking rdflib terms from Python.
        with tempfile.NamedTemporaryFile(suffix=".ttl") as file:
            file.write(premises)
            file.flush()
            engine.load_file(file.name)
        return engine.reason()


class OwlrlReasoner:
    name = "owlrl"

    def closure(self, premises: bytes) -> Iterable[RdflibTriple]:
        graph = rdflib.Graph().parse(data=premises, format="nt")
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(graph)
        return graph


REASONERS: dict[str, type] = {"reasonable": ReasonableReasoner, "owlrl": OwlrlReasoner}


def reasoner_named(name: str) -> Reasoner:
    try:
        return REASONERS[name]()
    except KeyError:
        raise InputError(f"unknown reasoner {name!r}; choose one of {', '.join(REASONERS)}") from None


def is_useful(s: rdflib.term.Node, p: rdflib.term.Node, o: rdflib.term.Node) -> bool:
    """An entailment worth storing: about named things, not axiomatic, not reflexive, not about
    datatypes or OWL's own vocabulary."""
    if not isinstance(s, rdflib.URIRef) or not isinstance(p, rdflib.URIRef) or isinstance(o, rdflib.BNode):
        return False
    if s.startswith(BUILT_IN):
        return False
    if p == RDF_TYPE and o in TRIVIAL_TYPES:
        return False
    return not (p in REFLEXIVE and s == o)


def useful_ntriples(closure: Iterable[RdflibTriple]) -> Iterator[str]:
    """The useful part of a closure as N-Triples lines (asserted triples are removed later, in the store)."""
    for s, p, o in closure:
        if is_useful(s, p, o):
            yield f"{s.n3()} {p.n3()} {o.n3()} .\n"


def entailments(triples: Iterable[ox.Triple], reasoner: Reasoner) -> list[ox.Triple]:
    """What OWL 2 RL adds to `triples`, filtered to the useful part, in a stable order (small data: tests, tools)."""
    asserted = set(triples)
    premises = ox.serialize(list(asserted), format=ox.RdfFormat.N_TRIPLES)
    lines = "".join(useful_ntriples(reasoner.closure(premises))).encode("utf-8")
    inferred = {q.triple for q in ox.parse(lines, format=ox.RdfFormat.N_TRIPLES)} - asserted
    return sorted(inferred, key=str)
