"""Reading the W3C manifests into test cases, and replaying a case under the known-failure bookkeeping.

The manifests are read with rdflib, each file with its own file: URL as base, so that `<>` and relative IRIs
resolve as the suites intend (`<data1.nt>` is the file beside the manifest).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import rdflib
from rdflib import RDF, RDFS, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.term import Node

from tests.w3c.known_failures import KNOWN_FAILURES

HERE = Path(__file__).resolve().parent
SPARQL11 = HERE / "rdf-tests" / "sparql" / "sparql11"
SHACL_TESTS = HERE / "data-shapes" / "data-shapes-test-suite" / "tests"

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = Namespace("http://www.w3.org/2011/http#")
CNT = Namespace("http://www.w3.org/2011/content#")
UT = Namespace("http://www.w3.org/2009/sparql/tests/test-update#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")

# The named codes of the http-statusCodes vocabulary that the manifests use; `StatusCodeNxx` is a whole class.
NAMED_STATUS = {"OK": 200, "Created": 201, "NoContent": 204, "BadRequest": 400, "NotFound": 404,
                "MethodNotAllowed": 405, "UnsupportedMediaType": 415}


# --- known failures -------------------------------------------------------------------------------------------

def known_failure(test_id: str, variant: str) -> str | None:
    """The recorded reason `test_id` fails on `variant` (a key `id@variant` is for that variant only), or None."""
    return KNOWN_FAILURES.get(f"{test_id}@{variant}") or KNOWN_FAILURES.get(test_id)


def check(test_id: str, variant: str, run: Callable[[], None]) -> None:
    """Run one W3C test. A test in known_failures must still fail (it is reported as xfailed with the recorded
    reason); one that passes errors, so the list only ever shrinks. Every other test must pass."""
    reason = known_failure(test_id, variant)
    if reason is None:
        run()
        return
    try:
        run()
    except AssertionError as failure:
        measured = str(failure).strip().splitlines()[0] if str(failure).strip() else type(failure).__name__
        pytest.xfail(f"known failure: {reason} | now: {measured[:300]}")
    pytest.fail(f"{test_id} [{variant}] passes now: remove it from known_failures (tests/w3c/known_failures.py); "
                f"recorded reason was: {reason}", pytrace=False)


def stale_known_failures(prefixes: tuple[str, ...], ids: Iterable[str], variants: Iterable[str]) -> list[str]:
    """Keys under `prefixes` that name no test (or no variant) of this suite: a typo would hide nothing, but
    would also never be removed."""
    ids, variants = list(ids), list(variants)
    valid = set(ids) | {f"{i}@{v}" for i in ids for v in variants}
    return sorted(k for k in KNOWN_FAILURES if k.startswith(prefixes) and k not in valid)


# --- manifest helpers -------------------------------------------------------------------------------------------

@contextmanager
def exact_literals() -> Iterator[None]:
    """rdflib rewrites a literal's lexical form to its canonical one when it parses it (and an ill-formed
    "none"^^xsd:boolean to "false"); RDF terms are compared as written, so not while reading the suites' files
    and the reports under test."""
    saved = rdflib.NORMALIZE_LITERALS
    rdflib.NORMALIZE_LITERALS = False
    try:
        yield
    finally:
        rdflib.NORMALIZE_LITERALS = saved


def parse_turtle(path: Path, base: str | None = None) -> rdflib.Graph:
    """A Turtle file, literals as written. Some SHACL tests hold ill-formed literals on purpose: rdflib's warnings
    about them are silenced."""
    graph = rdflib.Graph()
    with exact_literals(), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        graph.parse(path, format="turtle", publicID=base or path.as_uri())
    return graph


def local_path(iri: Node) -> Path:
    parts = urlsplit(str(iri))
    assert parts.scheme == "file", f"{iri} is not a file of the suite"
    return Path(unquote(parts.path))


def items(graph: rdflib.Graph, head: Node | None) -> list[Node]:
    return list(Collection(graph, head)) if head is not None else []


def includes(graph: rdflib.Graph, manifest: Node) -> Iterator[Node]:
    """mf:include values: one IRI per triple (data-shapes) or one RDF list (rdf-tests)."""
    for value in graph.objects(manifest, MF.include):
        if isinstance(value, URIRef) and value != RDF.nil:
            yield value
        else:
            yield from items(graph, value)


def entries(path: Path) -> tuple[rdflib.Graph, list[Node]]:
    """A manifest's graph and its mf:entries, in order, following mf:include."""
    graph = parse_turtle(path)
    manifest = URIRef(path.as_uri())
    found = items(graph, graph.value(manifest, MF.entries))
    for included in includes(graph, manifest):
        sub, more = entries(local_path(included))
        graph += sub
        found += more
    return graph, found


def name_of(node: Node) -> str:
    return str(node).rsplit("#", 1)[-1]


# --- HTTP tests (SPARQL Protocol, Graph Store Protocol) -----------------------------------------------------------

