"""The store: one small interface, two implementations.

`EmbeddedStore` is pyoxigraph in process (in memory, or on disk in a directory); `RemoteStore` (in
`ekb.remote`, with its dialects in `ekb.dialects`) is a SPARQL 1.1 Protocol server reached over HTTP. Everything above this
module (load pipeline, reasoning, governance, API) speaks only this interface, so both backends behave
the same. Query answers come back already serialised by the engine, never row by row in Python.
"""

from __future__ import annotations

import gc
import re
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from ekb import construct_stream
from ekb.config import BASE_IRI
from ekb.errors import LimitExceeded, QuerySyntaxError, QueryTimeout, RdfSyntaxError, StoreUnavailable
from ekb.formats import GRAPH_FORMATS, SOLUTION_FORMATS, Format
from ekb.literals import Rewrite, file_rewrites
from ekb.sparql_lexer import names_dataset

JSON_RESULTS = SOLUTION_FORMATS[0]
NTRIPLES = GRAPH_FORMATS[1]


class AnswerRest(Protocol):
    """The rest of a streamed answer, read chunk by chunk (see `QueryWorkers.query`)."""

    def read(self) -> bytes | None:
        """The next chunk, None at the end; raises the EkbError (time, size, engine) that stopped the query."""

    def close(self) -> None:
        """Stop the query if it still runs (a client that went away); at once, from any thread."""


@dataclass(frozen=True)
class Answer:
    """A query answer as the engine serialised it: all of it in `body`, or, when streamed, its first chunk in
    `body` and the rest to read from `rest` (whoever holds such an answer must close `rest`)."""

    kind: str  # "solutions", "boolean" or "graph"
    media_type: str
    body: bytes
    rest: AnswerRest | None = None


CHUNK_BYTES = 64 * 1024  # a streamed answer's chunks: the first is awaited before an HTTP response starts


