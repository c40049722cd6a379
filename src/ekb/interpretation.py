"""Reading an engine's sh:ValidationReport as findings a council member acts on: each result tied to its rule
(the node shape, named and sourced), its thing (label and kind) and the owner of the fix, read from the
knowledge base."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import pyoxigraph as ox
import rdflib

from ekb.config import ONTOLOGY_NS, RDFS_LABEL, SH, sparql_prologue
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

# Who owns the fix: the thing's accountable owner; for a record, the owner of the information entity its
# class models; for an organisation, a post in it.
CONTEXT_QUERY = sparql_prologue() + """
SELECT ?focus ?label ?typeLabel ?owner ?ownerLabel WHERE {
  VALUES ?focus { %(focus)s }
  OPTIONAL { ?focus rdfs:label ?l }
  OPTIONAL { ?focus a ?type . ?type rdfs:label ?tl . FILTER(STRSTARTS(STR(?type), "%(ontology)s"))
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
    """The findings with their focus's label and type and the owner of the fix, read from the knowledge base,
    in reading order (severity, rule, thing)."""
    focuses = sorted({f.focus for f in findings if f.focus.startswith(("http:", "https:", "urn:"))})
    context: dict[str, dict[str, str]] = {}
    if focuses:
        values = " ".join(str(ox.NamedNode(f)) for f in focuses)
        for row in kb_store.select(CONTEXT_QUERY % {"focus": values, "ontology": ONTOLOGY_NS}):
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
