"""The gate's reach for rules that read far (`ekb.rule_reach`), tried on shapes written to break it: each change is
refused by the full gate (the whole store copied, changed and validated), and the knowledge base's gate must
refuse it too, either by walking the rule's patterns or by knowing it cannot and judging on the whole store.
(Found by an adversarial review of the first version: each of these was accepted by the neighbourhood gate.)"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyoxigraph as ox
import pytest

from ekb.config import Settings
from ekb.errors import GateRefused
from ekb.gate import Delta, check_change
from ekb.kb import KnowledgeBase
from ekb.store import EmbeddedStore
from ekb.validation import validate_store

PREFIXES = """@prefix ex: <http://example.org/> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
"""
EX = "http://example.org/"
GRAPH = "https://kb.quantum-energy.example/graph/data/fixture"
Q = '"""\n    PREFIX ex: <http://example.org/>\n    '
CHAIN = "ex:p1 ex:reportsTo ex:p2 . ex:p2 ex:reportsTo ex:p3 . ex:p3 ex:reportsTo ex:p4 . ex:p4 ex:reportsTo ex:p5 ."


def t(s: str, p: str, o) -> ox.Triple:
    return ox.Triple(ox.NamedNode(EX + s), ox.NamedNode(p if "://" in p else EX + p),
                     o if isinstance(o, ox.Literal) else ox.NamedNode(EX + o))


CASES = {
    "a literal focus node": ("", f"""
        ex:UniqueCode a sh:NodeShape ; sh:targetObjectsOf ex:code ; sh:severity sh:Violation ;
          sh:sparql [ sh:select {Q}SELECT $this WHERE {{ ?a ex:code $this . ?b ex:code $this . FILTER(?a != ?b) }}\"\"\" ] .""",
        'ex:a ex:code "X" . ex:b ex:code "Y" .', Delta(GRAPH, added=(t("b", "code", ox.Literal("X")),))),
    "a SPARQL rule reached through sh:node": ("", f"""
        ex:Team a sh:NodeShape ; sh:targetClass ex:Team ; sh:severity sh:Violation ;
          sh:property [ sh:path ex:lead ; sh:node ex:CleanChain ] .
        ex:CleanChain a sh:NodeShape ;
          sh:sparql [ sh:select {Q}SELECT $this WHERE {{ $this ex:reportsTo+ ?boss . ?boss ex:sanctioned true }}\"\"\" ] .""",
        f"ex:team a ex:Team ; ex:lead ex:p1 . {CHAIN}", Delta(GRAPH, added=(t("p5", "sanctioned", ox.Literal(True)),))),
    "a SPARQL-based constraint component": ("", f"""
        ex:NoFlaggedBoss a sh:ConstraintComponent ; sh:parameter [ sh:path ex:bossFlag ] ;
          sh:nodeValidator [ a sh:SPARQLSelectValidator ; sh:message "reports to a flagged boss" ;
            sh:select {Q}SELECT $this WHERE {{ $this ex:reportsTo+ ?boss . ?boss $bossFlag true }}\"\"\" ] .
        ex:PersonShape a sh:NodeShape ; sh:targetClass ex:Person ; sh:severity sh:Violation ; ex:bossFlag ex:sanctioned .""",
        f"ex:p1 a ex:Person . {CHAIN}", Delta(GRAPH, added=(t("p5", "sanctioned", ox.Literal(True)),))),
    "a SPARQL target": ("", f"""
        ex:UnderRoot a sh:NodeShape ; sh:severity sh:Violation ;
          sh:target [ a sh:SPARQLTarget ; sh:select {Q}SELECT ?this WHERE {{ ?this ex:partOf+ ex:root }}\"\"\" ] ;
          sh:property [ sh:path ex:owner ; sh:minCount 1 ] .""",
        "ex:a ex:partOf ex:b . ex:b ex:partOf ex:c . ex:c ex:partOf ex:d ; ex:owner ex:o . "
        "ex:d ex:partOf ex:e ; ex:owner ex:o . ex:e ex:owner ex:o .", Delta(GRAPH, added=(t("e", "partOf", "root"),))),
    "a nested shape's sh:class, three links away": ("", """
        ex:TeamShape a sh:NodeShape ; sh:targetClass ex:Team ; sh:severity sh:Violation ;
          sh:property [ sh:path ex:lead ; sh:node ex:EmployeeShape ] .
        ex:EmployeeShape a sh:NodeShape ; sh:property [ sh:path ex:memberOf ; sh:class ex:Company ] .""",
        "ex:team a ex:Team ; ex:lead ex:ann . ex:ann ex:memberOf ex:acme . ex:acme a ex:Company .",
        Delta(GRAPH, removed=(t("acme", "http://www.w3.org/1999/02/22-rdf-syntax-ns#type", "Company"),))),
    "a removal of what the ontology also states": ("ex:acme ex:ceo ex:ann .", """
        ex:OneCeo a sh:NodeShape ; sh:targetClass ex:Company ; sh:severity sh:Violation ;
          sh:property [ sh:path ex:ceo ; sh:maxCount 1 ] .""",
        "ex:acme a ex:Company .", Delta(GRAPH, removed=(t("acme", "ceo", "ann"),), added=(t("acme", "ceo", "bob"),))),
    "a variable an OPTIONAL may leave unbound": ("", f"""
        ex:OptionalOuter a sh:NodeShape ; sh:targetClass ex:C ; sh:severity sh:Violation ;
          sh:sparql [ sh:select {Q}SELECT $this WHERE {{ $this ex:p ?x . OPTIONAL {{ ?x ex:q ?y }} ?y ex:r ex:bad }}\"\"\" ] .""",
        "ex:a a ex:C . ex:b ex:q ex:c . ex:far ex:r ex:bad .", Delta(GRAPH, added=(t("a", "p", "d"),))),
    "a variable one UNION branch leaves unbound": ("", f"""
        ex:UnionOuter a sh:NodeShape ; sh:targetClass ex:C ; sh:severity sh:Violation ;
          sh:sparql [ sh:select {Q}SELECT $this WHERE {{ {{ $this ex:p ?x }} UNION {{ $this ex:s ?w }}
            ?x ex:r ex:bad }}\"\"\" ] .""",
        "ex:a a ex:C . ex:far ex:r ex:bad .", Delta(GRAPH, added=(t("a", "s", "w"),))),
}


def project(tmp_path: Path, ontology: str, shapes: str, data: str) -> KnowledgeBase:
    for folder, text in (("ontology", ontology), ("shapes", shapes), ("data", data)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.ttl").write_text(PREFIXES + textwrap.dedent(text))
    (tmp_path / "queries").mkdir()
    kb = KnowledgeBase(Settings(root=tmp_path), EmbeddedStore())
    kb.load()
    kb.validate()
    return kb


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_change_the_full_gate_refuses_is_refused(tmp_path, name):
    ontology, shapes, data, delta = CASES[name]
    kb = project(tmp_path, ontology, shapes, data)
    full = check_change(kb.store, delta.apply, baseline=validate_store(kb.store))
    assert not full.accepted, "the case must break a rule"
    before = sorted(str(q) for q in kb.store.quads())
    with pytest.raises(GateRefused):
        kb.apply(delta)
    assert sorted(str(q) for q in kb.store.quads()) == before
    assert sorted(f.key for f in kb.current_report().findings) == sorted(f.key for f in validate_store(kb.store).findings)