class Store(ABC):
    """What ekb needs from a quad store. Graph names are IRIs given as plain strings."""

    @abstractmethod
    def query(
        self,
        sparql: str,
        *,
        solution_format: Format = JSON_RESULTS,
        graph_format: Format = NTRIPLES,
        default_graphs: Sequence[str] = (),
        named_graphs: Sequence[str] = (),
        timeout_s: float | None = None,
        max_bytes: int | None = None,
        base_iri: str | None = None,
    ) -> Answer:
        """Run a query on its dataset: the protocol's `default_graphs`/`named_graphs` when either is given (they
        replace the query's FROM and FROM NAMED), else the query's own FROM/FROM NAMED, else the union of all
        graphs as the default graph and every graph as a named graph. Relative IRIs resolve against `base_iri`.
        Past `timeout_s` or `max_bytes` of serialised answer, the query is stopped with a clear error."""

    @abstractmethod
    def update(self, sparql: str, base_iri: str | None = None) -> None:
        """Run a SPARQL Update request atomically: all of it, or nothing."""

    @abstractmethod
    def close(self) -> None: ...

    # Everything below is derived from query/update, so both backends share it.

    def select(self, sparql: str, **kwargs) -> list[dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]]:
        answer = self.query(sparql, solution_format=JSON_RESULTS, **kwargs)
        results = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
        names = [v.value for v in results.variables]
        return [{n: row[n] for n in names if row[n] is not None} for row in results]

    def ask(self, sparql: str) -> bool:
        answer = self.query(sparql, solution_format=JSON_RESULTS)
        return bool(ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON))

    def construct(self, sparql: str) -> list[ox.Triple]:
        answer = self.query(sparql, graph_format=NTRIPLES)
        return [q.triple for q in ox.parse(answer.body, format=ox.RdfFormat.N_TRIPLES)]

    def graphs(self) -> list[str]:
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g")
        return [row["g"].value for row in rows]

    def count(self, graph: str | None = None) -> int:
        """Triples in one named graph, or quads in all named graphs."""
        target = f"<{ox.NamedNode(graph).value}>" if graph else "?g"
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH {target} {{ ?s ?p ?o }} }}")
        return int(rows[0]["n"].value)

    def counts(self) -> dict[str, int]:
        rows = self.select("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g")
        return {row["g"].value: int(row["n"].value) for row in rows}

    def quads(self, graph: str | None = None) -> list[ox.Quad]:
        """Every quad of one named graph, or of all named graphs."""
        if graph:
            g = ox.NamedNode(graph)
            return [ox.Quad(t.subject, t.predicate, t.object, g)
                    for t in self.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {g} {{ ?s ?p ?o }} }}")]
        rows = self.select("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return [ox.Quad(r["s"], r["p"], r["o"], r["g"]) for r in rows]

    def graph_ntriples(self, graph: str) -> bytes:
        """One graph as N-Triples, serialised by the engine (no per-triple work in Python)."""
        g = ox.NamedNode(graph)
        return self.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {g} {{ ?s ?p ?o }} }}", graph_format=NTRIPLES).body

    def digest_ntriples(self, graph: str) -> bytes | None:
        """One graph's triples as N-Triples lines, for a digest of its content (`loader.content_digest`), or None
        where that would cost about what loading the graph again does: no digest is recorded then, and a graph
        that a write changed in a way not known triple by triple is loaded again (`loader.is_unchanged`)."""
        return self.graph_ntriples(graph)

    def export(self, fmt: Format, graph: str | None = None) -> bytes:
        """One graph (any RDF format) or every named graph (a dataset format keeps graph names; another
        format merges them), serialised by the engine."""
        if not fmt.engine.supports_datasets:
            where = f"GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }}" if graph else "GRAPH ?g { ?s ?p ?o }"
            return self.query(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ {where} }}", graph_format=fmt).body
        return self.dump_dataset(fmt, graph)

    def dump_dataset(self, fmt: Format, graph: str | None = None) -> bytes:
        return ox.serialize(self.quads(graph), format=fmt.engine)

    def replace_graphs(self, graphs: Mapping[str, bytes], drop: Iterable[str] = ()) -> None:
        """Replace several graphs (N-Triples content) and drop others, in one atomic update."""
        self.update(replace_graphs_update(graphs, drop))

    def load_file(self, graph: str, data: bytes | Path, fmt: ox.RdfFormat, source: str) -> list[Rewrite]:
        """`load_graph`, and the document's typed literals pyoxigraph keeps in another form (`file_rewrites`:
        the document is parsed again, known to be well-formed)."""
        self.load_graph(graph, data, fmt, source)
        return file_rewrites(data, fmt, BASE_IRI)

    def load_graph(self, graph: str, data: bytes | Path, fmt: ox.RdfFormat = ox.RdfFormat.N_TRIPLES,
                   source: str = "data") -> None:
        """Add an RDF document (bytes or a file) to a graph (a staging graph: several requests may be needed on
        a remote server)."""
        data = data.read_bytes() if isinstance(data, Path) else data
        try:
            triples = [q.triple for q in ox.parse(data, format=fmt, base_iri=BASE_IRI)]
        except SyntaxError as err:
            raise RdfSyntaxError(source, clean_parser_message(err.msg), err.lineno, err.offset) from None
        target = ox.NamedNode(graph)
        for start in range(0, len(triples), CHUNK):
            body = ox.serialize(triples[start:start + CHUNK], format=ox.RdfFormat.N_TRIPLES).decode("utf-8")
            self.update(f"INSERT DATA {{ GRAPH {target} {{\n{body}\n}} }}")

    def change_quads(self, removed: Iterable[ox.Quad], added: Iterable[ox.Quad]) -> None:
        """Remove `removed` and add `added` (named graphs only), all or nothing: the one way a gated write
        reaches the store. A remote engine that refuses large updates stages the change first."""
        self.update(quads_update(removed, added))

    def compact(self) -> None:  # noqa: B027 - most backends have nothing to do
        """Merge what many small writes left behind, where the engine has such a thing (RocksDB)."""

    @contextmanager
    def staging_area(self) -> Iterator[Store]:
        """Where a load stages its graphs before `install`: by default this store itself (staging graphs)."""
        yield self

    def wait_for_writes(self) -> None:  # noqa: B027 - most stores write before they return
        """Until every write this thread queued is stored; raises the failure of one that was not."""

    def lines_sent(self, graphs: Sequence[str]) -> Iterable[bytes] | None:
        """The N-Triples lines this process sent to `graphs` since each was made, for the rules a load runs over
        them (`ekb.rules_in_process`); None where not kept (by default)."""
        return None

    # Whether a load writes a graph this store does not hold under its own name rather than staging it: then
    # nothing is moved at the end, readers see the graph grow, and a failed load drops it. No by default (a swap
    # is cheap in memory; on disk `install` bulk-loads such a graph itself).
    writes_new_graphs_in_place = False

    def begin_filling(self, graph: str) -> None:  # noqa: B027 - most stores keep nothing of what is sent
        """A load is about to fill `graph`, which this store does not hold (a staging graph, or a new graph
        written in place): where the store keeps what it sends there, from now on (`lines_sent`)."""

    def install(self, stage: Store, staged: Mapping[str, str], drop: Iterable[str] = (),
                files: Mapping[str, tuple[Path, ox.RdfFormat]] | None = None) -> None:
        """Replace live graphs with the graphs staged (live name -> staging name) in `stage`, drop others.
        `files` names the one file a live graph was parsed from, where a store can read it again faster."""
        if stage is not self:
            raise TypeError(f"{type(self).__name__} stages in itself")
        self.swap(staged, drop)

    def swap(self, staged: Mapping[str, str], drop: Iterable[str] = ()) -> None:
        """Move staging graphs onto their live names and drop others, in one atomic update."""
        parts = []
        for live, staging in staged.items():
            parts += [f"DROP SILENT GRAPH {ox.NamedNode(live)}",
                      f"MOVE SILENT GRAPH {ox.NamedNode(staging)} TO {ox.NamedNode(live)}"]
        parts += [f"DROP SILENT GRAPH {ox.NamedNode(g)}" for g in drop]
        if parts:
            self.update(" ;\n".join(parts))


