"""The change feed: a tool that read everything once and then follows /changes keeps a replica equal to the
store, through every write path; the cursor survives a restart; a cursor too old says so."""

from __future__ import annotations

import gc
import json

import httpx
import pyoxigraph as ox
import pytest

from ekb.config import DATA_GRAPH_PREFIX, PROTECTED_GRAPHS, Settings
from ekb.kb import KnowledgeBase
from ekb.store import EmbeddedStore
from tests.conftest import ROOT, ApiServer
from tests.test_cli import ekb

TOKEN = "changes-token"
WRITER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("changes") / "store"
    kb = KnowledgeBase(Settings(root=ROOT, write_token=TOKEN), EmbeddedStore(folder))
    kb.load()
    server = ApiServer(kb)
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        yield kb, server, client, folder
    server.stop()
    kb.close()


def data_quads(nquads: bytes) -> set[ox.Quad]:
    """The quads of the graphs writes may change (what the feed carries; entailments are derived)."""
    return {q for q in ox.parse(nquads, format=ox.RdfFormat.N_QUADS)
            if isinstance(q.graph_name, ox.NamedNode) and q.graph_name.value not in PROTECTED_GRAPHS}


def follow(client: httpx.Client, cursor: int) -> tuple[list[dict], int]:
    items = []
    while True:
        page = client.get("/changes", params={"after": cursor, "size": 2}).json()
        items += page["items"]
        cursor = page["cursor"]
        if "next" not in page:
            return items, cursor


def test_a_replica_that_follows_the_feed_equals_the_store(served):
    kb, server, client, _ = served
    start = client.get("/changes").json()
    assert start["items"][0]["via"] == "load" and start["items"][0]["complete"] is False
    cursor = start["cursor"]
    replica = data_quads(client.get("/store", headers={"Accept": "application/n-quads"}).content)
    graph = DATA_GRAPH_PREFIX + "feed"
    writes = [
        client.post("/sparql", data={"update": f"INSERT DATA {{ GRAPH <{graph}> {{ <urn:feed:a> <urn:feed:p> 1, 2 }} }}"},
                    headers=WRITER),
        client.post("/store", params={"graph": graph}, content=b"<urn:feed:b> <urn:feed:p> 3 .",
                    headers={**WRITER, "Content-Type": "text/turtle"}),
        client.post("/sparql", data={"update": f"DELETE DATA {{ GRAPH <{graph}> {{ <urn:feed:a> <urn:feed:p> 1 }} }}"},
                    headers=WRITER),
        client.put("/store", params={"graph": graph + "-2"}, content=b"<urn:feed:c> <urn:feed:p> 4 .",
                   headers={**WRITER, "Content-Type": "text/turtle"}),
        client.delete("/store", params={"graph": graph + "-2"}, headers=WRITER),
    ]
    assert all(w.status_code < 300 for w in writes), [w.text for w in writes]
    items, _ = follow(client, cursor)
    assert [i["via"] for i in items] == ["sparql-update", "graph-store", "sparql-update", "graph-store", "graph-store"]
    assert [i["type"] for i in items] == [["Create"], ["Create"], ["Delete"], ["Create"], ["Delete"]]
    assert items[0]["object"] == ["urn:feed:a"] and items[0]["target"] == [graph]
    for item in items:
        assert item["complete"]
        removed = set(ox.parse(item["removed"].encode(), format=ox.RdfFormat.N_QUADS)) if item["removed"] else set()
        for quad in removed:
            if isinstance(quad.graph_name, ox.DefaultGraph):  # from every data graph that held it
                replica = {q for q in replica if q.triple != quad.triple}
            replica.discard(quad)
        if item["added"]:
            replica |= set(ox.parse(item["added"].encode(), format=ox.RdfFormat.N_QUADS))
    assert replica == data_quads(client.get("/store", headers={"Accept": "application/n-quads"}).content)


def test_pages_and_cursor_and_etag(served):
    _, _, client, _ = served
    first = client.get("/changes", params={"after": 0, "size": 1})
    page = first.json()
    assert len(page["items"]) == 1 and page["cursor"] == page["items"][0]["number"] and "next" in page
    again = client.get("/changes", params={"after": 0, "size": 1}, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/changes", params={"after": "x"}).status_code == 400


def test_the_feed_is_json_ld_in_the_published_context(served):
    _, _, client, _ = served
    from pyld import jsonld

    from ekb.linked_data import document_loader

    page = client.get("/changes", params={"after": 0, "size": 3}).json()
    expanded = jsonld.expand(page, {"documentLoader": document_loader}, on_property_dropped=pytest.fail)
    assert expanded


def test_the_cursor_survives_a_restart_and_an_old_one_is_refused(tmp_path):
    folder = tmp_path / "store"
    kb = KnowledgeBase(Settings(root=ROOT, changes_retention=2), EmbeddedStore(folder))
    kb.load()
    for n in range(4):
        kb.update(f"INSERT DATA {{ GRAPH <{DATA_GRAPH_PREFIX}r> {{ <urn:r:{n}> <urn:r:p> {n} }} }}")
    last = kb.changes.last
    kb.close()
    del kb
    gc.collect()  # the engine lets go of the store's lock when its handle is gone
    reopened = KnowledgeBase(Settings(root=ROOT, changes_retention=2), EmbeddedStore(folder))
    assert reopened.changes.last == last == 5
    changes, more = reopened.changes_after(last - 1, 10)
    assert [c.number for c in changes] == [last] and not more
    from ekb.errors import CursorExpired

    with pytest.raises(CursorExpired, match="read everything again"):
        reopened.changes_after(0, 10)
    reopened.close()


def test_the_cli_follows_a_server(served):
    _, server, client, _ = served
    result = ekb("changes", "--url", server.url, "--after", "0")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["number"] for line in lines] == list(range(1, len(lines) + 1))
    assert lines[0]["via"] == "load"
