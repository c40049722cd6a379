"""Every data triple through a real `ekb serve`, as a CONSTRUCT (N-Triples) and as a SELECT (SPARQL JSON), streamed
(as served) against the buffered path it replaces (the whole answer serialised in the worker, sent over the
pipe, held by the server, then sent), measured in the same run over the same store:

- peak extra resident memory of the server and of its worker processes while the answer goes out (VmRSS of the
  processes running before the request, sampled every 10 ms, minus their sum just before it: the fresh worker
  that takes a long query's place among the fast ones is not the query's cost and is left out);
- time to the first byte of the body, and total time; the answers' bytes are compared (SHA-256);
- for reference, the memory the engine needs for the same answer on its own: pyoxigraph in a bare process,
  serialising to a sink that keeps nothing (its CONSTRUCT keeps every triple it emitted, to emit each once).

Both paths run in one `ekb serve`, started through this module: a request with the header `X-Bench-Path:
buffered` gets `KnowledgeBase.sparql` without streaming (a patch in this process, no user-facing setting), and
the first governance report, which would validate the whole store in the background meanwhile (minutes at
10^6), is not started. The client reads as fast as it can and keeps nothing;
it asks for no compression (a buffered answer over 1 KiB would otherwise be gzipped whole, a streamed one not).

    .venv/bin/python -m bench.streaming --scale 1e6
    .venv/bin/python -m bench.streaming --scale 1e6 --workdir /tmp/streaming-1e6   # keeps the loaded store
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.run import BIN, dataset, free_port, project_with, wait_until
from ekb.config import DATA_GRAPH_FILTER

QUERIES = {  # name: (query, media type)
    "CONSTRUCT": (f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {DATA_GRAPH_FILTER} }}",
                  "application/n-triples"),
    "SELECT": (f"SELECT ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {DATA_GRAPH_FILTER} }}",
               "application/sparql-results+json"),
}
TARGET_MIB = 200


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def family(pid: int) -> list[int]:
    """The process and its children (the query workers, the resource tracker)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return [pid, *children]


class Sampler:
    """The peak of the summed VmRSS of some processes (the first one, the server, also alone), sampled every
    10 ms in a thread."""

    def __init__(self, pids: list[int]):
        self.pids = pids
        self.baseline = [rss_kib(p) for p in pids]
        self.peak_all, self.peak_server = sum(self.baseline), self.baseline[0]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = [rss_kib(p) for p in self.pids]
            self.peak_all, self.peak_server = max(self.peak_all, sum(now)), max(self.peak_server, now[0])
            time.sleep(0.01)

    def stop(self) -> tuple[float, float]:
        """Peak extra MiB of all the processes, and of the server alone."""
        self._stop.set()
        self._thread.join()
        return (self.peak_all - sum(self.baseline)) / 1024, (self.peak_server - self.baseline[0]) / 1024


class Server:
    """`ekb serve` on the benchmark's store, through `serve` below."""

    def __init__(self, root: Path, store: Path, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("wb") as errors:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bench.streaming", "--serve", "serve", "--root", str(root), "--store", str(store),
                 "--host", "127.0.0.1", "--port", str(self.port), "--query-timeout", "600",
                 "--max-result-bytes", str(4 * 1024 ** 3), "--query-memory", "8192"],
                stdout=subprocess.DEVNULL, stderr=errors, cwd=Path(__file__).resolve().parents[1])
        wait_until(self.url + "/health")

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def fetch(server: Server, name: str, mode: str) -> dict:
    """One query of every data triple: its bytes' digest and size, time to first byte, total time, and the
    server's peak extra memory meanwhile. A small query first, so that the worker that will answer (the pool's
    newest) is started and has its snapshot open."""
    query, media_type = QUERIES[name]
    headers = {"Accept": media_type, "Accept-Encoding": "identity", "X-Bench-Path": mode}
    httpx.post(server.url + "/sparql", data={"query": query + " LIMIT 1"}, headers=headers,
               timeout=120).raise_for_status()
    sampler = Sampler(family(server.process.pid))
    digest, size, first = hashlib.sha256(), 0, None
    started = time.perf_counter()
    with httpx.stream("POST", server.url + "/sparql", data={"query": query}, headers=headers,
                      timeout=900) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            if first is None:
                first = time.perf_counter() - started
            digest.update(chunk)
            size += len(chunk)
    total = time.perf_counter() - started
    extra, server_extra = sampler.stop()
    return {"sha256": digest.hexdigest(), "bytes": size, "first_byte_s": first, "total_s": total,
            "extra_mib": extra, "server_extra_mib": server_extra,
            "chunked": response.headers.get("transfer-encoding") == "chunked"}


BUFFERED: contextvars.ContextVar[bool] = contextvars.ContextVar("buffered", default=False)


