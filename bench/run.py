"""Benchmarks: ekb measured side by side with what a user would pick instead, in one run.

    make bench                      # scales 1e4 and 1e5 (a few minutes)
    make bench SCALES=1e4,1e5,1e6   # add 10^6 triples (tens of minutes: the Python baselines are slow)

Every figure is a median of several runs; every ratio compares two figures measured in this run on this
machine. The table is printed and written as JSON to bench/results/latest.json. Targets come from issue 7;
a missed target is printed as MISSED, never hidden. Baselines that would run past their time budget at a
scale are skipped there and the table says so.

The SPARQL comparison gives the baseline its best configuration (issue 18): `oxigraph serve` over the same
data, its store compacted with `oxigraph optimize` (ekb compacts its own after a load), the same dataset (the
union of the graphs as the default graph), warmed up as ekb is. Every answer of ekb (both routes) is compared
row for row with the baseline's (bench/answers.py) and recorded in the JSON with the versions of every engine
and the machine's load average. The run ends with every miss listed, and exits with status 1 if any answer
of ekb differs from `oxigraph serve`'s.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"


@dataclass
class Row:
    section: str
    scale: int
    metric: str
    ekb: float
    baseline_name: str = ""
    baseline: float | None = None
    unit: str = "s"
    target: str = ""
    verdict: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or not self.ekb:
            return None
        return self.baseline / self.ekb if self.unit in ("s", "ms") else self.ekb / self.baseline


ROWS: list[Row] = []
OUTPUT: list[Path] = []
# Beside the rows: the versions of every engine, the machine's load average through the run, and for each
# query at each scale the timings of every server and the comparison of their answers (bench/answers.py).
EXTRA: dict = {"command": [], "versions": {}, "load": [], "queries": []}


def save() -> None:
    if OUTPUT:  # written as it goes, so an interrupted run keeps what it measured
        OUTPUT[0].write_text(json.dumps({
            "machine": {"arch": platform.machine(), "cores": os.cpu_count(), "python": platform.python_version()},
            **EXTRA,
            "rows": [{**asdict(r), "ratio": r.ratio, "ekb_over_baseline": ekb_over_baseline(r)} for r in ROWS]},
            indent=2))


def ekb_over_baseline(row: Row) -> float | None:
    """ekb's time over the baseline's (above 1: ekb is slower); `ratio` is its inverse, the speed-up."""
    if row.baseline is None or not row.baseline or row.unit not in ("s", "ms"):
        return None
    return row.ekb / row.baseline


def load_sample(label: str) -> None:
    """The machine's load average (1, 5, 15 minutes), recorded in the JSON and printed: this is a shared
    2-core machine and every other process competes with the servers measured."""
    one, five, fifteen = os.getloadavg()
    EXTRA["load"].append({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "label": label, "1m": one, "5m": five,
                          "15m": fifteen})
    print(f"# load average {one:.2f} {five:.2f} {fifteen:.2f} ({label})", flush=True)
    save()


def versions() -> dict:
    """The version of every engine and library measured, and of the `oxigraph` binary the baseline runs."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("ekb", "pyoxigraph", "oxigraph", "rdflib", "pyshacl", "pyshacl-turbo", "reasonable", "owlrl",
                 "rdflib-endpoint", "httpx", "fastapi", "uvicorn"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    try:
        found["oxigraph binary (--version)"] = subprocess.run([str(BIN / "oxigraph"), "--version"], capture_output=True,
                                                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        found["oxigraph binary (--version)"] = None
    try:  # the code measured: a commit, and whether src/ differs from it
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "src"], capture_output=True,
                               text=True, check=True).stdout.strip()
        found["ekb commit"] = commit + (" with local changes in src/" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        found["ekb commit"] = None
    return found


def record(row: Row) -> None:
    ROWS.append(row)
    save()
    ratio = f"{row.ratio:6.1f}x" if row.ratio is not None else "      "
    base = f"{row.baseline:10.3f}" if row.baseline is not None else "         -"
    print(f"{row.section:9} {row.scale:>9,} {row.metric:46.46} {row.ekb:10.3f} {row.unit:4} "
          f"{row.baseline_name:18.18} {base} {ratio} {row.target:22.22} {row.verdict}", flush=True)


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(url: str, params: dict | None = None, timeout: float = 600) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if httpx.get(url, params=params, timeout=5).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


class Process:
    """A server started for the benchmark on 127.0.0.1 and stopped by its process id."""

    def __init__(self, args: list[str], **kwargs):
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)

    def stop(self) -> None:
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)


