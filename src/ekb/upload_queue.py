"""Graph Store POSTs of a load, sent by one thread of their own while the loader goes on.

A load onto a remote engine spends most of its time waiting for the engine to store each chunk, while this
process has the next file to parse and the rules to run (`ekb.rules_in_process`). The chunks are queued here
instead, up to `MAX_BYTES` of them (the queue is full: the loader waits for the oldest), and sent in order by
one thread. Every other request of the store first waits until the queue is empty (`settle`), so a reader
always sees what was written before it asked. A failed POST is raised once, to the thread that queued it, at
its next request (or at `settle`); the chunks after it are sent all the same (the loader drops the graph).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

MAX_BYTES = 256 * 1024 * 1024  # N-Triples queued at most (a 10^6-triple load is 164 MB)


class UploadQueue:
    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pending: deque[tuple[Future, int]] = deque()
        self._bytes = 0
        self._failure: BaseException | None = None
        self._owner: int | None = None  # the thread that queued what is pending
        self._lock = threading.Lock()
        self._local = threading.local()

    def submit(self, post: Callable[[], object], size: int) -> None:
        """Queue one POST (`size` bytes of body), once the queue has room for it."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, "ekb-upload", initializer=self._mark_sender)
            self._owner = threading.get_ident()
        while self._pending and self._bytes + size > MAX_BYTES:
            self._settle_oldest()
        with self._lock:
            self._pending.append((self._executor.submit(post), size))
            self._bytes += size

    def settle(self) -> None:
        """Wait until every queued POST has been sent; raise a failure to the thread that queued it."""
        if getattr(self._local, "sender", False):
            return  # the sending thread's own requests
        while self._pending:
            self._settle_oldest()
        with self._lock:
            failure, mine = self._failure, self._owner == threading.get_ident()
            if failure is not None and mine:
                self._failure = None
        if failure is not None and mine:
            raise failure

    def close(self) -> None:
        try:
            self.settle()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)

    def _settle_oldest(self) -> None:
        with self._lock:
            if not self._pending:
                return
            future, size = self._pending[0]
        try:
            future.result()
        except BaseException as err:  # noqa: BLE001 - kept for the thread that queued it
            with self._lock:
                self._failure = self._failure or err
        with self._lock:
            if self._pending and self._pending[0][0] is future:
                self._pending.popleft()
                self._bytes -= size

    def _mark_sender(self) -> None:
        self._local.sender = True
