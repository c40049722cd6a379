"""Tests written to kill mutants that survived the rest of the suite (issue 14), and the fast, direct tests that
`make mutate` runs against the modules where a silent break hurts most: authentication, the gate and its
findings, parameter binding, graph names and limits. Each test names the behaviour it pins down; the README's
"Mutation testing" section lists the mutants and what kills them."""

from __future__ import annotations

import json
import os
import threading
import time
from types import SimpleNamespace

import pyoxigraph as ox
import pytest
from starlette.requests import Request

from ekb.api.protocol import parse_int, parse_iri, require_write_token
from ekb.config import (
    DATA_GRAPH_FILTER,
    DATA_GRAPH_PREFIX,
    HISTORY_GRAPH,
    INFERRED_GRAPH,
    LOAD_MANIFEST_GRAPH,
    ONTOLOGY_GRAPH,
    PROTECTED_GRAPHS,
    SHAPES_GRAPH,
    STAGING_PREFIX,
    Settings,
    expand,
    is_data_graph,
)
from ekb.errors import InputError, QueryTimeout, Unauthorized
from ekb.findings import Finding, Report
from ekb.gate import Delta
from ekb.kb import KnowledgeBase
from ekb.store import EmbeddedStore
from tests import web
from tests.conftest import ROOT

ID = "https://kb.quantum-energy.example/id/"
A, B = DATA_GRAPH_PREFIX + "a", DATA_GRAPH_PREFIX + "b"


def triple(s: str, p: str = "urn:p", o: str = "urn:o") -> ox.Triple:
    return ox.Triple(ox.NamedNode(s), ox.NamedNode(p), ox.NamedNode(o))


# --- authentication: writes are closed without a write token ---------------------------------------------------------

def request_with(token: str | None, authorization: bytes | None = None) -> Request:
    """A request as a route sees it, on a server whose write token is `token`."""
    kb = SimpleNamespace(settings=Settings(root=ROOT, write_token=token))
    headers = [(b"authorization", authorization)] if authorization is not None else []
    return Request({"type": "http", "headers": headers, "app": SimpleNamespace(state=SimpleNamespace(kb=kb))})


CLOSED = ("writes are closed on this server: start it with a write token (EKB_WRITE_TOKEN or --write-token-file) "
          "to allow them")
NEEDS_TOKEN = "a write needs the header 'Authorization: Bearer <write token>'"


@pytest.mark.parametrize("token", [None, ""])
@pytest.mark.parametrize("authorization", [None, b"", b"Bearer ", b"Bearer anything", b"Bearer None"])
def test_without_a_write_token_every_write_is_refused(token, authorization):
    with pytest.raises(Unauthorized) as refused:
        require_write_token(request_with(token, authorization))
    assert str(refused.value) == CLOSED


@pytest.mark.parametrize("authorization", [b"Bearer s3cret", b"bearer s3cret", b"BEARER s3cret", b"Bearer   s3cret  "])
def test_the_bearer_token_opens_writes(authorization):
    assert require_write_token(request_with("s3cret", authorization)) is None


@pytest.mark.parametrize("authorization", [None, b"", b"s3cret", b"Bearer", b"Bearer ", b"Bearer s3cre", b"Bearer s3cret2",
                                           b"Basic s3cret", b"Bearers3cret", b"xearer s3cret", b"Bearer S3CRET",
                                           b"Token s3cret", "Bearer s3cr\u00e9t".encode("latin-1")])
def test_anything_else_is_refused(authorization):
    with pytest.raises(Unauthorized) as refused:
        require_write_token(request_with("s3cret", authorization))
    assert str(refused.value) == NEEDS_TOKEN


@pytest.mark.parametrize("authorization", [None, b"Basic XXXX", b"XXXX", b"Bearer: XXXX"])
def test_only_a_bearer_header_can_carry_the_token(authorization):
    """Whatever the token is, a header that is not 'Bearer <token>' (or no header) never matches it."""
    with pytest.raises(Unauthorized) as refused:
        require_write_token(request_with("XXXX", authorization))
    assert str(refused.value) == NEEDS_TOKEN


def test_a_non_ascii_token_is_compared_as_utf8_bytes():
    assert require_write_token(request_with("jeton-\u00e9", "Bearer jeton-\u00e9".encode())) is None
    with pytest.raises(Unauthorized):
        require_write_token(request_with("jeton-\u00e9", "Bearer jeton-\u00e9".encode("latin-1")))


def test_every_write_route_is_closed_without_a_token(api):
    """The `api` servers (embedded and remote) have no write token: each write route answers 401 and stores
    nothing, whatever the request carries."""
    def state():
        return api.kb.store.counts(), web.get(api.url + "/governance/history").json()

    before = state()
    triple_nt = b"<urn:closed:a> <urn:closed:p> <urn:closed:b> ."
    update = f"INSERT DATA {{ GRAPH <{DATA_GRAPH_PREFIX}closed> {{ {triple_nt.decode()} }} }}"
    document = json.dumps({"@context": {"name": "http://www.w3.org/2000/01/rdf-schema#label"},
                           "@id": ID + "system/closed", "name": "Closed"})
    for auth in ({}, {"Authorization": "Bearer anything"}):
        writes = {
            "PUT /store": web.put(api.url + "/store", params={"graph": DATA_GRAPH_PREFIX + "closed"}, content=triple_nt,
                                  headers={**auth, "Content-Type": "application/n-triples"}),
            "POST /store": web.post(api.url + "/store", params={"graph": DATA_GRAPH_PREFIX + "closed"}, content=triple_nt,
                                    headers={**auth, "Content-Type": "application/n-triples"}),
            "DELETE /store": web.delete(api.url + "/store", params={"graph": DATA_GRAPH_PREFIX + "sources"}, headers=auth),
            "POST /sparql (update)": web.post(api.url + "/sparql", content=update,
                                              headers={**auth, "Content-Type": "application/sparql-update"}),
            "POST /sparql (form)": web.post(api.url + "/sparql", data={"update": update}, headers=auth),
            "POST /import": web.post(api.url + "/import", content=document,
                                     headers={**auth, "Content-Type": "application/ld+json"}),
            "POST /governance/report": web.post(api.url + "/governance/report",
                                                headers={**auth, "Accept": "application/json"}),
        }
        for route, response in writes.items():
            assert response.status_code == 401, (route, response.status_code, response.text)
            assert "writes are closed on this server" in response.json()["message"], route
    assert state() == before


