"""The governance history: each recorded validation run, kept in its own graph (PROV-O), with its counts and its
findings, so trends can be shown and the next run can say what is new and what was fixed."""

from __future__ import annotations

import hashlib
import json
import time

import pyoxigraph as ox

from ekb.config import HISTORY_GRAPH, ID, RDF_TYPE, RDFS_LABEL, XSD_INTEGER, expand, sparql_prologue
from ekb.findings import Finding, Report
from ekb.store import Store


def record_run(store: Store, report: Report) -> str:
    """Keep the run in the history graph; returns the run's IRI."""
    run = ox.NamedNode(f"{ID}validation-run/{report.started.replace(':', '').replace('-', '')}"
                       f"-{time.time_ns() % 1_000_000:06d}")

    def integer(n: int) -> ox.Literal:
        return ox.Literal(str(n), datatype=ox.NamedNode(XSD_INTEGER))

    facts = [(RDF_TYPE, ox.NamedNode(expand("ekb:ValidationRun"))),
             (RDFS_LABEL, ox.Literal(f"Validation run {report.started}")),
             (expand("prov:startedAtTime"), ox.Literal(report.started, datatype=ox.NamedNode(expand("xsd:dateTime")))),
             (expand("ekb:violationCount"), integer(report.count("Violation"))),
             (expand("ekb:warningCount"), integer(report.count("Warning"))),
             (expand("ekb:infoCount"), integer(report.count("Info"))),
             (expand("ekb:validatedTriples"), integer(report.triples)),
             (expand("ekb:validationEngine"), ox.Literal(report.engine))]
    triples = [ox.Triple(run, ox.NamedNode(p), o) for p, o in facts]
    for finding in report.findings:
        key = " ".join(finding.key)
        node = ox.NamedNode(f"{run.value}/finding/{hashlib.sha256(key.encode()).hexdigest()[:24]}")
        document = json.dumps({k: v for k, v in finding.as_json().items() if k != "sentence"}, sort_keys=True)
        triples += [ox.Triple(run, ox.NamedNode(expand("ekb:hasRecordedFinding")), node),
                    ox.Triple(node, ox.NamedNode(RDF_TYPE), ox.NamedNode(expand("ekb:RecordedFinding"))),
                    ox.Triple(node, ox.NamedNode(expand("ekb:findingKey")), ox.Literal(key)),
                    ox.Triple(node, ox.NamedNode(expand("ekb:findingDocument")), ox.Literal(document))]
    body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode()
    store.update(f"INSERT DATA {{ GRAPH {ox.NamedNode(HISTORY_GRAPH)} {{ {body} }} }}")
    return run.value


def history(store: Store) -> list[dict]:
    """Every recorded run, oldest first, with its counts."""
    rows = store.select(sparql_prologue() + f"""SELECT ?run ?started ?violations ?warnings ?infos ?triples ?engine WHERE {{
        GRAPH <{HISTORY_GRAPH}> {{ ?run a ekb:ValidationRun ; prov:startedAtTime ?started ; ekb:violationCount ?violations ;
            ekb:warningCount ?warnings ; ekb:infoCount ?infos ; ekb:validatedTriples ?triples ;
            ekb:validationEngine ?engine }} }} ORDER BY ?started ?run""")
    return [{"run": r["run"].value, "started": r["started"].value, "violations": int(r["violations"].value),
             "warnings": int(r["warnings"].value), "infos": int(r["infos"].value), "triples": int(r["triples"].value),
             "engine": r["engine"].value} for r in rows]


def recorded_findings(store: Store, run: str) -> list[Finding]:
    """The findings a recorded run reported (none for a run recorded before findings were kept)."""
    rows = store.select(sparql_prologue() + f"""SELECT ?document WHERE {{ GRAPH <{HISTORY_GRAPH}> {{
        {ox.NamedNode(run)} ekb:hasRecordedFinding ?finding . ?finding ekb:findingDocument ?document }} }}""")
    return [Finding(**json.loads(row["document"].value)) for row in rows]