def dataset(scale: int) -> tuple[Path, dict]:
    from bench.generate import write

    path = DATA / f"qe-{scale}.nt"
    manifest_path = path.with_suffix(".json")
    if not path.exists() or not manifest_path.exists():
        write(scale, path)
    return path, json.loads(manifest_path.read_text())


def project_with(data_file: Path, workdir: Path) -> Path:
    """A copy of the project whose data/ also holds the generated file."""
    root = workdir / "project"
    if root.exists():
        shutil.rmtree(root)
    for folder in ("ontology", "shapes", "data", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    os.link(data_file, root / "data" / "generated.nt") if data_file.stat().st_dev == root.stat().st_dev \
        else shutil.copy(data_file, root / "data" / "generated.nt")
    return root


# ---------------------------------------------------------------------------------------------- load
def bench_load(scale: int, path: Path, repeat: int, workdir: Path, rdflib_max: int) -> None:
    import pyoxigraph as ox
    import rdflib

    from ekb.store import EmbeddedStore

    graph = "https://kb.quantum-energy.example/graph/data/generated"
    memory = median_time(lambda: EmbeddedStore().load_graph(graph, path, ox.RdfFormat.N_TRIPLES), repeat)

    def to_disk():
        target = Path(tempfile.mkdtemp(dir=workdir))
        store = EmbeddedStore(target)
        store.load_graph(graph, path, ox.RdfFormat.N_TRIPLES)
        store.close()
        shutil.rmtree(target)

    disk = median_time(to_disk, repeat)

    def oxigraph_cli():
        target = Path(tempfile.mkdtemp(dir=workdir))
        subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(target), "--file", str(path)],
                       check=True, capture_output=True)
        shutil.rmtree(target)

    cli = median_time(oxigraph_cli, repeat)
    record(Row("load", scale, "embedded store, memory (parse + commit)", memory, "oxigraph load (CLI)", cli,
               target="<= 1.5x oxigraph load", verdict=verdict(memory <= 1.5 * cli)))
    record(Row("load", scale, "embedded store, disk (parse + commit)", disk, "oxigraph load (CLI)", cli,
               target="<= 1.5x oxigraph load", verdict=verdict(disk <= 1.5 * cli)))
    if scale <= rdflib_max:
        parse = median_time(lambda: rdflib.Graph().parse(str(path), format="nt"), 1 if scale >= 10**6 else repeat)
        record(Row("load", scale, "embedded store, memory (parse + commit)", memory, "rdflib Graph.parse", parse,
                   target=">= 10x rdflib", verdict=verdict(parse >= 10 * memory)))
    else:
        record(Row("load", scale, "rdflib Graph.parse skipped (over budget)", memory, "rdflib Graph.parse", None,
                   verdict="skipped"))


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


# ----------------------------------------------------------------------------------------- pipeline
def bench_pipeline(scale: int, root: Path, repeat: int) -> tuple[float, int]:
    from ekb.config import Settings
    from ekb.kb import KnowledgeBase

    reports = []

    def run():
        kb = KnowledgeBase.open(Settings(root=root))
        reports.append(kb.load())

    seconds = median_time(run, max(1, repeat - 1))
    triples = sum(reports[-1].graphs.values())
    record(Row("pipeline", scale, f"ekb load: parse, OWL RL, swap ({triples:,} quads)", seconds))
    return seconds, triples


