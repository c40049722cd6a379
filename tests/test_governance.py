"""Governance rules: each rule fires on its planted breach, on the right focus node, and nothing else fires.

The conforming fixture is the shipped Quantum Energy model (no violation, no warning). Each breaking fixture is
a small change to it; the test asserts the exact set of (focus node, rule) the change adds.
"""

from __future__ import annotations

import json
import re

import pyoxigraph as ox
import pytest

from ekb.gate import Delta, check_change, check_delta, staging_copy
from ekb.store import EmbeddedStore
from ekb.validation import PyshaclEngine, TurboEngine, validate_store
from tests import web
from tests.conftest import ROOT
from tests.test_cli import ekb

ID = "https://kb.quantum-energy.example/id/"
P = f"""PREFIX ekb: <https://kb.quantum-energy.example/def/core/>
PREFIX util: <https://kb.quantum-energy.example/def/utility/>
PREFIX info: <https://kb.quantum-energy.example/def/info/>
PREFIX id: <{ID}>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
G = "GRAPH <https://kb.quantum-energy.example/graph/data/fixture>"


def iris(text: str) -> str:
    """`id:kind/slug` as a full IRI: a slash is not allowed in a SPARQL prefixed name."""
    return re.sub(r"\bid:([\w/-]+(?:\.[\w/-]+)*)", lambda m: f"<{ID}{m.group(1)}>", text)


def insert(turtle: str) -> str:
    return P + f"INSERT DATA {{ {G} {{ {iris(turtle)} }} }}"


def delete(pattern: str) -> str:
    pattern = iris(pattern)
    return P + f"DELETE {{ GRAPH ?g {{ {pattern} }} }} WHERE {{ GRAPH ?g {{ {pattern} }} }}"


def both(*updates: str) -> str:
    """One update request of several operations, under one prologue."""
    return P + " ;\n".join(u.removeprefix(P) for u in updates)


BREACHES = {
    "organisation-scope": (delete("id:business-unit/advanced-energy-solutions util:hasRegulatoryScope ?s"),
                           {("business-unit/advanced-energy-solutions", "OrganisationScopeShape")}),
    "separate-legal-entity": (
        both(delete("id:business-unit/advanced-energy-solutions org:unitOf ?e"),
             insert("id:business-unit/advanced-energy-solutions org:unitOf id:legal-entity/quantum-energy-utility-company .")),
        {("business-unit/advanced-energy-solutions", "SeparateLegalEntityShape"),
         ("business-unit/regulated-operations", "SeparateLegalEntityShape")}),
    "cross-subsidy-non-regulated-on-regulated": (
        insert("""<urn:sa:bad> a info:ServiceAgreement ; rdfs:label "SA bad"@en ;
                    info:isForProduct id:product/smart-home-essentials .
                  id:customer-account/a-5001 info:managesServiceAgreement <urn:sa:bad> ."""),
        {("urn:sa:bad", "NoCrossSubsidyShape")}),
    "cross-subsidy-regulated-on-non-regulated": (
        insert("""<urn:sa:bad2> a info:ServiceAgreement ; rdfs:label "SA bad 2"@en ;
                    info:isForProduct id:product/residential-gas-service .
                  id:customer-account/a-5002 info:managesServiceAgreement <urn:sa:bad2> ."""),
        {("urn:sa:bad2", "NoCrossSubsidyShape")}),
    "shared-service-without-sla": (delete("id:service-level-agreement/it-advanced-energy-solutions ?p ?o"),
                                   {("shared-service/it", "SharedServiceAgreementShape")}),
    "shared-service-sla-without-cost-allocation": (
        delete("id:service-level-agreement/hr-advanced-energy-solutions ekb:hasCostAllocationMethod ?m"),
        {("shared-service/hr", "SharedServiceCostAllocationShape")}),
    "allocation-shares": (
        both(delete("id:cost-allocation/it-advanced-energy-solutions-2026 util:allocationShare ?s"),
             insert("id:cost-allocation/it-advanced-energy-solutions-2026 util:allocationShare 0.30 .")),
        {("shared-service/it", "AllocationSharesShape")}),
    "cost-allocation-method-basis": (delete("id:cost-allocation-method/headcount-allocator ekb:allocationBasis ?b"),
                                     {("cost-allocation-method/headcount-allocator", "CostAllocationMethodShape")}),
    "regulated-data-without-agreement": (
        insert("id:capability/20-2-marketing-campaign-management ekb:usesInformation id:information-entity/outage-event ."),
        {("capability/20-2-marketing-campaign-management", "RegulatedDataAgreementShape")}),
    "customer-data-without-consent": (
        both(delete("id:data-sharing-agreement/customer-insight-for-aes-offers ekb:requiresCustomerConsent ?c"),
             insert("id:data-sharing-agreement/customer-insight-for-aes-offers ekb:requiresCustomerConsent false .")),
        {("data-sharing-agreement/customer-insight-for-aes-offers", "CustomerConsentShape")}),
    "agreement-without-consent-records": (delete("id:record/consent-c-1002-regulated-operations ?p ?o"),
                                          {("data-sharing-agreement/der-data-for-grid-operations",
                                            "AgreementConsentRecordsShape")}),
    "consent-record": (delete("id:record/consent-c-1001-aes ekb:consentDate ?d"),
                       {("record/consent-c-1001-aes", "ConsentRecordShape")}),
    "interface-oversight": (
        delete("id:interface/financial-and-legal-interface ekb:hasOversightCapability id:capability/18-regulatory-affairs"),
        {("interface/financial-and-legal-interface", "InterfaceOversightShape")}),
    "independent-functioning": (
        insert("""<urn:person:pat> a <http://xmlns.com/foaf/0.1/Person> ; rdfs:label "Pat Doe"@en ;
                  org:holds id:owner/vp-system-operations, id:owner/vp-aes-sales-marketing ."""),
        {("urn:person:pat", "IndependentFunctioningShape")}),
    "regulated-product-without-tariff": (delete("id:product/residential-gas-service util:hasApprovedTariff ?t"),
                                         {("product/residential-gas-service", "RegulatedProductTariffShape")}),
    "non-regulated-product-with-tariff": (
        insert("id:product/smart-home-essentials util:hasApprovedTariff id:record/tariff-r-1 ."),
        {("product/smart-home-essentials", "NonRegulatedProductTariffShape")}),
    "customer-without-account": (insert('<urn:c:9> a info:Customer ; rdfs:label "Customer 9"@en .'),
                                 {("urn:c:9", "CustomerShape")}),
    "account-with-two-premises": (insert("id:customer-account/a-5001 info:isAtPremise id:premise/p-2002 ."),
                                  {("customer-account/a-5001", "CustomerAccountShape")}),
    "account-without-customer": (delete("id:customer/c-1002 info:hasAccount id:customer-account/a-5004"),
                                 {("customer-account/a-5004", "CustomerAccountShape")}),
    "agreement-without-product": (delete("id:service-agreement/sa-7002 info:isForProduct ?p"),
                                  {("service-agreement/sa-7002", "ServiceAgreementShape")}),
    "premise-without-meter-point": (
        insert('<urn:p:9> a info:Premise ; rdfs:label "Premise 9"@en .'), {("urn:p:9", "PremiseShape")}),
    "meter-point-without-asset": (
        both(delete("id:meter-point/mp-3003 info:hasMeterAsset ?a"), delete("?a info:isMeterAssetOf id:meter-point/mp-3003")),
        {("meter-point/mp-3003", "MeterPointShape")}),
    "reading-type": (both(delete("id:meter-reading/r-1 info:readingType ?t"),
                          insert('id:meter-reading/r-1 info:readingType "Hourly" .')),
                     {("meter-reading/r-1", "MeterReadingShape")}),
    "reading-without-timestamp": (delete("id:meter-reading/r-2 info:readingTimestamp ?t"),
                                  {("meter-reading/r-2", "MeterReadingShape")}),
    "outage-ends-before-it-starts": (
        both(delete("id:record/outage-o-7701 info:endTime ?e"),
             insert('id:record/outage-o-7701 info:endTime "2026-08-14T15:00:00Z"^^xsd:dateTime .')),
        {("record/outage-o-7701", "OutageEventShape")}),
    "transaction-amount-not-decimal": (
        both(delete("id:record/ft-9001 info:amount ?a"), insert('id:record/ft-9001 info:amount "182.40" .')),
        {("record/ft-9001", "FinancialTransactionShape")}),
    "transaction-type": (both(delete("id:record/ft-9002 info:transactionType ?t"),
                              insert('id:record/ft-9002 info:transactionType "Refund" .')),
                         {("record/ft-9002", "FinancialTransactionShape")}),
    "filing-without-compliance-records": (delete("id:record/filing-rf-2026-01 util:includesComplianceRecord ?r"),
                                          {("record/filing-rf-2026-01", "RegulatoryFilingShape")}),
    "capability-without-owner": (delete("id:capability/10-2-billing-and-payment-management ekb:hasAccountableOwner ?o"),
                                 {("capability/10-2-billing-and-payment-management", "CapabilityOwnerShape")}),
    "system-with-two-owners": (insert("id:system/scada ekb:hasAccountableOwner id:owner/chief-information-officer ."),
                               {("system/scada", "SystemOwnerShape")}),
    "value-stream-without-owner": (delete("id:value-stream/talent-management ekb:hasAccountableOwner ?o"),
                                   {("value-stream/talent-management", "ValueStreamOwnerShape")}),
    "entity-without-owner": (delete("id:information-entity/work-order ekb:hasAccountableOwner ?o"),
                             {("information-entity/work-order", "InformationEntityOwnerShape")}),
    "l2-without-parent": (delete("id:capability/10-2-billing-and-payment-management ekb:hasParentCapability ?p"),
                          {("capability/10-2-billing-and-payment-management", "L2CapabilityShape")}),
    "stage-without-enabler": (delete("id:value-stream-stage/talent-management-1 ekb:isEnabledBy ?c"),
                              {("value-stream-stage/talent-management-1", "ValueStreamStageShape")}),
    "entity-without-steward": (delete("id:information-entity/grid-state ekb:hasDataSteward ?s"),
                               {("information-entity/grid-state", "InformationEntityShape")}),
    "capability-without-system": (delete("?s ekb:supportsCapability id:capability/13-1-real-time-grid-monitoring-and-control"),
                                  {("capability/13-1-real-time-grid-monitoring-and-control", "CapabilitySupportShape")}),
    "label-without-language": (insert('id:system/scada rdfs:label "SCADA" .'), {("system/scada", "EnglishLabelShape")}),
}


def short(iri: str) -> str:
    return iri.removeprefix(ID)


@pytest.fixture(scope="module")
def baseline(loaded_kb):
    return validate_store(loaded_kb.store)


def test_shipped_model_conforms(baseline):
    assert baseline.counts["Violation"] == 0 and baseline.counts["Warning"] == 0
    assert {f.rule.rsplit("/", 1)[1] for f in baseline.findings} == {"CapabilitySupportShape"}


# The breaches of rules that are not Violations: the gate reports them and accepts the change.
SEVERITY = {"cost-allocation-method-basis": "Warning", "capability-without-system": "Info",
            "label-without-language": "Warning"}


@pytest.mark.parametrize("name", sorted(BREACHES))
def test_each_breach_fires_its_rule_and_nothing_else(loaded_kb, baseline, name):
    update, expected = BREACHES[name]
    result = check_change(loaded_kb.store, lambda store: store.update(update), baseline=baseline)
    fired = {(short(f.focus), f.rule.rsplit("/", 1)[1]) for f in result.new_findings}
    assert fired == expected
    severity = SEVERITY.get(name, "Violation")
    assert {f.severity for f in result.new_findings} == {severity}
    assert result.accepted is (severity != "Violation"), "the gate refuses a change exactly when it adds a Violation"
    assert result.as_json()["accepted"] is result.accepted
    assert len(result.as_json()["newViolations"]) == (len(result.new_findings) if severity == "Violation" else 0)
    resolved = {f.key for f in baseline.findings} - {f.key for f in result.report.findings}
    assert not resolved - {f.key for f in baseline.findings if "13-1" in f.focus}


def test_the_same_rule_broken_with_another_value_is_a_new_violation(loaded_kb):
    """A finding is the same finding only with the same value: a store that already breaks a rule on one node
    must not be let break it again there with a second bad value (the key of a finding includes its value)."""
    store = staging_copy(loaded_kb.store)
    store.update(BREACHES["transaction-type"][0])  # ft-9002's type is "Refund", not in the allowed list
    before = validate_store(store)
    [known] = [f for f in before.findings if f.severity == "Violation" and f.focus == ID + "record/ft-9002"]
    assert (short(known.focus), known.value) == ("record/ft-9002", "Refund")
    change = both(delete("id:record/ft-9002 info:transactionType ?t"),
                  insert('id:record/ft-9002 info:transactionType "Chargeback" .'))
    result = check_change(store, lambda s: s.update(change), baseline=before)
    assert [(short(f.focus), f.rule, f.prop, f.value) for f in result.new_findings] == [
        ("record/ft-9002", known.rule, known.prop, "Chargeback")]
    assert result.accepted is False and (result.inserted, result.deleted) == (1, 1)
    same_again = check_change(store, lambda s: s.update(insert('id:record/ft-9002 rdfs:comment "no change to the type" .')),
                              baseline=before)
    assert same_again.accepted is True and same_again.new_findings == []  # the known one is not new
    assert (same_again.inserted, same_again.deleted) == (1, 0)


def test_independent_functioning_allows_two_regulated_posts(loaded_kb):
    update = insert("""<urn:person:lee> a <http://xmlns.com/foaf/0.1/Person> ; rdfs:label "Lee Roe"@en ;
                       org:holds id:owner/vp-system-operations, id:owner/chief-financial-officer .""")
    assert check_change(loaded_kb.store, lambda store: store.update(update)).new_findings == []


def test_findings_name_the_thing_its_rule_and_its_owner(loaded_kb):
    update, _ = BREACHES["capability-without-owner"]
    finding = check_change(loaded_kb.store, lambda store: store.update(update)).new_findings[0]
    assert finding.sentence == ("Violation: Billing & Payment Management (level-2 capability) needs exactly one "
                                "accountable owner. Rule: Every capability has exactly one accountable owner. "
                                "Owner to fix: Chief Customer Officer.")
    update, _ = BREACHES["account-with-two-premises"]
    finding = check_change(loaded_kb.store, lambda store: store.update(update)).new_findings[0]
    assert finding.focus_label == "Account A-5001 (regulated)" and finding.owner_label == "Chief Customer Officer"
    assert finding.prop == "premise" and finding.severity == "Violation"


def test_fast_engine_matches_pyshacl_on_every_breach_at_once(loaded_kb):
    staging = staging_copy(loaded_kb.store)
    for update, _ in BREACHES.values():
        staging.update(update)
    fast = validate_store(staging, TurboEngine())
    reference = validate_store(staging, PyshaclEngine())
    assert sorted(f.key for f in fast.findings) == sorted(f.key for f in reference.findings)
    assert fast.counts["Violation"] >= len(BREACHES) - 4  # a few breaches overlap when applied at once


def test_cli_gate_exit_codes_and_formats(tmp_path):
    ok = ekb("validate")
    assert ok.returncode == 0 and "Verdict: conforms" in ok.stdout
    assert ekb("validate", "--fail-on", "info").returncode == 3
    as_json = json.loads(ekb("validate", "--format", "json").stdout)
    assert as_json["counts"] == {"Violation": 0, "Warning": 0, "Info": 30}
    broken = tmp_path / "broken.ttl"
    broken.write_text("""@prefix info: <https://kb.quantum-energy.example/def/info/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<urn:c:1> a info:Customer ; rdfs:label "Lonely customer"@en .
