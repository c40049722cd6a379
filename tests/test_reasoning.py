"""Reasoning in slices: the same entailments as reasoning over everything at once, and whole when it must be."""

from __future__ import annotations

import pyoxigraph as ox

from ekb.config import BASE_IRI, ID
from ekb.loader import discover, parse_file
from ekb.reasoning import ReasonableReasoner, materialise, slices

CORE = f"{BASE_IRI}def/core/"
OWL = "http://www.w3.org/2002/07/owl#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def premises_of(settings) -> bytes:
    triples = [t for s in discover(settings) if s.kind != "shapes" for t in parse_file(s.path)]
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)


def test_slices_in_worker_processes_give_what_one_pass_gives(settings):
    premises = premises_of(settings)
    parts = slices(premises.decode().splitlines(keepends=True), size=300)
    assert len(parts) > 10
    whole = set(materialise(premises, ReasonableReasoner(), sliced=False))
    sliced = set(materialise(premises, ReasonableReasoner(), slice_lines=300, workers=2))
    assert sliced == whole and len(whole) > 1000


def test_a_transitive_chain_is_kept_in_one_slice():
    """hasParentCapability feeds the transitive isWithinCapability: a chain cut across slices would lose its ends."""
    chain = [f"<{ID}capability/c{i}> <{CORE}hasParentCapability> <{ID}capability/c{i + 1}> .\n" for i in range(30)]
    noise = [f"<{ID}system/s{i}> <{CORE}supportsCapability> <{ID}capability/c{i}> .\n" for i in range(30)]
    schema = (f"<{CORE}hasParentCapability> <{RDFS}subPropertyOf> <{CORE}isWithinCapability> .\n"
              f"<{CORE}isWithinCapability> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{OWL}TransitiveProperty> .\n")
    premises = (schema + "".join(chain + noise)).encode()
    lines = set(materialise(premises, ReasonableReasoner(), slice_lines=1, workers=1))
    assert f"<{ID}capability/c0> <{CORE}isWithinCapability> <{ID}capability/c30> .\n" in lines
    assert len(slices(premises.decode().splitlines(keepends=True), size=1)) == 31  # the chain together, each other fact alone


def test_a_schema_that_joins_facts_about_individuals_is_reasoned_over_whole():
    restriction = (f"<{CORE}A> <{OWL}equivalentClass> _:r .\n_:r <{OWL}onProperty> <{CORE}p> .\n"
                   f"_:r <{OWL}someValuesFrom> <{CORE}B> .\n")
    data = "".join(f"<{ID}x/{i}> <{CORE}p> <{ID}y/{i}> .\n" for i in range(50))
    lines = (restriction + data).splitlines(keepends=True)
    assert slices(lines, size=5) == [lines]
    same_as = f"<{ID}x/1> <{OWL}sameAs> <{ID}x/2> .\n"
    lines = (same_as + data).splitlines(keepends=True)
    assert slices(lines, size=5) == [lines]
