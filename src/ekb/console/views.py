"""The console's view models: plain functions that ask the KnowledgeBase (SPARQL, the kept governance report, the
history) and return plain data for a template. No HTTP here, so each is callable from a test or the CLI.

Every query goes through `kb.sparql` (the operator's limits and worker processes apply, as for any client)."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pyoxigraph as ox

from ekb.config import DATA_GRAPH_FILTER, EKB, ONTOLOGY_GRAPH, PREFIXES, sparql_prologue
from ekb.findings import SEVERITIES, Finding, Report
from ekb.formats import SOLUTION_FORMATS
from ekb.kb import KnowledgeBase
from ekb.linked_data import COLLECTIONS

MAX_INCOMING = 300  # links shown on a resource page; past that the page says there are more
MAX_OWNED = 1000  # things listed on an owner's page


def select(kb: KnowledgeBase, text: str) -> list[dict[str, str]]:
    """A SELECT through the knowledge base, each row as {variable: lexical value} (unbound ones left out)."""
    answer = kb.sparql(sparql_prologue() + text, SOLUTION_FORMATS[0])
    results = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
    names = [v.value for v in results.variables]
    return [{n: row[n].value for n in names if row[n] is not None} for row in results]


def iri(value: str) -> str:
    """An IRI as a SPARQL term, serialised by the engine (never pasted in by hand)."""
    return str(ox.NamedNode(value))


def _notation_key(notation: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in notation.split("."))


# --- Home ---------------------------------------------------------------------------------------------------

def kind_counts(kb: KnowledgeBase) -> list[dict]:
    """How many things of each main kind (the collections), with the collection's path."""
    classes = {cls: kind for kind, (cls, _) in COLLECTIONS.items()}
    values = " ".join(classes)
    rows = select(kb, f"SELECT ?cls (COUNT(DISTINCT ?x) AS ?n) WHERE {{ VALUES ?cls {{ {values} }} ?x a ?cls }} "
                      "GROUP BY ?cls")
    found = {row["cls"]: int(row["n"]) for row in rows}
    counts = []
    for cls, kind in classes.items():
        prefix, _, local = cls.partition(":")
        counts.append({"kind": kind, "label": kind.replace("-", " ").capitalize(),
                       "count": found.get(PREFIXES[prefix] + local, 0), "href": f"/collections/{kind}"})
    return counts


def home(kb: KnowledgeBase) -> dict:
    report = kb.current_report()
    runs = kb.history()
    return {"kinds": kind_counts(kb), "graphs": sorted(kb.counts().items()), "modified": kb.modified.isoformat(),
            "report": report, "counts": report.counts, "last_run": runs[-1] if runs else None, "runs": len(runs)}


# --- Capability map --------------------------------------------------------------------------------------------

MEASURES = {"severity": "worst finding", "owner": "accountable owner", "systems": "supporting systems",
            "scope": "regulatory scope"}
SCOPE_NAMES = {"Regulated": "regulated", "NonRegulated": "non-regulated", "Shared": "shared"}
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#e15759",
           "#bab0ac", "#86bcb6", "#d37295", "#a0cbe8", "#ffbe7d", "#8cd17d", "#b6992d", "#f1ce63", "#499894")
SEVERITY_COLOURS = {"Violation": "#e15759", "Warning": "#f1a340", "Info": "#a0cbe8", "none": "#c7e9c0"}
SCOPE_COLOURS = {"regulated": "#4e79a7", "non-regulated": "#f28e2b", "shared": "#59a14f", "unknown": "#d0d4dc"}


@dataclass
class Box:
    iri: str
    notation: str
    label: str
    level: int
    owner: str = ""
    scope: str = "unknown"
    systems: int = 0
    worst: str = "none"
    findings: int = 0
    children: list[Box] = field(default_factory=list)
    colour: str = "#d0d4dc"
    value: str = ""