""")
    ontology = [str(p) for p in sorted((ROOT / "ontology").glob("*.ttl"))]
    files = ekb("validate", str(broken), *ontology, "--shapes", str(ROOT / "shapes" / "information-model.ttl"),
                str(ROOT / "shapes" / "prefixes.ttl"))
    assert files.returncode == 3
    assert ("Violation: Lonely customer (customer) has no customer account. "
            "Rule: A customer has one or more accounts.") in files.stdout
    html = ekb("validate", "--format", "html", "--group-by", "owner")
    assert html.stdout.startswith("<!doctype html>") and "Chief Strategy Officer" in html.stdout
    csv_out = ekb("validate", "--format", "csv").stdout.splitlines()
    assert csv_out[0].startswith("severity,rule,") and len(csv_out) == 31
    turtle = ekb("validate", "--format", "turtle").stdout
    assert "sh:ValidationReport" in turtle


def test_api_report_dry_run_gate_and_history(api):
    before = web.get(api.url + "/governance/history").json()
    report = web.get(api.url + "/governance/report", headers={"Accept": "application/json"}, timeout=60).json()
    assert report["counts"]["Violation"] == 0
    page = web.get(api.url + "/governance/report", headers={"Accept": "text/html"}, timeout=60)
    assert page.headers["content-type"].startswith("text/html") and "Governance report" in page.text
    proposal = """@prefix info: <https://kb.quantum-energy.example/def/info/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<urn:c:77> a info:Customer ; rdfs:label "Customer 77"@en ."""
    dry = web.post(api.url + "/governance/validate", content=proposal, headers={"Content-Type": "text/turtle"},
                     timeout=60).json()
    assert dry["accepted"] is False
    assert [v["focus"] for v in dry["newViolations"]] == ["urn:c:77"]
    ask = {"query": "ASK { <urn:c:77> ?p ?o }"}
    assert web.get(api.url + "/sparql", params=ask).json()["boolean"] is False
    assert web.get(api.url + "/governance/history").json() == before, "reading the report must not record a run"
    # Recording a run is a write: closed on this server, which has no write token (see test_http_edges).
    assert web.post(api.url + "/governance/report").status_code == 401


