"""Writes and the report after them: each incremental path timed against the whole-store path it replaces, in
the same run, on the same knowledge base (issue 18, items 2, 4 and 5).

    .venv/bin/python -m bench.writes                 # the shipped model (~8k triples) and 10^5
    .venv/bin/python -m bench.writes --scale 1e5     # one generated scale (and the shipped model)

The knowledge base runs as the server runs it: an on-disk store with its query worker processes (so an update's
trial runs on a private copy in a worker). Measured, p50 and p95 of:

* a one-triple Graph Store write (`KnowledgeBase.apply`): gated on its neighbourhood, against the same write
  gated on a copy of the whole store (the full gate). Both commit the triple and update the entailments; the
  gate alone is timed too.
* a one-entity SPARQL Update (`KnowledgeBase.update`, INSERT DATA of a new system): its trial turns it into
  quads gated on their neighbourhood, against the same update through the full gate.
* the report view after a write (`KnowledgeBase.current_report`): the kept report brought up to date around
  the write, against a full validation of the store.

Figures are wall-clock on a shared machine: the ratios, measured side by side, are what to read.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from bench.run import ROOT, dataset, project_with

ID = "https://kb.quantum-energy.example/id/"
EKB = "https://kb.quantum-energy.example/def/core/"
FIXTURE = "https://kb.quantum-energy.example/graph/data/bench-writes"
COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
SCADA = ox.NamedNode(ID + "system/scada")
FULL = 10**12  # gate_full_max_triples that sends every write to the full gate


def percentiles(seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        clock = time.perf_counter()
        fn()
        times.append(time.perf_counter() - clock)
    return times


def line(scale: str, what: str, ours: list[float], theirs: list[float], baseline: str) -> dict:
    (p50, p95), (b50, b95) = percentiles(ours), percentiles(theirs)
    print(f"{scale:>8} {what:44} p50 {p50 * 1000:9.1f} ms  p95 {p95 * 1000:9.1f} ms | {baseline:22} "
          f"p50 {b50 * 1000:9.1f} ms  p95 {b95 * 1000:9.1f} ms | {b50 / p50:7.1f}x", flush=True)
    return {"scale": scale, "metric": what, "p50_s": p50, "p95_s": p95, "baseline": baseline,
            "baseline_p50_s": b50, "baseline_p95_s": b95, "speedup_p50": b50 / p50}


def bench_scale(label: str, root: Path, workdir: Path, repeat: int, full_repeat: int) -> list[dict]:
    from ekb.config import Settings
    from ekb.gate import Delta, check_change, check_delta
    from ekb.kb import KnowledgeBase
    from ekb.validation import validate_store

    store_dir = workdir / f"store-{label}"
    shutil.rmtree(store_dir, ignore_errors=True)
    kb = KnowledgeBase.open(Settings(root=root, store_dir=store_dir, gate_full_max_triples=0))
    clock = time.perf_counter()
    kb.load()
    print(f"{label:>8} loaded {kb.size():,} quads in {time.perf_counter() - clock:.1f} s", flush=True)
    kb.start_workers()
    numbers = itertools.count()

    def one_triple() -> Delta:
        return Delta(FIXTURE, added=(ox.Triple(SCADA, COMMENT, ox.Literal(f"bench note {next(numbers)}")),))

    def one_entity() -> str:
        n = next(numbers)
        return (f"INSERT DATA {{ GRAPH <{FIXTURE}> {{ <{ID}system/bench-{n}> a <{EKB}System> ; "
                f'<http://www.w3.org/2000/01/rdf-schema#label> "Bench system {n}"@en ; '
                f"<{EKB}hasAccountableOwner> <{ID}owner/chief-information-officer> }} }}")

    def mode(threshold: int) -> None:
        kb.settings.gate_full_max_triples = threshold

    try:
        kb.current_report()  # the kept full result every later view starts from
        rows = []
        mode(0)
        local_gate = timed(lambda: check_delta(kb.store, one_triple(), ontology_nt=kb._ontology_context()), repeat)
        full_gate = timed(lambda: check_change(kb.store, one_triple().apply, baseline=kb.current_report()),
                          full_repeat)
        rows.append(line(label, "gate only, one triple (neighbourhood)", local_gate, full_gate, "full gate"))
        local = timed(lambda: kb.apply(one_triple()), repeat)
        mode(FULL)
        full = timed(lambda: kb.apply(one_triple()), full_repeat)
        rows.append(line(label, "Graph Store write, one triple", local, full, "write, full gate"))
        mode(0)
        local = timed(lambda: kb.update(one_entity()), repeat)
        mode(FULL)
        full = timed(lambda: kb.update(one_entity()), full_repeat)
        rows.append(line(label, "SPARQL Update, one entity (INSERT DATA)", local, full, "update, full gate"))
        mode(0)
        views = []
        for _ in range(repeat):
            kb.apply(one_triple())
            views += timed(kb.current_report, 1)
        fresh = timed(lambda: validate_store(kb.store), full_repeat)
        rows.append(line(label, "report view after a write", views, fresh, "full validation"))
        return rows
    finally:
        kb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="ekb write benchmarks (issue 18)")
    parser.add_argument("--scale", action="append", default=[],
                        help="a generated scale (repeatable), e.g. 1e5; the shipped model is always measured")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each incremental path")
    parser.add_argument("--full-repeat", type=int, default=5, help="timed runs of each whole-store path")
    parser.add_argument("--workdir", default=os.environ.get("EKB_BENCH_DIR"))
    args = parser.parse_args()
    scales = [int(float(s)) for s in (args.scale or ["1e5"])]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ekb-bench-writes-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        bench_scale("shipped", ROOT, workdir, args.repeat, args.full_repeat)
        for scale in scales:
            path, _ = dataset(scale)
            bench_scale(f"{scale:.0e}", project_with(path, workdir / f"project-{scale}"), workdir, args.repeat,
                        max(2, args.full_repeat // (2 if scale >= 10**5 else 1)))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
