"""The knowledge base as a plain Python object: what the CLI and the API both call."""

from __future__ import annotations

from dataclasses import dataclass

from ekb import loader
from ekb.config import Settings
from ekb.store import Store, open_store


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

    def is_empty(self) -> bool:
        return not self.store.graphs()

    def close(self) -> None:
        self.store.close()
