"""A synthetic Quantum Energy at any scale: the shipped model grown by generated capabilities, systems,
information entities, owners, value streams, data-sharing agreements and operational records.

Deterministic for a seed; conforms to the shapes except for a planted, counted set of violations (written to
the manifest), so a benchmark can check that every engine finds exactly those.

    python -m bench.generate --triples 1000000 --output bench/data/qe-1e6.nt
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ID = "https://kb.quantum-energy.example/id/"
EKB = "https://kb.quantum-energy.example/def/core/"
UTIL = "https://kb.quantum-energy.example/def/utility/"
INFO = "https://kb.quantum-energy.example/def/info/"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
DEFINITION = "<http://www.w3.org/2004/02/skos/core#definition>"
NOTATION = "<http://www.w3.org/2004/02/skos/core#notation>"
SOURCE = "<http://purl.org/dc/terms/source>"
XSD = "http://www.w3.org/2001/XMLSchema#"
ASSUMED = f"<{ID}source/assumption>"
L1S = [("1", "1-strategy-and-enterprise-planning", "chief-strategy-officer", "Shared"),
       ("8", "8-electric-distribution", "vp-electric-distribution", "Regulated"),
       ("10", "10-customer-engagement-and-service", "chief-customer-officer", "Shared"),
       ("11", "11-asset-management", "vp-asset-management", "Regulated"),
       ("13", "13-system-operations-and-grid-control", "vp-system-operations", "Regulated"),
       ("15", "15-data-and-analytics-management", "chief-data-officer", "Shared"),
       ("20", "20-sales-and-marketing", "vp-aes-sales-marketing", "NonRegulated"),
       ("22", "22-der-and-ev-network-operations", "vp-aes-der-ev-operations", "NonRegulated")]
DOMAINS = ["customer", "energy-consumption-and-metering", "asset-and-infrastructure", "operational",
           "financial-and-regulatory", "product-and-market"]
PRODUCTS = {"Regulated": ["residential-electric-service", "residential-gas-service"],
            "NonRegulated": ["smart-home-essentials", "home-ev-charger-package"]}
READING_TYPES = ["Interval", "Daily", "Monthly"]


def iri(kind: str, slug: str) -> str:
    return f"<{ID}{kind}/{slug}>"


def t(s: str, p: str, o: str) -> str:
    return f"{s} {p} {o} .\n"


def en(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"@en'


def typed(value, datatype: str) -> str:
    return f'"{value}"^^<{XSD}{datatype}>'


def e(name: str) -> str:
    return f"<{EKB}{name}>"


def i(name: str) -> str:
    return f"<{INFO}{name}>"


def u(name: str) -> str:
    return f"<{UTIL}{name}>"


class Generator:
    """Emits N-Triples lines; `planted` counts the violations it planted, by shape."""

    def __init__(self, triples: int, seed: int = 7):
        self.target = triples
        self.random = random.Random(seed)
        self.planted: Counter = Counter()
        self.every = max(50, triples // 2000)  # plant roughly 0.05% of records wrong

    def lines(self) -> Iterator[str]:
        budget = self.target
        architecture = max(1, budget // 8)
        yield from self.architecture(architecture)
        yield from self.records(budget - architecture)

    def architecture(self, budget: int) -> Iterator[str]:
        r = self.random
        n_owners = max(20, budget // 400)
        n_caps = max(40, budget // 60)
        n_systems = max(20, budget // 80)
        n_entities = max(20, budget // 100)
        n_streams = max(2, budget // 2000)
        for k in range(n_owners):
            s = iri("owner", f"gen-owner-{k}")
            yield t(s, RDF_TYPE, e("Owner")) + t(s, LABEL, en(f"Generated owner {k}")) + t(s, SOURCE, ASSUMED)
            yield t(s, "<http://www.w3.org/ns/org#postIn>", iri("department", "information-technology"))
        for k in range(n_caps):
            number, l1, _, scope = L1S[k % len(L1S)]
            s = iri("capability", f"gen-{k}")
            owner = iri("owner", f"gen-owner-{r.randrange(n_owners)}")
            yield (t(s, RDF_TYPE, e("L2Capability")) + t(s, LABEL, en(f"Generated capability {number}.{100 + k}"))
                   + t(s, DEFINITION, en("A generated level-2 capability.")) + t(s, NOTATION, f'"{number}.{100 + k}"')
                   + t(s, e("capabilityLevel"), typed(2, "integer")) + t(s, e("hasParentCapability"), iri("capability", l1))
                   + t(s, u("hasRegulatoryScope"), u(scope)) + t(s, SOURCE, ASSUMED))
            if k % self.every == 7:
                self.planted["CapabilityOwnerShape"] += 1
            else:
                yield t(s, e("hasAccountableOwner"), owner)
        for k in range(n_entities):
            s = iri("information-entity", f"gen-{k}")
            yield (t(s, RDF_TYPE, e("InformationEntity")) + t(s, LABEL, en(f"Generated entity {k}"))
                   + t(s, e("belongsToDomain"), iri("information-domain", DOMAINS[k % len(DOMAINS)]))
                   + t(s, e("hasDataSteward"), iri("owner", f"gen-owner-{r.randrange(n_owners)}"))
                   + t(s, e("hasAccountableOwner"), iri("owner", f"gen-owner-{r.randrange(n_owners)}"))
                   + t(s, u("hasRegulatoryScope"), u("Shared")) + t(s, SOURCE, ASSUMED))
        for k in range(n_systems):
            s = iri("system", f"gen-{k}")
            yield (t(s, RDF_TYPE, e("System")) + t(s, LABEL, en(f"Generated system {k}"))
                   + t(s, e("hasAccountableOwner"), iri("owner", f"gen-owner-{r.randrange(n_owners)}"))
                   + t(s, u("hasRegulatoryScope"), u("Shared")) + t(s, SOURCE, ASSUMED))
            for cap in {r.randrange(n_caps) for _ in range(3)}:
                yield t(s, e("supportsCapability"), iri("capability", f"gen-{cap}"))
            for ent in {r.randrange(n_entities) for _ in range(3)}:
                yield t(s, e("usesInformation"), iri("information-entity", f"gen-{ent}"))
        for k in range(n_streams):
            s = iri("value-stream", f"gen-{k}")
            yield (t(s, RDF_TYPE, e("ValueStream")) + t(s, LABEL, en(f"Generated value stream {k}"))
                   + t(s, e("hasAccountableOwner"), iri("owner", f"gen-owner-{r.randrange(n_owners)}"))
                   + t(s, e("isServedBy"), iri("business-unit", "enterprise-services")) + t(s, SOURCE, ASSUMED))
            for order in range(1, 6):
                stage = iri("value-stream-stage", f"gen-{k}-{order}")
                yield (t(s, e("hasStage"), stage) + t(stage, RDF_TYPE, e("ValueStreamStage"))
                       + t(stage, LABEL, en(f"Generated stage {k}.{order}")) + t(stage, e("stageOrder"), typed(order, "integer"))
                       + t(stage, e("isEnabledBy"), iri("capability", f"gen-{r.randrange(n_caps)}")) + t(stage, SOURCE, ASSUMED))

    def records(self, budget: int) -> Iterator[str]:
        r = self.random
        n_customers = max(10, budget // 68)
        for c in range(n_customers):
            customer, premise = iri("customer", f"gen-{c}"), iri("premise", f"gen-{c}")
            meter_point, meter = iri("meter-point", f"gen-{c}"), iri("asset", f"gen-meter-{c}")
            yield (t(customer, RDF_TYPE, i("Customer")) + t(customer, LABEL, en(f"Customer G-{c}"))
                   + t(customer, i("customerId"), f'"G-{c}"') + t(customer, SOURCE, ASSUMED))
            yield (t(premise, RDF_TYPE, i("Premise")) + t(premise, LABEL, en(f"Premise G-{c}"))
                   + t(premise, i("premiseId"), f'"P-G-{c}"') + t(premise, i("serviceType"), '"Electric"')
                   + t(premise, i("hasMeterPoint"), meter_point))
            yield (t(meter_point, RDF_TYPE, i("MeterPoint")) + t(meter_point, LABEL, en(f"Meter point G-{c}"))
                   + t(meter_point, i("meterPointType"), '"Electric"') + t(meter_point, i("hasMeterAsset"), meter)
                   + t(meter, RDF_TYPE, i("Asset")) + t(meter, LABEL, en(f"Meter G-{c}"))
                   + t(meter, i("assetStatus"), '"In service"'))
            for scope in ("Regulated", "NonRegulated") if c % 3 == 0 else ("Regulated",):
                account = iri("customer-account", f"gen-{c}-{scope[0].lower()}")
                agreement = iri("service-agreement", f"gen-{c}-{scope[0].lower()}")
                yield (t(customer, i("hasAccount"), account) + t(account, RDF_TYPE, i("CustomerAccount"))
                       + t(account, LABEL, en(f"Account G-{c}-{scope[0]}")) + t(account, u("hasRegulatoryScope"), u(scope))
                       + t(account, i("accountStatus"), '"Active"') + t(account, i("managesServiceAgreement"), agreement)
                       + t(agreement, RDF_TYPE, i("ServiceAgreement")) + t(agreement, LABEL, en(f"Agreement G-{c}-{scope[0]}")))
                if c % self.every == 11 and scope == "Regulated":
                    self.planted["CustomerAccountShape"] += 1  # no premise
                else:
                    yield t(account, i("isAtPremise"), premise)
                product_scope = scope
                if c % self.every == 13 and scope == "Regulated":
                    self.planted["NoCrossSubsidyShape"] += 1
                    product_scope = "NonRegulated"
                yield t(agreement, i("isForProduct"), iri("product", r.choice(PRODUCTS[product_scope])))
                for n in range(2):
                    tx = iri("record", f"gen-ft-{c}-{scope[0].lower()}-{n}")
                    yield (t(account, i("hasTransaction"), tx) + t(tx, RDF_TYPE, i("FinancialTransaction"))
                           + t(tx, LABEL, en(f"Transaction G-{c}-{scope[0]}-{n}"))
                           + t(tx, i("transactionType"), '"Charge"' if n == 0 else '"Payment"')
                           + t(tx, i("amount"), typed(f"{r.uniform(10, 400):.2f}", "decimal")))
            for n in range(6):
                reading = iri("meter-reading", f"gen-{c}-{n}")
                kind = READING_TYPES[n % 3]
                if c % self.every == 17 and n == 0:
                    self.planted["MeterReadingShape"] += 1
                    kind = "Hourly"
                yield (t(meter_point, i("generatesReading"), reading) + t(reading, RDF_TYPE, i("MeterReading"))
                       + t(reading, i("readingTimestamp"), typed(f"2026-10-{1 + n:02d}T00:00:00Z", "dateTime"))
                       + t(reading, i("readingValue"), typed(f"{r.uniform(0, 40):.3f}", "decimal"))
                       + t(reading, i("readingType"), f'"{kind}"'))


def write(triples: int, output: Path, seed: int = 7) -> dict:
    generator = Generator(triples, seed)
    count = 0
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as out:
        for chunk in generator.lines():
            out.write(chunk)
            count += chunk.count("\n")
    manifest = {"target": triples, "triples": count, "seed": seed, "planted": dict(generator.planted)}
    output.with_suffix(".json").write_text(json.dumps(manifest, indent=2))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=float, required=True, help="approximate size, e.g. 1e6")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps(write(int(args.triples), args.output, args.seed)))


if __name__ == "__main__":
    main()
