"""The curated query library: every question answered correctly on the Quantum Energy data, over HTTP on
both backends and from the command line, and no parameter value can inject SPARQL."""

from __future__ import annotations

import csv
import io

import pytest

from ekb.errors import InputError
from tests import web
from tests.conftest import ROOT
from tests.test_cli import ekb

ID = "https://kb.quantum-energy.example/id/"


def rows(api, name: str, **params) -> list[dict[str, str]]:
    response = web.get(f"{api.url}/queries/{name}", params=params, headers={"Accept": "text/csv"}, timeout=30)
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def test_capabilities_touching_an_entity_with_owners(api):
    found = {(r["number"], r["how"], r["ownerLabel"]) for r in
             rows(api, "capabilities-touching-entity", entity=ID + "information-entity/meter-reading")}
    assert found == {("10.2", "uses", "Chief Customer Officer"), ("12.3", "creates", "VP Field Operations"),
                     ("15.1", "governs", "Chief Data Officer"), ("15.3", "uses", "Chief Data Officer"),
                     ("15.4", "creates", "Chief Data Officer")}


def test_owners_of_an_element(api):
    found = rows(api, "owners-of", element=ID + "information-entity/meter-reading")
    assert {(r["role"], r["ownerLabel"]) for r in found} == {("accountable", "Chief Data Officer"),
                                                             ("data steward", "Metering Data Steward")}


def test_capability_tree_under_l1(api):
    found = rows(api, "capability-tree", number="18")
    assert [r["number"] for r in found] == ["18", "18.1", "18.2", "18.3", "18.4"]
    assert {r["ownerLabel"] for r in found} == {"VP Regulatory Affairs"}


def test_value_stream_stages(api):
    found = rows(api, "value-stream-stages", valuestream=ID + "value-stream/electric-energy-delivery")
    assert [r["order"] for r in found] == ["1", "1", "2", "2", "3", "3", "4", "4", "5", "5", "5"]
    bill = next(r for r in found if r["capabilityLabel"] == "Billing & Payment Management")
    assert bill["systems"] == "Customer Information System (CIS)"


def test_system_outage_impact(api):
    found = rows(api, "system-outage-impact", system=ID + "system/cis")
    assert {r["capabilityLabel"] for r in found} == {"Billing & Payment Management", "Customer Account Management"}
    assert {r["valueStreamLabel"] for r in found} == {"Electric Energy Delivery", "Rate Case & Cost Recovery", ""}
    assert {r["servingUnitLabel"] for r in found} == {"Regulated Operations", ""}
    assert {r["performerLabel"] for r in found} == {"Customer Care"}
    assert {r["businessUnitLabel"] for r in found} == {"Enterprise Services"}


def test_regulated_data_used_by_non_regulated_is_covered(api):
    found = rows(api, "regulated-data-used-by-non-regulated")
    assert len(found) == 9
    assert all(r["agreement"] for r in found)
    consent = {r["entityLabel"]: r["consentRequired"] for r in found}
    assert consent["Customer Profile"] == "true" and consent["Grid State"] == "false"


def test_shared_services_by_unit(api):
    found = rows(api, "shared-services-by-unit", unit=ID + "business-unit/advanced-energy-solutions")
    assert {r["serviceLabel"] for r in found} == {"IT Services", "HR Services", "Finance Services", "Legal Services",
                                                 "Procurement Services"}
    it = next(r for r in found if r["serviceLabel"] == "IT Services")
    assert it["methodLabel"] == "Cost-causation allocator: IT service usage" and it["share"] == "0.22"
    assert len(rows(api, "shared-services-by-unit")) == 10


def test_capability_gaps(api):
    found = rows(api, "capability-gaps")
    assert {r["gap"] for r in found} == {"no supporting system"}
    assert "18.1" in {r["number"] for r in found} and "10.2" not in {r["number"] for r in found}


def test_entities_by_domain_with_stewards(api):
    found = rows(api, "entities-by-domain", domain=ID + "information-domain/operational")
    assert {r["entityLabel"] for r in found} == {"Grid State", "Pipeline State", "Outage Event", "Work Order",
                                                "Crew Dispatch", "DER Dispatch"}
    assert {r["stewardLabel"] for r in found} == {"Operational Data Steward"}
    assert len(rows(api, "entities-by-domain")) == 36


def test_interfaces_and_governing_capabilities(api):
    found = rows(api, "interfaces")
    oversight = {(r["interfaceLabel"], r["number"]) for r in found if r["role"] == "oversees"}
    assert ("Financial & Legal Interface", "3") in oversight and ("Financial & Legal Interface", "18") in oversight
    assert {r["interfaceLabel"] for r in found} == {"Customer Interface", "Operational Interface",
                                                   "Financial & Legal Interface", "Data Interface"}


def test_governance_oversight(api):
    found = rows(api, "governance-oversight")
    council = {r["elementLabel"] for r in found if r["bodyLabel"] == "Data Governance Council"}
    assert "Customer Information Domain" in council and "DSA: customer insight for AES offers" in council