def serve(argv: list[str]) -> int:
    """`ekb serve`, with the buffered path (what /sparql did before streaming) for requests that ask for it,
    and without the first report (see the docstring)."""
    from ekb import cli
    from ekb.api import sparql
    from ekb.kb import KnowledgeBase

    streaming, answer_query = KnowledgeBase.sparql, sparql.answer_query

    def sparql_as_asked(self, *args, stream: bool = False, **kwargs):
        return streaming(self, *args, stream=stream and not BUFFERED.get(), **kwargs)

    async def answer_as_asked(request, run, formats):
        BUFFERED.set(request.headers.get("x-bench-path") == "buffered")  # copied into the thread that runs it
        return await answer_query(request, run, formats)

    KnowledgeBase.sparql = sparql_as_asked
    KnowledgeBase.prepare_report = lambda self, say=None: None
    sparql.answer_query = answer_as_asked
    return cli.main(argv)


def engine_alone(store: Path, name: str) -> float:
    """Peak extra MiB of a bare process in which pyoxigraph answers the query to a sink that keeps nothing."""
    done = subprocess.run([sys.executable, "-m", "bench.streaming", "--engine-alone", str(store), name], check=True,
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    return float(done.stdout.split()[-1])


def answer_to_nothing(store: Path, name: str) -> None:
    import resource

    import pyoxigraph as ox

    class Nothing:
        def write(self, data: bytes) -> int:
            return len(data)

        def flush(self) -> None:
            pass

    before = rss_kib(os.getpid())
    query, _ = QUERIES[name]
    result = ox.Store.read_only(str(store)).query(query)
    result.serialize(Nothing(), format=ox.RdfFormat.N_TRIPLES if name == "CONSTRUCT" else ox.QueryResultsFormat.JSON)
    print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        return serve(sys.argv[2:])
    if len(sys.argv) > 1 and sys.argv[1] == "--engine-alone":
        answer_to_nothing(Path(sys.argv[2]), sys.argv[3])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1e6)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each path, alternating (default: 2)")
    parser.add_argument("--workdir", type=Path, help="where the project and store are kept (default: a temporary "
                                                     "folder); a store already there is used as it is")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        work = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(dir=Path(__file__).parent)))
        run(int(args.scale), work, args.rounds)
    return 0


def run(scale: int, work: Path, rounds: int) -> None:
    root, store = work / "project", work / "store"
    if not store.exists():
        path, _ = dataset(scale)
        root = project_with(path, work)
        started = time.perf_counter()
        subprocess.run([str(BIN / "ekb"), "load", "--root", str(root), "--store", str(store)], check=True,
                       capture_output=True)
        print(f"scale {scale:,}: store loaded in {time.perf_counter() - started:.0f} s")
    server = Server(root, store, work / "serve.log")
    runs: dict[str, dict[str, list[dict]]] = {name: {"streamed": [], "buffered": []} for name in QUERIES}
    try:
        for round_ in range(rounds):
            for name in QUERIES:
                for mode in (["streamed", "buffered"] if round_ % 2 == 0 else ["buffered", "streamed"]):
                    runs[name][mode].append(fetch(server, name, mode))
    finally:
        server.stop()
    print(f"scale {scale:,}:")
    for name, done in runs.items():
        report(name, done, engine_alone(store, name))


def report(name: str, runs: dict[str, list[dict]], engine_mib: float) -> None:
    answers = {run["sha256"] for mode in runs.values() for run in mode}
    size = runs["streamed"][0]["bytes"]
    print(f"{name} of every data triple: {size / 1024 ** 2:,.0f} MiB ({QUERIES[name][1]}); "
          f"answers identical across paths and runs: {len(answers) == 1}; "
          f"the engine alone needs {engine_mib:,.0f} MiB extra for it")
    print(f"  {'path':<10} {'peak extra RSS, server + workers (MiB)':>38} {'server alone':>13} {'first byte (s)':>15} "
          f"{'total (s)':>10}  chunked")
    for mode, done in runs.items():
        for run in done:
            print(f"  {mode:<10} {run['extra_mib']:>38.0f} {run['server_extra_mib']:>13.0f} {run['first_byte_s']:>15.2f} "
                  f"{run['total_s']:>10.2f}  {run['chunked']}")

    def best(mode: str, key: str) -> float:
        return min(run[key] for run in runs[mode])
    ratios = {key: best("streamed", key) / best("buffered", key)
              for key in ("extra_mib", "server_extra_mib", "first_byte_s", "total_s")}
    print(f"  streamed/buffered (best of each): peak extra RSS {ratios['extra_mib']:.2f}x (server alone "
          f"{ratios['server_extra_mib']:.2f}x), first byte {ratios['first_byte_s']:.3f}x, total {ratios['total_s']:.2f}x")
    worst = max(run["extra_mib"] for run in runs["streamed"])
    verdict = "met" if worst < TARGET_MIB else "MISSED"
    print(f"  target: < {TARGET_MIB} MiB extra while streaming: worst {worst:.0f} MiB, {verdict} "
          f"({worst - engine_mib:+,.0f} MiB over the engine alone)")
    if len(answers) != 1:
        print("  MISSED: the answers differ between the paths")


if __name__ == "__main__":
    raise SystemExit(main())
