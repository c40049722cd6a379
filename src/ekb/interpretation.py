"""Reading an engine's sh:ValidationReport as findings a council member acts on: each result tied to its rule
(the node shape, named and sourced), its thing (label and kind) and the owner of the fix, read from the
knowledge base."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache

import pyoxigraph as ox
import rdflib
from rdflib.paths import MulPath, NegatedPath, Path, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from ekb.config import ONTOLOGY_NS, RDFS_LABEL, SH, expand, sparql_prologue
from ekb.findings import SEVERITIES, Finding, Rule
from ekb.store import Store

RULES_QUERY = sparql_prologue() + """
SELECT ?rule ?name ?description ?severity (GROUP_CONCAT(DISTINCT ?sourceLabel; separator="|") AS ?sources) WHERE {
  ?rule a sh:NodeShape ; sh:name ?name .
  OPTIONAL { ?rule sh:description ?description }
  OPTIONAL { ?rule sh:severity ?severity }
  OPTIONAL { ?rule dcterms:source ?source . OPTIONAL { ?source rdfs:label ?l } BIND(COALESCE(?l, STR(?source)) AS ?sourceLabel) }
} GROUP BY ?rule ?name ?description ?severity"""

PROPERTY_QUERY = sparql_prologue() + """
SELECT ?shape ?rule ?name WHERE { ?rule sh:property ?shape . OPTIONAL { ?shape sh:name ?name } }"""

# What the findings say about their thing: its label, its most specific kind, its side of the regulatory line
# (to keep an inherited owner on that side) and the posts it holds (a person or post is never routed to itself).
CONTEXT_QUERY = sparql_prologue() + """
SELECT ?focus ?label ?typeLabel ?scope ?held WHERE {
  VALUES ?focus { %(focus)s }
  OPTIONAL { ?focus rdfs:label ?l }
  OPTIONAL { ?focus a ?type . ?type rdfs:label ?tl . FILTER(STRSTARTS(STR(?type), "%(ontology)s"))
             FILTER NOT EXISTS { ?focus a ?sub . ?sub rdfs:subClassOf ?type . FILTER(?sub != ?type) } }
  OPTIONAL { ?focus util:hasRegulatoryScope ?scope . FILTER(?scope IN (util:Regulated, util:NonRegulated)) }
  OPTIONAL { ?focus org:holds|^org:heldBy ?held }
  BIND(COALESCE(?l, STR(?focus)) AS ?label)
  BIND(COALESCE(?tl, "") AS ?typeLabel)
} ORDER BY ?focus ?label ?typeLabel"""

# Owner routing: who owns the fix of a finding. Every link is read in both directions of its inverse pair, as
# validation reads them (a staging copy has no inferred graph). The search starts at the finding's thing and
# walks to its containers, level by level; the first level that reaches an owner wins, and within a level the
# lower rank. An owner inherited from a container is never on the other side of the regulatory line from a
# regulated or non-regulated thing, and never a post the thing itself is or holds.
OWN = "ekb:hasAccountableOwner|^ekb:isAccountableFor"
POST_IN = "org:postIn|^org:hasPost"
UP = "org:unitOf|^org:hasUnit|org:subOrganizationOf|^org:hasSubOrganization"
HOLDS = "org:holds|^org:heldBy"
POST = "{ ?owner a ekb:Owner } UNION { ?owner a org:Post }"

# Each way of owning (OWNERS) and of containing (CONTAINERS) is asked in a query of its own, the nodes asked about
# in a VALUES block beside it, in batches (`_chunks`). One UNION of the ways, joined with the nodes, was planned
# from its branches outwards (4 s for 240 capabilities at 10^6 on disk, against 12 ms for the ways one by one), and
# Virtuoso 7.2 ignores a VALUES block joined with a UNION whose branches BIND (it answered for every node).

# How a thing names its owner itself: (rank, pattern from ?n to ?owner).
OWNERS = (
    (0, f"?n {OWN} ?owner ."),  # its accountable owner: capabilities, streams, systems, entities, agreements, ...
    (1, f"?owner {POST_IN} ?n . {POST} FILTER EXISTS {{ ?anything {OWN} ?owner }}"),  # a unit's accountable post
    (2, f"?owner {POST_IN} ?n . {POST}"),  # a unit's other posts (a steward), if it has no accountable one
    (3, "?n ekb:isApprovedBy ?owner ."),  # a document: the post that approved it
)

PERSON_UNITS = ("the unit of the posts they hold", "the unit they are a member of")

# Where a thing without an owner of its own is contained: (rank, what the container is, pattern ?n to ?c).
CONTAINERS = (
    (1, "its value stream", "?n ekb:isStageOf|^ekb:hasStage ?c ."),
    (1, "its parent capability", "?n ekb:hasParentCapability|^ekb:hasChildCapability ?c ."),
    (1, "its information domain", "?n ekb:belongsToDomain|^ekb:hasInformationEntity ?c ."),
    (1, "the information entity its class models", "?n a ?k . ?k rdfs:subClassOf* ?cls . ?c ekb:modelledByClass ?cls ."),
    (1, "the capability that manages consent for its recipient's agreements",
     "?n ekb:hasConsentRecipient ?r . ?a ekb:hasDataRecipient ?r ; ekb:isConsentManagedBy ?c ."),
    (1, "the unit that provides its data", "?n ekb:hasDataProvider ?c ."),
    (1, "the unit that provides the service", "?n ekb:hasServiceProvider|ekb:isProvidedBy|^ekb:providesService ?c ."),
    (1, "the unit that operates it", "?n ekb:isOperatedBy ?c ."),
    (1, "the unit it is in", f"?n {POST_IN} ?c ."),
    (1, "the organisation it belongs to", f"?n {UP} ?c ."),
    (1, PERSON_UNITS[0], f"?n ({HOLDS})/({POST_IN}) ?c ."),
    (1, PERSON_UNITS[1], "?n org:memberOf|^org:hasMember ?c ."),
    (2, "the unit that performs it", "?n ekb:isPerformedBy|^ekb:performsCapability ?c ."),
    (2, "the unit that serves it", "?n ekb:isServedBy|^ekb:servesValueStream ?c ."),
    (2, "the capability that manages it", "?n ekb:isManagedByCapability ?c ."),
    (2, "the recipient of the consent", "?n ekb:hasConsentRecipient ?c ."),
    (2, "what it is part of", "?n dcterms:isPartOf|^dcterms:hasPart ?c ."),
    (2, "what states it", "?c ekb:hasObjective|ekb:hasPrinciple|ekb:hasComponent ?n ."),
    (2, "the unit it partners with", "?n ekb:partnersWith ?c ."),
    (3, "the business unit on its side of the regulatory line",
     "?n util:hasRegulatoryScope ?s . FILTER(?s IN (util:Regulated, util:NonRegulated)) "
     "{ SELECT ?c ?s WHERE { ?c a ekb:BusinessUnit ; util:hasRegulatoryScope ?s } }"),  # 13 s as a join at 10^6
    (4, "what oversees it", "?n ekb:isOverseenBy|ekb:hasOversightCapability|^ekb:oversees ?c ."),
)
MAX_LEVELS = 8

OWNERS_QUERIES = tuple(sparql_prologue() + f"""
SELECT DISTINCT ?n ?owner ?ownerLabel WHERE {{
  VALUES ?n {{ %(nodes)s }}
  {pattern}
  FILTER(isIRI(?owner))
  OPTIONAL {{ ?owner rdfs:label ?ol }}
  BIND(COALESCE(?ol, STR(?owner)) AS ?ownerLabel)
}}""" for _, pattern in OWNERS)

# The sides of the regulatory line an owner's posts sit on, asked of the owners found: in the owners' query, as an
# OPTIONAL, the path's `*` step was evaluated from every node of the store first (0.67 s a query at 10^6 on disk).
SIDES_QUERY = sparql_prologue() + f"""
SELECT ?owner (GROUP_CONCAT(DISTINCT STR(?side); separator=" ") AS ?sides) WHERE {{
  {{ SELECT ?owner WHERE {{ VALUES ?owner {{ %(nodes)s }} }} }}
  ?owner ({POST_IN})/({UP})* ?unit . ?unit util:hasRegulatoryScope ?side .
}} GROUP BY ?owner"""

CONTAINERS_QUERIES = tuple(sparql_prologue() + f"""
SELECT DISTINCT ?n ?c ?cLabel WHERE {{
  VALUES ?n {{ %(nodes)s }}
  {pattern}
  FILTER(isIRI(?c) && ?c != ?n)
  OPTIONAL {{ ?c rdfs:label ?cl }}
  BIND(COALESCE(?cl, STR(?c)) AS ?cLabel)
}}""" for _, _, pattern in CONTAINERS)

# A unit's parents, to find the smallest unit that holds every post of a person who holds several.
PARENTS_QUERY = sparql_prologue() + f"""
SELECT DISTINCT ?u ?parent WHERE {{ VALUES ?start {{ %(nodes)s }} ?start ({UP})* ?u . ?u {UP} ?parent . }}"""

OPPOSITE = {expand("util:Regulated"): expand("util:NonRegulated"), expand("util:NonRegulated"): expand("util:Regulated")}


def _rows(graph: ox.Store, query: str) -> list[dict[str, str]]:
    solutions = graph.query(query)
    names = [v.value for v in solutions.variables]
    return [{n: (row[n].value if row[n] is not None else "") for n in names} for row in solutions]


def _results(report: rdflib.Graph) -> list[dict[str, str]]:
    """The sh:ValidationResult nodes of a report, walked directly (the report graph can be large)."""
    sh = rdflib.Namespace(SH)
    rows = []
    for result in report.subjects(rdflib.RDF.type, sh.ValidationResult):
        def value(p, result=result):
            found = report.value(result, p)
            if isinstance(found, rdflib.Literal) and found.datatype is not None and found.value is not None:
                found = rdflib.Literal(found.value, datatype=found.datatype)  # canonical lexical form, as in pyshacl
            return "" if found is None else str(found)
        rows.append({"focus": value(sh.focusNode), "shape": value(sh.sourceShape), "severity": value(sh.resultSeverity),
                     "message": value(sh.resultMessage), "value": value(sh.value),
                     "component": value(sh.sourceConstraintComponent)})
    return rows


def _labels(store: Store, iris: set[str]) -> dict[str, str]:
    """Labels of things the shapes cite (their sources live in the data, not in the shapes graph)."""
    if not iris:
        return {}
    values = _values(sorted(iris))
    rows = store.select(f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {values} }} ?x <{RDFS_LABEL}> ?l }}")
    return {r["x"].value: r["l"].value for r in rows}


@lru_cache(maxsize=8)
def shape_tables(shapes_nt: bytes) -> tuple[tuple[dict[str, str], ...], dict[str, tuple[str, str]]]:
    """The rules (node shapes) and the property shapes' parents of one version of the shapes."""
    shapes = ox.Store()
    if shapes_nt:
        shapes.load(shapes_nt, format=ox.RdfFormat.N_TRIPLES)
    parents = {r["shape"]: (r["rule"], r["name"]) for r in _rows(shapes, PROPERTY_QUERY)}
    return tuple(_rows(shapes, RULES_QUERY)), parents


