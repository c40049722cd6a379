"""The knowledge base as a plain Python object: what the CLI and the API both call."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pyoxigraph as ox

from ekb import docs, linked_data, loader, retraction
from ekb.changes import LOG_FILE, Change, ChangeLog
from ekb.config import (
    DATA_GRAPH_FILTER,
    DEFAULT_DATA_GRAPH,
    PROTECTED_GRAPHS,
    RDF_TYPE,
    SHAPES_GRAPH,
    STAGING_PREFIX,
    Settings,
    is_data_graph,
)
from ekb.data_updates import data_quads, effective, union_change
from ekb.errors import Busy, CursorExpired, Forbidden, GateRefused, InputError, NotFound, StoreUnavailable
from ekb.findings import Finding, Report
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, SOLUTION_FORMATS, Format
from ekb.gate import (
    HUB_LIMIT,
    Delta,
    FarReach,
    GateResult,
    QuadChange,
    check_change,
    check_delta,
    far_reach,
    ontology_context,
    recontexted,
    refreshed_report,
    updated_report,
)
from ekb.guard import check_remote_access
from ekb.history import history, record_run, recorded_findings
from ekb.interpretation import context_terms
from ekb.library import QueryLibrary
from ekb.literals import nquads_rewrites, rewrites_json, store_rewrites
from ekb.query_workers import (
    DEFAULT_GRAPH,
    UPDATE_DELTA_MAX_QUADS,
    Changed,
    Limits,
    QueryWorkers,
    TooLarge,
    trial,
)
from ekb.reasoning import reasoner_named
from ekb.remote import RemoteStore
from ekb.sparql_lexer import with_update_dataset
from ekb.store import Answer, EmbeddedStore, Store
from ekb.validation import ShaclEngine, validate_store

NQUADS = DATASET_FORMATS[1]
COMPACT_EVERY = 200  # writes between two compactions of an on-disk store
# Marker files in an on-disk store's folder: a load or a write that began and did not finish.
LOADING, WRITING = "ekb-load-incomplete", "ekb-write-incomplete"


@dataclass
class KnowledgeBase:
    settings: Settings
    store: Store
    _write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _full_validation: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _baseline: Report | None = field(default=None, repr=False)
    # The resources the neighbourhood-checked writes touched since `_baseline` was last brought up to date.
    _touched: set[str] = field(default_factory=set, repr=False)  # every rule's findings to refresh around these
    _context_stale: bool = field(default=False, repr=False)  # the findings' labels and owners to read again
    _ontology: bytes | None = field(default=None, repr=False)  # gate.ontology_context, kept until it can change
    _shapes: bytes | None = field(default=None, repr=False)  # the shapes graph, kept until the next load
    _schema: retraction.Schema | None = field(default=None, repr=False)  # what reasoning reads, kept likewise
    _size: int | None = field(default=None, repr=False)
    modified: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))
    workers: QueryWorkers | None = field(default=None, repr=False)
    generation: int = 0  # counts the writes: a report read before a write is not the gate's baseline after it
    _stats: tuple[int, int] | None = field(default=None, repr=False)
    _dry_runs: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(2), repr=False)
    changes: ChangeLog = field(init=False, repr=False)

    def __post_init__(self) -> None:
        path = getattr(self.store, "path", None)
        self.changes = ChangeLog(path / LOG_FILE if path else None, self.settings.changes_retention)

    @classmethod
    def open(cls, settings: Settings) -> KnowledgeBase:
        if settings.endpoint:  # a SPARQL server: its dialect detected from its answers unless named
            return cls(settings, RemoteStore(settings.endpoint, settings.update_endpoint, dialect=settings.dialect,
                                             graph_prefixes=settings.graph_prefixes))
        return cls(settings, EmbeddedStore(settings.store_dir))

    def start_workers(self, limits: Limits | None = None) -> None:
        """Evaluate clients' SPARQL in worker processes that can be stopped (an on-disk embedded store only)."""
        if isinstance(self.store, EmbeddedStore) and self.store.path:
            self.workers = QueryWorkers(self.store, self._write_lock, limits or Limits())

    # -- crash consistency

    def _marker(self, name: str) -> Path | None:
        path = getattr(self.store, "path", None)
        return path / name if path else None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """The write lock, the query processes' snapshot first brought up to date if the last write left it
        stale (see `QueryWorkers.mark_stale`): readers never wait behind this write for the one before."""
        with self._write_lock:
            if self.workers:
                self.workers.refresh()
            yield

    @contextmanager
    def _marked(self, name: str) -> Iterator[None]:
        """A marker file that exists exactly while a multi-step change is under way; if the process dies,
        the next start finds it."""
        marker = self._marker(name)
        if marker is None:
            yield
            return
        with open(marker, "w") as handle:
            handle.write(dt.datetime.now(dt.UTC).isoformat())
            handle.flush()
            os.fsync(handle.fileno())
        yield
        marker.unlink(missing_ok=True)

    def interrupted_load(self) -> bool:
        """A load began here and did not finish: the store may hold part of it."""
        marker = self._marker(LOADING)
        return bool(marker and marker.exists())

    def recover(self) -> list[str]:
        """Repair what an interrupted process left: staging folders and graphs, and the entailments of a
        write that committed its change but not its entailments. Returns what was done."""
        done = []
        path = getattr(self.store, "path", None)
        if path is not None:
            for pattern in (f".{path.name}.staging-*", f".{path.name}.snapshots-*"):
                for leftover in path.parent.glob(pattern):
                    shutil.rmtree(leftover, ignore_errors=True)
                    done.append(f"removed {leftover.name}")
        if any(g.startswith(STAGING_PREFIX) for g in self.store.graphs()):
            loader.drop_staging(self.store)
            done.append("dropped leftover staging graphs")
        with self._writing():
            if self._repair_interrupted_write():
                done.append("re-materialised the entailments of an interrupted write")
        return done

    def _repair_interrupted_write(self) -> bool:
        """Under the write lock: if a write committed its change but died (or failed) before its entailments,
        recompute them. True if there was one."""
        marker = self._marker(WRITING)
        if marker is None or not marker.exists():
            return False
        self.refresh_inferences()
        marker.unlink()
        return True

    @property
    def backend(self) -> str:
        if self.settings.endpoint:
            return "remote"
        return "embedded-disk" if self.settings.store_dir else "embedded-memory"

    def load(self, progress: loader.Progress = lambda _: None, drop_unmanaged: bool = False) -> loader.LoadReport:
        with self._writing():
            interrupted_before = self.interrupted_load()
            try:
                with self._marked(LOADING):
                    self._baseline, self._touched, self._ontology, self._shapes, self._schema = None, set(), None, None, None
                    self._context_stale = False
                    report = loader.load(self.store, self.settings, progress, drop_unmanaged,
                                         trust_manifest=not interrupted_before)
                    self.changes.record("load", graphs=report.graphs, complete=False)
                    self._size = sum(report.graphs.values())
                    self.modified = dt.datetime.now(dt.UTC).replace(microsecond=0)
                    self._published()
            except InputError:  # a file did not parse: refused before anything was installed
                marker = self._marker(LOADING)
                if marker and not interrupted_before:
                    marker.unlink(missing_ok=True)
                raise
        return report

    def _published(self) -> None:
        """After a write (under the write lock): readers in worker processes move to the new state."""
        self.generation += 1
        self._stats = None
        self.stats()  # counted here, by the writer, so /health never waits for a count (nor a reader for it)
        if self.workers:
            self.workers.mark_stale()

    def stats(self) -> tuple[int, int]:
        """(named graphs, quads), counted at most once per write."""
        stats = self._stats
        if stats is None:
            stats = self._stats = (len(self.store.graphs()), self.size())
        return stats

    def cached_stats(self) -> tuple[int, int] | None:
        return self._stats

    @cached_property
    def library(self) -> QueryLibrary:
        return QueryLibrary(self.settings.queries_dir)

    # -- reads: every route and command reads through these, never the store itself

    def graphs(self) -> list[str]:
        return self.store.graphs()

    def counts(self) -> dict[str, int]:
        """Quads per named graph."""
        return self.store.counts()

    def has_graph(self, graph: str) -> bool:
        return self.store.ask(f"ASK {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}")

    def export(self, fmt: Format, graph: str | None = None) -> bytes:
        """One graph, or every graph (in a dataset format), serialised."""
        return self.store.export(fmt, graph)

    def resource(self, iri: str, context_url: str) -> linked_data.Document:
        """What the knowledge base says about one IRI, as a framed JSON-LD document."""
        return linked_data.resource_document(self.store, iri, context_url)

    def ontology_module(self, iri: str) -> Path | None:
        """The file of the ontology module named `iri` (its owl:Ontology IRI), which that IRI dereferences to."""
        return docs.module_for(self.settings.ontology_dir, iri)

    def collection(self, kind: str, filters: dict[str, str], page: int, size: int) -> linked_data.Page:
        """One page of a collection of one kind (capabilities, systems, ...), filtered, ordered by label."""
        return linked_data.collection_page(self.store, kind, filters, page, size)

    def export_document(self, kind: str | None, context_url: str | None = None) -> dict:
        """Every individual (or one kind) as one JSON-LD document, its context embedded unless `context_url`."""
        return linked_data.export_document(self.store, kind, context_url)

    def changes_after(self, cursor: int, size: int) -> tuple[list[Change], bool]:
        """The change feed: (the changes after `cursor`, at most `size`; whether more follow). A cursor older than
        the changes kept raises CursorExpired: the tool reads everything again."""
        changes, more, lost = self.changes.after(cursor, size)
        if lost:
            raise CursorExpired(f"changes after {cursor} are no longer kept (the log keeps the last "
                                f"{self.settings.changes_retention:,}): read everything again, then follow from "
                                f"{self.changes.last}")
        return changes, more

    def history(self) -> list[dict]:
        """The recorded governance runs, oldest first."""
        return history(self.store)

    def since_last_run(self, report: Report) -> tuple[list[Finding], list[Finding]] | None:
        """(new, fixed): the findings of `report` the last recorded run did not report, and those it reported
        that `report` no longer does; None when no run is recorded."""
        runs = history(self.store)
        if not runs:
            return None
        before = recorded_findings(self.store, runs[-1]["run"])
        then, now = {f.key for f in before}, {f.key for f in report.findings}
        return [f for f in report.findings if f.key not in then], [f for f in before if f.key not in now]

    def sparql(self, text: str, solution_format: Format = SOLUTION_FORMATS[0], graph_format: Format = GRAPH_FORMATS[0],
               default_graphs=(), named_graphs=(), base_iri: str | None = None, stream: bool = False) -> Answer:
        """A read-only SPARQL query under the operator's limits (in a worker process when there are some).
        Its dataset is the protocol's graphs if given, else its own FROM / FROM NAMED, else the union of all
        graphs (see Store.query); relative IRIs resolve against `base_iri` (the API gives the request's URL).
        With `stream`, a worker's large answer comes in chunks (see `QueryWorkers.query`; close `Answer.rest`)."""
        check_remote_access(text, self.settings.allowed_service_hosts)
        options = {"default_graphs": default_graphs, "named_graphs": named_graphs, "base_iri": base_iri,
                   "timeout_s": self.settings.query_timeout_s, "max_bytes": self.settings.max_result_bytes}
        if self.workers:
            return self.workers.query(text, solution_format, graph_format, stream=stream, **options)
        return self.store.query(text, solution_format=solution_format, graph_format=graph_format, **options)

    def update(self, text: str, base_iri: str | None = None, using: Sequence[str] = (),
               using_named: Sequence[str] = ()) -> GateResult:
        """A SPARQL Update through the governance gate, after a trial run that bounds its time and proves it
        leaves the ontology, shapes and other load-managed graphs alone. `using`/`using_named` are the
        protocol's using-graph-uri / using-named-graph-uri."""
        text = _with_dataset(text, using, using_named)
        generation = self.generation  # read before the trial's copy: a write after it makes its change stale
        change = self.try_update(text, base_iri)

        def as_written(store: Store) -> None:
            store.update(text, base_iri)
        if change is None:
            return self._write(as_written, actor="sparql-update")
        return self._write(change.apply, change.delta, "sparql-update", quads=change, stale=(generation, as_written))

    def dry_run_update(self, text: str, base_iri: str | None = None, using: Sequence[str] = (),
                       using_named: Sequence[str] = ()) -> GateResult:
        """What the store plus this update would violate, judged as `update` would judge it; nothing is stored."""
        text = _with_dataset(text, using, using_named)
        change = self.try_update(text, base_iri)
        return self._dry_run(lambda store: store.update(text, base_iri), None if change is None else change.delta)

    def try_update(self, text: str, base_iri: str | None = None) -> QuadChange | None:
        """Refuse an update that reaches out, runs past the time limit, writes to the store's own default graph
        or changes a protected graph. Where there are worker processes it runs on a private copy of the store in
        one of them, so a runaway is stopped without holding the write lock. Returns what it adds and removes,
        when the trial could tell (see `query_workers.trial`). An update made only of DELETE DATA and INSERT DATA
        on the embedded store has no trial: its change is read from the store's indexes (`data_updates`)."""
        check_remote_access(text, self.settings.allowed_service_hosts)
        protected, prefixes = list(PROTECTED_GRAPHS), [STAGING_PREFIX]
        data = data_quads(text, base_iri) if isinstance(self.store, EmbeddedStore) else None
        if data is not None:  # nothing to evaluate: what it changes is read from the store's indexes, no trial
            removed, added = effective(self.store.engine, *data)
            written = {q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else DEFAULT_GRAPH
                       for q in removed | added}
            changed = [g for g in [*protected, DEFAULT_GRAPH] if g in written]
            changed += sorted(g for g in written if g.startswith(tuple(prefixes)))
            change = None if changed else (removed, added, *reversed(union_change(self.store.engine, removed, added)))
        elif self.workers:
            changed, change = self.workers.trial_update(text, protected, prefixes, self.settings.query_timeout_s,
                                                        base_iri)
        elif isinstance(self.store, EmbeddedStore):
            changed, change = _trial_in_process(self.store, text, protected, prefixes, base_iri)
        else:
            return None  # a remote server applies its own limits; its graphs are the operator's to protect
        if DEFAULT_GRAPH in changed:
            raise InputError("the update writes to the default graph, which here is only the read-only union of "
                             "the named graphs: name the graph it writes to (GRAPH <g> { ... } or WITH <g>); "
                             "nothing was stored")
        if changed:
            raise Forbidden(f"the update would change {', '.join(f'<{g}>' for g in changed)}: the ontology, shapes, "
                            "entailments, history and staging graphs change only through `ekb load`; nothing was stored")
        if change is None:
            return None
        return quad_change(change) if data is None else quads_change(*change)

    def apply(self, delta: Delta, actor: str = "graph-store") -> GateResult:
        """A change known as triples (what to add to one graph, what to remove from any), through the gate.
        The verdict names the added literals the store keeps in another form than written (`rewritten`); so does
        a refusal (its findings are about the stored form)."""
        rewrites = tuple(store_rewrites(delta.added))
        try:
            result = self._write(delta.apply, delta, actor)
        except GateRefused as refused:
            refused.details.update(rewrites_json(list(rewrites)))
            raise
        result.rewritten = rewrites
        return result

    def import_triples(self, graph: str, triples: list[ox.Triple], described: Sequence[str] = (),
                       replace: bool = False) -> GateResult:
        """An import (JSON-LD from a tool) into `graph`, through the gate. It merges; with `replace`, each
        resource the document describes (`described`: its top-level nodes, not the things it links to) loses
        what the data graphs asserted about it before. Importing the same document again changes nothing."""
        removed: tuple[ox.Triple, ...] = ()
        if replace:
            subjects = sorted(described)
            kept = set(triples)
            # A statement with a blank node cannot be named in a removal (SPARQL's DELETE DATA refuses them).
            removed = tuple(t for t in self._asserted_about(subjects) if t not in kept
                            and not isinstance(t.object, ox.BlankNode))
        return self.apply(Delta(graph, tuple(triples), removed), actor="import")

    def _asserted_about(self, subjects: list[str]) -> list[ox.Triple]:
        if not subjects:
            return []
        values = " ".join(str(ox.NamedNode(s)) for s in subjects)
        return list(self.store.construct(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ VALUES ?s {{ {values} }} "
                                         f"GRAPH ?g {{ ?s ?p ?o }} {DATA_GRAPH_FILTER} "
                                         f"FILTER(?g NOT IN ({', '.join(str(ox.NamedNode(g)) for g in PROTECTED_GRAPHS)})) }}"))

    def replace_graph(self, graph: str, triples: list[ox.Triple]) -> tuple[GateResult, bool]:
        """Replace one graph's content, through the gate: (the verdict, whether the graph existed before). The
        verdict names the literals the store keeps in another form than written, as `apply`'s does."""
        body = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
        rewrites = tuple(nquads_rewrites(body))  # N-Triples is N-Quads
        existed: list[bool] = []  # read under the write lock, when the gate first applies the change

        def replace(store: Store) -> None:
            existed.append(self.has_graph(graph))
            store.replace_graphs({graph: body})
        try:
            result = self._write(replace, actor="graph-store")
        except GateRefused as refused:
            refused.details.update(rewrites_json(list(rewrites)))
            raise
        result.rewritten = rewrites
        return result, existed[0]

    def drop_graph(self, graph: str) -> GateResult:
        """Remove one graph, through the gate (removing can break a 1..1 link); NotFound if it holds nothing."""
        def drop(store: Store) -> None:
            if not store.ask(f"ASK {{ GRAPH {ox.NamedNode(graph)} {{ ?s ?p ?o }} }}"):
                raise NotFound(f"no graph named <{graph}>")
            store.update(f"DROP GRAPH {ox.NamedNode(graph)}")
        return self._write(drop, actor="graph-store")

    def dry_run(self, delta: Delta) -> GateResult:
        """What the store plus this change would violate, judged as `apply` would judge it; nothing is stored."""
        return self._dry_run(delta.apply, delta)

    def _write(self, change: Callable[[Store], None], delta: Delta | None = None, actor: str = "api",
               quads: QuadChange | None = None, stale: tuple[int, Callable[[Store], None]] | None = None) -> GateResult:
        """Apply `change` only if it adds no governance violation; then bring the entailments and the kept report
        up to date.

        Writes are serialised, so the gate's verdict is about the store the change is applied to. A change
        also known as triples (`delta`) is checked on its neighbourhood when the store is larger than
        `gate_full_max_triples`, or on a smaller store when that is exact (`_local_reach`); then the kept report
        is updated from what the gate found (`gate.updated_report`), no validation of its own. An update's change
        (`quads`) was found on the store of generation `stale[0]`: if another write came since, the update is
        judged as written (`stale[1]`) on the whole store."""
        with self._writing():
            if self.interrupted_load():
                raise StoreUnavailable("the store holds an interrupted load: run `ekb load` to complete it")
            self._repair_interrupted_write()  # an earlier write failed between its change and its entailments
            if stale is not None and stale[0] != self.generation:
                change, delta, quads = stale[1], None, None
            reach = self._local_reach(delta)
            local = reach is not None
            exact = local and not self._large()  # judged on every link around it (see `_judge`)
            result = self._judge(change, delta, reach, self._kept_report)
            if quads is not None and local:  # the exact quads, for the change feed and the counts
                result.added, result.removed = frozenset(quads.added), frozenset(quads.removed)
                result.inserted, result.deleted = len(quads.added), len(quads.removed)
            if not result.accepted:
                violations = sum(1 for f in result.new_findings if f.severity == "Violation")
                raise GateRefused(f"the change was refused: it would add {violations} governance violation(s); "
                                  "nothing was stored", result.as_json())
            self._note_write(delta, quads)
            with self._marked(WRITING):
                entailed = self._commit(change, result, delta, local)
            if exact and self._baseline is not None and not self._touched:
                # Judged exactly on the neighbourhood: what it found there is the kept report's update.
                self._baseline = updated_report(self._baseline, result, self.store, self._shapes_graph(),
                                                recontext=entailed or _names_any(delta, context_terms()))
            elif local and reach.complete and self._baseline is not None and not delta.changes_schema():
                # A large store: what the gate found updates the kept report as on a small store (the SPARQL
                # rules' findings exact, their walk follows every link; the others' on the neighbourhood, whose
                # hops skip the incoming links of a hub); every finding's label and owner are read again when
                # the report is next read, if the change can have altered them.
                self._baseline = updated_report(self._baseline, result, self.store, self._shapes_graph(),
                                                recontext=False)
                self._context_stale |= entailed or _names_any(delta, context_terms())
            elif local:
                self._touched |= delta.touched()  # the kept report is brought up to date there when next read
            if not local or delta.changes_schema():
                self._ontology = None
            self.changes.record(actor, result.added, result.removed)
            if self.generation % COMPACT_EVERY == COMPACT_EVERY - 1:
                self.store.compact()  # measured: a scan 1.2x slower after 1,000 one-triple writes without it
            self.modified = dt.datetime.now(dt.UTC).replace(microsecond=0)
            self._published()
            return result

    def _note_write(self, delta: Delta | None, quads: QuadChange | None) -> None:
        """Before a write's change: what it may change, for the next load to check (`loader.note_write`)."""
        if quads is not None:
            loader.note_write(self.store, (*quads.added, *quads.removed))
        elif delta is not None:
            graph = ox.NamedNode(delta.graph)
            loader.note_write(self.store, [ox.Quad(t.subject, t.predicate, t.object, graph) for t in delta.added],
                              delta.removed)
        else:
            loader.note_write(self.store)  # not known by graph: the next load compares every graph's content

    def _local_reach(self, delta: Delta | None, keep: bool = True) -> FarReach | None:
        """How a change is judged: on its neighbourhood plus the SPARQL rules' reach (`gate.far_reach`, returned),
        or on a copy of the whole store (None). The first for a change known as triples whose reach can be
        bounded; on a store past `gate_full_max_triples` always (a reach past the walk's budget, or a change of
        property axioms, then meets the neighbourhood alone: a known gap, see the README)."""
        if delta is None:
            return None
        found = far_reach(self.store, delta, self._shapes_graph(keep), self._ontology_context(keep))
        if found is None and self._large():
            return FarReach(complete=False)
        return found

    def _large(self) -> bool:
        return self.size() > self.settings.gate_full_max_triples

    def _judge(self, change: Callable[[Store], None], delta: Delta | None, reach: FarReach | None,
               baseline: Callable[[], Report | None], keep: bool = True) -> GateResult:
        """The gate's verdict on a change, the one way both a write and a dry run are judged: on its
        neighbourhood and `reach` (see `_local_reach`), or on the whole store. `baseline`: the store's current
        report, for the full gate (read only when that gate runs). `keep`: under the write lock, what is read of
        the ontology and shapes is kept for the next write (a dry run, without the lock, may read a state a write
        is replacing: it keeps nothing)."""
        if reach is not None:  # a small store's neighbourhood follows every link, also into a node linked from everywhere
            return check_delta(self.store, delta, ontology_nt=self._ontology_context(keep),
                               shapes_nt=self._shapes_graph(keep), hub_limit=HUB_LIMIT if self._large() else None,
                               far=reach)
        return check_change(self.store, change, baseline=baseline())

    def _commit(self, change: Callable[[Store], None], result: GateResult, delta: Delta | None, local: bool) -> bool:
        """The change and its entailments (two transactions; the WRITING marker repairs a crash between them).
        Whether the entailments changed (or may have)."""
        if delta is None or retraction.changes_schema(delta.triples()):
            self._schema = None  # before reasoning: what the write changes is read again
        change(self.store)
        if local:
            self._size = self.size() + len(delta.added) - len(delta.removed)  # no recount of a large store
            if delta.removed:
                return self.refresh_inferences(delta)
            return self.add_inferences(set(delta.added))
        self._baseline, self._touched, self._context_stale = result.report, set(), False  # exactly what was validated
        self._size = None
        return self.refresh_inferences()

    def _dry_run(self, change: Callable[[Store], None], delta: Delta | None) -> GateResult:
        """What the store plus `change` (known as `delta` when it is) would violate, judged by the gate a write
        of it would meet; nothing is stored (the governance dry run). The whole-store gate copies the store into
        memory, so anonymous dry runs take turns, a few at a time."""
        if not self._dry_runs.acquire(timeout=10):
            error = Busy("the server is busy with other dry runs; try again shortly")
            error.headers = {"Retry-After": "5"}
            raise error
        try:
            return self._judge(change, delta, self._local_reach(delta, keep=False),
                               lambda: None if self._stale() else self._baseline, keep=False)
        finally:
            self._dry_runs.release()

    def validate(self, record: bool = False, engine: ShaclEngine | None = None) -> Report:
        """The governance report now. Reading it writes nothing; `record` keeps the run in the history (the
        CLI's --record, or a POST with the token). The gate's baseline is replaced under the write lock only,
        only if no write happened meanwhile, and only by the engine the gate uses."""
        before = self.generation
        report = validate_store(self.store, engine)
        with self._writing():
            if self.generation == before and engine is None:  # exact for the store as it is: kept from now on
                self._baseline, self._touched, self._context_stale = report, set(), False
            if record:
                record_run(self.store, report)
                self._published()
        return report

    def current_report(self) -> Report:
        """The governance report of the store as it is now. A page view must not re-validate a large store: the
        last full result is kept (as the gate's baseline); a write checked on the whole store replaces it, one
        checked on its neighbourhood updates it from what its gate found (`_write`), and the next view reads the
        findings' labels and owners again if a write named them (`gate.recontexted`), or validates again around
        what a write judged on its neighbourhood alone touched (`gate.refreshed_report`), never the whole
        store. Only after a load, or while no result is kept, is it redone here in full."""
        baseline = self._baseline
        if baseline is not None and (self._stale() or self._context_stale):
            with self._writing():
                baseline = self._kept_report()
        if baseline is not None:
            return baseline
        with self._full_validation:  # viewers arriving together wait for one validation, not one each
            return self._baseline if self._baseline is not None and not self._stale() else self.validate()

    def prepare_report(self, say: Callable[[str], None] = lambda _: None) -> threading.Thread:
        """Start the first full validation in the background as the server starts, so the first page that shows
        the report does not wait for a whole large store (viewers arriving meanwhile wait for this one)."""
        def run() -> None:
            try:
                report = self.current_report()
            except Exception as err:  # a background thread has no caller: say it in one line and go on
                say(f"the governance report is not kept yet ({type(err).__name__}: {err}); the first view computes it")
                return
            say(f"governance report kept: {len(report.findings):,} finding(s) over {report.triples:,} triples, "
                f"validated in {report.seconds:.1f} s")
        thread = threading.Thread(target=run, name="first-report", daemon=True)
        thread.start()
        return thread

    def _kept_report(self) -> Report | None:
        """Under the write lock: the kept full report, brought up to date with the writes since (`current_report`)."""
        if self._baseline is not None and self._stale():
            self._baseline = refreshed_report(self._baseline, self._touched, self.store,
                                              ontology_nt=self._ontology_context(), shapes_nt=self._shapes_graph())
        elif self._baseline is not None and self._context_stale:
            self._baseline = recontexted(self._baseline, self.store)
        self._touched, self._context_stale = set(), False
        return self._baseline

    def _stale(self) -> bool:
        """Whether writes since the kept report left findings to validate again (`_kept_report`)."""
        return bool(self._touched)

    def _ontology_context(self, keep: bool = True) -> bytes:
        ontology = self._ontology
        if ontology is None:
            ontology = ontology_context(self.store)
            if keep:
                self._ontology = ontology
        return ontology

    def _shapes_graph(self, keep: bool = True) -> bytes:
        shapes = self._shapes
        if shapes is None:
            shapes = self.store.graph_ntriples(SHAPES_GRAPH)
            if keep:
                self._shapes = shapes
        return shapes

    def _kept_schema(self) -> retraction.Schema:
        """Under the write lock: what reasoning reads of the schema (`retraction.read_schema`), kept until a write
        that can change it (`retraction.changes_schema`) or a load. Raises OutOfReach as reading it does."""
        if self._schema is None:
            self._schema = retraction.read_schema(self.store)
        return self._schema

    def size(self) -> int:
        if self._size is None:
            self._size = self.store.count()
        return self._size

    def add_inferences(self, triples: set[ox.Triple]) -> bool:
        """After an addition of `triples` (all now asserted; the change's neighbourhood may come along): their
        entailments with the transitive facts around them go into the inferred graph, and any of them that was an
        entailment leaves it (ekb.retraction). Out of that method's reach, everything is re-materialised.
        Whether the inferred graph changed (or may have)."""
        try:
            outcome = retraction.add_entailments(self.store, triples, reasoner_named(self.settings.reasoner),
                                                 schema=self._kept_schema())
            return bool(outcome.added or outcome.deleted)
        except retraction.OutOfReach:
            return self.refresh_inferences()

    def refresh_inferences(self, delta: Delta | None = None) -> bool:
        """Recompute the inferred graph from the ontology and data graphs as they are now. Given the change just
        committed (`delta`), only what it can affect is recomputed (delete-and-rederive, ekb.retraction: a one-triple
        removal at 10^6 in well under a second), unless the change is out of that method's reach. Otherwise, on
        disk the new graph is staged beside the store and only its difference is written (at 10^6 triples: one
        removal re-materialised in seconds instead of moving the whole inferred graph in one 40 s transaction).
        Whether the inferred graph changed (True when re-materialised: not compared)."""
        if delta is not None:
            reasoner = reasoner_named(self.settings.reasoner)
            try:
                schema = self._kept_schema()
                out = retraction.retract_entailments(self.store, delta.removed, reasoner, schema=schema)
                into = retraction.add_entailments(self.store, delta.added, reasoner, schema=schema)
                return bool(out.added or out.deleted or into.added or into.deleted)
            except retraction.OutOfReach:
                pass  # the whole re-materialisation below also repairs whatever the attempt changed
        run = uuid.uuid4().hex[:12]
        target = loader.staging_name(run, loader.INFERRED_GRAPH)
        premises = [g for g in self.store.graphs() if is_data_graph(g)]
        with self.store.staging_area() as stage:
            try:
                loader.infer_into(self.store, premises, target, reasoner_named(self.settings.reasoner), into=stage)
                self.store.install(stage, {loader.INFERRED_GRAPH: target})
            except BaseException:
                loader.drop_staging(stage, run)
                raise
        return True

    def is_empty(self) -> bool:
        return not self.store.graphs()

    def close(self) -> None:
        if self.workers:
            self.workers.close()
        self.store.close()


