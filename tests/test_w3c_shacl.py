"""The W3C SHACL test suite (core and SPARQL: the 120 sht:Validate tests with mf:status sht:approved), run through
`ekb validate DATA --shapes SHAPES --format turtle`, once with the default engine and once with pyshacl.

The command runs in-process (`ekb.cli.main`, what the `ekb` script calls): a process per test would cost a
second of interpreter and import start-up each, 240 times. Its Turtle report is read with rdflib and compared
with the test's expected sh:ValidationReport as SHACL test runners do: sh:conforms, and the multiset of results
by (focusNode, resultPath, value, sourceShape, sourceConstraintComponent, resultSeverity). sh:resultMessage is
ignored (it is the engine's wording), and so are sh:sourceConstraint and sh:detail. Blank nodes cannot keep their
identity through a parse and a Turtle report, so a blank resultPath is compared by its structure (a sequence,
sh:inversePath, ... as written in the report and in the test) and any other blank node (an anonymous property
shape as sourceShape, a blank focus node or value) matches any blank node. Literals are compared as written:
rdflib's normalisation of lexical forms is off while the harness reads the tests and the reports (a lenient
reading would let "false" stand for the data's ill-formed "none"^^xsd:boolean; the tests name the data's term).
A test whose mf:result is sht:Failure expects the validator to refuse the shapes: ekb validate must exit non-zero
without writing a report.

Known failures are in tests/w3c/known_failures.py: they must still fail; everything else must pass.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import rdflib
from rdflib import RDF, Literal, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from ekb.cli import main
from tests.w3c.suite import SHT, ShaclTest, check, parse_turtle, shacl_tests, stale_known_failures

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
XSD_STRING = URIRef("http://www.w3.org/2001/XMLSchema#string")
FIELDS = (SH.focusNode, SH.resultPath, SH.value, SH.sourceShape, SH.sourceConstraintComponent, SH.resultSeverity)
# "default": `ekb validate` without --engine (pyshacl-turbo when this was written); "pyshacl": the reference.
ENGINES = {"default": [], "pyshacl": ["--engine", "pyshacl"]}

TESTS = shacl_tests()


def term(graph: rdflib.Graph, node: Node | None, structural: bool = False, depth: int = 0):
    """A comparable form of a report's term: IRIs and literals as themselves (a plain literal is an xsd:string
    one, as in RDF 1.1), a blank node by its structure when `structural` (a path), else as "some blank node"."""
    if node is None:
        return None
    if isinstance(node, URIRef):
        return ("iri", str(node))
    if isinstance(node, Literal):
        datatype = node.datatype or (None if node.language else XSD_STRING)
        return ("literal", str(node), str(datatype or ""), (node.language or "").lower())
    if not structural or depth > 20:
        return ("blank",)
    if (node, RDF.first, None) in graph:
        return ("list", tuple(term(graph, item, True, depth + 1) for item in Collection(graph, node)))
    return ("blank", frozenset((str(p), term(graph, o, True, depth + 1)) for p, o in graph.predicate_objects(node)))


def outline(graph: rdflib.Graph, report: Node) -> tuple[bool | None, Counter]:
    """(sh:conforms, the multiset of results by the compared fields) of a validation report."""
    conforms = graph.value(report, SH.conforms)
    results = Counter()
    for result in graph.objects(report, SH.result):
        results[tuple(term(graph, graph.value(result, f), structural=f == SH.resultPath) for f in FIELDS)] += 1
    return (None if conforms is None else bool(conforms.toPython())), results


def written(key) -> str:
    if key is None:
        return "-"
    if key[0] == "iri":
        return f"<{key[1]}>"
    if key[0] == "literal":
        return f'"{key[1]}"' + (f"@{key[3]}" if key[3] else f"^^<{key[2]}>")
    return "_:" if key == ("blank",) else repr(key)


def show(results: Counter) -> str:
    names = ("focus", "path", "value", "shape", "component", "severity")
    lines = [f"    {count} x " + ", ".join(f"{n}={written(k)}" for n, k in zip(names, key, strict=True))
             for key, count in sorted(results.items(), key=repr)]
    return "\n".join(lines) or "    (none)"


def ekb_validate(test: ShaclTest, engine: str, output: Path) -> tuple[int, str | None]:
    """`ekb validate` in-process: (its exit code, the exception that ended it). An exception escaping the
    command is what the `ekb` process would end on: exit code 1, with a traceback (not ekb's one-line error)."""
    arguments = ["validate", str(test.data), "--shapes", str(test.shapes), "--format", "turtle", "--fail-on", "none",
                 "--output", str(output), *ENGINES[engine]]
    try:
        return main(arguments), None
    except Exception as crash:  # the command's outcome, as the process would end
        return 1, f"{type(crash).__name__}: {crash}"


def run_validate(test: ShaclTest, engine: str, tmp_path: Path) -> None:
    output = tmp_path / "report.ttl"
    code, crash = ekb_validate(test, engine, output)
    if test.result == SHT.Failure:
        # The test expects the validator to fail (an unsupported SPARQL constraint): no report, a non-zero exit.
        # ekb exits 1 with a one-line error, or (a crash) 1 with a traceback; both count as a signalled failure.
        assert code != 0 and not output.exists(), f"expected a failure to validate; ekb validate exited {code}" + (
            " with a report" if output.exists() else "")
        return
    assert code == 0 and output.exists(), f"ekb validate exited {code} without a report" + (
        f" ({crash})" if crash else "")
    try:
        report_graph = parse_turtle(output, base="urn:x-ekb-report:")
    except Exception as err:  # rdflib's parsers raise several kinds
        raise AssertionError(f"the Turtle report does not parse: {type(err).__name__}: {str(err)[:200]}") from None
    reports = list(report_graph.subjects(RDF.type, SH.ValidationReport))
    assert len(reports) == 1, f"the report holds {len(reports)} sh:ValidationReport"
    got_conforms, got = outline(report_graph, reports[0])
    want_conforms, want = outline(test.graph, test.result)
    assert got_conforms == want_conforms, f"sh:conforms {got_conforms}, expected {want_conforms}"
    assert got == want, (f"results differ: {sum((got - want).values())} unexpected, {sum((want - got).values())} "
                         f"missing\n  unexpected:\n{show(got - want)}\n  missing:\n{show(want - got)}")


@pytest.mark.filterwarnings("ignore:Parsing weird boolean:UserWarning")  # or-datatypes-001's "none"^^xsd:boolean
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("test", TESTS, ids=[t.id.removeprefix("shacl/") for t in TESTS])
def test_shacl(test, engine, tmp_path):
    check(test.id, engine, lambda: run_validate(test, engine, tmp_path))


def test_suite_complete_and_known_failures_current():
    assert len(TESTS) == 120
    assert stale_known_failures(("shacl/",), [t.id for t in TESTS], ENGINES) == []
