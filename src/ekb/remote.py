"""The remote backend: a SPARQL 1.1 Protocol server reached over HTTP (tested: `oxigraph serve`, Virtuoso 7.2).

What ekb promises on the embedded store holds here too, whatever the engine does by default:

* Every answer is asked for in the format of its query form (SELECT/ASK: SPARQL JSON; CONSTRUCT/DESCRIBE:
  N-Triples), its Content-Type is checked (a mismatch is an error, never relabelled), it is parsed by pyoxigraph
  and serialised again by pyoxigraph in the format the caller asked for: consumers always get canonical syntax.
* No silent truncation: an engine that caps answers (Virtuoso's ResultSetMaxRows, answered with 200 and no
  warning) has its cap measured once; an answer that reaches it is refused, and graph dumps are read in pages
  below it and checked against COUNT. A mismatch names the setting to raise.
* Only ekb's graphs are ekb's (`dialects.is_ekb_graph`): graphs(), counts, dumps, and the default graph of a
  query that names no dataset (the protocol's default-graph-uri/named-graph-uri carry ekb's graphs) ignore the
  engine's own graphs and other applications'.
* Loads go in bounded chunks (the Graph Store Protocol where the engine has it, else INSERT), each chunk a
  whole number of blank-node-connected statements; replacing graphs stages them first and then swaps them in
  one update, so a reader never sees half of it.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import httpx
import pyoxigraph as ox

from ekb import construct_stream
from ekb.config import BASE_IRI, GRAPH, STAGING_PREFIX
from ekb.data_updates import data_quads
from ekb.dialects import Dialect, detect, dialect_named, graphs_written, is_ekb_graph, query_form, rewrite_update
from ekb.errors import Forbidden, LimitExceeded, QuerySyntaxError, QueryTimeout, RdfSyntaxError, StoreUnavailable
from ekb.formats import Format
from ekb.literals import Rewrite, merged_rewrites, nquads_rewrites
from ekb.sparql_lexer import IRI, NAME, VAR, WS, names_dataset, read
from ekb.store import JSON_RESULTS, NTRIPLES, Answer, Store, clean_parser_message
from ekb.upload_queue import UploadQueue

SPARQL_JSON = "application/sparql-results+json"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"
N_TRIPLES = "application/n-triples"
# The default graph of a query when ekb has no graph yet: a name under ekb's namespace that nothing writes
# (an empty default-graph-uri list would mean "the engine's own default", which holds its system graphs).
NO_GRAPH = GRAPH + "none"
# Probes of the engine's row cap: a cross product of two VALUES blocks (n * n rows).
CAP_PROBES = (317, 1025)  # 100,489 rows, then 1,050,625 (past Virtuoso's hard 2^20)


class RemoteStore(Store):
    """A SPARQL 1.1 Protocol server. `dialect` names the engine (`oxigraph`, `virtuoso`, `generic`), else it is
    detected from the first answer's `Server` header; `graph_prefixes` are graph namespaces besides ekb's own
    that the operator declares to be ekb's (see `dialects.is_ekb_graph`)."""

    def __init__(self, endpoint: str, update_endpoint: str | None = None, timeout_s: float = 60.0,
                 dialect: str | Dialect | None = None, graph_prefixes: Sequence[str] = ()):
        self.endpoint = endpoint
        self._update_endpoint = update_endpoint
        self._dialect = dialect_named(dialect) if isinstance(dialect, str) else dialect
        self.graph_prefixes = tuple(graph_prefixes)
        self._row_cap: int | None = None
        self._row_cap_known = False
        self._http = httpx.Client(timeout=timeout_s)
        # What a load sent to each graph it fills (`Sent`, from `begin_filling`), for the rules it runs in this
        # process. Void after any other write to the engine; forgotten when the load installs its graphs.
        self._sent: dict[str, Sent] = {}
        self._uploads = UploadQueue()  # chunks of a load, sent while the loader goes on

    # -- the engine ------------------------------------------------------------------------------------------

    @property
    def dialect(self) -> Dialect:
        if self._dialect is None:
            try:
                response = self._http.get(self.endpoint, params={"query": "ASK {}"},
                                          headers={"Accept": SPARQL_JSON})
            except httpx.HTTPError as err:
                raise StoreUnavailable(f"cannot reach the SPARQL server at {self.endpoint}: {err}") from err
            self._dialect = detect(response.headers.get("server"))
        return self._dialect

    @property
    def update_endpoint(self) -> str:
        return self._update_endpoint or guess_update_endpoint(self.endpoint, self.dialect)

    def row_cap(self) -> int | None:
        """The most rows (or triples) the engine returns in one answer, measured once; None: no cap seen."""
        if not self._row_cap_known:
            self._row_cap_known = True
            if self.dialect.row_cap_setting is not None:
                for n in CAP_PROBES:
                    numbers = " ".join(str(i) for i in range(n))
                    # ?none is never bound: each row is `{}` in SPARQL JSON, so the probe stays small
                    sparql = f"SELECT ?none WHERE {{ VALUES ?a {{ {numbers} }} VALUES ?b {{ {numbers} }} }}"
                    _, body = self._post_query(sparql, SPARQL_JSON, (), (), None, None, 0)
                    got = sum(1 for _ in ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON))
                    if got < n * n:
                        self._row_cap = got
                        break
        return self._row_cap

    def _check_cap(self, rows: int) -> None:
        cap = self.row_cap()
        if cap is not None and rows >= cap:
            setting = self.dialect.row_cap_setting
            raise LimitExceeded(f"the answer from {self.endpoint} has {rows:,} rows, the most this {self.dialect.name} "
                                f"server returns (its {setting}): it may be cut short, so it is refused. Add a LIMIT "
                                f"below {cap:,}, or raise {setting}")

    # -- reading ---------------------------------------------------------------------------------------------

    def query(self, sparql, *, solution_format=JSON_RESULTS, graph_format=NTRIPLES,
              default_graphs=(), named_graphs=(), timeout_s=None, max_bytes=None, base_iri=None) -> Answer:
        if not (default_graphs or named_graphs) and not names_dataset(sparql):
            default_graphs = self.graphs() or [NO_GRAPH]  # only ekb's graphs, as the union
            # and as named graphs, with those the query names itself: Virtuoso 7.2 answers `GRAPH <g> {...}` with
            # one empty solution (ASK true, COUNT 1) when g is outside the named graphs it was given
            named_graphs = list(dict.fromkeys([*default_graphs, *graphs_named_in(sparql)]))
        form = query_form(sparql)
        text = with_base(sparql, base_iri)
        shift = len(base_prefix(base_iri)) if base_iri else 0
        if form in ("construct", "describe"):
            _, body = self._post_query(text, N_TRIPLES, default_graphs, named_graphs, timeout_s, max_bytes, shift)
            triples = self._parse_triples(body, "the engine's answer")
            cap = self.row_cap()
            if cap is not None and len(triples) >= cap:  # cut short: read it again in pages, or refuse it
                paged = self._paged_construct(text, default_graphs, named_graphs, timeout_s, max_bytes, cap)
                if paged is None:
                    self._check_cap(len(triples))
                triples = paged
            out = ox.serialize(triples, format=graph_format.engine)
            return Answer("graph", graph_format.media_type, _bounded(out, max_bytes))
        _, body = self._post_query(text, SPARQL_JSON, default_graphs, named_graphs, timeout_s, max_bytes, shift)
        results = self._parse_results(body, form)
        return Answer("boolean" if isinstance(results, ox.QueryBoolean) else "solutions", solution_format.media_type,
                      _bounded(results.serialize(format=solution_format.engine), max_bytes))

    def _paged_construct(self, text: str, default_graphs: Sequence[str], named_graphs: Sequence[str],
                         timeout_s: float | None, max_bytes: int | None, cap: int) -> list[ox.Triple] | None:
        """A `CONSTRUCT { ?s ?p ?o } WHERE { ... }` too large for one answer (ekb's own dumps of premises and
        graphs), read as `SELECT DISTINCT ?s ?p ?o` in pages below the cap and checked against the COUNT of those
        distinct solutions. None when the query is not of that shape (it is then refused whole)."""
        parts = pageable_construct(text)
        if parts is None:
            return None
        prologue, variables, rest = parts
        distinct = f"SELECT DISTINCT {' '.join(variables)} {rest}"
        select = prologue + distinct
        count_query = f"{prologue}SELECT (COUNT(*) AS ?ekbRows) WHERE {{ {distinct} }}"
        _, body = self._post_query(count_query, SPARQL_JSON, default_graphs, named_graphs, timeout_s, None, 0)
        expected = int(next(iter(self._parse_results(body, "select")))["ekbRows"].value)
        page = min(cap - 1, 100_000)
        rows: dict[tuple, None] = {}
        setting = self.dialect.row_cap_setting or "its limit on answer rows"
        for offset in range(0, expected, page):
            _, body = self._post_query(f"{select} LIMIT {page} OFFSET {offset}", SPARQL_JSON, default_graphs,
                                       named_graphs, timeout_s, max_bytes, 0)
            try:
                solutions = self._parse_results(body, "select")
            except LimitExceeded:  # Virtuoso 7.2, when the pattern holds a sub-select: LIMIT is ignored past the cap
                raise LimitExceeded(f"a dump of {expected:,} rows from {self.endpoint} cannot be read in pages of "
                                    f"{page:,} (the server answered a page with more rows than asked): raise "
                                    f"{setting} above {expected:,}") from None
            for row in solutions:
                rows[tuple(row[v[1:]] for v in variables)] = None
        if len(rows) != expected:
            raise LimitExceeded(f"a dump from {self.endpoint} has {expected:,} rows but the server returned "
                                f"{len(rows):,} in pages: its answers are cut short; raise {setting}")
        triples: dict[ox.Triple, None] = {}
        for s, p, o in rows:
            if s is not None and isinstance(p, ox.NamedNode) and o is not None and not isinstance(s, ox.Literal):
                triples[ox.Triple(s, p, o)] = None  # CONSTRUCT leaves out what is no triple, so does this
        return list(triples)

    def _parse_results(self, body: bytes, form: str | None) -> ox.QuerySolutions | ox.QueryBoolean:
        """SPARQL JSON, read by a JSON parser first where the dialect needs a repair (Virtuoso's `nodeID://`
        blank nodes, its ASK as a result set), then by pyoxigraph."""
        try:
            document = json.loads(body)
        except ValueError as err:
            raise StoreUnavailable(f"the SPARQL server at {self.endpoint} sent a malformed JSON answer: {err}") from None
        if "boolean" in document:
            return ox.parse_query_results(json.dumps(document).encode("utf-8"), format=ox.QueryResultsFormat.JSON)
        bindings = document.get("results", {}).get("bindings", [])
        if form == "ask" and self.dialect.ask_as_solutions:
            return ox.parse_query_results(json.dumps({"head": {}, "boolean": bool(bindings)}).encode("utf-8"),
                                          format=ox.QueryResultsFormat.JSON)
        self._check_cap(len(bindings))
        if self.dialect.blank_node_prefix or self.dialect.boolean_digits:
            for row in bindings:
                for term in row.values():
                    _repair_term(term, self.dialect)
        try:
            return ox.parse_query_results(json.dumps(document).encode("utf-8"), format=ox.QueryResultsFormat.JSON)
        except SyntaxError as err:
            raise StoreUnavailable(f"the SPARQL server at {self.endpoint} sent an answer pyoxigraph cannot read: "
                                   f"{err.msg}") from None

    def _parse_triples(self, body: bytes, what: str) -> list[ox.Triple]:
        try:
            triples = [q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
        except SyntaxError as err:
            raise StoreUnavailable(f"the SPARQL server at {self.endpoint} sent N-Triples pyoxigraph cannot read "
                                   f"({what}): {err.msg}") from None
        prefix = self.dialect.blank_node_prefix
        if prefix and prefix.encode() in body:
            triples = [ox.Triple(*(_as_blank(t, prefix) for t in (x.subject, x.predicate, x.object))) for x in triples]
        return triples

    def _post_query(self, text: str, accept: str, default_graphs: Sequence[str], named_graphs: Sequence[str],
                    timeout_s: float | None, max_bytes: int | None, shift: int) -> tuple[str, bytes]:
        """The engine's answer in exactly the media type asked for, read as it streams in: past the deadline or
        the size limit the connection is closed at once (so the server stops sending)."""
        form: dict[str, str | list[str]] = {"query": text}
        if default_graphs:
            form["default-graph-uri"] = list(default_graphs)
        if named_graphs:
            form["named-graph-uri"] = list(named_graphs)
        deadline = time.monotonic() + timeout_s if timeout_s else None
        try:
            self._uploads.settle()
            with self._http.stream("POST", self.endpoint, data=form, headers={"Accept": accept},
                                   **({"timeout": timeout_s} if timeout_s else {})) as response:
                if response.status_code >= 300:
                    response.read()
                    self._refuse(self.endpoint, response, shift)
                if response.headers.get("x-sql-state"):  # Virtuoso's "anytime" answer: partial, with 200
                    raise QueryTimeout(f"the SPARQL server at {self.endpoint} sent a partial answer "
                                       f"({response.headers.get('x-sql-message', '').strip()}): it is refused")
                media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if media_type != accept:
                    raise StoreUnavailable(f"asked the SPARQL server at {self.endpoint} for {accept} and it answered "
                                           f"{media_type or 'without a Content-Type'}: the answer is refused")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise LimitExceeded(f"the answer is larger than the limit of {max_bytes:,} bytes and was "
                                            "stopped; add a LIMIT or narrow the query")
                    if deadline is not None and time.monotonic() > deadline:
                        raise QueryTimeout("the query ran past its time limit and was stopped")
                    chunks.append(chunk)
                return media_type, b"".join(chunks)
        except httpx.TimeoutException as err:
            raise QueryTimeout(f"the SPARQL server at {self.endpoint} did not answer in time") from err
        except httpx.HTTPError as err:
            raise StoreUnavailable(f"cannot reach the SPARQL server at {self.endpoint}: {err}") from err

    def _raw_select(self, sparql: str) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        """A SELECT over every graph of the engine (no dataset given): for listing and counting graphs."""
        _, body = self._post_query(sparql, SPARQL_JSON, (), (), None, None, 0)
        results = self._parse_results(body, "select")
        names = [v.value for v in results.variables]
        return [{n: row[n] for n in names if row[n] is not None} for row in results]

    def graphs(self) -> list[str]:
        rows = self._raw_select(self.dialect.graphs_query)
        return [row["g"].value for row in rows if is_ekb_graph(row["g"].value, self.graph_prefixes)]

    def counts(self) -> dict[str, int]:
        rows = self._raw_select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g")
        return {row["g"].value: int(row["n"].value) for row in rows
                if is_ekb_graph(row["g"].value, self.graph_prefixes)}

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            return sum(self.counts().values())
        rows = self._raw_select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}")
        return int(rows[0]["n"].value)

    def graph_triples(self, graph: str, where: str = "") -> list[ox.Triple]:
        """Every triple of one graph (those that pass the FILTER `where`, if given), read in pages below the
        engine's row cap and checked against COUNT."""
        g = ox.NamedNode(graph)
        pattern = f"GRAPH {g} {{ ?s ?p ?o {where} }}"
        expected = int(self._raw_select(f"SELECT (COUNT(*) AS ?n) WHERE {{ {pattern} }}")[0]["n"].value) if where \
            else self.count(graph)
        cap = self.row_cap()
        page = None if cap is None else min(cap - 1, 100_000)
        construct = f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {pattern} }}"
        if page is None or expected < page:
            pages = [construct]
        else:  # no ORDER BY: Virtuoso sorts at most ResultSetMaxRows rows; the count check below catches a drift
            pages = [f"{construct} LIMIT {page} OFFSET {offset}" for offset in range(0, expected, page)]
        triples: dict[ox.Triple, None] = {}
        for sparql in pages:
            _, body = self._post_query(sparql, N_TRIPLES, (), (), None, None, 0)
            triples.update(dict.fromkeys(self._parse_triples(body, f"graph {g}")))
        if len(triples) != expected:
            setting = self.dialect.row_cap_setting or "its limit on answer rows"
            raise LimitExceeded(f"graph {g} on {self.endpoint} holds {expected:,} triples but the server returned "
                                f"{len(triples):,}: its answers are cut short; raise {setting}")
        return list(triples)

    def quads(self, graph: str | None = None) -> list[ox.Quad]:
        return [ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(g))
                for g in ([graph] if graph else self.graphs()) for t in self.graph_triples(g)]

    def graph_ntriples(self, graph: str) -> bytes:
        """One graph as canonical N-Triples (pyoxigraph's, whatever the engine's own spacing and labels)."""
        return ox.serialize(self.graph_triples(graph), format=ox.RdfFormat.N_TRIPLES)

    def digest_ntriples(self, graph: str) -> None:
        """None: a digest of a graph here means reading it back whole, which costs the engine about what loading
        it again does (at 10^6 triples on Virtuoso the forms it keeps of the literals sent took 6.5 s to learn,
        of a 26 s load)."""
        return None

    writes_new_graphs_in_place = True  # moving a graph costs an engine what loading it does (Virtuoso: 11.5 s of
    # a 10^6 load's 44 s)

    def begin_filling(self, graph: str) -> None:
        self._sent[graph] = Sent()

    def wait_for_writes(self) -> None:
        self._uploads.settle()

    def lines_sent(self, graphs: Sequence[str]) -> Iterable[bytes] | None:
        """The N-Triples lines (pyoxigraph's, without line ends) sent to graphs since `begin_filling`, each once
        per graph, or None where some were not kept (another graph, RDF-star, any other write since): what they
        hold, but for the engine's own forms of some literals."""
        sent = [self._sent.get(g) for g in graphs]
        if any(s is None or not s.known for s in sent):
            return None
        return itertools.chain.from_iterable(s.lines for s in sent)

    def _filling(self, graph: str) -> bool:
        """A graph a load fills: a staging graph, or a new graph since `begin_filling` (until any other write:
        after a failed load, a write to that name is an ordinary one)."""
        sent = self._sent.get(graph)
        return graph.startswith(STAGING_PREFIX) or (sent is not None and sent.known)

    def export(self, fmt: Format, graph: str | None = None) -> bytes:
        if fmt.engine.supports_datasets:
            return ox.serialize(self.quads(graph), format=fmt.engine)
        merged: dict[ox.Triple, None] = {}
        for g in [graph] if graph else self.graphs():
            merged.update(dict.fromkeys(self.graph_triples(g)))
        return ox.serialize(list(merged), format=fmt.engine)

    def dump_dataset(self, fmt: Format, graph: str | None = None) -> bytes:
        return ox.serialize(self.quads(graph), format=fmt.engine)

    # -- writing ---------------------------------------------------------------------------------------------

    def update(self, sparql: str, base_iri: str | None = None) -> None:
        """Run an update on the engine, after refusing one that writes a graph that is not ekb's. An update of
        nothing but DELETE DATA and INSERT DATA larger than the engine takes in one request goes as a change of
        quads (`change_quads`: staged, then applied by one operation)."""
        if not sparql.strip():
            return
        self.check_ekb_graphs(*graphs_written(sparql, base_iri or self.update_endpoint))
        change = data_change(sparql, base_iri, self.dialect.update_chunk)
        if change is not None:
            self.change_quads(*change)
            return
        self._send_update(sparql, base_iri)

    def _send_update(self, sparql: str, base_iri: str | None = None, keep_sent: bool = False) -> None:
        if not keep_sent:  # any write may change a staging graph: what was sent to it is no longer its content
            for sent in self._sent.values():
                sent.void()
        text = rewrite_update(with_base(sparql, base_iri), self.dialect)
        self._send(self.update_endpoint, content=text.encode("utf-8"),
                   shift=len(base_prefix(base_iri)) if base_iri else 0,
                   headers={"Content-Type": "application/sparql-update"})

    def check_ekb_graphs(self, graphs: Iterable[str], every: str | None = None) -> None:
        """Refuse, before anything is sent, a write to a graph that is not ekb's (`dialects.is_ekb_graph`): the
        engine would keep it and ekb would never read it again (graphs(), counts and the union ignore it), or
        it belongs to the engine or another application. Also DROP/CLEAR of ALL, NAMED or DEFAULT, which would
        empty graphs that are not ekb's."""
        declared = ", ".join(f"<{p}>" for p in (GRAPH, *self.graph_prefixes))
        how = ("declare its namespace as ekb's (the `graph_prefixes` setting; `--graph-namespace PREFIX` on the "
               "command line)")
        if every is not None:
            raise Forbidden(f"DROP/CLEAR {every} would empty graphs on {self.endpoint} that are not ekb's (only "
                            f"graphs under {declared} are): name the graphs instead; nothing was sent")
        foreign = sorted({g for g in graphs if not is_ekb_graph(g, self.graph_prefixes)})
        if foreign:
            raise Forbidden(f"the write names the graph <{foreign[0]}>"
                            + (f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else "")
                            + f", which is not one of ekb's graphs on {self.endpoint} (those under {declared}): "
                            f"ekb would never read it again; nothing was sent. Write to a graph under <{GRAPH}>, or "
                            + how)

    def change_quads(self, removed: Iterable[ox.Quad], added: Iterable[ox.Quad]) -> None:
        """A gated write, all or nothing, as ONE update operation: Virtuoso 7.2 does not undo the operations
        of a request before one that fails (tests/test_virtuoso.py shows it), so `DELETE DATA ; INSERT DATA`
        is not atomic there. Up to the dialect's `update_chunk` quads, the quads are written in the operation
        (`DELETE { ... } INSERT { ... } WHERE {}`); past it, they are first staged in graphs under
        STAGING_PREFIX (in bounded chunks, blank-node-connected statements together, so added blank nodes stay
        whole), and the operation moves them (`changed_from_staging`); the staging graphs are dropped after,
        also on failure."""
        removed, added = list(removed), list(added)
        self.check_ekb_graphs(q.graph_name.value for q in [*removed, *added])
        if not removed and not added:
            return
        if len(removed) + len(added) <= self.dialect.update_chunk:
            self._send_update(quads_operation(removed, added))
            return
        run = f"{STAGING_PREFIX}change-{uuid.uuid4().hex[:12]}/"
        staged: dict[str, dict[str, str]] = {"removed": {}, "added": {}}
        try:
            for kind, quads in (("removed", removed), ("added", added)):
                for n, (graph, triples) in enumerate(by_graph(quads).items()):
                    staged[kind][graph] = f"{run}{kind}/{n}"
                    self.add_triples(staged[kind][graph], triples)
            self._send_update(changed_from_staging(staged["removed"], staged["added"]))
        finally:
            leftovers = [g for g in self.graphs() if g.startswith(run)]
            if leftovers:
                self._send_update(" ;\n".join(f"DROP SILENT GRAPH {ox.NamedNode(g)}" for g in leftovers))

    def load_file(self, graph: str, data: bytes | Path, fmt: ox.RdfFormat, source: str) -> list[Rewrite]:
        """The rewrites are found in the chunks as they are sent, not by parsing the document again (1.4 s of a
        10^6 load); a literal whose first occurrence has a blank node may be placed at a later one."""
        found: list[list[Rewrite]] = []
        self.load_graph(graph, data, fmt, source, seen=lambda body: found.append(nquads_rewrites(body)))
        return merged_rewrites(found)

    def load_graph(self, graph: str, data: bytes | Path, fmt: ox.RdfFormat = ox.RdfFormat.N_TRIPLES,
                   source: str = "data", seen: Callable[[bytes], None] | None = None) -> None:
        """Add an RDF document to a graph, one request per chunk (each, as N-Triples, also to `seen`). Into a
        graph a load fills (a staging graph, or a new one since `begin_filling`) the chunks go as the parser
        gives them: the engine stores the first while the rest is parsed (at 10^6 triples it waited 3 s for the
        whole file before); statements with a blank node are kept for the end, together (`blank_node_chunks`); a
        syntax error leaves part of the document there, for the load to drop with the graph. Into another graph
        the document is parsed whole first."""
        data = data.read_bytes() if isinstance(data, Path) else data
        filling = self._filling(graph)
        size = self._chunk_size()
        plain: list[ox.Triple] = []
        linked: list[ox.Triple] = []
        try:
            for quad in ox.parse(data, format=fmt, base_iri=BASE_IRI):
                t = quad.triple
                if filling and not isinstance(t.subject, LINKED) and not isinstance(t.object, LINKED):
                    plain.append(t)
                    if len(plain) >= size:
                        self.add_triples(graph, plain, unlinked=True, seen=seen)
                        plain = []
                else:
                    linked.append(t)
        except SyntaxError as err:
            raise RdfSyntaxError(source, clean_parser_message(err.msg), err.lineno, err.offset) from None
        self.add_triples(graph, plain, unlinked=True, seen=seen)
        self.add_triples(graph, linked, seen=seen)

    def add_triples(self, graph: str, triples: list[ox.Triple], unlinked: bool = False,
                    seen: Callable[[bytes], None] | None = None) -> None:
        """Add triples to a graph in bounded chunks (Graph Store POST where the engine has it, queued to be sent
        while the caller goes on: `UploadQueue`; else INSERT DATA), statements that share a blank node in one
        chunk (`blank_node_chunks`; `unlinked`: the caller knows none do). Into a staging graph: large chunks
        without a transaction where the engine offers that (`staging_load_param`), and what was sent is kept
        (`Sent`) while it is all the graph holds."""
        dialect = self.dialect
        size = self._chunk_size()
        target = ox.NamedNode(graph)
        staging = self._filling(graph)
        sent = self._sent.get(graph)
        try:
            chunks = [triples[i:i + size] for i in range(0, len(triples), size)] if unlinked \
                else blank_node_chunks(triples, size)
            for chunk in chunks:
                body = ox.serialize(chunk, format=ox.RdfFormat.N_TRIPLES)
                if dialect.graph_store_path:
                    bulk = staging and len(chunk) >= dialect.staging_load_from
                    self._uploads.submit(functools.partial(self._post_ntriples, graph, body, bulk), len(body))
                else:
                    self.check_ekb_graphs([graph])
                    self._send_update(f"INSERT DATA {{ GRAPH {target} {{\n{body.decode('utf-8')}\n}} }}", keep_sent=True)
                if sent is not None:
                    sent.add(body)
                if seen is not None:
                    seen(body)
        except BaseException:
            if sent is not None:
                sent.void()
            raise

    def _chunk_size(self) -> int:
        """Triples per request: a Graph Store POST where the engine has one, else an INSERT DATA."""
        return self.dialect.load_chunk if self.dialect.graph_store_path else self.dialect.update_chunk

    def _post_ntriples(self, graph: str, body: bytes, bulk: bool) -> None:
        """A Graph Store POST of N-Triples into `graph`; `bulk` (a large chunk for a staging graph): without a
        transaction where the engine offers that."""
        dialect = self.dialect
        url = str(httpx.URL(self.endpoint).copy_with(path=dialect.graph_store_path, query=None))
        params = {dialect.graph_store_param: graph}
        if bulk and dialect.staging_load_param:
            params[dialect.staging_load_param] = ""
        self._send(url, params=params, content=body, headers={"Content-Type": N_TRIPLES})

    def replace_graphs(self, graphs: Mapping[str, bytes], drop: Iterable[str] = ()) -> None:
        """Replace several graphs and drop others, atomically: each graph is staged in chunks, then one update
        moves the staged graphs onto their names."""
        drop = list(drop)
        self.check_ekb_graphs([*graphs, *drop])
        run = f"{STAGING_PREFIX}replace-{uuid.uuid4().hex[:12]}/"
        staged = {live: f"{run}{n}" for n, live in enumerate(graphs)}
        try:
            for live, body in graphs.items():
                self.load_graph(staged[live], body, ox.RdfFormat.N_TRIPLES, live)
            self.swap(staged, drop)
        finally:
            leftovers = [g for g in self.graphs() if g.startswith(run)]
            if leftovers:
                self.update(" ;\n".join(f"DROP SILENT GRAPH {ox.NamedNode(g)}" for g in leftovers))

    def install(self, stage: Store, staged: Mapping[str, str], drop: Iterable[str] = (),
                files: Mapping[str, tuple[Path, ox.RdfFormat]] | None = None) -> None:
        """The swap; then what was sent is forgotten (`Sent`: the lines of a 10^6 load are 150 MB, and graphs the
        load wrote in place are live now, open to every writer)."""
        try:
            super().install(stage, staged, drop, files)
        finally:
            self._sent.clear()

    def swap(self, staged: Mapping[str, str], drop: Iterable[str] = ()) -> None:
        """Move staging graphs onto their live names and drop others: in one update (atomic where the engine
        applies a request atomically: Oxigraph), or, on an engine that does not (`swap_per_graph`: Virtuoso,
        whose transaction log a 10^6 swap exceeds), one request per graph, `MOVE staging TO live` (which replaces
        the live graph), then one per graph dropped: each graph is replaced whole, but a reader between two
        requests sees some graphs new and others not yet."""
        if not self.dialect.swap_per_graph:
            return super().swap(staged, drop)
        self.check_ekb_graphs([*staged, *staged.values(), *drop])
        for live, staging in staged.items():
            self._send_update(f"MOVE SILENT GRAPH {ox.NamedNode(staging)} TO {ox.NamedNode(live)}")
        for g in drop:
            self._send_update(f"DROP SILENT GRAPH {ox.NamedNode(g)}")

    def close(self) -> None:
        try:
            self._uploads.close()
        finally:
            self._http.close()

    def _send(self, url: str, timeout: float | None = None, shift: int = 0, **kwargs) -> httpx.Response:
        self._uploads.settle()
        try:
            extra = {"timeout": timeout} if timeout else {}
            response = self._http.post(url, **kwargs, **extra)
        except httpx.TimeoutException as err:
            raise QueryTimeout(f"the SPARQL server at {url} did not answer in time") from err
        except httpx.HTTPError as err:
            raise StoreUnavailable(f"cannot reach the SPARQL server at {url}: {err}") from err
        if response.status_code >= 300:
            self._refuse(url, response, shift)
        return response

    @staticmethod
    def _refuse(url: str, response: httpx.Response, shift: int) -> None:
        if response.status_code == 400:
            raise QuerySyntaxError(f"the SPARQL server rejected the request: {_unshifted(response.text.strip(), shift)}")
        raise StoreUnavailable(f"the SPARQL server at {url} answered {response.status_code}: {response.text.strip()[:500]}")


