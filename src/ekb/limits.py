"""Limits on what a request may ask the parsers to build, checked before any parser sees the input.

pyoxigraph 0.5.13 parses SPARQL by recursive descent and plans and evaluates the algebra recursively: a text
nested deep enough exhausts the thread's stack and kills the whole process (SIGSEGV), and some shapes cost
seconds of CPU long before the first result. Measured in child processes (8 MiB stack, the default for the main
thread and for the server's worker threads), the smallest failing sizes were:

    SPARQL (query and update alike)           crash (SIGSEGV) at      slow at
    `(` in expressions                        4,736 deep
    `!` prefix operators                      9,472 in a row
    `{` groups                                2,240 deep
    FILTER EXISTS { ... }                       864 deep
    !EXISTS { FILTER( ... }                     704 deep
    STR( / IF( / COALESCE( calls                928-960 deep
    `[` blank nodes (query)                                           64 deep: 0.3 s, 128: 9 s, 160: >10 s
    `[` blank nodes (INSERT DATA)             3,712 deep
    collections `( ( (` (query)                                       64 deep: 0.6 s, 128: 3.9 s
    `1+1+...` / `||` / `&&`                   ~6,900 / 9,472 / 9,472 terms  4,096 terms: 0.5 s
    UNION                                     6,656                   4,096: 1.2 s
    MINUS / BIND in one group                 2,688 / 4,096
    OPTIONAL in one group                                             128: 0.6 s, 256: 4.2 s
    property path `/` steps                                           128: 0.15 s, 256: 1.6 s, 512: 12 s
    path `|` alternatives                     11,264
    nested sub-SELECTs with GROUP BY                                  16: 0.16 s, 20: 3.3 s, 21: 6.8 s

Each limit below sits well under its failure point and well above anything the curated queries, the tests or
the W3C suite's style of query use. (The planner is also super-linear in the size of one basic graph pattern,
128 joined triple patterns: 1.3 s, 256: 21 s; that is left to the query time limit, since real queries are not
bounded by a count a tokenizer can see.)

RDF: oxttl (Turtle, TriG, N3, N-Triples) parses iteratively and took 524,288-deep collections and blank nodes
without harm; the limit on nesting there protects what recurses over the parsed graph afterwards. Oxigraph's
JSON-LD parser crashes at 3,328 nested objects (and takes 5.5 s at 3,200), Python's json.loads raises
RecursionError at 999 and pyld at ~500 nested objects. Oxigraph's RDF/XML parser is quadratic in element
depth (31,744 deep: 7.8 s) and expands entities, nested ones included, without bound: 3,000 references to a
100 KB entity (a 109 KB document) took 593 MB.
"""

from __future__ import annotations

import re
from xml.parsers import expat

import pyoxigraph as ox

from ekb.errors import InputError, RdfSyntaxError
from ekb.sparql_lexer import Structure, position

# ---- SPARQL (one reading of the text; see ekb.sparql_lexer)
SPARQL_MAX_CHARS = 4 * 1024 * 1024  # the guard reads ~10 MB/s: bounded to well under a second
SPARQL_MAX_DEPTH = 128  # brackets of any kind plus a run of prefix operators; the worst shape crashes at 704
SPARQL_MAX_PATTERN_NESTING = 32  # blank nodes and collections one inside the other: 32 deep plans in 0.03-0.1 s
SPARQL_MAX_SUBQUERIES = 8  # nested sub-SELECTs: 8 deep takes 1 ms, and each level doubles the planning time
SPARQL_MAX_OPERATORS = 1024  # binary operators in expressions: 1,024 `+` take 0.03 s and a sixth of the stack
SPARQL_MAX_PATH_OPERATORS = 128  # `/`, `|` and `^` in property paths
SPARQL_MAX_GROUP_OPERATORS = 512  # UNION, OPTIONAL, MINUS, BIND, FILTER, EXISTS: 512 UNIONs take 0.02 s
SPARQL_MAX_OPTIONALS = 64  # 64 OPTIONALs plan in 0.07 s

# ---- RDF documents
RDF_MAX_NESTING = 256  # `[` and `(` (and N3's `{`) one inside the other, in the Turtle family
JSON_MAX_DEPTH = 64  # arrays and objects one inside the other (JSON-LD)
XML_MAX_DEPTH = 512  # elements one inside the other (RDF/XML alternates node and property elements)
XML_MAX_ENTITIES = 32  # entity declarations in the internal DTD subset (each costs one pass over the bytes)
XML_MAX_ENTITY_CHARS = 4096  # characters in one entity's replacement text
XML_MAX_EXPANSION_FACTOR = 2  # entity text expanded may total twice the document, plus the allowance below
XML_EXPANSION_ALLOWANCE = 1024 * 1024
XML_CHUNK = 64 * 1024

