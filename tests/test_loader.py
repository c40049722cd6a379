"""The load pipeline: graph layout, idempotence, reasoning into its own graph, atomic failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from ekb.config import DATA_GRAPH_PREFIX, INFERRED_GRAPH, LOAD_MANIFEST_GRAPH, ONTOLOGY_GRAPH, SHAPES_GRAPH, Settings
from ekb.errors import InputError, RdfSyntaxError
from ekb.loader import load
from ekb.remote import RemoteStore
from ekb.store import EmbeddedStore

ONTOLOGY = """@prefix : <http://e/> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
:hasPart owl:inverseOf :partOf . :Capability rdfs:subClassOf :Thing2 .
"""
SHAPES = "@prefix sh: <http://www.w3.org/ns/shacl#> . <http://e/S> a sh:NodeShape .\n"
DATA = "@prefix : <http://e/> . :a :hasPart :b . :a a :Capability .\n"


@pytest.fixture(params=["memory", "disk", "remote"])
def store(request, oxigraph_server, tmp_path_factory):
    """An empty store of each kind: on disk a load stages in a separate store and installs differences."""
    if request.param == "remote":
        oxigraph_server.clear()
        backend = RemoteStore(oxigraph_server.query_url)
    else:
        backend = EmbeddedStore(tmp_path_factory.mktemp("stores") / "kb" if request.param == "disk" else None)
    yield backend
    backend.close()


def make_project(root: Path) -> Settings:
    for folder, name, text in (("ontology", "core.ttl", ONTOLOGY), ("shapes", "s.ttl", SHAPES),
                               ("data", "org/units.ttl", DATA)):
        path = root / folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return Settings(root=root)


def test_graph_layout_and_entailments(store, tmp_path):
    report = load(store, make_project(tmp_path))
    data_graph = DATA_GRAPH_PREFIX + "org/units"
    # the manifest: the data graph loaded from a file; files digest, count and content digest of each of the three
    # graphs; the reasoner of the entailments (ekb.loader.Record)
    assert report.graphs == {data_graph: 2, INFERRED_GRAPH: 2, ONTOLOGY_GRAPH: 2, SHAPES_GRAPH: 1, LOAD_MANIFEST_GRAPH: 11}
    assert store.ask(f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <http://e/b> <http://e/partOf> <http://e/a> }} }}")
    assert store.ask(f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <http://e/a> a <http://e/Thing2> }} }}")


def test_second_load_is_idempotent(store, tmp_path):
    settings = make_project(tmp_path)
    first = load(store, settings).graphs
    assert load(store, settings).graphs == first


def test_removed_data_file_drops_its_graph(store, tmp_path):
    settings = make_project(tmp_path)
    load(store, settings)
    (tmp_path / "data" / "org" / "units.ttl").unlink()
    report = load(store, settings)
    assert report.dropped == [DATA_GRAPH_PREFIX + "org/units"]
    assert DATA_GRAPH_PREFIX + "org/units" not in store.graphs()


def test_a_reload_keeps_graphs_written_through_the_api_unless_asked(store, tmp_path):
    settings = make_project(tmp_path)
    load(store, settings)
    api_graph = DATA_GRAPH_PREFIX + "imported/crm"
    store.update(f"INSERT DATA {{ GRAPH <{api_graph}> {{ <http://e/c> <http://e/hasPart> <http://e/d> }} }}")
    report = load(store, settings)
    assert report.kept == [api_graph] and report.dropped == []
    assert store.count(api_graph) == 1
    # what stays is reasoned over with the rest
    assert store.ask(f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <http://e/d> <http://e/partOf> <http://e/c> }} }}")
    report = load(store, settings, drop_unmanaged=True)
    assert report.dropped == [api_graph] and api_graph not in store.graphs()


def test_malformed_file_names_file_and_line_and_changes_nothing(store, tmp_path):
    settings = make_project(tmp_path)
    before = load(store, settings).graphs
    (tmp_path / "data" / "broken.ttl").write_text("@prefix : <http://e/> .\n:x :p :y .\n:x :p .\n")
    with pytest.raises(RdfSyntaxError) as caught:
        load(store, settings)
    assert caught.value.source == "data/broken.ttl" and caught.value.line == 3
    assert str(caught.value).startswith("data/broken.ttl, line 3")
    assert store.counts() == before


def test_other_rdf_syntaxes_are_read(store, tmp_path):
    settings = make_project(tmp_path)
    (tmp_path / "data" / "extra.rdf").write_text(
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="http://e/">'
        '<rdf:Description rdf:about="http://e/z"><e:label>z</e:label></rdf:Description></rdf:RDF>')
    (tmp_path / "data" / "more.jsonld").write_text('{"@id": "http://e/y", "http://e/label": "y"}')
    report = load(store, settings)
    assert report.graphs[DATA_GRAPH_PREFIX + "extra"] == 1
    assert report.graphs[DATA_GRAPH_PREFIX + "more"] == 1


def test_missing_folder_is_reported(store, tmp_path):
    with pytest.raises(InputError, match="missing folder"):
        load(store, Settings(root=tmp_path))


def test_a_reload_on_disk_gives_what_a_fresh_load_gives_and_leaves_no_staging(tmp_path):
    settings = make_project(tmp_path / "project")
    store = EmbeddedStore(tmp_path / "stores" / "kb")
    load(store, settings)
    (tmp_path / "project" / "data" / "org" / "units.ttl").write_text(
        "@prefix : <http://e/> . :a :hasPart :c . :a a :Capability . :c :label \"c\" .\n")
    (tmp_path / "project" / "shapes" / "s.ttl").write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> . <http://e/S> a sh:NodeShape ; sh:property [ sh:path <http://e/p> ] .\n")
    load(store, settings)
    fresh = EmbeddedStore()
    load(fresh, settings)
    for graph in fresh.graphs():
        assert store.graph_ntriples(graph).count(b"\n") == fresh.graph_ntriples(graph).count(b"\n"), graph
    assert not store.ask("ASK { GRAPH ?g { <http://e/a> <http://e/hasPart> <http://e/b> } }")
    assert store.ask("ASK { GRAPH ?g { <http://e/c> <http://e/partOf> <http://e/a> } }")
    (tmp_path / "project" / "data" / "broken.ttl").write_text(":x :p .\n")
    with pytest.raises(RdfSyntaxError):
        load(store, settings)
    assert sorted(p.name for p in (tmp_path / "stores").iterdir()) == ["kb"]


def test_a_removal_on_disk_recomputes_the_entailments_beside_the_store(tmp_path):
    from ekb.kb import KnowledgeBase

    settings = make_project(tmp_path / "project")
    settings.store_dir = tmp_path / "stores" / "kb"
    kb = KnowledgeBase.open(settings)
    kb.load()
    inferred = f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <http://e/b> <http://e/partOf> <http://e/a> }} }}"
    assert kb.store.ask(inferred)
    kb.update(f"DELETE DATA {{ GRAPH <{DATA_GRAPH_PREFIX}org/units> {{ <http://e/a> <http://e/hasPart> <http://e/b> }} }}")
    assert not kb.store.ask(inferred)
    assert kb.store.ask(f"ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <http://e/a> a <http://e/Thing2> }} }}")
    assert sorted(p.name for p in (tmp_path / "stores").iterdir()) == ["kb"]
