"""Governance: run the shapes over the knowledge base and turn the SHACL report into findings a council
member reads (what, which rule, how bad, who owns the fix), gate writes on it, and keep its history.

What is validated: the asserted data and the ontology (for SHACL's own rdfs:subClassOf semantics), never the
inferred graph: OWL RL types whatever a domain or range touches, which would make sh:class checks pass
vacuously. The shapes take inverse and alternative paths, so they need no inferred inverse links.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import pyoxigraph as ox
import rdflib

from ekb.config import (
    DATA_GRAPH_FILTER,
    HISTORY_GRAPH,
    ID,
    ONTOLOGY_GRAPH,
    SHAPES_GRAPH,
    is_data_graph,
    sparql_prologue,
)
from ekb.store import NTRIPLES, EmbeddedStore, Store
from ekb.validation import ShaclEngine, TurboEngine

SH = "http://www.w3.org/ns/shacl#"
SEVERITIES = ("Violation", "Warning", "Info")



@dataclass(frozen=True)
class Finding:
    rule: str
    rule_name: str
    severity: str
    focus: str
    focus_label: str
    focus_type: str
    message: str
    constraint: str
    prop: str = ""
    value: str = ""
    owner: str = ""
    owner_label: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        """What makes a finding the same finding before and after a change."""
        return (self.rule, self.focus, self.prop, self.value, self.constraint)

    @property
    def sentence(self) -> str:
        kind = f" ({self.focus_type})" if self.focus_type else ""
        owner = self.owner_label or "no accountable owner recorded"
        return (f"{self.severity}: {self.focus_label}{kind} {self.message}. Rule: {self.rule_name}. "
                f"Owner to fix: {owner}.")


@dataclass(frozen=True)
class Rule:
    iri: str
    name: str
    description: str
    severity: str
    sources: tuple[str, ...]


@dataclass
class Report:
    findings: list[Finding]
    rules: dict[str, Rule]
    engine: str
    started: str
    seconds: float
    triples: int
    report_graph: rdflib.Graph = field(repr=False, default_factory=rdflib.Graph)

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in SEVERITIES}

    def by_rule(self) -> Counter:
        return Counter(f.rule for f in self.findings)

    def fails(self, fail_on: str) -> bool:
        """Whether the report should fail a gate set at `fail_on` (violation, warning or info)."""
        threshold = {"violation": 1, "warning": 2, "info": 3, "none": 0}[fail_on.lower()]
        return any(self.count(s) for s in SEVERITIES[:threshold])

    def as_json(self) -> dict:
        return {
            "conforms": self.count("Violation") == 0, "engine": self.engine, "started": self.started,
            "seconds": round(self.seconds, 3), "validatedTriples": self.triples, "counts": self.counts,
            "rules": [{**asdict(rule), "findings": self.by_rule().get(rule.iri, 0)} for rule in self.rules.values()],
            "findings": [{**asdict(f), "sentence": f.sentence} for f in self.findings],
        }


def split_store(store: Store) -> tuple[bytes, bytes]:
    """(data with the ontology, shapes) as N-Triples, read graph by graph from the store."""
    graphs = store.graphs()
    data = b"".join(store.graph_ntriples(g) for g in graphs if is_data_graph(g))
    shapes = store.graph_ntriples(SHAPES_GRAPH) if SHAPES_GRAPH in graphs else b""
    return data, shapes


RULES_QUERY = """PREFIX sh: <http://www.w3.org/ns/shacl#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?rule ?name ?description ?severity (GROUP_CONCAT(DISTINCT ?sourceLabel; separator="|") AS ?sources) WHERE {
  ?rule a sh:NodeShape ; sh:name ?name .
  OPTIONAL { ?rule sh:description ?description }
  OPTIONAL { ?rule sh:severity ?severity }
  OPTIONAL { ?rule dcterms:source ?source . OPTIONAL { ?source rdfs:label ?l } BIND(COALESCE(?l, STR(?source)) AS ?sourceLabel) }
} GROUP BY ?rule ?name ?description ?severity"""

PROPERTY_QUERY = """PREFIX sh: <http://www.w3.org/ns/shacl#>
SELECT ?shape ?rule ?name WHERE { ?rule sh:property ?shape . OPTIONAL { ?shape sh:name ?name } }"""

# Who owns the fix: the thing's accountable owner; for a record, the owner of the information entity its
# class models; for an organisation, a post in it.
CONTEXT_QUERY = sparql_prologue() + """
SELECT ?focus ?label ?typeLabel ?owner ?ownerLabel WHERE {
  VALUES ?focus { %s }
  OPTIONAL { ?focus rdfs:label ?l }
  OPTIONAL { ?focus a ?type . ?type rdfs:label ?tl . FILTER(STRSTARTS(STR(?type), "https://kb.quantum-energy.example/def/"))
             FILTER NOT EXISTS { ?focus a ?sub . ?sub rdfs:subClassOf ?type . FILTER(?sub != ?type) } }
  OPTIONAL { ?focus ekb:hasAccountableOwner ?direct . ?direct rdfs:label ?directLabel }
  OPTIONAL { ?focus a ?cls . ?entity ekb:modelledByClass ?cls ; ekb:hasAccountableOwner ?byEntity .
             ?byEntity rdfs:label ?byEntityLabel }
  OPTIONAL { ?post org:postIn ?focus ; a ekb:Owner ; rdfs:label ?postLabel }
  BIND(COALESCE(?direct, ?byEntity, ?post) AS ?owner)
  BIND(COALESCE(?directLabel, ?byEntityLabel, ?postLabel) AS ?ownerLabel)
  BIND(COALESCE(?l, STR(?focus)) AS ?label)
  BIND(COALESCE(?tl, "") AS ?typeLabel)
} ORDER BY ?focus ?ownerLabel"""


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
    values = " ".join(str(ox.NamedNode(i)) for i in sorted(iris))
    rows = store.select(f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {values} }} ?x <http://www.w3.org/2000/01/rdf-schema#label> ?l }}")
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
    """The findings with their focus's label and type and the owner of the fix, read from the knowledge base,
    in reading order (severity, rule, thing)."""
    focuses = sorted({f.focus for f in findings if f.focus.startswith(("http:", "https:", "urn:"))})
    context: dict[str, dict[str, str]] = {}
    if focuses:
        values = " ".join(str(ox.NamedNode(f)) for f in focuses)
        for row in kb_store.select(CONTEXT_QUERY % values):
            ctx = {k: v.value for k, v in row.items()}
            context.setdefault(ctx["focus"], ctx)
    enriched = []
    for f in findings:
        ctx = context.get(f.focus, {})
        enriched.append(replace(f, focus_label=ctx.get("label", f.focus), focus_type=ctx.get("typeLabel", ""),
                                owner=ctx.get("owner", ""), owner_label=ctx.get("ownerLabel", "")))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    enriched.sort(key=lambda f: (order.get(f.severity, 9), f.rule_name, f.focus_label, f.prop, f.value))
    return enriched


def validate_store(store: Store, engine: ShaclEngine | None = None, focus_nodes: list[str] | None = None,
                   context_store: Store | None = None, shapes_nt: bytes | None = None, enrich: bool = True) -> Report:
    engine = engine or TurboEngine()
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = time.perf_counter()
    data_nt, own_shapes = split_store(store)
    shapes_nt = own_shapes if shapes_nt is None else shapes_nt
    report_graph = engine.validate(data_nt, shapes_nt, focus_nodes)
    findings, rules = interpret(report_graph, shapes_nt, context_store or store, enrich)
    return Report(findings, rules, engine.name, started.isoformat().replace("+00:00", "Z"),
                  time.perf_counter() - clock, data_nt.count(b"\n"), report_graph)


def validate_files(data: list[ox.Triple], shapes: list[ox.Triple], engine: ShaclEngine | None = None) -> Report:
    """Validate any data files against any shapes files (the CLI's `ekb validate FILES --shapes FILES`)."""
    staging = EmbeddedStore()
    staging.replace_graphs({ID + "validate/data": ox.serialize(data, format=ox.RdfFormat.N_TRIPLES),
                            SHAPES_GRAPH: ox.serialize(shapes, format=ox.RdfFormat.N_TRIPLES)})
    return validate_store(staging, engine)


@dataclass
class GateResult:
    accepted: bool
    new_findings: list[Finding]
    report: Report
    neighbourhood: frozenset = frozenset()  # what a neighbourhood check read (to reason over it next)

    def as_json(self) -> dict:
        return {"accepted": self.accepted,
                "newViolations": [{**asdict(f), "sentence": f.sentence} for f in self.new_findings
                                  if f.severity == "Violation"],
                "newFindings": [{**asdict(f), "sentence": f.sentence} for f in self.new_findings],
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
    change(staging)
    # The live store's shapes, not the copy's: the copy's blank nodes get new labels on every copy, and shapes
    # that read differently are compiled again (measured: 70 ms and ~0.5 MB more each write, up to 128 times).
    shapes = store.graph_ntriples(SHAPES_GRAPH) if SHAPES_GRAPH in store.graphs() else None
    after = validate_store(staging, engine, shapes_nt=shapes)
    new = [f for f in after.findings if f.key not in before]
    return GateResult(not any(f.severity == "Violation" for f in new), new, after)


def record_run(store: Store, report: Report) -> str:
    """Keep the run in the history graph (PROV-O), so trends can be shown."""
    run = f"{ID}validation-run/{report.started.replace(':', '').replace('-', '')}-{time.time_ns() % 1_000_000:06d}"
    triples = (f"<{run}> a <https://kb.quantum-energy.example/def/core/ValidationRun> ; "
               f"<http://www.w3.org/2000/01/rdf-schema#label> \"Validation run {report.started}\" ; "
               f"<http://www.w3.org/ns/prov#startedAtTime> \"{report.started}\"^^<http://www.w3.org/2001/XMLSchema#dateTime> ; "
               f"<https://kb.quantum-energy.example/def/core/violationCount> {report.count('Violation')} ; "
               f"<https://kb.quantum-energy.example/def/core/warningCount> {report.count('Warning')} ; "
               f"<https://kb.quantum-energy.example/def/core/infoCount> {report.count('Info')} ; "
               f"<https://kb.quantum-energy.example/def/core/validatedTriples> {report.triples} ; "
               f"<https://kb.quantum-energy.example/def/core/validationEngine> \"{report.engine}\" .")
    store.update(f"INSERT DATA {{ GRAPH <{HISTORY_GRAPH}> {{ {triples} }} }}")
    return run


def history(store: Store) -> list[dict]:
    rows = store.select(sparql_prologue() + f"""SELECT ?run ?started ?violations ?warnings ?infos ?triples ?engine WHERE {{
        GRAPH <{HISTORY_GRAPH}> {{ ?run a ekb:ValidationRun ; prov:startedAtTime ?started ; ekb:violationCount ?violations ;
            ekb:warningCount ?warnings ; ekb:infoCount ?infos ; ekb:validatedTriples ?triples ;
            ekb:validationEngine ?engine }} }} ORDER BY ?started ?run""")
    return [{"run": r["run"].value, "started": r["started"].value, "violations": int(r["violations"].value),
             "warnings": int(r["warnings"].value), "infos": int(r["infos"].value), "triples": int(r["triples"].value),
             "engine": r["engine"].value} for r in rows]


@dataclass(frozen=True)
class Delta:
    """A change given as triples: what a write adds to one graph and what it removes (from any graph)."""

    graph: str
    added: tuple[ox.Triple, ...] = ()
    removed: tuple[ox.Triple, ...] = ()

    def apply(self, store: Store) -> None:
        parts = []
        if self.removed:
            body = ox.serialize(list(self.removed), format=ox.RdfFormat.N_TRIPLES).decode()
            parts += [f"DELETE DATA {{ GRAPH {ox.NamedNode(g)} {{ {body} }} }}" for g in store.graphs() if is_data_graph(g)]
        if self.added:
            body = ox.serialize(list(self.added), format=ox.RdfFormat.N_TRIPLES).decode()
            parts.append(f"INSERT DATA {{ GRAPH {ox.NamedNode(self.graph)} {{ {body} }} }}")
        if parts:
            store.update(" ;\n".join(parts))

    def touched(self) -> set[str]:
        """The resources the change is about: subjects, and objects that are resources (not classes)."""
        nodes = set()
        for t in (*self.added, *self.removed):
            if isinstance(t.subject, ox.NamedNode):
                nodes.add(t.subject.value)
            if isinstance(t.object, ox.NamedNode) and t.predicate.value != RDF_TYPE:
                nodes.add(t.object.value)
        return {n for n in nodes if not n.startswith(ONTOLOGY_NS)}


RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_SUBCLASS = "http://www.w3.org/2000/01/rdf-schema#subClassOf"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
ONTOLOGY_NS = "https://kb.quantum-energy.example/def/"


def neighbourhood(store: Store, seeds: set[str], hops: int = 3, hub_limit: int = 200) -> tuple[set[ox.Triple], set[str]]:
    """The asserted triples within `hops` links of `seeds` (outgoing always; incoming only for nodes with at
    most `hub_limit` incoming links, so a product shared by a million agreements is not pulled in whole),
    and the nodes one link away from the seeds."""
    seen, frontier, triples, first_ring = set(seeds), set(seeds), set(), set()
    for hop in range(hops):
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
            reached.add(t.subject.value)
            if isinstance(t.object, ox.NamedNode) and t.predicate.value != RDF_TYPE:
                reached.add(t.object.value)
        reached = {n for n in reached if not n.startswith(ONTOLOGY_NS)}
        frontier = reached - seen
        seen |= frontier
        if hop == 0:
            first_ring = set(frontier)
    return triples, first_ring


def check_delta(store: Store, delta: Delta, engine: ShaclEngine | None = None) -> GateResult:
    """The gate for a change known as triples, on a large store: validate only what the change can affect.

    The shapes are run on the change's neighbourhood (see `neighbourhood`) plus the ontology, for the touched
    resources and their direct neighbours, before and after the change; what is new after is what the change
    adds. Exact for rules that look no further than three links from a touched resource (all shipped rules)."""
    touched = delta.touched()
    triples, ring = neighbourhood(store, touched)
    staging = EmbeddedStore()
    hierarchy = store.query(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }}
        VALUES ?p {{ <{RDFS_SUBCLASS}> <{RDFS_LABEL}> }} }}""", graph_format=NTRIPLES).body  # what shapes read there
    staging.replace_graphs({ONTOLOGY_GRAPH: hierarchy,
                            delta.graph: ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES)})
    shapes = store.graph_ntriples(SHAPES_GRAPH)  # the live store's bytes are stable: the compiled shapes are reused
    focus = sorted(touched | ring)
    before = validate_store(staging, engine, focus, context_store=store, shapes_nt=shapes, enrich=False)
    delta.apply(staging)
    after = validate_store(staging, engine, focus, context_store=store, shapes_nt=shapes, enrich=False)
    known = {f.key for f in before.findings}
    new = with_context([f for f in after.findings if f.key not in known], store)  # only what is reported
    return GateResult(not any(f.severity == "Violation" for f in new), new, after, frozenset(triples))