# ---------------------------------------------------------------------------------------- reasoning
def bench_reasoning(scale: int, root: Path, owlrl_max: int) -> None:
    """ekb's materialisation (reasonable over independent slices, in worker processes when large) against
    owlrl over the same premises in one pass, as a user of owlrl would run it."""
    from ekb.config import INFERRED_GRAPH, SHAPES_GRAPH, Settings
    from ekb.kb import KnowledgeBase
    from ekb.loader import premise_ntriples
    from ekb.reasoning import OwlrlReasoner, ReasonableReasoner, materialise, useful_ntriples

    kb = KnowledgeBase.open(Settings(root=root))
    kb.load()
    premises = b"".join(premise_ntriples(kb.store, g) for g in kb.store.graphs() if g not in (SHAPES_GRAPH, INFERRED_GRAPH))
    asserted = set(premises.decode().splitlines(keepends=True))

    started = time.perf_counter()
    fast_lines = set(materialise(premises, ReasonableReasoner()))
    fast = time.perf_counter() - started
    if scale > owlrl_max:
        record(Row("owl-rl", scale, "materialisation, reasonable", fast, "owlrl", None, verdict="owlrl skipped (over budget)"))
        return
    started = time.perf_counter()
    slow_lines = set(useful_ntriples(OwlrlReasoner().closure(premises))) - asserted
    slow = time.perf_counter() - started
    instance = "<https://kb.quantum-energy.example/id/"
    same = {x for x in fast_lines if x.startswith(instance)} == {x for x in slow_lines if x.startswith(instance)}
    record(Row("owl-rl", scale, "materialisation (instance entailments equal: " + ("yes" if same else "NO") + ")",
               fast, "owlrl", slow, target=">= 20x owlrl, same result", verdict=verdict(same and slow >= 20 * fast)))


# ------------------------------------------------------------------------------------------- SHACL
def bench_shacl(scale: int, root: Path, manifest: dict, pyshacl_max: int) -> None:
    from collections import Counter

    from ekb.config import Settings
    from ekb.kb import KnowledgeBase
    from ekb.validation import PyshaclEngine, TurboEngine, validate_store

    kb = KnowledgeBase.open(Settings(root=root))
    kb.load()
    started = time.perf_counter()
    report = validate_store(kb.store, TurboEngine())
    fast = time.perf_counter() - started
    planted = Counter({f"{k}": v for k, v in manifest["planted"].items()})
    found = Counter(f.rule.rsplit("/", 1)[1] for f in report.findings if f.severity == "Violation")
    exact = found == planted
    metric = f"full report ({report.count('Violation')} violations, planted found exactly: {'yes' if exact else 'NO'})"
    if scale > pyshacl_max:
        record(Row("shacl", scale, metric, fast, "pyshacl", None, verdict="pyshacl skipped (over budget)"))
        return
    started = time.perf_counter()
    reference = validate_store(kb.store, PyshaclEngine())
    slow = time.perf_counter() - started
    same = sorted(f.key for f in report.findings) == sorted(f.key for f in reference.findings)
    record(Row("shacl", scale, metric + f", same as pyshacl: {'yes' if same else 'NO'}", fast, "pyshacl", slow,
               target=">= 20x pyshacl, same", verdict=verdict(same and exact and slow >= 20 * fast)))


def bench_shacl_shipped() -> None:
    """pyshacl on the shipped model: the largest data it validates within the time budget."""
    from ekb.config import Settings
    from ekb.kb import KnowledgeBase
    from ekb.validation import PyshaclEngine, TurboEngine, validate_store

    kb = KnowledgeBase.open(Settings(root=ROOT))
    kb.load()
    validate_store(kb.store, TurboEngine())  # compile the shapes once, as a running server has
    fast = median_time(lambda: validate_store(kb.store, TurboEngine()), 3)
    reports = []
    slow = median_time(lambda: reports.append(validate_store(kb.store, PyshaclEngine())), 1)
    same = sorted(f.key for f in validate_store(kb.store).findings) == sorted(f.key for f in reports[-1].findings)
    size = kb.store.count()
    record(Row("shacl", size, f"full report, shipped model (same as pyshacl: {'yes' if same else 'NO'})", fast,
               "pyshacl", slow, target=">= 20x pyshacl, same", verdict=verdict(same and slow >= 20 * fast)))


