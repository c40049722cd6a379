"""Input limits, checked before any parser sees hostile input.

The SPARQL shapes here kill the process inside pyoxigraph's parser (a stack overflow: SIGSEGV), or stall it;
the guard must refuse them with 400 before the engine is called. One test shows, in a child process, that the
shape does crash the engine; the others show that the guard refuses it, and would fail without the limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from ekb import limits
from ekb.config import Settings
from ekb.errors import InputError, RdfSyntaxError
from ekb.guard import check_remote_access
from ekb.kb import KnowledgeBase
from ekb.linked_data import parse_document
from ekb.loader import parse_bytes

ROOT = Path(__file__).resolve().parents[1]


def nest(opening: str, middle: str, closing: str, depth: int) -> str:
    return opening * depth + middle + closing * depth


# (name, text): each crashed or stalled pyoxigraph 0.5.13 (see ekb.limits for the measured figures).
CRASH_QUERIES = [
    ("parens-10k", "SELECT * WHERE { BIND((" + nest("(", "1", ")", 10_000) + ") AS ?x) }"),
    ("bang-10k", "SELECT * WHERE { BIND((" + "!" * 10_000 + "true) AS ?x) }"),
    ("plus-100k", "SELECT * WHERE { BIND((" + "+".join(["1"] * 100_000) + ") AS ?x) }"),
    ("brackets-1k", "SELECT * WHERE { ?s <urn:p> " + nest("[ <urn:p> ", "?o", " ]", 1_000) + " }"),
    ("brackets-64", "SELECT * WHERE { ?s ?p " + nest("[ ?p ", "1", " ]", 64) + " }"),  # 0.3 s; 160: >10 s
    ("union-20k", "SELECT * WHERE { " + " UNION ".join(["{ BIND(1 AS ?u) }"] * 20_000) + " }"),
    ("braces-10k", "SELECT * WHERE { " + nest("{ ", "", "}", 10_000) + " }"),
    ("not-exists-3k", "SELECT * WHERE { " + nest("FILTER NOT EXISTS { ", "?s ?p ?o", " }", 3_000) + " }"),
    ("calls-1k", "SELECT * WHERE { BIND(" + nest("STR(", "1", ")", 1_000) + " AS ?x) }"),
    ("path-parens-10k", "SELECT * WHERE { ?s " + nest("(", "<urn:p>", ")", 10_000) + " ?o }"),
    ("collection-10k", "SELECT * WHERE { ?s <urn:p> " + nest("( ", "?o", " )", 10_000) + " }"),
    ("subqueries-21", "SELECT * WHERE " + nest("{ SELECT (COUNT(*) AS ?c) WHERE ", "{ ?s ?p ?o }", " GROUP BY ?s }", 21)),
    ("optional-300", "SELECT * WHERE { ?s ?p ?o " + " ".join(["OPTIONAL { ?s ?p ?o }"] * 300) + " }"),
    ("path-steps-600", "SELECT * WHERE { ?s " + "/".join(["<urn:p>"] * 600) + " ?o }"),
    ("minus-5k", "SELECT * WHERE { ?s ?p ?o " + " ".join(["MINUS { ?s ?p ?o }"] * 5_000) + " }"),
    # the same depth hidden in what a longest-match tokenizer reads as one IRI (`<(((...)))>` after an operand)
    ("parens-in-iri-operator", "SELECT * WHERE { FILTER(?a<" + nest("(", "1", ")", 5_000) + ">?b) }"),
    ("parens-in-iri-collection", "SELECT * WHERE { ?s ?p (?a <" + nest("(", "1", ")", 5_000) + ">) }"),
]
CRASH_UPDATES = [
    ("parens-10k", "DELETE { ?s <urn:p> ?s } WHERE { BIND((" + nest("(", "1", ")", 10_000) + ") AS ?x) }"),
    ("bang-10k", "DELETE { ?s <urn:p> ?s } WHERE { BIND((" + "!" * 10_000 + "true) AS ?x) }"),
    ("brackets-5k", "INSERT DATA { <urn:s> <urn:p> " + nest("[ <urn:p> ", "1", " ]", 5_000) + " }"),
    ("plus-100k", "DELETE { ?s <urn:p> ?s } WHERE { FILTER(" + "+".join(["1"] * 100_000) + ") }"),
    ("union-20k", "DELETE { ?s <urn:p> ?s } WHERE { " + " UNION ".join(["{ ?s ?p ?o }"] * 20_000) + " }"),
]


def test_the_shapes_crash_the_engine():
    """Run in child processes (a crash kills the interpreter): without the guard these kill the server."""
    for method, text in (("query", CRASH_QUERIES[0][1]), ("update", CRASH_UPDATES[2][1])):
        script = f"import sys, pyoxigraph as ox; r = ox.Store().{method}(sys.stdin.read()); list(r or [])"
        child = subprocess.run([sys.executable, "-c", script], input=text, capture_output=True, text=True, timeout=60)
        assert child.returncode < 0, f"{method} did not crash: {child.returncode} {child.stderr[-300:]}"


@pytest.mark.parametrize("text", [text for _, text in CRASH_QUERIES + CRASH_UPDATES],
                         ids=[f"query-{n}" for n, _ in CRASH_QUERIES] + [f"update-{n}" for n, _ in CRASH_UPDATES])
def test_the_guard_refuses_them(text):
    with pytest.raises(InputError, match=r"^the SPARQL request .*; the limit is [0-9,]+$"):
        check_remote_access(text, ())


class Unreachable:
    """A store the knowledge base must not reach."""

    def query(self, *args, **kwargs):
        raise AssertionError("the text reached the engine")

    update = query


def test_the_knowledge_base_refuses_them_before_the_engine(tmp_path):
    kb = KnowledgeBase(Settings(root=tmp_path), Unreachable())
    for _, text in CRASH_QUERIES[:3]:
        with pytest.raises(InputError):
            kb.sparql(text)
    for _, text in CRASH_UPDATES[:3]:
        with pytest.raises(InputError):
            kb.update(text)


def test_the_message_names_the_limit_and_the_place():
    with pytest.raises(InputError) as caught:
        check_remote_access("SELECT * WHERE {\n FILTER(" + nest("(", "1", ")", 5_000) + ") }", ())
    assert str(caught.value) == ("the SPARQL request nests brackets and prefix operators 5,002 deep "
                                 "(at line 2, column 5,008); the limit is 128")


def test_the_depth_limit_is_exact_and_its_edge_runs():
    at_limit = "SELECT * WHERE { FILTER(" + nest("(", "1", ")", limits.SPARQL_MAX_DEPTH - 2) + ") }"
    check_remote_access(at_limit, ())
    assert len(list(ox.Store().query(at_limit))) == 1
    with pytest.raises(InputError, match="129 deep"):
        check_remote_access(at_limit.replace("FILTER(", "FILTER((", 1).replace(") }", ")) }"), ())


def test_realistic_queries_pass():
    texts = [path.read_text(encoding="utf-8") for path in sorted((ROOT / "queries").glob("*.rq"))]
    assert texts
    texts += [  # in the style of the W3C SPARQL 1.1 test suite
        "PREFIX ex: <http://example.org/>\nSELECT ?h ?p ?o WHERE { VALUES (?h ?p) { (\"caller\" \"visible\") } "
        "ex:s (ex:p|ex:q)/ex:r ?o }",
        "SELECT ?x WHERE {\n  GRAPH ?g {\n    SELECT ?x {\n      VALUES ?x { 1 2 3 }\n    }\n    ORDER BY ?x\n"
        "    OFFSET 1\n    LIMIT 1\n  }\n}\n",
        "PREFIX : <http://example/>\n\nSELECT * {\n} ORDER BY EXISTS { ?s ?p ?o }\n",
        "SELECT ?v {\n  VALUES ?v {\n    \"a\\u0009\\u000A\\u000D\\u0008\\u000B\\u000C\\u0022\\u0027\\u005Ca\"\n  }\n}\n",
        "PREFIX : <http://example.org/> SELECT ?s (COUNT(?o) AS ?n) (GROUP_CONCAT(?o ; SEPARATOR=\", \") AS ?all)\n"
        "WHERE { ?s :p ?o FILTER(?o >= 1 && ?o < 10 || !BOUND(?o)) OPTIONAL { ?s :q [ :r ( 1 2 ( 3 ) ) ] } }\n"
        "GROUP BY ?s HAVING (COUNT(?o) > 1) ORDER BY DESC(?n) <http://example.org/f>(?s) LIMIT 10",
        "SELECT * { VALUES (?s ?o) { (<#a> <#b>) (<urn:x#c> UNDEF) } ?s ?p (<#a> <#b>) FILTER(?x<?y&&?y>?z) }",
    ]
    for text in texts:
        check_remote_access(text, ())


def test_too_many_readings_are_refused():
    text = "SELECT ?service WHERE { " + " ".join(["?s ?p (<#a> <#b>) ."] * 20) + " }"
    with pytest.raises(InputError, match="ambiguous"):
        check_remote_access(text, ())


@pytest.mark.parametrize("text", [
    # a plain lookup: decided from character counts
    "PREFIX ekb: <https://kb.example/def/ekb#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    "SELECT ?system ?label WHERE {\n  ?system a ekb:System ; rdfs:label ?label .\n"
    "  OPTIONAL { ?system ekb:hasAccountableOwner ?owner }\n  FILTER(CONTAINS(LCASE(?label), \"pay\"))\n"
    "} ORDER BY ?label LIMIT 50",
    # the same size, with words that make the guard read its tokens
    "PREFIX ekb: <https://kb.example/def/ekb#>\nSELECT ?service ?load WHERE {\n  ?service a ekb:SharedService ;\n"
    "    ekb:peakLoad ?load ; ekb:usedBy [ a ekb:BusinessUnit ] .\n  FILTER(?load > 10 && !isBlank(?service))\n"
    "  OPTIONAL { ?service ekb:hasAccountableOwner ?owner }\n} ORDER BY DESC(?load) LIMIT 50",
])
def test_the_guard_is_cheap(text):
    runs = 2000
    started = time.process_time()
    for _ in range(runs):
        check_remote_access(text, ())
    per_call = (time.process_time() - started) / runs
    assert per_call < 0.0002, f"{per_call * 1e6:.0f} µs per call"


# ---- RDF documents

def turtle(depth: int, opening: str = "[ ex:p ", closing: str = " ]") -> bytes:
    return ("@prefix ex: <http://example.org/> .\nex:s ex:p " + nest(opening, "1", closing, depth) + " .\n").encode()


@pytest.mark.parametrize("media_type,data", [
    ("text/turtle", turtle(300)),
    ("text/turtle", turtle(300, "( ", " )")),
    ("application/trig", b"{ " + turtle(300) + b" }"),
    ("text/n3", turtle(300)),
    ("text/n3", ("@prefix ex: <http://example.org/> .\nex:s ex:p " + nest("{ ex:s ex:p ", "1", " }", 300) + " .\n").encode()),
    # an escaped `#` in a local name does not start a comment that would hide the brackets after it
    ("text/turtle", ("@prefix ex: <http://example.org/> .\nex:s ex:p\\# " + nest("[ ex:p ", "1", " ]", 300) + " .\n").encode()),
    # nor does a `#` in an IRI that holds a \u escape
    ("text/turtle", ("@prefix ex: <http://example.org/> .\n<http://example.org/\\u0041#s> ex:p "
                     + nest("[ ex:p ", "1", " ]", 300) + " .\n").encode()),
])
def test_deep_turtle_is_refused(media_type, data):
    with pytest.raises(RdfSyntaxError, match="nested more than 256 deep"):
        parse_bytes(data, media_type, "request body")


def test_brackets_in_strings_iris_and_comments_do_not_count():
    data = ("@prefix ex: <http://example.org/> .\n"
            + "".join(f'ex:s{i} ex:p "(((([[[[" , """]]]((((""" ; ex:q ex:o . # (((([[[[\n' for i in range(200))
            + 'ex:s ex:p ' + nest("[ ex:p ", "1", " ]", 200) + " .\n").encode()
    assert len(parse_bytes(data, "text/turtle", "request body")) == 200 * 3 + 201


@pytest.mark.parametrize("parse", [
    lambda data: parse_bytes(data, "application/ld+json", "request body"),
    lambda data: parse_document(data, "request body"),
])
def test_deep_json_is_refused_before_json_loads(parse):
    shallow = json.dumps({"@id": "http://example.org/s", "http://example.org/p": {"@value": "[[[[{{{{" * 100}})
    assert parse(shallow.encode())
    nested = nest('{"http://example.org/p": ', '"x"', "}", 70)
    for deep in (b"[" * 100_000 + b"]" * 100_000, f'{{"@id": "urn:s", "http://example.org/p": {nested}}}'.encode()):
        with pytest.raises(RdfSyntaxError, match="nested more than 64 deep"):
            parse(deep)


RDF_NS = 'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/"'


def rdfxml(doctype: str, body: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [{doctype}]>\n<rdf:RDF {RDF_NS}>'
            f'<rdf:Description rdf:about="http://example.org/s">{body}</rdf:Description></rdf:RDF>').encode()


def test_rdfxml_entities_as_protege_writes_them_are_read():
    data = rdfxml('<!ENTITY ex "http://example.org/">', '<ex:p rdf:resource="&ex;o"/><ex:q>&ex;v</ex:q>')
    assert sorted(str(t) for t in parse_bytes(data, "application/rdf+xml", "request body")) == [
        '<http://example.org/s> <http://example.org/p> <http://example.org/o>',
        '<http://example.org/s> <http://example.org/q> "http://example.org/v"']


@pytest.mark.parametrize("data,reason", [
    (rdfxml('<!ENTITY a "lol">' + "".join(f'<!ENTITY a{i} "{("&a;" if i == 0 else f"&a{i - 1};") * 10}">' for i in range(9)),
            "<ex:p>&a8;</ex:p>"), "refers to another entity"),
    (rdfxml('<!ENTITY a "' + "a" * 50_000 + '">', "<ex:p>" + "&a;" * 20_000 + "</ex:p>"), "characters long"),
    (rdfxml('<!ENTITY a "' + "a" * 4_000 + '">', "<ex:p>" + "&a;" * 5_000 + "</ex:p>"), "would expand"),
    (rdfxml('<!ENTITY a "' + "a" * 4_000 + '">', '<ex:p ex:q="' + "&a;" * 5_000 + '"/>'), "would expand"),
    (rdfxml('<!ENTITY x SYSTEM "http://127.0.0.1:9/x">', "<ex:p>&x;</ex:p>"), "external entity"),
    (rdfxml('<!ENTITY % p "<!ENTITY x \'y\'>"> %p;', "<ex:p>x</ex:p>"), "parameter entity"),
    (b'<?xml version="1.0"?><!DOCTYPE rdf:RDF SYSTEM "http://127.0.0.1:9/x"><rdf:RDF ' + RDF_NS.encode()
     + b"/>", "external DTD"),
    (rdfxml('<!ENTITY a "x"><!ATTLIST ex:p ex:q CDATA "&a;&a;">', "<ex:p>x</ex:p>"), "ATTLIST"),
    (rdfxml("", nest("<ex:p><rdf:Description>", "", "</rdf:Description></ex:p>", 300)), "nested more than 512"),
    (rdfxml("", "<ex:p>x</ex:q>"), "not well-formed"),
])
def test_rdfxml_bombs_and_fetches_are_refused(data, reason):
    with pytest.raises(RdfSyntaxError, match=reason):
        parse_bytes(data, "application/rdf+xml", "request body")


def test_a_10_mib_entity_bomb_is_refused_fast_and_small():
    """In a child, so that its peak memory is its own: built, checked, and the cost measured around the check."""
    script = textwrap.dedent("""
        import resource, sys, time
        from ekb.errors import RdfSyntaxError
        from ekb.limits import check_rdfxml
        entity = "a" * 4_000
        head = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "{entity}">]><r>'.encode()
        data = head + b"&a;" * ((10 * 1024 * 1024 - len(head) - 10) // 3) + b"</r>"
        before, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
        try:
            check_rdfxml(data, "body")
        except RdfSyntaxError:
            pass
        else:
            sys.exit("not refused")
        print(len(data), time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
    """)
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    size, seconds, kib = child.stdout.split()
    assert int(size) < 10 * 1024 * 1024 and float(seconds) < 1 and int(kib) < 50 * 1024


def remote_contexts(host: str) -> list[dict]:
    url = f"http://{host}/context"
    node = {"@id": "urn:s", "name": "x"}
    return [
        {"@context": url, "@graph": [node]},
        {"@context": [url, {"ex": "http://example.org/"}], "@graph": [node]},
        {"@context": {"@version": 1.1, "@import": url}, "@graph": [node]},
        {"@context": {"@version": 1.1, "p": {"@id": "http://example.org/p", "@context": url}},
         "@graph": [{"@id": "urn:s", "p": {"name": "x"}}]},
        {"@context": f"//{host}/context", "@graph": [node]},
        {"@context": "file:///etc/passwd", "@graph": [node]},
    ]


def test_jsonld_remote_contexts_are_refused_without_a_connection(listener):
    host, hits = listener
    for document in remote_contexts(host):
        data = json.dumps(document).encode()
        with pytest.raises(InputError):
            parse_document(data, "request body")
        with pytest.raises(InputError):
            parse_bytes(data, "application/ld+json", "request body")
    assert hits == []


@pytest.mark.parametrize("document", [
    {"@id": "urn:s", "http://example.org/p": {"@value": "x", "@language": "en .\n<urn:a> <urn:b> <urn:c> .\n#"}},
    {"@id": "urn:s", "http://example.org/p": {"@value": "x", "@language": "en US"}},
])
def test_jsonld_that_expands_to_invalid_rdf_is_an_input_error(document):
    with pytest.raises(InputError, match="invalid object"):
        parse_document(json.dumps(document).encode(), "request body")
