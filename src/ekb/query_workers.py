"""Anonymous SPARQL evaluated in worker processes that can be stopped.

pyoxigraph cannot cancel a query, and its parser can exhaust the stack on hostile input. So the text a client
sends is evaluated in a separate process, over a snapshot of the store (a RocksDB checkpoint: hard links,
taken lazily after a write), with an address-space limit and, where the kernel allows it, no network at all.
Past its time limit a query's process is killed, which frees its CPU at once; a crash costs one process.

Fair sharing: a query still running after `long_after_s` is "long": its process is re-niced to 19, so the
lookups in the other processes keep the CPU, and it no longer counts against the fast processes (a new one is
started in its place). At most `max_long` run at once; past that, the newest long one is stopped with 503.
A client that finds every fast process busy waits up to `queue_wait_s`, then gets 503 with Retry-After.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import itertools
import multiprocessing
import os
import queue
import re
import resource
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import pyoxigraph as ox

from ekb.errors import (
    Busy,
    EkbError,
    Forbidden,
    InputError,
    LimitExceeded,
    QuerySyntaxError,
    QueryTimeout,
    StoreUnavailable,
)
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, SOLUTION_FORMATS, Format, by_name

SPAWN = multiprocessing.get_context("spawn")
CLONE_NEWNET, CLONE_NEWUSER = 0x40000000, 0x10000000


@dataclass(frozen=True)
class Limits:
    """How much one worker process may take, and how many the server runs."""

    fast_workers: int = 3
    max_long: int = 4
    long_after_s: float = 0.5
    queue_wait_s: float = 5.0
    max_waiting: int = 64
    memory_bytes: int = 2 * 1024 ** 3
    isolate_network: bool = True


# ---------------------------------------------------------------- the worker process

def _cut_network() -> bool:
    """Move this (still single-threaded) process into an empty network namespace: no socket it opens can
    reach any host, whatever the query says. Needs root or unprivileged user namespaces; False if neither."""
    libc = ctypes.CDLL(None, use_errno=True)
    return any(libc.unshare(flags) == 0 for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET))


def _die_with(server: int) -> None:
    """If the server dies (even by kill -9), a runaway query must not outlive it. (PR_SET_PDEATHSIG would fire
    when the server *thread* that started us ends, and the server starts replacements from pool threads.)"""
    while os.getppid() == server:
        time.sleep(1.0)
    os._exit(0)


def _serve(conn: Connection, memory_bytes: int, isolate_network: bool) -> None:
    """The worker's loop: one request at a time, answered on `conn`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server's Ctrl-C is for the server; it stops us itself
    server = os.getppid()
    isolated = _cut_network() if isolate_network else False  # while this process still has one thread
    threading.Thread(target=_die_with, args=(server,), daemon=True).start()
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    from ekb.store import EmbeddedStore

    opened: dict[str, EmbeddedStore] = {}
    conn.send(("ready", isolated))
    while True:
        try:
            op, snapshot, args = conn.recv()
        except EOFError:
            return
        try:
            if op == "query":
                if snapshot not in opened:
                    opened.clear()  # the previous snapshot's files close with it
                    opened[snapshot] = EmbeddedStore.read_only(Path(snapshot))  # StoreUnavailable: the server's fault
                forward = _sender(conn) if args.get("stream") else None
                try:
                    answer = opened[snapshot].query(args["sparql"], forward=forward, **_query_options(args))
                except StoreUnavailable as err:  # evaluation failed on what the query asked (SERVICE, a function)
                    raise InputError(str(err).replace("the query failed while running", "the query failed")) from None
                conn.send(("ok", (answer.kind, answer.media_type, answer.body)))
            else:
                opened.clear()
                conn.send(("ok", _trial(Path(snapshot), args["sparql"], args["graphs"], args["prefixes"],
                                        args["base_iri"], args["max_quads"])))
        except EkbError as err:
            conn.send(("error", (type(err).__name__, str(err))))
        except MemoryError:
            conn.send(("error", ("LimitExceeded", "the request needed more memory than one may use")))
        except (ValueError, TypeError, SyntaxError, RuntimeError, RecursionError) as err:  # the engine on this text
            conn.send(("error", ("InputError", f"the request could not be evaluated: {err}")))
        except OSError as err:  # the engine could not read the snapshot: the server's fault, not the client's
            conn.send(("error", ("StoreUnavailable", f"the store could not be read: {err}")))
        except Exception as err:  # noqa: BLE001 - reported to the server, which maps it; the process lives on
            conn.send(("error", ("EkbError", f"the request failed in the engine: {type(err).__name__}: {err}")))


