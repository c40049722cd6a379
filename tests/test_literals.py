"""Literal fidelity: typed literals through a load, the Graph Store and `ekb validate FILES`, asserting exactly
what each keeps and what ekb says it rewrote.

pyoxigraph keeps "7"^^xsd:int as "7"^^xsd:integer, "100"^^xsd:byte as xsd:integer, "1.50"^^xsd:decimal as "1.5"
and "1"^^xsd:boolean as "true" (oxigraph issue 526); "2024-01-05"^^xsd:date is kept. File validation reads the
files as written; the store cannot, so the load and the writes name every literal it rewrites.
"""

from __future__ import annotations

import dataclasses
import json

import httpx
import pyoxigraph as ox
import pytest

from ekb.cli import main
from ekb.config import DATA_GRAPH_PREFIX, Settings
from ekb.kb import KnowledgeBase
from ekb.literals import nquads_rewrites, rewrites_json, store_rewrites
from ekb.store import EmbeddedStore
from ekb.validation import engine_named, validate_files
from tests.conftest import ApiServer

XSD = "http://www.w3.org/2001/XMLSchema#"
EX = "http://example.org/typed/"
TOKEN = "literal-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

TYPED = f"""@prefix ex: <{EX}> .
@prefix xsd: <{XSD}> .
ex:thing a ex:Thing ;
    ex:count "7"^^xsd:int ;
    ex:small "100"^^xsd:byte ;
    ex:price "1.50"^^xsd:decimal ;
    ex:flag "1"^^xsd:boolean ;
    ex:day "2024-01-05"^^xsd:date ;
    ex:name "seven" .
"""
# (predicate, as written, as the store keeps it), in the file's order; the date and the string are kept.
REWRITTEN = [
    ("count", f'"7"^^<{XSD}int>', f'"7"^^<{XSD}integer>'),
    ("small", f'"100"^^<{XSD}byte>', f'"100"^^<{XSD}integer>'),
    ("price", f'"1.50"^^<{XSD}decimal>', f'"1.5"^^<{XSD}decimal>'),
    ("flag", f'"1"^^<{XSD}boolean>', f'"true"^^<{XSD}boolean>'),
]
KEPT = [f'"2024-01-05"^^<{XSD}date>', '"seven"']

SHAPES = f"""@prefix ex: <{EX}> .
@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix xsd: <{XSD}> .
ex:DatatypeShape a sh:NodeShape ; sh:name "Typed values keep their datatypes" ; sh:targetClass ex:Thing ;
    sh:property [ sh:path ex:count ; sh:datatype xsd:int ; sh:severity sh:Warning ] ,
        [ sh:path ex:small ; sh:datatype xsd:byte ; sh:severity sh:Warning ] ,
        [ sh:path ex:price ; sh:datatype xsd:decimal ; sh:severity sh:Warning ] ,
        [ sh:path ex:flag ; sh:datatype xsd:boolean ; sh:severity sh:Warning ] ,
        [ sh:path ex:day ; sh:datatype xsd:date ; sh:severity sh:Warning ] .
ex:StrictShape a sh:NodeShape ; sh:name "A strict count is an xsd:int" ; sh:severity sh:Violation ;
    sh:targetClass ex:Strict ;
    sh:property [ sh:path ex:count ; sh:datatype xsd:int ] .
"""


def written(triple_like) -> list[tuple[str, str, str]]:
    return [(r.predicate.value.removeprefix(EX), str(r.original), str(r.stored)) for r in triple_like]


@pytest.fixture
def project(tmp_path):
    for folder in ("ontology", "shapes", "data"):
        (tmp_path / folder).mkdir()
    (tmp_path / "ontology" / "o.ttl").write_text(
        f"<{EX}ontology> a <http://www.w3.org/2002/07/owl#Ontology> .\n")
    (tmp_path / "shapes" / "s.ttl").write_text(SHAPES)
    (tmp_path / "data" / "typed.ttl").write_text(TYPED)
    return tmp_path


