"""Renderings of a governance report: a terminal summary, a self-contained HTML page, JSON, the standard
sh:ValidationReport in Turtle, and CSV. Each says the same thing; none needs anything but the Report."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from html import escape

import pyoxigraph as ox

from ekb.config import PREFIXES
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


STYLE = """body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;
color:#1d2330;line-height:1.45}h1{margin-bottom:.2rem}.meta{color:#5b6475}.cards{display:flex;gap:1rem;margin:1.2rem 0}
.card{flex:1;border-radius:.5rem;padding:.8rem 1rem;background:#f3f5f9}.card b{font-size:1.8rem;display:block}
.Violation{border-left:.4rem solid #c0392b}.Warning{border-left:.4rem solid #d68910}.Info{border-left:.4rem solid #2e86c1}
section{margin:1.5rem 0;padding:.2rem 1rem;background:#fafbfd;border-radius:.5rem}h2{font-size:1.15rem}
.why{color:#3b4252}.source{color:#5b6475;font-size:.9rem}table{border-collapse:collapse;width:100%;font-size:.93rem}
td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e3e7ef;vertical-align:top}
.sev{font-weight:600}.ok{color:#1e8449;font-weight:600}.bad{color:#c0392b;font-weight:600}nav a{margin-right:1rem}"""


def _finding_row(f: Finding, show_rule: bool) -> str:
    first = escape(f.rule_name) if show_rule else escape(f.owner_label or "no owner recorded")
    return (f'<tr class="{f.severity}"><td class="sev">{f.severity}</td><td>{first}</td>'
            f'<td><a href="{escape(f.focus)}">{escape(f.focus_label)}</a><br><small>{escape(f.focus_type)}</small></td>'
            f"<td>{escape(f.message)}{(' (' + escape(f.value) + ')') if f.value and f.value != f.focus else ''}</td></tr>")


def html(report: Report, group_by: str = "rule") -> str:
    counts = report.counts
    verdict = ('<span class="ok">Conforms: no violation.</span>' if not counts["Violation"] else
               f'<span class="bad">Does not conform: {counts["Violation"]} violation(s).</span>')
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in report.findings:
        groups[f.rule if group_by == "rule" else (f.owner_label or "No accountable owner recorded")].append(f)
    sections = []
    for key, findings in sorted(groups.items(), key=lambda kv: (min(SEVERITIES.index(f.severity) for f in kv[1]),
                                                                -len(kv[1]), kv[0])):
        if group_by == "rule":
            rule = report.rules.get(key)
            head = (f"<h2>{escape(rule.name if rule else key)} ({len(findings)})</h2>"
                    + (f'<p class="why">{escape(rule.description)}</p><p class="source">Source: '
                       f'{escape("; ".join(rule.sources))}</p>' if rule else ""))
            columns = "<tr><th>Severity</th><th>Owner to fix</th><th>What</th><th>Finding</th></tr>"
        else:
            head = f"<h2>{escape(key)} ({len(findings)})</h2>"
            columns = "<tr><th>Severity</th><th>Rule</th><th>What</th><th>Finding</th></tr>"
        rows = "".join(_finding_row(f, show_rule=group_by != "rule") for f in findings)
        sections.append(f"<section>{head}<table>{columns}{rows}</table></section>")
    rules_checked = "".join(f"<tr><td>{escape(r.name)}</td><td>{escape(r.severity)}</td><td>{escape(r.description)}</td>"
                            f"<td>{escape('; '.join(r.sources))}</td></tr>" for r in
                            sorted(report.rules.values(), key=lambda r: r.name))
    other = "owner" if group_by == "rule" else "rule"
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Governance report: {counts['Violation']} violations</title><style>{STYLE}</style></head><body>
<h1>Governance report</h1>
<p class="meta">Run {escape(report.started)} with {escape(report.engine)} over {report.triples:,} triples in
{report.seconds:.2f} s. {verdict}</p>
<nav>Grouped by {escape(group_by)}. <a href="?group={other}">Group by {other}</a></nav>
<div class="cards"><div class="card Violation"><b>{counts['Violation']}</b>violations: must be fixed</div>
<div class="card Warning"><b>{counts['Warning']}</b>warnings: should be fixed</div>
<div class="card Info"><b>{counts['Info']}</b>infos: worth a look</div></div>
{''.join(sections) or '<p class="ok">Nothing to report: every rule holds.</p>'}
<h2>Rules checked ({len(report.rules)})</h2><table><tr><th>Rule</th><th>Severity</th><th>Why it exists</th>
<th>Source</th></tr>{rules_checked}</table></body></html>"""
