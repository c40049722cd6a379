"""The rules of ekb.rules_in_engine evaluated in this process (ekb.rules_in_process) over the lines a load sent:
exactly `reasonable`'s useful entailments, and the same refusals; used by a first load onto a remote engine."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from bench.generate import write
from ekb import loader, rules_in_engine, rules_in_process
from ekb.config import BASE_IRI, ONTOLOGY_GRAPH
from ekb.reasoning import ReasonableReasoner
from ekb.store import EmbeddedStore
from tests.conftest import ROOT
from tests.test_rules_in_engine import EDGES


def ntriples_lines(*documents: tuple[bytes, ox.RdfFormat]) -> list[bytes]:
    """The documents as a load sends them: pyoxigraph's N-Triples, one line per triple."""
    lines: list[bytes] = []
    for data, fmt in documents:
        triples = [q.triple for q in ox.parse(data, format=fmt, base_iri=BASE_IRI)]
        lines += ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).splitlines()
    return lines


def reasonable(*documents: tuple[bytes, ox.RdfFormat]) -> set[ox.Triple]:
    """The embedded path: the premises as `loader.premise_ntriples` reads them, `reasonable`, `useful_ntriples`."""
    store = EmbeddedStore()
    for number, (data, fmt) in enumerate(documents):
        store.load_graph(f"{ONTOLOGY_GRAPH}/{number}", data, fmt)
    premises = b"".join(loader.premise_ntriples(store, f"{ONTOLOGY_GRAPH}/{n}") for n in range(len(documents)))
    return parsed("".join(loader.materialise(premises, ReasonableReasoner())).encode())


def parsed(body: bytes) -> set[ox.Triple]:
    return {q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)}


def entailed(lines: list[bytes]) -> set[ox.Triple]:
    parts = list(rules_in_process.entailments(lines))
    assert len(parts) == 2  # links, then types
    return parsed(b"".join(parts))


def model() -> list[tuple[bytes, ox.RdfFormat]]:
    return [(path.read_bytes(), ox.RdfFormat.TURTLE) for folder in ("ontology", "data")
            for path in sorted((ROOT / folder).rglob("*.ttl"))]


def test_the_shipped_model_gets_reasonables_entailments():
    documents = model()
    got = entailed(ntriples_lines(*documents))
    assert got == reasonable(*documents) and len(got) > 2000


def test_generated_data_gets_reasonables_entailments(tmp_path):
    generated = tmp_path / "generated.nt"
    write(3000, generated)
    documents = [*[(p.read_bytes(), ox.RdfFormat.TURTLE) for p in sorted((ROOT / "ontology").glob("*.ttl"))],
                 (generated.read_bytes(), ox.RdfFormat.N_TRIPLES)]
    got = entailed(ntriples_lines(*documents))
    assert got == reasonable(*documents) and len(got) > 1000


def test_blank_nodes_carry_chains_and_literals_of_individuals_are_no_premises():
    document = (EDGES.encode(), ox.RdfFormat.TURTLE)
    got = entailed(ntriples_lines(document))
    assert got == reasonable(document)
    assert ox.Triple(ox.NamedNode("http://e/a"), ox.NamedNode("http://e/within"), ox.NamedNode("http://e/e")) in got
    assert ox.Triple(ox.NamedNode(BASE_IRI + "def/Term"), ox.NamedNode("http://e/new"), ox.Literal("v")) in got
    assert not any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in got)


PREFIXES = ("@prefix : <http://e/> . @prefix owl: <http://www.w3.org/2002/07/owl#> . "
            "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> . "
            "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . ")


@pytest.mark.parametrize("axiom", [
    ":hasId a owl:FunctionalProperty .",
    ":C rdfs:subClassOf [ a owl:Restriction ; owl:onProperty :p ; owl:hasValue :v ] .",
    "owl:Thing rdfs:subClassOf :C .",
    ":p rdfs:subPropertyOf rdf:type .",
    ":C owl:equivalentClass owl:Thing .",
    ":p rdfs:domain owl:TransitiveProperty .",
    ':C rdfs:subClassOf "D" .',  # an axiom in no premise form (a literal of something outside the vocabulary)
    # a transitive link to a literal from an individual: it may equal an asserted value that is no premise
    '<https://kb.quantum-energy.example/def/v> :t "x" . :a :t <https://kb.quantum-energy.example/def/v> . '
    ":t a owl:TransitiveProperty .",
])
def test_what_the_rules_do_not_implement_is_refused(axiom):
    with pytest.raises(rules_in_engine.NotCovered):
        entailed(ntriples_lines(((PREFIXES + f":a :p :b . :a a :C . {axiom}").encode(),
                                                      ox.RdfFormat.TURTLE)))


def test_a_transitive_closure_reaches_its_fixed_point():
    """A chain of 50 links: its closure (1,225 derived links, their inverses) in as many rounds as it needs."""
    chain = " ".join(f":n{i} :within :n{i + 1} ." for i in range(50))
    document = ((PREFIXES + ":within a owl:TransitiveProperty ; owl:inverseOf :contains . " + chain).encode(),
                ox.RdfFormat.TURTLE)
    got = entailed(ntriples_lines(document))
    within = {t for t in got if t.predicate.value == "http://e/within"}
    assert len(within) == 51 * 50 // 2 - 50 and got == reasonable(document)
