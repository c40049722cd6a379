"""The knowledge model: hygiene of the ontology, completeness against the seeds, useful entailments."""

from __future__ import annotations

import pytest

from ekb.config import ID, INFERRED_GRAPH, ONTOLOGY_GRAPH, sparql_prologue
from ekb.gate import check_change
from ekb.library import QueryLibrary
from ekb.loader import discover, parse_file
from ekb.reasoning import OwlrlReasoner, ReasonableReasoner, entailments
from ekb.validation import validate_store
from tests.conftest import ROOT

P = sparql_prologue()
OUR_TERMS = "FILTER(STRSTARTS(STR(?t), 'https://kb.quantum-energy.example/def/'))"


def curated(name: str):
    """A query of the curated library (queries/), as the API runs it."""
    return QueryLibrary(ROOT / "queries").get(name)


def labels(kb, query: str) -> set[str]:
    return {row["label"].value for row in kb.store.select(P + query)}


def test_every_term_is_labelled_and_defined(loaded_kb):
    rows = loaded_kb.store.select(P + f"""SELECT ?t WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{
        VALUES ?kind {{ owl:Class owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty }}
        ?t a ?kind . {OUR_TERMS}
        FILTER NOT EXISTS {{ ?t rdfs:label ?l ; skos:definition ?d ; rdfs:isDefinedBy ?o }} }} }}""")
    assert rows == []


def test_no_two_terms_share_a_label(loaded_kb):
    rows = loaded_kb.store.select(P + f"""SELECT ?l (COUNT(DISTINCT ?t) AS ?n) WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{
        ?t rdfs:label ?l . {OUR_TERMS} }} }} GROUP BY ?l HAVING (COUNT(DISTINCT ?t) > 1)""")
    assert rows == []


def test_every_individual_is_typed_and_every_project_iri_is_described(loaded_kb):
    rows = loaded_kb.store.select(P + """SELECT DISTINCT ?x WHERE {
        { ?s ?p ?x } UNION { ?x ?p ?o }
        FILTER(isIRI(?x) && STRSTARTS(STR(?x), "https://kb.quantum-energy.example/"))
        FILTER(!STRSTARTS(STR(?x), "https://kb.quantum-energy.example/graph/"))
        FILTER NOT EXISTS { ?x a ?type }
        FILTER NOT EXISTS { ?x a owl:Ontology } }""")
    # Ontology version IRIs name versions, not things.
    assert [r["x"].value for r in rows if "/0.1.0" not in r["x"].value] == []


def test_every_module_has_ontology_metadata(loaded_kb):
    rows = loaded_kb.store.select(P + """SELECT ?o WHERE { ?o a owl:Ontology .
        FILTER NOT EXISTS { ?o dcterms:title ?t ; dcterms:description ?d ;
                            owl:versionIRI ?v ; dcterms:license ?l } }""")
    assert rows == []
    assert len(loaded_kb.store.select(P + "SELECT ?o WHERE { ?o a owl:Ontology }")) == 5


SEED_VALUE_STREAMS = {"Electric Energy Delivery", "Rate Case & Cost Recovery", "Smart Home Solution Delivery",
                      "EV Charging Deployment", "Enterprise Strategic Planning", "Talent Management"}
SEED_ENTITIES = {
    "Customer Account", "Customer Profile", "Premise", "Service Agreement", "Billing & Payment History",
    "Interaction History", "Non-Regulated Product Data", "Meter Point", "Meter Reading", "Consumption Profile",
    "Generation Data", "DER Data", "Asset", "Asset Type", "Asset Location", "Asset Attributes", "Maintenance History",
    "Performance Data", "Grid State", "Pipeline State", "Outage Event", "Work Order", "Crew Dispatch", "DER Dispatch",
    "Financial Transaction", "Budget & Forecast", "Tariff/Rate Schedule", "Regulatory Filing", "Cost Allocation",
    "Compliance Record", "Product Definition", "Market Segment", "Competitor Profile", "Sales Opportunity",
    "Marketing Campaign"}