CHUNK = 50_000


def engine_input(data: bytes | Path) -> dict[str, bytes | str]:
    """pyoxigraph's parser arguments for a document given as bytes or as a file (which it then streams)."""
    return {"path": str(data)} if isinstance(data, Path) else {"input": data}


def clean_parser_message(message: str) -> str:
    return re.sub(r"^Parser error at line \d+ column \d+: ", "", message)


def replace_graphs_update(graphs: Mapping[str, bytes], drop: Iterable[str] = ()) -> str:
    """The single SPARQL Update that swaps graphs in, so a reader never sees half a load."""
    names = [ox.NamedNode(g) for g in [*graphs, *drop]]
    parts = [f"DROP SILENT GRAPH {n}" for n in names]
    blocks = "".join(f"GRAPH {ox.NamedNode(g)} {{\n{body.decode('utf-8')}\n}}\n" for g, body in graphs.items() if body)
    if blocks:
        parts.append("INSERT DATA {\n" + blocks + "}")
    return " ;\n".join(parts) if parts else ""


def quads_update(removed: Iterable[ox.Quad], added: Iterable[ox.Quad]) -> str:
    """`DELETE DATA` of `removed` then `INSERT DATA` of `added`, grouped by graph, as one update request."""
    parts = []
    for keyword, quads in (("DELETE DATA", removed), ("INSERT DATA", added)):
        graphs: dict[ox.NamedNode, list[ox.Triple]] = {}
        for quad in quads:
            graphs.setdefault(quad.graph_name, []).append(quad.triple)
        if graphs:
            body = " ".join(f"GRAPH {g} {{ {ox.serialize(ts, format=ox.RdfFormat.N_TRIPLES).decode()} }}"
                            for g, ts in graphs.items())
            parts.append(f"{keyword} {{ {body} }}")
    return " ;\n".join(parts)