# --- the gate: a Delta's removals reach every data graph ------------------------------------------------------------------

def test_a_delta_removes_from_every_data_graph_and_adds_to_its_own():
    store = EmbeddedStore()
    only_in_b, in_both, kept = triple("urn:x:b"), triple("urn:x:both"), triple("urn:x:kept")
    body = ox.serialize([in_both, kept], format=ox.RdfFormat.N_TRIPLES)
    protected = (SHAPES_GRAPH, INFERRED_GRAPH, ONTOLOGY_GRAPH, STAGING_PREFIX + "run/x")
    store.replace_graphs({A: body, B: body + ox.serialize([only_in_b], format=ox.RdfFormat.N_TRIPLES),
                          **{graph: body for graph in protected}})
    added = triple("urn:x:new")
    Delta(A, added=(added,), removed=(only_in_b, in_both)).apply(store)
    assert {q.triple for q in store.quads(A)} == {kept, added}
    assert {q.triple for q in store.quads(B)} == {kept}
    for graph in protected:  # derived or load-managed: a Delta never writes there
        assert store.count(graph) == 2, graph
    Delta(B).apply(store)  # nothing to do
    assert store.count() == 11


def test_a_delta_touches_resources_not_classes_or_terms():
    iri = ox.NamedNode
    delta = Delta(A, added=(ox.Triple(iri(ID + "a"), iri("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                                      iri(ID + "class-like")),
                            ox.Triple(iri(ID + "a"), iri("urn:p"), ox.Literal("x"))),
                  removed=(ox.Triple(ox.BlankNode("b"), iri("urn:p"), iri(ID + "c")),
                           ox.Triple(iri(ID + "d"), iri("urn:p"), iri("https://kb.quantum-energy.example/def/core/Term"))))
    assert delta.touched() == {ID + "a", ID + "c", ID + "d"}


# --- findings: what makes a finding the same finding -----------------------------------------------------------------------

FINDING = Finding(rule="urn:rule", rule_name="A rule", severity="Violation", focus="urn:focus", focus_label="Focus",
                  focus_type="thing", message="is wrong", constraint="InConstraintComponent", prop="type",
                  value="Refund", owner="urn:owner", owner_label="Owner")


@pytest.mark.parametrize("field", ["rule", "focus", "prop", "value", "constraint"])
def test_a_finding_differing_in_any_part_of_its_key_is_another_finding(field):
    from dataclasses import replace

    other = replace(FINDING, **{field: getattr(FINDING, field) + "-other"})
    assert other.key != FINDING.key


def test_wording_labels_and_severity_are_not_part_of_the_key():
    from dataclasses import replace

    reworded = replace(FINDING, rule_name="Renamed", focus_label="Other label", focus_type="", message="reads otherwise",
                       owner="", owner_label="")
    assert reworded.key == FINDING.key


def test_a_finding_reads_as_a_sentence():
    assert FINDING.sentence == "Violation: Focus (thing) is wrong. Rule: A rule. Owner to fix: Owner."
    from dataclasses import replace

    bare = replace(FINDING, focus_type="", owner_label="")
    assert bare.sentence == "Violation: Focus is wrong. Rule: A rule. Owner to fix: no accountable owner recorded."
    assert FINDING.as_json()["sentence"] == FINDING.sentence and FINDING.as_json()["value"] == "Refund"


def test_a_report_counts_and_fails_at_its_threshold():
    from dataclasses import replace

    report = Report([FINDING, replace(FINDING, severity="Warning", value="w"), replace(FINDING, severity="Info", value="i"),
                     replace(FINDING, severity="Info", value="j", rule="urn:other")], {}, "engine", "now", 0.1234, 10)
    assert report.counts == {"Violation": 1, "Warning": 1, "Info": 2}
    assert report.by_rule() == {"urn:rule": 3, "urn:other": 1}
    assert [report.fails(level) for level in ("violation", "Warning", "INFO", "none")] == [True, True, True, False]
    infos_only = Report([replace(FINDING, severity="Info")], {}, "engine", "now", 0.0, 1)
    assert [infos_only.fails(level) for level in ("violation", "warning", "info", "none")] == [False, False, True, False]
    as_json = report.as_json()
    assert as_json["conforms"] is False and as_json["seconds"] == 0.123 and as_json["validatedTriples"] == 10
    assert Report([], {}, "engine", "now", 0.0, 0).as_json()["conforms"] is True
    warnings_only = Report([replace(FINDING, severity="Warning")], {}, "engine", "now", 0.0, 1)
    assert [warnings_only.fails(level) for level in ("violation", "warning", "info", "none")] == [False, True, True, False]
    with pytest.raises(KeyError):
        report.fails("sometimes")


def test_a_report_as_json_names_every_rule_with_its_count():
    from dataclasses import replace

    from ekb.findings import Rule

    rules = {iri: Rule(iri, name, "why", "Violation", ("source",)) for iri, name in
             (("urn:rule", "A rule"), ("urn:quiet", "A rule nothing breaks"))}
    report = Report([FINDING, replace(FINDING, value="other")], rules, "pyshacl-turbo", "2026-01-01T00:00:00Z", 1.0, 5)
    assert report.as_json() == {
        "conforms": False, "engine": "pyshacl-turbo", "started": "2026-01-01T00:00:00Z", "seconds": 1.0,
        "validatedTriples": 5, "counts": {"Violation": 2, "Warning": 0, "Info": 0},
        "rules": [{"iri": "urn:rule", "name": "A rule", "description": "why", "severity": "Violation",
                   "sources": ("source",), "findings": 2},
                  {"iri": "urn:quiet", "name": "A rule nothing breaks", "description": "why", "severity": "Violation",
                   "sources": ("source",), "findings": 0}],
        "findings": [FINDING.as_json(), replace(FINDING, value="other").as_json()]}


# --- the query deadline ---------------------------------------------------------------------------------------------

RUNAWAY = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


def process_cpu_seconds() -> float:
    """CPU seconds used so far by this process, all its threads included."""
    with open(f"/proc/{os.getpid()}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_an_in_process_query_is_stopped_at_its_deadline(loaded_kb):
    """Without worker processes (an in-memory store), the engine's answer is streamed through a sink that checks
    the deadline: past it the query stops, in its own thread, and the CPU is idle again."""
    timeout = 1.5
    kb = KnowledgeBase(Settings(root=ROOT, query_timeout_s=timeout, max_result_bytes=1024**3), loaded_kb.store)
    outcome: dict[str, object] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            kb.sparql(RUNAWAY)
        except Exception as err:  # noqa: BLE001 - the outcome is what the test reads
            outcome["error"] = err
        outcome["elapsed"] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)  # a mutant that never stops must not hang the run
    thread.start()
    thread.join(timeout + 10)
    assert not thread.is_alive(), "the query was not stopped at its deadline"
    assert isinstance(outcome["error"], QueryTimeout) and outcome["elapsed"] < timeout + 10
    time.sleep(0.3)
    before = process_cpu_seconds()
    time.sleep(0.5)
    assert process_cpu_seconds() - before < 0.25, "something still computes after the deadline"


def test_a_query_within_its_deadline_and_size_is_answered(loaded_kb):
    answer = loaded_kb.store.query("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3", timeout_s=30, max_bytes=10_000)
    assert answer.kind == "solutions" and len(json.loads(answer.body)["results"]["bindings"]) == 3


# --- input checks: IRIs and integers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["https://kb.quantum-energy.example/id/x", "urn:a", "http://e/x?y=1#z"])
def test_parse_iri_keeps_a_valid_iri(text):
    assert parse_iri(text, "the graph parameter") == text


@pytest.mark.parametrize("text", ["", "not an iri", "http://e/<x>", "x> } ; DROP ALL ; <y", "http://e/\"x"])
def test_parse_iri_refuses_what_could_break_a_query(text):
    with pytest.raises(InputError, match=r"^the graph parameter .* is not a valid IRI"):
        parse_iri(text, "the graph parameter")


@pytest.mark.parametrize(("text", "low", "high", "value"), [("0", 0, None, 0), ("1", 1, None, 1), ("7", 1, 7, 7),
                                                             ("007", 1, 10, 7), ("123456789", 0, None, 123456789)])
def test_parse_int_accepts_decimal_integers_within_bounds(text, low, high, value):
    assert parse_int(text, "page", low, high) == value


@pytest.mark.parametrize(("text", "low", "high"), [("0", 1, None), ("8", 1, 7), ("-1", 0, None), ("", 0, None),
                                                   ("1.5", 0, None), ("\u00b2", 0, None), ("\u0661", 0, None),
                                                   (" 1", 0, None), ("1e3", 0, None), ("+1", 0, None)])
def test_parse_int_refuses_anything_else(text, low, high):
    with pytest.raises(InputError) as refused:
        parse_int(text, "page", low, high)
    bounds = f"from {low}" + (f" to {high}" if high is not None else "")
    assert str(refused.value) == f"page must be an integer {bounds}, not {text!r}"


# --- graph names ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("graph", [DATA_GRAPH_PREFIX + "capabilities", DATA_GRAPH_PREFIX + "imported", ONTOLOGY_GRAPH,
                                   "urn:g:any", STAGING_PREFIX[:-1]])