def _sender(conn: Connection):
    """Where a streamed answer's chunks go: the pipe, as ("chunk", ...) messages before the final ("ok", ...).
    A send blocks while the server has not read the previous ones, so a slow reader slows the query down
    instead of making anyone buffer its answer."""
    def send(part) -> None:
        conn.send(("chunk", (part.kind, part.media_type, part.body)))
    return send


def _query_options(args: dict) -> dict:
    solution = by_name(args["solution_format"], SOLUTION_FORMATS)
    graph = by_name(args["graph_format"], GRAPH_FORMATS) or by_name(args["graph_format"], DATASET_FORMATS)
    return {"solution_format": solution, "graph_format": graph, "default_graphs": args["default_graphs"],
            "named_graphs": args["named_graphs"], "timeout_s": None, "max_bytes": args["max_bytes"],
            "base_iri": args["base_iri"]}


def _trial(copy_dir: Path, sparql: str, graphs: list[str], prefixes: list[str], base_iri: str | None,
           max_quads: int) -> tuple[list[str], Changed | None]:
    from ekb.store import EmbeddedStore

    return trial(EmbeddedStore(copy_dir), sparql, graphs, prefixes, base_iri, max_quads)


# What an update changed, as N-Quads: (added, removed) quads, then (added, removed) triples of the union of the data
# graphs (what the rules read). Bytes, so that it crosses the pipe from a worker process as it is.
Changed = tuple[bytes, bytes, bytes, bytes]
UPDATE_DELTA_MAX_CHARS = 64 * 1024  # a longer update is not parsed a second time: the full gate judges it
UPDATE_DELTA_MAX_QUADS = 10_000  # quads the template patterns may match; past that, the full gate
Pattern = tuple  # (subject, predicate, object) of pyoxigraph terms, None where the template has a variable


def trial(copy, sparql: str, graphs: list[str], prefixes: list[str], base_iri: str | None = None,
          max_quads: int = UPDATE_DELTA_MAX_QUADS) -> tuple[list[str], Changed | None]:
    """Run an update on a private copy of the store: the protected graphs it changed (see `protected_changes`)
    and, when it can be known cheaply, what it added and removed.

    Every quad an update adds or removes is an instance of one of its templates (INSERT DATA, DELETE DATA,
    DELETE WHERE, DELETE/INSERT ... WHERE): so the quads that match the templates' constants, read before and
    after the update, differ by exactly the update's change. The update itself is run by the engine; rdflib's
    parser only names the templates. Any other operation (LOAD, CLEAR, COPY...), a text rdflib cannot read, or
    templates matching more than `max_quads` quads: no change is returned and the full gate judges the update."""
    patterns = template_patterns(sparql, base_iri) if max_quads else None
    before = _matching(copy, patterns, max_quads) if patterns else None
    if before is None:
        return protected_changes(copy, sparql, graphs, prefixes, base_iri), None
    names_before = set(copy.graphs())
    copy.update(sparql, base_iri=base_iri)
    after = _matching(copy, patterns, 2 * max_quads)
    if after is None:  # it added too much to tell: the caller runs the trial again, without a change to return
        raise TooLarge
    added, removed = after - before, before - after
    written = {q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else DEFAULT_GRAPH for q in added | removed}
    changed = [g for g in [*graphs, DEFAULT_GRAPH] if g in written]
    appeared = set(copy.graphs()) ^ names_before
    changed += sorted(g for g in appeared if g.startswith(tuple(prefixes)))
    if changed or any(isinstance(t, ox.BlankNode) for q in removed for t in (q.subject, q.object)):
        return changed, None  # refused anyway, or a removal DELETE DATA cannot name (a blank node)
    union_before, union_after = _union(before), _union(after)

    def nq(quads) -> bytes:
        return ox.serialize(sorted(quads, key=str), format=ox.RdfFormat.N_QUADS)
    return changed, (nq(added), nq(removed), nq(union_after - union_before), nq(union_before - union_after))


