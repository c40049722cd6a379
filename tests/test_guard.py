"""SERVICE and LOAD refusal, decided on tokens: real uses are caught whatever their disguise, look-alikes are not.

The disguises are the ones that beat a regular expression over the text (an escaped local name such as `ex:p\\#`
that looks like a comment, `SERVICE<iri>` without a space, a codepoint escape) and the ones pyoxigraph itself
reads differently from the grammar (keywords glued to what follows them, \\u escapes only inside strings)."""

import contextlib

import pyoxigraph as ox
import pytest

from ekb.errors import Forbidden, InputError
from ekb.guard import check_remote_access

EVIL = "http://evil.example/sparql"

REFUSED_QUERIES = [
    f"SELECT * {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
    f"SELECT * {{ service silent <{EVIL}> {{ ?s ?p ?o }} }}",
    f"SELECT * {{ SeRvIcE sIlEnT <{EVIL}> {{ ?s ?p ?o }} }}",
    "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }",
    "SELECT * { SERVICE SILENT ?endpoint { ?s ?p ?o } }",
    f"SELECT * {{ SERVICE<{EVIL}>{{ ?s ?p ?o }} }}",
    f"SELECT * {{ SERVICE SILENT<{EVIL}>{{ ?s ?p ?o }} }}",
    f"SELECT * {{ SERVICE# a comment\n<{EVIL}> {{ ?s ?p ?o }} }}",
    f"SELECT * {{ SERVICE #x\n SILENT #y\n <{EVIL}> {{ ?s ?p ?o }} }}",
    f"SELECT * {{ SERVICE\t\r\n\tSILENT\t<{EVIL}> {{ ?s ?p ?o }} }}",
    f"PREFIX ex: <http://example.org/> SELECT * {{ ?s ex:p\\# ?o . SERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
    f"PREFIX ex: <http://example.org/> SELECT * {{ ?s ex:p\\' ?o . SERVICE <{EVIL}> {{ }} FILTER(?o != 'x') }}",
    f'SELECT * {{ BIND("a\\"#" AS ?q) SERVICE <{EVIL}> {{ ?s ?p ?o }} }}',
    f'SELECT * {{ BIND("""a"b""" AS ?q) SERVICE <{EVIL}> {{ ?s ?p ?o }} }}',
    f"SELECT * {{ \\u0053ERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
    f"SELECT * {{ \\U00000053ERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
    f"SELECT * {{ SERVICE <{EVIL[:-1]}\\u0078> {{ ?s ?p ?o }} }}",
    "PREFIX c: <http://evil.example/> SELECT * { SERVICE c:sparql { ?s ?p ?o } }",
    "PREFIX c: <http://evil.example/> SELECT * { SERVICE c: { ?s ?p ?o } }",
    "BASE <http://evil.example/> SELECT * { SERVICE <sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE <//evil.example/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE c:sparql { ?s ?p ?o } }",  # an undeclared prefix does not resolve: refused
    f"SELECT * {{ {{ SELECT * {{ {{ SELECT * {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }} }} }} }} }}",
    f"SELECT * {{ ?x ?y ?z FILTER EXISTS {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }} }}",
    f"SELECT * {{ ?x ?y ?z FILTER(NOT EXISTS {{ OPTIONAL {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }} }}) }}",
    f"SELECT * {{ GRAPH ?g {{ MINUS {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }} }} }}",
    f"ASK {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
    f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
    # pyoxigraph reads keywords without a word boundary; the grammar reads one name in each of these
    "PREFIX ex: <http://evil.example/> SELECT * { SERVICEex:sparql { ?s ?p ?o } }",
    "PREFIX : <http://evil.example/> SELECT * { service:sparql { ?s ?p ?o } }",
    "PREFIX : <http://evil.example/> PREFIX service: <http://e/> SELECT * { service:sparql { ?s ?p ?o } }",
    f"SELECT * {{ SERVICESILENT<{EVIL}> {{ ?s ?p ?o }} }}",
    f"SELECT * {{ ?s ?p trueSERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
    f"PREFIXex:<{EVIL}> PREFIX ex: <https://ok.example/> SELECT * {{ SERVICE ex: {{ ?s ?p ?o }} }}",
    # pyoxigraph applies \u escapes inside strings only: this string ends with a backslash, and SERVICE is live
    f'SELECT * {{ BIND("a\\u005C" AS ?q) SERVICE <{EVIL}> {{ ?s ?p ?o }} BIND("" AS ?r) }}',
    # after an operand in an expression `<` is the operator, and `'>'` a string: the SERVICE after it is live
    f"SELECT * {{ BIND(1 AS ?a) FILTER(?a<'>' || true) SERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
]