CONSENT = ID + "record/consent-c-1001-aes"
CONSENT_DATE = (f'<{CONSENT}> <https://kb.quantum-energy.example/def/core/consentDate> '
                '"2025-05-30T00:00:00"^^<http://www.w3.org/2001/XMLSchema#dateTime> .')  # in graph/data/records, not the first


def test_api_dry_run_removes_from_the_graph_that_holds_the_triple(api):
    """The `remove` part of a multipart dry run takes triples out of whichever data graph holds them."""
    holder = web.get(api.url + "/sparql", params={"query": f"SELECT ?g WHERE {{ GRAPH ?g {{ {CONSENT_DATE} }} }}"}).json()
    assert [b["g"]["value"] for b in holder["results"]["bindings"]] == ["https://kb.quantum-energy.example/graph/data/records"]
    dry = web.post(api.url + "/governance/validate", files={"remove": ("r.ttl", CONSENT_DATE.encode(), "text/turtle")})
    assert dry.status_code == 200, dry.text
    assert dry.json()["accepted"] is False
    assert [(v["focus"], v["rule"].rsplit("/", 1)[1]) for v in dry.json()["newViolations"]] == [
        (CONSENT, "ConsentRecordShape")]
    ask = web.get(api.url + "/sparql", params={"query": f"ASK {{ {CONSENT_DATE.removesuffix(' .')} }}"}).json()
    assert ask["boolean"] is True, "a dry run stores nothing"


