"""Writes judged and reported incrementally: a SPARQL Update is gated on its neighbourhood like a Graph Store
write, and the kept governance report is updated from the focus nodes a write touched. Each must agree with the
whole-store computation it replaces: the full gate, and a full validation."""

from __future__ import annotations

import random
import re

import pyoxigraph as ox
import pytest
import rdflib

from ekb.config import INFERRED_GRAPH, PROTECTED_GRAPHS, SH, STAGING_PREFIX, Settings, is_data_graph
from ekb.errors import Forbidden, GateRefused, InputError
from ekb.gate import Delta, _data_quads, check_change, check_delta, refreshed_report, staging_copy
from ekb.kb import KnowledgeBase, _trial_in_process, quad_change
from ekb.query_workers import UPDATE_DELTA_MAX_QUADS
from ekb.store import EmbeddedStore
from ekb.validation import validate_store
from tests.conftest import ROOT
from tests.test_governance import BREACHES, ID, SEVERITY, P, short

FIXTURE = "https://kb.quantum-energy.example/graph/data/fixture"
SYSTEMS = "https://kb.quantum-energy.example/graph/data/systems"
EKB = "https://kb.quantum-energy.example/def/core/"
UTIL = "https://kb.quantum-energy.example/def/utility/"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


def as_client_writes(update: str) -> str:
    """A breach as a client sends it: a `GRAPH ?g` pattern limited to the data graphs (the inferred graph holds
    copies of asserted facts, and an update may not change it)."""
    return update.replace("} } WHERE { GRAPH ?g {", f"}} }} WHERE {{ FILTER(?g != <{INFERRED_GRAPH}>) GRAPH ?g {{")


def trial_change(store, update: str, base_iri: str | None = None, max_quads: int = UPDATE_DELTA_MAX_QUADS):
    changed, change = _trial_in_process(store, update, list(PROTECTED_GRAPHS), [STAGING_PREFIX], base_iri, max_quads)
    return changed, None if change is None else quad_change(change)


def named(quads: set[ox.Quad]) -> set[ox.Quad]:
    """The quads without blank nodes (whose labels differ from one copy of a store to the next)."""
    return {q for q in quads if not isinstance(q.subject, ox.BlankNode) and not isinstance(q.object, ox.BlankNode)}


def named_triples(triples) -> set[ox.Triple]:
    return {t for t in triples if not isinstance(t.subject, ox.BlankNode) and not isinstance(t.object, ox.BlankNode)}


def keys(findings) -> list:
    return sorted(f.key for f in findings)


def full_json(report) -> list:
    """Every field of every finding. A message's words are compared as a multiset: an engine's GROUP_CONCAT
    lists its values in no fixed order, so two full validations of one store may word a message differently."""
    return sorted(repr(sorted({**f.as_json(), "message": sorted(re.split(r"[ ,]+", f.message)),
                               "sentence": ""}.items())) for f in report.findings)


def graph_results(report) -> list:
    """The results of a report's sh:ValidationReport graph, by what they say (blank nodes aside)."""
    sh = rdflib.Namespace(SH)
    graph = report.report_graph
    return sorted((str(graph.value(r, sh.focusNode)), str(graph.value(r, sh.sourceShape)),
                   str(graph.value(r, sh.resultSeverity)), str(graph.value(r, sh.value)))
                  for r in graph.subjects(rdflib.RDF.type, sh.ValidationResult))


@pytest.fixture(scope="module")
def baseline(loaded_kb):
    return validate_store(loaded_kb.store)


# ------------------------------------------------------------------ a SPARQL Update as quads, gated locally