LINKED = (ox.BlankNode, ox.Triple)  # a statement with one of these travels with the others that share it


class Sent:
    """What was sent to a staging graph (or a new graph a load fills), as pyoxigraph's distinct N-Triples lines,
    for the rules a load runs in this process (`ekb.rules_in_process`); not `known` once another write may have
    changed the graph, or a line was RDF-star (not split as the rules split lines)."""

    def __init__(self) -> None:
        self.lines: set[bytes] = set()
        self.known = True

    def add(self, body: bytes) -> None:
        if not self.known:
            return
        for line in body.splitlines():
            if b"<<" in line:
                self.void()
                return
            if line:
                self.lines.add(line)

    def void(self) -> None:
        self.lines, self.known = set(), False


def by_graph(quads: Iterable[ox.Quad]) -> dict[str, list[ox.Triple]]:
    found: dict[str, list[ox.Triple]] = {}
    for quad in quads:
        found.setdefault(quad.graph_name.value, []).append(quad.triple)
    return found


def quads_operation(removed: list[ox.Quad], added: list[ox.Quad]) -> str:
    """`DELETE { ... } INSERT { ... } WHERE {}`: one operation (DELETE DATA ; INSERT DATA would be two). Blank
    nodes in the INSERT template are new nodes, as in INSERT DATA; the DELETE template may hold none (nor may
    DELETE DATA)."""
    parts = []
    for keyword, quads in (("DELETE", removed), ("INSERT", added)):
        if quads:
            body = " ".join(f"GRAPH {ox.NamedNode(g)} {{ {ox.serialize(ts, format=ox.RdfFormat.N_TRIPLES).decode()} }}"
                            for g, ts in by_graph(quads).items())
            parts.append(f"{keyword} {{ {body} }}")
    return " ".join(parts) + " WHERE {}"


