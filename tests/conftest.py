"""Shared fixtures: the repository's own model, and real `oxigraph serve` and Virtuoso servers for the remote backend."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from ekb.api import create_app
from ekb.config import Settings
from ekb.kb import KnowledgeBase
from ekb.remote import RemoteStore
from ekb.store import EmbeddedStore

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def oxigraph_binary() -> str:
    found = shutil.which("oxigraph") or str(Path(sys.executable).with_name("oxigraph"))
    if not Path(found).exists():
        raise RuntimeError("the `oxigraph` server (PyPI package oxigraph) is not installed: run `make test`")
    return found


def stop_process(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Stop a server the tests started, by its process id: SIGTERM, then SIGKILL past `grace_s`."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class OxigraphServer:
    """A real Oxigraph server on 127.0.0.1, stopped by its process id."""

    running: set[int] = set()  # the process ids of those running: not ekb's processes, when a test watches CPU

    def __init__(self, workdir: Path, timeout_s: float = 30):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--location", str(workdir), "--bind", f"127.0.0.1:{self.port}",
             "--union-default-graph", "--timeout-s", f"{timeout_s:g}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.running.add(self.process.pid)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/query", params={"query": "ASK {}"}, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("oxigraph serve did not start")

    @property
    def query_url(self) -> str:
        return self.url + "/query"

    def clear(self) -> None:
        httpx.post(self.url + "/update", content=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"},
                   timeout=60)

    def stop(self) -> None:
        stop_process(self.process)
        self.running.discard(self.process.pid)


VIRTUOSO_BINARY = "/usr/bin/virtuoso-t"
VIRTUOSO_ISQL = "/usr/bin/isql-vt"
# The settings ekb's README documents for Virtuoso, as a fresh package install has them: the row cap is left at
# its default (10,000) on purpose, so that the tests prove ekb reads past it without losing a row.
VIRTUOSO_INI = """[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DisableTcpSocket = 0
MaxClientConnections = 10
CheckpointInterval = 60
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
ThreadsPerQuery = 2
DirsAllowed = ., {dir}

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
ServerThreads = 10
MaxClientConnections = 10
MaxKeepAlives = 10
KeepAliveTimeout = 10
EnabledDavVSP = 0
EnabledGzipContent = 0

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = {timeout_s}
MaxQueryCostEstimationTime = 400
"""


class VirtuosoServer:
    """A real Virtuoso (Debian package virtuoso-opensource) on 127.0.0.1, with its own virtuoso.ini and database in
    `workdir`, SPARQL updates granted to its anonymous SPARQL user, stopped by its process id."""

    running = OxigraphServer.running

    def __init__(self, workdir: Path, timeout_s: float = 60, max_rows: int = 10_000):
        if not Path(VIRTUOSO_BINARY).exists():
            raise RuntimeError("Virtuoso (Debian package virtuoso-opensource) is not installed: run `make test`")
        self.sql_port, self.port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        ini = workdir / "virtuoso.ini"
        ini.write_text(VIRTUOSO_INI.format(dir=workdir, sql_port=self.sql_port, http_port=self.port,
                                           max_rows=max_rows, timeout_s=f"{timeout_s:g}"))
        self.process = subprocess.Popen([VIRTUOSO_BINARY, "+foreground", "+configfile", str(ini)], cwd=workdir,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.running.add(self.process.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.query_url, params={"query": "ASK {}"}, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError(f"Virtuoso did not start: see {workdir / 'virtuoso.log'}")
        self.sql('GRANT SPARQL_UPDATE TO "SPARQL";')
        self.system_graphs = set(self.graphs())  # the engine's own: never ekb's, never cleared

    @property
    def query_url(self) -> str:
        return self.url + "/sparql"

    def sql(self, statement: str) -> None:
        subprocess.run([VIRTUOSO_ISQL, f"127.0.0.1:{self.sql_port}", "dba", "dba", f"exec={statement}"],
                       check=True, capture_output=True, timeout=60)

    def graphs(self) -> list[str]:
        answer = httpx.post(self.query_url, data={"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"},
                            headers={"Accept": "application/sparql-results+json"}, timeout=60)
        return [row["g"]["value"] for row in answer.json()["results"]["bindings"]]

    def clear(self) -> None:
        """Drop every graph but the engine's own (CLEAR ALL would drop those too, and Virtuoso needs them)."""
        drops = [f"DROP SILENT GRAPH <{g}>" for g in self.graphs() if g not in self.system_graphs]
        if drops:
            httpx.post(self.query_url, content=" ;\n".join(drops).encode(),
                       headers={"Content-Type": "application/sparql-update"}, timeout=120).raise_for_status()

    def stop(self) -> None:
        stop_process(self.process, grace_s=20)
        self.running.discard(self.process.pid)


def ekb_command() -> list[str]:
    """The `ekb` console script beside this interpreter (the entry point an operator runs), else the module."""
    script = Path(sys.executable).with_name("ekb")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ekb.cli"]


class EkbServe:
    """A real `ekb serve` process on 127.0.0.1 and a free port (stopped by its process id), as an operator runs it:
    `args` are its options (a store, a remote endpoint, limits); the write token comes from the environment;
    `root` is the project it serves, `cwd` where it runs."""

    def __init__(self, *args: str, write_token: str | None = None, start_timeout_s: float = 120,
                 root: Path = ROOT, cwd: Path = ROOT):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.kb = None  # the knowledge base lives in the other process
        env = {k: v for k, v in os.environ.items() if k != "EKB_WRITE_TOKEN"}
        if write_token:
            env["EKB_WRITE_TOKEN"] = write_token
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - its stderr, read after it stops (a pipe could fill)
        self.process = subprocess.Popen(
            [*ekb_command(), "serve", "--root", str(root), "--host", "127.0.0.1", "--port", str(self.port), *args],
            cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"ekb serve did not start: {self.stderr()[-3000:]}")

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        stop_process(self.process, grace_s=20)


class ApiServer:
    """ekb's API served by uvicorn in a thread, on 127.0.0.1 and a free port, as `ekb serve` runs it."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(kb), host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="session")
def oxigraph_server(tmp_path_factory):
    server = OxigraphServer(tmp_path_factory.mktemp("oxigraph"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def virtuoso_server(tmp_path_factory):
    server = VirtuosoServer(tmp_path_factory.mktemp("virtuoso"))
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "remote", "virtuoso"])
def store(request):
    """An empty store of each backend: every store test runs against the embedded store, `oxigraph serve` and
    Virtuoso."""
    if request.param == "embedded":
        backend = EmbeddedStore()
    else:
        server = request.getfixturevalue("oxigraph_server" if request.param == "remote" else "virtuoso_server")
        server.clear()
        backend = RemoteStore(server.query_url)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(root=ROOT)


@pytest.fixture(scope="session")
def loaded_kb(settings) -> KnowledgeBase:
    """The shipped Quantum Energy model, loaded once into an in-memory store (read-only use)."""
    kb = KnowledgeBase(settings, EmbeddedStore())
    kb.load()
    return kb


@pytest.fixture(scope="session", params=["embedded", "remote", "virtuoso"])
def api(request, tmp_path_factory):
    """The API over the shipped model, on the embedded store, on a real `oxigraph serve` and on a real Virtuoso
    (with its default row cap)."""
    if request.param == "embedded":
        store = EmbeddedStore()
    else:
        kind = OxigraphServer if request.param == "remote" else VirtuosoServer
        server = kind(tmp_path_factory.mktemp(f"{request.param}-api"))
        request.addfinalizer(server.stop)
        store = RemoteStore(server.query_url)
    kb = KnowledgeBase(Settings(root=ROOT), store)
    kb.load()
    running = ApiServer(kb)
    yield running
    running.stop()


def child_processes(parent: int | None = None) -> list[int]:
    """The process ids whose parent is `parent` (by default this process: the query workers, among others)."""
    parent = os.getpid() if parent is None else parent
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def cpu_seconds(pids) -> dict[int, float]:
    """CPU seconds used so far by each of these processes (those still running)."""
    ticks = os.sysconf("SC_CLK_TCK")
    times = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        times[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return times


def child_cpu_seconds(parent: int | None = None) -> dict[int, float]:
    """CPU seconds used so far by each child process of `parent` (by default this process)."""
    return cpu_seconds(child_processes(parent))


@pytest.fixture
def listener():
    """A TCP listener on 127.0.0.1 that records what each connection sent first (and closes it at once)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(20)
    hits: list[bytes] = []

    def accept():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            hits.append(connection.recv(1024))
            connection.close()

    threading.Thread(target=accept, daemon=True).start()
    yield f"127.0.0.1:{server.getsockname()[1]}", hits
    server.close()


def copy_project(destination: Path) -> Path:
    """A private copy of ontology/, shapes/, data/ and queries/ that a test may break."""
    for folder in ("ontology", "shapes", "data", "queries"):
        shutil.copytree(ROOT / folder, destination / folder)
    return destination