def test_a_write_removes_from_the_graph_that_holds_the_triple():
    from ekb.config import Settings
    from ekb.errors import GateRefused
    from ekb.kb import KnowledgeBase

    kb = KnowledgeBase(Settings(root=ROOT), EmbeddedStore())
    kb.load()
    fixture = "https://kb.quantum-energy.example/graph/data/fixture"
    [date] = [q.triple for q in ox.parse(CONSENT_DATE.encode(), format=ox.RdfFormat.N_TRIPLES)]
    with pytest.raises(GateRefused, match="1 governance violation"):
        kb.apply(Delta(fixture, removed=(date,)))
    assert kb.store.ask(f"ASK {{ {date} }}")
    definition = next(q.triple for q in kb.store.quads("https://kb.quantum-energy.example/graph/data/systems")
                      if q.subject.value == ID + "system/scada" and q.predicate.value.endswith("core#definition"))
    result = kb.apply(Delta(fixture, removed=(definition,)))
    assert result.accepted is True and not kb.store.ask(f"ASK {{ {definition} }}")
    assert (result.inserted, result.deleted) == (0, 1)
    local = check_delta(kb.store, Delta(fixture, removed=(date,)))  # the same removal, checked on its neighbourhood
    assert local.accepted is False and (local.inserted, local.deleted) == (0, 1)
    assert [(f.focus, f.rule.rsplit("/", 1)[1]) for f in local.new_findings] == [(CONSENT, "ConsentRecordShape")]