def changed_from_staging(removed: Mapping[str, str], added: Mapping[str, str]) -> str:
    """The one operation that removes from each graph what its staging graph in `removed` holds and adds to each
    graph what its staging graph in `added` holds (graph -> staging graph). The WHERE clause is read once, the
    removals then happen before the additions, as SPARQL 1.1 Update says; a template with an unbound graph
    variable writes nothing, so each branch of the union feeds one of the two templates."""
    def branches(variable: str, staged: Mapping[str, str]) -> list[str]:
        # BIND, not VALUES: Virtuoso 7.2 fails on `INSERT { GRAPH ?g {...} } WHERE { VALUES (?s ?g) {...} ... }`
        return [f"{{ GRAPH {ox.NamedNode(s)} {{ ?s ?p ?o }} BIND({ox.NamedNode(g)} AS {variable}) }}"
                for g, s in staged.items()]

    templates = (["DELETE { GRAPH ?ekbFrom { ?s ?p ?o } }"] if removed else []) + (
        ["INSERT { GRAPH ?ekbTo { ?s ?p ?o } }"] if added else [])
    union = branches("?ekbFrom", removed) + branches("?ekbTo", added)
    return f"{' '.join(templates)} WHERE {{ {' UNION '.join(union)} }}"


def data_change(sparql: str, base_iri: str | None, limit: int) -> tuple[list[ox.Quad], list[ox.Quad]] | None:
    """(removed, added) of an update made of DELETE DATA operations followed by INSERT DATA operations
    (`data_updates.data_quads`), when it holds more than `limit` quads, none in the default graph (else None: it
    goes as written)."""
    if len(sparql) < limit * 10:  # a quad takes more than 10 characters: too small to need staging
        return None
    change = data_quads(sparql, base_iri)
    if change is None:
        return None
    removed, added = change
    if len(removed) + len(added) <= limit or any(q.graph_name == ox.DefaultGraph() for q in [*removed, *added]):
        return None
    return removed, added


