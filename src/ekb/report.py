"""Renderings of a governance report: a terminal summary, a self-contained HTML page, JSON, the standard
sh:ValidationReport in Turtle, and CSV. Each says the same thing; none needs anything but the Report."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

import pyoxigraph as ox

from ekb.config import PREFIXES
from ekb.console import render as render_page
from ekb.findings import SEVERITIES, Finding, Report
from ekb.terms import triple_to_ox

FORMATS = ("text", "html", "json", "turtle", "csv")
MEDIA_TYPES = {"json": "application/json", "html": "text/html", "turtle": "text/turtle", "csv": "text/csv",
               "text": "text/plain"}


def render(report: Report, fmt: str, group_by: str = "rule") -> str:
    if fmt == "html":
        return html(report, group_by)
    if fmt == "json":
        return json.dumps(report.as_json(), indent=2, ensure_ascii=False)
    if fmt == "turtle":
        return turtle(report)
    if fmt == "csv":
        return as_csv(report)
    return text(report)


def turtle(report: Report) -> str:
    """The engine's sh:ValidationReport in Turtle, written by the engine's serialiser: rdflib writes an ill-typed
    literal such as "none"^^xsd:boolean as a bare word, which no parser reads back."""
    triples = [t for t in (triple_to_ox(*spo) for spo in report.report_graph) if t is not None]
    return ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=REPORT_PREFIXES).decode("utf-8")


REPORT_PREFIXES = {p: PREFIXES[p] for p in ("sh", "rdf", "rdfs", "xsd", "owl")}


def text(report: Report) -> str:
    counts = report.counts
    lines = [f"Governance report, {report.started} ({report.engine}, {report.triples:,} triples, "
             f"{report.seconds:.2f} s)",
             "Verdict: " + ("conforms: no violation" if not counts["Violation"] else
                            f"DOES NOT CONFORM: {counts['Violation']} violation(s)"),
             f"Findings: {counts['Violation']} violation(s), {counts['Warning']} warning(s), {counts['Info']} info(s)"]
    if report.findings:
        lines.append("")
        lines.append("By rule:")
        for rule, n in sorted(report.by_rule().items(), key=lambda kv: (-kv[1], kv[0])):
            info = report.rules.get(rule)
            lines.append(f"  {n:4d}  {info.name if info else rule}  [{info.severity if info else '?'}]")
        lines.append("")
        lines.append("Findings:")
        lines += [f"  - {f.sentence}" for f in report.findings]
    return "\n".join(lines) + "\n"


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["severity", "rule", "rule_name", "focus", "focus_label", "focus_type", "property", "value",
                     "message", "owner", "owner_label", "sentence"])
    for f in report.findings:
        writer.writerow([f.severity, f.rule, f.rule_name, f.focus, f.focus_label, f.focus_type, f.prop, f.value,
                         f.message, f.owner, f.owner_label, f.sentence])
    return out.getvalue()


def html(report: Report, group_by: str = "rule") -> str:
    """The report as a page on the console's layout, its stylesheet inlined: the same page is served and saved
    to a file (`ekb validate --format html -o report.html`), which has no server to fetch a stylesheet from."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        groups[f.rule if group_by == "rule" else (f.owner_label or "No accountable owner recorded")].append(f)
    ordered = sorted(groups.items(), key=lambda kv: (min(SEVERITIES.index(f.severity) for f in kv[1]), -len(kv[1]), kv[0]))
    sections = []
    for key, findings in ordered:
        rule = report.rules.get(key) if group_by == "rule" else None
        sections.append({"title": rule.name if rule else key, "rule": rule, "findings": findings})
    counts = report.counts
    return render_page("report.html", here="/governance", inline_css=True,
                  title=f"Governance report: {counts['Violation']} violations", report=report, counts=counts,
                  group_by=group_by, other="owner" if group_by == "rule" else "rule", groups=sections,
                  rules=sorted(report.rules.values(), key=lambda r: r.name))