@pytest.mark.parametrize("name", sorted(BREACHES))
def test_an_update_gated_on_its_neighbourhood_agrees_with_the_full_gate(loaded_kb, baseline, name):
    """Every breach fixture, sent as a SPARQL Update: the trial turns it into quads, the neighbourhood check of
    those finds exactly the new findings the full gate finds on the update as written, and storing the quads
    leaves the store exactly as the update would."""
    update = as_client_writes(BREACHES[name][0])
    changed, change = trial_change(loaded_kb.store, update)
    assert changed == [] and change is not None
    full = check_change(loaded_kb.store, lambda store: store.update(update), baseline=baseline)
    local = check_delta(loaded_kb.store, change.delta)
    assert keys(local.new_findings) == keys(full.new_findings)
    assert {(short(f.focus), f.rule.rsplit("/", 1)[1]) for f in local.new_findings} == BREACHES[name][1]
    assert local.accepted is full.accepted is (SEVERITY.get(name, "Violation") != "Violation")
    assert (set(change.added), set(change.removed)) == (set(full.added), set(full.removed))
    stored = staging_copy(loaded_kb.store)
    change.apply(stored)
    assert named(_data_quads(stored)) == named((_data_quads(staging_copy(loaded_kb.store)) - full.removed) | full.added)


def test_update_forms_with_and_using_become_their_quads(loaded_kb):
    """DELETE DATA, WITH ... DELETE/INSERT WHERE and USING: the change is the quads the engine would write."""
    scada = f"<{ID}system/scada>"
    forms = [
        P + f'INSERT DATA {{ GRAPH <{FIXTURE}> {{ {scada} rdfs:comment "a"@en , "b"@en }} }}',
        P + f'DELETE DATA {{ GRAPH <{SYSTEMS}> {{ {scada} rdfs:label "SCADA"@en }} }}',
        P + f'WITH <{SYSTEMS}> DELETE {{ ?s rdfs:label ?l }} INSERT {{ ?s rdfs:label "SCADA (renamed)"@en }} '
            f"WHERE {{ BIND({scada} AS ?s) ?s rdfs:label ?l }}",
        P + f'INSERT {{ GRAPH <{FIXTURE}> {{ ?s rdfs:comment "from systems" }} }} USING <{SYSTEMS}> '
            "WHERE { ?s util:hasRegulatoryScope util:Regulated }",
        P + f"DELETE WHERE {{ GRAPH <{SYSTEMS}> {{ {scada} ekb:isInSystemGroup ?group }} }}",
    ]
    for update in forms:
        changed, change = trial_change(loaded_kb.store, update)
        expected = staging_copy(loaded_kb.store)
        before = _data_quads(expected)
        expected.update(update)
        after = _data_quads(expected)
        assert changed == [] and change is not None, update
        assert (set(change.added), set(change.removed)) == (after - before, before - after), update
        assert change.added or change.removed, update


def test_a_data_update_is_read_from_the_store_without_a_trial_and_agrees_with_one(monkeypatch):
    """DELETE DATA and INSERT DATA evaluate nothing: their change (quads, and the union the rules see) is read
    from the store's indexes, the same as the trial on a copy finds, and no copy is made."""
    kb = local_kb(gate_full_max_triples=10**9)
    scada, label = f"<{ID}system/scada>", '"SCADA"@en'
    kb.update(P + f"INSERT DATA {{ GRAPH <{FIXTURE}> {{ {scada} rdfs:label {label} }} }}")  # held by two graphs
    forms = [
        P + f'INSERT DATA {{ GRAPH <{FIXTURE}> {{ {scada} rdfs:comment "a"@en , "b"@en ; rdfs:seeAlso [ rdfs:label "x" ] }} }}',
        P + f"DELETE DATA {{ GRAPH <{SYSTEMS}> {{ {scada} rdfs:label {label} }} }}",  # the union keeps it
        P + f"DELETE DATA {{ GRAPH <{SYSTEMS}> {{ {scada} rdfs:label {label} }} }} ;"
            f"DELETE DATA {{ GRAPH <{FIXTURE}> {{ {scada} rdfs:label {label} }} }}",  # the union loses it
        P + f'DELETE DATA {{ GRAPH <{SYSTEMS}> {{ {scada} rdfs:label "absent" }} }}',  # no change at all
        P + f"DELETE DATA {{ GRAPH <{SYSTEMS}> {{ {scada} rdfs:label {label} }} }} ;"
            f'INSERT DATA {{ GRAPH <{SYSTEMS}> {{ {scada} rdfs:label {label}, "SCADA II"@en ; rdfs:seeAlso [] }} }}',  # put back
        P + f"INSERT DATA {{ GRAPH <{FIXTURE}> {{ {scada} rdfs:label {label} }} }}",  # already there
    ]
    expected = {update: trial_change(kb.store, update) for update in forms}

    def no_trial(*args, **kwargs):
        raise AssertionError("a DATA update ran a trial")
    monkeypatch.setattr("ekb.kb._trial_in_process", no_trial)
    for update, (changed, want) in expected.items():
        change = kb.try_update(update)
        assert changed == [] and want is not None, update
        assert named(set(change.added)) == named(set(want.added)) and set(change.removed) == set(want.removed), update
        assert len(change.added) == len(want.added), update
        assert named_triples(change.delta.added) == named_triples(want.delta.added), update
        assert set(change.delta.removed) == set(want.delta.removed), update
    assert not expected[forms[3]][1].added and not expected[forms[3]][1].removed
    assert expected[forms[1]][1].removed and not expected[forms[1]][1].delta.removed
    assert len(expected[forms[2]][1].delta.removed) == 1
    with pytest.raises(Forbidden):
        kb.update(f"INSERT DATA {{ GRAPH <{STAGING_PREFIX}x> {{ <urn:x> <urn:p> 1 }} }}")