def graphs_named_in(sparql: str) -> list[str]:
    """The graph IRIs a query names as `GRAPH <iri>` (written as full IRIs), read from its tokens."""
    tokens = [t for t in read(sparql).tokens if t[0] != WS]
    return [sparql[b[1] + 1:b[2] - 1] for a, b in zip(tokens, tokens[1:], strict=False)
            if a[0] == NAME and sparql[a[1]:a[2]].lower() == "graph" and b[0] == IRI]


def pageable_construct(text: str) -> tuple[str, list[str], str] | None:
    """(prologue, template variables, the rest) of `CONSTRUCT { ?a ?b ?c } WHERE {...}` read from its tokens,
    when the rest has no dataset clause, grouping, ordering, LIMIT, OFFSET or VALUES (paging it keeps its
    meaning); else None."""
    found = construct_stream.parts(text)
    if found is None or found.short:
        return None
    variables, after = found.template_tokens[:3], [text[t[1]:t[2]] for t in found.template_tokens[3:]]
    if len(variables) != 3 or any(t[0] != VAR for t in variables) or after not in ([], ["."]):
        return None
    modifiers = {"from", "group", "having", "order", "limit", "offset", "values"}
    if not found.rest_tokens or any(t[0] == NAME and t[3] == 0 and text[t[1]:t[2]].lower() in modifiers
                                    for t in found.rest_tokens):
        return None
    return found.prologue, ["?" + text[t[1] + 1:t[2]] for t in variables], found.rest