def test_text_search_paginates(api):
    first = web.get(f"{api.url}/queries/search", params={"text": "meter"}, headers={"Accept": "text/csv"})
    labels = [r["label"] for r in csv.DictReader(io.StringIO(first.text))]
    assert "Meter Reading" in labels and "meter point" in labels
    assert len(labels) < 50 and "link" not in first.headers  # one page: no `next` for a client to follow forever
    page, pages = 1, []
    while True:  # a client that follows `next` stops, having seen every row once
        answer = web.get(f"{api.url}/queries/search", params={"text": "e", "page": page}, headers={"Accept": "text/csv"})
        pages.append([r["thing"] for r in csv.DictReader(io.StringIO(answer.text))])
        if 'rel="next"' not in answer.headers.get("link", ""):
            break
        page += 1
    assert len(pages) > 1 and all(len(p) == 50 for p in pages[:-1]) and 0 < len(pages[-1]) <= 50
    unpaged = (ROOT / "queries" / "search.rq").read_text().replace("?_text", '"e"')
    everything = web.get(f"{api.url}/sparql", params={"query": unpaged}, headers={"Accept": "text/csv"})
    assert sum(map(len, pages)) == len(list(csv.DictReader(io.StringIO(everything.text))))


def test_a_page_and_whether_another_follows_take_one_evaluation(api, monkeypatch):
    asked = []
    sparql = api.kb.sparql
    monkeypatch.setattr(api.kb, "sparql", lambda text, *a, **k: asked.append(text) or sparql(text, *a, **k))
    for accept in ("text/csv", "application/sparql-results+xml", "text/html"):
        answer = web.get(f"{api.url}/queries/search", params={"text": "e", "page": 2}, headers={"Accept": accept})
        assert answer.status_code == 200 and 'rel="next"' in answer.headers["link"], answer.text[:300]
    assert len(asked) == 3 and all("LIMIT 51 OFFSET 50" in text for text in asked)


def test_sourced_versus_assumed(api):
    found = rows(api, "sourced-versus-assumed")
    status = {r["label"]: r["status"] for r in found}
    assert status["Safety First, Always"] == "sourced"
    assert status["Rate Case Management"] == "assumed"
    assert status["Legal"] == "sourced, with assumptions"


def test_bad_parameters_are_refused_without_running(api):
    missing = web.get(f"{api.url}/queries/owners-of")
    assert missing.status_code == 400 and "needs the parameter element" in missing.json()["message"]
    bad_iri = web.get(f"{api.url}/queries/owners-of", params={"element": "x> } ; DROP ALL ; <y"})
    assert bad_iri.status_code == 400
    assert web.get(f"{api.url}/queries/owners-of", params={"element": ID, "nope": "1"}).status_code == 400
    assert web.get(f"{api.url}/queries/no-such-query").status_code == 404


@pytest.mark.parametrize("attack", ['18" } UNION { ?l1 ?p ?o', "18\\\" . ?x ?y ?z #", "'''", "18\n} #"])
def test_literal_parameters_cannot_change_the_query(api, attack):
    assert rows(api, "capability-tree", number=attack) == []
    assert rows(api, "search", text=attack) == []


def test_named_query_from_the_command_line():
    result = ekb("query", "capability-tree", "--number", "18", "--format", "csv")
    assert result.returncode == 0, result.stderr
    assert [line.split(",")[1] for line in result.stdout.strip().splitlines()[1:]] == [
        "18", "18.1", "18.2", "18.3", "18.4"]
    bad = ekb("query", "owners-of", "--element", "not an iri")
    assert bad.returncode == 1 and "not an absolute IRI" in bad.stderr


def test_binding_rejects_bad_typed_values(loaded_kb):
    from ekb.library import Parameter

    typed = Parameter("n", "_n_integer", "typed", "http://www.w3.org/2001/XMLSchema#integer")
    assert str(typed.term("42")) == '"42"^^<http://www.w3.org/2001/XMLSchema#integer>'
    with pytest.raises(InputError, match="not a valid xsd:integer"):
        typed.term("42 } ")


def test_a_browser_gets_a_table_that_links_onward(api):
    page = web.get(f"{api.url}/queries/owners-of", params={"element": ID + "system/scada"},
                     headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<table class="results">' in page.text and 'href="/id/owner/vp-system-operations"' in page.text
    assert "1 row." in page.text
    assert web.get(f"{api.url}/queries/owners-of", params={"element": ID + "system/scada", "format": "html"}
                     ).headers["content-type"].startswith("text/html")
    plain = web.get(f"{api.url}/queries/owners-of", params={"element": ID + "system/scada"})
    assert plain.headers["content-type"].startswith("application/sparql-results+json")


def test_capability_gaps_finds_a_missing_owner_and_a_missing_system():
    """Each branch of the query's UNION binds the capability it tests: a capability without an owner is
    reported (the owner branch once tested an unbound variable and could never report one)."""
    import pyoxigraph as ox

    from ekb.library import QueryLibrary

    store = ox.Store()
    store.load(b"""@prefix ekb: <https://kb.quantum-energy.example/def/core/> .
        @prefix skos: <http://www.w3.org/2004/02/skos/core#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
        <urn:c:owned> a ekb:BusinessCapability ; skos:notation "1.1" ; rdfs:label "Owned" ; ekb:capabilityLevel 2 ;
            ekb:hasAccountableOwner <urn:o:1> .
        <urn:s:1> ekb:supportsCapability <urn:c:owned> .
        <urn:c:orphan> a ekb:BusinessCapability ; skos:notation "1.2" ; rdfs:label "Orphan" ; ekb:capabilityLevel 2 .""",
               format=ox.RdfFormat.TURTLE)
    text = QueryLibrary(ROOT / "queries").get("capability-gaps").bind({})
    rows = {(r["capability"].value, r["gap"].value) for r in store.query(text)}
    assert rows == {("urn:c:orphan", "no accountable owner"), ("urn:c:orphan", "no supporting system")}
