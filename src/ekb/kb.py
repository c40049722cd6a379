"""The knowledge base as a plain Python object: what the CLI and the API both call."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ekb import loader
from ekb.config import Settings
from ekb.formats import GRAPH_FORMATS, SOLUTION_FORMATS, Format
from ekb.guard import check_remote_access
from ekb.library import QueryLibrary
from ekb.store import Answer, Store, open_store


@dataclass
class KnowledgeBase:
    settings: Settings
    store: Store

    @classmethod
    def open(cls, settings: Settings) -> KnowledgeBase:
        return cls(settings, open_store(settings.store_dir, settings.endpoint, settings.update_endpoint))

    @property
    def backend(self) -> str:
        if self.settings.endpoint:
            return "remote"
        return "embedded-disk" if self.settings.store_dir else "embedded-memory"

    def load(self, progress: loader.Progress = lambda _: None) -> loader.LoadReport:
        return loader.load(self.store, self.settings, progress)

    @cached_property
    def library(self) -> QueryLibrary:
        return QueryLibrary(self.settings.queries_dir)

    def sparql(self, text: str, solution_format: Format = SOLUTION_FORMATS[0], graph_format: Format = GRAPH_FORMATS[0],
               default_graphs=(), named_graphs=()) -> Answer:
        """A read-only SPARQL query under the operator's limits."""
        check_remote_access(text, self.settings.allowed_service_hosts)
        return self.store.query(text, solution_format=solution_format, graph_format=graph_format,
                                default_graphs=default_graphs, named_graphs=named_graphs,
                                timeout_s=self.settings.query_timeout_s)

    def run_named(self, name: str, values: dict[str, str], solution_format: Format = SOLUTION_FORMATS[0],
                  graph_format: Format = GRAPH_FORMATS[0], page: int | None = None) -> Answer:
        """A curated query of the library, its parameters bound as RDF terms."""
        return self.sparql(self.library.get(name).bind(values, page), solution_format, graph_format)

    def update(self, text: str) -> None:
        check_remote_access(text, self.settings.allowed_service_hosts)
        self.store.update(text)

    def is_empty(self) -> bool:
        return not self.store.graphs()

    def close(self) -> None:
        self.store.close()
