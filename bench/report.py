"""The SPARQL comparison of a results file as Markdown tables (how bench/README.md's tables are made).

    .venv/bin/python -m bench.report bench/results/fair-1e4-1e5.json [more.json ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def tables(path: Path) -> str:
    data = json.loads(path.read_text())
    out = [f"From `{path.name}` (`python -m bench.run {' '.join(data.get('command', []))}`); load average (1 min) "
           + ", ".join(f"{s['label']}: {s['1m']:.1f}" for s in data.get("load", [])) + "."]
    for scale in sorted({e["scale"] for e in data["queries"]}):
        entries = [e for e in data["queries"] if e["scale"] == scale]
        out += ["", f"{scale:,} triples: p50 in ms (one client), ekb's time over oxigraph's (above 1.00: ekb is slower)",
                "", "| query | rows | `oxigraph serve` | ekb `/sparql` | ratio | ekb `/queries` | ratio | answers equal |"
                " load (1 min) |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"]
        for e in entries:
            s, q = e["routes"]["/sparql"], e["routes"]["/queries"]
            equal = "yes" if s["answers"]["equal"] and q["answers"]["equal"] else "**NO**"
            out.append(f"| {e['query']} | {s['answers']['baseline_rows']:,} | {e['oxigraph']['p50']:.2f} | "
                       f"{s['p50']:.2f} | {_ratio(s['ekb_over_oxigraph'])} | {q['p50']:.2f} | "
                       f"{_ratio(q['ekb_over_oxigraph'])} | {equal} | {e['load_1m'][0]:.1f} to {e['load_1m'][1]:.1f} |")
        rdf = [e for e in entries if "rdflib-endpoint" in e]
        if rdf:
            out += ["", f"rdflib-endpoint at {scale:,}: its p50 against ekb `/sparql`'s, and its answers against ekb's",
                    "", "| query | rdflib-endpoint ms | ekb ms | rdflib-endpoint's time / ekb's | answers equal |",
                    "| --- | ---: | ---: | ---: | --- |"]
            for e in rdf:
                r, ekb = e["rdflib-endpoint"], e["routes"]["/sparql"]["p50"]
                if "error" in r:
                    out.append(f"| {e['query']} | refused: {r['error'][:30]} | {ekb:.2f} | | |")
                    continue
                equal = "yes" if r["answers"]["equal"] else "**NO**"
                out.append(f"| {e['query']} | {r['p50']:.1f} | {ekb:.2f} | {r['p50'] / ekb:.1f}x | {equal} |")
    return "\n".join(out)


def _ratio(value: float) -> str:
    return f"**{value:.2f}**" if value > 1 else f"{value:.2f}"


if __name__ == "__main__":
    print("\n\n".join(tables(Path(p)) for p in sys.argv[1:]))