REFUSED_UPDATES = [
    f"LOAD <{EVIL}>",
    f"LOAD SILENT <{EVIL}> INTO GRAPH <urn:g>",
    f"load<{EVIL}>",
    f"LOAD#x\n<{EVIL}>",
    f"LOAD SILENT<{EVIL}>",
    f"LOADSILENT<{EVIL}>",
    f"\\u004COAD <{EVIL}>",
    "PREFIX c: <http://evil.example/> LOAD c:data",
    "PREFIX c: <http://evil.example/> LOADc:data",
    f"PREFIX ex: <http://example.org/> INSERT DATA {{ <urn:a> ex:p\\# 1 }} ; LOAD <{EVIL}>",
    f"PREFIX ex: <http://example.org/> INSERT DATA {{ <urn:a> ex:p\\' 1 }} ; LOAD <{EVIL}> ; "
    "INSERT DATA { <urn:a> <urn:b> 'x' }",
    f"INSERT {{ <urn:a> <urn:b> ?o }} WHERE {{ SERVICE <{EVIL}> {{ ?s ?p ?o }} }}",
    f"DELETE {{ ?s ?p ?o }} WHERE {{ SERVICE SILENT<{EVIL}>{{ ?s ?p ?o }} }}",
]

LOOK_ALIKES = [
    "SELECT ?service ?serviceLabel { ?service <urn:p> ?serviceLabel }",
    'SELECT * { ?s <urn:p> "SERVICE <http://x.example/> { }" }',
    "SELECT * { ?s <urn:p> '''LOAD <http://x.example/>''' }",
    "SELECT * { ?s ex:service ?o } # SERVICE <http://x.example/>",
    "SELECT * { ?s <http://e/LOAD> ?o }",
    "PREFIX ex: <http://e/> SELECT * { ?s ex:service ?o ; ex:load ?l ; ex:hasService ?h }",
    "PREFIX payload: <http://e/> PREFIX service: <http://e/s/> SELECT * { ?s payload:x service:y }",
    "PREFIX download: <http://e/> INSERT DATA { download:s download:p download:o }",
    'SELECT * { ?s ?p "\\\\u0053ERVICE <http://x.example/> {}" }',
    "SELECT * FROM <http://x.example/g> FROM NAMED <http://x.example/h> { ?s ?p ?o }",
    "WITH <http://x.example/g> DELETE { ?s ?p ?o } USING <http://x.example/g> WHERE { ?s ?p ?o }",
    "SELECT * { ?s ?p ?o FILTER(?a<?b&&?c>?d) }",
]


@pytest.mark.parametrize("text", REFUSED_QUERIES + REFUSED_UPDATES)
def test_remote_access_is_refused(text):
    with pytest.raises(Forbidden, match="--allow-service-host"):
        check_remote_access(text, ("ok.example",))


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_pass(text):
    check_remote_access(text, ())


def test_allowed_host_passes_and_others_do_not():
    check_remote_access("SELECT * { SERVICE <https://ok.example/sparql> { ?s ?p ?o } }", ("ok.example",))
    check_remote_access("SELECT * { SERVICE SILENT <https://OK.example:8443/sparql> { ?s ?p ?o } }", ("ok.example",))
    check_remote_access("PREFIX ok: <https://ok.example/> SELECT * { SERVICE ok:sparql { ?s ?p ?o } }", ("ok.example",))
    check_remote_access("BASE <https://ok.example/> SELECT * { SERVICE <sparql> { ?s ?p ?o } }", ("ok.example",))
    check_remote_access("LOAD <https://ok.example/data.ttl> INTO GRAPH <urn:g>", ("ok.example",))
    with pytest.raises(Forbidden, match="except from ok.example"):
        check_remote_access("SELECT * { SERVICE <https://bad.example/sparql> { ?s ?p ?o } }", ("ok.example",))