# -------------------------------------------------------------------------------------------- gate
def bench_gate(scale: int, root: Path, repeat: int) -> None:
    """A one-entity write (a new system with its owner) as the API's JSON-LD import makes it."""
    import pyoxigraph as ox

    from ekb.config import Settings
    from ekb.gate import Delta
    from ekb.kb import KnowledgeBase

    kb = KnowledgeBase.open(Settings(root=root))
    kb.load()
    kb.validate(record=False)  # the baseline a running server keeps
    counter = iter(range(10**6))
    ekb_ns, ids = "https://kb.quantum-energy.example/def/core/", "https://kb.quantum-energy.example/id/"

    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    label = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    owner = ox.NamedNode(ekb_ns + "hasAccountableOwner")

    def one_write():
        system = ox.NamedNode(f"{ids}system/bench-{next(counter)}")
        delta = Delta("https://kb.quantum-energy.example/graph/data/bench", added=(
            ox.Triple(system, rdf_type, ox.NamedNode(ekb_ns + "System")),
            ox.Triple(system, label, ox.Literal("Bench system", language="en")),
            ox.Triple(system, owner, ox.NamedNode(ids + "owner/chief-information-officer"))))
        kb.apply(delta)

    from ekb import gate

    gate_times: list[float] = []
    check_delta, check_change = gate.check_delta, gate.check_change

    def timed(fn):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                gate_times.append(time.perf_counter() - started)
        return wrapper

    import ekb.kb as kb_module

    kb_module.check_delta, kb_module.check_change = timed(check_delta), timed(check_change)
    try:
        total = median_time(one_write, repeat)
    finally:
        kb_module.check_delta, kb_module.check_change = check_delta, check_change
    gate = statistics.median(gate_times)
    mode = "neighbourhood" if kb.size() > kb.settings.gate_full_max_triples else "whole store"
    record(Row("gate", scale, f"validation a one-entity write adds ({mode})", gate * 1000, unit="ms",
               target="gate adds < 50 ms", verdict=verdict(gate < 0.05)))
    record(Row("gate", scale, "the whole write: gate, commit, entailments", total * 1000, unit="ms"))