def test_data_graphs(graph):
    assert is_data_graph(graph)


@pytest.mark.parametrize("graph", [SHAPES_GRAPH, INFERRED_GRAPH, HISTORY_GRAPH, LOAD_MANIFEST_GRAPH, STAGING_PREFIX,
                                   STAGING_PREFIX + "run/" + DATA_GRAPH_PREFIX + "x"])
def test_derived_graphs_are_not_data(graph):
    assert not is_data_graph(graph)


def test_the_sparql_filter_agrees_with_is_data_graph():
    graphs = [DATA_GRAPH_PREFIX + "a", ONTOLOGY_GRAPH, "urn:g:any", SHAPES_GRAPH, INFERRED_GRAPH, HISTORY_GRAPH,
              LOAD_MANIFEST_GRAPH, STAGING_PREFIX + "x", STAGING_PREFIX[:-1]]
    store = EmbeddedStore()
    store.replace_graphs({g: b"<urn:s> <urn:p> <urn:o> ." for g in graphs})
    found = {row["g"].value for row in store.select(f"SELECT ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {DATA_GRAPH_FILTER} }}")}
    assert found == {g for g in graphs if is_data_graph(g)} == {DATA_GRAPH_PREFIX + "a", ONTOLOGY_GRAPH, "urn:g:any",
                                                                STAGING_PREFIX[:-1]}


def test_graph_names_are_the_published_ones():
    graph = "https://kb.quantum-energy.example/graph/"
    names = ("ontology", "shapes", "inferred", "governance-history", "load-manifest", "data/", "staging/")
    published = (ONTOLOGY_GRAPH, SHAPES_GRAPH, INFERRED_GRAPH, HISTORY_GRAPH, LOAD_MANIFEST_GRAPH, DATA_GRAPH_PREFIX,
                 STAGING_PREFIX)
    assert published == tuple(graph + name for name in names)
    assert set(PROTECTED_GRAPHS) == {ONTOLOGY_GRAPH, SHAPES_GRAPH, INFERRED_GRAPH, HISTORY_GRAPH, LOAD_MANIFEST_GRAPH}
    assert expand("rdfs:label") == "http://www.w3.org/2000/01/rdf-schema#label"
    assert expand("ekb:System") == "https://kb.quantum-energy.example/def/core/System"
    assert expand("ekb:a:b") == "https://kb.quantum-energy.example/def/core/a:b"  # the first colon ends the prefix
    with pytest.raises(ValueError, match="unknown prefix 'nope' in 'nope:x'"):
        expand("nope:x")


