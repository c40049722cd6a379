"""The governance gate: a change is stored only if it adds no Violation the store does not have already.

Two ways to judge a change: on a copy of the whole store (`check_change`, exact, for a small store or a change
known only as an update), or on the change's neighbourhood (`check_delta`, for a change known as triples on a
large store: the shapes are run on what lies within three links of what the change touches)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import pyoxigraph as ox

from ekb.closure import EQUIVALENT_PROPERTY, INVERSE_OF, SUB_PROPERTY_OF, SYMMETRIC_PROPERTY, schema_ntriples
from ekb.config import (
    DATA_GRAPH_FILTER,
    DEFAULT_DATA_GRAPH,
    ONTOLOGY_GRAPH,
    ONTOLOGY_NS,
    PROTECTED_GRAPHS,
    RDF_TYPE,
    RDFS_LABEL,
    RDFS_SUBCLASS,
    SHAPES_GRAPH,
    is_data_graph,
)
from ekb.findings import Finding, Report, replaced_results
from ekb.interpretation import with_context
from ekb.store import NTRIPLES, EmbeddedStore, Store
from ekb.validation import ShaclEngine, validate_store

SCHEMA_PREDICATES = (INVERSE_OF, SUB_PROPERTY_OF, EQUIVALENT_PROPERTY, RDFS_SUBCLASS)
NEIGHBOURHOOD_HOPS = 3  # the farthest any shipped rule looks from a touched resource; the README says "three links"


@dataclass
class GateResult:
    accepted: bool
    new_findings: list[Finding]
    report: Report
    neighbourhood: frozenset = frozenset()  # what a neighbourhood check read (to reason over it next)
    inserted: int = 0  # triples the change adds to the data graphs (what was there already not counted)
    deleted: int = 0
    rewritten: tuple = ()  # the literals the store keeps in another form than written (ekb.literals.Rewrite)
    # The quads the change adds and removes (for the change feed). A removal found by a neighbourhood check is
    # given in the default graph: it leaves every data graph that held the triple.
    added: frozenset = frozenset()
    removed: frozenset = frozenset()

    def as_json(self) -> dict:
        return {"accepted": self.accepted, "inserted": self.inserted, "deleted": self.deleted,
                "newViolations": [f.as_json() for f in self.new_findings if f.severity == "Violation"],
                "newFindings": [f.as_json() for f in self.new_findings],
                "report": self.report.as_json()}


def staging_copy(store: Store) -> EmbeddedStore:
    """An in-memory copy of everything a change could touch or a validation read."""
    copy = EmbeddedStore()
    for graph in store.graphs():
        if is_data_graph(graph) or graph == SHAPES_GRAPH:
            copy.engine.load(store.graph_ntriples(graph), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(graph))
    return copy


def check_change(store: Store, change: Callable[[Store], None], engine: ShaclEngine | None = None,
                 baseline: Report | None = None) -> GateResult:
    """What the store plus `change` would violate, without touching the store. A change is refused when it
    adds a Violation the store does not have already; warnings and infos are reported, not refused.
    `baseline` is the store's current report, when the caller has it."""
    before = {f.key for f in (baseline or validate_store(store, engine, enrich=False)).findings}
    staging = staging_copy(store)
    data_before = _data_quads(staging)
    change(staging)
    data_after = _data_quads(staging)
    # The live store's shapes, not the copy's: the copy's blank nodes get new labels on every copy, and shapes
    # that read differently are compiled again (measured: 70 ms and ~0.5 MB more each write, up to 128 times).
    shapes = store.graph_ntriples(SHAPES_GRAPH) if SHAPES_GRAPH in store.graphs() else None
    after = validate_store(staging, engine, shapes_nt=shapes)
    new = [f for f in after.findings if f.key not in before]
    added, removed = data_after - data_before, data_before - data_after
    return GateResult(not any(f.severity == "Violation" for f in new), new, after, inserted=len(added),
                      deleted=len(removed), added=frozenset(added), removed=frozenset(removed))


def _data_quads(staging: EmbeddedStore) -> set[ox.Quad]:
    shapes = ox.NamedNode(SHAPES_GRAPH)
    return {q for q in staging.engine if q.graph_name != shapes}