def test_updates_whose_change_cannot_be_known_cheaply_go_to_the_full_gate(loaded_kb):
    clear = f"CLEAR SILENT GRAPH <{FIXTURE}>"
    everything = f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(?g = <{SYSTEMS}>) }}"
    relative = f"INSERT DATA {{ GRAPH <{FIXTURE}> {{ <thing> <{EKB}p> 1 }} }}"
    escaped = f"PREFIX id: <{ID}> INSERT DATA {{ GRAPH <{FIXTURE}> {{ id:customer\\/c-1001 <{EKB}p> 1 }} }}"
    for update in (clear, escaped):
        assert trial_change(loaded_kb.store, update) == ([], None), update
    systems = loaded_kb.store.count(SYSTEMS)
    assert trial_change(loaded_kb.store, everything, max_quads=systems) == ([], None)  # matches all quads: past it
    assert len(trial_change(loaded_kb.store, everything, max_quads=10**6)[1].removed) == systems
    assert trial_change(loaded_kb.store, relative, base_iri="https://kb.quantum-energy.example/") == ([], None)
    changed, _ = trial_change(loaded_kb.store, f"INSERT DATA {{ GRAPH <{INFERRED_GRAPH}> {{ <urn:x> <urn:p> 1 }} }}")
    assert changed == [INFERRED_GRAPH]  # the protected graphs are still found from the quads
    changed, _ = trial_change(loaded_kb.store, "INSERT DATA { <urn:x> <urn:p> 1 }")
    assert changed == [""]


def local_kb(gate_full_max_triples: int = 0) -> KnowledgeBase:
    kb = KnowledgeBase(Settings(root=ROOT, gate_full_max_triples=gate_full_max_triples), EmbeddedStore())
    kb.load()
    return kb


def test_an_update_stores_exactly_the_quads_it_was_judged_on_and_feeds_them_to_the_change_log():
    kb = local_kb()
    update = P + f'INSERT DATA {{ GRAPH <{FIXTURE}> {{ <{ID}system/scada> rdfs:comment "judged"@en }} }}'
    result = kb.update(update)
    comment = ox.Quad(ox.NamedNode(ID + "system/scada"), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment"),
                      ox.Literal("judged", language="en"), ox.NamedNode(FIXTURE))
    assert result.neighbourhood and (result.inserted, result.deleted) == (1, 0)  # judged on its neighbourhood
    assert set(result.added) == {comment} and kb.store.ask(f"ASK {{ GRAPH <{FIXTURE}> {{ {comment.triple} }} }}")
    [change] = kb.changes_after(0, 10)[0][-1:]
    assert (change.actor, set(ox.parse(change.added.encode(), format=ox.RdfFormat.N_QUADS))) == ("sparql-update", {comment})
    with pytest.raises(GateRefused):
        kb.update(as_client_writes(BREACHES["capability-without-owner"][0]))
    with pytest.raises(Forbidden):
        kb.update(f"INSERT DATA {{ GRAPH <{INFERRED_GRAPH}> {{ <urn:x> <urn:p> 1 }} }}")
    with pytest.raises(InputError):
        kb.update("INSERT DATA { <urn:x> <urn:p> 1 }")