def test_the_prologue_declares_every_prefix_once():
    from ekb.config import PREFIXES, sparql_prologue

    prologue = sparql_prologue()
    assert prologue.splitlines() == [f"PREFIX {p}: <{iri}>" for p, iri in PREFIXES.items()]
    assert prologue.endswith(">\n") and len(PREFIXES) >= 13


def test_settings_name_the_project_folders(tmp_path):
    settings = Settings(root=tmp_path)
    assert (settings.ontology_dir, settings.shapes_dir, settings.data_dir, settings.queries_dir) == (
        tmp_path / "ontology", tmp_path / "shapes", tmp_path / "data", tmp_path / "queries")
    assert settings.write_token is None and settings.gate_full_max_triples == 20_000 and settings.query_timeout_s == 30.0


# --- parameter binding (the curated queries) ------------------------------------------------------------------------------

XSD = "http://www.w3.org/2001/XMLSchema#"


def typed(kind: str):
    from ekb.library import Parameter

    return Parameter("p", "_p_" + kind, "typed", XSD + kind)


@pytest.mark.parametrize(("kind", "raw", "lexical"), [
    ("integer", "42", "42"), ("integer", "007", "7"), ("integer", "-3", "-3"), ("decimal", "1.50", "1.50"),
    ("decimal", "2", "2"), ("double", "1", "1.0"), ("double", "2.5e3", "2500.0"), ("boolean", "true", "true"),
    ("boolean", "FALSE", "false"), ("boolean", "1", "true"), ("boolean", "0", "false"),
    ("date", "2026-01-02", "2026-01-02"), ("dateTime", "2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"),
    ("dateTime", "2026-01-02T03:04:05+01:00", "2026-01-02T03:04:05+01:00"), ("dateTime", "2026-01-02T03:04:05",
                                                                             "2026-01-02T03:04:05"),
    ("string", "a } b", "a } b"), ("gYear", "2026", "2026")])
def test_typed_values_are_bound_as_canonical_literals(kind, raw, lexical):
    assert typed(kind).term(raw) == ox.Literal(lexical, datatype=ox.NamedNode(XSD + kind))


@pytest.mark.parametrize(("kind", "raw"), [("integer", "4.2"), ("integer", "42 } "), ("integer", ""), ("decimal", "x"),
                                           ("double", "one"), ("boolean", "yes"), ("boolean", ""), ("date", "2026-13-01"),
                                           ("date", "2026-01-02T00:00:00"), ("dateTime", "tomorrow")])
def test_bad_typed_values_are_refused_with_the_type(kind, raw):
    with pytest.raises(InputError) as refused:
        typed(kind).term(raw)
    assert str(refused.value) == f"parameter p: {raw!r} is not a valid xsd:{kind}"


def test_iri_language_and_plain_values_are_bound_as_terms():
    from ekb.library import Parameter

    iri = Parameter("element", "_element_iri", "iri")
    assert iri.term(ID + "system/scada") == ox.NamedNode(ID + "system/scada")
    assert iri.term("urn:x:y") == ox.NamedNode("urn:x:y")
    assert iri.term("HTTP://E/x") == ox.NamedNode("HTTP://E/x") and iri.term("Urn:X") == ox.NamedNode("Urn:X")
    for relative in ("system/scada", "x> } ; DROP ALL ; <y", ":x", "1http://e/x", ""):
        with pytest.raises(InputError, match=r"^parameter element: .* is not an absolute IRI \(.+\)$"):
            iri.term(relative)
    with pytest.raises(InputError, match=r"^parameter element: 'http://e/<x>' is not an absolute IRI \(.+\)$"):
        iri.term("http://e/<x>")
    assert Parameter("label", "_label_en", "lang", language="en").term("Meter") == ox.Literal("Meter", language="en")
    assert Parameter("text", "_text", "literal").term('a" } ; DROP ALL #') == ox.Literal('a" } ; DROP ALL #')


@pytest.mark.parametrize(("prefix", "body", "expected"), [
    ("_", "entity_iri", ("entity", "iri", None, None, True)),
    ("__", "unit_iri", ("unit", "iri", None, None, False)),
    ("_", "day_xsd_date", ("day", "typed", XSD + "date", None, True)),
    ("_", "n_integer", ("n", "typed", XSD + "integer", None, True)),
    ("_", "flag_boolean", ("flag", "typed", XSD + "boolean", None, True)),
    ("_", "label_en", ("label", "lang", None, "en", True)),
    ("_", "text", ("text", "literal", None, None, True)),
    ("_", "name_string", ("name_string", "literal", None, None, True)),
    ("_", "long_name_iri", ("long_name", "iri", None, None, True)),
    ("_", "iri", ("iri", "literal", None, None, True)),
    ("_", "max_count_integer", ("max_count", "typed", XSD + "integer", None, True)),
    ("_", "x_string_integer", ("x_string", "typed", XSD + "integer", None, True)),
    ("_", "since_day_xsd_date", ("since_day", "typed", XSD + "date", None, True)),
    ("_", "long_label_en", ("long_label", "lang", None, "en", True)),
    ("_", "a_b_c", ("a_b_c", "literal", None, None, True)),
])
def test_parameters_are_read_from_variable_names_as_grlc_does(prefix, body, expected):
    from ekb.library import parse_parameter

    param = parse_parameter(prefix, body, {}, {})
    assert (param.name, param.kind, param.datatype, param.language, param.required) == expected
    assert param.variable == prefix + body and param.default is None and param.enum == ()