SEED_SYSTEMS = {"SCADA", "ADMS", "OMS", "Gas Pipeline Management System", "Asset Management System (AMS)",
                "Customer Information System (CIS)", "Smart Home Management Platform", "EV Charging Network Platform",
                "DER Aggregation Platform", "AES CRM", "AES E-commerce Platform", "ERP (Finance, HR, Procurement)",
                "Enterprise Data Platform", "Cybersecurity Platform"}
SEED_UNITS = {"Regulated Operations", "Advanced Energy Solutions", "Enterprise Services"}
SEED_BODIES = {"Executive Leadership Team (ELT)", "BA Steering Committee", "Data Governance Council", "BA Review Board",
               "IT Leadership"}
SEED_PARTNERS = {"Regulated Suppliers", "Non-Regulated Technology Partners", "Channel Partners",
                 "Academic/Research Partners"}
SEED_PRINCIPLES = {"Safety First, Always", "Customer-Centric", "Integrated Execution", "Data-Driven Decision Making",
                   "Continuous Improvement", "Regulatory Adherence", "Ethical Market Conduct"}
SEED_INTERFACES = {"Customer Interface", "Operational Interface", "Financial & Legal Interface", "Data Interface"}
SEED_DOMAINS = {"Customer Information Domain", "Energy Consumption & Metering Data Domain",
                "Asset & Infrastructure Information Domain", "Operational Information Domain",
                "Financial & Regulatory Information Domain", "Product & Market Information Domain"}
SEED_SERVICES = {"IT Services", "HR Services", "Finance Services", "Legal Services", "Procurement Services"}


@pytest.mark.parametrize("cls,expected", [
    ("ekb:ValueStream", SEED_VALUE_STREAMS), ("ekb:InformationEntity", SEED_ENTITIES | {"Customer"}),
    ("ekb:System", SEED_SYSTEMS | {"Meter Data Management System (MDMS)"}), ("ekb:BusinessUnit", SEED_UNITS),
    ("ekb:GovernanceBody", SEED_BODIES), ("ekb:Partner", SEED_PARTNERS), ("ekb:Principle", SEED_PRINCIPLES),
    ("ekb:Interface", SEED_INTERFACES), ("ekb:InformationDomain", SEED_DOMAINS), ("ekb:SharedService", SEED_SERVICES)])
def test_every_seed_thing_is_present_with_its_source(loaded_kb, cls, expected):
    found = labels(loaded_kb, f"SELECT ?label WHERE {{ ?x a {cls} ; rdfs:label ?label ; dcterms:source ?s }}")
    assert found == expected


def test_objectives_and_governance_mechanism(loaded_kb):
    assert len(labels(loaded_kb, "SELECT ?label WHERE { ?x a ekb:Objective ; rdfs:label ?label }")) == 7
    assert labels(loaded_kb, "SELECT ?label WHERE { ?x a ekb:GovernanceMechanism ; rdfs:label ?label }") == {
        "Regular Performance Reviews"}


def test_capability_numbers_used_by_the_seeds(loaded_kb):
    rows = loaded_kb.store.select(P + """SELECT ?n ?label WHERE { ?c a ekb:L1Capability ; skos:notation ?n ;
        rdfs:label ?label }""")
    by_number = {r["n"].value: r["label"].value for r in rows}
    assert by_number["3"] == "Legal" and by_number["8"] == "Electric Distribution"
    assert by_number["10"] == "Customer Engagement & Service"
    assert by_number["13"] == "System Operations & Grid Control" and by_number["18"] == "Regulatory Affairs"


def test_class_diagram_classes_and_relationships(loaded_kb):
    rows = loaded_kb.store.select(P + "SELECT ?c WHERE { ?c a owl:Class }")
    classes = {r["c"].value.rsplit("/", 1)[1] for r in rows}
    assert {"Customer", "CustomerAccount", "Premise", "ServiceAgreement", "Product", "MeterPoint", "MeterReading",
            "Asset", "OutageEvent", "FinancialTransaction", "RegulatoryFiling", "ComplianceRecord"} <= classes
    rows = loaded_kb.store.select(P + """SELECT ?line ?dm ?rm WHERE { ?p ekb:diagramRelationship ?line ;
        ekb:domainMultiplicity ?dm ; ekb:rangeMultiplicity ?rm }""")
    lines = {r["line"].value: (r["dm"].value, r["rm"].value) for r in rows}
    assert len(lines) == 10
    assert lines['CustomerAccount "1" -- "1" Premise : at'] == ("1", "1")
    assert lines['RegulatoryFiling "N" -- "N" RegulatoryComplianceRecord : includes'] == ("N", "N")