def interpret(report_graph: rdflib.Graph, shapes_nt: bytes, kb_store: Store,
              enrich: bool = True) -> tuple[list[Finding], dict[str, Rule]]:
    """Findings with rule names, labels and owners, from the engine's sh:ValidationReport.
    Without `enrich`, findings carry only what identifies them (for comparing before and after a change)."""
    rule_rows, parents = shape_tables(shapes_nt)
    sources = {s for r in rule_rows for s in r["sources"].split("|") if s.startswith("http")}
    source_labels = _labels(kb_store, sources) if enrich else {}
    rules = {r["rule"]: Rule(r["rule"], r["name"], r["description"], r["severity"].rsplit("#", 1)[-1],
                             tuple(source_labels.get(s, s) for s in r["sources"].split("|") if s))
             for r in rule_rows}
    findings = []
    for r in _results(report_graph):
        rule, prop = parents.get(r["shape"], (r["shape"], ""))
        rule_info = rules.get(rule)
        findings.append(Finding(
            rule=rule, rule_name=rule_info.name if rule_info else rule, severity=r["severity"].rsplit("#", 1)[-1],
            focus=r["focus"], focus_label=r["focus"], focus_type="", message=r["message"] or "breaks the rule",
            constraint=r["component"].rsplit("#", 1)[-1], prop=prop or "", value=r["value"]))
    return (with_context(findings, kb_store) if enrich else findings), rules


