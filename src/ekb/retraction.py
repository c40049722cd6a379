"""Entailments kept up to date by a write, without re-materialising the whole store.

The inferred graph holds the useful OWL 2 RL closure of the premises (ontology and data graphs, see
`loader.premise_ntriples`) minus the premises themselves. After a write that removes triples, that graph is
brought to exactly what `KnowledgeBase.refresh_inferences` would compute, by delete-and-rederive (DRed):

1. **Over-delete.** `X`, the closure of the removed triples `R` with the schema and the facts of transitive
   ("joining") properties that touch them, holds every entailment that has a derivation using `R`. `Y`, the
   closure of facts still asserted around `R`, holds entailments that certainly survive. The over-deleted set
   is `D = (X - Y) ∩ inferred`, taken out of the inferred graph.
2. **Re-derive.** What remains around `D ∪ R` (asserted and inferred) is reasoned over with the schema; every
   member of `D ∪ R` found again (and not asserted) goes back into the inferred graph.

Why this is exact, and where it stops. The method relies on the shape of OWL 2 RL under a schema that uses only
the "local" vocabulary (`reasoning.is_local`: sub-class, sub-/inverse/equivalent property, domain, range,
transitive and symmetric properties). Then every rule but one derives a fact from a single data fact and the
schema, about the same resources (a type of the subject or object, an inverse, a super-property); the one rule
joining two data facts is transitivity, and the stored closure being transitively closed, any chain through a
removed triple `s P o` is `x P s, s P o, o P z` with both outer facts stored and touching `s` or `o`: one hop
around the removed triple bounds the over-deletion. Re-derivation needs, for a lost type of `x`, one remaining
fact per (predicate, direction) around `x` (a domain or range depends on the predicate only) and `x`'s types;
for a lost link between `x` and `y`, the facts between them; for a lost transitive link, the transitive facts
around both ends. A removed fact that is also entailed by what remains moves into the inferred graph.

Outside that reach the caller re-materialises everything (`OutOfReach`): a write that changes the schema (an
OWL/RDFS axiom, or a declaration of an OWL/RDFS kind, in any graph), a blank node in a fact some axiom applies to
(the others entail nothing the inferred graph keeps: `Schema.reads`), a schema that uses restrictions, property
chains, keys, `owl:sameAs` or other constructs joining facts about individuals, or a neighbourhood larger than
`MAX_PREMISES`. Each reasoner call reads only the axioms that can apply to its facts (`Schema.relevant`).
Additions use the same machinery (`add_entailments`): the closure of the added triples with the transitive facts
around them, minus what is stored already; an added triple that was an entailment leaves the inferred graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib.namespace import OWL as OWL_TERMS
from rdflib.namespace import RDFS as RDFS_TERMS

from ekb.config import (
    BASE_IRI,
    HISTORY_GRAPH,
    INFERRED_GRAPH,
    LOAD_MANIFEST_GRAPH,
    SHAPES_GRAPH,
    STAGING_PREFIX,
)
from ekb.reasoning import OWL, RDF, RDFS, Reasoner, is_local, joining_predicates, split_line, useful_ntriples
from ekb.store import NTRIPLES, Store

MAX_PREMISES = 50_000  # facts read around a change; past that, re-materialising everything is the better deal
RDF_TYPE = ox.NamedNode(RDF + "type")
INFERRED = ox.NamedNode(INFERRED_GRAPH)
# Premise graphs: the ontology and data graphs. Stored closure: those and the inferred graph.
_NOT_DATA = f"<{SHAPES_GRAPH}>, <{HISTORY_GRAPH}>, <{LOAD_MANIFEST_GRAPH}>"
CLOSURE_FILTER = f'FILTER(?g NOT IN ({_NOT_DATA}) && !STRSTARTS(STR(?g), "{STAGING_PREFIX}"))'
PREMISE_FILTER = f'FILTER(?g NOT IN ({_NOT_DATA}, <{INFERRED_GRAPH}>) && !STRSTARTS(STR(?g), "{STAGING_PREFIX}"))'
# What `loader.premise_ntriples` keeps of a graph: links between resources, and anything said of the vocabulary.
PREMISE_FORM = (f'FILTER(!isLiteral(?o) || STRSTARTS(STR(?s), "http://www.w3.org/") '
                f'|| STRSTARTS(STR(?s), "{BASE_IRI}def/"))')
# Schema statements a data graph may hold: OWL/RDFS axioms (not annotations), and declarations of OWL/RDFS kinds.
ANNOTATIONS = {"comment", "isDefinedBy", "label", "seeAlso", "versionInfo", "deprecated", "priorVersion",
               "backwardCompatibleWith", "incompatibleWith", "imports", "versionIRI",
               "annotatedSource", "annotatedProperty", "annotatedTarget", "Axiom", "Annotation"}
# Axiom annotations (`[] a owl:Axiom ; owl:annotatedSource x ...`): no OWL 2 RL rule reads them, so the blank nodes
# they are made of never stand in the way (the reasoner keeps nothing about a blank node).
UNREAD = {ox.NamedNode(OWL + n) for n in ("annotatedSource", "annotatedProperty", "annotatedTarget")}
ANNOTATION_KINDS = {ox.NamedNode(OWL + n) for n in ("Axiom", "Annotation")}
AXIOM_PREDICATES = frozenset({OWL + n for n in OWL_TERMS.__annotations__ if n[0].islower() and n not in ANNOTATIONS}
                          | {RDFS + n for n in RDFS_TERMS.__annotations__ if n[0].islower() and n not in ANNOTATIONS}
                          | {RDF + "first", RDF + "rest"})
DECLARED_KINDS = frozenset({OWL + n for n in OWL_TERMS.__annotations__ if n[0].isupper()
                         and n not in ANNOTATIONS | {"NamedIndividual", "Thing"}}
                        | {RDFS + n for n in RDFS_TERMS.__annotations__ if n[0].isupper()} | {RDF + "Property"})


EVERYTHING = {f"<{OWL}Thing>", f"<{RDFS}Resource>"}
# Axioms that apply from either side (prp-inv1/2, prp-eqp1/2, cax-eqc1/2, cax-dw).
BOTH_WAYS = {f"<{OWL}{n}>" for n in ("inverseOf", "equivalentProperty", "equivalentClass", "disjointWith")}


class OutOfReach(Exception):
    """The change is outside what the incremental method handles exactly: re-materialise everything."""


@dataclass
class Outcome:
    deleted: int = 0  # entailments taken out of the inferred graph
    added: int = 0  # entailments put in
    read: int = 0  # facts read around the change (the work done)


@dataclass
class Schema:
    joining: set[str]  # transitive properties and those feeding them, as IRIs
    mentioned: set[str]  # every term the axioms name
    # term (N-Triples spelling) -> the axioms that apply to facts using it, each with the term it leads on to
    index: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def relevant(self, facts: Iterable[ox.Triple]) -> bytes:
        """The axioms that can apply to `facts`: those about their predicates and classes, and on from there
        (super-properties and -classes, inverses, equivalents, domains and ranges). Every OWL 2 RL rule of the
        local vocabulary starts from such an axiom, and the reasoner's time grows with the schema it reads (the
        whole closure of the schema would be derived again on each call)."""
        frontier = {str(t.predicate) for t in facts} | {str(t.object) for t in facts if t.predicate == RDF_TYPE}
        frontier |= EVERYTHING  # what the reasoner types every resource as
        seen: set[str] = set()
        lines: set[str] = set()
        while frontier:
            term = frontier.pop()
            if term in seen:
                continue
            seen.add(term)
            for line, onward in self.index.get(term, ()):
                lines.add(line)
                frontier.add(onward)
        return "".join(sorted(lines)).encode("utf-8")

    def reads(self, t: ox.Triple) -> bool:
        """Whether a fact can entail anything useful. Axiom annotations cannot (no rule reads them); neither can
        a fact with a blank node whose predicate no axiom names, nor a blank node's type: what they entail is
        only about the blank node, which the inferred graph leaves out."""
        if is_unread(t):
            return False
        blank = isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)
        return not blank or (t.predicate != RDF_TYPE and t.predicate.value in self.mentioned)


# ------------------------------------------------------------------------------------------ entry points

def retract_entailments(store: Store, removed: Iterable[ox.Triple], reasoner: Reasoner,
                        max_premises: int = MAX_PREMISES, schema: Schema | None = None) -> Outcome:
    """After `removed` left the data graphs (and before anything else changed), make the inferred graph what a
    full re-materialisation gives. Raises OutOfReach when it cannot promise that. `schema`: the store's
    `read_schema`, when the caller keeps it (see `changes_schema`)."""
    outcome = Outcome()
    schema = schema or read_schema(store)
    removed = premises_only(removed, schema)
    check_not_schema(removed, "the removal")
    removed -= asserted(store, removed)  # still stated in another graph: no premise was lost
    if not removed:
        return outcome
    budget = Budget(max_premises, schema)
    nodes, lost = derived_around(store, removed, schema, reasoner, budget)
    kept_premises = budget.take(around(store, nodes, pairs_of(lost), schema.joining, PREMISE_FILTER))
    surviving = closure(kept_premises, schema, reasoner)
    suspects = lost - surviving - removed
    over_deleted = inferred_among(store, suspects)
    outcome.deleted = len(over_deleted)
    delete_inferred(store, over_deleted)
    candidates = over_deleted | removed
    remaining = budget.take(around(store, subjects_of(candidates), pairs_of(candidates),
                                   schema.joining, CLOSURE_FILTER, ends_of(candidates, schema.joining)))
    found = (closure(remaining, schema, reasoner) | surviving) & candidates
    found -= asserted(store, found)
    insert_inferred(store, found)
    outcome.added, outcome.read = len(found), budget.used
    return outcome


def add_entailments(store: Store, added: Iterable[ox.Triple], reasoner: Reasoner,
                    max_premises: int = MAX_PREMISES, schema: Schema | None = None) -> Outcome:
    """After `added` went into the data graphs (and stayed: the store holds them), make the inferred graph what
    a full re-materialisation gives. Raises OutOfReach when it cannot promise that. `schema`: the store's
    `read_schema`, when the caller keeps it."""
    outcome = Outcome()
    schema = schema or read_schema(store)
    added = premises_only(added, schema)
    check_not_schema(added, "the addition")
    if not added:
        return outcome
    budget = Budget(max_premises, schema)
    _, derived = derived_around(store, added, schema, reasoner, budget)
    new = derived - stored(store, derived)
    newly_asserted = inferred_among(store, added)  # an entailment now stated: the inferred graph never repeats one
    delete_inferred(store, newly_asserted)
    insert_inferred(store, new)
    outcome.added, outcome.deleted, outcome.read = len(new), len(newly_asserted), budget.used
    return outcome


# ------------------------------------------------------------------------------------------ the schema

def derived_around(store: Store, change: set[ox.Triple], schema: Schema, reasoner: Reasoner,
                   budget: Budget) -> tuple[set[ox.NamedNode], set[ox.Triple]]:
    """The change's nodes, and what the reasoner derives from the change with the transitive facts that join it,
    kept to their reach: what an addition may add, or a removal may take away."""
    nodes = node_set(change)
    joining = budget.take(joining_facts(store, nodes, schema.joining, CLOSURE_FILTER))
    reach = nodes | node_set(joining)
    return nodes, {t for t in closure(change | joining, schema, reasoner) if touches(t, reach)}


def read_schema(store: Store) -> Schema:
    """The axioms of the ontology graph and of any data graph (labels, definitions and the facts about the
    ontology's own individuals are left out: no entailment about the data depends on them, and the reasoner's time
    grows with what it reads), refused if they use a construct whose rules join two facts about individuals."""
    predicates = " ".join(f"<{p}>" for p in sorted(AXIOM_PREDICATES))
    kinds = " ".join(f"<{k}>" for k in sorted(DECLARED_KINDS))
    text = store.query(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{
        {{ VALUES ?p {{ {predicates} }} GRAPH ?g {{ ?s ?p ?o }} }}
        UNION {{ VALUES ?o {{ {kinds} }} BIND(<{RDF_TYPE.value}> AS ?p) GRAPH ?g {{ ?s ?p ?o }} }}
        {PREMISE_FILTER} }}""", graph_format=NTRIPLES).body
    facts = [split_line(line) for line in text.decode("utf-8").splitlines() if line.strip()]
    for subject, predicate, obj in facts:
        if not is_local(subject, predicate, obj):
            raise OutOfReach(f"the schema states {subject} {predicate} {obj}: a construct whose rules join facts "
                             "about individuals")
    mentioned = {term[1:-1] for fact in facts for term in fact if term.startswith("<")}
    index: dict[str, list[tuple[str, str]]] = {}
    for subject, predicate, obj in facts:
        line = f"{subject} {predicate} {obj} .\n"
        index.setdefault(subject, []).append((line, obj))
        if predicate in BOTH_WAYS:
            index.setdefault(obj, []).append((line, subject))
    return Schema({p[1:-1] for p in joining_predicates(facts)}, mentioned, index)


