"""Graph Store POSTs of a load, sent by one thread of their own while the loader goes on.

A load onto a remote engine spends most of its time waiting for the engine to store each chunk, while this
process has the next file to parse and the rules to run (`ekb.rules_in_process`). The chunks are queued here
instead, up to `MAX_BYTES` of them (the queue is full: the loader waits for the oldest), and sent in order by
one thread. Every other request of the thread that queued them first waits until the queue is empty (`settle`),
so it reads what it wrote; another thread's requests do not wait (a reader during a load sees what it would
have seen, the graphs filling in the meantime). A failed POST is raised once, to the thread that queued it, at
its next request; the chunks after it are not sent (the loader drops the graph). One thread queues at a time
(the knowledge base's write lock): the thread that queued last is the one told.
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

    def submit(self, post: Callable[[], object], size: int) -> None:
        """Queue one POST (`size` bytes of body), once the queue has room for it."""
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, "ekb-upload")
            self._owner = threading.get_ident()
        while self._pending and self._bytes + size > MAX_BYTES:
            self._settle_oldest()
        with self._lock:
            self._pending.append((self._executor.submit(self._unless_failed, post), size))
            self._bytes += size

    def _unless_failed(self, post: Callable[[], object]) -> None:
        """In the sending thread: a POST, kept for the queuing thread if it fails; none after one that failed
        (the load fails anyway, and sooner)."""
        if self._failure is not None:
            return
        try:
            post()
        except BaseException as err:  # noqa: BLE001 - raised to the thread that queued it
            with self._lock:
                self._failure = self._failure or err

    def settle(self) -> None:
        """In the thread that queued the POSTs: wait until every one has been sent, and raise a failure."""
        if threading.get_ident() != self._owner:
            return  # not this thread's writes (the sending thread's own requests among them)
        self._drain()
        with self._lock:
            failure, self._failure = self._failure, None
        if failure is not None:
            raise failure

    def close(self) -> None:
        self._drain()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.settle()

    def _drain(self) -> None:
        while self._pending:
            self._settle_oldest()

    def _settle_oldest(self) -> None:
        with self._lock:
            if not self._pending:
                return
            future, size = self._pending[0]
        future.result()  # never raises: see _unless_failed
        with self._lock:
            if self._pending and self._pending[0][0] is future:
                self._pending.popleft()
                self._bytes -= size