@pytest.mark.parametrize("text", [
    "SELECT * { SERVICE <https://user@ok.example/sparql> { ?s ?p ?o } }",  # user info: parsers disagree on hosts
    "SELECT * { SERVICE <https://evil.example\\u005C@ok.example/> { ?s ?p ?o } }",
    "SELECT * { SERVICE <file://ok.example/etc/passwd> { ?s ?p ?o } }",
    "PREFIX ok: <https://ok.example/> PREFIX ok: <https://evil.example/> SELECT * { SERVICE ok:x { ?s ?p ?o } }",
    "SELECT * { SERVICE <sparql> { ?s ?p ?o } }",  # relative, and no BASE: it resolves to nothing
    "SELECT * { SERVICE ?e { ?s ?p ?o } }",
])
def test_allowed_host_is_not_enough_when_the_target_is_unclear(text):
    with pytest.raises(Forbidden):
        check_remote_access(text, ("ok.example",))


def test_a_text_that_does_not_tokenize_goes_to_the_parser_only_when_nothing_after_it_matters():
    check_remote_access("SELECT * WHERE { ?s ?p ?o . é }", ())  # the engine reports the syntax error
    with pytest.raises(InputError, match="line 2, column 3"):
        check_remote_access("SELECT * WHERE {\n  é ?s ?p ?o . SERVICE <http://x.example/> { } }", ())
    with pytest.raises(InputError):
        check_remote_access("SELECT * WHERE { é " + "(" * 200 + " }", ())


@pytest.mark.parametrize("template", [
    "PREFIX ex: <http://{host}/> SELECT * {{ BIND(1 AS ?a) SERVICEex:x {{ ?s ?p ?o }} }}",
    "PREFIX : <http://{host}/> SELECT * {{ BIND(1 AS ?a) service:x {{ ?s ?p ?o }} }}",
    "SELECT * {{ BIND(1 AS ?a) SERVICESILENT<http://{host}/x> {{ ?s ?p ?o }} }}",
    'SELECT * {{ BIND(1 AS ?a) BIND("\\u005C" AS ?q) SERVICE SILENT <http://{host}/x> {{ ?s ?p ?o }} BIND("" AS ?r) }}',
    "SELECT * {{ BIND(1 AS ?a) FILTER(?a<'>' || true) SERVICE SILENT <http://{host}/x> {{ ?s ?p ?o }} }}",
])
def test_the_engine_reads_these_disguises_as_service(listener, template):
    """Why the guard reads the engine's way: pyoxigraph 0.5.13 fetches for each of these texts. If an upgrade
    stops it, these readings may be simplified (the guard stays correct, only stricter)."""
    host, hits = listener
    text = template.format(host=host)
    with pytest.raises(Forbidden):
        check_remote_access(text, ())
    with contextlib.suppress(OSError, RuntimeError, SyntaxError):
        list(ox.Store().query(text))
    assert hits, "pyoxigraph did not fetch"


def test_the_engine_does_not_fetch_from_using_or_with(listener):
    """FROM, FROM NAMED, USING and WITH name graphs of the store; pyoxigraph fetches none of them, so the guard
    lets them through. SERVICE, for comparison, does fetch."""
    host, hits = listener
    store = ox.Store()
    list(store.query(f"SELECT * FROM <http://{host}/a> FROM NAMED <http://{host}/b> {{ ?s ?p ?o }}"))
    store.update(f"WITH <http://{host}/c> INSERT {{ <urn:a> <urn:b> ?o }} USING <http://{host}/d> "
                 f"USING NAMED <http://{host}/e> WHERE {{ ?s ?p ?o }}")
    assert not hits
    with pytest.raises(OSError):
        list(store.query(f"SELECT * {{ SERVICE <http://{host}/f> {{ ?s ?p ?o }} }}"))
    assert hits
