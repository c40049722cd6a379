"""OWL 2 RL computed inside the remote engine (ekb.rules_in_engine): exactly the embedded path's entailments
(`reasonable` filtered by `useful_ntriples`), on `oxigraph serve` and Virtuoso, without downloading the premises;
and a premise the rules do not implement sends the load back to the download path instead of a smaller closure."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib

from bench.generate import write
from ekb import loader, rules_in_engine, rules_in_process
from ekb.config import BASE_IRI, DATA_GRAPH_PREFIX, INFERRED_GRAPH, LOAD_MANIFEST_GRAPH, ONTOLOGY_GRAPH, Settings
from ekb.errors import StoreUnavailable
from ekb.kb import KnowledgeBase
from ekb.reasoning import ReasonableReasoner, useful_ntriples
from ekb.remote import RemoteStore
from ekb.store import EmbeddedStore, Store
from tests.conftest import ROOT
from tests.test_loader import make_project

CAPABILITY = BASE_IRI + "id/capability/"
CORE = BASE_IRI + "def/core/"
# An L2 capability's link to its L1: a removal changes transitive links, inverses and types
PARENT_LINK = (f"<{CAPABILITY}1-1-strategic-planning> <{CORE}hasParentCapability> "
               f"<{CAPABILITY}1-strategy-and-enterprise-planning>")
PREMISE_NTRIPLES = loader.premise_ntriples  # the download path's reading, before `no_download` replaces it
WITHIN = (f"<{CAPABILITY}1-1-strategic-planning> <{CORE}isWithinCapability> "
          f"<{CAPABILITY}1-strategy-and-enterprise-planning>")


@pytest.fixture(params=["oxigraph", "virtuoso"])
def remote(request):
    server = request.getfixturevalue(f"{request.param}_server")
    server.clear()
    store = RemoteStore(server.query_url)
    yield store
    store.close()


@pytest.fixture
def no_download(monkeypatch):
    """The premises of a remote store never come into this process."""
    def refuse(store: Store, graph: str) -> bytes:
        if isinstance(store, RemoteStore):
            raise AssertionError(f"the premises were downloaded ({graph})")
        return PREMISE_NTRIPLES(store, graph)
    monkeypatch.setattr(loader, "premise_ntriples", refuse)


def inferred(store: Store, graph: str = INFERRED_GRAPH) -> set[ox.Triple]:
    return {q.triple for q in store.quads(graph)}


def in_graph(store: Store, graph: str, triple: str) -> bool:
    return store.ask(f"ASK {{ GRAPH <{graph}> {{ {triple} }} }}")


def test_the_shipped_model_and_a_full_rematerialisation_after_a_removal_equal_the_embedded_path(remote, no_download):
    settings = Settings(root=ROOT)
    embedded = KnowledgeBase(settings, EmbeddedStore())
    embedded.load()
    kb = KnowledgeBase(settings, remote)
    report = kb.load()  # every premise sent from this process: the same rules run here (ekb.rules_in_process)
    assert report.reasoner == rules_in_process.NAME  # recorded in the manifest, so a reload keeps the entailments
    assert in_graph(remote, LOAD_MANIFEST_GRAPH, f'<{INFERRED_GRAPH}> ?creator "{rules_in_process.NAME}"')
    assert in_graph(remote, INFERRED_GRAPH, WITHIN)
    assert inferred(remote) == inferred(embedded.store)

    for each in (embedded, kb):  # a removal, then the whole inferred graph made again in the engine (infer_into)
        each.store.update(f"DELETE DATA {{ GRAPH <{DATA_GRAPH_PREFIX}capabilities> {{ {PARENT_LINK} }} }}")
        each.refresh_inferences()
    assert not in_graph(remote, INFERRED_GRAPH, WITHIN)
    assert inferred(remote) == inferred(embedded.store)
    assert not [g for g in remote.graphs() if g.startswith(loader.STAGING_PREFIX)]  # no round graph left


def test_generated_data_gets_the_embedded_entailments(remote, no_download, tmp_path):
    """A few thousand generated triples (bench/generate.py) over the ontology, reasoned over in the engine and
    by the download path into an embedded store."""
    generated = tmp_path / "generated.nt"
    write(3000, generated)
    files = [(ONTOLOGY_GRAPH, path, ox.RdfFormat.TURTLE) for path in sorted((ROOT / "ontology").glob("*.ttl"))]
    files.append((DATA_GRAPH_PREFIX + "generated", generated, ox.RdfFormat.N_TRIPLES))
    embedded = EmbeddedStore()
    for store in (embedded, remote):
        for graph, path, fmt in files:
            store.load_graph(graph, path, fmt)
    target = loader.staging_name("test", INFERRED_GRAPH)
    outcome = rules_in_engine.materialise(remote, [ONTOLOGY_GRAPH, DATA_GRAPH_PREFIX + "generated"], target)
    lines = "".join(loader.materialise(embedded_premises(embedded), ReasonableReasoner()))
    expected = {q.triple for q in ox.parse(lines.encode(), format=ox.RdfFormat.N_TRIPLES)}
    assert outcome.rounds >= 2 and outcome.inferred == len(expected) > 1000
    assert inferred(remote, target) == expected


def embedded_premises(store: EmbeddedStore) -> bytes:
    return b"".join(PREMISE_NTRIPLES(store, g) for g in (ONTOLOGY_GRAPH, DATA_GRAPH_PREFIX + "generated"))


EDGES = f"""@prefix : <http://e/> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix def: <{BASE_IRI}def/> .
:within a owl:TransitiveProperty ; owl:inverseOf :contains ; rdfs:range :Unit .
:a :within _:b . _:b :within :c . _:b :within _:d . _:d :within :e .
:x :contains [ :within :y ] .
:amount rdfs:domain :Priced . :a :amount "3" .
:old owl:equivalentProperty :new ; rdfs:domain :Described . def:Term :old "v" . :a :old "w" .
"""


def test_blank_nodes_carry_chains_literals_of_individuals_are_no_premises(remote, no_download):
    """Transitive chains through blank nodes give links between named things, but nothing about a blank node is
    kept; a literal value of an individual is no premise (as `loader.premise_ntriples` reads), one of the
    vocabulary is."""
    graph = DATA_GRAPH_PREFIX + "edges"
    remote.load_graph(graph, EDGES.encode(), ox.RdfFormat.TURTLE)
    target = loader.staging_name("test", INFERRED_GRAPH)
    rules_in_engine.materialise(remote, [graph], target)
    embedded = EmbeddedStore()
    embedded.load_graph(graph, EDGES.encode(), ox.RdfFormat.TURTLE)
    lines = "".join(loader.materialise(PREMISE_NTRIPLES(embedded, graph), ReasonableReasoner()))
    expected = {q.triple for q in ox.parse(lines.encode(), format=ox.RdfFormat.N_TRIPLES)}
    got = inferred(remote, target)
    assert got == expected
    a, e = ox.NamedNode("http://e/a"), ox.NamedNode("http://e/e")
    assert ox.Triple(a, ox.NamedNode("http://e/within"), e) in got  # through two blank nodes
    assert ox.Triple(ox.NamedNode(BASE_IRI + "def/Term"), ox.NamedNode("http://e/new"), ox.Literal("v")) in got
    assert not any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in got)
    typed = {t.object.value for t in got if t.subject == a and t.predicate.value == rules_in_engine.TYPE}
    assert typed == set() and not [t for t in got if t.object == ox.Literal("w")]  # `a` has only literal values


UNCOVERED = "@prefix : <http://e/> . @prefix owl: <http://www.w3.org/2002/07/owl#> .\n:hasId a owl:FunctionalProperty .\n"


def test_an_axiom_the_rules_do_not_implement_sends_the_load_to_the_download_path(oxigraph_server, tmp_path):
    """owl:FunctionalProperty makes owl:sameAs links, which the rules do not implement: the load says so, reasons
    the download way, and gets the embedded entailments, the sameAs links among them."""
    oxigraph_server.clear()
    settings = make_project(tmp_path / "project")
    (tmp_path / "project" / "ontology" / "extra.ttl").write_text(UNCOVERED)
    (tmp_path / "project" / "data" / "ids.ttl").write_text("<http://e/a> <http://e/hasId> <http://e/x> , <http://e/y> .\n")
    embedded = EmbeddedStore()
    loader.load(embedded, settings)
    store = RemoteStore(oxigraph_server.query_url)
    messages: list[str] = []
    report = loader.load(store, settings, progress=messages.append)
    assert report.reasoner == "reasonable"
    assert any("owl#FunctionalProperty" in m and "in this process instead" in m for m in messages)
    assert in_graph(store, INFERRED_GRAPH, "<http://e/x> <http://www.w3.org/2002/07/owl#sameAs> <http://e/y>")
    assert inferred(store) == inferred(embedded)
    store.close()


def test_a_rule_the_engine_refuses_sends_the_load_to_the_download_path(oxigraph_server, tmp_path, monkeypatch):
    """An engine may refuse a rule half-way (Virtuoso on its cost estimate): what the rules wrote is dropped and the
    premises are reasoned over in this process, with the same result."""
    oxigraph_server.clear()
    settings = make_project(tmp_path / "project")
    embedded = EmbeddedStore()
    loader.load(embedded, settings)
    store = RemoteStore(oxigraph_server.query_url)

    monkeypatch.setattr(RemoteStore, "lines_sent", lambda *_: None)  # as in a reload: premises in the engine

    def refused(where, premises, target):
        where.update(f"INSERT DATA {{ GRAPH <{target}/round-1> {{ <http://e/x> <http://e/y> <http://e/z> }} }}")
        raise StoreUnavailable("the SPARQL server answered 500: estimated execution time exceeds the limit")
    monkeypatch.setattr(rules_in_engine, "materialise", refused)
    messages: list[str] = []
    report = loader.load(store, settings, progress=messages.append)
    assert report.reasoner == "reasonable" and any("refused an in-engine rule" in m for m in messages)
    assert inferred(store) == inferred(embedded)
    assert not [g for g in store.graphs() if g.startswith(loader.STAGING_PREFIX)]
    store.close()


@pytest.mark.parametrize("axiom", [
    ":hasId a owl:FunctionalProperty .",  # a kind of property the rules do not implement
    ":C rdfs:subClassOf [ a owl:Restriction ; owl:onProperty :p ; owl:hasValue :v ] .",  # a blank node in an axiom
    "owl:Thing rdfs:subClassOf :C .",  # an axiom about OWL's own terms
    ":p rdfs:subPropertyOf rdf:type .",  # a fact made into a type
    ":C owl:equivalentClass owl:Thing .",
    ":p rdfs:domain owl:TransitiveProperty .",  # a type that would feed a rule
])
def test_the_rules_refuse_what_they_do_not_implement_before_writing(oxigraph_server, axiom):
    oxigraph_server.clear()
    store = RemoteStore(oxigraph_server.query_url)
    graph = DATA_GRAPH_PREFIX + "axioms"
    store.load_graph(graph, ("@prefix : <http://e/> . @prefix owl: <http://www.w3.org/2002/07/owl#> . "
                             "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . "
                             "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . "
                             f":a :p :b . :a a :C . {axiom}").encode(), ox.RdfFormat.TURTLE)
    with pytest.raises(rules_in_engine.NotCovered):
        rules_in_engine.materialise(store, [graph], loader.staging_name("test", INFERRED_GRAPH))
    assert store.graphs() == [graph]
    store.close()


# The vocabulary the rules let pass without a rule (rules_in_engine.NO_RULE_*): `reasonable` must derive nothing
# useful from it, or the in-engine closure would be smaller.
def reasonable_useful(turtle: str) -> set[str]:
    premises = rdflib.Graph().parse(data=turtle, format="turtle").serialize(format="nt").encode()
    asserted = set(premises.decode().splitlines(keepends=True))
    return {line for line in useful_ntriples(ReasonableReasoner().closure(premises)) if line not in asserted}


@pytest.mark.parametrize("term", sorted(rules_in_engine.NO_RULE_PREDICATES | rules_in_engine.NO_RULE_TYPES))
def test_reasonable_derives_nothing_from_the_vocabulary_without_rules(term):
    common = "<http://e/a> a <http://e/C> . <http://e/a> <http://e/p> <http://e/b> . "
    if term in rules_in_engine.NO_RULE_TYPES:
        uses = f"<http://e/a> a <{term}> . <http://e/p> a <{term}> . <http://e/C> a <{term}> ."
    else:
        uses = (f"<http://e/C> <{term}> <http://e/D> . <http://e/p> <{term}> <http://e/q> . "
                f"<http://e/a> <{term}> <http://e/b> . <http://e/C> <{term}> \"x\" .")
    assert reasonable_useful(common + uses) == set()


def test_a_reload_keeps_entailments_the_engine_made(oxigraph_server, tmp_path, monkeypatch):
    """The rules in process, in the engine and reasonable give the same entailments: a reload with nothing changed
    reasons over nothing, whichever made them."""
    oxigraph_server.clear()
    settings = make_project(tmp_path / "project")
    store = RemoteStore(oxigraph_server.query_url)
    assert loader.load(store, settings).reasoner == rules_in_process.NAME
    monkeypatch.setattr(rules_in_engine, "materialise", lambda *_: pytest.fail("reasoned again"))
    monkeypatch.setattr(rules_in_process, "entailments", lambda *_: pytest.fail("reasoned again"))
    assert not loader.load(store, settings).reasoned
    (tmp_path / "project" / "data" / "more.ttl").write_text("<http://e/c> <http://e/hasPart> <http://e/d> .\n")
    monkeypatch.undo()  # a new data file beside one the engine holds: the rules run in the engine
    report = loader.load(store, settings)
    assert report.reasoned and report.reasoner == rules_in_engine.NAME
    assert in_graph(store, INFERRED_GRAPH, "<http://e/d> <http://e/partOf> <http://e/c>")
    store.close()


def test_the_embedded_store_keeps_reasonable(tmp_path):
    report = KnowledgeBase(Settings(root=ROOT), EmbeddedStore()).load()
    assert report.reasoner == "reasonable"
    assert not rules_in_engine.runs_in(EmbeddedStore(), "reasonable")


def test_compile_schema_chains_the_hierarchies():
    p, t, s = (f"http://e/{n}" for n in ("p", "t", "s"))
    schema = rules_in_engine.compile_schema([
        (p, rules_in_engine.SUB_PROPERTY, t), (t, rules_in_engine.INVERSE, "http://e/ti"),
        (t, rules_in_engine.TYPE, rules_in_engine.TRANSITIVE), (s, rules_in_engine.TYPE, rules_in_engine.SYMMETRIC),
        ("http://e/A", rules_in_engine.SUB_CLASS, "http://e/B"), ("http://e/B", rules_in_engine.EQUIVALENT_CLASS, "http://e/C"),
        (p, rules_in_engine.DOMAIN, "http://e/A")])
    assert (p, "http://e/ti", True) in schema.properties and (s, s, True) in schema.properties
    assert schema.transitive == [t]
    assert set(schema.superclasses) == {("http://e/A", "http://e/B"), ("http://e/A", "http://e/C"),
                                        ("http://e/B", "http://e/C"), ("http://e/C", "http://e/B")}
    assert set(schema.domains) == {(p, "http://e/A"), (p, "http://e/B"), (p, "http://e/C")}