def test_defaults_make_a_parameter_optional_and_enumerations_restrict_it():
    from ekb.library import parse_parameter

    param = parse_parameter("_", "n_integer", {"n": 10}, {"n": [1, 2, 10]})
    assert (param.required, param.default, param.enum) == (False, "10", ("1", "2", "10"))
    by_variable = parse_parameter("_", "n_integer", {"n_integer": 3}, {"n_integer": ["3"]})
    assert (by_variable.required, by_variable.default, by_variable.enum) == (False, "3", ("3",))
    falsy = parse_parameter("_", "flag_boolean", {"flag": False}, {})
    assert (falsy.required, falsy.default) == (False, "False")


QUERY = '''#+ summary: Things of a kind
#+ description: |
#+   Every thing, with its label.
#+ tags: things
#+ method: post
#+ pagination: 2
#+ defaults:
#+   - kind: "https://kb.quantum-energy.example/def/core/System"
#+ enumerate:
#+   - size:
#+     - small
#+     - large
#+ example:
#+   - kind: x
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
# ?_ignored_iri in a comment is not a parameter
SELECT ?thing ?label WHERE {
  ?thing a ?_kind_iri ; rdfs:label ?label ; <urn:size> ?__size ; <urn:since> ?__since_xsd_date .
  FILTER(?label != "?_not_a_parameter" && ?label != "WHERE {")
} ORDER BY ?label'''


def query_file(tmp_path, text: str = QUERY, name: str = "things"):
    from ekb.library import parse_query_file

    path = tmp_path / f"{name}.rq"
    path.write_text(text)
    return parse_query_file(path)


def test_a_query_file_header_is_read_as_grlc_writes_it(tmp_path):
    query = query_file(tmp_path)
    assert (query.name, query.summary, query.description, query.tags, query.method, query.pagination) == (
        "things", "Things of a kind", "Every thing, with its label.", ["things"], "POST", 2)
    assert query.example == {"kind": "x"}
    assert [(p.name, p.kind, p.required, p.default, p.enum) for p in query.parameters] == [
        ("kind", "iri", False, "https://kb.quantum-energy.example/def/core/System", ()),
        ("size", "literal", False, None, ("small", "large")),
        ("since", "typed", False, None, ())]
    bare = query_file(tmp_path, "SELECT * WHERE { ?s ?p ?_o }", "bare")
    assert (bare.summary, bare.description, bare.tags, bare.method, bare.pagination, bare.example) == (
        "", "", [], "GET", None, {})
    assert [p.name for p in bare.parameters] == ["o"]
    listed = query_file(tmp_path, "#+ tags:\n#+   - a\n#+   - b\nASK {}", "listed")
    assert listed.tags == ["a", "b"]
    tight = query_file(tmp_path, "#+summary: Caf\u00e9 list\n#+ method: POST\nSELECT * WHERE { ?s ?p ?_n_integer }", "tight")
    assert (tight.summary, tight.method) == ("Caf\u00e9 list", "POST")  # `#+` with or without its space, UTF-8
    plain_items = query_file(tmp_path, "#+ defaults:\n#+   - n\n#+ enumerate:\n#+   - n\nASK { ?_n_integer ?p ?o }", "plain")
    assert [(p.name, p.required, p.default, p.enum) for p in plain_items.parameters] == [("n", True, None, ())]


def test_a_broken_header_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match=r"^broken.rq: the #\+ header is not valid YAML"):
        query_file(tmp_path, "#+ summary: [unclosed\nASK {}", "broken")


def test_values_are_bound_in_a_values_block_and_pages_in_limit_offset(tmp_path):
    query = query_file(tmp_path)
    text = query.bind({"size": "small", "since": "2026-01-02"}, page=3)
    kind = "<https://kb.quantum-energy.example/def/core/System>"
    assert (f'SELECT ?thing ?label WHERE {{\n  VALUES (?_kind_iri ?__size ?__since_xsd_date) {{ ({kind} "small" '
            '"2026-01-02"^^<http://www.w3.org/2001/XMLSchema#date>) }\n') in text
    assert text.endswith("} ORDER BY ?label\nLIMIT 2 OFFSET 4")
    assert query.bind({}, page=None).endswith("LIMIT 2 OFFSET 0")
    assert query.bind({}, page=0).endswith("LIMIT 2 OFFSET 0")
    assert query.bind({"page": "2", "format": "csv"}, page=1).count("VALUES (?_kind_iri) {") == 1
    later = query.bind({"since": "2026-01-02"})  # `size`, before it, is left unbound: the others still are bound
    assert "VALUES (?_kind_iri ?__since_xsd_date) {" in later
    assert "VALUES" not in query.bind({"kind": ""})  # an empty value leaves a parameter unbound, default or not
    store = EmbeddedStore()
    store.replace_graphs({A: f'<urn:a> a {kind} ; <http://www.w3.org/2000/01/rdf-schema#label> "A" ; <urn:size> "small" ; '
                             '<urn:since> "2026-01-02"^^<http://www.w3.org/2001/XMLSchema#date> .'.encode()})
    assert [row["thing"].value for row in store.select(text.replace("OFFSET 4", "OFFSET 0"))] == ["urn:a"]


def test_bad_or_unknown_values_are_refused_before_any_query(tmp_path):
    query = query_file(tmp_path)
    with pytest.raises(InputError, match=r"^query things has no parameter colour, shape; its parameters are: kind, since, size$"):
        query.bind({"colour": "red", "shape": "round"})
    with pytest.raises(InputError, match=r"^parameter size: 'huge' is not one of small, large$"):
        query.bind({"size": "huge"})
    required = query_file(tmp_path, "SELECT * WHERE { ?s ?p ?_o_iri }", "required")
    with pytest.raises(InputError, match=r"^query required needs the parameter o$"):
        required.bind({})
    with pytest.raises(InputError, match=r"^query required needs the parameter o$"):
        required.bind({"o": ""})
    none = query_file(tmp_path, "SELECT * WHERE { ?s ?p ?o }", "none")
    assert none.bind({}) == "SELECT * WHERE { ?s ?p ?o }"
    with pytest.raises(InputError, match=r"its parameters are: none$"):
        none.bind({"x": "1"})