class EmbeddedStore(Store):
    """pyoxigraph in process: in memory, or persistent (RocksDB, crash-safe commits) in a directory."""

    def __init__(self, path: Path | None = None):
        self.path = path
        try:
            if path:
                path.mkdir(parents=True, exist_ok=True)
            self._store = ox.Store(str(path)) if path else ox.Store()
        except OSError as err:
            raise StoreUnavailable(f"cannot open the store in {path}: {err}") from err

    @classmethod
    def read_only(cls, path: Path) -> EmbeddedStore:
        """A snapshot opened for reading (by a query worker); nothing can write to it through this handle."""
        store = cls.__new__(cls)
        store.path = None  # never flushed, never staged beside
        try:
            store._store = ox.Store.read_only(str(path))
        except OSError as err:
            raise StoreUnavailable(f"cannot open the snapshot in {path}: {err}") from err
        return store

    def backup(self, folder: Path) -> None:
        """A consistent copy of the committed store in `folder`, made of hard links (a RocksDB checkpoint)."""
        self._store.backup(str(folder))

    @property
    def engine(self) -> ox.Store:
        return self._store

    def digest_ntriples(self, graph: str) -> bytes:
        return self._store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))  # faster than CONSTRUCT

    def query(self, sparql, *, solution_format=JSON_RESULTS, graph_format=NTRIPLES,
              default_graphs=(), named_graphs=(), timeout_s=None, max_bytes=None, base_iri=None,
              forward: Callable[[Answer], None] | None = None) -> Answer:
        """See `Store.query`. With `forward`, the answer is handed over as it is serialised, in chunks of
        `CHUNK_BYTES` or more (each an Answer of the same kind), and the Answer returned holds only what is left:
        a worker process streams a large answer so (nobody holds all of it), within the same limits."""
        options: dict = {"base_iri": base_iri}
        if default_graphs or named_graphs:  # the protocol's dataset, all of it (SPARQL 1.1 Protocol 2.1.4)
            options["default_graph"] = [ox.NamedNode(g) for g in default_graphs]
            options["named_graphs"] = [ox.NamedNode(g) for g in named_graphs]
        elif not names_dataset(sparql):
            options["use_default_graph_as_union"] = True
        try:
            result = self._store.query(sparql, **options)  # evaluated lazily: read, refused or planned here
        except SyntaxError as err:
            raise QuerySyntaxError(f"SPARQL syntax error: {err.msg}") from None
        if forward and isinstance(result, ox.QueryTriples):
            result = self._streamed_construct(sparql, options) or result
        try:  # pyoxigraph results must die on the thread that made them, so no frame may keep them
            if isinstance(result, ox.QueryBoolean):
                return Answer("boolean", solution_format.media_type, result.serialize(format=solution_format.engine))
            solutions = isinstance(result, ox.QuerySolutions)  # a TemplateAnswer is a graph
            fmt, kind = (solution_format, "solutions") if solutions else (graph_format, "graph")
            chunk = (lambda body: forward(Answer(kind, fmt.media_type, body))) if forward else None
            return Answer(kind, fmt.media_type, _serialize_with_limits(result, fmt, timeout_s, max_bytes, chunk))
        finally:
            del result

    def _streamed_construct(self, sparql: str, options: dict) -> construct_stream.TemplateAnswer | None:
        """A CONSTRUCT to stream as the SELECT of its template's variables (see `ekb.construct_stream`), or None
        (a DESCRIBE, or a CONSTRUCT the plan does not cover: the engine's own CONSTRUCT answers it)."""
        plan = construct_stream.plan(sparql, options["base_iri"])
        if plan is None:
            return None
        try:
            return construct_stream.TemplateAnswer(self._store.query(plan.select, **options), plan)
        except SyntaxError:
            return None

    def dump_dataset(self, fmt: Format, graph: str | None = None) -> bytes:
        if graph:  # keep the graph name, which dump(from_graph=...) drops
            return ox.serialize(self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)), format=fmt.engine)
        return self._store.dump(format=fmt.engine)

    def graphs(self) -> list[str]:
        """Named graphs that hold triples, without scanning the data (start-up on a large store)."""
        names = sorted(g.value for g in self._store.named_graphs() if isinstance(g, ox.NamedNode))
        return [g for g in names if next(self._store.quads_for_pattern(None, None, None, ox.NamedNode(g)), None)]

    def load_graph(self, graph, data, fmt=ox.RdfFormat.N_TRIPLES, source="data") -> None:
        # On disk the bulk loader writes RocksDB files directly (several times faster than a transaction); it is
        # not atomic, which is right for what this loads: staging graphs (a failed load drops them) and graphs
        # that were empty (see `install`).
        load = self._store.bulk_load if self.path else self._store.load
        try:
            load(**engine_input(data), format=fmt, to_graph=ox.NamedNode(graph), base_iri=BASE_IRI)
        except SyntaxError as err:
            raise RdfSyntaxError(source, clean_parser_message(err.msg), err.lineno, err.offset) from None

    @contextmanager
    def staging_area(self) -> Iterator[Store]:
        """On disk, a disposable store beside this one: a transaction in RocksDB holds every quad it writes in
        memory, so staging graphs in the live store and moving them (10^6 quads: 100 s, 5 GiB) is what a large
        load must avoid. The directory is deleted afterwards, which costs nothing whatever its size."""
        if not self.path:
            yield self
            return
        prefix = f".{self.path.name}.staging-"
        for leftover in self.path.parent.glob(prefix + "*"):  # a crashed load's (this store is locked: not a live one)
            shutil.rmtree(leftover, ignore_errors=True)
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=self.path.parent))
        stage = EmbeddedStore(folder)
        try:
            yield stage
        finally:
            stage._store = None  # the engine closes its files when its last reference goes
            gc.collect()
            shutil.rmtree(folder, ignore_errors=True)

    def install(self, stage: Store, staged: Mapping[str, str], drop: Iterable[str] = (),
                files: Mapping[str, tuple[Path, ox.RdfFormat]] | None = None) -> None:
        """Graphs that are empty here are bulk-loaded, from their file (already parsed once without error) or
        from the stage (nothing is lost if that stops half way: the next load finishes it); the others receive
        only their difference, all in one transaction, so a reload that changes little writes little and
        readers never see half of it."""
        if stage is self:
            return self.swap(staged, drop)
        if not isinstance(stage, EmbeddedStore) or stage.path is None:
            raise TypeError("a separate stage must be an embedded store on disk")
        existing = set(self.graphs())
        changes = [f"DROP SILENT GRAPH {ox.NamedNode(g)}" for g in drop]
        bulk_loaded = False
        for live, staging in staged.items():
            if live in existing:
                changes += self._difference(stage, live, staging)
            elif live in (files or {}):
                self.load_graph(live, *files[live], source=str(files[live][0]))
                bulk_loaded = True
            else:
                dump = stage.dump_graph(staging)
                self.load_graph(live, dump, source=staging)
                dump.unlink()
                bulk_loaded = True
        self.update(" ;\n".join(changes))
        if bulk_loaded:
            # Each bulk load leaves its own files; until they are compacted, a lookup reads all of them (measured:
            # queries 1.5x slower than on the same data loaded in one go). Compaction costs 1 s at 10^6 triples.
            self._store.optimize()

    def compact(self) -> None:
        if self.path:
            self._store.optimize()

    def dump_graph(self, graph: str, file: Path | None = None) -> Path:
        """One graph written by the engine to an N-Triples file (by default in this store's directory), for
        another store's bulk loader to read."""
        file = file or self.path / "graph.nt"
        self._store.dump(str(file), ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(graph))
        return file

    def _difference(self, stage: EmbeddedStore, live: str, staging: str) -> list[str]:
        """The updates that turn live graph `live` into the stage's `staging` graph, computed in the stage."""
        old, new, target = ox.NamedNode(staging + "/live"), ox.NamedNode(staging), ox.NamedNode(live)
        dump = self.dump_graph(live, stage.path / "live.nt")
        stage.load_graph(old.value, dump, source=live)
        dump.unlink()
        if stage.ask(f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g IN ({old}, {new}) && (isBlank(?s) || isBlank(?o))) }}"):
            # blank nodes get new labels on every parse, so such a graph (shapes, usually small) is replaced
            return [replace_graphs_update({live: stage.graph_ntriples(staging)})]
        minus = "CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {} {{ ?s ?p ?o }} FILTER NOT EXISTS {{ GRAPH {} {{ ?s ?p ?o }} }} }}"
        removed = stage.query(minus.format(old, new), graph_format=NTRIPLES).body.decode("utf-8")
        added = stage.query(minus.format(new, old), graph_format=NTRIPLES).body.decode("utf-8")
        return ([f"DELETE DATA {{ GRAPH {target} {{\n{removed}\n}} }}"] if removed else []) + (
            [f"INSERT DATA {{ GRAPH {target} {{\n{added}\n}} }}"] if added else [])

    def update(self, sparql: str, base_iri: str | None = None) -> None:
        if not sparql.strip():
            return
        try:
            self._store.update(sparql, base_iri=base_iri)
        except SyntaxError as err:
            raise QuerySyntaxError(f"SPARQL Update syntax error: {err.msg}") from err

    def close(self) -> None:
        if self.path:
            self._store.flush()