@dataclass(frozen=True)
class Delta:
    """A change given as triples: what a write adds to one graph and what it removes (from every data graph the
    write routes may change: never the ontology or another graph only `ekb load` writes)."""

    graph: str
    added: tuple[ox.Triple, ...] = ()
    removed: tuple[ox.Triple, ...] = ()

    def apply(self, store: Store) -> None:
        graphs = [ox.NamedNode(g) for g in store.graphs() if is_data_graph(g) and g not in PROTECTED_GRAPHS]
        removed = [ox.Quad(t.subject, t.predicate, t.object, g) for g in graphs for t in self.removed]
        target = ox.NamedNode(self.graph)
        store.change_quads(removed, [ox.Quad(t.subject, t.predicate, t.object, target) for t in self.added])

    def triples(self) -> set[ox.Triple]:
        return {*self.added, *self.removed}

    def changes_schema(self) -> bool:
        """Whether the change states or retracts a property axiom the validation closure reads."""
        return any(t.predicate.value in SCHEMA_PREDICATES or t.object.value == SYMMETRIC_PROPERTY
                   for t in self.triples() if not isinstance(t.object, ox.Literal))

    def touched(self) -> set[str]:
        """The resources the change is about: subjects, and objects that are resources (not classes)."""
        nodes = set()
        for t in (*self.added, *self.removed):
            if isinstance(t.subject, ox.NamedNode):
                nodes.add(t.subject.value)
            if isinstance(t.object, ox.NamedNode) and t.predicate.value != RDF_TYPE:
                nodes.add(t.object.value)
        return {n for n in nodes if not n.startswith(ONTOLOGY_NS)}


@dataclass(frozen=True)
class QuadChange:
    """A change known quad by quad: what a SPARQL Update adds and removes, as its trial run on a private copy
    found it (`ekb.update_delta`). `delta` is the same change as the rules see it, in the union of the data
    graphs: a triple added that another graph held already is no change there, nor is one removed from one graph
    while another keeps it. The gate judges `delta`; `apply` stores exactly these quads."""

    added: tuple[ox.Quad, ...]
    removed: tuple[ox.Quad, ...]
    delta: Delta

    def apply(self, store: Store) -> None:
        store.change_quads(self.removed, self.added)  # never the default graph: the trial refused a write there


def neighbourhood(store: Store, seeds: set[str], hops: int = NEIGHBOURHOOD_HOPS,
                  hub_limit: int = 200) -> tuple[set[ox.Triple], set[str]]:
    """The asserted triples within `hops` links of `seeds` (outgoing always; incoming only for nodes with at
    most `hub_limit` incoming links, so a product shared by a million agreements is not pulled in whole),
    and the nodes one link away from the seeds."""
    triples, rings = neighbourhood_rings(store, seeds, hops, hub_limit)
    return triples, rings[0] if rings else set()


def neighbourhood_rings(store: Store, seeds: set[str], hops: int,
                        hub_limit: int = 200) -> tuple[set[ox.Triple], list[set[str]]]:
    """`neighbourhood`, with the nodes first reached at each hop (ring 0: one link from the seeds)."""
    seen, frontier, triples, rings = set(seeds), set(seeds), set(), []
    for _ in range(hops):
        if not frontier:
            break
        values = " ".join(str(ox.NamedNode(x)) for x in sorted(frontier))
        found = set(store.construct(f"""CONSTRUCT {{ ?x ?p ?o }} WHERE {{ VALUES ?x {{ {values} }}
            GRAPH ?g {{ ?x ?p ?o }} {DATA_GRAPH_FILTER} }}"""))
        found |= set(store.construct(f"""CONSTRUCT {{ ?s ?p ?x }} WHERE {{ VALUES ?x {{ {values} }}
            {{ SELECT ?x (COUNT(*) AS ?n) WHERE {{ VALUES ?x {{ {values} }} GRAPH ?h {{ ?s ?q ?x }} }} GROUP BY ?x }}
            FILTER(?n <= {hub_limit}) GRAPH ?g {{ ?s ?p ?x }} {DATA_GRAPH_FILTER} }}"""))
        triples |= found
        reached = set()
        for t in found:
            if isinstance(t.subject, ox.NamedNode):  # a blank node cannot be named in the next hop's VALUES
                reached.add(t.subject.value)
            if isinstance(t.object, ox.NamedNode) and t.predicate.value != RDF_TYPE:
                reached.add(t.object.value)
        reached = {n for n in reached if not n.startswith(ONTOLOGY_NS)}
        frontier = reached - seen
        seen |= frontier
        rings.append(set(frontier))
    return triples, rings