@dataclass
class Expected:
    statuses: list[tuple[str, range]]
    boolean: bool | None = None
    result_format: str | None = None  # "boolean", "tabular" or "RDF"
    location_variable: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None

    def status_names(self) -> str:
        return " or ".join(name for name, _ in self.statuses)


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes | None
    expected: Expected


@dataclass
class HttpTest:
    id: str
    name: str
    requires: list[str]
    graph_data: list[tuple[Path, str]]
    requests: list[HttpRequest]


def _status(node: Node) -> tuple[str, range]:
    name = name_of(node)
    if match := re.fullmatch(r"StatusCode(\d)xx", name):
        low = int(match.group(1)) * 100
        return f"{match.group(1)}xx", range(low, low + 100)
    code = NAMED_STATUS[name]
    return f"{code} {name}", range(code, code + 1)


def _headers(graph: rdflib.Graph, node: Node) -> list[tuple[str, str]]:
    return [(str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
            for h in items(graph, graph.value(node, HT.headers))]


def _chars(graph: rdflib.Graph, node: Node) -> tuple[str, str] | None:
    body = graph.value(node, HT.body)
    if body is None:
        return None
    return str(graph.value(body, CNT.chars)), str(graph.value(body, CNT.characterEncoding) or "UTF-8")


def _request(graph: rdflib.Graph, node: Node) -> HttpRequest:
    response = graph.value(node, HT.resp)
    boolean = graph.value(response, MF.expectedBoolean)
    fmt = graph.value(response, MF.expectedFormat)
    location = graph.value(response, MF.expectedLocation)
    expected_body = _chars(graph, response)
    expected = Expected(statuses=sorted((_status(s) for s in graph.objects(response, MF.expectedStatus)),
                                        key=lambda s: s[1].start),
                        boolean=None if boolean is None else bool(boolean.toPython()),
                        result_format=None if fmt is None else str(fmt),
                        location_variable=None if location is None else str(location),
                        headers=_headers(graph, response),
                        body=None if expected_body is None else expected_body[0])
    body = _chars(graph, node)
    return HttpRequest(method=str(graph.value(node, HT.methodName)), path=str(graph.value(node, HT.absolutePath)),
                       headers=_headers(graph, node), body=None if body is None else body[0].encode(body[1]),
                       expected=expected)


def http_tests(suite: str, manifest: Path) -> list[HttpTest]:
    """The tests listed in a manifest's mf:entries (through its includes), each as its requests in order."""
    graph, tests = entries(manifest)
    cases = []
    for test in tests:
        action = graph.value(test, MF.action)
        data = sorted((local_path(graph.value(d, UT.graph)), str(graph.value(d, RDFS.label)))
                      for d in graph.objects(test, UT.graphData))
        cases.append(HttpTest(id=f"{suite}/{name_of(test)}", name=str(graph.value(test, MF.name)),
                              requires=sorted(name_of(r) for r in graph.objects(test, MF.requires)),
                              graph_data=data,
                              requests=[_request(graph, r) for r in items(graph, graph.value(action, HT.requests))]))
    return cases


def protocol_tests() -> list[HttpTest]:
    return http_tests("protocol", SPARQL11 / "protocol" / "manifest.ttl")


def graph_store_tests() -> list[HttpTest]:
    # manifest-direct.ttl also defines gsp:head_non_existing_direct, but leaves it out of its mf:entries: like the
    # WG's count (13), it is not run here.
    return http_tests("graph-store", SPARQL11 / "graph-store-protocol" / "manifest.ttl")


def service_description_tests() -> list[tuple[str, str]]:
    graph, tests = entries(SPARQL11 / "service-description" / "manifest.ttl")
    return [(f"service-description/{name_of(t)}", str(graph.value(t, MF.name))) for t in tests]


# --- SHACL -------------------------------------------------------------------------------------------------------

@dataclass
class ShaclTest:
    id: str
    label: str
    data: Path
    shapes: Path
    graph: rdflib.Graph  # the test file: it holds the expected report
    result: Node  # the expected sh:ValidationReport in `graph`


def shacl_tests() -> list[ShaclTest]:
    """The sht:Validate tests with mf:status sht:approved, in manifest order."""
    root = SHACL_TESTS.as_uri() + "/"
    found: list[ShaclTest] = []

    def visit(path: Path) -> None:
        graph = parse_turtle(path)
        manifest = URIRef(path.as_uri())
        for included in includes(graph, manifest):
            visit(local_path(included))
        for test in items(graph, graph.value(manifest, MF.entries)):
            if (test, RDF.type, SHT.Validate) not in graph or (test, MF.status, SHT.approved) not in graph:
                continue
            action = graph.value(test, MF.action)
            found.append(ShaclTest(id="shacl/" + str(test).removeprefix(root), label=str(graph.value(test, RDFS.label)),
                                   data=local_path(graph.value(action, SHT.dataGraph)),
                                   shapes=local_path(graph.value(action, SHT.shapesGraph)),
                                   graph=graph, result=graph.value(test, MF.result)))

    visit(SHACL_TESTS / "manifest.ttl")
    return found