SPARQL_LIMITS = (  # (attribute of Structure, limit, what the request does past it, attribute of its place)
    ("depth", SPARQL_MAX_DEPTH, "nests brackets and prefix operators {value:,} deep", "depth_at"),
    ("pattern_nesting", SPARQL_MAX_PATTERN_NESTING, "nests blank nodes and collections {value:,} deep",
     "pattern_nesting_at"),
    ("subqueries", SPARQL_MAX_SUBQUERIES, "nests sub-queries {value:,} deep", "subqueries_at"),
    ("operators", SPARQL_MAX_OPERATORS, "has {value:,} operators in expressions", None),
    ("path_operators", SPARQL_MAX_PATH_OPERATORS, "has {value:,} property path operators", None),
    ("group_operators", SPARQL_MAX_GROUP_OPERATORS, "has {value:,} UNION, OPTIONAL, MINUS, BIND, FILTER and EXISTS",
     None),
    ("optionals", SPARQL_MAX_OPTIONALS, "has {value:,} OPTIONAL patterns", None),
)


def check_sparql_size(text: str) -> None:
    if len(text) > SPARQL_MAX_CHARS:
        raise InputError(f"the SPARQL request is {len(text):,} characters long; the limit is {SPARQL_MAX_CHARS:,} "
                         "(send large data as an RDF document through the graph store instead)")


def check_sparql_structure(structure: Structure, text: str) -> None:
    """Raise InputError naming the first limit the structure of one reading of `text` exceeds."""
    for name, limit, what, where in SPARQL_LIMITS:
        value = getattr(structure, name)
        if value > limit:
            place = f" (at {position(text, getattr(structure, where))})" if where else ""
            raise InputError(f"the SPARQL request {what.format(value=value)}{place}; the limit is {limit:,}")


# ---- RDF documents, by format: each check reads the bytes once, and most documents are decided by a count.

TURTLE_SCAN = re.compile(
    rb'"""(?:[^"\\]++|\\.|"(?!""))*+"""|\'\'\'(?:[^\'\\]++|\\.|\'(?!\'\'))*+\'\'\''  # long strings
    rb'|"(?:[^"\\\n\r]++|\\.)*+"|\'(?:[^\'\\\n\r]++|\\.)*+\''  # strings
    rb'|<(?:[^<>"{}|^`\\\x00-\x20]++|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*+>'  # IRIs, with \u escapes
    rb'|#[^\n\r]*+|\\.|[\[\](){}]', re.DOTALL)  # comments, escapes in names, brackets
