"""The governance gate: a change is stored only if it adds no Violation the store does not have already.

Two ways to judge a change: on a copy of the whole store (`check_change`, exact for any rule), or on the change's
neighbourhood (`check_delta`, for a change known as triples: the shapes are run on what lies within three links of
what the change touches, and what the SPARQL rules read wherever the change can alter their result, see
`rule_reach`). Which one a write meets is the knowledge base's choice (`KnowledgeBase._local_reach`): the
neighbourhood whenever the rules' reach can be bounded, on a large store always."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph as ox
import rdflib

from ekb.closure import EQUIVALENT_PROPERTY, INVERSE_OF, SUB_PROPERTY_OF, SYMMETRIC_PROPERTY, schema_ntriples
from ekb.config import (
    DATA_GRAPH_FILTER,
    ONTOLOGY_GRAPH,
    ONTOLOGY_NS,
    PROTECTED_GRAPHS,
    RDF_TYPE,
    RDFS_LABEL,
    RDFS_SUBCLASS,
    SH,
    SHAPES_GRAPH,
    is_data_graph,
)
from ekb.findings import Finding, Report, replaced_results
from ekb.interpretation import in_reading_order, shape_tables, with_context
from ekb.rule_reach import reach
from ekb.store import NTRIPLES, EmbeddedStore, Store
from ekb.validation import ShaclEngine, sparql_texts, validate_store, validate_triples

SCHEMA_PREDICATES = (INVERSE_OF, SUB_PROPERTY_OF, EQUIVALENT_PROPERTY, RDFS_SUBCLASS)
HUB_LIMIT = 200  # incoming links past which a large store's neighbourhood does not follow them into a node
NEIGHBOURHOOD_HOPS = 3  # a focus one link from the change, and two more it may read (see `near_exact`); README: "three links"


@dataclass
class GateResult:
    accepted: bool
    new_findings: list[Finding]
    report: Report
    neighbourhood: frozenset = frozenset()  # what a neighbourhood check read
    focus: frozenset = frozenset()  # the nodes a neighbourhood check validated (`report` is about them only)
    far_focus: frozenset = frozenset()  # the nodes where it validated the SPARQL rules (`FarReach.foci`)
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
        """The resources the change is about: subjects (an ontology term too: a shape may target it), and objects
        that are resources and not terms of the ontology (a class or a scope links to much of the store)."""
        nodes = set()
        for t in (*self.added, *self.removed):
            if isinstance(t.subject, ox.NamedNode):
                nodes.add(t.subject.value)
            if isinstance(t.object, ox.NamedNode) and t.predicate.value != RDF_TYPE and \
                    not t.object.value.startswith(ONTOLOGY_NS):
                nodes.add(t.object.value)
        return nodes


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
                  hub_limit: int | None = HUB_LIMIT) -> tuple[set[ox.Triple], set[str]]:
    """The asserted triples within `hops` links of `seeds` (outgoing always; incoming only for nodes with at
    most `hub_limit` incoming links, so a product shared by a million agreements is not pulled in whole),
    and the nodes one link away from the seeds."""
    triples, rings = neighbourhood_rings(store, seeds, hops, hub_limit)
    return triples, rings[0] if rings else set()


def neighbourhood_rings(store: Store, seeds: set[str], hops: int,
                        hub_limit: int | None = HUB_LIMIT) -> tuple[set[ox.Triple], list[set[str]]]:
    """`neighbourhood`, with the nodes first reached at each hop (ring 0: one link from the seeds)."""
    seen, frontier, triples, rings = set(seeds), set(seeds), set(), []
    for _ in range(hops):
        if not frontier:
            break
        found = _hop(store, frontier, hub_limit)
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


HOP_BATCH = 500  # nodes per remote hop query (Virtuoso 7.2: "Too many arguments" at 5,000)


def _hop(store: Store, nodes: set[str], hub_limit: int | None) -> set[ox.Triple]:
    """The asserted triples one link from `nodes`: their outgoing links, and the incoming links of those with at
    most `hub_limit` incoming links (counted in every named graph; None: all of them). The embedded store is read through its
    pattern index (measured on the shipped model: 2.2 ms for a ring of 171 nodes against 11.6 ms for the same
    CONSTRUCT, most of it serialising and parsing the answer); any other store answers the CONSTRUCT."""
    if not isinstance(store, EmbeddedStore):  # in batches: Virtuoso refuses a VALUES of thousands of nodes
        ordered = sorted(nodes)
        return {t for i in range(0, len(ordered), HOP_BATCH)
                for t in store.construct(_hop_query(set(ordered[i:i + HOP_BATCH]), hub_limit))}
    engine, found = store.engine, set()
    for value in nodes:
        node = ox.NamedNode(value)
        found.update(q.triple for q in engine.quads_for_pattern(node, None, None) if _in_data_graph(q))
        incoming = (q for q in engine.quads_for_pattern(None, None, node) if not isinstance(q.graph_name, ox.DefaultGraph))
        links = list(incoming if hub_limit is None else itertools.islice(incoming, hub_limit + 1))
        if hub_limit is None or len(links) <= hub_limit:
            found.update(q.triple for q in links if _in_data_graph(q))
    return found


def _in_data_graph(quad: ox.Quad) -> bool:
    graph = quad.graph_name
    return isinstance(graph, ox.NamedNode) and _is_data_graph(graph)


@lru_cache(maxsize=1024)
def _is_data_graph(graph: ox.NamedNode) -> bool:
    return is_data_graph(graph.value)  # asked once per quad read: a store has few graphs


def _hop_query(nodes: set[str], hub_limit: int | None) -> str:
    """`_hop` as one CONSTRUCT (for a store reached over SPARQL)."""
    values = " ".join(str(ox.NamedNode(x)) for x in sorted(nodes))
    return f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{
        {{ VALUES ?s {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} {DATA_GRAPH_FILTER} }}
        UNION {{ {{ SELECT ?o (COUNT(*) AS ?n) WHERE {{ VALUES ?o {{ {values} }} GRAPH ?h {{ ?x ?q ?o }} }} GROUP BY ?o }}
                FILTER(?n <= {hub_limit if hub_limit is not None else "?n"}) GRAPH ?g {{ ?s ?p ?o }} {DATA_GRAPH_FILTER} }} }}"""


