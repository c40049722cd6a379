"""Reloads that skip what did not change: a graph whose files and stored content are as the last load left them is
not parsed again, and entailments are recomputed only when a premise changed. What a reload promises stays the
same: every file-loaded graph as its files say (also after a write through the API changed it), entailments of
the whole store, the same store a fresh load gives."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from ekb import loader
from ekb.config import DATA_GRAPH_PREFIX, INFERRED_GRAPH, ONTOLOGY_GRAPH, SHAPES_GRAPH, Settings
from ekb.gate import Delta
from ekb.kb import KnowledgeBase
from ekb.loader import load
from ekb.remote import RemoteStore
from ekb.store import EmbeddedStore
from tests.test_loader import make_project

UNITS = DATA_GRAPH_PREFIX + "org/units"
MORE = DATA_GRAPH_PREFIX + "more"


@pytest.fixture(params=["memory", "disk"])
def project(request, tmp_path):
    settings = make_project(tmp_path / "project")
    (tmp_path / "project" / "data" / "more.ttl").write_text("@prefix : <http://e/> . :x :hasPart :y .\n")
    store = EmbeddedStore(tmp_path / "store" if request.param == "disk" else None)
    yield settings, store
    store.close()


def quads(store: EmbeddedStore) -> set[ox.Quad]:
    return set(store.engine)


def fresh_load(settings: Settings) -> set[ox.Quad]:
    store = EmbeddedStore()
    load(store, settings)
    return quads(store)


def same_without_blank_labels(a: set[ox.Quad], b: set[ox.Quad]) -> bool:
    return {q for q in a if not isinstance(q.subject, ox.BlankNode)} == {q for q in b if not isinstance(q.subject, ox.BlankNode)}


@pytest.fixture
def parsed(monkeypatch) -> list[str]:
    """The files each load parses."""
    seen: list[str] = []
    read = loader.read_source

    def spy(path, label):
        seen.append(label)
        return read(path, label)
    monkeypatch.setattr(loader, "read_source", spy)
    return seen


def test_a_reload_with_nothing_changed_parses_compares_and_reasons_over_nothing(project, parsed, monkeypatch):
    settings, store = project
    load(store, settings)
    before = quads(store)
    parsed.clear()

    def refuse(*_, **__):
        raise AssertionError("reasoned or compared although nothing changed")
    monkeypatch.setattr(loader, "materialise", refuse)
    monkeypatch.setattr(EmbeddedStore, "install", refuse)
    messages: list[str] = []
    report = load(store, settings, progress=messages.append)
    assert parsed == []
    assert report.skipped == sorted([ONTOLOGY_GRAPH, SHAPES_GRAPH, UNITS, MORE]) and not report.reasoned
    assert quads(store) == before
    assert f"unchanged since the last load: {UNITS}" in messages


def test_one_changed_file_reloads_only_its_graph_and_gives_what_a_fresh_load_gives(project, parsed, tmp_path):
    settings, store = project
    load(store, settings)
    (tmp_path / "project" / "data" / "more.ttl").write_text("@prefix : <http://e/> . :x :hasPart :z .\n")
    parsed.clear()
    report = load(store, settings)
    assert parsed == ["data/more.ttl"] and report.reasoned
    assert MORE not in report.skipped and UNITS in report.skipped
    assert store.ask(f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <http://e/z> <http://e/partOf> <http://e/x> }} }}")
    assert not store.ask("ASK { GRAPH ?g { <http://e/y> ?p ?o } }")
    assert same_without_blank_labels(quads(store), fresh_load(settings))
    assert load(store, settings).skipped == sorted([ONTOLOGY_GRAPH, SHAPES_GRAPH, UNITS, MORE])  # recorded anew


def test_a_changed_shapes_file_is_reloaded_without_reasoning(project, parsed, tmp_path, monkeypatch):
    settings, store = project
    load(store, settings)
    (tmp_path / "project" / "shapes" / "s.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . <http://e/T> a sh:NodeShape .\n")
    parsed.clear()
    report = load(store, settings)
    assert parsed == ["shapes/s.ttl"] and not report.reasoned
    assert same_without_blank_labels(quads(store), fresh_load(settings))


@pytest.mark.parametrize("count_kept", [False, True])
def test_a_graph_written_through_the_api_since_is_reloaded_from_its_file(tmp_path, parsed, count_kept):
    """The promise: after a reload a file-loaded graph is what its file says, even when a write changed it since
    the last load (also one that leaves its triple count as it was); the write is undone there and the
    entailments follow."""
    settings = make_project(tmp_path / "project")
    settings.store_dir = tmp_path / "store"
    kb = KnowledgeBase.open(settings)
    kb.load()
    written = ox.Triple(ox.NamedNode("http://e/a"), ox.NamedNode("http://e/hasPart"), ox.NamedNode("http://e/w"))
    replaced = ox.Triple(ox.NamedNode("http://e/a"), ox.NamedNode("http://e/hasPart"), ox.NamedNode("http://e/b"))
    kb.apply(Delta(UNITS, added=(written,), removed=(replaced,) if count_kept else ()))
    assert kb.store.ask(f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <http://e/w> <http://e/partOf> <http://e/a> }} }}")
    parsed.clear()
    report = kb.load()
    assert parsed == ["data/org/units.ttl"] and UNITS not in report.skipped and report.reasoned
    assert not kb.store.ask("ASK { GRAPH ?g { <http://e/w> ?p ?o } }")
    assert same_without_blank_labels(quads(kb.store), fresh_load(settings))
    assert not kb.load().reasoned  # and the next reload skips again
    kb.close()


def test_a_graph_written_through_the_api_alone_is_kept_and_its_change_reasoned_over(project):
    settings, store = project
    api_graph = DATA_GRAPH_PREFIX + "imported/crm"
    store.update(f"INSERT DATA {{ GRAPH <{api_graph}> {{ <http://e/c> <http://e/hasPart> <http://e/d> }} }}")
    load(store, settings)
    assert not load(store, settings).reasoned  # as the last load saw it
    store.update(f"INSERT DATA {{ GRAPH <{api_graph}> {{ <http://e/c> <http://e/hasPart> <http://e/e> }} }}")
    report = load(store, settings)
    assert report.reasoned and report.kept == [api_graph]
    assert store.ask(f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <http://e/e> <http://e/partOf> <http://e/c> }} }}")


def test_another_reasoner_recomputes_the_entailments(project):
    settings, store = project
    load(store, settings)
    settings.reasoner = "owlrl"
    report = load(store, settings)
    assert report.reasoned and UNITS in report.skipped


def test_a_load_after_an_interrupted_one_trusts_nothing_the_manifest_says(tmp_path):
    """A load killed after it installed the new manifest but before the entailments must not be taken for a
    complete one: the next load redoes everything (found by the crash test, which kills loads at random)."""
    from ekb.kb import LOADING
    from tests.conftest import ROOT

    kb = KnowledgeBase(Settings(root=ROOT), EmbeddedStore(tmp_path / "store"))
    kb.load()
    complete = kb.store.counts()
    kb.store.update(f"DROP GRAPH <{INFERRED_GRAPH}>")  # the state a kill between the two installs leaves
    (tmp_path / "store" / LOADING).write_text("interrupted")
    assert kb.interrupted_load()
    report = kb.load()
    assert report.reasoned and not report.skipped and kb.store.counts() == complete
    kb.close()


# ------------------------------------------------------------------ after writes: only what the writes noted is checked
A, HAS_PART = ox.NamedNode("http://e/a"), ox.NamedNode("http://e/hasPart")
IN_FILE = ox.Triple(A, HAS_PART, ox.NamedNode("http://e/b"))  # data/org/units.ttl holds it
NEW = ox.Triple(A, HAS_PART, ox.NamedNode("http://e/w"))


@pytest.fixture
def kb_on_disk(tmp_path):
    settings = make_project(tmp_path / "project")
    (tmp_path / "project" / "data" / "more.ttl").write_text("@prefix : <http://e/> . :x :hasPart :y .\n")
    settings.store_dir = tmp_path / "store"
    kb = KnowledgeBase.open(settings)
    kb.load()
    yield kb
    kb.close()


@pytest.fixture
def digested(monkeypatch) -> list[str]:
    """The live graphs whose whole content each load reads for its digest (a staged graph's is not listed)."""
    seen: list[str] = []
    digest = loader.content_digest

    def spy(store, graph):
        if not graph.startswith(loader.STAGING_PREFIX):
            seen.append(graph)
        return digest(store, graph)
    monkeypatch.setattr(loader, "content_digest", spy)
    return seen


def test_a_write_to_one_graph_reloads_that_graph_alone_and_reads_no_other_graph_whole(kb_on_disk, parsed, digested):
    kb = kb_on_disk
    kb.apply(Delta(MORE, added=(NEW,)))  # a triple that units.ttl's subject gets in another file's graph
    kb.apply(Delta(UNITS, removed=(IN_FILE,)))  # removed from whichever graph holds it: units
    report = kb.load()
    assert parsed == ["data/more.ttl", "data/org/units.ttl"] and digested == [] and report.reasoned
    assert sorted(report.skipped) == sorted([ONTOLOGY_GRAPH, SHAPES_GRAPH])
    assert same_without_blank_labels(quads(kb.store), fresh_load(kb.settings))
    parsed.clear()
    kb.apply(Delta(UNITS, added=(NEW,)))
    report = kb.load()
    assert parsed == ["data/org/units.ttl"] and digested == [] and MORE in report.skipped
    assert same_without_blank_labels(quads(kb.store), fresh_load(kb.settings))


def test_a_write_undone_by_another_is_found_unchanged_and_nothing_is_reloaded_or_reasoned(kb_on_disk, parsed,
                                                                                       digested):
    """Found unchanged (not reloaded): each noted triple is held again as it was at the last load. The
    entailments the writes changed and changed back are the store's own (kept up to date by every write)."""
    kb = kb_on_disk
    before = quads(kb.store)
    kb.apply(Delta(UNITS, removed=(IN_FILE,)))
    assert not kb.store.ask(f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <http://e/b> <http://e/partOf> <http://e/a> }} }}")
    kb.apply(Delta(UNITS, added=(IN_FILE, NEW)))
    kb.apply(Delta(UNITS, removed=(NEW,)))
    kb.apply(Delta(UNITS, added=(IN_FILE,)))  # already held: no change
    assert quads(kb.store) - {q for q in quads(kb.store) if q.graph_name.value == loader.LOAD_MANIFEST_GRAPH} == \
        before - {q for q in before if q.graph_name.value == loader.LOAD_MANIFEST_GRAPH}
    report = kb.load()
    assert parsed == [] and digested == [] and not report.reasoned
    assert report.skipped == sorted([ONTOLOGY_GRAPH, SHAPES_GRAPH, UNITS, MORE])
    assert quads(kb.store) == before  # the manifest too: what the writes noted is forgotten
    assert same_without_blank_labels(quads(kb.store), fresh_load(kb.settings))


def test_writes_not_known_triple_by_triple_have_their_graphs_compared_in_full(kb_on_disk, parsed, digested):
    kb = kb_on_disk
    blank = ox.Triple(A, HAS_PART, ox.BlankNode())
    kb.apply(Delta(UNITS, added=(blank,), removed=(IN_FILE,)))  # as many triples; a blank node cannot be looked
    # up, so the graph is compared in full
    report = kb.load()
    assert digested == [UNITS] and parsed == ["data/org/units.ttl"] and report.reasoned
    assert same_without_blank_labels(quads(kb.store), fresh_load(kb.settings))
    digested.clear()
    parsed.clear()
    many = tuple(ox.Triple(A, HAS_PART, ox.NamedNode(f"http://e/n{i}")) for i in range(loader.JOURNAL_MAX + 1))
    kb.apply(Delta(MORE, added=many))
    kb.apply(Delta(MORE, removed=many))  # undone: found unchanged by its digest
    report = kb.load()
    assert digested == [MORE] and parsed == [] and not report.reasoned
    digested.clear()
    kb.replace_graph(DATA_GRAPH_PREFIX + "imported", [NEW])  # not known by graph: every graph is compared
    report = kb.load()
    assert sorted(digested) == sorted([ONTOLOGY_GRAPH, SHAPES_GRAPH, UNITS, MORE, DATA_GRAPH_PREFIX + "imported"])
    assert parsed == [] and report.kept == [DATA_GRAPH_PREFIX + "imported"]


def test_a_graph_written_only_through_the_api_is_still_seen_changed_after_a_noted_write(kb_on_disk, parsed):
    kb = kb_on_disk
    api_graph = DATA_GRAPH_PREFIX + "imported/crm"
    kb.apply(Delta(api_graph, added=(ox.Triple(ox.NamedNode("http://e/c"), HAS_PART, ox.NamedNode("http://e/d")),)))
    kb.load()
    kb.apply(Delta(api_graph, added=(ox.Triple(ox.NamedNode("http://e/c"), HAS_PART, ox.NamedNode("http://e/e")),)))
    report = kb.load()
    assert parsed == [] and report.kept == [api_graph] and report.reasoned
    assert not kb.load().reasoned


def test_noted_writes_on_a_remote_store(oxigraph_server, tmp_path):
    """The notes are plain SPARQL 1.1 on a SPARQL server too: a write undone is found unchanged, one that
    stays has its graph reloaded."""
    oxigraph_server.clear()
    store = RemoteStore(oxigraph_server.query_url)
    settings = make_project(tmp_path / "project")
    try:
        load(store, settings)
        units = ox.NamedNode(UNITS)
        loader.note_write(store, [ox.Quad(NEW.subject, NEW.predicate, NEW.object, units)], [IN_FILE])
        store.change_quads([ox.Quad(IN_FILE.subject, IN_FILE.predicate, IN_FILE.object, units)],
                           [ox.Quad(NEW.subject, NEW.predicate, NEW.object, units)])
        loader.note_write(store, [ox.Quad(NEW.subject, NEW.predicate, NEW.object, units)], [NEW])
        store.change_quads([ox.Quad(NEW.subject, NEW.predicate, NEW.object, units)], [])
        report = load(store, settings)
        assert UNITS not in report.skipped  # IN_FILE is still missing
        assert store.ask(f"ASK {{ GRAPH <{UNITS}> {{ {IN_FILE} }} }}")
        loader.note_write(store, [ox.Quad(NEW.subject, NEW.predicate, NEW.object, units)])
        store.change_quads([], [ox.Quad(NEW.subject, NEW.predicate, NEW.object, units)])
        loader.note_write(store, [ox.Quad(NEW.subject, NEW.predicate, NEW.object, units)])
        store.change_quads([ox.Quad(NEW.subject, NEW.predicate, NEW.object, units)], [])
        report = load(store, settings)
        assert UNITS in report.skipped and not report.reasoned
    finally:
        store.close()