def test_seed_inconsistencies_are_recorded(loaded_kb):
    notes = labels(loaded_kb, "SELECT ?label WHERE { ?t skos:editorialNote ?n ; rdfs:label ?label }")
    assert {"is at premise", "regulatory compliance record", "customer"} <= notes


def test_entailment_capability_under_l1_10(loaded_kb):
    rows = loaded_kb.store.select(P + """SELECT ?label WHERE { ?l1 skos:notation "10" .
        ?c ekb:isWithinCapability ?l1 ; rdfs:label ?label } ORDER BY ?label""")
    assert [r["label"].value for r in rows] == [
        "Billing & Payment Management", "Consent & Preference Management", "Customer Account Management",
        "Customer Contact & Inquiry Routing", "Digital Customer Experience"]


def test_entailments_inverse_links_and_classes(loaded_kb):
    store = loaded_kb.store
    assert store.ask(P + f"""ASK {{ GRAPH <{INFERRED_GRAPH}> {{
        <{ID}customer-account/a-5001> info:isAccountOf <{ID}customer/c-1001> }} }}""")
    assert store.ask(P + f"""ASK {{ GRAPH <{INFERRED_GRAPH}> {{
        <{ID}capability/10-2-billing-and-payment-management> a ekb:BusinessCapability }} }}""")
    assert store.ask(P + f"""ASK {{ GRAPH <{INFERRED_GRAPH}> {{
        <{ID}system/scada> ekb:touchesInformation <{ID}information-entity/grid-state> }} }}""")


def test_model_is_consistent(loaded_kb):
    assert not loaded_kb.store.ask(P + "ASK { ?x a owl:Nothing }")
    assert not loaded_kb.store.ask(P + "ASK { ?a owl:disjointWith ?b . ?x a ?a, ?b }")


def test_every_fact_is_sourced_or_assumed_by_one_query(loaded_kb):
    rows = loaded_kb.store.select(P + """SELECT ?kind (COUNT(DISTINCT ?x) AS ?n) WHERE {
        ?x dcterms:source ?s . FILTER(STRSTARTS(STR(?x), STR(id:)))
        BIND(IF(?s = <https://kb.quantum-energy.example/id/source/assumption>, "assumed", "sourced") AS ?kind)
        } GROUP BY ?kind""")
    counts = {r["kind"].value: int(r["n"].value) for r in rows}
    assert counts["sourced"] > 100 and counts["assumed"] > 100
    unsourced = loaded_kb.store.select(P + """SELECT ?x WHERE { ?x a ?c . FILTER(STRSTARTS(STR(?x), STR(id:)))
        FILTER(!STRSTARTS(STR(?x), CONCAT(STR(id:), "source/")))
        FILTER NOT EXISTS { ?x dcterms:source ?s } FILTER NOT EXISTS { ?x a skos:ConceptScheme } }""")
    assert [r["x"].value for r in unsourced] == []


def test_every_capability_value_stream_system_and_entity_has_one_accountable_owner(loaded_kb):
    rows = loaded_kb.store.select(P + """SELECT ?x (COUNT(?o) AS ?n) WHERE {
        VALUES ?c { ekb:BusinessCapability ekb:ValueStream ekb:System ekb:InformationEntity } ?x a ?c .
        OPTIONAL { ?x ekb:hasAccountableOwner ?o } } GROUP BY ?x HAVING (COUNT(?o) != 1)""")
    assert rows == []


def test_fast_reasoner_agrees_with_owlrl_on_instance_data(settings):
    triples = [t for s in discover(settings) if s.kind != "shapes" for t in parse_file(s.path)]
    fast = {t for t in entailments(triples, ReasonableReasoner()) if t.subject.value.startswith(ID)}
    reference = {t for t in entailments(triples, OwlrlReasoner()) if t.subject.value.startswith(ID)}
    assert fast == reference and len(fast) > 1000