def _names_any(delta: Delta, terms: frozenset[str] | None) -> bool:
    """Whether a change states or retracts one of `terms` as a predicate or as a class (None: any term)."""
    return terms is None or any(t.predicate.value in terms or (t.predicate.value == RDF_TYPE and t.object.value in terms)
                                for t in delta.triples())


def _with_dataset(text: str, using: Sequence[str], using_named: Sequence[str]) -> str:
    try:
        return with_update_dataset(text, list(using), list(using_named))
    except ValueError as err:
        raise InputError(str(err)) from None


def _trial_in_process(store: EmbeddedStore, text: str, protected: list[str], prefixes: list[str],
                      base_iri: str | None, max_quads: int = UPDATE_DELTA_MAX_QUADS) -> tuple[list[str], Changed | None]:
    """The update on an in-memory copy of the whole store (a small store without worker processes)."""
    copy = EmbeddedStore()
    copy.engine.load(store.export(NQUADS), format=NQUADS.engine)
    try:
        return trial(copy, text, protected, prefixes, base_iri, max_quads)
    except TooLarge:
        return _trial_in_process(store, text, protected, prefixes, base_iri, max_quads=0)


def quad_change(change: Changed) -> QuadChange:
    """A trial's change (N-Quads bytes) as the quads to store and the triples the gate judges."""
    added, removed, union_added, union_removed = (
        tuple(ox.parse(body, format=ox.RdfFormat.N_QUADS)) for body in change)
    return quads_change(removed, added, {q.triple for q in union_added}, {q.triple for q in union_removed})


def quads_change(removed: set[ox.Quad], added: set[ox.Quad], union_added: set[ox.Triple],
                 union_removed: set[ox.Triple]) -> QuadChange:
    """What an update removes and adds, as quads, and as the rules see it in the union of the data graphs (in a
    stable order: the change feed and the gate's report read the same way every time)."""
    ordered = sorted(added, key=str)
    graph = ordered[0].graph_name.value if ordered else DEFAULT_DATA_GRAPH
    delta = Delta(graph, tuple(sorted(union_added, key=str)), tuple(sorted(union_removed, key=str)))
    return QuadChange(tuple(ordered), tuple(sorted(removed, key=str)), delta)