def changes_schema(triples: Iterable[ox.Triple]) -> bool:
    """Whether a write of `triples` can change what `read_schema` reads (an OWL/RDFS axiom or a declaration of an
    OWL/RDFS kind, whatever its subject): a kept Schema is read again after such a write. Broader than
    `check_not_schema`'s refusal, which only sees the facts `premises_only` keeps."""
    return any(t.predicate.value in AXIOM_PREDICATES or (t.predicate == RDF_TYPE and t.object.value in DECLARED_KINDS)
               for t in triples)


def check_not_schema(triples: set[ox.Triple], what: str) -> None:
    for t in triples:
        if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
            raise OutOfReach(f"{what} has a blank node ({t})")
        if t.predicate.value in AXIOM_PREDICATES or (t.predicate == RDF_TYPE and t.object.value in DECLARED_KINDS):
            raise OutOfReach(f"{what} changes the schema ({t})")


# ------------------------------------------------------------------------------------------ reading around

class Budget:
    """Counts the facts read; past the limit the change is out of reach."""

    def __init__(self, limit: int, schema: Schema):
        self.limit, self.used, self.schema = limit, 0, schema

    def take(self, facts: set[ox.Triple]) -> set[ox.Triple]:
        facts = {t for t in facts if self.schema.reads(t)}
        self.used += len(facts)
        if self.used > self.limit:
            raise OutOfReach(f"the change reaches more than {self.limit:,} facts")
        for t in facts:
            if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
                raise OutOfReach(f"a fact around the change has a blank node ({t})")
        return facts