def test_an_update_whose_store_changed_after_its_trial_is_judged_as_written():
    """The trial ran on the store as it was; a write since then may change what the update matches, so the
    update is then run as written (on the whole store), never the stale quads."""
    kb = local_kb()
    scada = ox.NamedNode(ID + "system/scada")
    comment = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#comment")
    update = f"DELETE WHERE {{ GRAPH <{FIXTURE}> {{ {scada} {comment} ?c }} }}"
    kb.apply(Delta(FIXTURE, added=(ox.Triple(scada, comment, ox.Literal("one")),)))
    generation = kb.generation
    change = kb.try_update(update)
    assert len(change.removed) == 1
    kb.apply(Delta(FIXTURE, added=(ox.Triple(scada, comment, ox.Literal("two")),)))  # after the trial
    result = kb._write(change.apply, change.delta, "sparql-update", quads=change,
                       stale=(generation, lambda store: store.update(update)))
    assert result.deleted == 2 and not kb.store.ask(f"ASK {{ {scada} {comment} ?c }}")


# ------------------------------------------------------------------ the kept report, always current

def random_changes(store, rng: random.Random, steps: int) -> list[Delta]:
    """Seeded writes: breach fixtures (as their quads), their undoing, and removals and re-additions of asserted
    facts picked at random."""
    data = sorted((q.triple for q in store.quads() if is_data_graph(q.graph_name.value)
                   and q.graph_name.value not in PROTECTED_GRAPHS and not isinstance(q.object, ox.BlankNode)
                   and not isinstance(q.subject, ox.BlankNode)), key=str)
    names = sorted(BREACHES)
    removed: list[ox.Triple] = []
    changes = []
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.4:
            _, change = trial_change(store, as_client_writes(BREACHES[rng.choice(names)][0]))
            delta = change.delta
        elif roll < 0.5 and changes:
            undo = rng.choice(changes)
            delta = Delta(FIXTURE, added=undo.removed, removed=undo.added)
        elif roll < 0.75 or not removed:
            picked = tuple(rng.sample(data, rng.choice((1, 1, 2, 3))))
            removed += picked
            delta = Delta(FIXTURE, removed=picked)
        else:
            delta = Delta(FIXTURE, added=(removed.pop(rng.randrange(len(removed))),))
        delta.apply(store)  # the store moves on: the next change is drawn from it
        changes.append(delta)
    return changes


def test_a_finding_two_links_from_the_change_is_updated(loaded_kb):
    """A unit's finding can depend on another unit's scope, two links away (unit -> legal entity <- other unit):
    removing that scope must clear it from the kept report, though the unit itself was not touched."""
    store = staging_copy(loaded_kb.store)
    store.replace_graphs({g: loaded_kb.store.graph_ntriples(g) for g in loaded_kb.store.graphs() if not is_data_graph(g)})
    store.update(as_client_writes(BREACHES["separate-legal-entity"][0]))
    report = validate_store(store)
    regulated = ID + "business-unit/regulated-operations"
    assert [f.rule.rsplit("/", 1)[1] for f in report.findings if f.focus == regulated] == ["SeparateLegalEntityShape"]
    scope = Delta(FIXTURE, removed=tuple(q.triple for q in store.quads() if q.subject.value == ID +
                  "business-unit/advanced-energy-solutions" and q.predicate.value.endswith("hasRegulatoryScope")))
    assert len(scope.removed) == 1 and regulated not in scope.touched()
    scope.apply(store)
    report = refreshed_report(report, scope.touched(), store)
    assert not [f for f in report.findings if f.focus == regulated]
    assert full_json(report) == full_json(validate_store(store))


