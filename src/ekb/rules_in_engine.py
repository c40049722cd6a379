"""OWL 2 RL entailments computed inside a remote SPARQL engine, as SPARQL updates run to a fixed point.

On a remote store the download path (`loader.premise_ntriples` -> `reasonable` -> upload) moves every premise
into the ekb process and every entailment back: at 10^6 triples that is most of a load. Here the same inferred
graph is made where the data is. The rules are those the shipped ontology uses, with exactly the meaning
`reasonable` gives them and the same filter as `reasoning.useful_ntriples` (tests compare the two on the shipped
model and on generated data, on `oxigraph serve` and Virtuoso):

* property rules (`rdfs:subPropertyOf`, `owl:equivalentProperty`, `owl:inverseOf`, `owl:SymmetricProperty`) each
  turn one fact into another: they are chained over the (small) property schema in Python (`closure.entailments`),
  and `owl:TransitiveProperty` joins two facts. Rounds apply both, each reading only the facts the round before
  added (semi-naive; a helper graph per round, `helper_graph`) and writing only facts found nowhere yet, until a round
  adds nothing (its count is 0);
* type rules (`rdfs:domain`, `rdfs:range`, `rdfs:subClassOf`, `owl:equivalentClass`) never feed a property rule,
  so they run once at the end, with the class hierarchy chained in Python; the types asserted already are taken
  out after;
* the class hierarchy itself (`C rdfs:subClassOf E` through D) is the only schema entailment `reasonable` keeps.

The premises are what `loader.premise_ntriples` keeps (`PREMISE_FORM`: links between resources, and anything
said of the vocabulary). Only the schema (a few hundred triples), the predicates and classes in use, and counts
cross the wire. Rules are sent only for predicates and classes the premises use, as each engine plans them best
(`one_update_per_row`).

Anything else in the premises (OWL restrictions, `owl:sameAs`, functional properties, property chains, axioms on
OWL's or RDF's own terms, blank nodes in an axiom...) is refused (`NotCovered`, naming the terms) before anything
is written, so the caller reasons the download way instead: never a silently smaller closure. Transitive
closure is computed by rule rounds, not `+` paths (Virtuoso 7.2 answers some path forms wrongly).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from ekb import reasoning
from ekb.closure import entailments as property_entailments
from ekb.config import BASE_IRI, PREFIXES, STAGING_PREFIX
from ekb.errors import InputError
from ekb.remote import RemoteStore
from ekb.store import Store

OWL, RDF, RDFS = PREFIXES["owl"], PREFIXES["rdf"], PREFIXES["rdfs"]
NAME = "in-engine"
# The reasoners whose useful entailments are the same by construction (tests/test_rules_in_engine.py): a store
# whose inferred graph one of them made need not be reasoned over again for the other.
SAME_ENTAILMENTS = frozenset({"reasonable", NAME, "in-process"})  # "in-process": ekb.rules_in_process
TYPE = RDF + "type"
SUB_CLASS, EQUIVALENT_CLASS = RDFS + "subClassOf", OWL + "equivalentClass"
SUB_PROPERTY, EQUIVALENT_PROPERTY, INVERSE = RDFS + "subPropertyOf", OWL + "equivalentProperty", OWL + "inverseOf"
DOMAIN, RANGE = RDFS + "domain", RDFS + "range"
TRANSITIVE, SYMMETRIC = OWL + "TransitiveProperty", OWL + "SymmetricProperty"
AXIOMS = (SUB_CLASS, EQUIVALENT_CLASS, SUB_PROPERTY, EQUIVALENT_PROPERTY, INVERSE, DOMAIN, RANGE)
PROPERTY_AXIOMS = (SUB_PROPERTY, EQUIVALENT_PROPERTY, INVERSE)
BETWEEN_OWN_TERMS = (*PROPERTY_AXIOMS, EQUIVALENT_CLASS)  # both sides must be the ontology's (or another's) terms
BUILT_IN = (OWL, RDF, RDFS)
# Vocabulary from which `reasonable` derives nothing useful (each checked in tests/test_rules_in_engine.py):
# annotations, ontology headers, declarations, disjointness (an inconsistency, which it does not report).
NO_RULE_PREDICATES = {RDFS + n for n in ("label", "comment", "seeAlso", "isDefinedBy")} | {
    OWL + n for n in ("imports", "versionInfo", "versionIRI", "priorVersion", "deprecated", "disjointWith",
                      "annotatedSource", "annotatedProperty", "annotatedTarget")}
NO_RULE_TYPES = {OWL + n for n in ("Class", "ObjectProperty", "DatatypeProperty", "AnnotationProperty", "Ontology",
                                   "NamedIndividual", "Thing", "Axiom")} | {
    RDFS + n for n in ("Class", "Datatype", "Resource")} | {RDF + "Property"}
COVERED = set(AXIOMS) | NO_RULE_PREDICATES | NO_RULE_TYPES | {TYPE, TRANSITIVE, SYMMETRIC}
# Built-in classes an axiom may name as a superclass, domain or range: typing with them feeds no rule.
INERT_CLASSES = {OWL + "Thing", RDFS + "Resource", RDFS + "Literal", RDF + "langString", RDF + "PlainLiteral",
                 RDF + "XMLLiteral", RDF + "HTML", RDF + "JSON", OWL + "real", OWL + "rational"}
TRIVIAL_TYPES = {str(t) for t in reasoning.TRIVIAL_TYPES}  # types `useful_ntriples` drops
# What `loader.premise_ntriples` keeps of a graph, for a pattern `?s ?p ?o`: links between resources, and
# anything said of the vocabulary (literal values of individuals only re-derive types the shapes require).
def in_namespaces(variable: str, namespaces: Sequence[str]) -> str:
    return " || ".join(f'STRSTARTS(STR({variable}), "{ns}")' for ns in namespaces)


VOCABULARY = ("http://www.w3.org/", f"{BASE_IRI}def/")  # namespaces whose terms' literal values are premises
PREMISE_FORM = f"(!isLiteral(?o) || {in_namespaces('?s', VOCABULARY)})"
# Namespaces whose terms are given no type and about which nothing derived is kept (`NAMED`, `unuseful_cleanup`).
NOT_NAMED = (*BUILT_IN, PREFIXES["xsd"])
# Rows of VALUES per update: engines plan a large VALUES block slowly, and Virtuoso limits a request's size.
VALUES_ROWS = 500
MAX_ROUNDS = 10_000  # a transitive chain adds at least one link per round: this is a guard, never reached


# The engines these rules are tested on (tests/test_rules_in_engine.py); another engine gets the download path.
ENGINES = {"oxigraph", "virtuoso"}


def runs_in(store: Store, reasoner: str) -> bool:
    """Whether `reasoner`'s entailments are made by these rules inside `store`: a remote engine they are tested on,
    for the reasoner whose entailments they reproduce (the embedded store keeps `reasonable`, faster there)."""
    return reasoner in SAME_ENTAILMENTS and isinstance(store, RemoteStore) and store.dialect.name in ENGINES


class NotCovered(InputError):
    """The premises use vocabulary the in-engine rules do not implement: reason the download way instead."""


@dataclass(frozen=True)
class Schema:
    """The axioms of the premises, chained: what each property fact entails, the transitive properties, and the
    types each class, domain and range gives (every class with its superclasses)."""

    properties: list[tuple[str, str, bool]]  # (p, q, inverted): `s p o` entails `s q o`, or `o q s` if inverted
    transitive: list[str]
    superclasses: list[tuple[str, str]]  # (C, D): every C is a D (D a strict superclass, chained)
    domains: list[tuple[str, str]]  # (p, D): the subject of a p fact is a D
    ranges: list[tuple[str, str]]  # (p, D): the object of a p fact is a D


@dataclass(frozen=True)
class Usage:
    """The predicates and the classes (objects of rdf:type) some graphs use: rules about others are not sent."""

    predicates: set[str]
    classes: set[str]


@dataclass(frozen=True)
class Outcome:
    rounds: int  # property/transitive rounds until one added nothing
    inferred: int  # triples in the target graph at the end


# ------------------------------------------------------------------------------------------ how each engine reads best
# Measured at 10^5 triples (bench/rules_in_engine.py): Oxigraph plans one update with the rule's rows as VALUES well
# (3 s for the 117 property rows) and one update per row badly (131 s, graphs restricted by FILTER IN); Virtuoso
# 7.2 the other way round (20x slower with VALUES: 250 s against 7 s). So the rows go as VALUES on Oxigraph, and
# as one update each (constant predicates, graphs by FILTER IN) elsewhere.
def one_update_per_row(store: Store) -> bool:
    return getattr(getattr(store, "dialect", None), "name", "") != "oxigraph"


def in_graphs(variable: str, graphs: Sequence[str], pattern: str, by_values: bool) -> str:
    """`pattern` in one of `graphs`, as the engine reads it best (Oxigraph scans every graph for `VALUES ?g {<g>}`)."""
    if by_values and len(graphs) == 1:
        return f"{{ GRAPH {iri(graphs[0])} {{ {pattern} }} }}"
    if by_values:
        return f"{{ {graphs_values(variable, graphs)} GRAPH ?{variable} {{ {pattern} }} }}"
    listed = ", ".join(str(ox.NamedNode(g)) for g in graphs)
    return f"{{ GRAPH ?{variable} {{ {pattern} }} FILTER(?{variable} IN ({listed})) }}"


def premise_form(s: str, o: str) -> str:
    return "FILTER" + PREMISE_FORM.replace("?s", s).replace("?o", o)


def iri(term: str) -> str:
    return str(ox.NamedNode(term))


# ------------------------------------------------------------------------------------------ the schema
def graphs_values(variable: str, graphs: Sequence[str]) -> str:
    return f"VALUES ?{variable} {{ {' '.join(iri(g) for g in graphs)} }}"


def usage(store: Store, graphs: Sequence[str], by_values: bool, premises: bool = True) -> Usage:
    """What `graphs` use; of premises, only in the facts the reasoner reads (`PREMISE_FORM`: a datatype property
    of individuals, or OWL vocabulary in such a fact, reaches no rule) and with their classes."""
    form = premise_form("?s", "?o") if premises else ""
    predicates = store.select(f"SELECT DISTINCT ?p WHERE {{ {in_graphs('g', graphs, '?s ?p ?o', by_values)} {form} }}")
    types = store.select("SELECT DISTINCT ?c WHERE " + in_graphs("g", graphs, f"?s <{TYPE}> ?c", by_values)) \
        if premises else []
    return Usage({row["p"].value for row in predicates}, {row["c"].value for row in types if "c" in row})


def axioms_query(premises: Sequence[str], by_values: bool) -> str:
    axioms = " ".join(f"<{a}>" for a in AXIOMS)
    return f"""SELECT DISTINCT ?s ?p ?o WHERE {{
  {{ VALUES ?p {{ {axioms} }} {in_graphs('g', premises, '?s ?p ?o', by_values)} }}
  UNION {{ VALUES ?o {{ <{TRANSITIVE}> <{SYMMETRIC}> }} {in_graphs('g', premises, f'?s <{TYPE}> ?o', by_values)}
           BIND(<{TYPE}> AS ?p) }} }}"""


def read_schema(store: Store, premises: Sequence[str], used: Usage | None = None) -> Schema:
    """The premises' axioms, chained, or `NotCovered` naming what the rules do not implement."""
    by_values = not one_update_per_row(store)
    used = used or usage(store, premises, by_values)
    return check_schema(used, [(row["s"], row["p"].value, row["o"])
                               for row in store.select(axioms_query(premises, by_values))])