def with_context(findings: list[Finding], kb_store: Store) -> list[Finding]:
    """The findings with their focus's label and type and the owner of the fix (see `route_owners`), read from
    the knowledge base, in reading order (severity, rule, thing)."""
    focuses = sorted({f.focus for f in findings if f.focus.startswith(("http:", "https:", "urn:"))})
    context = focus_context(kb_store, focuses)
    owners = route_owners(kb_store, context)
    enriched = []
    for f in findings:
        ctx = context.get(f.focus)
        owner = owners.get(f.focus)
        enriched.append(replace(f, focus_label=ctx.label if ctx else f.focus, focus_type=ctx.type_label if ctx else "",
                                owner=owner.owner if owner else "", owner_label=owner.label if owner else ""))
    return in_reading_order(enriched)


def in_reading_order(findings: list[Finding]) -> list[Finding]:
    """Severity, rule, thing: the order every report lists its findings in."""
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: (order.get(f.severity, 9), f.rule_name, f.focus_label, f.prop, f.value))


@dataclass
class FocusContext:
    label: str
    type_label: str = ""
    scope: str = ""  # util:Regulated or util:NonRegulated, when the thing is on one side of the line
    held: set[str] = field(default_factory=set)  # the posts it holds (a person)


@dataclass(frozen=True)
class Routed:
    """The owner of a finding's fix, how it was found, or why there is none (`owner` empty, `label` says why)."""

    owner: str
    label: str
    route: tuple[str, ...] = ()  # the containers walked, e.g. ("its value stream Talent Management",)


