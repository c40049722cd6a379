"""The change feed: every write the knowledge base accepts, in order, so a tool syncs by reading what changed since
its last visit instead of everything.

Each change has a number (the cursor a tool stores and resumes from), the time, who made it (the route or
command), the graphs and resources it touched, and the triples it added and removed (up to `MAX_TRIPLES`; past
that, or for a load, the entry says `complete: false`, and a replica re-reads the resources or graphs it names).
On disk the log is a JSON-lines file beside the store, appended under the knowledge base's write lock; it keeps
the last `retention` changes. A tool whose cursor fell out of the log is told to resync.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyoxigraph as ox

LOG_FILE = "ekb-changes.jsonl"
MAX_TRIPLES = 1000  # per change, inline; a larger change names its resources and graphs only
DEFAULT_RETENTION = 10_000


@dataclass(frozen=True)
class Change:
    number: int
    time: str
    actor: str  # "sparql-update", "graph-store", "import", "load", ...
    kind: str  # Activity Streams: Create, Update or Delete
    graphs: list[str]
    resources: list[str]
    added: str = ""  # N-Quads
    removed: str = ""
    complete: bool = True  # False: `added`/`removed` leave something out; re-read `resources` / `graphs`

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class ChangeLog:
    path: Path | None  # None: in memory only
    retention: int = DEFAULT_RETENTION
    _entries: list[Change] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.path is not None and self.path.exists():
            with open(self.path, encoding="utf-8") as handle:
                for line in handle:
                    if line.strip():
                        try:
                            self._entries.append(Change(**json.loads(line)))
                        except (ValueError, TypeError):
                            continue  # a line cut short by a crash: the change itself was committed or not, see below
            self._entries = self._entries[-self.retention:]

    @property
    def last(self) -> int:
        return self._entries[-1].number if self._entries else 0

    def record(self, actor: str, added: Iterable[ox.Quad] = (), removed: Iterable[ox.Quad] = (),
               graphs: Iterable[str] = (), complete: bool = True) -> Change:
        """Append one change (the caller holds the write lock); returns it."""
        added, removed = list(added), list(removed)
        names = set(graphs) | {q.graph_name.value for q in (*added, *removed) if isinstance(q.graph_name, ox.NamedNode)}
        resources = sorted({q.subject.value for q in (*added, *removed) if isinstance(q.subject, ox.NamedNode)})
        inline = complete and len(added) + len(removed) <= MAX_TRIPLES
        kind = "Create" if added and not removed else "Delete" if removed and not added else "Update"
        change = Change(self.last + 1, dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                        actor, kind, sorted(names), resources,
                        _nquads(added) if inline else "", _nquads(removed) if inline else "", inline)
        with self._lock:
            self._entries.append(change)
            if self.path is not None:
                with open(self.path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(change.as_json(), ensure_ascii=False) + "\n")
                    handle.flush()
                    os.fsync(handle.fileno())
            if len(self._entries) > self.retention * 1.5:  # trimmed now and then, not on every write
                self._entries = self._entries[-self.retention:]
                self._rewrite()
        return change

    def _rewrite(self) -> None:
        if self.path is None:
            return
        temporary = self.path.with_suffix(".tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            for change in self._entries:
                handle.write(json.dumps(change.as_json(), ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)

    def after(self, cursor: int, size: int) -> tuple[list[Change], bool, bool]:
        """(the changes numbered after `cursor`, at most `size`; whether more follow; whether the cursor fell out
        of the log, so the tool must resync from a full read)."""
        with self._lock:
            entries = list(self._entries)
        first = entries[0].number if entries else self.last + 1
        lost = cursor < first - 1
        following = [c for c in entries if c.number > cursor]
        return following[:size], len(following) > size, lost


def _nquads(quads: list[ox.Quad]) -> str:
    return ox.serialize(sorted(quads, key=str), format=ox.RdfFormat.N_QUADS).decode("utf-8") if quads else ""