def ontology_context(store: Store) -> bytes:
    """What validation reads of the ontology besides the neighbourhood, as N-Triples: the class hierarchy and
    the terms' labels (what shapes read there) and the property axioms (what the closure reads). It changes only
    with a load or a write of a property axiom (`SCHEMA_PREDICATES`): the knowledge base keeps it in between."""
    hierarchy = store.query(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }}
        VALUES ?p {{ <{RDFS_SUBCLASS}> <{RDFS_LABEL}> }} }}""", graph_format=NTRIPLES).body
    return hierarchy + schema_ntriples(store)


# The neighbourhood is exact for a rule whose paths are one predicate, in either direction (alternatives of those
# too), whose nested shapes (sh:node, sh:qualifiedValueShape, sh:or, ...) are of that kind, and which has no SPARQL
# constraint: it reads at most two links from its focus (a value, and the value's type or properties), so a change
# can alter its result only on a node at most one link from what the change touches, and that node's result
# depends on what lies within three links of the change: the nodes `check_delta` validates, on the triples it
# reads. A SPARQL constraint may read anything (the shipped separation rules follow `org:unitOf*` to any depth):
# its reach is walked along its own patterns (`rule_reach`), and its focus nodes and evidence are added.
SHAPE_LINKS = tuple(SH + n for n in ("node", "qualifiedValueShape", "or", "and", "xone", "not", "property"))
SH_PATH, SH_INVERSE, SH_ALTERNATIVE, SH_SPARQL = (SH + n for n in ("path", "inversePath", "alternativePath", "sparql"))


@lru_cache(maxsize=4)
def near_exact(shapes_nt: bytes) -> bool:
    """Whether every rule without a SPARQL constraint reads within the neighbourhood (see above)."""
    graph = rdflib.Graph().parse(data=shapes_nt, format="nt")
    kinds = (rdflib.URIRef(SH + c) for c in ("ConstraintComponent", "SPARQLTarget"))
    if any(True for p in BEYOND_CORE for _ in graph.triples((None, rdflib.URIRef(SH + p), None))) or any(
            True for kind in kinds for _ in graph.subjects(rdflib.RDF.type, kind)):
        return False  # SHACL-AF targets and rules, SPARQL-based constraint components: they read anywhere
    if any(not set(graph.subjects(rdflib.URIRef(SH_SPARQL), holder)) for holder, _, _ in sparql_texts(graph)):
        return False  # a SPARQL text that is not a rule's sh:sparql constraint (see `rule_reach`)
    for path in graph.objects(None, rdflib.URIRef(SH_PATH)):
        if not _one_link(graph, path):
            return False
    for link in SHAPE_LINKS[:-1]:  # a nested shape evaluated on a value: itself only one level deep
        for nested in _members(graph, graph.objects(None, rdflib.URIRef(link))):
            if any(_members(graph, graph.objects(nested, rdflib.URIRef(deeper))) for deeper in SHAPE_LINKS[:-1]):
                return False
            for prop in graph.objects(nested, rdflib.URIRef(SH + "property")):  # its values' own values: no deeper
                if any(True for deeper in (*SHAPE_LINKS[:-1], SH + "class") for _ in graph.objects(prop, rdflib.URIRef(deeper))):
                    return False
    return True


BEYOND_CORE = ("target", "rule", "validator", "nodeValidator", "propertyValidator")


def removed_from_view(store: Store, delta: Delta) -> frozenset[ox.Triple]:
    """The triples a change removes from what validation reads: a write never removes a triple from a graph only
    `ekb load` writes (`Delta.apply`), so one the ontology also states stays."""
    if not delta.removed:
        return frozenset()
    if isinstance(store, EmbeddedStore):
        protected = {ox.NamedNode(g) for g in PROTECTED_GRAPHS}
        return frozenset(t for t in delta.removed if not any(
            q.graph_name in protected for q in store.engine.quads_for_pattern(t.subject, t.predicate, t.object, None)))
    graphs = " ".join(f"<{g}>" for g in PROTECTED_GRAPHS)
    return frozenset(t for t in delta.removed if not store.ask(f"ASK {{ VALUES ?g {{ {graphs} }} GRAPH ?g {{ {t} }} }}"))


@lru_cache(maxsize=4)
def far_rules(shapes_nt: bytes) -> frozenset[str]:
    """The rules (node shapes) with a SPARQL constraint: those whose reach `rule_reach` walks."""
    graph = rdflib.Graph().parse(data=shapes_nt, format="nt")
    return frozenset(str(shape) for holder, _, _ in sparql_texts(graph)
                     for shape in graph.subjects(rdflib.URIRef(SH_SPARQL), holder))


@dataclass(frozen=True)
class FarReach:
    """Where a change can alter a SPARQL rule's result (`foci`) and what those rules read there (`read`)."""

    foci: frozenset[str] = frozenset()
    read: frozenset[ox.Triple] = frozenset()
    complete: bool = True  # False: the reach could not be bounded (a large store judges on the neighbourhood alone)


