"""The Graph Store POSTs of a load, sent by a thread of their own (ekb.upload_queue): in order, bounded, every
other request waits for them, and a failure reaches the thread that queued it, once; on a real engine a load whose
upload fails leaves the store as it was."""

from __future__ import annotations

import threading
import time

import pytest

from ekb import loader, upload_queue
from ekb.errors import StoreUnavailable
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


def test_a_failure_reaches_the_thread_that_queued_it_once():
    queue = UploadQueue()

    def fail() -> None:
        raise StoreUnavailable("the server answered 500")

    queue.submit(fail, 1)
    queue.submit(lambda: None, 1)
    other: list[BaseException | None] = []

    def elsewhere() -> None:  # another thread's request waits for the queue, and is not told of its failure
        try:
            queue.settle()
            other.append(None)
        except BaseException as err:  # noqa: BLE001
            other.append(err)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert other == [None]
    with pytest.raises(StoreUnavailable, match="answered 500"):
        queue.settle()
    queue.settle()  # told once
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