def blank_node_chunks(triples: list[ox.Triple], size: int) -> list[list[ox.Triple]]:
    """Triples in chunks of about `size`, never splitting statements linked by a blank node: a blank node's
    label means one node only within one request, so its statements must travel together."""
    parent: dict[ox.BlankNode, ox.BlankNode] = {}

    def root(node: ox.BlankNode) -> ox.BlankNode:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for t in triples:
        nodes = [n for n in (t.subject, t.object) if isinstance(n, ox.BlankNode)]
        if len(nodes) == 2:
            a, b = root(nodes[0]), root(nodes[1])
            if a != b:
                parent[a] = b
        elif nodes:
            root(nodes[0])
    groups: dict[object, list[ox.Triple]] = {}
    for t in triples:
        blank = t.subject if isinstance(t.subject, ox.BlankNode) else t.object
        key = root(blank) if isinstance(blank, ox.BlankNode) else None
        groups.setdefault(key, []).append(t)
    chunks: list[list[ox.Triple]] = []
    current: list[ox.Triple] = []
    for key, group in groups.items():
        pieces = [group[i:i + size] for i in range(0, len(group), size)] if key is None else [group]
        for piece in pieces:
            if current and len(current) + len(piece) > size:
                chunks.append(current)
                current = []
            current += piece
    return [*chunks, current] if current else chunks