def test_every_individual_has_one_label_and_at_most_one_definition(loaded_kb):
    """JSON-LD documents promise a plain string for both keys."""
    rows = loaded_kb.store.select(P + """SELECT ?x WHERE { ?x ?p ?o . FILTER(STRSTARTS(STR(?x), STR(id:)))
        OPTIONAL { ?x rdfs:label ?l } OPTIONAL { ?x skos:definition ?d } }
        GROUP BY ?x HAVING (COUNT(DISTINCT ?l) != 1 || COUNT(DISTINCT ?d) > 1)""")
    assert [r["x"].value for r in rows] == []


# ---------------------------------------------------------------------------------------------------------------
# The seeds, completely (issue 17, item 4)
# ---------------------------------------------------------------------------------------------------------------

SYSTEM_GROUPS = {  # operating model 2.3, group by group
    "core-utility-systems": {"SCADA", "ADMS", "OMS", "Gas Pipeline Management System",
                             "Asset Management System (AMS)", "Customer Information System (CIS)"},
    "non-regulated-platforms": {"Smart Home Management Platform", "EV Charging Network Platform",
                                "DER Aggregation Platform", "AES CRM", "AES E-commerce Platform"},
    "enterprise-platforms": {"ERP (Finance, HR, Procurement)", "Enterprise Data Platform", "Cybersecurity Platform"}}


@pytest.mark.parametrize("group", sorted(SYSTEM_GROUPS))
def test_each_system_group_holds_exactly_the_seed_systems(loaded_kb, group):
    text = curated("systems-in-group").bind({"group": f"{ID}system-group/{group}"})
    assert {r["label"].value for r in loaded_kb.store.select(text)} == SYSTEM_GROUPS[group]
    assert loaded_kb.store.ask(P + f"ASK {{ <{ID}system-group/{group}> a ekb:SystemGroup ; "
                                   "dcterms:source <https://kb.quantum-energy.example/id/source/operating-model-2.3> }")


def test_an_assumed_system_is_in_no_seed_group_and_ot_it_is_stated_for_the_core_systems(loaded_kb):
    assert not loaded_kb.store.ask(P + f"ASK {{ <{ID}system/mdms> ekb:isInSystemGroup ?g }}")
    rows = loaded_kb.store.select(P + """SELECT ?label ?kind WHERE { ?s ekb:hasTechnologyKind ?k ; rdfs:label ?label .
        ?k skos:notation ?kind }""")
    kinds = {r["label"].value: r["kind"].value for r in rows}
    assert set(kinds) == SYSTEM_GROUPS["core-utility-systems"] and set(kinds.values()) == {"OT", "IT"}


def test_master_data_designations_are_facts_on_the_entities(loaded_kb):
    found = labels(loaded_kb, """SELECT ?label WHERE { ?e a ekb:MasterDataEntity ; rdfs:label ?label ;
        dcterms:source <https://kb.quantum-energy.example/id/source/operating-model-2.4> }""")
    assert found == {"Customer", "Premise", "Asset", "Product Definition"}


def test_objectives_and_principles_belong_to_the_operating_model(loaded_kb):
    rows = loaded_kb.store.select(P + """SELECT ?holder (COUNT(DISTINCT ?o) AS ?n) (COUNT(DISTINCT ?p) AS ?m) WHERE {
        { ?holder ekb:hasObjective ?o } UNION { ?holder ekb:hasPrinciple ?p } } GROUP BY ?holder""")
    assert [(r["holder"].value, int(r["n"].value), int(r["m"].value)) for r in rows] == [
        (f"{ID}operating-model/quantum-energy", 7, 7)]
    assert loaded_kb.store.ask(P + f"ASK {{ <{ID}operating-model/quantum-energy> a ekb:OperatingModel }}")