def focus_context(store: Store, focuses: list[str]) -> dict[str, FocusContext]:
    context: dict[str, FocusContext] = {}
    for chunk in _chunks(focuses):
        values = _values(chunk)
        for row in store.select(CONTEXT_QUERY % {"focus": values, "ontology": ONTOLOGY_NS}):
            focus = row["focus"].value
            ctx = context.setdefault(focus, FocusContext(row["label"].value, row["typeLabel"].value))
            if "scope" in row:
                ctx.scope = row["scope"].value
            if "held" in row:
                ctx.held.add(row["held"].value)
    return context


def route_owners(store: Store, context: dict[str, FocusContext]) -> dict[str, Routed]:
    """Who owns the fix of a finding about each thing: its own accountable owner, else its container's, walking
    up from container to container (a stage's value stream, an L2's L1, a record's information entity, a
    product's side of the regulatory line, a post's or person's unit, a unit's parent organisation; the table is
    CONTAINERS). The first level of the walk that reaches an owner wins; within a level, the route of lower rank,
    then the owner of lower rank (OWNERS), then the label. An owner reached through a container is never on the
    other side of the regulatory line from a regulated or non-regulated thing, and never a post the thing is or
    holds. Without an owner in reach, `Routed.label` says which things were asked."""
    routed: dict[str, Routed] = {}
    # frontier: focus -> {node: (route ranks, route words)}; the focus itself at level 0
    frontier = {focus: {focus: ((), ())} for focus in context}
    asked: dict[str, list[str]] = {focus: [] for focus in context}  # what was asked, for the reason when none
    seen = {focus: {focus} for focus in context}
    for level in range(MAX_LEVELS):
        if not frontier:
            break
        owners = _owner_candidates(store, sorted({n for reached in frontier.values() for n in reached}))
        unrouted = {}
        for focus, reached in frontier.items():
            ctx = context[focus]
            best = None
            for node, (ranks, words) in reached.items():
                for rank, owner, label, _sides in _acceptable(owners.get(node, []), {focus} | ctx.held,
                                                             OPPOSITE.get(ctx.scope) if level else None):
                    key = (ranks, rank, label, owner)
                    if best is None or key < best[0]:
                        best = (key, Routed(owner, label, words))
            if best:
                routed[focus] = best[1]
            else:
                unrouted[focus] = reached
        # Containers only where no owner was found (most things name their own: 239 of 240 capabilities at 10^6).
        containers = _containers(store, sorted({n for reached in unrouted.values() for n in reached}))
        next_frontier: dict[str, dict[str, tuple[tuple[int, ...], tuple[str, ...]]]] = {}
        for focus, reached in unrouted.items():
            excluded = {focus} | context[focus].held
            onward: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {}
            steps = _person_steps(store, focus, containers) if level == 0 else None
            for node, (ranks, words) in reached.items():
                for container, rank, what, label in steps or containers.get(node, []):
                    if container in excluded or container in seen[focus]:
                        continue
                    candidate = ((*ranks, rank), (*words, f"{what} {label}"))
                    if container not in onward or candidate < onward[container]:
                        onward[container] = candidate
                    if level == 0:
                        asked[focus].append(f"{what} {label}")
            if onward:
                next_frontier[focus] = onward
                seen[focus] |= set(onward)
        frontier = next_frontier
    for focus, ctx in context.items():
        if focus not in routed:
            routed[focus] = Routed("", _no_owner(ctx, asked[focus]))
    return routed