CAPABILITIES = """SELECT ?c ?notation ?label ?level ?parent ?ownerLabel ?scope (COUNT(DISTINCT ?system) AS ?systems) WHERE {
  ?c a ekb:BusinessCapability ; skos:notation ?notation ; rdfs:label ?label ; ekb:capabilityLevel ?level .
  OPTIONAL { ?c ekb:hasParentCapability ?parent }
  OPTIONAL { ?c ekb:hasAccountableOwner/rdfs:label ?ownerLabel }
  OPTIONAL { ?c util:hasRegulatoryScope ?scope }
  OPTIONAL { ?system ekb:supportsCapability ?c }
} GROUP BY ?c ?notation ?label ?level ?parent ?ownerLabel ?scope"""


def capability_map(kb: KnowledgeBase, measure: str) -> dict:
    """The L1 boxes, each with its L2 boxes, coloured by `measure` (one of MEASURES), and the legend."""
    if measure not in MEASURES:
        measure = "severity"
    report = kb.current_report()
    worst: dict[str, str] = {}
    findings: Counter = Counter()
    for f in report.findings:
        findings[f.focus] += 1
        if f.focus not in worst or SEVERITIES.index(f.severity) < SEVERITIES.index(worst[f.focus]):
            worst[f.focus] = f.severity
    boxes: dict[str, Box] = {}
    parents: dict[str, str] = {}
    for row in select(kb, CAPABILITIES):
        if row["c"] in boxes:  # a second owner or scope: keep the first, the page of the box shows all
            continue
        scope = SCOPE_NAMES.get(row.get("scope", "").rsplit("/", 1)[-1], "unknown")
        boxes[row["c"]] = Box(row["c"], row["notation"], row["label"], int(row["level"]), row.get("ownerLabel", ""),
                              scope, int(row["systems"]), worst.get(row["c"], "none"), findings[row["c"]])
        if "parent" in row:
            parents[row["c"]] = row["parent"]
    for child, parent in parents.items():
        if parent in boxes and boxes[child].level == 2:
            boxes[parent].children.append(boxes[child])
    l1 = sorted((b for b in boxes.values() if b.level == 1), key=lambda b: _notation_key(b.notation))
    for box in l1:
        box.children.sort(key=lambda b: _notation_key(b.notation))
    legend = _colour(list(boxes.values()), measure)
    return {"l1": l1, "measure": measure, "measures": MEASURES, "legend": legend,
            "l2_count": sum(len(b.children) for b in l1)}


def _colour(boxes: list[Box], measure: str) -> list[tuple[str, str]]:
    """Give each box its colour and value for `measure`; returns the legend as (value, colour)."""
    if measure == "severity":
        for b in boxes:
            b.value, b.colour = b.worst, SEVERITY_COLOURS[b.worst]
        return [(k if k != "none" else "no finding", v) for k, v in SEVERITY_COLOURS.items()]
    if measure == "scope":
        for b in boxes:
            b.value, b.colour = b.scope, SCOPE_COLOURS[b.scope]
        return list(SCOPE_COLOURS.items())
    if measure == "systems":
        bands = [(0, "none", "#f4cccc"), (1, "1", "#d9ead3"), (2, "2", "#a8d5a2"), (3, "3 or more", "#6aa84f")]
        for b in boxes:
            _, b.value, b.colour = bands[min(b.systems, 3)]
            b.value = f"{b.systems} system{'s' if b.systems != 1 else ''}"
        return [(name, colour) for _, name, colour in bands]
    owners = sorted({b.owner or "no owner" for b in boxes})
    colours = {o: PALETTE[i % len(PALETTE)] for i, o in enumerate(owners)}
    for b in boxes:
        b.value = b.owner or "no owner"
        b.colour = colours[b.value]
    return list(colours.items())


# --- Value streams ----------------------------------------------------------------------------------------------