class TooLarge(EkbError):
    """An update's templates matched more quads after it than a trial keeps: try it again without the change."""


def template_patterns(sparql: str, base_iri: str | None) -> list[Pattern] | None:
    """The (subject, predicate, object) constants of every template of every operation in an update, or None
    when that cannot be known for sure: an operation without templates, a text rdflib does not read as the
    engine does (codepoint escapes, relative IRIs, which the two might resolve differently), or a long one."""
    from rdflib import URIRef
    from rdflib.plugins.sparql.algebra import translateUpdate
    from rdflib.plugins.sparql.parser import parseUpdate

    from ekb.sparql_lexer import IRI, has_codepoint_escapes, read

    if len(sparql) > UPDATE_DELTA_MAX_CHARS or has_codepoint_escapes(sparql):
        return None
    try:
        reading = read(sparql)
        if any(kind == IRI and not SCHEME.match(reading.value((kind, start, end, depth))[1:])
               for kind, start, end, depth in reading.tokens):
            return None
        operations = translateUpdate(parseUpdate(sparql), base=base_iri).algebra
    except Exception:  # noqa: BLE001 - rdflib's parser raises many kinds; any means "judge the whole update"
        return None
    patterns: set[Pattern] = set()
    for op in operations:
        if op.name in ("InsertData", "DeleteData", "DeleteWhere"):
            templates = [op]
        elif op.name == "Modify":
            templates = [op[part] for part in ("delete", "insert") if part in op]  # CompValue.get returns the key
        else:
            return None
        for template in templates:
            # CompValue.get's second argument is not a default: it returns the key itself for a missing part
            triples = list(template["triples"] if "triples" in template else [])  # noqa: SIM401
            triples += [t for ts in (template["quads"] if "quads" in template else {}).values() for t in ts]  # noqa: SIM401
            try:  # rdflib keeps a prefixed name's escapes (id:a\/b) in the IRI, which the engine reads unescaped
                patterns |= {tuple(ox.NamedNode(str(term)) if isinstance(term, URIRef) else None for term in t)
                             for t in triples}
            except ValueError:
                return None
    return sorted(patterns, key=str)


SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def _matching(store, patterns: list[Pattern], limit: int) -> set | None:
    """The quads (in any graph) matching any pattern; None past `limit`."""
    found: set = set()
    for s, p, o in patterns:
        for quad in store.engine.quads_for_pattern(s, p, o, None):
            found.add(quad)
            if len(found) > limit:
                return None
    return found


def _union(quads: set) -> set:
    """The triples of the quads in data graphs: what validation reads."""
    from ekb.config import is_data_graph

    return {q.triple for q in quads if isinstance(q.graph_name, ox.NamedNode) and is_data_graph(q.graph_name.value)}