def _no_owner(ctx: FocusContext, asked: list[str]) -> str:
    if not asked:
        return (f"none recorded: {ctx.label} has no accountable owner, and the model places it in nothing "
                "that has one")
    return (f"none recorded: {ctx.label} has no accountable owner, nor has {_words(sorted(set(asked))[:3])} "
            "or anything above")


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _acceptable(candidates: list[tuple[int, str, str, set[str]]], excluded: set[str], opposite: str | None):
    """The owner candidates of one node that may own the fix: those of the node's best rank (a unit whose head is
    the thing itself yields nobody, not its steward), not excluded, not on the opposite side."""
    if not candidates:
        return []
    best_rank = min(c[0] for c in candidates)
    return [c for c in candidates if c[0] == best_rank and c[1] not in excluded and (not opposite or opposite not in c[3])]


def _owner_candidates(store: Store, nodes: list[str]) -> dict[str, list[tuple[int, str, str, set[str]]]]:
    rows = [(rank, row) for values in map(_values, _chunks(nodes))
            for (rank, _), query in zip(OWNERS, OWNERS_QUERIES, strict=True)
            for row in store.select(query % {"nodes": values})]
    owners = sorted({row["owner"].value for _, row in rows})
    sides = {row["owner"].value: set(row["sides"].value.split())
             for chunk in _chunks(owners) for row in store.select(SIDES_QUERY % {"nodes": _values(chunk)})
             if "sides" in row}
    found: dict[str, list[tuple[int, str, str, set[str]]]] = {}
    for rank, row in rows:
        owner = row["owner"].value
        found.setdefault(row["n"].value, []).append((rank, owner, row["ownerLabel"].value, sides.get(owner, set())))
    return found


def _values(nodes: list[str]) -> str:
    return " ".join(str(ox.NamedNode(n)) for n in nodes)


def _containers(store: Store, nodes: list[str]) -> dict[str, list[tuple[str, int, str, str]]]:
    found: dict[str, list[tuple[str, int, str, str]]] = {}
    for values in map(_values, _chunks(nodes)):
        for (rank, what, _), query in zip(CONTAINERS, CONTAINERS_QUERIES, strict=True):
            for row in store.select(query % {"nodes": values}):
                found.setdefault(row["n"].value, []).append((row["c"].value, rank, what, row["cLabel"].value))
    for steps in found.values():
        steps.sort(key=lambda s: (s[1], s[3], s[0]))
    return found


def _person_steps(store: Store, person: str, containers: dict[str, list[tuple[str, int, str, str]]]):
    """A person who holds posts in several units is contained in the smallest unit that holds them all (a
    person in grid operations and in non-regulated marketing answers to whoever is above both)."""
    units = [c for c in containers.get(person, []) if c[2] in PERSON_UNITS]
    if len({u[0] for u in units}) < 2:
        return None
    values = _values([u[0] for u in units])
    parents: dict[str, str] = {}
    for row in sorted(store.select(PARENTS_QUERY % {"nodes": values}), key=lambda r: r["parent"].value):
        parents.setdefault(row["u"].value, row["parent"].value)

    def chain(unit: str) -> list[str]:
        path = [unit]
        while path[-1] in parents and parents[path[-1]] not in path:
            path.append(parents[path[-1]])
        return path

    chains = [chain(u[0]) for u in units]
    common = [u for u in chains[0] if all(u in c for c in chains[1:])]
    if not common:
        return None
    labels = {row["x"].value: row["l"].value for row in store.select(
        f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {ox.NamedNode(common[0])} }} ?x <{RDFS_LABEL}> ?l }}")}
    return [(common[0], 1, "the smallest unit that holds all their posts", labels.get(common[0], common[0]))]


