"""Resource control measured from outside: a real `ekb serve`, real HTTP clients.

    .venv/bin/python -m bench.load_control [--runaways 8] [--writes 1000]

1. Lookups alone (the baseline), then the same lookups with N runaway queries in flight: p50 and p99, and
   how many runaways were stopped with 503 (bounded long queries) or 503 at their time limit.
2. After the runaways' time limit: the CPU the server and its workers still use over one second.
3. N small writes (POST /store, one triple each) on the default store (a temporary folder) and on a --store
   folder: the scan query, the lookups and the RSS of the server and its workers, fresh and after.
Every ratio compares two figures measured in this run.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TOKEN = "bench-token"
LOOKUP = ("SELECT ?p ?o WHERE { <https://kb.quantum-energy.example/id/capability/10-customer-engagement-and-service> "
          "?p ?o } LIMIT 20")
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SCAN = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o . ?s ?q ?v }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, *extra: str, timeout_s: float = 10.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "EKB_WRITE_TOKEN": TOKEN}
        self.process = subprocess.Popen([str(BIN / "ekb"), "serve", "--root", str(ROOT), "--port", str(self.port),
                                         "--query-timeout", str(timeout_s), *extra],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("ekb serve did not start")

    def pids(self) -> list[int]:
        found = [self.process.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as stat:
                        if int(stat.read().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                            found.append(int(entry))
                except OSError:
                    pass
        return found

    def cpu_seconds(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks
            except OSError:
                pass
        return total

    def rss_mb(self) -> float:
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/statm") as statm:
                    total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except OSError:
                pass
        return total / 1e6

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)


def latencies(url: str, query: str, n: int) -> list[float]:
    out = []
    with httpx.Client(timeout=60) as client:
        for _ in range(n):
            started = time.perf_counter()
            response = client.get(url + "/sparql", params={"query": query})
            out.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def runaways(n_runaways: int) -> None:
    server = Server(timeout_s=10.0)
    try:
        latencies(server.url, LOOKUP, 50)  # warm
        alone = latencies(server.url, LOOKUP, 300)
        outcomes: list[int] = []

        def runaway() -> None:
            with httpx.Client(timeout=60) as client:
                outcomes.append(client.get(server.url + "/sparql", params={"query": RUNAWAY}).status_code)

        threads = [threading.Thread(target=runaway) for _ in range(n_runaways)]
        for thread in threads:
            thread.start()
        time.sleep(2.0)  # the runaways are running, some of them already re-niced or refused
        loaded = latencies(server.url, LOOKUP, 300)
        for thread in threads:
            thread.join()
        time.sleep(1.0)
        before = server.cpu_seconds()
        time.sleep(1.0)
        idle_cpu = server.cpu_seconds() - before
        print(f"lookups alone:               p50 {pct(alone, .5):6.2f} ms   p99 {pct(alone, .99):6.2f} ms")
        print(f"lookups with {n_runaways} runaways:     p50 {pct(loaded, .5):6.2f} ms   p99 {pct(loaded, .99):6.2f} ms"
              f"   (p99 ratio {pct(loaded, .99) / pct(alone, .99):.2f}x; target p99 < 50 ms: "
              f"{'met' if pct(loaded, .99) < 50 else 'MISSED'})")
        print(f"runaway answers: {sorted(outcomes)}")
        print(f"CPU used by the server and its workers in the second after the limits: {idle_cpu:.2f} s")
    finally:
        server.stop()


def writes(n_writes: int, store: Path | None) -> None:
    extra = ("--store", str(store)) if store else ()
    server = Server(*extra, timeout_s=60.0)
    label = "--store" if store else "default"
    try:
        latencies(server.url, SCAN, 2)
        scan0, look0, rss0 = statistics.median(latencies(server.url, SCAN, 5)), latencies(server.url, LOOKUP, 200), \
            server.rss_mb()
        started = time.perf_counter()
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
            for i in range(n_writes):
                body = (f'<https://kb.quantum-energy.example/id/bench/w{i}> '
                        f'<http://www.w3.org/2000/01/rdf-schema#comment> "write {i}" .')
                response = client.post(server.url + "/store", params={"graph": "https://kb.quantum-energy.example/graph/data/bench"},
                                       content=body, headers={"Content-Type": "text/turtle"})
                assert response.status_code in (200, 201, 204), response.text
        seconds = time.perf_counter() - started
        latencies(server.url, SCAN, 2)
        scan1, look1, rss1 = statistics.median(latencies(server.url, SCAN, 5)), latencies(server.url, LOOKUP, 200), \
            server.rss_mb()
        print(f"[{label}] {n_writes} writes in {seconds:.1f} s ({seconds / n_writes * 1000:.0f} ms each)")
        print(f"[{label}] scan    {scan0 * 1000:7.1f} ms -> {scan1 * 1000:7.1f} ms  ({scan1 / scan0:.2f}x; target <= 1.2x)")
        print(f"[{label}] lookup  p50 {pct(look0, .5):5.2f} ms -> {pct(look1, .5):5.2f} ms  "
              f"({pct(look1, .5) / pct(look0, .5):.2f}x; target <= 1.2x)")
        print(f"[{label}] RSS     {rss0:7.0f} MB -> {rss1:7.0f} MB  ({rss1 / rss0:.2f}x; target <= 1.5x)")
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runaways", type=int, default=8)
    parser.add_argument("--writes", type=int, default=1000)
    args = parser.parse_args()
    runaways(args.runaways)
    writes(args.writes, None)
    with tempfile.TemporaryDirectory() as folder:
        writes(args.writes, Path(folder) / "store")


if __name__ == "__main__":
    main()