JSON_SCAN = re.compile(rb'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.DOTALL)


def check_turtle_nesting(data: bytes, source: str, n3: bool) -> None:
    """Turtle, TriG and N3: `[` and `(` (and N3's formulas `{`) nested at most RDF_MAX_NESTING deep. Strings and
    comments are skipped as the grammar skips them. In N3, `<` may also be the operator `<=`, so the brackets in
    an IRI-looking run count as opening (and may or may not close); an unterminated string is read as text, whose
    brackets then count. Most documents are decided by counting brackets, without reading them."""
    openers = b"[({" if n3 else b"[("
    if sum(data.count(c) for c in openers) <= RDF_MAX_NESTING:
        return
    depth = 0
    for match in TURTLE_SCAN.finditer(data):
        token = match.group()
        first = token[:1]
        if first == b"<":
            if n3:
                opened = sum(token.count(c) for c in openers)
                if depth + opened > RDF_MAX_NESTING:
                    _too_deep(data, source, match.start())
                depth = max(depth, depth + opened - sum(token.count(c) for c in b"])}"))
        elif len(token) == 1 and token in openers:
            depth += 1
            if depth > RDF_MAX_NESTING:
                _too_deep(data, source, match.start())
        elif len(token) == 1 and token in b"])}":
            depth = max(0, depth - 1)


def _too_deep(data: bytes, source: str, offset: int) -> None:
    line = data.count(b"\n", 0, offset) + 1
    raise RdfSyntaxError(source, f"blank nodes, collections or formulas nested more than {RDF_MAX_NESTING:,} deep "
                                 f"(the limit)", line)


def check_json_depth(data: bytes, source: str) -> None:
    """JSON arrays and objects nested at most JSON_MAX_DEPTH deep, checked on the bytes before json.loads (which
    recurses) or a JSON-LD processor (which recurses further) sees them. Brackets inside strings do not count."""
    if data.count(b"[") + data.count(b"{") <= JSON_MAX_DEPTH:
        return
    depth = 0
    for match in JSON_SCAN.finditer(data):
        first = match.group()[:1]
        if first in (b"[", b"{"):
            depth += 1
            if depth > JSON_MAX_DEPTH:
                line = data.count(b"\n", 0, match.start()) + 1
                raise RdfSyntaxError(source, f"JSON arrays and objects nested more than {JSON_MAX_DEPTH:,} deep "
                                             "(the limit)", line)
        elif first in (b"]", b"}"):
            depth = max(0, depth - 1)


class _Refused(Exception):
    """Raised from inside expat's handlers: stops the parse at once."""


def check_rdfxml(data: bytes, source: str) -> None:
    """RDF/XML read once with expat before the engine parses it: no external entity, external DTD or parameter
    entity (nothing is fetched or read from disk), at most XML_MAX_ENTITIES internal entities of at most
    XML_MAX_ENTITY_CHARS characters none of which refers to another entity (so nothing expands twice), at most
    the allowed total of expanded entity text (a bound computed from the references in the bytes, before any
    expansion), no attribute-list declaration (expat expands the entities in a default value as it reads the
    declaration, before any bound could be checked; RDF/XML has no use for them), and elements nested at most
    XML_MAX_DEPTH deep. The document is read as UTF-8, as the engine reads it, whatever its declaration says. Not
    well-formed XML is refused with expat's position."""
    if b"<!ATTLIST" in data:
        line = data.count(b"\n", 0, data.index(b"<!ATTLIST")) + 1
        raise RdfSyntaxError(source, "attribute-list declarations (<!ATTLIST) are refused", line)
    parser = expat.ParserCreate(encoding="utf-8")
    parser.specified_attributes = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    entities: dict[str, int] = {}
    depth = 0

    def doctype(name, system_id, public_id, has_internal_subset):
        if system_id or public_id:
            raise _Refused(f"the document type refers to an external DTD ({system_id or public_id}); "
                           "external DTDs are not read")

    def entity(name, is_parameter, value, base, system_id, public_id, notation):
        if is_parameter:
            raise _Refused(f"parameter entity %{name}; is refused")
        if value is None:
            raise _Refused(f"external entity &{name}; ({system_id or public_id}) is refused: nothing is fetched")
        if "&" in value:
            raise _Refused(f"entity &{name}; refers to another entity; nested entities are refused")
        if len(value) > XML_MAX_ENTITY_CHARS:
            raise _Refused(f"entity &{name}; is {len(value):,} characters long; the limit is {XML_MAX_ENTITY_CHARS:,}")
        entities[name] = len(value.encode("utf-8"))
        if len(entities) > XML_MAX_ENTITIES:
            raise _Refused(f"more than {XML_MAX_ENTITIES:,} entity declarations (the limit)")

    def end_doctype():
        expanded = sum(data.count(f"&{name};".encode()) * size for name, size in entities.items())
        allowed = XML_MAX_EXPANSION_FACTOR * len(data) + XML_EXPANSION_ALLOWANCE
        if expanded > allowed:
            raise _Refused(f"entity references would expand to {expanded:,} bytes; the limit for this document "
                           f"is {allowed:,}")

    def start(name, attributes):
        nonlocal depth
        depth += 1
        if depth > XML_MAX_DEPTH:
            raise _Refused(f"elements nested more than {XML_MAX_DEPTH:,} deep (the limit)")

    def end(name):
        nonlocal depth
        depth -= 1

    def external(context, base, system_id, public_id):
        raise _Refused(f"external entity {system_id or public_id} is refused: nothing is fetched")

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.EndDoctypeDeclHandler = end_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.ExternalEntityRefHandler = external
    try:
        view = memoryview(data)
        for start in range(0, len(data), XML_CHUNK):  # in pieces, so that no single call holds the GIL long
            parser.Parse(view[start:start + XML_CHUNK], False)
        parser.Parse(b"", True)
    except _Refused as err:
        raise RdfSyntaxError(source, str(err), parser.CurrentLineNumber, parser.CurrentColumnNumber + 1) from None
    except expat.ExpatError as err:
        raise RdfSyntaxError(source, f"not well-formed XML: {expat.ErrorString(err.code)}", err.lineno,
                             err.offset + 1) from None


def check_rdf_limits(data: bytes, fmt: ox.RdfFormat, source: str) -> None:
    """The input limits of one RDF syntax, checked before its parser reads `data` (N-Triples and N-Quads nest
    nothing and are not read here)."""
    if fmt in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.N3):
        check_turtle_nesting(data, source, n3=fmt == ox.RdfFormat.N3)
    elif fmt == ox.RdfFormat.JSON_LD:
        check_json_depth(data, source)
    elif fmt == ox.RdfFormat.RDF_XML:
        check_rdfxml(data, source)