def _repair_term(term: dict, dialect: Dialect) -> None:
    """One SPARQL JSON term as the standard has it: `nodeID://b1` -> `b1`, `"1"^^xsd:boolean` -> `"true"`."""
    value = term.get("value", "")
    if term.get("type") == "bnode" and dialect.blank_node_prefix and value.startswith(dialect.blank_node_prefix):
        term["value"] = value[len(dialect.blank_node_prefix):]
    elif dialect.boolean_digits and term.get("datatype") == XSD_BOOLEAN and value in ("0", "1"):
        term["value"] = "true" if value == "1" else "false"


def _as_blank(term, prefix: str):
    return ox.BlankNode(term.value[len(prefix):]) if isinstance(term, ox.NamedNode) and term.value.startswith(prefix) \
        else term


def _bounded(body: bytes, max_bytes: int | None) -> bytes:
    if max_bytes is not None and len(body) > max_bytes:
        raise LimitExceeded(f"the answer is larger than the limit of {max_bytes:,} bytes and was stopped; "
                            "add a LIMIT or narrow the query")
    return body


def with_base(sparql: str, base_iri: str | None) -> str:
    """The request with `base_iri` as its first BASE: the server resolves relative IRIs against ours, not its
    own endpoint's (a BASE the request declares itself still applies after it, resolved against ours). It goes
    on the first line, and `_unshifted` takes its length off the server's error positions there."""
    return f"{base_prefix(base_iri)}{sparql}" if base_iri else sparql


def base_prefix(base_iri: str) -> str:
    return f"BASE {ox.NamedNode(base_iri)} "


def _unshifted(message: str, shift: int) -> str:
    """A server's error message with its positions on line 1 (`1:COLUMN`) moved back by `shift` columns, the
    length of the BASE `with_base` put there: the client is shown positions in the text it sent."""
    return re.sub(r"\b1:(\d+)", lambda m: f"1:{max(1, int(m.group(1)) - shift)}", message) if shift else message


def guess_update_endpoint(endpoint: str, dialect: Dialect | None = None) -> str:
    """Virtuoso serves updates at its query endpoint; Oxigraph at /update beside /query; Fuseki at /update
    beside /sparql or /query."""
    if dialect is not None and not dialect.update_beside_query:
        return endpoint
    for suffix in ("/query", "/sparql"):
        if endpoint.endswith(suffix):
            return endpoint[: -len(suffix)] + "/update"
    return endpoint
