"""Findings: what the council reads. One broken rule on one thing, how bad, and who owns the fix; a Report is
one run's findings with the rules they belong to. Rendering them is `report.py`'s job."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import InitVar, asdict, dataclass

import rdflib

SEVERITIES = ("Violation", "Warning", "Info")
MAX_DEFERRED = 64  # replacements of a kept report's graph put off until it is read, at most
Replacement = tuple[rdflib.Graph, Callable[[str, str], bool]]  # (a report graph, which results it renews)


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

    def as_json(self) -> dict:
        return {**asdict(self), "sentence": self.sentence}

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
    graph: InitVar[rdflib.Graph | None] = None
    deferred: InitVar[tuple[Replacement, ...]] = ()

    def __post_init__(self, graph: rdflib.Graph | None, deferred: tuple[Replacement, ...]) -> None:
        # One attribute, so that a reader resolving it never sees a graph with the replacements still to apply.
        self._graph = (graph if graph is not None else rdflib.Graph(), tuple(deferred))

    @property
    def report_graph(self) -> rdflib.Graph:
        """The sh:ValidationReport graph. A kept report takes each write's results as `replaced_results` gives
        them only when the graph is read (a copy per write was 32 ms of a one-entity write at 10^6): the
        findings are kept up to date, the graph only serves the report as RDF."""
        graph = _applied(*self._graph)
        self._graph = (graph, ())
        return graph

    @report_graph.setter
    def report_graph(self, graph: rdflib.Graph) -> None:
        self._graph = (graph, ())

    def graph_replaced(self, new: rdflib.Graph | None = None,
                       renewed: Callable[[str, str], bool] | None = None) -> tuple[rdflib.Graph, tuple[Replacement, ...]]:
        """This report's graph, with `new`'s results where `renewed` says, for another Report to take (`graph`,
        `deferred`): put off until read, up to MAX_DEFERRED replacements."""
        graph, deferred = self._graph
        if new is not None and renewed is not None:
            deferred = (*deferred, (new, renewed))
        return (graph, deferred) if len(deferred) < MAX_DEFERRED else (_applied(graph, deferred), ())

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
            "findings": [f.as_json() for f in self.findings],
        }


SHACL = rdflib.Namespace("http://www.w3.org/ns/shacl#")


def replaced_results(graph: rdflib.Graph, new: rdflib.Graph, renewed: Callable[[str, str], bool]) -> rdflib.Graph:
    """A copy of a sh:ValidationReport graph whose results that `renewed` names (by focus node and sh:sourceShape)
    are those of `new` (another report graph, where it names the same), with sh:conforms set again. A result
    takes its blank-node details along (paths, nested results). A copy when anything changes: a reader may be
    rendering the old graph."""
    report = next(graph.subjects(rdflib.RDF.type, SHACL.ValidationReport), None)

    def replaced(g: rdflib.Graph, r) -> bool:
        return renewed(str(g.value(r, SHACL.focusNode)), str(g.value(r, SHACL.sourceShape)))
    dropped = _reachable(graph, [r for r in graph.objects(report, SHACL.result) if replaced(graph, r)])
    taken = [r for r in new.objects(None, SHACL.result) if replaced(new, r)]
    if not dropped and not taken:
        return graph  # nothing to replace: the same graph serves (it is never changed in place)
    out = rdflib.Graph()
    for triple in graph:
        if triple[0] not in dropped and triple[2] not in dropped and triple[1] != SHACL.conforms:
            out.add(triple)
    if report is None:
        return out
    for node in _reachable(new, taken):
        for triple in new.triples((node, None, None)):
            out.add(triple)
    for result in taken:
        out.add((report, SHACL.result, result))
    conforms = next(out.objects(report, SHACL.result), None) is None
    out.add((report, SHACL.conforms, rdflib.Literal(conforms)))
    return out


def _applied(graph: rdflib.Graph, deferred: tuple[Replacement, ...]) -> rdflib.Graph:
    for new, renewed in deferred:
        graph = replaced_results(graph, new, renewed)
    return graph


def _reachable(graph: rdflib.Graph, starts: list) -> set:
    """The nodes given and the blank nodes reachable from them: one result's own description."""
    seen, frontier = set(starts), list(starts)
    while frontier:
        for value in graph.objects(frontier.pop(), None):
            if isinstance(value, rdflib.BNode) and value not in seen:
                seen.add(value)
                frontier.append(value)
    return seen
