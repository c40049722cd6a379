"""Shared fixtures: the repository's own model, and a real `oxigraph serve` for the remote backend."""

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
from ekb.store import EmbeddedStore, RemoteStore

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


class EkbServe:
    """A real `ekb serve` process on 127.0.0.1 and a free port (stopped by its process id), as an operator runs it:
    `args` are its options (a store, a remote endpoint, limits); the write token comes from the environment."""

    def __init__(self, *args: str, write_token: str | None = None, start_timeout_s: float = 120):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.kb = None  # the knowledge base lives in the other process
        env = {k: v for k, v in os.environ.items() if k != "EKB_WRITE_TOKEN"}
        if write_token:
            env["EKB_WRITE_TOKEN"] = write_token
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - its stderr, read after it stops (a pipe could fill)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ekb.cli", "serve", "--root", str(ROOT), "--port", str(self.port), *args],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + start_timeout_s
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"ekb serve did not start: {self.stderr()}")

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


@pytest.fixture(params=["embedded", "remote"])
def store(request, oxigraph_server):
    """An empty store of each backend: every store test runs against both."""
    if request.param == "embedded":
        backend = EmbeddedStore()
    else:
        oxigraph_server.clear()
        backend = RemoteStore(oxigraph_server.query_url)
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


@pytest.fixture(scope="session", params=["embedded", "remote"])
def api(request, tmp_path_factory, oxigraph_server):
    """The API over the shipped model, once on the embedded store and once on a real `oxigraph serve`."""
    if request.param == "embedded":
        store = EmbeddedStore()
    else:
        server = OxigraphServer(tmp_path_factory.mktemp("oxigraph-api"))
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
