"""Incremental entailments (ekb.retraction) against the full re-materialisation they replace: after every step of
seeded random sequences of additions and removals of the shipped model's facts, the inferred graph must equal
what `refresh_inferences` computes from scratch."""

from __future__ import annotations

import random

import pyoxigraph as ox
import pytest

from ekb import loader
from ekb.config import DATA_GRAPH_PREFIX, INFERRED_GRAPH, Settings, is_data_graph
from ekb.gate import Delta
from ekb.kb import KnowledgeBase
from ekb.reasoning import reasoner_named
from ekb.retraction import OutOfReach, add_entailments, retract_entailments
from ekb.store import EmbeddedStore
from tests.conftest import ROOT

EKB = "https://kb.quantum-energy.example/def/core/"
ID = "https://kb.quantum-energy.example/id/"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
PARENT = ox.NamedNode(EKB + "hasParentCapability")  # a sub-property of the transitive isWithinCapability
SCRATCH = DATA_GRAPH_PREFIX + "scratch"


@pytest.fixture(scope="module")
def shipped() -> bytes:
    """The shipped model loaded once, as N-Quads: each test starts from its own copy."""
    kb = KnowledgeBase(Settings(root=ROOT), EmbeddedStore())
    kb.load()
    return kb.store.engine.dump(format=ox.RdfFormat.N_QUADS)


def fresh(shipped: bytes) -> KnowledgeBase:
    kb = KnowledgeBase(Settings(root=ROOT), EmbeddedStore())
    kb.store.engine.load(shipped, format=ox.RdfFormat.N_QUADS)
    return kb


def inferred(kb: KnowledgeBase) -> set[ox.Triple]:
    return {q.triple for q in kb.store.engine.quads_for_pattern(None, None, None, ox.NamedNode(INFERRED_GRAPH))}


def rematerialised(kb: KnowledgeBase) -> set[ox.Triple]:
    """What a full re-materialisation gives now, computed into a graph of its own (the inferred graph untouched)."""
    target = loader.staging_name("check", INFERRED_GRAPH)
    premises = [g for g in kb.store.graphs() if is_data_graph(g)]
    loader.infer_into(kb.store, premises, target, reasoner_named(kb.settings.reasoner))
    facts = {q.triple for q in kb.store.engine.quads_for_pattern(None, None, None, ox.NamedNode(target))}
    loader.drop_staging(kb.store, "check")
    return facts


def candidate_facts(kb: KnowledgeBase) -> list[ox.Triple]:
    """Facts of the shipped data the reasoner reads (links and types), transitive-chain links first in weight."""
    facts = set()
    for q in kb.store.engine:
        graph = q.graph_name.value
        if (graph.startswith(DATA_GRAPH_PREFIX) and not isinstance(q.object, ox.Literal)
                and not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)
                and not q.predicate.value.startswith("http://www.w3.org/2002/07/owl#")):
            facts.add(q.triple)
    return sorted(facts, key=str)


def chain_links(kb: KnowledgeBase, rng: random.Random, n: int) -> list[ox.Triple]:
    """New parent links between L2 capabilities: chains three and four deep that the shipped data lacks."""
    rows = kb.store.select(f"SELECT ?c WHERE {{ GRAPH ?g {{ ?c <{PARENT.value}> ?p }} }} ORDER BY ?c")
    children = [row["c"] for row in rows]
    return [ox.Triple(a, PARENT, b) for a, b in (rng.sample(children, 2) for _ in range(n))]


def apply(kb: KnowledgeBase, delta: Delta) -> None:
    delta.apply(kb.store)
    if delta.removed:
        retract_entailments(kb.store, delta.removed, reasoner_named(kb.settings.reasoner))
    add_entailments(kb.store, delta.added, reasoner_named(kb.settings.reasoner))