def test_values_go_into_the_first_group_of_any_query_form():
    from ekb.library import inject_values

    bound = [("_a", "<urn:a>"), ("_b", '"b"')]
    assert inject_values("SELECT * WHERE { ?s ?p ?_a }", bound) == (
        'SELECT * WHERE {\n  VALUES (?_a ?_b) { (<urn:a> "b") }\n ?s ?p ?_a }')
    assert inject_values("select * where{?s ?p ?_a}", bound[:1]).startswith("select * where{\n  VALUES (?_a) { (<urn:a>) }")
    assert inject_values("ASK { ?_a ?p ?o }", bound[:1]) == "ASK {\n  VALUES (?_a) { (<urn:a>) }\n ?_a ?p ?o }"
    assert inject_values('SELECT ("{" AS ?x) { ?_a ?p ?o }', bound[:1]).startswith(
        'SELECT ("{" AS ?x) {\n  VALUES (?_a) { (<urn:a>) }')
    assert inject_values("# WHERE { in a comment\nSELECT * WHERE { ?_a ?p ?o }", bound[:1]).endswith(
        "SELECT * WHERE {\n  VALUES (?_a) { (<urn:a>) }\n ?_a ?p ?o }")
    assert inject_values("CONSTRUCT { ?_a ?p ?o } WHERE { ?_a ?p ?o }", bound[:1]) == (
        "CONSTRUCT { ?_a ?p ?o } WHERE {\n  VALUES (?_a) { (<urn:a>) }\n ?_a ?p ?o }")
    assert inject_values("construct { ?_a ?p ?o } where { ?_a ?p ?o }", bound[:1]).startswith(
        "construct { ?_a ?p ?o } where {\n  VALUES")
    assert inject_values("select * { ?_a ?p ?o FILTER EXISTS { ?o ?p ?_a } }", bound[:1]) == (
        "select * {\n  VALUES (?_a) { (<urn:a>) }\n ?_a ?p ?o FILTER EXISTS { ?o ?p ?_a } }")
    for text in ("CONSTRUCT { ?_a ?p ?o } ?x", "DESCRIBE ?_a", "SELECT * ?x", "DESCRIBE ?_a {"):
        with pytest.raises(InputError) as refused:
            inject_values(text, bound)
        assert str(refused.value) == "cannot bind parameters: the query has no WHERE group"


def test_the_library_reads_a_folder_and_names_what_it_has(tmp_path):
    from ekb.errors import NotFound
    from ekb.library import QueryLibrary

    (tmp_path / "b.rq").write_text("ASK {}")
    (tmp_path / "a.rq").write_text("ASK {}")
    (tmp_path / "notes.txt").write_text("not a query")
    library = QueryLibrary(tmp_path)
    assert library.folder == tmp_path
    assert list(library.queries) == ["a", "b"] and library.get("b").name == "b"
    with pytest.raises(NotFound, match=r"^no query named 'c'; the library has: a, b$"):
        library.get("c")
    assert QueryLibrary(tmp_path / "missing").queries == {}


# --- limits: each bound exact, each refusal naming its place --------------------------------------------------------------

def refused_rdf(check, *args) -> str:
    from ekb.errors import RdfSyntaxError

    with pytest.raises(RdfSyntaxError) as refused:
        check(*args)
    return str(refused.value)


def test_the_sparql_size_limit_is_exact():
    from ekb import limits

    limits.check_sparql_size("#" * limits.SPARQL_MAX_CHARS)
    with pytest.raises(InputError) as refused:
        limits.check_sparql_size("#" * (limits.SPARQL_MAX_CHARS + 1))
    assert str(refused.value) == ("the SPARQL request is 4,194,305 characters long; the limit is 4,194,304 (send large "
                                  "data as an RDF document through the graph store instead)")


def test_a_structural_limit_names_its_place_when_it_has_one():
    from ekb import limits
    from ekb.sparql_lexer import Structure

    text = "SELECT *\nWHERE { }"
    limits.check_sparql_structure(Structure(depth=limits.SPARQL_MAX_DEPTH, operators=limits.SPARQL_MAX_OPERATORS), text)
    with pytest.raises(InputError) as deep:
        limits.check_sparql_structure(Structure(depth=129, depth_at=12), text)
    assert str(deep.value) == ("the SPARQL request nests brackets and prefix operators 129 deep (at line 2, column 4); "
                               "the limit is 128")
    with pytest.raises(InputError) as many:
        limits.check_sparql_structure(Structure(operators=1025), text)
    assert str(many.value) == "the SPARQL request has 1,025 operators in expressions; the limit is 1,024"


def nested_turtle(depth: int) -> bytes:
    return b"<urn:s> <urn:p> " + b"[ <urn:p> " * depth + b"1" + b" ]" * depth + b" .\n"


