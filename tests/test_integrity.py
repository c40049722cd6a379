"""Governance integrity: a report read writes nothing, and reports read while writes go on never loosen or
tighten the gate (its baseline changes under the write lock only)."""

from __future__ import annotations

import threading

import pyoxigraph as ox
import pytest

from ekb.config import DATA_GRAPH_PREFIX, HISTORY_GRAPH, Settings
from ekb.errors import GateRefused
from ekb.gate import Delta
from ekb.kb import KnowledgeBase
from ekb.store import EmbeddedStore

from .conftest import ROOT

# A second customer on an account that already has one: a Violation of the information model's 1..1 link.
SECOND_CUSTOMER = ox.Triple(ox.NamedNode("https://kb.quantum-energy.example/id/customer/c-1001"),
                            ox.NamedNode("https://kb.quantum-energy.example/def/info/hasAccount"),
                            ox.NamedNode("https://kb.quantum-energy.example/id/customer-account/a-5003"))
GRAPH = DATA_GRAPH_PREFIX + "crm-sync"


@pytest.fixture
def kb():
    kb = KnowledgeBase(Settings(root=ROOT), EmbeddedStore())
    kb.load()
    return kb


def test_reading_a_report_writes_nothing(kb):
    before = kb.store.counts()
    kb.validate()
    kb.validate()
    assert kb.store.counts() == before and HISTORY_GRAPH not in kb.store.graphs()
    kb.validate(record=True)
    assert kb.store.count(HISTORY_GRAPH) > 0


def test_reports_read_during_writes_never_change_the_gates_verdicts(kb):
    # the store starts with the violation, known to the gate
    Delta(GRAPH, added=(SECOND_CUSTOMER,)).apply(kb.store)
    kb._baseline = None
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            kb.validate()

    readers = [threading.Thread(target=poll) for _ in range(2)]
    for reader in readers:
        reader.start()
    verdicts = []
    try:
        for _ in range(6):
            fix = Delta(GRAPH, removed=(SECOND_CUSTOMER,))
            kb.apply(fix)  # a fix is always accepted
            again = Delta(GRAPH, added=(SECOND_CUSTOMER,))
            try:
                kb.apply(again)
                verdicts.append("accepted")
            except GateRefused:
                verdicts.append("refused")
            Delta(GRAPH, added=(SECOND_CUSTOMER,)).apply(kb.store)  # put it back behind the gate's back, as at the start
            with kb._write_lock:
                kb._baseline = None
                kb._published()
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert verdicts == ["refused"] * 6