class _LimitedWriter:
    """A sink that stops the engine's streaming serialisation past the time limit or the size limit.
    The deadline is a timestamp checked on each write: no timer thread on the hot path. With `forward`, what
    it holds is handed on whenever it reaches CHUNK_BYTES, so it never holds more than that (plus one write)."""

    def __init__(self, timeout_s: float | None, max_bytes: int | None,
                 forward: Callable[[bytes], None] | None = None):
        self.chunks: list[bytes] = []
        self.held = 0
        self.size, self.max_bytes = 0, max_bytes
        self.deadline = time.monotonic() + timeout_s if timeout_s else None
        self.forward = forward

    @property
    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() > self.deadline

    def write(self, data: bytes) -> int:
        if self.expired:
            raise QueryTimeout("the query ran past its time limit and was stopped")
        self.size += len(data)
        if self.max_bytes is not None and self.size > self.max_bytes:
            raise LimitExceeded(f"the answer is larger than the limit of {self.max_bytes:,} bytes and was stopped; "
                                "add a LIMIT or narrow the query")
        self.chunks.append(bytes(data))
        self.held += len(data)
        if self.forward and self.held >= CHUNK_BYTES:
            self.forward(self.take())
        return len(data)

    def take(self) -> bytes:
        """What the sink holds, which it then forgets."""
        body = b"".join(self.chunks)
        self.chunks, self.held = [], 0
        return body

    def flush(self) -> None:
        pass


def _serialize_with_limits(result, fmt: Format, timeout_s: float | None, max_bytes: int | None,
                           forward: Callable[[bytes], None] | None = None) -> bytes:
    """The answer serialised under the limits; with `forward`, all but its last bytes go there as they come."""
    sink = _LimitedWriter(timeout_s, max_bytes, forward)
    try:
        result.serialize(sink, format=fmt.engine)
    except (QueryTimeout, LimitExceeded):
        raise
    except OSError as err:
        if isinstance(err.__context__, LimitExceeded):
            raise err.__context__ from None
        if sink.expired:
            raise QueryTimeout("the query ran past its time limit and was stopped") from None
        raise StoreUnavailable(f"the query failed while running: {err}") from None
    finally:
        del result
    return sink.take()