def test_document_control_is_verbatim(loaded_kb):
    rows = loaded_kb.store.select(P + """SELECT ?doc ?p ?v WHERE { ?doc a ekb:SourceDocument ; ?p ?v .
        VALUES ?p { ekb:nextReview ekb:authorStatement ekb:reviewerStatement ekb:approvalStatement
                    ekb:versionHistoryEntry } }""")
    found = {(r["doc"].value.rsplit("/", 1)[1], r["p"].value.rsplit("/", 1)[1], r["v"].value) for r in rows}
    assert found == {
        ("operating-model", "nextReview", "Annually or upon significant strategic/organizational changes"),
        ("operating-model", "authorStatement", "Quantum Energy Strategic Planning, Operations, BA Teams"),
        ("operating-model", "reviewerStatement", "Executive Leadership Team, BA Steering Committee"),
        ("operating-model", "approvalStatement", "Chief Executive Officer (CEO)"),
        ("operating-model", "versionHistoryEntry", "v1.0 (2025-11-25): Initial Quantum Energy Operating Model document."),
        ("business-information-model", "nextReview",
         "Annually or upon significant changes to business operations or data strategy"),
        ("business-information-model", "authorStatement", "Quantum Energy Business Architecture Team"),
        ("business-information-model", "reviewerStatement",
         "Enterprise Architecture, Data Governance Council, IT Leadership, Legal & Regulatory, BA Review Board"),
        ("business-information-model", "approvalStatement", "Chief Data Officer, Chief Information Officer"),
        ("business-information-model", "versionHistoryEntry",
         "v1.0 (2025-11-25): Initial high-level conceptual Business Information Model for Quantum Energy.")}


@pytest.mark.parametrize("thing", [
    "document/operating-model",  # its creators, as units of the model
    "governance-body/it-leadership",  # its chair and what it oversees
    "document/business-information-model",  # "Legal & Regulatory" split into two departments
    "operating-model/quantum-energy",  # its accountable owner
    "legal-entity/quantum-energy-inc"])
def test_invented_facts_carry_an_assumption_note(loaded_kb, thing):
    assert loaded_kb.store.ask(P + f"ASK {{ <{ID}{thing}> ekb:assumptionNote ?n }}")


def test_real_world_regulations_are_marked_as_assumed_examples(loaded_kb):
    rows = loaded_kb.store.select(P + """SELECT ?r WHERE { ?r a ekb:SourceDocument .
        FILTER(STRSTARTS(STR(?r), "https://kb.quantum-energy.example/id/source/regulation-"))
        FILTER NOT EXISTS { ?r ekb:assumptionNote ?n ;
                               dcterms:source <https://kb.quantum-energy.example/id/source/assumption> } }""")
    assert rows == []
    assert len(loaded_kb.store.select(P + """SELECT ?r WHERE { ?r a ekb:SourceDocument .
        FILTER(STRSTARTS(STR(?r), "https://kb.quantum-energy.example/id/source/regulation-")) }""")) == 8


# ---------------------------------------------------------------------------------------------------------------
# Provenance per statement: a named graph per provenance (ontology/README.md, "Sourced and assumed facts")
# ---------------------------------------------------------------------------------------------------------------

ASSUMPTION = "https://kb.quantum-energy.example/id/source/assumption"
ASSUMED_GRAPH = "https://kb.quantum-energy.example/graph/data/assumed-statements"


def test_assumed_statements_are_about_sourced_things_that_say_so(loaded_kb):
    """Every subject in the graph of assumed statements is a thing a seed section describes, and carries the
    assumption note that says in words what is assumed about it."""
    rows = loaded_kb.store.select(P + f"""SELECT DISTINCT ?s WHERE {{ GRAPH <{ASSUMED_GRAPH}> {{ ?s ?p ?o }}
        FILTER NOT EXISTS {{ ?s ekb:assumptionNote ?n ; dcterms:source ?seed . FILTER(?seed != <{ASSUMPTION}>) }} }}""")
    assert [r["s"].value for r in rows] == []
    assert not loaded_kb.store.ask(P + f"""ASK {{ GRAPH <{ASSUMED_GRAPH}> {{ ?s ?p ?o }}
        VALUES ?p {{ rdf:type dcterms:source ekb:assumptionNote }} }}"""), "a thing's type and sources stay with it"


