"""Large SPARQL answers are streamed through a real `ekb serve`: the same bytes as the whole answer, with the
server's memory bounded whatever the answer's size; a limit reached after the response began ends it so no
client can take it for complete; a client that goes away stops the query; small answers and early errors
keep their status codes."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from ekb.errors import LimitExceeded, QueryTimeout
from ekb.formats import GRAPH_FORMATS, SOLUTION_FORMATS
from ekb.query_workers import Limits, QueryWorkers
from ekb.store import CHUNK_BYTES, EmbeddedStore
from tests import web

from .conftest import EkbServe, child_processes

GRAPH = "https://kb.quantum-energy.example/graph/generated"
COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
TRIPLES = 100_000  # about 15 MB of N-Triples: a buffered answer shows in the server's memory, a streamed one not
BIG = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"
DOUBLED = f"CONSTRUCT {{ ?s ?p ?o . ?s <{LABEL}> ?o }} WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"  # past the limit
ROWS = f"SELECT ?s ?o WHERE {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }} LIMIT 40000"
MAX_RESULT_BYTES = 20_000_000  # above BIG's answer, below DOUBLED's
NTRIPLES = {"Accept": "application/n-triples", "Accept-Encoding": "identity"}


def generate(folder: Path, triples: int) -> Path:
    """A store on disk holding one generated graph (bulk-loaded: no gate, no reasoning to wait for)."""
    store = ox.Store(str(folder))
    lines = "".join(f'<https://kb.quantum-energy.example/id/generated/{i}> <{COMMENT}> '
                    f'"generated statement number {i}, padded to a realistic length"@en .\n' for i in range(triples))
    store.bulk_load(input=lines.encode(), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(GRAPH))
    store.flush()
    del store
    return folder


def digest(body: bytes) -> tuple[str, int]:
    return hashlib.sha256(body).hexdigest(), len(body)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`ekb serve` over the generated store (one fast worker), and the whole answers the engine gives for BIG and
    ROWS, computed on the same store before it is served."""
    folder = generate(tmp_path_factory.mktemp("streaming") / "store", TRIPLES)
    store = EmbeddedStore(folder)
    expected = {"big": digest(store.query(BIG, graph_format=GRAPH_FORMATS[1]).body),
                "rows": digest(store.query(ROWS, solution_format=SOLUTION_FORMATS[0]).body)}
    store.engine.flush()
    del store
    server = EkbServe("--store", str(folder), "--query-workers", "1", "--max-long-queries", "2",
                      "--max-result-bytes", str(MAX_RESULT_BYTES), "--query-timeout", "60")
    try:
        deadline = time.monotonic() + 60  # the first report is validated in the background: not while measuring
        while "governance report" not in server.stderr() and time.monotonic() < deadline:
            time.sleep(0.2)
        server.expected = expected
        yield server
    finally:
        server.stop()


def rss_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)


def workers(server: EkbServe) -> list[int]:
    """The server's query processes (its other child is multiprocessing's resource tracker)."""
    found = []
    for pid in child_processes(server.process.pid):
        try:
            if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
        except OSError:
            continue
    return found


class PeakRss:
    """The highest VmRSS of each process, sampled every 5 ms while a request runs."""

    def __init__(self, pids: list[int]):
        self.baseline = {pid: rss_kib(pid) for pid in pids}
        self.peak = dict(self.baseline)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.is_set():
            for pid in self.peak:
                self.peak[pid] = max(self.peak[pid], rss_kib(pid))
            time.sleep(0.005)

    def growth_bytes(self) -> dict[int, int]:
        self._done.set()
        self._thread.join()
        return {pid: (self.peak[pid] - self.baseline[pid]) * 1024 for pid in self.peak}