def test_turtle_nesting_is_exact_and_counts_only_what_is_open():
    from ekb.limits import RDF_MAX_NESTING, check_turtle_nesting

    siblings = b"<urn:s> <urn:p> " + b", ".join([b"[ <urn:p> 1 ]"] * 600) + b" .\n"
    for n3 in (False, True):
        check_turtle_nesting(nested_turtle(RDF_MAX_NESTING) + b"<urn:s> <urn:p> ( 1 ) .\n", "t.ttl", n3)
        check_turtle_nesting(siblings, "t.ttl", n3)  # 600 brackets, never more than one open
        check_turtle_nesting(b"<urn:s> <urn:p> " + b'"[(" ' * 300 + b"# [[[[ \n .", "t.ttl", n3)  # strings, comments
    graphs = b"[ <urn:p> 1 ] " * 300 + b"{ " * 100 + b"<urn:s> <urn:p> " + b"[ <urn:p> " * 200 + b"1" + b" ]" * 200
    check_turtle_nesting(graphs, "t.trig", False)  # TriG's braces neither open nor close a nesting
    inside = b"[ " * 200 + b"{ " * 100 + b"[ " * 100
    assert "nested more than 256 deep" in refused_rdf(check_turtle_nesting, inside, "t.trig", False)
    one_closed = b"[ " * 200 + b"] " + b"[ " * 58  # 199 open, then 58 more: 257
    assert "nested more than 256 deep" in refused_rdf(check_turtle_nesting, one_closed, "t.ttl", False)
    assert refused_rdf(check_turtle_nesting, b"\n\n" + nested_turtle(RDF_MAX_NESTING + 1) + b"\n\n", "t.ttl", False) == (
        "t.ttl, line 3: blank nodes, collections or formulas nested more than 256 deep (the limit)")


def test_n3_counts_formulas_and_the_brackets_of_an_iri_looking_run():
    from ekb.limits import check_turtle_nesting

    formulas = b"{ " * 257 + b"<urn:s> <urn:p> 1 ." + b" }" * 257
    check_turtle_nesting(formulas, "t.ttl", False)
    assert refused_rdf(check_turtle_nesting, formulas, "f.n3", True) == (
        "f.n3, line 1: blank nodes, collections or formulas nested more than 256 deep (the limit)")
    run = b"<" + b"(" * 300 + b">"  # in N3 `<` may be `<=`: its brackets count
    check_turtle_nesting(b"<urn:s> <urn:p> " + run + b" .", "t.ttl", False)
    assert refused_rdf(check_turtle_nesting, b"\n<urn:s> <urn:p> " + run + b" .\n\n", "r.n3", True) == (
        "r.n3, line 2: blank nodes, collections or formulas nested more than 256 deep (the limit)")
    check_turtle_nesting(b"[ ] <" + b"(" * 256 + b">", "edge.n3", True)  # exactly at the limit
    check_turtle_nesting(b"[ ] " * 300 + b"<urn:" + b"X" * 300 + b">", "letters.n3", True)  # only brackets count
    balanced = b"<" + b"(" * 200 + b")" * 200 + b"> " + b"[ " * 200 + b"]" * 200
    check_turtle_nesting(balanced, "b.n3", True)
    unbalanced = b"<XXXXXXXX" + b"(" * 200 + b"> " + b"[ " * 80 + b"]" * 80  # 200 stay open, then 80 more
    assert "nested more than 256 deep" in refused_rdf(check_turtle_nesting, unbalanced, "u.n3", True)


