"""Incremental entailments on removal and reloads that skip unchanged files, each against the alternative it
replaces, measured in the same run on a store on disk:

- a one-triple removal's entailments by delete-and-rederive (ekb.retraction) against the full re-materialisation
  (`KnowledgeBase.refresh_inferences()`), for a few kinds of triple (a link in the transitive capability hierarchy,
  a stated type, an ordinary link to a shared resource); the inferred graph is checked equal after each;
- `ekb load` with nothing changed (the manifest's records match: nothing parsed, compared or reasoned over)
  against the full reload it used to do (the same load with the manifest dropped);
- the first reload after writes through the knowledge base that are undone by later ones (the graphs they wrote
  are found unchanged by looking up the triples they noted) against the same writes with the store marked as a
  whole (every graph's content compared with its digest, what every write did before).

    .venv/bin/python -m bench.removal --scale 1e5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox

from bench.run import dataset, project_with
from ekb import loader
from ekb.config import INFERRED_GRAPH, LOAD_MANIFEST_GRAPH, Settings
from ekb.errors import GateRefused
from ekb.gate import Delta
from ekb.kb import KnowledgeBase
from ekb.reasoning import reasoner_named
from ekb.retraction import add_entailments, retract_entailments

EKB = "https://kb.quantum-energy.example/def/core/"
INFO = "https://kb.quantum-energy.example/def/info/"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
GENERATED = "https://kb.quantum-energy.example/graph/data/generated"
KINDS = {"capability hierarchy link": f"<{EKB}hasParentCapability>", "stated type": f"<{RDF_TYPE}>",
         "link to a shared product": f"<{INFO}isForProduct>", "system supports capability": f"<{EKB}supportsCapability>"}


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def inferred(kb: KnowledgeBase) -> set[ox.Triple]:
    return {q.triple for q in kb.store.engine.quads_for_pattern(None, None, None, ox.NamedNode(INFERRED_GRAPH))}


def pick(kb: KnowledgeBase, predicate: str) -> ox.Triple:
    row = kb.store.select(f"SELECT ?s ?o WHERE {{ GRAPH <{GENERATED}> {{ ?s {predicate} ?o }} FILTER(isIRI(?o)) }} "
                          "ORDER BY ?s ?o OFFSET 7 LIMIT 1")[0]
    return ox.Triple(row["s"], ox.NamedNode(predicate[1:-1]), row["o"])


def bench_removal(kb: KnowledgeBase) -> None:
    reasoner = reasoner_named(kb.settings.reasoner)
    print("one-triple removal: entailments brought up to date (ms)")
    print(f"  {'removed':<30} {'incremental':>12} {'full':>10} {'ratio':>8}  exact")
    ratios = []
    for kind, predicate in KINDS.items():
        triple = pick(kb, predicate)
        delta = Delta(GENERATED, removed=(triple,))
        delta.apply(kb.store)
        incremental = timed(lambda t=triple: retract_entailments(kb.store, [t], reasoner))
        after = inferred(kb)
        full = timed(kb.refresh_inferences)
        exact = after == inferred(kb)
        ratios.append(full / incremental)
        print(f"  {kind:<30} {incremental * 1000:>12.0f} {full * 1000:>10.0f} {full / incremental:>7.0f}x  {exact}")
        Delta(GENERATED, added=(triple,)).apply(kb.store)
        add_entailments(kb.store, [triple], reasoner)  # back as it was (exact: tests/test_retraction.py)
    print(f"  median: incremental {statistics.median(ratios):.0f}x faster than the full re-materialisation")


def undone_writes(kb: KnowledgeBase) -> int:
    """Writes through the knowledge base (gate, commit, entailments) that the next ones undo: a comment added to a
    resource of the generated graph and removed, and the triples of `KINDS` removed and added back (where the
    gate accepts the removal). The store ends as the last load left it. Returns the writes accepted."""
    subject = pick(kb, KINDS["system supports capability"]).subject
    comment = ox.Triple(subject, ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment"), ox.Literal("bench"))
    changes = [(Delta(GENERATED, added=(comment,)), Delta(GENERATED, removed=(comment,)))]
    changes += [(Delta(GENERATED, removed=(t,)), Delta(GENERATED, added=(t,)))
                for t in (pick(kb, predicate) for predicate in KINDS.values())]
    accepted = 0
    for write, undo in changes:
        try:
            kb.apply(write)
        except GateRefused:
            continue
        kb.apply(undo)
        accepted += 2
    return accepted


def bench_reload(kb: KnowledgeBase) -> None:
    """The first reload after writes through the knowledge base that changed no graph in the end (each undone by
    a later one): it looks up, in each graph written, only the triples the writes noted (`loader.note_write`),
    against the same writes marked as every write was before (the store as a whole: every recorded graph's content
    compared with its digest); then `ekb load` with nothing changed against a full reload."""
    writes = undone_writes(kb)
    reports: list[loader.LoadReport] = []
    noted = timed(lambda: reports.append(kb.load()))
    assert not reports[-1].reasoned and GENERATED in reports[-1].skipped, "the reload after writes reloaded"
    undone_writes(kb)
    loader.note_write(kb.store)  # the whole store marked written
    compared = timed(lambda: reports.append(kb.load()))
    assert not reports[-1].reasoned and GENERATED in reports[-1].skipped, "the reload after writes reloaded"
    skipping = timed(lambda: reports.append(kb.load()))
    assert not reports[-1].reasoned and reports[-1].skipped, "the reload did not skip"

    def forget_records() -> None:
        kb.store.update(f"DROP GRAPH <{LOAD_MANIFEST_GRAPH}>")
    forget_records()
    full = timed(kb.load)
    print("ekb load with nothing changed (s)")
    print(f"  skipping unchanged files {skipping:.2f}, full reload {full:.2f}: {full / skipping:.0f}x faster "
          f"({len(reports[-1].skipped)} graphs skipped)")
    print(f"the first reload after {writes} writes through the knowledge base, each undone by a later one (s)")
    print(f"  the noted triples looked up {noted:.2f}, every graph's content compared {compared:.2f}: "
          f"{compared / noted:.0f}x faster")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1e5)
    args = parser.parse_args()
    scale = int(args.scale)
    path, _ = dataset(scale)
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as work:
        root = project_with(path, Path(work))
        settings = Settings(root=root, store_dir=Path(work) / "store")
        kb = KnowledgeBase.open(settings)
        first = timed(kb.load)
        print(f"scale {scale:,}: first load on disk {first:.1f} s, {kb.size():,} quads")
        bench_removal(kb)
        bench_reload(kb)
        kb.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