def test_the_round_trip_names_exactly_what_the_store_changes():
    triples = [q.triple for q in ox.parse(TYPED.encode(), format=ox.RdfFormat.TURTLE)]
    rewrites = store_rewrites(triples)
    assert written(rewrites) == REWRITTEN
    assert all(r.subject == ox.NamedNode(EX + "thing") and r.occurrences == 1 for r in rewrites)
    # what the round trip predicts is what a store holds
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    held = {str(q.object) for q in store}
    assert {stored for _, _, stored in REWRITTEN} | set(KEPT) <= held
    assert not {original for _, original, _ in REWRITTEN} & held
    # an ill-formed byte becomes a well-formed integer; a literal repeated is counted, named once
    doubled = b'<urn:a> <urn:p> "300"^^<%sbyte> .\n<urn:b> <urn:p> "300"^^<%sbyte> .\n' % (XSD.encode(), XSD.encode())
    [rewrite] = nquads_rewrites(doubled)
    assert (str(rewrite.stored), rewrite.occurrences, rewrite.subject.value) == (f'"300"^^<{XSD}integer>', 2, "urn:a")
    # strings, language-tagged strings, canonical forms: nothing to say
    assert store_rewrites(list(ox.parse(f'<urn:a> <urn:p> "x", "x"@en, 7, "2024-01-05"^^<{XSD}date>, '
                                        f'"a \\"1\\"^^<{XSD}int>" .'.encode(), format=ox.RdfFormat.TURTLE))) == []
    assert rewrites_json([]) == {}


def test_a_load_on_a_remote_engine_names_the_same_rewrites_found_in_its_chunks(project, oxigraph_server):
    """On a remote engine the rewrites are found in the chunks sent (the file is not parsed again): the same list,
    each literal where it first occurs and counted in every chunk, with the file in several chunks."""
    from ekb import dialects
    from ekb.remote import RemoteStore

    (project / "data" / "many.ttl").write_text("".join(
        f'<{EX}n{i}> <{EX}count> "{i % 3}"^^<{XSD}int> ; <{EX}price> "{i}.50"^^<{XSD}decimal> .\n' for i in range(30)))
    oxigraph_server.clear()
    store = RemoteStore(oxigraph_server.query_url, dialect=dataclasses.replace(dialects.OXIGRAPH, load_chunk=7))
    remote = KnowledgeBase(Settings(root=project), store).load().rewritten
    embedded = KnowledgeBase(Settings(root=project), EmbeddedStore()).load().rewritten
    assert remote == embedded and written(remote["data/typed.ttl"]) == REWRITTEN
    assert [(str(r.original), r.occurrences) for r in remote["data/many.ttl"]][:3] == [
        (f'"0"^^<{XSD}int>', 10), (f'"0.50"^^<{XSD}decimal>', 1), (f'"1"^^<{XSD}int>', 10)]
    store.close()


def test_file_validation_keeps_what_the_file_says(project, tmp_path):
    out = tmp_path / "report.json"
    code = main(["validate", str(project / "data" / "typed.ttl"), "--shapes", str(project / "shapes" / "s.ttl"),
                 "--format", "json", "--fail-on", "none", "--output", str(out)])
    report = json.loads(out.read_text())
    assert code == 0 and report["conforms"] is True and report["findings"] == []


def test_a_load_reports_every_rewritten_literal_per_file_and_stores_the_canonical_form(project, capsys):
    kb = KnowledgeBase(Settings(root=project), EmbeddedStore())
    report = kb.load()
    assert list(report.rewritten) == ["data/typed.ttl"]
    assert written(report.rewritten["data/typed.ttl"]) == REWRITTEN
    held = {str(row["o"]) for row in kb.store.select(
        f"SELECT ?o WHERE {{ GRAPH <{DATA_GRAPH_PREFIX}typed> {{ <{EX}thing> ?p ?o }} }}")}
    assert held == {stored for _, _, stored in REWRITTEN} | set(KEPT) | {f"<{EX}Thing>"}
    # the store's validation sees the stored datatypes: int and byte are now integers; decimal, boolean, date hold
    findings = kb.validate().findings
    assert sorted((f.severity, f.prop or f.constraint, f.value) for f in findings) == [
        ("Warning", "DatatypeConstraintComponent", "100"), ("Warning", "DatatypeConstraintComponent", "7")]
    # `ekb load` says so, per file, with the first few
    assert main(["load", "--root", str(project)]) == 0
    err = capsys.readouterr().err
    assert "data/typed.ttl: the store rewrites 4 typed literal(s) in 4 triple(s)" in err
    assert f'data/typed.ttl: "1.50"^^xsd:decimal -> "1.5"^^xsd:decimal (at <{EX}thing> <{EX}price>)' in err
    assert "ontology/o.ttl" not in err and "shapes/s.ttl" not in err