LOCAL = ("cross-subsidy-non-regulated-on-regulated", "cross-subsidy-regulated-on-non-regulated",
         "regulated-data-without-agreement", "independent-functioning", "non-regulated-product-with-tariff",
         "customer-without-account", "account-with-two-premises", "premise-without-meter-point",
         "system-with-two-owners")


@pytest.mark.parametrize("name", LOCAL)
def test_neighbourhood_gate_agrees_with_the_full_gate(loaded_kb, name):
    """On a large store the gate checks a change's neighbourhood only; on these breaches it must find
    exactly what the full validation finds."""
    update, expected = BREACHES[name]
    scratch = EmbeddedStore()
    scratch.update(update)
    delta = Delta("https://kb.quantum-energy.example/graph/data/fixture", added=tuple(q.triple for q in scratch.quads()))
    result = check_delta(loaded_kb.store, delta)
    assert {(short(f.focus), f.rule.rsplit("/", 1)[1]) for f in result.new_findings} == expected
    assert not result.accepted


def test_neighbourhood_gate_reads_three_links_from_the_change(tmp_path):
    """A change to one cost allocation breaks a rule whose evidence lies three links away: allocation -> shared
    service <- the other allocations -> their shares. On a store above the full gate's size the change is checked on
    its neighbourhood, which must reach that far (the README promises three links) and refuse it."""
    from ekb.config import Settings
    from ekb.errors import GateRefused
    from ekb.kb import KnowledgeBase

    kb = KnowledgeBase(Settings(root=ROOT, gate_full_max_triples=100), EmbeddedStore())
    kb.load()
    assert kb.size() > kb.settings.gate_full_max_triples  # so the gate reads the neighbourhood only
    share = ox.Triple(ox.NamedNode(ID + "cost-allocation/it-advanced-energy-solutions-2026"),
                      ox.NamedNode("https://kb.quantum-energy.example/def/utility/allocationShare"),
                      ox.Literal("0.30", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal")))
    delta = Delta("https://kb.quantum-energy.example/graph/data/fixture", added=(share,))
    result = check_delta(kb.store, delta)
    assert {(short(f.focus), f.rule.rsplit("/", 1)[1]) for f in result.new_findings} == {
        ("shared-service/it", "AllocationSharesShape")}
    assert result.accepted is False and (result.inserted, result.deleted) == (1, 0)
    allocates = ox.Triple(share.subject, ox.NamedNode("https://kb.quantum-energy.example/def/utility/allocatesCostOf"),
                          ox.NamedNode(ID + "shared-service/it"))
    assert allocates in result.neighbourhood  # what the check read
    assert result.new_findings[0].rule_name == "Allocation shares of a shared cost sum to 100%"
    before = kb.store.count()
    with pytest.raises(GateRefused) as refused:
        kb.apply(delta)
    assert refused.value.details["accepted"] is False
    assert kb.store.count() == before and not kb.store.ask(f"ASK {{ {share} }}")


def test_neighbourhood_gate_reads_the_class_hierarchy(loaded_kb):
    """A stage enabled by an L2 capability meets `sh:class ekb:BusinessCapability` through rdfs:subClassOf: the
    neighbourhood check must carry the ontology's hierarchy, or it refuses a good change."""
    scratch = EmbeddedStore()
    scratch.update(insert("""<urn:stage:x> a ekb:ValueStreamStage ; rdfs:label "Stage X"@en ;
                             ekb:isEnabledBy id:capability/10-2-billing-and-payment-management ."""))
    delta = Delta("https://kb.quantum-energy.example/graph/data/fixture", added=tuple(q.triple for q in scratch.quads()))
    full = check_change(loaded_kb.store, delta.apply)
    local = check_delta(loaded_kb.store, delta)
    assert sorted(f.key for f in local.new_findings) == sorted(f.key for f in full.new_findings)
    assert local.accepted is full.accepted is True and (local.inserted, local.deleted) == (3, 0)


def test_every_rule_has_a_breach_fixture(loaded_kb):
    """The gates are compared rule by rule on these fixtures (here and in test_incremental): none may be missing.
    LegalShape and RegulatoryAffairsShape are not rules (no target): InterfaceOversightShape uses them."""
    rules = {row["s"].value.rsplit("/", 1)[1] for row in loaded_kb.store.select(
        f"SELECT ?s WHERE {{ GRAPH <{SHAPES}> {{ ?s a <http://www.w3.org/ns/shacl#NodeShape> }} }}")}
    assert rules - {rule for _, fired in BREACHES.values() for _, rule in fired} == {"LegalShape", "RegulatoryAffairsShape"}


SHAPES = "https://kb.quantum-energy.example/graph/shapes"
UTIL = "https://kb.quantum-energy.example/def/utility/"
AES = ID + "business-unit/advanced-energy-solutions"
# Changes a rule with a SPARQL constraint judges from further than the neighbourhood check reads: (the store
# before, the change, the finding it adds). A unit's legal-entity finding needs the other unit's label (two links
# away); a person's independent-functioning finding, the scope of the unit a post of theirs is in (two links) and
# the units of their other post (four).
FAR_CHANGES = {
    "label-of-the-other-unit": (
        [BREACHES["separate-legal-entity"][0], delete("id:business-unit/advanced-energy-solutions rdfs:label ?l")],
        ox.Triple(ox.NamedNode(AES), ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label"),
                  ox.Literal("Advanced Energy Solutions", language="en")),
        ("business-unit/regulated-operations", "SeparateLegalEntityShape")),
    "scope-of-a-post-unit": (
        [BREACHES["independent-functioning"][0], delete("id:department/aes-sales-and-marketing util:hasRegulatoryScope ?s")],
        ox.Triple(ox.NamedNode(ID + "department/aes-sales-and-marketing"), ox.NamedNode(UTIL + "hasRegulatoryScope"),
                  ox.NamedNode(UTIL + "NonRegulated")),
        ("urn:person:pat", "IndependentFunctioningShape")),
}


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize("name", sorted(FAR_CHANGES))
def test_a_change_a_far_reaching_rule_reads_is_judged_on_that_rules_reach(name, large):
    """A change two or more links from the focus whose SPARQL rule it breaks (a label of the other unit; the scope of
    the unit above a post) is judged on what that rule reads there, found by walking the rule's own patterns: the
    three-link neighbourhood alone accepts both changes. On a small store and past `gate_full_max_triples` alike."""
    from ekb.config import Settings
    from ekb.errors import GateRefused
    from ekb.kb import KnowledgeBase

    setup, triple, finding = FAR_CHANGES[name]
    kb = KnowledgeBase(Settings(root=ROOT, **({"gate_full_max_triples": 0} if large else {})), EmbeddedStore())
    kb.load()
    for update in setup:
        kb.store.update(update.replace("} } WHERE { GRAPH ?g {", "} } WHERE { FILTER(?g != <urn:x>) GRAPH ?g {"))
    delta = Delta("https://kb.quantum-energy.example/graph/data/fixture", added=(triple,))
    reach = kb._local_reach(delta)
    assert reach is not None and finding[0] in {short(f) for f in reach.foci}
    assert check_delta(kb.store, delta, hub_limit=None).accepted, "the neighbourhood check alone misses it"
    with pytest.raises(GateRefused) as refused:
        kb.apply(delta)
    assert [(short(v["focus"]), v["rule"].rsplit("/", 1)[1]) for v in refused.value.details["newViolations"]] == [finding]
    assert kb.dry_run(delta).accepted is False  # a dry run meets the same gate


def test_the_reach_of_the_rules_decides_the_gate(loaded_kb):
    """`rule_edges`: every shipped SPARQL rule's patterns, joined to `$this`; None (the full gate for every change
    on a small store) when a rule reads in a way its patterns do not bound. `near_exact`: the other rules read
    within three links."""
    from ekb.gate import far_rules, near_exact
    from ekb.rule_reach import rule_edges

    shapes = loaded_kb.store.graph_ntriples(SHAPES)
    edges = rule_edges(shapes)
    assert edges is not None and set(edges) == far_rules(shapes) and len(edges) == 11 and near_exact(shapes)
    separate = edges["https://kb.quantum-energy.example/def/shapes/SeparateLegalEntityShape"]
    assert [e.end.split("@")[0] for e in separate if e.start == "this" and e.path == ("p", "http://www.w3.org/ns/org#unitOf")
            and e.end] == ["entity", "_value0"]  # the query's pattern, and its property shape's path
    shape = (b"<urn:s> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/shacl#NodeShape> .\n"
             b"<urn:s> <http://www.w3.org/ns/shacl#targetClass> <urn:C> .\n")
    sequence = (shape + b"<urn:s> <http://www.w3.org/ns/shacl#property> _:p .\n"
                b"_:p <http://www.w3.org/ns/shacl#path> _:l .\n_:l <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> <urn:a> .\n"
                b"_:l <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> _:m .\n"
                b"_:m <http://www.w3.org/1999/02/22-rdf-syntax-ns#first> <urn:b> .\n"
                b"_:m <http://www.w3.org/1999/02/22-rdf-syntax-ns#rest> <http://www.w3.org/1999/02/22-rdf-syntax-ns#nil> .\n"
                b"_:p <http://www.w3.org/ns/shacl#minCount> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n")
    def sparql(query: str) -> bytes:
        return shape + b"<urn:s> <http://www.w3.org/ns/shacl#sparql> _:q .\n_:q <http://www.w3.org/ns/shacl#select> " + \
            json.dumps(query).encode() + b" .\n"
    assert not near_exact(sequence) and near_exact(shape)
    assert rule_edges(sparql("SELECT $this WHERE { $this ?p ?o }")) is None  # a variable predicate
    assert rule_edges(sparql("SELECT $this WHERE { $this <urn:p> ?o . ?x <urn:q> 1 }")) is None  # ?x not joined
    assert rule_edges(sparql("SELECT $this WHERE { $this <urn:p>* ?o . ?x <urn:q> ?o }")) is not None
    assert rule_edges(sparql("SELECT $this WHERE { $this <urn:p> ?o { SELECT ?o WHERE { ?o <urn:q> ?z } } }")) is None


def test_neighbourhood_gate_accepts_a_good_change(loaded_kb):
    scratch = EmbeddedStore()
    scratch.update(insert("""<urn:system:gis> a ekb:System ; rdfs:label "GIS"@en ;
                             ekb:hasAccountableOwner id:owner/chief-information-officer ."""))
    delta = Delta("https://kb.quantum-energy.example/graph/data/fixture", added=tuple(q.triple for q in scratch.quads()))
    result = check_delta(loaded_kb.store, delta)
    assert result.accepted and result.new_findings == []


def test_a_neighbourhood_write_adds_its_entailments_and_no_copies_of_facts():
    from ekb.config import INFERRED_GRAPH, Settings
    from ekb.kb import KnowledgeBase

    kb = KnowledgeBase(Settings(root=ROOT, gate_full_max_triples=0), EmbeddedStore())
    kb.load()
    scratch = EmbeddedStore()
    scratch.update(insert("""<urn:capability:field-sales> a ekb:L2Capability ; rdfs:label "Field Sales"@en ;
        ekb:hasParentCapability id:capability/10-customer-engagement-and-service ;
        ekb:hasAccountableOwner id:owner/chief-customer-officer ."""))
    delta = Delta("https://kb.quantum-energy.example/graph/data/fixture", added=tuple(q.triple for q in scratch.quads()))
    kb.apply(delta)
    assert kb.store.ask(P + f"""ASK {{ GRAPH <{INFERRED_GRAPH}> {{ <urn:capability:field-sales> ekb:isWithinCapability
        <{ID}capability/10-customer-engagement-and-service> }} }}""")
    assert not kb.store.ask(P + f"""ASK {{ GRAPH <{INFERRED_GRAPH}> {{ ?s ?p ?o }}
        GRAPH ?g {{ ?s ?p ?o }} FILTER(?g != <{INFERRED_GRAPH}>) }}""")
    assert not [g for g in kb.store.graphs() if "/staging/" in g]


def test_the_report_view_is_the_current_store_and_not_redone_until_a_write(monkeypatch):
    """Viewing the report must not re-validate an unchanged store (61 s at 10^6), yet must show every write."""
    import ekb.kb
    from ekb.config import Settings
    from ekb.kb import KnowledgeBase

    kb = KnowledgeBase(Settings(root=ROOT), EmbeddedStore())
    kb.load()
    runs = []
    monkeypatch.setattr(ekb.kb, "validate_store", lambda *args: runs.append(1) or validate_store(*args))
    first = kb.current_report()
    assert kb.current_report() is first and len(runs) <= 1
    definition = next(q.triple for q in kb.store.quads("https://kb.quantum-energy.example/graph/data/systems")
                      if q.subject.value == ID + "system/scada" and q.predicate.value.endswith("core#definition"))
    kb.apply(Delta("https://kb.quantum-energy.example/graph/data/fixture", removed=(definition,)))
    after = kb.current_report()
    assert after is not first
    assert [f.as_json() for f in after.findings] == [f.as_json() for f in validate_store(kb.store).findings]


def test_viewers_arriving_together_wait_for_one_validation(monkeypatch):
    """A cold report on a large store takes a minute: eight viewers must not start eight validations."""
    import threading
    import time

    import ekb.kb
    from ekb.config import Settings
    from ekb.kb import KnowledgeBase

    kb = KnowledgeBase(Settings(root=ROOT), EmbeddedStore())
    kb.load()
    kb._baseline = None
    runs = []

    def slow(*args):
        runs.append(1)
        time.sleep(0.5)
        return validate_store(*args)
    monkeypatch.setattr(ekb.kb, "validate_store", slow)
    reports = []
    viewers = [threading.Thread(target=lambda: reports.append(kb.current_report())) for _ in range(8)]
    for viewer in viewers:
        viewer.start()
    for viewer in viewers:
        viewer.join()
    assert len(runs) == 1 and len({id(r) for r in reports}) == 1


def test_the_history_says_which_findings_are_new_and_which_were_fixed():
    """The council asks what changed since the last recorded run, finding by finding, not only counts."""
    import dataclasses

    from ekb.config import Settings
    from ekb.kb import KnowledgeBase

    kb = KnowledgeBase(Settings(root=ROOT), EmbeddedStore())
    kb.load()
    assert kb.since_last_run(kb.current_report()) is None, "no run recorded yet"
    recorded = kb.validate(record=True)
    assert recorded.findings and kb.since_last_run(recorded) == ([], [])
    update, expected = BREACHES["system-with-two-owners"]
    kb.store.update(update)  # past the gate: the breach is what the next run must call new
    new, fixed = kb.since_last_run(validate_store(kb.store))
    assert {(short(f.focus), f.rule.rsplit("/", 1)[1]) for f in new} == expected and fixed == []
    fewer = dataclasses.replace(recorded, findings=recorded.findings[1:])
    assert kb.since_last_run(fewer) == ([], [recorded.findings[0]]), "a fixed finding comes back as it was written"


def test_a_served_knowledge_base_keeps_its_first_report_before_anyone_asks():
    """`ekb serve` validates once in the background as it starts: the first page to show the report reads it."""
    import time

    from tests.conftest import EkbServe

    server = EkbServe()
    try:
        deadline = time.monotonic() + 60
        while "governance report kept" not in server.stderr() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "governance report kept: 30 finding(s)" in server.stderr()
        report = web.get(server.url + "/governance/report", headers={"Accept": "application/json"}).json()
        assert len(report["findings"]) == 30
    finally:
        server.stop()


def test_the_closure_of_triples_in_memory_is_the_stores(loaded_kb):
    """The gate validates a neighbourhood held in memory with `closure_triples`: the same inverse and sub-property
    closure `closure_ntriples` adds to a store's data graphs (a fact stated either way is seen by the rules)."""
    from ekb.closure import closure_ntriples
    from ekb.config import is_data_graph
    from ekb.validation import closure_triples

    data = {q.triple for q in loaded_kb.store.quads() if is_data_graph(q.graph_name.value)}
    expected = {q.triple for q in ox.parse(closure_ntriples(loaded_kb.store), format=ox.RdfFormat.N_TRIPLES)}
    assert len(expected) > 100 and closure_triples(data) == expected