STREAMS = """SELECT ?stream ?streamLabel ?definition ?stage ?stageLabel ?order ?capability ?capabilityLabel
       ?system ?systemLabel WHERE {
  ?stream a ekb:ValueStream ; rdfs:label ?streamLabel .
  OPTIONAL { ?stream skos:definition ?definition }
  OPTIONAL {
    ?stream ekb:hasStage ?stage . ?stage rdfs:label ?stageLabel .
    OPTIONAL { ?stage ekb:stageOrder ?order }
    OPTIONAL { ?stage ekb:isEnabledBy ?capability . ?capability rdfs:label ?capabilityLabel .
               OPTIONAL { ?system ekb:supportsCapability ?capability ; rdfs:label ?systemLabel } }
  }
} ORDER BY ?streamLabel ?order ?capabilityLabel ?systemLabel"""


def value_streams(kb: KnowledgeBase) -> list[dict]:
    """Each value stream with its stages in order, each stage with its enabling capabilities and their systems."""
    streams: dict[str, dict] = {}
    for row in select(kb, STREAMS):
        stream = streams.setdefault(row["stream"], {"iri": row["stream"], "label": row["streamLabel"],
                                                    "definition": row.get("definition", ""), "stages": {}})
        if "stage" not in row:
            continue
        stage = stream["stages"].setdefault(row["stage"], {"iri": row["stage"], "label": row["stageLabel"],
                                                           "order": int(float(row.get("order", 0))),
                                                           "capabilities": {}, "systems": {}})
        if "capability" in row:
            stage["capabilities"][row["capability"]] = row["capabilityLabel"]
        if "system" in row:
            stage["systems"][row["system"]] = row["systemLabel"]
    result = []
    for stream in streams.values():
        stream["stages"] = sorted(stream["stages"].values(), key=lambda s: (s["order"], s["label"]))
        result.append(stream)
    return result


# --- Information ------------------------------------------------------------------------------------------------

ENTITIES_SHOWN = 60  # per domain; the rest are one click away in the filtered collection


def information(kb: KnowledgeBase) -> list[dict]:
    """The information domains, each with (the first of) its entities and how many it has."""
    rows = select(kb, """SELECT ?domain ?domainLabel ?entity ?entityLabel WHERE {
        ?domain a ekb:InformationDomain ; rdfs:label ?domainLabel .
        OPTIONAL { ?entity ekb:belongsToDomain ?domain ; rdfs:label ?entityLabel }
      } ORDER BY ?domainLabel ?entityLabel""")
    domains: dict[str, dict] = {}
    for row in rows:
        domain = domains.setdefault(row["domain"], {"iri": row["domain"], "label": row["domainLabel"], "entities": {}})
        if "entity" in row:
            domain["entities"].setdefault(row["entity"], row["entityLabel"])
    for domain in domains.values():
        domain["total"] = len(domain["entities"])
        domain["entities"] = list(domain["entities"].items())[:ENTITIES_SHOWN]
    return list(domains.values())


# --- Resource pages ---------------------------------------------------------------------------------------------

def incoming(kb: KnowledgeBase, target: str) -> dict:
    """What points at `target` in the asserted data, grouped by property: {property label: [(iri, label)]}."""
    rows = select(kb, f"""SELECT DISTINCT ?s ?p ?sLabel ?pLabel WHERE {{
        GRAPH ?g {{ ?s ?p {iri(target)} }} {DATA_GRAPH_FILTER} FILTER(isIRI(?s))
        OPTIONAL {{ ?s rdfs:label ?sLabel }} OPTIONAL {{ ?p rdfs:label ?pLabel }}
      }} ORDER BY ?p ?sLabel ?s LIMIT {MAX_INCOMING + 1}""")
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    seen = set()
    for row in rows[:MAX_INCOMING]:
        if (row["p"], row["s"]) in seen:
            continue
        seen.add((row["p"], row["s"]))
        groups[(row["p"], row.get("pLabel", ""))].append((row["s"], row.get("sLabel", row["s"])))
    return {"groups": sorted(groups.items(), key=lambda kv: kv[0][1] or kv[0][0]), "more": len(rows) > MAX_INCOMING}