def far_reach(store: Store, delta: Delta, shapes_nt: bytes, ontology_nt: bytes) -> FarReach | None:
    """The SPARQL rules' reach for a change (`rule_reach.reach`); None when it cannot be bounded: the change
    states a property axiom (the closure every rule reads changes), or a rule or the walk is unbounded."""
    if delta.changes_schema() or not near_exact(shapes_nt):
        return None
    found = reach(store, shapes_nt, _parsed(ontology_nt), frozenset(delta.added), removed_from_view(store, delta))
    return None if found is None else FarReach(frozenset(found[0]), frozenset(found[1]))


def _members(graph: rdflib.Graph, nodes) -> list:
    """Shapes given directly or as an RDF list (sh:or ( ... ))."""
    found = []
    for node in nodes:
        items = list(graph.items(node)) if (node, rdflib.RDF.first, None) in graph else [node]
        found.extend(items)
    return found


def _one_link(graph: rdflib.Graph, path) -> bool:
    """A path of one predicate, its inverse, or alternatives of those."""
    if isinstance(path, rdflib.URIRef):
        return True
    inverse = graph.value(path, rdflib.URIRef(SH_INVERSE))
    if inverse is not None:
        return isinstance(inverse, rdflib.URIRef)
    alternatives = graph.value(path, rdflib.URIRef(SH_ALTERNATIVE))
    if alternatives is not None:
        return all(_one_link(graph, p) for p in graph.items(alternatives))
    return False