@pytest.mark.parametrize("seed", [1])
def test_the_kept_report_updated_after_each_change_equals_a_full_validation(loaded_kb, seed):
    """The core of the always-current report, on changes the gate would refuse too: after each, the report
    updated from the neighbourhood check equals a full validation, finding for finding."""
    rng = random.Random(seed)
    plan = staging_copy(loaded_kb.store)
    plan.replace_graphs({g: loaded_kb.store.graph_ntriples(g) for g in loaded_kb.store.graphs() if not is_data_graph(g)})
    changes = random_changes(plan, rng, 40)
    store = staging_copy(loaded_kb.store)
    store.replace_graphs({g: loaded_kb.store.graph_ntriples(g) for g in loaded_kb.store.graphs() if not is_data_graph(g)})
    report = validate_store(store)
    touched: set[str] = set()
    for step, delta in enumerate(changes):
        delta.apply(store)
        touched |= delta.touched()
        if step % 4 == 3:  # several writes between two views, as a busy server has them
            report, touched = refreshed_report(report, touched, store), set()
        if step % 5 == 4:
            report, touched = refreshed_report(report, touched, store), set()
            assert full_json(report) == full_json(validate_store(store)), f"after change {step}: {delta}"


@pytest.mark.parametrize(("threshold", "writes"), [(0, 40), (10**9, 15)], ids=["neighbourhood-gate", "full-gate"])
def test_the_report_after_random_writes_equals_a_full_validation_without_validating_again(monkeypatch, threshold,
                                                                                          writes):
    """Through the knowledge base, both gate modes: seeded writes (some refused), then the report view answers
    from the kept result, never a new full validation, and equals one, findings and report graph (whose
    replacements are put off until it is read, at most MAX_DEFERRED of them: 5 here, so both ways are taken)."""
    import ekb.findings
    import ekb.kb

    monkeypatch.setattr(ekb.findings, "MAX_DEFERRED", 5)
    kb = local_kb(threshold)
    rng = random.Random(7)
    kb.current_report()
    plan = staging_copy(kb.store)
    plan.replace_graphs({g: kb.store.graph_ntriples(g) for g in kb.store.graphs() if not is_data_graph(g)})
    accepted = 0
    for delta in random_changes(plan, rng, writes):
        try:
            kb.apply(delta)
            accepted += 1
        except GateRefused:
            pass
    assert accepted >= writes // 3
    runs = []
    monkeypatch.setattr(ekb.kb, "validate_store", lambda *args: runs.append(1) or validate_store(*args))
    report = kb.current_report()
    assert runs == []
    full = validate_store(kb.store)
    assert full_json(report) == full_json(full)
    assert graph_results(report) == graph_results(full)


def test_a_small_store_judges_every_write_as_the_full_gate_and_keeps_its_report_exact(monkeypatch):
    """With the default settings the shipped model is below `gate_full_max_triples`: each write is judged on its
    neighbourhood and the SPARQL rules' reach (`gate.far_reach`), every link followed. The verdict and the new
    findings are the full gate's, and the kept report, updated from what the gate found, equals a full
    validation, without one."""
    import ekb.kb

    kb = local_kb(Settings().gate_full_max_triples)
    assert kb.size() <= kb.settings.gate_full_max_triples
    kb.current_report()
    plan = staging_copy(kb.store)
    plan.replace_graphs({g: kb.store.graph_ntriples(g) for g in kb.store.graphs() if not is_data_graph(g)})
    routed, runs = [], []
    for step, delta in enumerate(random_changes(plan, random.Random(11), 18)):
        full = check_change(kb.store, delta.apply, baseline=kb.current_report())
        routed.append(kb._local_reach(delta) is not None)
        try:
            new, accepted = kb.apply(delta).new_findings, True
        except GateRefused as refused:
            new = [tuple(f[k] for k in ("rule", "focus", "prop", "value", "constraint"))
                   for f in refused.details["newFindings"]]
            accepted = False
        assert accepted is full.accepted, f"change {step}: {delta}"
        assert sorted(f if isinstance(f, tuple) else f.key for f in new) == keys(full.new_findings), f"change {step}"
        if step % 6 == 5:
            monkeypatch.setattr(ekb.kb, "validate_store", lambda *args: runs.append(1) or validate_store(*args))
            report = kb.current_report()
            monkeypatch.undo()
            assert runs == [] and full_json(report) == full_json(validate_store(kb.store)), f"after change {step}"
    assert all(routed), "every change was judged on its neighbourhood and the SPARQL rules' reach"
    for name in ("capability-without-system", "cost-allocation-method-basis"):  # accepted, judged locally
        _, change = trial_change(kb.store, as_client_writes(BREACHES[name][0]))
        for delta in (change.delta, Delta(FIXTURE, added=change.delta.removed)):  # the finding comes, then goes
            assert kb._local_reach(delta) is not None
            kb.apply(delta)
            assert full_json(kb.current_report()) == full_json(validate_store(kb.store)), f"{name}: {delta}"


