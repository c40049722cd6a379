"""OWL 2 RL materialisation behind one small interface, so the fast engine and the reference agree.

`reasonable` (Rust) is the engine ekb runs; `owlrl` (pure Python) is the reference the tests compare it
with. Only entailments about named resources are kept: the inferred graph must be useful to a person
querying it, not a dump of axiomatic triples (see `is_useful`). Engines read and write N-Triples, so a
million triples never become a million Python objects on the way in.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

import owlrl
import pyoxigraph as ox
import rdflib
import reasonable

from ekb.config import BASE_IRI, PREFIXES
from ekb.errors import InputError

OWL, RDF, RDFS, XSD = PREFIXES["owl"], PREFIXES["rdf"], PREFIXES["rdfs"], PREFIXES["xsd"]
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


def useful_ntriples(closure: Iterable[RdflibTriple]) -> Iterator[str]:
    """The entailments worth storing, as N-Triples lines in the engine's own spelling (so a set difference
    with the engine-serialised premises is exact): about named things, not axiomatic, not reflexive, not
    about datatypes or OWL's own vocabulary."""
    for s, p, o in closure:
        if type(s) is not rdflib.URIRef or type(o) is rdflib.BNode or s.startswith(BUILT_IN):
            continue
        if p == RDF_TYPE:
            if o in TRIVIAL_TYPES:
                continue
        elif p in REFLEXIVE and s == o:
            continue
        if type(o) is rdflib.URIRef:
            yield f"<{s}> <{p}> <{o}> .\n"
        else:
            yield f"<{s}> <{p}> {engine_literal(o)} .\n"


def engine_literal(literal: rdflib.Literal) -> str:
    datatype = ox.NamedNode(literal.datatype) if literal.datatype and not literal.language else None
    return str(ox.Literal(str(literal), language=literal.language, datatype=datatype))


# ------------------------------------------------------------------------------------------ partitions
# OWL 2 RL rules that join two facts about individuals need the whole data at once; every other rule
# joins one fact with the schema. For an ontology that only uses the schema vocabulary below, the data can
# therefore be reasoned over in slices (each with the whole schema), as long as every fact whose predicate
# is transitive (or feeds a transitive property) is in one slice. That keeps memory flat and time linear.
OWL_NS, RDFS_NS, RDF_NS = f"<{OWL}", f"<{RDFS}", f"<{RDF}"
VOCABULARY = (OWL_NS, RDFS_NS, RDF_NS)
LOCAL_PREDICATES = {f"<{OWL}{n}>" for n in ("inverseOf", "equivalentClass", "equivalentProperty", "disjointWith",
                                            "imports", "versionInfo", "versionIRI", "priorVersion", "deprecated",
                                            "backwardCompatibleWith", "incompatibleWith")} | {
    f"<{RDFS}{n}>" for n in ("subClassOf", "subPropertyOf", "domain", "range", "label", "comment", "seeAlso",
                             "isDefinedBy")} | {f"<{RDF}type>"}
LOCAL_TYPES = {f"<{OWL}{n}>" for n in ("Class", "ObjectProperty", "DatatypeProperty", "AnnotationProperty",
                                       "TransitiveProperty", "SymmetricProperty", "Ontology", "NamedIndividual",
                                       "OntologyProperty", "Thing")} | {
    f"<{RDFS}{n}>" for n in ("Class", "Datatype", "Resource")} | {f"<{RDF}Property>"}
TYPE = f"<{RDF}type>"
SUB_PROPERTY, INVERSE, EQUIVALENT_PROPERTY = f"<{RDFS}subPropertyOf>", f"<{OWL}inverseOf>", f"<{OWL}equivalentProperty>"
TRANSITIVE = f"<{OWL}TransitiveProperty>"
SLICE_LINES = 25_000  # measured: the fastest size at 10^6 (8,000 to 100,000 tried)
PARALLEL_SLICES = 4
SCHEMA_PREFIX = f"<{BASE_IRI}def/"  # the ontology's own terms


def split_line(line: str) -> tuple[str, str, str]:
    subject, predicate, rest = line.split(" ", 2)
    return subject, predicate, rest.rstrip()[:-1].rstrip()  # drop " ." and the line end


def is_schema(subject: str, predicate: str, obj: str) -> bool:
    return (subject.startswith(("_:", SCHEMA_PREFIX, OWL_NS, RDFS_NS, RDF_NS)) or predicate.startswith((OWL_NS, RDFS_NS))
            or (predicate == TYPE and obj.startswith(VOCABULARY)))


