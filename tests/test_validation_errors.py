"""Validation of files the user wrote: shapes an engine cannot use are named in one line (exit 1, no traceback),
and a report always parses in the format asked for."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib

from tests.test_cli import ekb

ENGINES = ("pyshacl-turbo", "pyshacl")
BROKEN = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:BrokenShape a sh:NodeShape ; sh:targetNode ex:a ;
  sh:sparql [ sh:select "SELECT $this WHERE { $this ex:p ?x " ] .
ex:a ex:p 1 .
"""
ILL_TYPED = """@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:Shape a sh:NodeShape ; sh:targetNode ex:a ; sh:property [ sh:path ex:flag ; sh:datatype xsd:string ] .
ex:a ex:flag "none"^^xsd:boolean .
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_a_sparql_constraint_that_does_not_parse_is_one_line(tmp_path: Path, engine: str):
    shapes = tmp_path / "broken.ttl"
    shapes.write_text(BROKEN)
    result = ekb("validate", str(shapes), "--shapes", str(shapes), "--engine", engine)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert "shape http://example.org/BrokenShape: its sh:select query does not parse" in message
    assert "['" not in message  # the grammar's character classes are left out


def test_a_feature_an_engine_lacks_is_one_line(tmp_path: Path):
    shapes = tmp_path / "shapes-graph.ttl"
    shapes.write_text("""@prefix sh: <http://www.w3.org/ns/shacl#> .
@prefix ex: <http://example.org/> .
ex:S a sh:NodeShape ; sh:targetNode ex:a ;
  sh:sparql [ sh:select "SELECT $this WHERE { GRAPH $shapesGraph { $this ?p ?o } }" ] .
ex:a ex:p 1 .
""")
    result = ekb("validate", str(shapes), "--shapes", str(shapes), "--engine", "pyshacl")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "the shapes cannot be used by pyshacl" in " ".join(result.stderr.split())


@pytest.mark.parametrize("engine", ENGINES)
def test_the_turtle_report_parses_with_an_ill_typed_value(tmp_path: Path, engine: str):
    data = tmp_path / "ill-typed.ttl"
    data.write_text(ILL_TYPED)
    result = ekb("validate", str(data), "--shapes", str(data), "--engine", engine, "--format", "turtle")
    assert result.returncode == 3, result.stderr  # one violation: the gate fails
    report = rdflib.Graph().parse(data=result.stdout, format="turtle")
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    assert (None, sh.conforms, rdflib.Literal(False)) in report
    assert len(list(report.subjects(rdflib.RDF.type, sh.ValidationResult))) == 1