def breadcrumbs(kb: KnowledgeBase, target: str) -> list[tuple[str, str]]:
    """Where the thing sits: (href, label) from the top view down to its parent (L1 > L2, domain > entity)."""
    rows = select(kb, f"""SELECT ?kind ?parent ?parentLabel WHERE {{
        {{ {iri(target)} a ekb:BusinessCapability BIND("capability" AS ?kind)
           OPTIONAL {{ {iri(target)} ekb:hasParentCapability ?parent . ?parent rdfs:label ?parentLabel }} }}
        UNION {{ {iri(target)} a ekb:InformationEntity BIND("entity" AS ?kind)
           OPTIONAL {{ {iri(target)} ekb:belongsToDomain ?parent . ?parent rdfs:label ?parentLabel }} }}
        UNION {{ {iri(target)} a ekb:InformationDomain BIND("domain" AS ?kind) }}
        UNION {{ {iri(target)} a ekb:ValueStream BIND("stream" AS ?kind) }}
        UNION {{ ?stream ekb:hasStage {iri(target)} ; rdfs:label ?parentLabel BIND(?stream AS ?parent) BIND("stage" AS ?kind) }}
        UNION {{ {iri(target)} a ekb:System BIND("system" AS ?kind) }}
        UNION {{ {iri(target)} a ekb:Owner BIND("owner" AS ?kind) }}
      }} LIMIT 10""")
    tops = {"capability": ("/capabilities", "Capabilities"), "entity": ("/information", "Information"),
            "domain": ("/information", "Information"), "stream": ("/value-streams", "Value streams"),
            "stage": ("/value-streams", "Value streams"), "system": ("/collections/systems", "Systems"),
            "owner": ("/collections/owners", "Owners")}
    if not rows:
        return []
    crumbs = [tops[rows[0]["kind"]]]
    parent = next((r for r in rows if "parent" in r), None)
    if parent:
        crumbs.append((parent["parent"], parent["parentLabel"]))
    return crumbs


def findings_about(report: Report, target: str) -> list[Finding]:
    return [f for f in report.findings if f.focus == target]