def is_local(subject: str, predicate: str, obj: str) -> bool:
    """A schema fact from the vocabulary whose rules join a data fact with the schema only."""
    if subject.startswith("_:") or obj.startswith("_:"):
        return False  # restrictions, lists, anonymous classes
    if predicate.startswith(VOCABULARY) and predicate not in LOCAL_PREDICATES:
        return False
    return predicate != TYPE or obj in LOCAL_TYPES or not obj.startswith(VOCABULARY)


def slices(lines: list[str], size: int = SLICE_LINES) -> list[list[str]]:
    """The premises (N-Triples lines) cut into independently reasonable slices, the schema in each, or left
    whole when the schema uses anything that joins facts about individuals (restrictions, property chains,
    keys, sameAs...). Slices share the line objects: cutting costs no copy of the data."""
    schema: list[str] = []
    data: list[str] = []
    for line in lines:
        subject, predicate, obj = split_line(line)
        if not is_schema(subject, predicate, obj):
            data.append(line)
        elif is_local(subject, predicate, obj):
            schema.append(line)
        else:
            return [lines]
    joining = joining_predicates([split_line(line) for line in schema])
    together = [line for line in data if line.split(" ", 2)[1] in joining]
    rest = [line for line in data if line.split(" ", 2)[1] not in joining]
    first = max(0, size - len(together))  # the transitive facts, topped up to a full slice
    parts = [together + rest[:first]] + [rest[i:i + size] for i in range(first, len(rest), size)]
    return [schema + part for part in parts]


def joining_predicates(schema: list[tuple[str, str, str]]) -> set[str]:
    """Transitive properties and every property whose facts entail theirs (sub-, inverse, equivalent)."""
    joining = {s for s, p, o in schema if p == TYPE and o == TRANSITIVE}
    feeds = [(s, o) for s, p, o in schema if p == SUB_PROPERTY]  # facts of s are facts of o
    feeds += [pair for s, p, o in schema if p in (INVERSE, EQUIVALENT_PROPERTY) for pair in ((s, o), (o, s))]
    while True:
        grown = joining | {s for s, o in feeds if o in joining}
        if grown == joining:
            return joining
        joining = grown


def materialise(premises: bytes, reasoner: Reasoner, sliced: bool = True, slice_lines: int = SLICE_LINES,
                workers: int | None = None) -> Iterator[str]:
    """The useful entailments of `premises` (N-Triples) that are not premises themselves, as N-Triples lines.
    A line may repeat (slices share the schema): the store keeps one. Slices are reasoned over in worker
    processes when there are enough of them to pay for starting the workers (the engines hold the GIL)."""
    lines = premises.decode("utf-8").splitlines(keepends=True)
    asserted = set(lines)
    parts = slices(lines, slice_lines) if sliced else [lines]
    del lines
    workers = min(os.cpu_count() or 1, len(parts)) if workers is None else workers
    done = 0
    if workers > 1 and len(parts) >= PARALLEL_SLICES:
        try:
            for text in in_workers(parts, reasoner.name, workers):
                yield from (line for line in text.splitlines(keepends=True) if line not in asserted)
                parts[done] = []
                done += 1
        except BrokenProcessPool as err:  # e.g. a calling script without an `if __name__ == "__main__"` guard
            warnings.warn(f"reasoning worker processes failed ({err}); going on in this process", stacklevel=2)
    for part in parts[done:]:
        yield from (line for line in useful_ntriples(reasoner.closure(encode(part))) if line not in asserted)


def useful_text(engine: str, premises: bytes) -> str:
    """One slice's useful closure as N-Triples text (what a worker process sends back)."""
    return "".join(useful_ntriples(reasoner_named(engine).closure(premises)))


def encode(lines: list[str]) -> bytes:
    return "".join(lines).encode("utf-8")


def in_workers(parts: list[list[str]], engine: str, workers: int) -> Iterator[str]:
    """Each slice's useful closure, in order, with at most two slices per worker in flight (memory stays flat)."""
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: safe under a threaded server
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending = deque(pool.submit(useful_text, engine, encode(part)) for part in parts[:2 * workers])
        for following in parts[2 * workers:] + [None] * len(pending):
            yield pending.popleft().result()
            if following is not None:
                pending.append(pool.submit(useful_text, engine, encode(following)))


def entailments(triples: Iterable[ox.Triple], reasoner: Reasoner, sliced: bool = True) -> list[ox.Triple]:
    """What OWL 2 RL adds to `triples`, filtered to the useful part, in a stable order (small data: tests, tools)."""
    asserted = set(triples)
    premises = ox.serialize(list(asserted), format=ox.RdfFormat.N_TRIPLES)
    lines = "".join(materialise(premises, reasoner, sliced)).encode("utf-8")
    inferred = {q.triple for q in ox.parse(lines, format=ox.RdfFormat.N_TRIPLES)} - asserted
    return sorted(inferred, key=str)