def ontology_context(store: Store) -> bytes:
    """What validation reads of the ontology besides the neighbourhood, as N-Triples: the class hierarchy and
    the terms' labels (what shapes read there) and the property axioms (what the closure reads). It changes only
    with a load or a write of a property axiom (`SCHEMA_PREDICATES`): the knowledge base keeps it in between."""
    hierarchy = store.query(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }}
        VALUES ?p {{ <{RDFS_SUBCLASS}> <{RDFS_LABEL}> }} }}""", graph_format=NTRIPLES).body
    return hierarchy + schema_ntriples(store)


def _staging(store: Store, triples: set[ox.Triple], graph: str, ontology_nt: bytes | None = None) -> EmbeddedStore:
    """A scratch store holding `triples` in `graph`, and what validation reads of the ontology."""
    staging = EmbeddedStore()
    staging.replace_graphs({ONTOLOGY_GRAPH: ontology_nt if ontology_nt is not None else ontology_context(store),
                            graph: ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES)})
    return staging


def check_delta(store: Store, delta: Delta, engine: ShaclEngine | None = None,
                ontology_nt: bytes | None = None) -> GateResult:
    """The gate for a change known as triples, on a large store: validate only what the change can affect.

    The shapes are run on the change's neighbourhood (see `neighbourhood`) plus the ontology, for the touched
    resources and their direct neighbours, before and after the change; what is new after is what the change
    adds. Exact for rules that look no further than three links from a touched resource (all shipped rules).
    `ontology_nt`: the store's `ontology_context`, when the caller keeps it."""
    touched = delta.touched()
    triples, ring = neighbourhood(store, touched)
    staging = _staging(store, triples, delta.graph, ontology_nt)
    shapes = store.graph_ntriples(SHAPES_GRAPH)  # the live store's bytes are stable: the compiled shapes are reused
    focus = sorted(touched | ring)
    before = validate_store(staging, engine, focus, context_store=store, shapes_nt=shapes, enrich=False)
    delta.apply(staging)
    after = validate_store(staging, engine, focus, context_store=store, shapes_nt=shapes, enrich=False)
    known = {f.key for f in before.findings}
    new = with_context([f for f in after.findings if f.key not in known], store)  # only what is reported
    # The neighbourhood holds every asserted triple of each touched subject, so these counts are exact.
    added = {ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(delta.graph)) for t in set(delta.added) - triples}
    removed = {ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in set(delta.removed) & triples}
    return GateResult(not any(f.severity == "Violation" for f in new), new, after, frozenset(triples),
                      inserted=len(added), deleted=len(removed), added=frozenset(added), removed=frozenset(removed))



# The kept report is brought up to date around what the writes since touched. A finding can change when its focus
# node is up to REPORT_FOCUS_HOPS links from a changed triple (SeparateLegalEntityShape: a unit, its legal entity,
# the other unit whose scope changed), and its rule reads up to REPORT_READ_HOPS links from the focus
# (IndependentFunctioningShape: person, post, unit, parent unit, the capability performed there).
REPORT_FOCUS_HOPS = 2
REPORT_READ_HOPS = 4


def refreshed_report(kept: Report, touched: set[str], store: Store, engine: ShaclEngine | None = None,
                     ontology_nt: bytes | None = None) -> Report:
    """The kept full report after writes that touched `touched` (resources, as `Delta.touched`): the findings on
    every node within REPORT_FOCUS_HOPS links of them are validated again, on what lies within
    REPORT_READ_HOPS links of those nodes, and replace the kept ones there; every other finding stands. Labels and
    owners are read again for all (a write can rename the owner other findings name). Exact for the shipped
    rules (test_incremental compares it with a full validation after random writes), as far as no hub (a node
    with more incoming links than `neighbourhood` follows) lies on the way."""
    clock = time.perf_counter()
    triples, rings = neighbourhood_rings(store, touched, REPORT_FOCUS_HOPS + REPORT_READ_HOPS)
    focus = set(touched).union(*rings[:REPORT_FOCUS_HOPS])
    after = validate_store(_staging(store, triples, DEFAULT_DATA_GRAPH, ontology_nt), engine, sorted(focus), context_store=store,
                           shapes_nt=store.graph_ntriples(SHAPES_GRAPH), enrich=False) if focus else None
    findings = [f for f in kept.findings if f.focus not in focus]
    findings += after.findings if after else []
    graph = replaced_results(kept.report_graph, focus, after.report_graph) if after else kept.report_graph
    started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Report(with_context(findings, store), kept.rules, kept.engine, started, time.perf_counter() - clock,
                  kept.triples, graph)
