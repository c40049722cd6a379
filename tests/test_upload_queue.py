"""The Graph Store POSTs of a load, sent by a thread of their own (ekb.upload_queue): in order, bounded, every
other request waits for them, and a failure reaches the thread that queued it, once; on a real engine a load whose
upload fails leaves the store as it was."""

from __future__ import annotations

import threading
import time

import pytest

from ekb import loader, upload_queue
from ekb.errors import RdfSyntaxError, StoreUnavailable
from ekb.remote import RemoteStore
from ekb.upload_queue import UploadQueue
from tests.test_loader import make_project


def test_posts_go_in_order_and_settle_waits_for_them_all():
    queue, sent = UploadQueue(), []
    for n in range(5):
        queue.submit(lambda n=n: (time.sleep(0.01), sent.append(n)), 10)
    queue.settle()
    assert sent == [0, 1, 2, 3, 4]
    queue.close()


def test_a_full_queue_makes_the_caller_wait(monkeypatch):
    monkeypatch.setattr(upload_queue, "MAX_BYTES", 100)
    queue, release, most = UploadQueue(), threading.Event(), []
    queue.submit(release.wait, 60)
    threading.Timer(0.2, release.set).start()
    started = time.perf_counter()
    queue.submit(lambda: None, 60)  # 120 bytes would be queued: waits for the first
    assert time.perf_counter() - started >= 0.15
    most.append(queue._bytes)
    queue.close()
    assert most == [60]


def test_a_failure_reaches_the_thread_that_queued_it_once_and_other_threads_do_not_wait():
    queue, release = UploadQueue(), threading.Event()

    def fail() -> None:
        release.wait(60)
        raise StoreUnavailable("the server answered 500")

    queue.submit(fail, 1)
    after: list[int] = []
    queue.submit(lambda: after.append(1), 1)  # not sent: the load fails anyway
    other: list[BaseException | None] = []

    def elsewhere() -> None:  # a reader in another thread: neither waits for the queue nor is told of its failure
        try:
            queue.settle()
            other.append(None)
        except BaseException as err:  # noqa: BLE001
            other.append(err)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join(5)
    assert other == [None] and not release.is_set()
    release.set()
    with pytest.raises(StoreUnavailable, match="answered 500"):
        queue.settle()
    queue.settle()  # told once
    assert after == []
    queue.close()


def test_a_first_load_whose_upload_fails_leaves_the_engine_empty(oxigraph_server, tmp_path, monkeypatch):
    """The data graph is new, so written under its own name; its POST fails after the loader went on (to the
    rules): the failure is raised by the load, and every graph it wrote is dropped."""
    oxigraph_server.clear()
    settings = make_project(tmp_path / "project")
    store = RemoteStore(oxigraph_server.query_url)
    post = RemoteStore._post_ntriples

    def failing(self, graph, body, bulk):
        if "org/units" in graph:
            raise StoreUnavailable(f"the SPARQL server answered 500 for {graph}")
        return post(self, graph, body, bulk)

    monkeypatch.setattr(RemoteStore, "_post_ntriples", failing)
    with pytest.raises(StoreUnavailable, match="org/units"):
        loader.load(store, settings)
    assert store.graphs() == []
    monkeypatch.undo()
    assert loader.load(store, settings).graphs[loader.DATA_GRAPH_PREFIX + "org/units"] == 2
    store.close()


def test_a_first_load_moves_nothing_and_a_reload_stages_what_it_replaces(oxigraph_server, tmp_path):
    oxigraph_server.clear()
    settings = make_project(tmp_path / "project")
    store = RemoteStore(oxigraph_server.query_url)
    updates: list[str] = []
    store._http.event_hooks["request"].append(
        lambda request: updates.append(request.content.decode()) if "update" in str(request.url) else None)
    loader.load(store, settings)
    assert not any("MOVE" in u for u in updates)
    (tmp_path / "project" / "data" / "org" / "units.ttl").write_text("<http://e/x> <http://e/hasPart> <http://e/y> .\n")
    updates.clear()
    loader.load(store, settings)  # the data graph is live: staged, then moved onto it
    assert any("MOVE" in u and "org/units" in u for u in updates)
    assert store.count(loader.DATA_GRAPH_PREFIX + "org/units") == 1
    store.close()


def failing_posts(monkeypatch, failing: str) -> None:
    """Every Graph Store POST into a graph whose name holds `failing` fails, as an engine's 500 would."""
    post = RemoteStore._post_ntriples

    def fail(self, graph, body, bulk):
        if failing in graph:
            raise StoreUnavailable(f"the SPARQL server answered 500 for {graph}")
        return post(self, graph, body, bulk)

    monkeypatch.setattr(RemoteStore, "_post_ntriples", fail)


def test_a_failed_chunk_fails_a_reload_whose_rules_run_in_the_engine(oxigraph_server, tmp_path, monkeypatch):
    """With a graph unchanged, the rules run in the engine: a chunk that failed meanwhile is not taken for the
    engine refusing a rule (which would reason the download way over a graph missing that chunk, and install it)."""
    oxigraph_server.clear()
    settings = make_project(tmp_path / "project")
    store = RemoteStore(oxigraph_server.query_url)
    before = loader.load(store, settings).graphs
    units = tmp_path / "project" / "data" / "org" / "units.ttl"
    units.write_text(units.read_text() + "<http://e/c> <http://e/hasPart> <http://e/d> .\n")  # staged: it is live
    failing_posts(monkeypatch, loader.STAGING_PREFIX)
    said: list[str] = []
    with pytest.raises(StoreUnavailable, match="answered 500"):
        loader.load(store, settings, progress=said.append)
    assert not any("instead" in line for line in said)
    assert store.counts() == before
    store.close()


@pytest.mark.parametrize("failing", ["load-manifest", "org/units"])
def test_a_first_load_fails_whole_when_a_chunk_fails_at_the_end_or_beside_a_syntax_error(
        oxigraph_server, tmp_path, monkeypatch, failing):
    """The manifest is the last graph sent; a failed data chunk with a malformed file after it: the error the user
    reads is the file's, and either way no graph is left."""
    oxigraph_server.clear()
    settings = make_project(tmp_path / "project")
    if failing == "org/units":
        (tmp_path / "project" / "data" / "zz-broken.ttl").write_text("<http://e/x> <http://e/p> .\n")
    store = RemoteStore(oxigraph_server.query_url)
    failing_posts(monkeypatch, failing)
    with pytest.raises(StoreUnavailable if failing == "load-manifest" else RdfSyntaxError):
        loader.load(store, settings)
    assert store.graphs() == []
    store.close()


def test_after_a_failed_first_load_a_write_to_a_graph_it_began_is_an_ordinary_one(oxigraph_server, tmp_path):
    """A graph the load wrote under its own name is dropped with the load; a Graph Store write to that name later
    parses its whole document before anything is sent (no chunk streamed, nothing left of a malformed one)."""
    oxigraph_server.clear()
    settings = make_project(tmp_path / "project")
    (tmp_path / "project" / "data" / "zz-broken.ttl").write_text("<http://e/x> <http://e/p> .\n")
    store = RemoteStore(oxigraph_server.query_url)
    with pytest.raises(RdfSyntaxError):
        loader.load(store, settings)
    units = loader.DATA_GRAPH_PREFIX + "org/units"
    body = "".join(f"<http://e/s{i}> <http://e/p> <http://e/o> .\n" for i in range(120_000)) + "<http://e/x> <http://e/p> .\n"
    with pytest.raises(RdfSyntaxError):
        store.load_graph(units, body.encode(), source="upload")
    assert store.graphs() == []
    store.close()