def protected_changes(copy, sparql: str, graphs: list[str], prefixes: list[str], base_iri: str | None = None) -> list[str]:
    """Run an update on a private copy of the store; name the protected graphs it changed, the graphs under
    a protected prefix it created or removed, and DEFAULT_GRAPH if it wrote to the store's own default graph
    (which nothing validates or reasons over: facts go into named graphs)."""
    graphs = [*graphs, DEFAULT_GRAPH]
    before = {g: _fingerprint(copy, g) for g in graphs}
    names_before = set(copy.graphs())
    copy.update(sparql, base_iri=base_iri)
    changed = [g for g in graphs if _fingerprint(copy, g) != before[g]]
    appeared = set(copy.graphs()) ^ names_before
    return changed + sorted(g for g in appeared if g.startswith(tuple(prefixes)))


DEFAULT_GRAPH = ""  # the store's own default graph, in the list of graphs an update changed


def _fingerprint(store, graph: str) -> str:
    """Order-free digest of a graph (blank nodes keep their labels within one store)."""
    name = ox.DefaultGraph() if graph == DEFAULT_GRAPH else ox.NamedNode(graph)
    quads = store.engine.quads_for_pattern(None, None, None, name)  # read by the engine, no query to plan
    lines = ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES).splitlines()
    return hashlib.sha256(b"\n".join(sorted(lines))).hexdigest()


# ---------------------------------------------------------------- the server's side

class _Worker:
    def __init__(self, limits: Limits):
        self.conn, child = SPAWN.Pipe()
        self.process = SPAWN.Process(target=_serve, args=(child, limits.memory_bytes, limits.isolate_network),
                                     daemon=True, name="ekb-query-worker")
        self.process.start()
        child.close()
        self.ready = False
        self.isolated = False

    def wait_ready(self, timeout: float) -> None:
        if not self.ready and self.conn.poll(timeout):
            status, self.isolated = self.conn.recv()
            self.ready = status == "ready"

    def slow_down(self) -> None:
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, self.process.pid, 19)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(5)
        self.conn.close()


def busy(message: str, retry_after_s: int) -> Busy:
    error = Busy(message)
    error.headers = {"Retry-After": str(retry_after_s)}
    return error


ERRORS: dict[str, type[EkbError]] = {cls.__name__: cls for cls in (
    InputError, QuerySyntaxError, LimitExceeded, QueryTimeout, Forbidden, StoreUnavailable, TooLarge, EkbError)}


def _error(payload: tuple[str, str]) -> EkbError:
    """The error a worker reported, as the server raises it."""
    name, message = payload
    return ERRORS.get(name, InputError)(message)