SCOPES = [ox.NamedNode(UTIL + n) for n in ("Regulated", "NonRegulated", "Shared")]
SEPARATION = {"SeparateLegalEntityShape", "NoCrossSubsidyShape", "SharedServiceAgreementShape", "AllocationSharesShape",
              "SharedServiceCostAllocationShape", "RegulatedDataAgreementShape", "CustomerConsentShape",
              "AgreementConsentRecordsShape", "IndependentFunctioningShape", "RegulatedProductTariffShape",
              "NonRegulatedProductTariffShape"}


def far_changes(store, rules: dict, rng: random.Random, steps: int) -> list[Delta]:
    """Seeded writes to what the SPARQL rules read: removals and re-additions of triples of their predicates,
    and a scope or a link changed to another value (each change's verdict is the next step's store)."""
    from ekb.rule_reach import atoms

    read = {ox.NamedNode(p) for edges in rules.values() for e in edges for p in atoms(e.path)}
    read -= {ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),  # schema changes meet the full gate
             ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#subClassOf")}
    data = sorted((q.triple for q in store.quads() if is_data_graph(q.graph_name.value) and q.predicate in read
                   and not isinstance(q.object, ox.BlankNode) and not isinstance(q.subject, ox.BlankNode)), key=str)
    nodes = sorted({t.object for t in data if isinstance(t.object, ox.NamedNode)} - set(SCOPES), key=str)
    separation = [name for name in sorted(BREACHES) if any(rule in SEPARATION for _, rule in BREACHES[name][1])]
    removed, changes = [], []
    for _ in range(steps):
        roll, t = rng.random(), rng.choice(data)
        if roll < 0.2:  # a breach of a separation rule, as its quads (refused unless an earlier write allows it)
            delta = trial_change(store, as_client_writes(BREACHES[rng.choice(separation)][0]))[1].delta
        elif roll < 0.4:
            removed.append(t)
            delta = Delta(FIXTURE, removed=(t,))
        elif roll < 0.55 and removed:
            delta = Delta(FIXTURE, added=(removed.pop(rng.randrange(len(removed))),))
        elif t.object in SCOPES:
            delta = Delta(FIXTURE, removed=(t,), added=(ox.Triple(t.subject, t.predicate, rng.choice(SCOPES)),))
        else:
            delta = Delta(FIXTURE, added=(ox.Triple(t.subject, t.predicate, rng.choice(nodes)),))
        changes.append(delta)
    return changes


@pytest.mark.parametrize("large", [False, True])
def test_writes_to_what_the_sparql_rules_read_are_judged_as_the_full_gate_judges_them(large):
    """The separation rules follow links to any depth (`org:unitOf*`, `(unitOf|subOrganizationOf)*`, a label
    two links away). Random writes to exactly the triples they read, starting from a model that breaks two of
    them: the verdict and the new findings on the neighbourhood plus the rules' reach are the full gate's, and
    the kept report equals a full validation, on a small store and past `gate_full_max_triples`."""
    from ekb.rule_reach import rule_edges
    from tests.test_governance import FAR_CHANGES

    kb = local_kb(0 if large else Settings().gate_full_max_triples)
    for setup, _, _ in FAR_CHANGES.values():
        for update in setup:
            kb.store.update(as_client_writes(update))
    kb.refresh_inferences()
    kb.validate()
    rules = rule_edges(kb._shapes_graph())
    refused = 0
    for step, delta in enumerate(far_changes(kb.store, rules, random.Random(5), 40)):
        full = check_change(kb.store, delta.apply, baseline=validate_store(kb.store))
        assert kb._local_reach(delta) is not None
        try:
            new, accepted = kb.apply(delta).new_findings, True
        except GateRefused as refusal:
            new = [tuple(f[k] for k in ("rule", "focus", "prop", "value", "constraint"))
                   for f in refusal.details["newFindings"]]
            accepted, refused = False, refused + 1
        assert accepted is full.accepted, f"change {step}: {delta}"
        assert sorted(f if isinstance(f, tuple) else f.key for f in new) == keys(full.new_findings), f"change {step}"
        if step % 10 == 9:  # large: the SPARQL rules' findings from the gate, the others refreshed when read
            assert full_json(kb.current_report()) == full_json(validate_store(kb.store)), f"after change {step}"
    assert 4 <= refused <= 36, "writes both refused and accepted"


