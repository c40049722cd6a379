"""The knowledge base as a plain Python object: what the CLI and the API both call."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import pyoxigraph as ox

from ekb import loader
from ekb.config import Settings, is_data_graph
from ekb.errors import GateRefused
from ekb.formats import GRAPH_FORMATS, SOLUTION_FORMATS, Format
from ekb.governance import (
    Delta,
    GateResult,
    Report,
    check_change,
    check_delta,
    record_run,
    validate_store,
)
from ekb.guard import check_remote_access
from ekb.library import QueryLibrary
from ekb.reasoning import reasoner_named
from ekb.store import Answer, Store, open_store


@dataclass
class KnowledgeBase:
    settings: Settings
    store: Store
    _write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _baseline: Report | None = field(default=None, repr=False)
    _size: int | None = field(default=None, repr=False)
    modified: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(microsecond=0))

    @classmethod
    def open(cls, settings: Settings) -> KnowledgeBase:
        return cls(settings, open_store(settings.store_dir, settings.endpoint, settings.update_endpoint))

    @property
    def backend(self) -> str:
        if self.settings.endpoint:
            return "remote"
        return "embedded-disk" if self.settings.store_dir else "embedded-memory"

    def load(self, progress: loader.Progress = lambda _: None) -> loader.LoadReport:
        with self._write_lock:
            self._baseline = None
            report = loader.load(self.store, self.settings, progress)
            self._size = sum(report.graphs.values())
            self.modified = dt.datetime.now(dt.UTC).replace(microsecond=0)
        return report

    @cached_property
    def library(self) -> QueryLibrary:
        return QueryLibrary(self.settings.queries_dir)

    def sparql(self, text: str, solution_format: Format = SOLUTION_FORMATS[0], graph_format: Format = GRAPH_FORMATS[0],
               default_graphs=(), named_graphs=()) -> Answer:
        """A read-only SPARQL query under the operator's limits."""
        check_remote_access(text, self.settings.allowed_service_hosts)
        return self.store.query(text, solution_format=solution_format, graph_format=graph_format,
                                default_graphs=default_graphs, named_graphs=named_graphs,
                                timeout_s=self.settings.query_timeout_s, max_bytes=self.settings.max_result_bytes)

    def update(self, text: str) -> GateResult:
        """A SPARQL Update through the governance gate."""
        check_remote_access(text, self.settings.allowed_service_hosts)
        return self.write(lambda store: store.update(text))

    def write(self, change: Callable[[Store], None], delta: Delta | None = None) -> GateResult:
        """Apply `change` only if it adds no governance violation; then bring the entailments up to date.

        Writes are serialised, so the gate's verdict is about the store the change is applied to. A change
        also known as triples (`delta`) is checked on its neighbourhood when the store is large."""
        with self._write_lock:
            local = delta is not None and self.size() > self.settings.gate_full_max_triples
            result = check_delta(self.store, delta) if local else check_change(self.store, change, baseline=self._baseline)
            if not result.accepted:
                violations = sum(1 for f in result.new_findings if f.severity == "Violation")
                raise GateRefused(f"the change was refused: it would add {violations} governance violation(s); "
                                  "nothing was stored", result.as_json())
            change(self.store)
            if local:
                self._baseline = None
                self._size = self.size() + len(delta.added) - len(delta.removed)  # no recount of a large store
                if delta.removed:
                    self.refresh_inferences()
                else:
                    self.add_inferences(result.neighbourhood | set(delta.added))
            else:
                self._baseline = result.report  # the store now holds exactly what was validated
                self.refresh_inferences()
            self.modified = dt.datetime.now(dt.UTC).replace(microsecond=0)
            return result

    def validate(self, record: bool = True) -> Report:
        report = self._baseline = validate_store(self.store)
        if record:
            record_run(self.store, report)
        return report

    def size(self) -> int:
        if self._size is None:
            self._size = self.store.count()
        return self._size

    def add_inferences(self, triples: set[ox.Triple]) -> None:
        """After an addition: the entailments of the change's neighbourhood, added to the inferred graph."""
        run = uuid.uuid4().hex[:12]
        target = loader.staging_name(run, "added-inferences")
        scratch = loader.staging_name(run, "premises")
        try:
            self.store.load_graph(scratch, ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES))
            asserted = [g for g in self.store.graphs() if is_data_graph(g)]  # the whole store, not the neighbourhood
            loader.infer_into(self.store, [scratch, loader.ONTOLOGY_GRAPH], target, reasoner_named(self.settings.reasoner),
                              asserted)
            self.store.update(f"ADD SILENT GRAPH <{target}> TO <{loader.INFERRED_GRAPH}>")
        finally:
            loader.drop_staging(self.store, run)

    def refresh_inferences(self) -> None:
        """Recompute the inferred graph from the ontology and data graphs as they are now. On disk the new
        graph is staged beside the store and only its difference is written (at 10^6 triples: one removal
        re-materialised in seconds instead of moving the whole inferred graph in one 40 s transaction)."""
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

    def is_empty(self) -> bool:
        return not self.store.graphs()

    def close(self) -> None:
        self.store.close()