def test_a_large_construct_streams_the_engines_bytes_with_the_servers_memory_bounded(served):
    web.post(served.url + "/sparql", data={"query": BIG + " LIMIT 5"}, headers=NTRIPLES).raise_for_status()  # warm
    peak = PeakRss([served.process.pid, *workers(served)])
    sha, size, chunks = hashlib.sha256(), 0, 0
    with httpx.stream("POST", served.url + "/sparql", data={"query": BIG}, headers=NTRIPLES, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers.get("transfer-encoding") == "chunked" and "content-length" not in response.headers
        for chunk in response.iter_raw():
            sha.update(chunk)
            size += len(chunk)
            chunks += 1
    growth = peak.growth_bytes()
    assert (sha.hexdigest(), size) == served.expected["big"]  # byte for byte the engine's whole answer
    assert chunks > 1
    # Buffered, the server held the whole answer (and a copy while unpickling it): its growth was at least `size`.
    server_growth = growth[served.process.pid]
    assert server_growth < size / 3, (f"the server grew by {server_growth / 2**20:.1f} MiB while sending an answer of "
                                      f"{size / 2**20:.1f} MiB: it holds the answer instead of streaming it ({growth})")


def test_a_large_select_streams_the_engines_bytes(served):
    with httpx.stream("POST", served.url + "/sparql", data={"query": ROWS}, timeout=60,
                      headers={"Accept": "application/sparql-results+json", "Accept-Encoding": "identity"}) as response:
        assert response.status_code == 200 and response.headers.get("transfer-encoding") == "chunked"
        body = response.read()
    assert digest(body) == served.expected["rows"]


def test_a_size_limit_reached_while_streaming_ends_the_body_incomplete_with_its_reason(served):
    received, tail = 0, b""
    with httpx.stream("POST", served.url + "/sparql", data={"query": DOUBLED}, headers=NTRIPLES,
                      timeout=60) as response:
        assert response.status_code == 200  # the response began before the limit was reached
        with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
            for chunk in response.iter_raw():
                received += len(chunk)
                tail = (tail + chunk)[-4096:]
    assert CHUNK_BYTES < received <= MAX_RESULT_BYTES + 1024
    last_line = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode()
    assert last_line.startswith("# LimitExceeded: the answer is larger than the limit of 20,000,000 bytes"), last_line
    assert "answer was cut: LimitExceeded" in served.stderr()  # the operator's log says why an answer was cut


def test_a_client_that_goes_away_mid_stream_stops_the_query_and_frees_its_worker(served):
    deadline = time.monotonic() + 20
    while len(workers(served)) != 1 and time.monotonic() < deadline:  # earlier long queries' processes have gone
        time.sleep(0.1)
    (serving,) = workers(served)
    with httpx.stream("POST", served.url + "/sparql", data={"query": BIG}, headers=NTRIPLES, timeout=60) as response:
        assert response.status_code == 200
        next(response.iter_raw())
    # The connection is closed with most of the answer unsent: the worker, blocked on it, must be stopped (else it
    # would wait until the 60 s time limit).
    deadline = time.monotonic() + 20
    while serving in workers(served) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert serving not in workers(served), "the query went on after its client went away"
    answer = web.post(served.url + "/sparql", data={"query": f"ASK {{ GRAPH <{GRAPH}> {{ ?s ?p ?o }} }}"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["boolean"] is True


def test_small_answers_and_early_errors_keep_their_status_and_whole_body(served):
    small = web.post(served.url + "/sparql", data={"query": BIG + " LIMIT 3"}, headers=NTRIPLES)
    assert small.status_code == 200 and small.headers["content-length"] == str(len(small.content))
    assert small.content.count(b"\n") == 3
    wrong = web.post(served.url + "/sparql", data={"query": "CONSTRUCT WHERE { ?s ?p"}, headers=NTRIPLES)
    assert wrong.status_code == 400 and wrong.json()["error"] == "QuerySyntaxError"
    refused = web.post(served.url + "/sparql", data={"query": BIG}, headers={"Accept": "text/csv"})
    assert refused.status_code == 406 and refused.json()["error"] == "NotAcceptable"


# In process: the pool itself, over a small store (an answer of a few MB still fills the pipe and blocks its worker).

@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    store = EmbeddedStore(generate(tmp_path_factory.mktemp("streaming-pool") / "store", 30_000))
    workers = QueryWorkers(store, threading.Lock(), Limits(fast_workers=1, queue_wait_s=20))
    yield workers
    workers.close()
    store.close()


def stream(pool: QueryWorkers, query: str, **limits):
    return pool.query(query, SOLUTION_FORMATS[0], GRAPH_FORMATS[1], stream=True, **limits)


def test_an_answer_nobody_reads_is_stopped_at_the_time_limit(pool):
    assert stream(pool, BIG + " LIMIT 2", timeout_s=30).rest is None  # a worker ready, its snapshot open
    answer = stream(pool, BIG, timeout_s=2)
    assert answer.rest is not None and len(answer.body) >= CHUNK_BYTES
    worker = answer.rest.job.worker.process
    deadline = time.monotonic() + 15  # the deadline passes with nobody reading: the watchdog stops the query
    while worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not worker.is_alive()
    with pytest.raises(QueryTimeout, match="time limit of 2 s"):
        while answer.rest.read() is not None:
            pass
    assert stream(pool, BIG + " LIMIT 2").rest is None  # the pool serves the next query


def test_a_size_limit_reached_before_the_first_chunk_is_an_error_not_a_stream(pool):
    with pytest.raises(LimitExceeded, match="limit of 10,000 bytes"):
        stream(pool, BIG, max_bytes=10_000)
    answer = stream(pool, BIG)
    body = answer.body + b"".join(iter(answer.rest.read, None))
    assert body == pool.store.query(BIG, graph_format=GRAPH_FORMATS[1]).body