def premises_only(triples: Iterable[ox.Triple], schema: Schema) -> set[ox.Triple]:
    """The triples the reasoner reads (`loader.premise_ntriples`; literal values of individuals are not) that can
    entail anything (`Schema.reads`)."""
    return {t for t in triples if schema.reads(t) and (not isinstance(t.object, ox.Literal)
            or t.subject.value.startswith(("http://www.w3.org/", BASE_IRI + "def/")))}


def is_unread(t: ox.Triple) -> bool:
    return t.predicate in UNREAD or (t.predicate == RDF_TYPE and t.object in ANNOTATION_KINDS)


def node_set(triples: Iterable[ox.Triple]) -> set[ox.NamedNode]:
    """The resources facts are about: subjects, and objects other than classes."""
    nodes = set()
    for t in triples:
        nodes.add(t.subject)
        if t.predicate != RDF_TYPE and isinstance(t.object, ox.NamedNode):
            nodes.add(t.object)
    return nodes


def subjects_of(triples: Iterable[ox.Triple]) -> set[ox.NamedNode]:
    return {t.subject for t in triples if t.predicate == RDF_TYPE}


def pairs_of(triples: Iterable[ox.Triple]) -> set[tuple[ox.NamedNode, ox.NamedNode]]:
    return {(t.subject, t.object) for t in triples if t.predicate != RDF_TYPE and isinstance(t.object, ox.NamedNode)}