def _chunks(items: list[str], size: int = 500):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ------------------------------------------------------------------ what a query reads

def sparql_terms(query: str) -> frozenset[str] | None:
    """The IRIs a SPARQL query names (predicates, classes, constants), parsed by rdflib: a change that states or
    retracts none of them, as a predicate or as the class of an rdf:type, cannot change its answer. None when it
    reads triples by a variable predicate or a negated property set (any change may), or does not parse."""
    try:
        algebra = prepareQuery(query).algebra
    except Exception:  # noqa: BLE001 - rdflib raises its parser's own kinds; all mean "cannot tell"
        return None
    terms: set[str] = set()
    return frozenset(terms) if _collect_terms(algebra, terms) else None


def _collect_terms(node, terms: set[str]) -> bool:
    """The IRIs a SPARQL algebra tree names, into `terms`; False if it reads triples by a variable predicate or a
    negated property set (any predicate could matter)."""
    if isinstance(node, rdflib.URIRef):
        terms.add(str(node))
    elif isinstance(node, NegatedPath):
        return False
    elif isinstance(node, Path):
        parts = [getattr(node, name) for name in ("args", "arg", "path") if hasattr(node, name)]
        return all(_collect_terms(part, terms) for part in parts)
    elif isinstance(node, CompValue):
        if node.name == "BGP":
            return all(_collect_pattern(triple, terms) for triple in node.get("triples", ()))
        if node.name == "TriplesBlock":  # a pattern not yet translated (inside FILTER NOT EXISTS): s p o s p o ...
            return all(_collect_pattern(tuple(block[i:i + 3]), terms)
                       for block in node.get("triples", ()) for i in range(0, len(block) - 2, 3))
        if node.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):  # rdflib sets the translated pattern as an
            return _collect_terms(node.graph, terms)  # attribute; the key keeps it with no filters
        return all(_collect_terms(value, terms) for value in node.values())
    elif isinstance(node, (list, tuple)):
        return all(_collect_terms(item, terms) for item in node)
    return True


TYPE_TERM, SUBCLASS_TERM = rdflib.RDF.type, rdflib.RDFS.subClassOf


def _collect_pattern(triple: tuple, terms: set[str]) -> bool:
    """`_collect_terms` of one triple pattern. `?x a C` and `?x a/rdfs:subClassOf* C` read the types that are C or
    below it (a change of a class or one of its super-classes can alter it): C is the term, not rdf:type, which would send
    every typed write to the full gate. Any other use of rdf:type names it (every type is read)."""
    subject, predicate, obj = triple
    if isinstance(predicate, rdflib.Variable):
        return False
    below = isinstance(predicate, SequencePath) and len(predicate.args) == 2 and predicate.args[0] == TYPE_TERM and \
        isinstance(predicate.args[1], MulPath) and predicate.args[1].path == SUBCLASS_TERM
    if (predicate == TYPE_TERM or below) and isinstance(obj, rdflib.URIRef):
        return _collect_terms(subject, terms) and _collect_terms(obj, terms)
    return all(_collect_terms(part, terms) for part in triple)


@lru_cache(maxsize=1)
def context_terms() -> frozenset[str] | None:
    """What `with_context` reads of the store (labels, kinds, scopes, owners, containers): a write that names
    none of these terms, and changes no entailment, leaves every finding's label and owner as it was."""
    terms: set[str] = set()
    dummy = {"focus": "<urn:ekb:x>", "nodes": "<urn:ekb:x>", "ontology": ONTOLOGY_NS}
    for query in (CONTEXT_QUERY, *OWNERS_QUERIES, SIDES_QUERY, *CONTAINERS_QUERIES, PARENTS_QUERY,
                  f"SELECT ?x ?l WHERE {{ ?x <{RDFS_LABEL}> ?l }}"):
        read = sparql_terms(query % dummy if "%(" in query else query)
        if read is None:
            return None
        terms |= read
    return frozenset(terms)
