"""Writes and the report after them: each incremental path timed against the whole-store path it replaces, in
the same run, on the same knowledge base (issue 18, items 2, 4 and 5).

    .venv/bin/python -m bench.writes                 # the shipped model (~8.5k triples) and 10^5
    .venv/bin/python -m bench.writes --scale 1e5     # one generated scale (and the shipped model)
    .venv/bin/python -m bench.writes --scale none    # the shipped model only

The shipped model is measured twice: in process on an in-memory store (the gate, commit, entailments and report
refresh themselves), and as the server runs it, on disk with its query worker processes (where each write also
takes the snapshot the workers read, and an update's trial runs in a worker). A generated scale runs on disk.
Every write goes through `KnowledgeBase` with the default settings, against the same write forced through the
full gate (a copy of the whole store validated whole), measured in the same run. p50 and p95 of:

* one triple added by a Graph Store write (`KnowledgeBase.apply`), and by a SPARQL `INSERT DATA` (`update`);
* the whole write: that write, then the report view (`current_report`), which brings the kept report up to date
  around it;
* on the shipped model, the same two writes through the HTTP API in process (FastAPI's TestClient: routing,
  parsing, the token, the answer), and the gate alone;
* a one-entity SPARQL Update (a new system with its label and owner: a label is a term the separation rules
  read, so its gate also walks those rules' reach, see `gate.far_reach`);
* the report view after a write (a comment), and after a one-entity update (which names a label and an owner, so
  every finding's label and owner is read again), against a full validation.

Figures are wall-clock on a shared machine: the ratios, measured side by side, are what to read.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import pyoxigraph as ox

from bench.run import ROOT, dataset, project_with

ID = "https://kb.quantum-energy.example/id/"
EKB = "https://kb.quantum-energy.example/def/core/"
FIXTURE = "https://kb.quantum-energy.example/graph/data/bench-writes"
COMMENT = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
SCADA = ox.NamedNode(ID + "system/scada")
TOKEN = "bench-writes-token"  # noqa: S105 - the in-process API of this benchmark only


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
    print(f"{scale:>12} {what:44} p50 {p50 * 1000:9.1f} ms  p95 {p95 * 1000:9.1f} ms | {baseline:22} "
          f"p50 {b50 * 1000:9.1f} ms  p95 {b95 * 1000:9.1f} ms | {b50 / p50:7.1f}x", flush=True)
    return {"scale": scale, "metric": what, "p50_s": p50, "p95_s": p95, "baseline": baseline,
            "baseline_p50_s": b50, "baseline_p95_s": b95, "speedup_p50": b50 / p50}


@contextmanager
def full_gate(kb):
    """Every write of `kb` judged on a copy of the whole store (the baseline), whatever the gate would choose."""
    kb._local_reach = lambda *_, **__: None  # an instance attribute shadows the method
    try:
        yield
    finally:
        del kb._local_reach


def bench_scale(label: str, root: Path, workdir: Path | None, repeat: int, full_repeat: int, api: bool = False) -> list[dict]:
    from ekb.config import Settings
    from ekb.gate import Delta, check_change
    from ekb.kb import KnowledgeBase
    from ekb.validation import validate_store

    store_dir = None
    if workdir is not None:
        store_dir = workdir / f"store-{label}"
        shutil.rmtree(store_dir, ignore_errors=True)
    kb = KnowledgeBase.open(Settings(root=root, store_dir=store_dir, write_token=TOKEN))
    clock = time.perf_counter()
    kb.load()
    print(f"{label:>12} loaded {kb.size():,} quads in {time.perf_counter() - clock:.1f} s "
          f"({'disk, query workers' if store_dir else 'in memory, in process'})", flush=True)
    if store_dir:
        kb.start_workers()
    numbers = itertools.count()

    def one_triple() -> Delta:
        return Delta(FIXTURE, added=(ox.Triple(SCADA, COMMENT, ox.Literal(f"bench note {next(numbers)}")),))

    def insert_data() -> str:
        return f'INSERT DATA {{ GRAPH <{FIXTURE}> {{ {SCADA} {COMMENT} "bench update {next(numbers)}" }} }}'

    def one_entity() -> str:
        n = next(numbers)
        return (f"INSERT DATA {{ GRAPH <{FIXTURE}> {{ <{ID}system/bench-{n}> a <{EKB}System> ; "
                f'<http://www.w3.org/2000/01/rdf-schema#label> "Bench system {n}"@en ; '
                f"<{EKB}hasAccountableOwner> <{ID}owner/chief-information-officer> }} }}")

    def both(what: str, write: Callable[[], object], baseline: str, n: int = repeat) -> dict:
        ours = timed(write, n)
        with full_gate(kb):
            theirs = timed(write, full_repeat)
        return line(label, what, ours, theirs, baseline)

    try:
        kb.current_report()  # the kept full result every later view starts from
        rows = []
        if api:
            delta = one_triple()
            gate = timed(lambda: kb._judge(delta.apply, delta, kb._local_reach(delta), kb._kept_report), repeat)
            full = timed(lambda: check_change(kb.store, delta.apply, baseline=kb.current_report()), full_repeat)
            rows.append(line(label, "gate only, one triple", gate, full, "full gate"))
        rows.append(both("Graph Store write, one triple", lambda: kb.apply(one_triple()), "write, full gate"))
        rows.append(both("SPARQL INSERT DATA, one triple", lambda: kb.update(insert_data()), "update, full gate"))
        rows.append(both("write + report view, one triple", lambda: (kb.apply(one_triple()), kb.current_report()),
                         "the same, full gate"))
        if api:
            rows += api_rows(label, kb, one_triple, insert_data, both)
        rows.append(both("SPARQL Update, one entity (INSERT DATA)", lambda: kb.update(one_entity()),
                         "update, full gate"))
        views = []
        for _ in range(repeat):
            kb.apply(one_triple())
            views += timed(kb.current_report, 1)
        labelled = []
        for _ in range(repeat):
            kb.update(one_entity())  # names a label and an owner: every finding's label and owner are read again
            labelled += timed(kb.current_report, 1)
        fresh = timed(lambda: validate_store(kb.store), full_repeat)
        rows.append(line(label, "report view after a write", views, fresh, "full validation"))
        rows.append(line(label, "report view after a one-entity update", labelled, fresh, "full validation"))
        return rows
    finally:
        kb.close()


def api_rows(label: str, kb, one_triple, insert_data, both) -> list[dict]:
    """The same one-triple writes through the HTTP API, in process."""
    from fastapi.testclient import TestClient

    from ekb.api.app import create_app

    client = TestClient(create_app(kb))
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def post_triple() -> None:
        [triple] = one_triple().added
        answer = client.post("/store", params={"graph": FIXTURE}, content=f"{triple} .\n".encode(),
                             headers={**auth, "Content-Type": "application/n-triples"})
        assert answer.status_code in (200, 204), answer.text

    def post_update() -> None:
        answer = client.post("/sparql", content=insert_data().encode(),
                             headers={**auth, "Content-Type": "application/sparql-update"})
        assert answer.status_code in (200, 204), answer.text

    return [both("API POST /store, one triple", post_triple, "the same, full gate"),
            both("API POST /sparql INSERT DATA, one triple", post_update, "the same, full gate")]


def main() -> None:
    parser = argparse.ArgumentParser(description="ekb write benchmarks (issue 18)")
    parser.add_argument("--scale", action="append", default=[],
                        help="a generated scale (repeatable), e.g. 1e5, or none; the shipped model is always measured")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each incremental path")
    parser.add_argument("--full-repeat", type=int, default=5, help="timed runs of each whole-store path")
    parser.add_argument("--workdir", default=os.environ.get("EKB_BENCH_DIR"))
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args()
    scales = [int(float(s)) for s in (args.scale or ["1e5"]) if s != "none"]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ekb-bench-writes-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        rows += bench_scale("shipped", ROOT, None, args.repeat, args.full_repeat, api=True)
        rows += bench_scale("shipped-disk", ROOT, workdir, args.repeat, args.full_repeat, api=True)
        for scale in scales:
            path, _ = dataset(scale)
            rows += bench_scale(f"{scale:.0e}", project_with(path, workdir / f"project-{scale}"), workdir,
                                args.repeat, max(2, args.full_repeat // (2 if scale >= 10**5 else 1)))
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