@lru_cache(maxsize=4)
def _parsed(ntriples: bytes) -> frozenset[ox.Triple]:
    """N-Triples a knowledge base keeps (its `ontology_context`), parsed once per version."""
    return frozenset(ox.parse(ntriples, format=ox.RdfFormat.N_TRIPLES))


def check_delta(store: Store, delta: Delta, engine: ShaclEngine | None = None,
                ontology_nt: bytes | None = None, shapes_nt: bytes | None = None,
                hub_limit: int | None = HUB_LIMIT, far: FarReach | None = None) -> GateResult:
    """The gate for a change known as triples: validate only what the change can affect.

    The shapes are run on the change's neighbourhood (see `neighbourhood`) plus the ontology, and on what the
    SPARQL rules read where the change can alter their result (`far`, see `far_reach`), for the touched
    resources, their direct neighbours and those focus nodes, after the change and, when anything is found,
    before it; what is new after is what the change adds. Exact when every link is followed and `far` is the
    change's reach (without it, exact for the rules without a SPARQL constraint only).
    `ontology_nt` and `shapes_nt`: the store's `ontology_context` and shapes, when the caller keeps them;
    `hub_limit`: see `neighbourhood` (None on a store small enough to follow every link)."""
    far = far or FarReach()
    touched = delta.touched()
    triples, ring = neighbourhood(store, touched, hub_limit=hub_limit)
    triples |= far.read
    context = _parsed(ontology_nt if ontology_nt is not None else ontology_context(store))
    shapes = shapes_nt if shapes_nt is not None else store.graph_ntriples(SHAPES_GRAPH)
    near = touched | ring
    focus = sorted(near | far.foci)
    # As `Delta.apply` on a store holding the neighbourhood in a data graph and the ontology in its own.
    after_triples = (triples - removed_from_view(store, delta)) | set(delta.added) | context
    after = validate_triples(after_triples, shapes, store, engine, focus, enrich=False)
    # At a node only the SPARQL rules' reach brought in, the other rules read an incomplete neighbourhood: equal
    # before and after (the change lies more than one link away), but not the store's findings: left out.
    rules = far_rules(shapes)
    _, parents = shape_tables(shapes)
    after.findings = [f for f in after.findings if f.focus in near or f.rule in rules]
    new = []
    if after.findings:  # nothing found after the change: nothing new, whatever was found before (most writes)
        before = validate_triples(triples | context, shapes, store, engine, focus, enrich=False)
        known = {f.key for f in before.findings}
        new = _in_context([f for f in after.findings if f.key not in known], store, triples, after_triples)
    after.report_graph = replaced_results(after.report_graph, rdflib.Graph(), lambda node, shape: not (
        node in near or parents.get(shape, (shape,))[0] in rules))  # those results dropped, none taken
    # The neighbourhood holds every asserted triple of each touched subject, so these counts are exact.
    added = {ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(delta.graph)) for t in set(delta.added) - triples}
    removed = {ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in set(delta.removed) & triples}
    return GateResult(not any(f.severity == "Violation" for f in new), new, after, frozenset(triples),
                      frozenset(near), far.foci, inserted=len(added), deleted=len(removed), added=frozenset(added),
                      removed=frozenset(removed))


def _in_context(findings: list[Finding], store: Store, before: set[ox.Triple], after: set[ox.Triple]) -> list[Finding]:
    """New findings with their labels, kinds and owners (`with_context`): from the store, except those about a
    resource the change brings in (nothing was asserted about it before), whose label and owner the change itself
    states: from what the gate read after the change."""
    known = {t.subject.value for t in before if isinstance(t.subject, ox.NamedNode)}
    fresh = [f for f in findings if f.focus not in known]
    if not fresh:
        return with_context(findings, store)
    scratch = EmbeddedStore()
    scratch.replace_graphs({"urn:ekb:gate:after": ox.serialize(after, format=ox.RdfFormat.N_TRIPLES)})
    return in_reading_order(with_context([f for f in findings if f.focus in known], store)
                            + with_context(fresh, scratch))