class _Job:
    """One request on one worker process, from the moment it is sent to its end: the worker back in the pool
    (its answer received) or stopped (killed: past the time limit, on a crash, or for a client that went away).
    The end happens once, whichever thread gets there first: the one reading, or one stopping it."""

    def __init__(self, pool: QueryWorkers, worker: _Worker, what: str, timeout_s: float):
        self.pool, self.worker, self.what, self.timeout_s = pool, worker, what, timeout_s
        self.started = time.monotonic()
        self.deadline = self.started + timeout_s
        self.state = "fast"
        self.reason: BaseException | None = None  # why it was stopped
        self._ended = False
        self._lock = threading.Lock()  # guards the end
        self._reading = threading.Lock()  # held while a thread waits on the pipe
        self._watchdog: threading.Timer | None = None

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def receive(self) -> tuple[str, object]:
        """The worker's next message: ("chunk" | "ok" | "error", payload). Past the deadline the worker is
        stopped and QueryTimeout raised; past `long_after_s` the job becomes long (see `QueryWorkers._promote`)."""
        try:
            with self._reading:
                return self._next_message()
        except (EOFError, OSError):
            self.stop(InputError(
                f"the {self.what} could not be evaluated: the engine failed on it (too large, too deeply nested, or "
                f"past the memory limit of {self.pool.limits.memory_bytes // 1024 ** 2:,} MiB)"))
            raise self.reason from None
        except EkbError as err:
            self.stop(err)
            raise self.reason from None
        except BaseException:
            self.stop()
            raise

    def _next_message(self) -> tuple[str, object]:
        conn, long_after = self.worker.conn, self.started + self.pool.limits.long_after_s
        while True:
            if self.reason is not None:  # stopped by another thread: its reason, not the worker's death
                raise self.reason
            until = min(long_after, self.deadline) if self.state == "fast" else self.deadline
            if conn.poll(max(0.0, until - time.monotonic())):
                return conn.recv()
            if time.monotonic() >= self.deadline:
                raise QueryTimeout(f"the {self.what} ran past the time limit of {self.timeout_s:g} s and was stopped; "
                                   "narrow it or ask the operator for a higher limit")
            if self.state == "fast":
                self._become_long()

    def _become_long(self) -> None:
        if not self.pool._promote(self.worker):
            raise busy(f"the server is already running {self.pool.limits.max_long} long requests; this {self.what} "
                       f"was stopped after {self.pool.limits.long_after_s:g} s: try again later", 10)
        self.state = "long"
        if not self.pool._closed:
            self.pool._start_one()  # a fresh process takes the long one's place among the fast

    def watch(self) -> None:
        """Stop the job at its deadline even if nobody reads (a streamed answer whose client stopped reading)."""
        self._watchdog = threading.Timer(self.remaining(), self.stop, args=(QueryTimeout(
            f"the {self.what} ran past the time limit of {self.timeout_s:g} s and was stopped; narrow it or ask "
            "the operator for a higher limit"),))
        self._watchdog.daemon = True
        self._watchdog.start()

    def _claim_end(self) -> bool:
        with self._lock:
            if self._ended:
                return False
            self._ended = True
        if self._watchdog is not None:
            self._watchdog.cancel()
        return True

    def end(self) -> None:
        """The worker answered: back to the pool (a long one is not reused: its niceness cannot always be
        lowered again)."""
        if not self._claim_end():
            return
        if self.state == "long":
            self.pool._retire(self.worker, "long", respawn=False)
        else:
            self.pool._idle.put(self.worker)

    def stop(self, reason: BaseException | None = None) -> None:
        """Kill the worker now (its CPU is free at once) and retire it; a thread waiting on its pipe wakes up
        and raises `reason`. Returns at once if the job has already ended."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
            self.reason = reason or QueryTimeout(f"the {self.what} was stopped")
            with contextlib.suppress(OSError):
                os.kill(self.worker.process.pid, signal.SIGKILL)
        if self._watchdog is not None:
            self._watchdog.cancel()
        with self._reading:  # a reader sees the pipe's end, and lets go, before the pipe is closed
            self.pool._retire(self.worker, self.state, respawn=self.state == "fast")


class _Rest:
    """The rest of a streamed answer, chunk by chunk from its worker's pipe (see `AnswerRest`)."""

    def __init__(self, job: _Job):
        self.job = job
        self.done = False
        job.watch()

    def read(self) -> bytes | None:
        if self.done:
            return None
        status, payload = self.job.receive()
        if status == "chunk":
            return payload[2]
        self.done = True
        self.job.end()
        if status != "ok":
            raise _error(payload)
        return payload[2]

    def close(self) -> None:
        self.done = True
        self.job.stop(InputError("the client went away before the end of the answer"))


