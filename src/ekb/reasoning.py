"""OWL 2 RL materialisation behind one small interface, so the fast engine and the reference agree.

`reasonable` (Rust) is the engine ekb runs; `owlrl` (pure Python) is the reference the tests compare it
with. Only entailments about named resources are kept: the inferred graph must be useful to a person
querying it, not a dump of axiomatic triples (see `is_useful`).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import Protocol

import owlrl
import pyoxigraph as ox
import reasonable

from ekb.errors import InputError
from ekb.terms import triple_to_ox, triples_to_rdflib

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
# Types every OWL RL engine hands out to everything; they tell a reader nothing.
TRIVIAL_TYPES = {OWL + "Thing", RDFS + "Resource", RDFS + "Class", OWL + "Class", RDF + "Property",
                 RDFS + "Datatype", RDF + "List"}
REFLEXIVE = {OWL + "sameAs", RDFS + "subClassOf", RDFS + "subPropertyOf", OWL + "equivalentClass",
             OWL + "equivalentProperty"}


class Reasoner(Protocol):
    name: str

    def closure(self, triples: list[ox.Triple]) -> set[ox.Triple]:
        """Every triple the engine holds after materialisation (asserted and inferred)."""


class ReasonableReasoner:
    name = "reasonable"

    def closure(self, triples: list[ox.Triple]) -> set[ox.Triple]:
        engine = reasonable.PyReasoner()
        # Through a file: reasonable parses Turtle natively, much faster than taking rdflib terms from Python.
        with tempfile.NamedTemporaryFile(suffix=".ttl") as premises:
            premises.write(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES))
            premises.flush()
            engine.load_file(premises.name)
        return {t for t in (triple_to_ox(*row) for row in engine.reason()) if t is not None}


class OwlrlReasoner:
    name = "owlrl"

    def closure(self, triples: list[ox.Triple]) -> set[ox.Triple]:
        graph = triples_to_rdflib(triples)
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False).expand(graph)
        return {t for t in (triple_to_ox(*row) for row in graph) if t is not None}


REASONERS: dict[str, type] = {"reasonable": ReasonableReasoner, "owlrl": OwlrlReasoner}


def reasoner_named(name: str) -> Reasoner:
    try:
        return REASONERS[name]()
    except KeyError:
        raise InputError(f"unknown reasoner {name!r}; choose one of {', '.join(REASONERS)}") from None


def is_useful(t: ox.Triple) -> bool:
    """An entailment worth storing: about named things, not axiomatic, not reflexive, not about
    datatypes or OWL's own vocabulary."""
    s, p, o = t.subject, t.predicate, t.object
    if not isinstance(s, ox.NamedNode) or isinstance(o, ox.BlankNode):
        return False
    if s.value.startswith((OWL, RDF, RDFS, XSD)):
        return False
    if p.value == RDF_TYPE and isinstance(o, ox.NamedNode) and o.value in TRIVIAL_TYPES:
        return False
    return not (p.value in REFLEXIVE and s == o)


def entailments(triples: Iterable[ox.Triple], reasoner: Reasoner) -> list[ox.Triple]:
    """What OWL 2 RL adds to `triples`, filtered to the useful part, in a stable order."""
    asserted = set(triples)
    inferred = reasoner.closure(list(asserted)) - asserted
    return sorted((t for t in inferred if is_useful(t)), key=str)