def test_graph_store_writes_name_the_rewritten_literals(project):
    kb = KnowledgeBase(Settings(root=project, write_token=TOKEN), EmbeddedStore())
    kb.load()
    server = ApiServer(kb)
    graph = DATA_GRAPH_PREFIX + "written"
    turtle = {**AUTH, "Content-Type": "text/turtle"}
    try:
        with httpx.Client(base_url=server.url, timeout=60) as web:
            created = web.put("/store", params={"graph": graph}, content=f"<{EX}x> <{EX}p> <{EX}y> .", headers=turtle)
            assert created.status_code == 201
            put = web.put("/store", params={"graph": graph}, content=TYPED.replace("ex:thing", "ex:written"),
                          headers=turtle)
            assert put.status_code == 200, put.text
            body = put.json()
            assert [(r["predicate"].removeprefix(EX), r["original"], r["stored"]) for r in body["rewrittenLiterals"]] \
                == REWRITTEN
            assert {r["subject"] for r in body["rewrittenLiterals"]} == {EX + "written"}
            assert (body["rewrittenLiteralCount"], body["rewrittenTriples"]) == (4, 4)
            assert sorted(f["value"] for f in body["newFindings"]) == ["100", "7"]  # judged in the stored form
            stored = web.get("/store", params={"graph": graph}, headers={"Accept": "application/n-triples"})
            objects = {str(t.object) for t in ox.parse(stored.content, format=ox.RdfFormat.N_TRIPLES)}
            assert objects == {stored for _, _, stored in REWRITTEN} | set(KEPT) | {f"<{EX}Thing>"}
            # POST: the same, for what it adds; nothing to report is still 204
            added = web.post("/store", params={"graph": graph}, headers=turtle,
                             content=f'<{EX}other> <{EX}code> "02"^^<{XSD}integer> .')
            assert added.status_code == 200 and [(r["original"], r["stored"]) for r in added.json()["rewrittenLiterals"]] \
                == [(f'"02"^^<{XSD}integer>', f'"2"^^<{XSD}integer>')]
            quiet = web.post("/store", params={"graph": graph}, headers=turtle, content=f"<{EX}other> <{EX}code> 3 .")
            assert quiet.status_code == 204
            # a refused write names them too: the gate judged "7"^^xsd:integer, not the xsd:int that was sent
            before = web.get("/store", params={"graph": graph}, headers={"Accept": "application/n-triples"}).content
            strict = f'<{EX}s> a <{EX}Strict> ; <{EX}count> "7"^^<{XSD}int> .'
            refused = web.put("/store", params={"graph": graph}, content=strict, headers=turtle)
            assert refused.status_code == 422
            assert [r["original"] for r in refused.json()["rewrittenLiterals"]] == [f'"7"^^<{XSD}int>']
            assert web.get("/store", params={"graph": graph}, headers={"Accept": "application/n-triples"}).content \
                == before
    finally:
        server.stop()
        kb.close()


@pytest.mark.parametrize("engine", ["pyshacl-turbo", "pyshacl"])
def test_a_boolean_switch_is_on_only_for_the_literal_true(engine):
    """SHACL reads the RDF term: "1"^^xsd:boolean is not true, so sh:deactivated "1" leaves a shape active and
    sh:closed "1" leaves it open (W3C uniqueLang-002 tests sh:uniqueLang the same way); `true` switches both."""
    data = list(ox.parse(f"<{EX}i> <{EX}other> 1 .".encode(), format=ox.RdfFormat.TURTLE))

    def shapes(deactivated: str, closed: str) -> list[ox.Triple]:
        return list(ox.parse(f"""@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix xsd: <{XSD}> .
            <{EX}Needs> sh:targetNode <{EX}i> ; sh:deactivated {deactivated} ;
                sh:property [ sh:path <{EX}p> ; sh:minCount 1 ] .
            <{EX}Closed> sh:targetNode <{EX}i> ; sh:closed {closed} ;
                sh:property [ sh:path <{EX}p> ] .""".encode(), format=ox.RdfFormat.TURTLE))

    def broken(deactivated: str, closed: str) -> list[str]:
        report = validate_files(data, shapes(deactivated, closed), engine_named(engine))
        return sorted(f.constraint for f in report.findings)

    assert broken('"1"^^xsd:boolean', '"1"^^xsd:boolean') == ["MinCountConstraintComponent"]
    assert broken("true", "true") == ["ClosedConstraintComponent"]
    assert broken("false", "false") == ["MinCountConstraintComponent"]