# ----------------------------------------------------------------------------------------- SPARQL
def bench_sparql(scale: int, root: Path, workdir: Path, args: argparse.Namespace) -> None:
    """ekb serve against `oxigraph serve` in its best configuration: the same data (ekb's export, loaded by
    `oxigraph load`), its store compacted (`oxigraph optimize`; ekb compacts its own after a load), the same
    dataset (the union of all graphs as the default graph), both on 127.0.0.1, both warmed up before timing and
    timed in turn, request by request. Every answer is compared row for row with the baseline's (bench/answers.py)."""
    from bench.answers import accept_for, compare
    from ekb.config import Settings
    from ekb.library import QueryLibrary

    rdflib_max, requests = int(args.rdflib_max), args.requests
    store_dir = workdir / f"ekb-store-{scale}"
    if store_dir.exists():
        shutil.rmtree(store_dir)
    record_load_on_disk(scale, *run_measured([str(BIN / "ekb"), "load", "--root", str(root), "--store", str(store_dir)]))
    dump = workdir / f"dump-{scale}.nq"
    subprocess.run([str(BIN / "ekb"), "export", "--root", str(root), "--store", str(store_dir), "--format", "nquads",
                    "--output", str(dump)], check=True, capture_output=True)
    oxi_dir = workdir / f"oxigraph-{scale}"
    if oxi_dir.exists():
        shutil.rmtree(oxi_dir)
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(oxi_dir), "--file", str(dump)], check=True,
                   capture_output=True)
    started = time.perf_counter()
    subprocess.run([str(BIN / "oxigraph"), "optimize", "--location", str(oxi_dir)], check=True, capture_output=True)
    record(Row("baseline", scale, "oxigraph optimize (its store compacted before serving)", time.perf_counter() - started))

    ekb_port, oxi_port = free_port(), free_port()
    ekb = Process([str(BIN / "ekb"), "serve", "--root", str(root), "--store", str(store_dir), "--host", "127.0.0.1",
                   "--port", str(ekb_port), "--query-timeout", "300"])  # the largest scales' aggregations run past 30 s
    oxi = Process([str(BIN / "oxigraph"), args.oxigraph_mode, "--location", str(oxi_dir), "--bind",
                   f"127.0.0.1:{oxi_port}", "--union-default-graph"])
    servers = [ekb, oxi]
    rdf = None
    try:
        startup = wait_until(f"http://127.0.0.1:{ekb_port}/sparql", {"query": "ASK { ?s ?p ?o }"})
        record(Row("startup", scale, "ekb serve on an existing disk store: first answer", startup,
                   target="< 2 s at 10^6", verdict=verdict(startup < 2) if scale >= 10**6 else ""))
        wait_until(f"http://127.0.0.1:{oxi_port}/query", {"query": "ASK { ?s ?p ?o }"})
        if scale <= rdflib_max:
            flat = workdir / f"flat-{scale}.nt"
            import pyoxigraph as ox
            ox.serialize([q.triple for q in ox.parse(path=str(dump), format=ox.RdfFormat.N_QUADS)], str(flat),
                         format=ox.RdfFormat.N_TRIPLES)
            rdf_port = free_port()
            rdf = Process([str(BIN / "rdflib-endpoint"), "serve", str(flat), "--host", "127.0.0.1", "--port", str(rdf_port)])
            servers.append(rdf)
            wait_until(f"http://127.0.0.1:{rdf_port}/", {"query": "ASK { ?s ?p ?o }"}, timeout=1800)
        library = QueryLibrary(Settings(root=root).queries_dir)
        load_sample(f"sparql {scale:,}: start")
        summary = []
        chosen = set(filter(None, args.queries.split(",")))
        for name, query in library.queries.items():
            if chosen and name not in chosen:
                continue
            text = query.bind(query.example)
            headers = {"Accept": accept_for(text)}
            load_before = os.getloadavg()[0]
            targets = [("oxigraph", f"http://127.0.0.1:{oxi_port}/query", {"query": text}),
                       ("/sparql", f"http://127.0.0.1:{ekb_port}/sparql", {"query": text}),
                       ("/queries", f"http://127.0.0.1:{ekb_port}/queries/{name}", query.example)]
            # The answers, compared row for row; fetching them is also each server's first (cold) request.
            bodies = {label: fetch(url, params, headers) for label, url, params in targets}
            answers = {label: compare(text, bodies[label][0], bodies["oxigraph"][0], bodies[label][1],
                                      bodies["oxigraph"][1]) for label in ("/sparql", "/queries")}
            latency = interleaved_latency(targets, headers, max(1, requests // 2), args.warmup)
            rps = throughput(targets, headers, requests)
            base = latency["oxigraph"]
            entry = {"scale": scale, "query": name, "oxigraph": {**base, "rps": rps["oxigraph"]}, "routes": {}}
            for label in ("/sparql", "/queries"):
                stats, same = {**latency[label], "rps": rps[label]}, answers[label]
                target, met = sparql_target(stats, {**base, "rps": rps["oxigraph"]})
                record(Row("sparql", scale, f"{name} {label} p50 (p95 {stats['p95']:.1f}; {stats['rps']:.0f} vs "
                           f"{rps['oxigraph']:.0f} rps; answers {'equal' if same.equal else 'DIFFER'})", stats["p50"],
                           "oxigraph serve", base["p50"], unit="ms", target=target,
                           verdict=verdict(met) if same.equal else "MISSED: answers differ"))
                entry["routes"][label] = {**stats, "ekb_over_oxigraph": stats["p50"] / base["p50"],
                                          "verdict": verdict(met), "answers": same.as_dict()}
            if rdf is not None:
                entry["rdflib-endpoint"] = bench_rdflib_endpoint(scale, name, text, headers, rdf_port, requests,
                                                                 latency["/sparql"]["p50"], bodies["/sparql"])
            del bodies
            entry["load_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            EXTRA["queries"].append(entry)
            summary.append(entry)
            save()
        load_sample(f"sparql {scale:,}: end")
        print_sparql_summary(scale, summary)
    finally:
        for server in servers:
            server.stop()


def bench_rdflib_endpoint(scale: int, name: str, text: str, headers: dict, port: int, requests: int,
                          ekb_p50: float, ekb_answer: tuple[bytes, str]) -> dict:
    """rdflib-endpoint over the same triples (one graph: the union, as the default graph is for the others),
    its answer compared with ekb's, then timed alone (it is 10 to 1,000 times slower)."""
    from bench.answers import compare

    url, params = f"http://127.0.0.1:{port}/", {"query": text}
    try:
        body, media_type = fetch(url, params, headers)  # its answer, and its first request
    except httpx.HTTPError as err:
        record(Row("sparql", scale, f"{name} /sparql p50 vs rdflib-endpoint", ekb_p50, "rdflib-endpoint", None,
                   unit="ms", verdict=f"rdflib-endpoint failed: {str(err)[:40]}"))
        return {"error": str(err)[:200]}
    same = compare(text, ekb_answer[0], body, ekb_answer[1], media_type)
    stats = interleaved_latency([("rdflib-endpoint", url, params)], headers, max(4, requests // 5), warmup=1)
    stats = stats["rdflib-endpoint"]
    record(Row("sparql", scale, f"{name} /sparql p50 vs rdflib-endpoint (answers {'equal' if same.equal else 'DIFFER'})",
               ekb_p50, "rdflib-endpoint", stats["p50"], unit="ms", target=">= 5x rdflib-endpoint",
               verdict=verdict(stats["p50"] >= 5 * ekb_p50) if same.equal else "answers differ: not comparable"))
    return {**stats, "ekb_over_rdflib_endpoint": ekb_p50 / stats["p50"], "answers": same.as_dict()}


def fetch(url: str, params: dict, headers: dict) -> tuple[bytes, str]:
    """One request's whole answer and its media type (an error status raises)."""
    response = httpx.get(url, params=params, headers=headers, timeout=600)
    response.raise_for_status()
    return response.content, response.headers.get("content-type", "")


def interleaved_latency(targets: list[tuple[str, str, dict]], headers: dict, requests: int, warmup: int) -> dict:
    """Latency as one client sees it: p50/p95 in ms of sequential requests. The servers are asked in turn,
    request by request (the first server changing each round), so a change in the machine's load falls on all
    of them alike; each first gets `warmup` untimed requests."""
    clients = {label: httpx.Client(timeout=600, headers=headers) for label, _, _ in targets}
    times: dict[str, list[float]] = {label: [] for label, _, _ in targets}
    try:
        for label, url, params in targets:
            for _ in range(warmup):
                clients[label].get(url, params=params).raise_for_status()
        for round_ in range(requests):
            turn = targets[round_ % len(targets):] + targets[:round_ % len(targets)]
            for label, url, params in turn:
                started = time.perf_counter()
                clients[label].get(url, params=params).raise_for_status()
                times[label].append((time.perf_counter() - started) * 1000)
    finally:
        for client in clients.values():
            client.close()
    return {label: {"p50": statistics.median(t), "p95": sorted(t)[int(0.95 * (len(t) - 1))], "requests": len(t)}
            for label, t in times.items()}


def throughput(targets: list[tuple[str, str, dict]], headers: dict, requests: int, clients: int = 4) -> dict:
    """Requests per second with `clients` concurrent clients, per server. Each server is measured twice, in
    the order A B C then C B A, so a drift of the machine's load does not favour the one measured first."""
    per_client = max(1, requests // (2 * clients))
    done: dict[str, list[float]] = {label: [0, 0.0] for label, _, _ in targets}

    def worker(url: str, params: dict) -> None:
        with httpx.Client(timeout=600, headers=headers) as client:
            for _ in range(per_client):
                client.get(url, params=params).raise_for_status()

    for order in (targets, targets[::-1]):
        for label, url, params in order:
            started = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(clients) as pool:
                list(pool.map(worker, [url] * clients, [params] * clients))
            done[label][0] += per_client * clients
            done[label][1] += time.perf_counter() - started
    return {label: count / elapsed for label, (count, elapsed) in done.items()}


def sparql_target(stats: dict, oxigraph: dict) -> tuple[str, bool]:
    """Issue 7's targets by the engine's own time (oxigraph's p50): over 10 ms, within 1.2x of it; a lookup
    (under 2 ms there), p50 under 2 ms and 60% of its throughput; in between, where oxigraph alone needs more
    than the 2 ms a lookup is allowed, the throughput clause."""
    throughput = stats["rps"] >= 0.6 * oxigraph["rps"]
    if oxigraph["p50"] > 10:
        return "p50 <= 1.2x oxigraph", stats["p50"] <= 1.2 * oxigraph["p50"]
    if oxigraph["p50"] < 2:
        return "lookup: p50 < 2 ms, >= 60% rps", stats["p50"] < 2 and throughput
    return ">= 60% oxigraph rps (4 clients)", throughput


def print_sparql_summary(scale: int, entries: list[dict]) -> None:
    """The scale's queries side by side: p50 in ms, ekb's time over oxigraph's (above 1: ekb is slower), and
    whether the answers are equal."""
    print(f"\nSPARQL at {scale:,} triples: p50 ms of one client; ekb/oxigraph > 1.00 means ekb is slower")
    print(f"{'query':38} {'rows':>7} {'oxigraph':>9} {'/sparql':>9} {'ratio':>6} {'/queries':>9} {'ratio':>6} "
          f"{'rps ekb/ox':>10} answers")
    for e in entries:
        s, q = e["routes"]["/sparql"], e["routes"]["/queries"]
        equal = "equal" if s["answers"]["equal"] and q["answers"]["equal"] else "DIFFER"
        print(f"{e['query']:38.38} {s['answers']['baseline_rows']:7,} {e['oxigraph']['p50']:9.2f} {s['p50']:9.2f} "
              f"{s['ekb_over_oxigraph']:6.2f} {q['p50']:9.2f} {q['ekb_over_oxigraph']:6.2f} "
              f"{s['rps'] / e['oxigraph']['rps']:10.2f} {equal}")
    print()


# ---------------------------------------------------------------------------------------- memory
def bench_memory(scale: int, root: Path, workdir: Path) -> None:
    target = workdir / f"mem-{scale}"
    seconds, peak = run_measured([str(BIN / "ekb"), "load", "--root", str(root), "--store", str(target)])
    shutil.rmtree(target, ignore_errors=True)
    record_load_on_disk(scale, seconds, peak)


def record_load_on_disk(scale: int, seconds: float, peak_mib: float) -> None:
    record(Row("pipeline", scale, "ekb load --store (disk): parse, OWL RL, install", seconds))
    record(Row("memory", scale, "peak memory of `ekb load --store` (with its workers)", peak_mib, unit="MiB",
               target="< 8 GiB at 10^7", verdict=verdict(peak_mib < 8192) if scale >= 10**7 else ""))


def run_measured(args: list[str]) -> tuple[float, float]:
    """Run a command to its end: seconds, and the peak of the summed resident memory of it and its
    descendants (worker processes included), sampled every 50 ms."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=errors)
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss_kib(process.pid))
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        if process.returncode:
            errors.seek(0)
            raise RuntimeError(f"{' '.join(args)} failed: {errors.read().decode()[-2000:]}")
    return seconds, peak / 1024


def tree_rss_kib(root: int) -> int:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, grown = {root}, True
    while grown:
        grown = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                grown = True
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def run_scale(scale: int, args: argparse.Namespace, workdir: Path, only: set[str]) -> None:
    path, manifest = dataset(scale)
    root = project_with(path, workdir)
    sections = {
        "load": lambda: bench_load(scale, path, args.repeat, workdir, int(args.rdflib_max)),
        "pipeline": lambda: bench_pipeline(scale, root, args.repeat),
        "owl-rl": lambda: bench_reasoning(scale, root, int(args.owlrl_max)),
        "shacl": lambda: bench_shacl(scale, root, manifest, int(args.pyshacl_max)),
        "gate": lambda: bench_gate(scale, root, args.repeat),
        "sparql": lambda: bench_sparql(scale, root, workdir, args),
        "memory": lambda: bench_memory(scale, root, workdir),
    }
    for name, run in sections.items():
        if not only or name in only:
            run()


def main() -> int:
    parser = argparse.ArgumentParser(description="ekb benchmarks")
    parser.add_argument("--scales", default=os.environ.get("SCALES", "1e4,1e5"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--requests", type=int, default=40, help="HTTP requests per query and server")
    parser.add_argument("--warmup", type=int, default=3,
                        help="untimed requests per query and server before timing (after the one fetching the answer)")
    parser.add_argument("--queries", default="", help="comma-separated curated queries to time (default: all)")
    parser.add_argument("--oxigraph-mode", default="serve", choices=["serve", "serve-read-only"],
                        help="how the `oxigraph` baseline serves its (compacted) store")
    parser.add_argument("--pyshacl-max", type=float, default=0,
                        help="largest generated scale for the pyshacl baseline (default: only the shipped model; "
                             "pyshacl took more than 10 minutes at 10^4)")
    parser.add_argument("--owlrl-max", type=float, default=1e6, help="largest scale for the owlrl baseline")
    parser.add_argument("--rdflib-max", type=float, default=1e5, help="largest scale for rdflib and rdflib-endpoint")
    parser.add_argument("--only", default="", help="comma-separated sections to run (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS / "latest.json")
    args = parser.parse_args()
    scales = [int(float(s)) for s in args.scales.split(",")]
    only = set(filter(None, args.only.split(",")))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.append(args.output)
    from bench.answers import self_check

    self_check()  # the answer comparison itself, on answers built by hand: a broken comparison stops the run
    EXTRA["command"] = sys.argv[1:]
    EXTRA["versions"] = versions()
    print(f"ekb benchmarks on {platform.machine()} with {os.cpu_count()} cores, Python {platform.python_version()}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in EXTRA["versions"].items()))
    load_sample("start")
    print(f"{'section':9} {'triples':>9} {'metric':46} {'ekb':>10} unit {'baseline':18} {'value':>10} {'ratio':>7} "
          f"{'target':22} verdict")
    with tempfile.TemporaryDirectory(prefix="ekb-bench-") as tmp:
        if not only or "shacl" in only:
            bench_shacl_shipped()
        for scale in scales:
            run_scale(scale, args, Path(tmp), only)
    load_sample("end")
    return report_misses()


def report_misses() -> int:
    """Every miss, said plainly: answers that differ, queries where ekb is slower than `oxigraph serve`,
    targets missed. The exit status is 1 if any answer of ekb differs from the baseline's."""
    differ = [(e["scale"], e["query"], label) for e in EXTRA["queries"] for label, r in e["routes"].items()
              if not r["answers"]["equal"]]
    rdflib_differ = [(e["scale"], e["query"]) for e in EXTRA["queries"]
                     if "answers" in e.get("rdflib-endpoint", {}) and not e["rdflib-endpoint"]["answers"]["equal"]]
    slower = [(e["scale"], e["query"], label, r["ekb_over_oxigraph"]) for e in EXTRA["queries"]
              for label, r in e["routes"].items() if r["ekb_over_oxigraph"] > 1]
    missed = [r for r in ROWS if r.verdict.startswith("MISSED")]
    print("\nMisses")
    print(f"- answers of ekb that differ from oxigraph serve's: {len(differ)}"
          + "".join(f"\n    {s:,} {q} {label}" for s, q, label in differ))
    if rdflib_differ:
        print(f"- answers of rdflib-endpoint that differ from ekb's (its ratio is then not comparable): "
              f"{len(rdflib_differ)}" + "".join(f"\n    {s:,} {q}" for s, q in rdflib_differ))
    print(f"- p50 where ekb is slower than oxigraph serve: {len(slower)} of "
          f"{sum(len(e['routes']) for e in EXTRA['queries'])}"
          + "".join(f"\n    {s:,} {q} {label}: {ratio:.2f}x its time" for s, q, label, ratio in slower))
    print(f"- targets missed: {len(missed)}" + "".join(f"\n    {r.scale:,} {r.section} {r.metric} ({r.target})"
                                                      for r in missed))
    print(f"\nwrote {OUTPUT[0]}")
    if differ:
        print("ANSWERS DIFFER: exit status 1")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