def check_schema(used: Usage, rows: list[tuple[ox.Term, str, ox.Term]]) -> Schema:
    """The axioms (subject, predicate, object) compiled, or `NotCovered` for what the rules do not implement
    (also in the vocabulary the premises use)."""
    uncovered = sorted({t for t in used.predicates | used.classes if t.startswith(BUILT_IN)} - COVERED)
    if uncovered:
        raise NotCovered(f"the premises use {', '.join(uncovered)}, which the in-engine OWL 2 RL rules do not "
                         "implement")
    problems = sorted({f"{s} <{p}> {o}" for s, p, o in rows if not acceptable(s, p, o)})
    if problems:
        raise NotCovered(f"axioms the in-engine OWL 2 RL rules do not implement: {'; '.join(problems[:5])}"
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
    return compile_schema([(s.value, p, o.value) for s, p, o in rows])


def acceptable(subject: ox.Term, predicate: str, obj: ox.Term) -> bool:
    """An axiom between named terms, none of them OWL's, RDF's or RDFS's own (`owl:Thing rdfs:subClassOf :C` would
    type everything; `:p rdfs:subPropertyOf rdf:type` would make facts into types), except a superclass, domain or
    range that feeds no rule (owl:Thing, rdfs:Literal, datatypes)."""
    if not isinstance(subject, ox.NamedNode) or not isinstance(obj, ox.NamedNode):
        return False
    if subject.value.startswith(BUILT_IN):
        return False
    if predicate == TYPE:
        return True
    if predicate in BETWEEN_OWN_TERMS:
        return not obj.value.startswith(BUILT_IN)
    return not obj.value.startswith(BUILT_IN) or obj.value in INERT_CLASSES


def compile_schema(axioms: list[tuple[str, str, str]]) -> Schema:
    # closure.entailments chains one-fact rules; a symmetric property is its own inverse there
    properties = property_entailments([(s, INVERSE, s) if p == TYPE else (s, p, o) for s, p, o in axioms
                                       if p in PROPERTY_AXIOMS or (p == TYPE and o == SYMMETRIC)])
    transitive = sorted({s for s, p, o in axioms if p == TYPE and o == TRANSITIVE})
    up: dict[str, set[str]] = defaultdict(set)
    for s, p, o in axioms:
        if p == SUB_CLASS:
            up[s].add(o)
        elif p == EQUIVALENT_CLASS:
            up[s].add(o)
            up[o].add(s)
    above = {c: reachable(c, up) for c in list(up)}

    def with_supers(c: str) -> set[str]:
        return {c} | above.get(c, set())

    superclasses = sorted((c, d) for c, ds in above.items() for d in ds if d != c)
    domains = sorted({(s, d) for s, p, o in axioms if p == DOMAIN for d in with_supers(o)})
    ranges = sorted({(s, d) for s, p, o in axioms if p == RANGE for d in with_supers(o)})
    return Schema(properties, transitive, superclasses, domains, ranges)


def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, frontier = set(), [start]
    while frontier:
        for nxt in edges.get(frontier.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return seen


# ------------------------------------------------------------------------------------------ the rules
def values(variables: str, rows: Sequence[tuple], chunk: int = VALUES_ROWS) -> list[str]:
    """VALUES blocks of at most `chunk` rows (IRIs; booleans as true/false)."""
    def term(x) -> str:
        return ("true" if x else "false") if isinstance(x, bool) else iri(x)
    return [f"VALUES ({variables}) {{ {' '.join('(' + ' '.join(term(x) for x in row) + ')' for row in rows[i:i + chunk])} }}"
            for i in range(0, len(rows), chunk)]


def new(seen: Sequence[str], s: str, p: str, o: str, by_values: bool) -> str:
    """Not asserted in a premise graph nor already inferred (`seen`: the graphs to look in)."""
    return f"FILTER NOT EXISTS {in_graphs('h', seen, f'{s} {p} {o}', by_values)}"


def property_rules(rows: Sequence[tuple[str, str, bool]], source: Sequence[str], first: bool, out: str,
                   seen: Sequence[str], by_values: bool) -> list[str]:
    """One fact entails another (sub-, equivalent, inverse, symmetric properties), read from the `source` graphs
    (in the first round the premises, read as the reasoner reads them)."""
    form = premise_form("?s", "?o") if first else ""
    if by_values:
        return [f"""INSERT {{ GRAPH {iri(out)} {{ ?x ?q ?y }} }} WHERE {{ {block}
  {in_graphs('g', source, '?s ?p ?o', True)} {form}
  BIND(IF(?inverted, ?o, ?s) AS ?x) BIND(IF(?inverted, ?s, ?o) AS ?y) FILTER(!isLiteral(?x))
  {new(seen, '?x', '?q', '?y', True)} }}""" for block in values("?p ?q ?inverted", rows)]
    updates = []
    for p, q, inverted in rows:
        x, y = ("?o", "?s") if inverted else ("?s", "?o")
        updates.append(f"""INSERT {{ GRAPH {iri(out)} {{ {x} {iri(q)} {y} }} }} WHERE {{
  {in_graphs('g', source, f'?s {iri(p)} ?o', False)} {form} FILTER(!isLiteral({x}))
  {new(seen, x, iri(q), y, False)} }}""")
    return updates


def transitive_rules(properties: Sequence[str], delta: Sequence[str], premises: Sequence[str], target: str,
                     first: bool, out: str, seen: Sequence[str], by_values: bool) -> list[str]:
    """`a t b`, `b t c` -> `a t c`, one of the two among the facts the last round added (`delta`)."""
    def anywhere(s: str, t: str, o: str) -> str:
        return (f"{{ {in_graphs('g', premises, f'{s} {t} {o}', by_values)} {premise_form(s, o)} }} "
                f"UNION {{ GRAPH {iri(target)} {{ {s} {t} {o} }} }}")

    def added(s: str, t: str, o: str) -> str:
        return f"{in_graphs('d', delta, f'{s} {t} {o}', by_values)} {premise_form(s, o) if first else ''}"

    def rule(t: str, head: str) -> str:
        return f"""INSERT {{ GRAPH {iri(out)} {{ ?a {t} ?c }} }} WHERE {{ {head}
  {{ {added('?a', t, '?b')} {anywhere('?b', t, '?c')} }} UNION {{ {anywhere('?a', t, '?b')} {added('?b', t, '?c')} }}
  {new(seen, '?a', t, '?c', by_values)} }}"""

    if by_values:
        return [rule("?t", block) for block in values("?t", [(t,) for t in properties])]
    return [rule(iri(t), "") for t in properties]


NAMED = "FILTER(isIRI(?x) && " + " && ".join(f'!STRSTARTS(STR(?x), "{ns}")' for ns in NOT_NAMED) + ")"


def type_rules(schema: Schema, used: Usage, inferred: set[str], premises: Sequence[str], target: str, out: str,
               by_values: bool) -> list[str]:
    """Types from class membership, domains and ranges, about named things only (no trivial type), for the classes
    and properties used in the premises and the properties of the facts the rounds `inferred` (asserted types are
    taken out after, `asserted_types`): one update per class or property, writing every type it gives. The
    premises and the inferred facts are read in updates of their own, and the types written to a graph of their
    own (`out`): Virtuoso misjudges the cost of a UNION of the two, and of an update that reads the graph it
    writes, past its MaxQueryCostEstimationTime."""
    def update(types: list[str], pattern: str) -> str:
        template = " ".join(f"?x <{TYPE}> {iri(d)} ." for d in types)
        return f"INSERT {{ GRAPH {iri(out)} {{ {template} }} }} WHERE {{ {pattern} {NAMED} }}"

    def asserted(s: str, p: str, o: str) -> str:
        return f"{in_graphs('g', premises, f'{s} {p} {o}', by_values)} {premise_form(s, o)}"

    def derived(s: str, p: str, o: str) -> str:  # as the premises are read: Virtuoso once estimated 22,214 s for
        return in_graphs("g", [target], f"{s} {p} {o}", by_values)  # `GRAPH <target> {...}` at 10^6 triples

    rules = [(schema.superclasses, used.classes, lambda c: in_graphs("g", premises, f"?x <{TYPE}> {c}", by_values))]
    for facts, predicates in ((asserted, used.predicates), (derived, inferred)):
        rules += [(schema.domains, predicates, lambda p, facts=facts: facts("?x", p, "?o")),
                  (schema.ranges, predicates, lambda p, facts=facts: facts("?s", p, "?x"))]
    # one update per class or property, each writing all the types it gives: on Oxigraph too, where the rows as
    # VALUES took 17 s against 6 s at 10^5 triples (a row per type given: the facts are read once per type)
    return [update(ds, pattern(iri(key))) for pairs, keep, pattern in rules
            for key, ds in types_given(pairs).items() if key in keep]


def types_given(pairs: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    """(class or property, a type it gives) pairs grouped by the first, trivial types left out."""
    out: dict[str, list[str]] = defaultdict(list)
    for key, d in pairs:
        if d not in TRIVIAL_TYPES:
            out[key].append(d)
    return out


def asserted_types(premises: Sequence[str], types: str, by_values: bool) -> str:
    t = iri(types)
    return f"""DELETE {{ GRAPH {t} {{ ?x <{TYPE}> ?c }} }} WHERE {{ GRAPH {t} {{ ?x <{TYPE}> ?c }}
  {in_graphs('h', premises, f'?x <{TYPE}> ?c', by_values)} }}"""


def class_hierarchy_rule(schema: Schema, premises: Sequence[str], target: str, by_values: bool) -> list[str]:
    """The chained class hierarchy (`C rdfs:subClassOf E` through D), the one schema entailment kept."""
    rows = [(c, d) for c, d in schema.superclasses if not c.startswith(BUILT_IN)]
    return [f"""INSERT {{ GRAPH {iri(target)} {{ ?c <{SUB_CLASS}> ?d }} }} WHERE {{ {block}
  {new(premises, '?c', f'<{SUB_CLASS}>', '?d', by_values)} }}""" for block in values("?c ?d", rows)]


def unuseful_cleanup(target: str) -> str:
    """What the property rounds derived about blank nodes or built-in terms: needed on the way, never kept."""
    g = iri(target)
    return f"""DELETE {{ GRAPH {g} {{ ?s ?p ?o }} }} WHERE {{ GRAPH {g} {{ ?s ?p ?o }}
  FILTER(isBlank(?s) || isBlank(?o) || {in_namespaces('?s', NOT_NAMED)}) }}"""


def helper_graph(target: str, name: str) -> str:
    """A graph the rules write on the way to `target`: a staging graph, so that whatever a failure leaves behind
    is no reader's and the next load drops it (`loader.drop_staging`), even when `target` is a live graph."""
    return f"{helper_prefix(target)}{name}"


HELPERS = f"{STAGING_PREFIX}rules/"


def helper_prefix(target: str) -> str:
    return f"{HELPERS}{hashlib.sha1(target.encode()).hexdigest()[:16]}/"


def materialise(store: Store, premises: Sequence[str], target: str) -> Outcome:
    """The useful OWL 2 RL entailments of the `premises` graphs, not asserted in them, into the empty graph
    `target` of the same engine (helper graphs, `helper_graph`, hold each round's new facts on the way).
    `NotCovered` before anything is written when the premises use vocabulary the rules do not implement."""
    premises = list(dict.fromkeys(premises))
    if not premises:
        return Outcome(0, 0)
    by_values = not one_update_per_row(store)
    used = usage(store, premises, by_values)
    schema = read_schema(store, premises, used)
    store.update(f"DROP SILENT GRAPH {iri(target)}")
    rounds = property_rounds(store, schema, used, premises, target, by_values)
    derivable = {q for _, q, _ in schema.properties} | set(schema.transitive)
    inferred = (derivable if by_values else usage(store, [target], by_values, premises=False).predicates) \
        if rounds else set()
    types = helper_graph(target, "types")
    send(store, type_rules(schema, used, inferred, premises, target, types, by_values))
    send(store, [asserted_types(premises, types, by_values), f"ADD SILENT {iri(types)} TO {iri(target)}",
                 f"DROP SILENT GRAPH {iri(types)}", *class_hierarchy_rule(schema, premises, target, by_values),
                 unuseful_cleanup(target)])
    return Outcome(rounds, store.count(target))


def send(store: Store, updates: Sequence[str]) -> None:
    """Updates in requests of a few operations each (one HTTP round trip for many small rules), one each on
    Virtuoso (which adds up the estimated cost of a request's operations and refuses it past its
    MaxQueryCostEstimationTime)."""
    per_request = 1 if one_update_per_row(store) else 20
    for i in range(0, len(updates), per_request):
        store.update(" ;\n".join(updates[i:i + per_request]))


def property_rounds(store: Store, schema: Schema, used: Usage, premises: Sequence[str], target: str,
                    by_values: bool) -> int:
    """Property and transitivity rules, semi-naive: each round reads the facts the round before added (the first
    round: the premises) and writes only facts found nowhere yet; a round that adds nothing ends it.
    On Oxigraph, where moving and dropping a graph costs seconds at 10^5 triples (and a rule sent for a predicate
    with no fact costs nothing), the first round writes into `target` itself, and the rules of a round are those of
    every predicate a round can add; on Virtuoso (which misjudges an update that reads the graph it writes) each
    round has its own graph, and its predicates are read to send only their rules."""
    delta: list[str] = list(premises)
    seen = [*premises, target]
    predicates = used.predicates
    derivable = {q for _, q, _ in schema.properties} | set(schema.transitive)
    for number in range(1, MAX_ROUNDS + 1):
        rows = [row for row in schema.properties if row[0] in predicates]
        transitive = [t for t in schema.transitive if t in predicates]
        if not rows and not transitive:
            return number - 1
        first = number == 1
        out = target if first and by_values else helper_graph(target, f"round-{number}")
        send(store, property_rules(rows, delta, first, out, seen, by_values)
             + transitive_rules(transitive, delta, premises, target, first, out, seen, by_values))
        if delta[0] not in (*premises, target):
            store.update(f"DROP SILENT GRAPH {iri(delta[0])}")
        if store.count(out) == 0:
            store.update(f"DROP SILENT GRAPH {iri(out)}")
            return number
        if out != target:
            store.update(f"ADD {iri(out)} TO {iri(target)}")
        delta = [out]
        predicates = derivable if by_values else usage(store, delta, by_values, premises=False).predicates
    raise RuntimeError(f"the in-engine rules did not reach a fixed point in {MAX_ROUNDS} rounds (target {target})")
