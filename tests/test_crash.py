"""kill -9 at random moments: every acknowledged write survives with its entailments, and an interrupted
load is never served as a healthy store."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ekb.config import DATA_GRAPH_PREFIX, EKB, INFERRED_GRAPH, Settings
from ekb.errors import StoreUnavailable
from ekb.gate import Delta
from ekb.kb import KnowledgeBase

from .conftest import ROOT
from .crash_writer import PARENT, capability

ROUNDS = 20


def start_writer(store: Path, first: int) -> tuple[subprocess.Popen, list[int]]:
    process = subprocess.Popen([sys.executable, "-m", "tests.crash_writer", str(store), str(first)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    acked: list[int] = []

    def read() -> None:
        for line in process.stdout:
            if line.startswith("ack "):
                acked.append(int(line.split()[1]))

    threading.Thread(target=read, daemon=True).start()
    return process, acked


def crash_capabilities(kb: KnowledgeBase) -> tuple[set[str], set[str]]:
    """(capabilities stored, capabilities whose entailment is in the inferred graph)."""
    stored = {r["c"].value for r in kb.store.select(
        f"SELECT ?c WHERE {{ ?c <{EKB}hasParentCapability> <{PARENT}> FILTER(STRSTARTS(STR(?c), 'urn:crash:')) }}")}
    inferred = {r["c"].value for r in kb.store.select(
        f"SELECT ?c WHERE {{ GRAPH <{INFERRED_GRAPH}> {{ ?c <{EKB}isWithinCapability> <{PARENT}> }} "
        "FILTER(STRSTARTS(STR(?c), 'urn:crash:')) }")}
    return stored, inferred


def test_acknowledged_writes_and_their_entailments_survive_kill_9(tmp_path):
    store = tmp_path / "store"
    kb = KnowledgeBase.open(Settings(root=ROOT, store_dir=store))
    kb.load()
    kb.close()
    del kb
    rng = random.Random(20261124)
    acked_all: set[str] = set()
    next_n, repaired = 0, 0
    for _ in range(ROUNDS):
        process, acked = start_writer(store, next_n)
        deadline = time.monotonic() + 30
        while not acked and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.8))  # somewhere inside a later write
        process.kill()
        process.wait()
        time.sleep(0.05)  # the reader thread drains what was printed before the kill
        acked_all |= {capability(n) for n in acked}
        next_n = (max(acked) + 2) if acked else next_n + 1
        kb = KnowledgeBase.open(Settings(root=ROOT, store_dir=store))
        repaired += bool(kb.recover())
        stored, inferred = crash_capabilities(kb)
        kb.close()
        del kb
        assert acked_all <= stored, f"acknowledged writes lost: {sorted(acked_all - stored)}"
        assert stored == inferred, f"writes without their entailments after recovery: {sorted(stored ^ inferred)}"
    assert len(acked_all) >= ROUNDS  # the writer really wrote between kills
    assert not list(tmp_path.glob(".store.staging-*")) and not list(tmp_path.glob(".store.snapshots-*"))


def test_an_interrupted_first_load_is_never_served(tmp_path):
    reference = KnowledgeBase.open(Settings(root=ROOT))
    reference.load()
    complete = reference.store.counts()
    rng = random.Random(7)
    outcomes = set()
    for round_ in range(20):
        store = tmp_path / f"store-{round_}"
        process = subprocess.Popen([sys.executable, "-m", "ekb.cli", "load", "--root", str(ROOT), "--store", str(store)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 1.9))
        process.kill()
        process.wait()
        kb = KnowledgeBase.open(Settings(root=ROOT, store_dir=store))
        kb.recover()
        if kb.interrupted_load():
            outcomes.add("marked")
            with pytest.raises(StoreUnavailable, match="interrupted load"):
                kb.apply(Delta(DATA_GRAPH_PREFIX + "x"))
            kb.load()  # `ekb load` completes it
            assert not kb.interrupted_load()
        elif kb.is_empty():
            outcomes.add("empty")
            kb.load()
        else:
            outcomes.add("complete")
        assert kb.store.counts() == complete
        kb.close()
        shutil.rmtree(store, ignore_errors=True)
    assert "marked" in outcomes  # the kills did land inside loads