@pytest.mark.parametrize("seed", [1])
def test_random_adds_and_removes_keep_the_inferred_graph_exact(shipped, seed):
    kb = fresh(shipped)
    rng = random.Random(seed)
    facts = candidate_facts(kb)
    links = [f for f in facts if f.predicate == PARENT]
    types = [f for f in facts if f.predicate == RDF_TYPE]
    present, absent = set(facts), set(chain_links(kb, rng, 6))
    for step in range(50):
        kind = rng.random()
        pool = links if kind < 0.35 else types if kind < 0.6 else facts
        removable = [f for f in pool if f in present]
        if absent and rng.random() < 0.4:  # put back something removed, or a new chain link, in some data graph
            added = rng.sample(sorted(absent, key=str), min(len(absent), rng.randint(1, 3)))
            delta = Delta(SCRATCH, added=tuple(added))
            present |= set(added)
            absent -= set(added)
        else:
            removed = rng.sample(removable, min(len(removable), rng.randint(1, 3)))
            extra = rng.sample(sorted(absent, key=str), 1) if absent and rng.random() < 0.2 else []
            delta = Delta(SCRATCH, added=tuple(extra), removed=tuple(removed))
            present = (present - set(removed)) | set(extra)
            absent = (absent | set(removed)) - set(extra)
        apply(kb, delta)
        assert inferred(kb) == rematerialised(kb), f"seed {seed}, step {step}: {delta}"


def test_breaking_a_chain_and_a_type_hierarchy(shipped):
    """A chain three deep loses its middle link: the links across it go; a capability loses its only stated
    type: the super-classes go too, unless something else entails them."""
    kb = fresh(shipped)
    rng = random.Random(0)
    a, b = chain_links(kb, rng, 1)[0].subject, chain_links(kb, rng, 1)[0].subject
    grand = kb.store.select(f"SELECT ?p WHERE {{ GRAPH ?g {{ <{b.value}> <{PARENT.value}> ?p }} }}")[0]["p"]
    link = ox.Triple(a, PARENT, b)
    apply(kb, Delta(SCRATCH, added=(link,)))
    across = ox.Triple(a, ox.NamedNode(EKB + "isWithinCapability"), grand)
    assert across in inferred(kb)
    apply(kb, Delta(SCRATCH, removed=(link,)))
    assert across not in inferred(kb) and inferred(kb) == rematerialised(kb)
    stated = [t for t in candidate_facts(kb) if t.subject == a and t.predicate == RDF_TYPE]
    apply(kb, Delta(SCRATCH, removed=tuple(stated)))
    assert inferred(kb) == rematerialised(kb)


def test_a_removed_fact_still_entailed_moves_into_the_inferred_graph(shipped):
    kb = fresh(shipped)
    link = next(f for f in candidate_facts(kb) if f.predicate == PARENT)
    inverse = ox.Triple(link.object, ox.NamedNode(EKB + "hasChildCapability"), link.subject)
    apply(kb, Delta(SCRATCH, added=(inverse,)))  # now stated both ways
    assert inverse not in inferred(kb)  # an added fact that was an entailment leaves the inferred graph
    apply(kb, Delta(SCRATCH, removed=(link,)))
    assert link in inferred(kb) and inferred(kb) == rematerialised(kb)


def test_schema_changes_and_blank_nodes_are_out_of_reach(shipped):
    kb = fresh(shipped)
    reasoner = reasoner_named("reasonable")
    axiom = ox.Triple(ox.NamedNode(EKB + "System"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf"),
                      ox.NamedNode(EKB + "Thing"))
    with pytest.raises(OutOfReach, match="schema"):
        retract_entailments(kb.store, [axiom], reasoner)
    with pytest.raises(OutOfReach, match="blank node"):
        add_entailments(kb.store, [ox.Triple(ox.BlankNode(), PARENT, ox.NamedNode(ID + "x"))], reasoner)
    link = next(f for f in candidate_facts(kb) if f.predicate == PARENT)
    Delta(SCRATCH, removed=(link,)).apply(kb.store)
    with pytest.raises(OutOfReach, match="more than"):
        retract_entailments(kb.store, [link], reasoner, max_premises=3)


def test_a_large_store_removal_through_the_api_is_incremental_and_exact(shipped, monkeypatch):
    """The write path: past `gate_full_max_triples` a Graph Store addition and removal take the incremental route
    (the full re-materialisation is never called) and leave what the full one would."""
    kb = fresh(shipped)
    kb.settings = Settings(root=ROOT, gate_full_max_triples=0)
    link = next(f for f in candidate_facts(kb) if f.predicate == PARENT)
    inverse = ox.Triple(link.object, ox.NamedNode(EKB + "hasChildCapability"), link.subject)

    def refuse(*_, **__):
        raise AssertionError("the full re-materialisation ran")
    monkeypatch.setattr(loader, "infer_into", refuse)
    kb.apply(Delta(SCRATCH, added=(inverse,)))  # stated both ways, so that removing one breaks no rule
    kb.apply(Delta(SCRATCH, removed=(link,)))
    monkeypatch.undo()
    assert link in inferred(kb) and inferred(kb) == rematerialised(kb)