def ends_of(triples: Iterable[ox.Triple], joining: set[str]) -> set[ox.NamedNode]:
    return node_set(t for t in triples if t.predicate.value in joining)


def touches(t: ox.Triple, nodes: set[ox.NamedNode]) -> bool:
    return t.subject in nodes or (t.predicate != RDF_TYPE and t.object in nodes)


def values(nodes: Iterable[ox.NamedNode]) -> str:
    return " ".join(str(n) for n in nodes)


def joining_facts(store: Store, nodes: set[ox.NamedNode], joining: set[str], graphs: str) -> set[ox.Triple]:
    """Every fact of a transitive property (or one feeding it) with an end in `nodes`."""
    if not nodes or not joining:
        return set()
    predicates = " ".join(f"<{p}>" for p in sorted(joining))
    return set(store.construct(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?p {{ {predicates} }}
        {{ VALUES ?s {{ {values(nodes)} }} GRAPH ?g {{ ?s ?p ?o }} }}
        UNION {{ VALUES ?o {{ {values(nodes)} }} GRAPH ?g {{ ?s ?p ?o }} }} {graphs} }}"""))


def around(store: Store, nodes: set[ox.NamedNode], pairs: set[tuple[ox.NamedNode, ox.NamedNode]],
           joining: set[str], graphs: str, joining_nodes: set[ox.NamedNode] | None = None) -> set[ox.Triple]:
    """What can derive a fact about `nodes` or `pairs` in one step: each node's types and one fact per
    (predicate, direction) around it (a shared resource linked a million times is read once per predicate), the
    facts between each pair, and the transitive facts around `joining_nodes` (by default `nodes`)."""
    facts = joining_facts(store, nodes if joining_nodes is None else joining_nodes, joining, graphs)
    if nodes:
        for row in store.select(f"""SELECT ?s ?p (SAMPLE(?x) AS ?o) WHERE {{ VALUES ?s {{ {values(nodes)} }}
                GRAPH ?g {{ ?s ?p ?x }} FILTER(?p != <{RDF_TYPE.value}>) {graphs} {PREMISE_FORM.replace('?o', '?x')} }}
                GROUP BY ?s ?p"""):
            facts.add(ox.Triple(row["s"], row["p"], row["o"]))
        for row in store.select(f"""SELECT ?o ?p (SAMPLE(?x) AS ?s) WHERE {{ VALUES ?o {{ {values(nodes)} }}
                GRAPH ?g {{ ?x ?p ?o }} {graphs} }} GROUP BY ?o ?p"""):
            facts.add(ox.Triple(row["s"], row["p"], row["o"]))
        facts |= set(store.construct(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {values(nodes)} }}
            BIND(<{RDF_TYPE.value}> AS ?p) GRAPH ?g {{ ?s ?p ?o }} {graphs} }}"""))
    if pairs:
        both = " ".join(f"({a} {b}) ({b} {a})" for a, b in pairs)
        facts |= set(store.construct(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES (?s ?o) {{ {both} }}
            GRAPH ?g {{ ?s ?p ?o }} {graphs} }}"""))
    return facts


def matching(store: Store, triples: set[ox.Triple], graphs: str) -> set[ox.Triple]:
    """The members of `triples` that the graphs `graphs` admits hold."""
    if not triples:
        return set()
    rows = " ".join(f"({t.subject} {t.predicate} {t.object})" for t in triples)
    return set(store.construct(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES (?s ?p ?o) {{ {rows} }}
        GRAPH ?g {{ ?s ?p ?o }} {graphs} }}"""))


