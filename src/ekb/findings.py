"""Findings: what the council reads. One broken rule on one thing, how bad, and who owns the fix; a Report is
one run's findings with the rules they belong to. Rendering them is `report.py`'s job."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

import rdflib

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
            "findings": [f.as_json() for f in self.findings],
        }
