"""Collection pages at scale: the one-pass shaping ekb serves against pyld framing (the previous way, and the
reference the tests compare against), on the same store, the same pages, in the same run.

    python -m bench.collections --scale 100000

Prints the median of warm runs per page size (each page fetched over HTTP from a real server: engine queries,
shaping, JSON, gzip) and the framing baseline for the same items computed in process; the two documents are
compared item for item (as sets, JSON-LD @set values being unordered).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from bench.run import dataset, project_with
from ekb.config import Settings
from ekb.kb import KnowledgeBase
from ekb.linked_data import describe, framed_reference, to_expanded
from ekb.store import EmbeddedStore
from tests.test_collections import unordered

SIZES = (50, 500)


def median_ms(call, runs: int) -> float:
    call()  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from tests.conftest import ApiServer

    path, _ = dataset(args.scale)
    with tempfile.TemporaryDirectory() as scratch:
        root = project_with(path, Path(scratch))
        kb = KnowledgeBase(Settings(root=root), EmbeddedStore(Path(scratch) / "store"))
        kb.load()
        server = ApiServer(kb)
        print(f"collections at {kb.size():,} quads; median of {args.runs} warm runs")
        print(f"{'page':>6} {'served (ms)':>12} {'pyld framing (ms)':>18} {'ratio':>7}  same documents")
        with httpx.Client(base_url=server.url, timeout=600, headers={"Accept-Encoding": "gzip"}) as client:
            for size in SIZES:
                served = median_ms(lambda size=size: client.get("/collections/capabilities", params={"size": size}),
                                   args.runs)
                page = client.get("/collections/capabilities", params={"size": size}).json()
                iris = [item["id"] for item in page["items"]]

                def framed(iris=iris):
                    expanded = to_expanded(describe(kb.store, iris))
                    return [framed_reference(expanded, iri, "C") for iri in iris]

                baseline = median_ms(framed, max(1, args.runs // 2))
                reference = framed()
                for doc in reference:
                    doc.pop("@context")
                same = sum(unordered(a) == unordered(b) for a, b in zip(page["items"], reference, strict=True))
                print(f"{size:>6} {served:>12.1f} {baseline:>18.1f} {baseline / served:>6.1f}x  "
                      f"{same}/{len(iris)} items equal (items linking to items of the same page differ by design)")
        server.stop()
        kb.close()


if __name__ == "__main__":
    main()