class QueryWorkers:
    """The pool of worker processes, and the snapshots they read."""

    def __init__(self, store, write_lock: threading.Lock, limits: Limits = Limits()):
        self.store = store
        self.write_lock = write_lock
        self.limits = limits
        self._snapshots = Path(tempfile.mkdtemp(prefix=f".{store.path.name}.snapshots-", dir=store.path.parent))
        self._numbers = itertools.count()
        self._snapshot: Path | None = None
        self._snapshot_lock = threading.Lock()
        self._fresh = threading.Event()  # set: `_snapshot` holds every acknowledged write
        self._snapshot_error: Exception | None = None
        self._queued = False  # a thread is waiting to take the snapshot (read and written under the write lock)
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._state = threading.Lock()
        self._long = 0
        self._waiting = 0
        self._closed = False
        for _ in range(limits.fast_workers):
            self._start_one()

    # -- snapshots

    def mark_stale(self) -> None:
        """After a write, under the write lock: the snapshot readers get no longer holds every committed write. The
        next one (a checkpoint of hard links, ~15 ms on the shipped model) is taken by a thread of its own as soon
        as the write releases the lock, or by the next write before it changes anything (`refresh`), whichever
        comes first; a reader that arrives meanwhile waits for it. So a write is acknowledged without waiting for
        the snapshot, a client that got its write acknowledged still reads it, a write in progress is never half
        seen, and no reader waits behind a later, longer write."""
        self._fresh.clear()
        if not self._queued:  # one thread waits for the lock, however many writes come meanwhile
            self._queued = True
            threading.Thread(target=self._refresh_when_free, name="ekb-snapshot", daemon=True).start()

    def refresh(self) -> None:
        """Under the write lock: the snapshot taken now if a write made it stale or the last one failed."""
        if (not self._fresh.is_set() or self._snapshot_error is not None) and not self._closed:
            self._take_snapshot()

    def _refresh_when_free(self) -> None:
        with self.write_lock:
            self._queued = False
            self.refresh()

    def _take_snapshot(self) -> None:
        with self._snapshot_lock:
            folder = self._snapshots / f"{next(self._numbers):08d}"
            try:
                self.store.backup(folder)
            except Exception as err:  # noqa: BLE001 - RocksDB's errors come as OSError or RuntimeError (a full
                self._snapshot_error = err  # disk...): readers are told; the next write or reader tries again
            else:
                self._snapshot, self._snapshot_error = folder, None
                self._prune()
            finally:
                self._fresh.set()

    def snapshot(self) -> Path:
        """The newest snapshot of acknowledged writes."""
        if self._closed:
            raise StoreUnavailable("the query processes are stopped: the server is shutting down")
        if self._snapshot is None or self._snapshot_error is not None:
            with self.write_lock:  # the first, or after a failure: taken here
                self._fresh.clear()
                self.refresh()
        self._fresh.wait()
        if self._snapshot_error is not None or self._snapshot is None:
            raise StoreUnavailable(f"cannot take a snapshot of the store for the query processes: "
                                   f"{self._snapshot_error or 'the server is shutting down'}")
        return self._snapshot

    def _prune(self, keep: int = 3) -> None:
        """Old snapshots go; the last few stay for the queries still reading them (trial copies are not
        snapshots: each trial removes its own)."""
        numbered = sorted(f for f in self._snapshots.iterdir() if f.name.isdigit())
        for old in numbered[:-keep]:
            if old != self._snapshot:
                shutil.rmtree(old, ignore_errors=True)

    def private_copy(self) -> Path:
        """A writable copy of the store as it is now (cheap: hard links), for one trial."""
        folder = self._snapshots / f"trial-{next(self._numbers):08d}"
        with self.write_lock:
            self.store.backup(folder)
        return folder

    # -- processes

    def _start_one(self) -> None:
        self._idle.put(_Worker(self.limits))

    def _acquire(self) -> _Worker:
        with self._state:
            if self._waiting >= self.limits.max_waiting:
                raise busy("the server is busy: too many queries are waiting; try again shortly", 2)
            self._waiting += 1
        try:
            worker = self._idle.get(timeout=self.limits.queue_wait_s)
        except queue.Empty:
            raise busy(f"the server is busy: no query slot was free within {self.limits.queue_wait_s:g} s; "
                       "try again shortly", 5) from None
        finally:
            with self._state:
                self._waiting -= 1
        if not worker.process.is_alive():
            self._retire(worker, "fast", respawn=True)
            return self._acquire()
        return worker

    def _retire(self, worker: _Worker, state: str, respawn: bool) -> None:
        worker.kill()
        with self._state:
            if state == "long":
                self._long -= 1
        if respawn and not self._closed:
            self._start_one()

    def _promote(self, worker: _Worker) -> bool:
        """A query past `long_after_s` becomes long: re-niced, and a new fast process takes its place.
        False when the long ones are already at their bound."""
        with self._state:
            if self._long >= self.limits.max_long:
                return False
            self._long += 1
        worker.slow_down()
        return True

    def run(self, op: str, snapshot: Path, args: dict, timeout_s: float) -> object:
        """Send one request to a free process and wait for its answer, stopping it past `timeout_s`."""
        job = self._begin(op, snapshot, args, timeout_s)
        status, payload = job.receive()
        job.end()
        if status != "ok":
            raise _error(payload)
        return payload

    def _begin(self, op: str, snapshot: Path, args: dict, timeout_s: float) -> _Job:
        """A free process, sent one request: the job that follows it to its end."""
        job = _Job(self, self._acquire(), "update" if op == "trial" else "query", timeout_s)
        try:
            job.worker.wait_ready(job.remaining())
            if not job.worker.ready:
                raise busy("the server is busy starting query processes; try again shortly", 2)
            job.worker.conn.send((op, str(snapshot), args))
        except EkbError as err:
            job.stop(err)
            raise
        except OSError:  # the process died before it was sent anything
            job.stop()
            raise InputError(f"the {job.what} could not be evaluated: its query process ended; try again") from None
        except BaseException:
            job.stop()
            raise
        return job

    # -- what the knowledge base asks for

    def query(self, sparql: str, solution_format: Format, graph_format: Format, default_graphs=(), named_graphs=(),
              timeout_s: float = 30.0, max_bytes: int | None = None, base_iri: str | None = None,
              stream: bool = False):
        """A query's answer, evaluated in a worker process. With `stream`, an answer larger than one chunk comes
        back as its first chunk and the rest to read (`Answer.rest`): the worker hands it over as it is
        serialised and nobody holds all of it. The time limit still covers the whole answer, counted from the
        start, whether or not the rest is read (a client that stops reading is stopped with it)."""
        from ekb.store import Answer

        args = {"sparql": sparql, "solution_format": solution_format.name, "graph_format": graph_format.name,
                "default_graphs": list(default_graphs), "named_graphs": list(named_graphs), "max_bytes": max_bytes,
                "base_iri": base_iri, "stream": stream}
        if not stream:
            return Answer(*self.run("query", self.snapshot(), args, timeout_s))
        job = self._begin("query", self.snapshot(), args, timeout_s)
        status, payload = job.receive()
        if status == "chunk":
            return Answer(*payload, rest=_Rest(job))
        job.end()
        if status != "ok":
            raise _error(payload)
        return Answer(*payload)

    def trial_update(self, sparql: str, graphs: list[str], prefixes: list[str], timeout_s: float,
                     base_iri: str | None = None,
                     max_quads: int = UPDATE_DELTA_MAX_QUADS) -> tuple[list[str], Changed | None]:
        """Run an update on a private copy within the time limit: the protected graphs it would change, and
        what it adds and removes when that is small (see `trial`)."""
        copy = self.private_copy()
        try:
            args = {"sparql": sparql, "graphs": graphs, "prefixes": prefixes, "base_iri": base_iri,
                    "max_quads": max_quads}
            changed, change = self.run("trial", copy, args, timeout_s)
            return changed, change
        except TooLarge:
            return self.trial_update(sparql, graphs, prefixes, timeout_s, base_iri, max_quads=0)
        finally:
            shutil.rmtree(copy, ignore_errors=True)

    def close(self) -> None:
        self._closed = True
        self._fresh.set()  # readers still waiting go on to a closed pool and its error
        while True:
            try:
                self._idle.get_nowait().kill()
            except queue.Empty:
                break
        shutil.rmtree(self._snapshots, ignore_errors=True)
