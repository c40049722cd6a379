"""What differs between the SPARQL 1.1 servers ekb runs against, in one small table.

Everything here was observed on the engines the tests start (`oxigraph serve`, Virtuoso 7.2 from the Debian
package `virtuoso-opensource`); an engine ekb does not recognise gets `GENERIC`, which assumes only the
SPARQL 1.1 Protocol and Update and sends small updates. The dialect is chosen by the operator (`dialect=`) or
detected once, from the `Server` header of the first answer (Virtuoso and Oxigraph both name themselves).

Rewrites of request text are made on the tokens of `ekb.sparql_lexer` (a keyword only where the grammar reads
one), never on a regular expression over the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from ekb.config import GRAPH
from ekb.sparql_lexer import BNODE, IRI, NAME, OP, PN, WS, read

QUERY_FORMS = ("select", "construct", "describe", "ask")


@dataclass(frozen=True)
class Dialect:
    name: str
    # The Graph Store Protocol endpoint (a path beside the query endpoint's) and its graph parameter, where the
    # engine has one that takes a POST of N-Triples: loads go there in chunks (much faster than INSERT DATA).
    graph_store_path: str | None
    graph_store_param: str
    # The update endpoint, from the query endpoint: Oxigraph /query -> /update; Virtuoso serves both at /sparql.
    update_beside_query: bool
    # Triples per INSERT request (Virtuoso refuses an INSERT of more than about 1,400 triples) and per Graph
    # Store POST.
    update_chunk: int
    load_chunk: int
    # Blank nodes in INSERT DATA: Virtuoso refuses them ("not allowed in a constant clause"); the same triples
    # in `INSERT { ... } WHERE {}` mean the same thing and pass.
    blank_nodes_in_insert_data: bool
    # DROP GRAPH of a graph that holds triples but was never CREATEd fails on Virtuoso ("has not been explicitly
    # created before"): ekb's graphs are never created explicitly, so a DROP is sent as DROP SILENT.
    drop_needs_create: bool
    # Virtuoso names blank nodes `nodeID://b10000` in SPARQL JSON results (not a valid blank node label).
    blank_node_prefix: str | None
    # Virtuoso writes xsd:boolean values as "1"/"0" in SPARQL JSON (valid, but not the "true"/"false" it stored
    # and writes in N-Triples): the answer is given the canonical form.
    boolean_digits: bool
    # Virtuoso answers ASK as a one-column result set (`__ASK_RETVAL`, one row for true, none for false).
    ask_as_solutions: bool
    # The engine setting that caps the rows of an answer (silently: 200 and no warning), None if it has none.
    row_cap_setting: str | None
    # The largest answer the engine ever returns, whatever the setting (Virtuoso: 2^20 rows).
    hard_row_cap: int | None
    # Whether the shapes compiled to SPARQL (ekb.shacl_sparql) give exactly pyshacl's results on this engine, so
    # validation runs in the engine and only results cross the wire. Virtuoso 7.2 does since the compiled
    # queries take a transitive path with a constant end out of its block (`shacl_sparql.isolation_edits`):
    # joined in place, `?c a/rdfs:subClassOf* ex:C ; ex:p ?g` gave one consent of two on the shipped model.
    validates_in_engine: bool = True
    # How the graphs holding triples are listed (ekb lists them before every query that names no dataset). The
    # plain form reads every quad; Oxigraph keeps a table of named graphs, and `GRAPH ?g {}` reads it (0.04 s
    # instead of 0.3 s at 2x10^5 quads), each checked for a triple (it keeps a graph emptied by DELETE or CLEAR).
    graphs_query: str = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    # A query parameter of the Graph Store POST that loads without a transaction (Oxigraph's bulk loader:
    # `no_transaction`, 1.0 s instead of 1.7 s for 10^5 triples, but 0.3 s more for each request however small),
    # used for staging graphs only (a staging graph is no reader's, and a load that fails drops it) and for chunks
    # of `staging_load_from` triples or more.
    staging_load_param: str | None = None
    staging_load_from: int = 50_000
    # Whether a swap goes as one request per graph (`MOVE staging TO live`, which replaces the live graph):
    # Virtuoso applies the operations of one request one by one anyway (not atomically, tested), and a swap of
    # every graph of a 10^6 load in one request exceeds its transaction log.
    swap_per_graph: bool = False


OXIGRAPH = Dialect("oxigraph", graph_store_path="/store", graph_store_param="graph", update_beside_query=True,
                   update_chunk=50_000, load_chunk=100_000, blank_nodes_in_insert_data=True,
                   drop_needs_create=False, blank_node_prefix=None, boolean_digits=False, ask_as_solutions=False,
                   row_cap_setting=None, hard_row_cap=None,
                   graphs_query="SELECT ?g WHERE { GRAPH ?g {} FILTER EXISTS { GRAPH ?g { ?s ?p ?o } } } ORDER BY ?g",
                   staging_load_param="no_transaction")
VIRTUOSO = Dialect("virtuoso", graph_store_path="/sparql-graph-crud", graph_store_param="graph-uri",
                   update_beside_query=False, update_chunk=1_000, load_chunk=50_000,
                   blank_nodes_in_insert_data=False, drop_needs_create=True, blank_node_prefix="nodeID://",
                   boolean_digits=True, ask_as_solutions=True,
                   row_cap_setting="ResultSetMaxRows (section [SPARQL] of virtuoso.ini)",
                   hard_row_cap=1_048_576, swap_per_graph=True)
GENERIC = Dialect("generic", graph_store_path=None, graph_store_param="graph", update_beside_query=True,
                  update_chunk=1_000, load_chunk=1_000, blank_nodes_in_insert_data=True, drop_needs_create=False,
                  blank_node_prefix=None, boolean_digits=False, ask_as_solutions=False, row_cap_setting=None,
                  hard_row_cap=None)
DIALECTS = {d.name: d for d in (OXIGRAPH, VIRTUOSO, GENERIC)}


def dialect_named(name: str) -> Dialect:
    try:
        return DIALECTS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown SPARQL server dialect {name!r}: one of {', '.join(DIALECTS)}") from None


def detect(server_header: str | None) -> Dialect:
    """The dialect of a server from the `Server` header it sends (`Virtuoso/07.20.3229 ...`, `Oxigraph/0.4`)."""
    product = (server_header or "").split("/")[0].strip().lower()
    return DIALECTS.get(product, GENERIC)


def is_ekb_graph(graph: str, extra_prefixes: tuple[str, ...] = ()) -> bool:
    """The rule that decides which graphs of a shared engine are ekb's: those under ekb's graph namespace, and
    those under a prefix the operator lists. Anything else (Virtuoso's own `virtrdf#`, another application's
    data) is never counted, validated, reasoned over or queried through the union default graph."""
    return graph.startswith(GRAPH) or any(graph.startswith(p) for p in extra_prefixes)


def query_form(sparql: str) -> str | None:
    """SELECT, CONSTRUCT, DESCRIBE or ASK (lower case): the first of these keywords outside every bracket, as
    the grammar reads it. None when the text does not tokenize that far (the engine then refuses it)."""
    for kind, start, end, depth in read(sparql).tokens:
        if kind == NAME and depth == 0 and sparql[start:end].lower() in QUERY_FORMS:
            return sparql[start:end].lower()
    return None


def rewrite_update(sparql: str, dialect: Dialect) -> str:
    """An update as the engine understands it, with the same meaning: `INSERT DATA { ... }` holding blank
    nodes becomes `INSERT { ... } WHERE {}` where the engine refuses blank nodes in data, and `DROP GRAPH`
    becomes `DROP SILENT GRAPH` where a graph must have been CREATEd to be dropped (ekb never creates one)."""
    if dialect.blank_nodes_in_insert_data and not dialect.drop_needs_create:
        return sparql
    reading = read(sparql)
    if reading.stopped_at is not None:
        return sparql  # the engine refuses it with its own message
    tokens = reading.tokens
    words = [sparql[t[1]:t[2]].lower() if t[0] == NAME else "" for t in tokens]
    edits: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        if token[3] != 0:
            continue
        if (dialect.drop_needs_create and words[i] == "drop" and i + 1 < len(words)
                and words[i + 1] in ("graph", "default", "named", "all")):
            edits.append((token[2], token[2], " SILENT"))
        if (not dialect.blank_nodes_in_insert_data and words[i] == "insert" and i + 1 < len(words)
                and words[i + 1] == "data"):
            close = _closing_brace(sparql, tokens, i + 2)
            if close is not None and _has_blank_nodes(sparql, tokens[i + 2:close]):
                data = tokens[i + 1]
                edits += [(data[1], data[2], ""), (tokens[close][2], tokens[close][2], " WHERE {}")]
    for start, end, replacement in sorted(edits, reverse=True):
        sparql = sparql[:start] + replacement + sparql[end:]
    return sparql


def _closing_brace(text: str, tokens: list[tuple[str, int, int, int]], opening: int) -> int | None:
    """The index of the `}` that closes the `{` at token index `opening` (the tokens carry their depth)."""
    if opening >= len(tokens) or text[tokens[opening][1]:tokens[opening][2]] != "{":
        return None
    inside = tokens[opening][3] + 1  # a bracket token carries the depth outside it, its closer the one inside
    for j in range(opening + 1, len(tokens)):
        kind, start, end, level = tokens[j]
        if kind == OP and text[start:end] == "}" and level == inside:
            return j
    return None


def _has_blank_nodes(text: str, tokens: list[tuple[str, int, int, int]]) -> bool:
    return any(kind == BNODE or (kind == OP and text[start:end] == "[") for kind, start, end, _ in tokens)


# Update keywords after which, outside every bracket, a graph the update writes is named: `WITH g`, `INTO GRAPH g`,
# `ADD|COPY|MOVE a TO b`, `DROP|CLEAR|CREATE GRAPH g`; `MOVE` empties its source too.
WRITE_KEYWORDS = frozenset(("with", "into", "to", "graph", "move"))
# What `DROP`/`CLEAR` may name instead of a graph: every graph of the engine, its own included.
EVERY_GRAPH = frozenset(("all", "named", "default"))


def graphs_written(sparql: str, base_iri: str) -> tuple[list[str], str | None]:
    """(the graphs an update writes, as IRIs, where its text names them; what else it would empty: `ALL`,
    `NAMED` or `DEFAULT` of a DROP or CLEAR, else None), read from its tokens: the graph of `WITH`, `INTO`,
    `TO`, `MOVE`, `DROP/CLEAR/CREATE GRAPH` outside every bracket, and of each `GRAPH` inside an INSERT or
    DELETE template (INSERT DATA and DELETE DATA included), never one the WHERE clause only reads. Prefixed
    names are expanded with the update's PREFIXes, relative IRIs resolved against `base_iri`. A graph given by
    a variable is not known from the text (its values come from the WHERE clause)."""
    reading = read(sparql)
    if reading.stopped_at is not None:
        return [], None  # the engine refuses it with its own message
    tokens = [t for t in reading.tokens if t[0] != WS]
    text = [sparql[t[1]:t[2]] for t in tokens]
    words = [text[i].lower() if t[0] == NAME else "" for i, t in enumerate(tokens)]
    prefixes: dict[str, str] = {}
    found: list[str] = []
    every: str | None = None
    section = ""  # the clause the current block belongs to: insert, delete or where
    for i, (_, _, _, depth) in enumerate(tokens):
        if depth == 0 and words[i] == "prefix" and i + 2 < len(tokens) and tokens[i + 2][0] == IRI:
            prefixes[text[i + 1].rstrip(":")] = urljoin(base_iri, text[i + 2][1:-1])
        if depth == 0 and words[i] in ("insert", "delete", "where"):
            section = "delete" if words[i] == "where" and i > 0 and words[i - 1] == "delete" else words[i]
        if depth == 0 and words[i] in ("drop", "clear"):
            following = [w for w in words[i + 1:i + 3] if w != "silent"][:1]
            if following and following[0] in EVERY_GRAPH:
                every = following[0].upper()
        in_template = depth > 0 and section in ("insert", "delete") and words[i] == "graph"
        if not (in_template or (depth == 0 and words[i] in WRITE_KEYWORDS)):
            continue
        j = i + 1
        while j < len(tokens) and words[j] in ("silent", "graph"):
            j += 1
        if j < len(tokens) and tokens[j][0] == IRI:
            found.append(urljoin(base_iri, text[j][1:-1]))
        elif j < len(tokens) and tokens[j][0] == PN:
            prefix, _, local = text[j].partition(":")
            if prefix in prefixes:
                found.append(prefixes[prefix] + local.replace("\\", ""))
    return list(dict.fromkeys(found)), every