def asserted(store: Store, triples: set[ox.Triple]) -> set[ox.Triple]:
    return matching(store, triples, PREMISE_FILTER)


def stored(store: Store, triples: set[ox.Triple]) -> set[ox.Triple]:
    return matching(store, triples, CLOSURE_FILTER)


def inferred_among(store: Store, triples: set[ox.Triple]) -> set[ox.Triple]:
    return matching(store, triples, f"FILTER(?g = <{INFERRED_GRAPH}>)")


# ------------------------------------------------------------------------------------------ reasoning, writing

def closure(facts: set[ox.Triple], schema: Schema, reasoner: Reasoner) -> set[ox.Triple]:
    """The useful closure (premises included) of `facts` with the schema, as the inferred graph would hold it."""
    premises = schema.relevant(facts) + ox.serialize(list(facts), format=ox.RdfFormat.N_TRIPLES)
    lines = "".join(useful_ntriples(reasoner.closure(premises))).encode("utf-8")
    return {q.triple for q in ox.parse(lines, format=ox.RdfFormat.N_TRIPLES)}


def delete_inferred(store: Store, triples: set[ox.Triple]) -> None:
    if triples:
        body = ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
        store.update(f"DELETE DATA {{ GRAPH {INFERRED} {{\n{body}\n}} }}")


def insert_inferred(store: Store, triples: set[ox.Triple]) -> None:
    if triples:
        body = ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
        store.update(f"INSERT DATA {{ GRAPH {INFERRED} {{\n{body}\n}} }}")