def owned(kb: KnowledgeBase, owner: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """What an owner is accountable for (or stewards), grouped by kind (the asserted class's label)."""
    rows = select(kb, f"""SELECT DISTINCT ?thing ?label ?typeLabel WHERE {{
        ?thing ekb:hasAccountableOwner|ekb:hasDataSteward {iri(owner)} .
        GRAPH ?g {{ ?thing a ?type }} {DATA_GRAPH_FILTER}
        OPTIONAL {{ ?thing rdfs:label ?label }} OPTIONAL {{ ?type rdfs:label ?typeLabel }}
      }} ORDER BY ?typeLabel ?label LIMIT {MAX_OWNED}""")
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        entry = (row["thing"], row.get("label", row["thing"]))
        kind = row.get("typeLabel", "other")
        if entry not in groups[kind]:
            groups[kind].append(entry)
    return sorted(groups.items())


def is_owner(kb: KnowledgeBase, target: str) -> bool:
    return bool(select(kb, f"SELECT ?x WHERE {{ {iri(target)} a ekb:Owner }} LIMIT 1"))


def resource(kb: KnowledgeBase, target: str) -> dict:
    """What a resource page shows beside the thing's own statements."""
    report = kb.current_report()
    owner = is_owner(kb, target)
    return {"incoming": incoming(kb, target), "crumbs": breadcrumbs(kb, target),
            "findings": findings_about(report, target),
            "owned": owned(kb, target) if owner else None,
            "owner_findings": [f for f in report.findings if f.owner == target] if owner else None}


# --- Governance dashboard ---------------------------------------------------------------------------------------

FILTERS = ("severity", "rule", "owner", "kind")


def _matches(f: Finding, filters: dict[str, str]) -> bool:
    wanted = {"severity": f.severity, "rule": f.rule, "owner": f.owner or "none", "kind": f.focus_type or "none"}
    return all(not filters.get(k) or filters[k] == wanted[k] for k in FILTERS)


def trend(runs: list[dict], width: int = 640, height: int = 160) -> dict:
    """The recorded runs as polylines (one per severity) in an SVG box: coordinates computed here."""
    if not runs:
        return {"width": width, "height": height, "lines": [], "top": 0, "runs": 0}
    top = max(max(r["violations"], r["warnings"], r["infos"]) for r in runs) or 1
    step = (width - 40) / max(len(runs) - 1, 1)

    def point(i: int, n: int) -> str:
        return f"{30 + i * step:.1f},{height - 20 - n * (height - 40) / top:.1f}"

    lines = [(name, SEVERITY_COLOURS[severity], " ".join(point(i, r[name]) for i, r in enumerate(runs)))
             for name, severity in (("violations", "Violation"), ("warnings", "Warning"), ("infos", "Info"))]
    return {"width": width, "height": height, "lines": lines, "top": top, "runs": len(runs),
            "first": runs[0]["started"], "last": runs[-1]["started"]}


FINDINGS_PAGE = 100  # findings per page of the dashboard: a large store has thousands


def dashboard(kb: KnowledgeBase, filters: dict[str, str], page: int = 1) -> dict:
    """The governance dashboard: the kept report's counts (whole), its findings filtered and paged, the trend over
    the recorded runs and the change since the last one."""
    report = kb.current_report()
    runs = kb.history()
    matching = [f for f in report.findings if _matches(f, filters)]
    pages = max(1, -(-len(matching) // FINDINGS_PAGE))
    page = min(max(1, page), pages)
    shown = matching[(page - 1) * FINDINGS_PAGE:page * FINDINGS_PAGE]
    owners = Counter((f.owner or "none", f.owner_label or "no owner recorded") for f in report.findings)
    kinds = Counter(f.focus_type or "none" for f in report.findings)
    by_rule = report.by_rule()
    rules = sorted(((rule, by_rule.get(rule.iri, 0)) for rule in report.rules.values()),
                   key=lambda rn: (-rn[1], SEVERITIES.index(rn[0].severity) if rn[0].severity in SEVERITIES else 9,
                                   rn[0].name))
    now = {"violations": report.count("Violation"), "warnings": report.count("Warning"), "infos": report.count("Info")}
    previous = runs[-1] if runs else None
    changes = {k: now[k] - previous[k] for k in now} if previous else None
    new, fixed = kb.since_last_run(report) or ([], [])
    between = ({k: runs[-1][k] - runs[-2][k] for k in now} if len(runs) > 1 else None)
    return {"report": report, "counts": report.counts, "shown": shown, "matching": len(matching), "filters": filters,
            "page": page, "pages": pages, "first": (page - 1) * FINDINGS_PAGE + 1 if shown else 0,
            "owners": sorted(owners.items(), key=lambda kv: (-kv[1], kv[0][1])), "kinds": sorted(kinds.items()),
            "rules": rules, "trend": trend(runs), "runs": runs[-10:][::-1], "previous": previous, "changes": changes,
            "new": new, "fixed": fixed,
            "between": between, "severities": SEVERITIES}


def when(text: str) -> str:
    """An ISO timestamp for people: date and minutes, UTC."""
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return text


# --- SPARQL console ---------------------------------------------------------------------------------------------

def vocabulary(kb: KnowledgeBase) -> dict[str, list[str]]:
    """The model's classes and properties (full IRIs), for the editor's completion: it never asks another host."""
    rows = select(kb, f"""SELECT DISTINCT ?term ?kind WHERE {{
        GRAPH <{ONTOLOGY_GRAPH}> {{
          {{ ?term a owl:Class BIND("class" AS ?kind) }}
          UNION {{ ?term a ?pt VALUES ?pt {{ owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty rdf:Property }}
                  BIND("property" AS ?kind) }} }}
        FILTER(isIRI(?term)) }} ORDER BY ?term""")
    found: dict[str, list[str]] = {"class": [], "property": []}
    for row in rows:
        found[row["kind"]].append(row["term"])
    return found


def is_model_term(value: str) -> bool:
    return value.startswith(EKB)