def test_a_large_store_keeps_the_separation_findings_exact_behind_a_hub():
    """Past `gate_full_max_triples` the neighbourhood does not follow links into a node with more than 200
    incoming ones. A legal entity with 250 units is such a hub, and it stands between a regulated unit's
    separation finding and the label of the non-regulated unit that causes it: removing that label must clear the
    finding from the kept report (the gate's walk of the rule follows every link), and adding it back is refused."""
    from ekb.gate import HUB_LIMIT

    kb = local_kb(0)
    units = " ".join(f"<urn:unit:{n}> org:unitOf <urn:le:hub> ." for n in range(HUB_LIMIT + 50))
    kb.store.update(P + f"""INSERT DATA {{ GRAPH <{FIXTURE}> {{ {units}
        <urn:le:hub> a ekb:LegalEntity ; rdfs:label "Hub Co"@en ; util:hasRegulatoryScope util:Shared .
        <urn:unit:grid> a ekb:BusinessUnit ; rdfs:label "Grid"@en ; org:unitOf <urn:le:hub> ;
            util:hasRegulatoryScope util:Regulated .
        <urn:unit:shop> a ekb:BusinessUnit ; rdfs:label "Shop"@en ; org:unitOf <urn:le:hub> ;
            util:hasRegulatoryScope util:NonRegulated . }} }}""")
    kb.refresh_inferences()
    kb.validate()
    rule = "https://kb.quantum-energy.example/def/shapes/SeparateLegalEntityShape"
    assert sorted(f.focus for f in kb.current_report().findings if f.rule == rule) == ["urn:unit:grid", "urn:unit:shop"]
    label = ox.Triple(ox.NamedNode("urn:unit:shop"), ox.NamedNode(RDFS + "label"), ox.Literal("Shop", language="en"))
    kb.apply(Delta(FIXTURE, removed=(label,)))
    report = kb.current_report()
    assert [f.focus for f in report.findings if f.rule == rule] == ["urn:unit:shop"]
    assert full_json(report) == full_json(validate_store(kb.store))
    with pytest.raises(GateRefused):
        kb.apply(Delta(FIXTURE, added=(label,)))


def test_a_write_judged_locally_updates_the_owner_of_a_finding_two_links_away():
    """The owner of a finding's fix can be inherited from far up (a stage's value stream has no owner: the unit
    serving it answers). A write giving that unit an owner is judged on its neighbourhood, which does not reach
    the stage; the kept report must still name the new owner (labels and owners are read again when a write can
    change them)."""
    kb = local_kb(Settings().gate_full_max_triples)
    talent = f"<{ID}value-stream/talent-management>"
    for update in (BREACHES["value-stream-without-owner"][0], BREACHES["stage-without-enabler"][0],
                   f"DELETE WHERE {{ GRAPH ?g {{ {talent} <{EKB}hasOwner> ?o }} }}"):
        kb.store.update(as_client_writes(update))
    kb.refresh_inferences()
    kb.validate()
    stage = ID + "value-stream-stage/talent-management-1"
    assert [f.owner_label for f in kb.current_report().findings if f.focus == stage] == ["Chief Strategy Officer"]
    owner = ox.Triple(ox.NamedNode(ID + "business-unit/enterprise-services"), ox.NamedNode(EKB + "hasAccountableOwner"),
                      ox.NamedNode(ID + "owner/chief-information-officer"))
    assert kb._local_reach(Delta(FIXTURE, added=(owner,))) is not None
    assert stage not in kb.apply(Delta(FIXTURE, added=(owner,))).focus
    report = kb.current_report()
    assert [f.owner_label for f in report.findings if f.focus == stage] == ["Chief Information Officer"]
    assert full_json(report) == full_json(validate_store(kb.store))
