"""A writer for the kill -9 tests: gated writes to an on-disk store, each acknowledged on stdout once it
returned (as the API acknowledges a write once `KnowledgeBase.write` returned)."""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox

from ekb.config import DATA_GRAPH_PREFIX, EKB, ID, Settings
from ekb.gate import Delta
from ekb.kb import KnowledgeBase

ROOT = Path(__file__).resolve().parents[1]
PARENT = ID + "capability/10-customer-engagement-and-service"
OWNER = ID + "owner/chief-customer-officer"
GRAPH = DATA_GRAPH_PREFIX + "crash-test"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def capability(n: int) -> str:
    return f"urn:crash:capability-{n}"


def triples(n: int) -> tuple[ox.Triple, ...]:
    c = ox.NamedNode(capability(n))
    kind, label = ox.NamedNode(RDF_TYPE), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
    return (ox.Triple(c, kind, ox.NamedNode(EKB + "L2Capability")),
            ox.Triple(c, label, ox.Literal(f"Crash test {n}", language="en")),
            ox.Triple(c, ox.NamedNode(EKB + "hasParentCapability"), ox.NamedNode(PARENT)),
            ox.Triple(c, ox.NamedNode(EKB + "hasAccountableOwner"), ox.NamedNode(OWNER)))


def main(store: str, first: int) -> None:
    kb = KnowledgeBase.open(Settings(root=ROOT, store_dir=Path(store)))
    kb.recover()
    n = first
    while True:
        delta = Delta(GRAPH, added=triples(n))
        kb.apply(delta)
        print(f"ack {n}", flush=True)
        n += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