def test_every_sourced_thing_with_an_assumption_note_has_its_assumed_statements_apart(loaded_kb):
    """The note says in words which facts are assumed; the graph holds those statements. The capability map's
    note is about its content, the capabilities, which are resources of their own."""
    rows = loaded_kb.store.select(P + f"""SELECT DISTINCT ?x WHERE {{ ?x ekb:assumptionNote ?n ; dcterms:source ?s .
        FILTER(?s != <{ASSUMPTION}>) FILTER NOT EXISTS {{ GRAPH <{ASSUMED_GRAPH}> {{ ?x ?p ?o }} }} }}""")
    assert {r["x"].value for r in rows} == {f"{ID}capability-map/quantum-energy"}


def test_assumed_statements_query_lists_the_statements_not_the_sourced_ones(loaded_kb):
    text = curated("assumed-statements").bind({})
    found = {(r["label"].value, r.get("propertyLabel", r["property"]).value, r.get("valueLabel", r["value"]).value)
             for r in loaded_kb.store.select(text)}
    assert ("IT Leadership", "has accountable owner", "Chief Information Officer") in found
    assert ("Enterprise Business Information Model - Conceptual", "is reviewed by", "Regulatory Affairs") in found
    assert ("SCADA", "has technology kind", "Operational technology (OT)") in found
    # sourced statements of the same things are not listed
    assert not {f for f in found if f[0] == "SCADA" and f[1] in ("is in system group", "has regulatory scope")}
    assert ("Enterprise Business Information Model - Conceptual", "is reviewed by", "Data Governance Council") \
        not in found


def test_sourced_versus_assumed_reports_a_note_as_an_assumption(loaded_kb):
    text = curated("sourced-versus-assumed").bind({})
    status = {r["thing"].value: r["status"].value for r in loaded_kb.store.select(text)}
    noted = {r["x"].value for r in loaded_kb.store.select(P + """SELECT DISTINCT ?x WHERE { ?x ekb:assumptionNote ?n ;
        dcterms:source ?s }""")}
    assert noted and {status[x] for x in noted} <= {"sourced, with assumptions", "assumed"}
    assert status[f"{ID}governance-body/it-leadership"] == "sourced, with assumptions"
    assert status[f"{ID}principle/safety-first-always"] == "sourced"
    assert status[f"{ID}source/regulation-iowa-476-78"] == "assumed"


# ---------------------------------------------------------------------------------------------------------------
# Value lists of the information model, enforced (must-fail fixtures)
# ---------------------------------------------------------------------------------------------------------------

VALUE_LISTS = [  # (focus, property, bad value, shape)
    ("premise/p-2001", "info:serviceType", '"Solar"', "PremiseShape"),
    ("meter-point/mp-3001", "info:meterPointType", '"Steam"', "MeterPointShape"),
    ("meter-reading/r-1", "info:readingType", '"Hourly"', "MeterReadingShape"),
    ("record/ft-9001", "info:transactionType", '"Refund"', "FinancialTransactionShape")]


@pytest.fixture(scope="module")
def baseline(loaded_kb):
    return validate_store(loaded_kb.store)


@pytest.mark.parametrize(("focus", "prop", "bad", "shape"), VALUE_LISTS)
def test_a_value_outside_the_information_models_list_is_a_violation(loaded_kb, baseline, focus, prop, bad, shape):
    subject = ID + focus
    assert loaded_kb.store.ask(P + f"ASK {{ <{subject}> {prop} ?v }}"), "the fixture changes a value the model has"
    update = P + f"""DELETE {{ GRAPH ?g {{ <{subject}> {prop} ?v }} }} WHERE {{ GRAPH ?g {{ <{subject}> {prop} ?v }} }} ;
        INSERT DATA {{ GRAPH <https://kb.quantum-energy.example/graph/data/fixture> {{ <{subject}> {prop} {bad} }} }}"""
    result = check_change(loaded_kb.store, lambda store: store.update(update), baseline=baseline)
    fired = {(f.focus, f.rule.rsplit("/", 1)[1], f.constraint.rsplit("#", 1)[-1].rsplit(":", 1)[-1]) for f in result.new_findings}
    assert (subject, shape, "InConstraintComponent") in fired and not result.accepted