def nested_json(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


def test_json_depth_is_exact_and_counts_only_what_is_open():
    from ekb.limits import JSON_MAX_DEPTH, check_json_depth

    check_json_depth(b"[" + nested_json(JSON_MAX_DEPTH - 1) + b", []]", "d.json")
    check_json_depth(b"[" + b", ".join([b"[]"] * 100) + b"]", "d.json")
    check_json_depth(b"[" + b", ".join([b"{}"] * 100) + b"]", "d.json")
    check_json_depth(b'["' + b'", "'.join([b"[{"] * 100) + b'"]', "d.json")  # brackets in strings do not count
    check_json_depth(b"[] " + nested_json(JSON_MAX_DEPTH), "d.json")  # closed: back to nothing open
    one_closed = b"[" * 60 + b"]" + b"[" * 6  # 59 open, then 6 more: 65
    assert "nested more than 64 deep" in refused_rdf(check_json_depth, one_closed, "d.json")
    assert refused_rdf(check_json_depth, b"\n" + nested_json(JSON_MAX_DEPTH + 1) + b"\n\n", "d.json") == (
        "d.json, line 2: JSON arrays and objects nested more than 64 deep (the limit)")


RDF = b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:e="urn:e:">'


def nested_xml(depth: int) -> bytes:
    return RDF + b"<e:a>" * (depth - 1) + b"</e:a>" * (depth - 1) + b"</rdf:RDF>"


def test_rdfxml_depth_is_exact_and_counts_only_what_is_open():
    from ekb.limits import XML_MAX_DEPTH, check_rdfxml

    check_rdfxml(nested_xml(XML_MAX_DEPTH), "x.rdf")
    check_rdfxml(RDF + b"<e:a/>" * 600 + b"</rdf:RDF>", "x.rdf")
    assert refused_rdf(check_rdfxml, nested_xml(XML_MAX_DEPTH + 1), "x.rdf") == (
        "x.rdf, line 1, column 2643: elements nested more than 512 deep (the limit)")
    closing_then_two = RDF + b"<e:a>" * 510 + b"<e:b/>" + b"<e:c><e:d/></e:c>" + b"</e:a>" * 510 + b"</rdf:RDF>"
    assert "nested more than 512 deep" in refused_rdf(check_rdfxml, closing_then_two, "x.rdf")


def doctype(entities: bytes, body: bytes = b"") -> bytes:
    return b'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [\n' + entities + b"]>\n" + RDF + body + b"</rdf:RDF>"


def test_rdfxml_entities_are_bounded_exactly():
    from ekb.limits import XML_MAX_ENTITIES, XML_MAX_ENTITY_CHARS, check_rdfxml

    many = b"".join(b'<!ENTITY e%d "x">\n' % i for i in range(XML_MAX_ENTITIES))
    check_rdfxml(doctype(many), "x.rdf")
    assert refused_rdf(check_rdfxml, doctype(many + b'<!ENTITY last "x">\n'), "x.rdf") == (
        "x.rdf, line 35, column 15: more than 32 entity declarations (the limit)")
    check_rdfxml(doctype(b'<!ENTITY big "' + b"x" * XML_MAX_ENTITY_CHARS + b'">\n'), "x.rdf")
    assert "is 4,097 characters long; the limit is 4,096" in refused_rdf(
        check_rdfxml, doctype(b'<!ENTITY big "' + b"x" * (XML_MAX_ENTITY_CHARS + 1) + b'">\n'), "x.rdf")


def test_rdfxml_expansion_may_reach_twice_the_document_plus_the_allowance_and_no_more():
    from ekb.limits import XML_EXPANSION_ALLOWANCE, XML_MAX_ENTITY_CHARS, XML_MAX_EXPANSION_FACTOR, check_rdfxml

    entity = b'<!ENTITY e "' + b"x" * XML_MAX_ENTITY_CHARS + b'">\n'

    def document(references: int, padding: int) -> bytes:
        body = b'<rdf:Description rdf:about="urn:a"><e:p>' + b"&e;" * references + b"</e:p>"
        return doctype(entity, body + b"<!--" + b"p" * padding + b"--></rdf:Description>")

    references = 500  # 2,048,000 bytes of expansion: more than the allowance alone
    bare = len(document(references, 0))
    padding = (references * XML_MAX_ENTITY_CHARS - XML_EXPANSION_ALLOWANCE - XML_MAX_EXPANSION_FACTOR * bare) // 2
    exact = document(references, padding)
    assert references * XML_MAX_ENTITY_CHARS == XML_MAX_EXPANSION_FACTOR * len(exact) + XML_EXPANSION_ALLOWANCE
    check_rdfxml(exact, "x.rdf")
    assert "would expand to 2,048,000 bytes" in refused_rdf(check_rdfxml, document(references, padding - 1), "x.rdf")


def test_rdfxml_refusals_name_what_and_where():
    from ekb.limits import check_rdfxml

    attlist = b'\n<!DOCTYPE r [\n<!ATTLIST a b CDATA "c">\n<!ATTLIST d e CDATA "f">\n]>\n\n\n<r/>'
    assert refused_rdf(check_rdfxml, attlist, "x.rdf") == "x.rdf, line 3: attribute-list declarations (<!ATTLIST) are refused"
    external_dtd = b'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF SYSTEM "http://example.org/x.dtd">' + RDF + b"</rdf:RDF>"
    assert refused_rdf(check_rdfxml, external_dtd, "x.rdf") == (
        "x.rdf, line 2, column 52: the document type refers to an external DTD (http://example.org/x.dtd); "
        "external DTDs are not read")
    external = doctype(b'<!ENTITY ext SYSTEM "file:///etc/passwd">\n')
    assert refused_rdf(check_rdfxml, external, "x.rdf") == (
        "x.rdf, line 3, column 41: external entity &ext; (file:///etc/passwd) is refused: nothing is fetched")
    assert refused_rdf(check_rdfxml, doctype(b'<!ENTITY % p "x">\n'), "x.rdf") == (
        "x.rdf, line 3, column 14: parameter entity %p; is refused")
    assert refused_rdf(check_rdfxml, doctype(b'<!ENTITY a "x">\n<!ENTITY b "&a;">\n'), "x.rdf") == (
        "x.rdf, line 4, column 12: entity &b; refers to another entity; nested entities are refused")
    assert refused_rdf(check_rdfxml, b"<r>\n  <a></b>\n</r>", "x.rdf") == (
        "x.rdf, line 2, column 8: not well-formed XML: mismatched tag")
    assert refused_rdf(check_rdfxml, RDF + b"<e:a>", "x.rdf").startswith("x.rdf, line 1, column ")  # unclosed at the end
    ascii_declared = b'<?xml version="1.0" encoding="US-ASCII"?>' + RDF + "<e:a>caf\u00e9</e:a>".encode() + b"</rdf:RDF>"
    check_rdfxml(ascii_declared, "x.rdf")  # read as UTF-8, as the engine reads it, whatever the declaration says


# --- the gate's verdicts, as JSON, and the neighbourhood it reads -------------------------------------------------------------

def test_a_gate_result_as_json_says_everything_a_client_reads():
    from dataclasses import replace

    from ekb.gate import GateResult

    report = Report([FINDING], {}, "engine", "now", 0.0, 1)
    info = replace(FINDING, severity="Info", value="i")
    result = GateResult(False, [FINDING, info], report, inserted=2, deleted=1)
    assert result.as_json() == {"accepted": False, "inserted": 2, "deleted": 1, "newViolations": [FINDING.as_json()],
                                "newFindings": [FINDING.as_json(), info.as_json()], "report": report.as_json()}


def hub_store(incoming: int) -> EmbeddedStore:
    """urn:seed links to urn:hub, which `incoming` other resources link to, each with a fact of its own."""
    lines = ["<urn:seed> <urn:p> <urn:hub> ."]
    lines += [f"<urn:n:{i}> <urn:p> <urn:hub> .\n<urn:n:{i}> <urn:q> \"{i}\" ." for i in range(incoming - 1)]
    store = EmbeddedStore()
    store.replace_graphs({A: "\n".join(lines).encode(), INFERRED_GRAPH: b"<urn:seed> <urn:r> <urn:hidden> ."})
    return store


def test_the_neighbourhood_skips_the_incoming_links_of_a_hub_past_its_limit():
    from ekb.gate import neighbourhood

    triples, ring = neighbourhood(hub_store(200), {"urn:seed"}, hops=2, hub_limit=200)
    assert len(triples) == 1 + 199 and ring == {"urn:hub"}  # the hub's 200 incoming links, not its neighbours' facts
    triples, ring = neighbourhood(hub_store(201), {"urn:seed"}, hops=2)  # the default limit: 200
    assert triples == {triple("urn:seed", "urn:p", "urn:hub")} and ring == {"urn:hub"}
    assert ox.Triple(ox.NamedNode("urn:seed"), ox.NamedNode("urn:r"), ox.NamedNode("urn:hidden")) not in triples
    triples, _ = neighbourhood(hub_store(200), {"urn:seed"}, hops=3)
    assert len(triples) == 1 + 199 * 2  # three links: the neighbours' own facts too