def updated_report(kept: Report, result: GateResult, store: Store, shapes_nt: bytes, recontext: bool = True) -> Report:
    """The kept full report after a write its gate judged on its neighbourhood and the SPARQL rules' reach: on the nodes
    of its neighbourhood, the findings of the rules without a SPARQL constraint are those it found after the change,
    and on the nodes of the SPARQL rules' reach, those rules' findings (exact there, and no other node's can have
    changed). No validation beyond the gate's own. The labels and owners of every finding are read again
    (`recontext`) unless the write cannot have changed them (the caller knows: it named nothing
    `interpretation.context_terms` reads and entailed nothing new, or it reads them later: `recontexted`); else only
    the new findings' are read. On a large store the neighbourhood skips the incoming links of a hub: a rule without
    a SPARQL constraint whose evidence lies behind one is not exact there (as `refreshed_report`)."""
    clock = time.perf_counter()
    far, far_focus = far_rules(shapes_nt), result.far_focus
    near = result.focus
    _, parents = shape_tables(shapes_nt)

    def renewed(node: str, rule: str) -> bool:
        return (node in near and rule not in far) or (node in far_focus and rule in far)
    findings = [f for f in kept.findings if not renewed(f.focus, f.rule)]
    found = [f for f in result.report.findings if renewed(f.focus, f.rule)]
    findings = (with_context(findings + found, store) if recontext
                else in_reading_order(findings + with_context(found, store)))
    return _kept_after(kept, findings, kept.graph_replaced(
        result.report.report_graph, lambda node, shape: renewed(node, parents.get(shape, (shape,))[0])), clock)


def _kept_after(kept: Report, findings: list[Finding], graph: tuple, clock: float) -> Report:
    """The kept report's successor: its rules, engine and validated size, these findings and graph
    (`Report.graph_replaced`), started now, timed from `clock`."""
    started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Report(findings, kept.rules, kept.engine, started, time.perf_counter() - clock, kept.triples, *graph)


# The kept report is brought up to date around what the writes since touched. A finding can change when its focus
# node is up to REPORT_FOCUS_HOPS links from a changed triple (SeparateLegalEntityShape: a unit, its legal entity,
# the other unit whose scope changed), and its rule reads up to REPORT_READ_HOPS links from the focus
# (IndependentFunctioningShape: person, post, unit, parent unit, the capability performed there).
REPORT_FOCUS_HOPS = 2
REPORT_READ_HOPS = 4


def refreshed_report(kept: Report, touched: set[str], store: Store, engine: ShaclEngine | None = None,
                     ontology_nt: bytes | None = None, shapes_nt: bytes | None = None) -> Report:
    """The kept full report after writes that touched `touched` (resources, as `Delta.touched`): the findings on
    every node within REPORT_FOCUS_HOPS links of them are validated again, on what lies within
    REPORT_READ_HOPS links of those nodes, and replace the kept ones there; every other finding stands. Labels
    and owners are read again for all (a write can rename the owner other findings name). Exact for the shipped
    rules (test_incremental compares it with a full validation after random writes), as far as no hub (a node
    with more incoming links than `neighbourhood` follows) lies on the way."""
    clock = time.perf_counter()
    triples, rings = neighbourhood_rings(store, set(touched), REPORT_FOCUS_HOPS + REPORT_READ_HOPS)
    focus = set(touched).union(*rings[:REPORT_FOCUS_HOPS])
    context = _parsed(ontology_nt if ontology_nt is not None else ontology_context(store))
    shapes = shapes_nt if shapes_nt is not None else store.graph_ntriples(SHAPES_GRAPH)
    after = validate_triples(triples | context, shapes, store, engine, sorted(focus), enrich=False) if focus else None
    findings = [f for f in kept.findings if f.focus not in focus]
    findings += after.findings if after else []
    graph = kept.graph_replaced(after.report_graph, lambda node, _shape: node in focus) if after else kept.graph_replaced()
    return _kept_after(kept, with_context(findings, store), graph, clock)


def recontexted(kept: Report, store: Store) -> Report:
    """The kept report with every finding's label, kind and owner read again from the store, nothing validated
    again: after writes the gate judged, whose findings are kept exact, but which named a label, an owner or a
    container that findings elsewhere show (`interpretation.context_terms`)."""
    clock = time.perf_counter()
    return _kept_after(kept, with_context(kept.findings, store), kept.graph_replaced(), clock)
