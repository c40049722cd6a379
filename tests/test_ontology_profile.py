"""The ontology as standard OWL tools see it: OWL 2 DL-clean, consistent under HermiT, imports resolvable offline.

ekb's own reasoners (OWL 2 RL) never complain about what an OWL 2 DL tool rejects: an undeclared property, a
property used both with literals and with resources, a datatype outside the OWL 2 datatype map, a language-tagged
literal where the range says `xsd:string`. These tests read the Turtle source the way the OWL API, Protégé, HermiT
and Pellet do, so the model stays one those tools accept (ontology/README.md, "OWL 2 DL profile").
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import rdflib
from rdflib import OWL, RDF, RDFS, Literal, Namespace, URIRef

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY = ROOT / "ontology"
OURS = "https://kb.quantum-energy.example/def/"
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # a plain namespace: pytest probes module attributes

# The OWL 2 datatype map (OWL 2 Structural Specification, section 4), plus rdf:langString, the RDF 1.1 name of
# a language-tagged literal (OWL 2's rdf:PlainLiteral with a language), which every OWL 2 tool reads.
RDF_NS = str(RDF)
OWL2_DATATYPES = {str(XSD) + n for n in (
    "decimal", "integer", "nonNegativeInteger", "nonPositiveInteger", "positiveInteger", "negativeInteger", "long",
    "int", "short", "byte", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte", "double", "float",
    "string", "normalizedString", "token", "language", "Name", "NCName", "NMTOKEN", "boolean", "hexBinary",
    "base64Binary", "anyURI", "dateTime", "dateTimeStamp")} | {
    RDF_NS + "PlainLiteral", RDF_NS + "XMLLiteral", RDF_NS + "langString", str(OWL) + "real", str(OWL) + "rational",
    str(RDFS) + "Literal"}

# Built-in vocabulary an OWL 2 DL ontology may use without declaring it.
BUILT_IN_PROPERTIES = {RDF.type, RDFS.label, RDFS.comment, RDFS.seeAlso, RDFS.isDefinedBy, RDFS.subClassOf,
                       RDFS.subPropertyOf, RDFS.domain, RDFS.range, OWL.versionInfo, OWL.versionIRI, OWL.imports,
                       OWL.deprecated, OWL.priorVersion, OWL.backwardCompatibleWith, OWL.incompatibleWith,
                       OWL.inverseOf, OWL.equivalentClass, OWL.equivalentProperty, OWL.disjointWith,
                       OWL.propertyChainAxiom, OWL.annotatedSource, OWL.annotatedProperty, OWL.annotatedTarget,
                       RDF.first, RDF.rest, OWL.unionOf, OWL.intersectionOf, OWL.onProperty, OWL.someValuesFrom,
                       OWL.allValuesFrom, OWL.hasValue, OWL.members, OWL.sameAs, OWL.differentFrom}
BUILT_IN_CLASSES = {OWL.Thing, OWL.Nothing}
RESERVED = (str(RDF), str(RDFS), str(OWL), str(XSD))
DECLARATIONS = {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, RDFS.Datatype,
                OWL.NamedIndividual, OWL.Ontology, OWL.TransitiveProperty, OWL.SymmetricProperty,
                OWL.FunctionalProperty, OWL.InverseFunctionalProperty, OWL.AsymmetricProperty,
                OWL.ReflexiveProperty, OWL.IrreflexiveProperty, OWL.Axiom, OWL.AllDifferent, OWL.Restriction,
                OWL.DeprecatedClass, OWL.DeprecatedProperty}


def parse(paths: list[Path]) -> rdflib.Graph:
    graph = rdflib.Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


def ontology_files() -> list[Path]:
    return sorted(ONTOLOGY.glob("*.ttl"))


def data_files() -> list[Path]:
    return sorted((ROOT / "data").glob("*.ttl"))


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return parse(ontology_files())


@pytest.fixture(scope="module")
def merged() -> rdflib.Graph:
    """The ontology with the shipped data, as one graph: what Protégé shows with every file open."""
    return parse(ontology_files() + data_files())


def typed(graph: rdflib.Graph, kind: URIRef) -> set:
    return set(graph.subjects(RDF.type, kind))


def profile_violations(graph: rdflib.Graph) -> list[str]:
    """What an OWL 2 DL profile checker reports about `graph`, for the constructs the model can contain."""
    found: list[str] = []
    objects = typed(graph, OWL.ObjectProperty)
    datas = typed(graph, OWL.DatatypeProperty)
    annotations = typed(graph, OWL.AnnotationProperty)
    classes = typed(graph, OWL.Class) | BUILT_IN_CLASSES
    for a, b, what in ((objects, datas, "object and datatype"), (objects, annotations, "object and annotation"),
                       (datas, annotations, "datatype and annotation")):
        found += [f"{p} is declared both an {what} property" for p in sorted(a & b)]
    declared = objects | datas | annotations | BUILT_IN_PROPERTIES
    for term in sorted(set(graph.subjects(RDF.type, None))):
        kinds = set(graph.objects(term, RDF.type)) & {OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty,
                                                        OWL.AnnotationProperty, RDFS.Datatype}
        if kinds and isinstance(term, URIRef) and str(term).startswith(RESERVED):
            found.append(f"{term} is reserved vocabulary but is declared {sorted(kinds)}")
    ranges = {p: set(graph.objects(p, RDFS.range)) for p in datas}
    for s, p, o in graph:
        if p not in declared:
            found.append(f"{p} is used but not declared as a property")
        elif p in objects and isinstance(o, Literal):
            found.append(f"object property {p} has the literal {o!r} (on {s})")
        elif p in datas and not isinstance(o, Literal):
            found.append(f"datatype property {p} has the resource {o} (on {s})")
        if p == RDF.type and o not in DECLARATIONS and o not in classes:
            found.append(f"{s} is typed with {o}, which is not declared a class")
        if p in (RDFS.subClassOf, OWL.equivalentClass, OWL.disjointWith) and isinstance(o, URIRef) and \
                o not in classes:
            found.append(f"{s} {p} {o}: {o} is not declared a class")
        if p in (RDFS.domain,) and o not in classes:
            found.append(f"{s} has the domain {o}, which is not declared a class")
        if p == RDFS.range and s in objects and o not in classes:
            found.append(f"{s} has the range {o}, which is not declared a class")
        if p == RDFS.range and s in datas and str(o) not in OWL2_DATATYPES:
            found.append(f"{s} has the range {o}, which is outside the OWL 2 datatype map")
        if isinstance(o, Literal):
            datatype = str(o.datatype) if o.datatype else (RDF_NS + "langString" if o.language else str(XSD.string))
            if datatype not in OWL2_DATATYPES:
                found.append(f"{s} {p} {o!r}: datatype {datatype} is outside the OWL 2 datatype map")
            if p in datas and o.language and XSD.string in ranges.get(p, ()):
                found.append(f"{s} {p} {o!r}: a language-tagged literal where the range is xsd:string")
    return found


def test_ontology_modules_are_owl2_dl_clean(ontology):
    assert profile_violations(ontology) == []


def test_ontology_with_the_shipped_data_is_owl2_dl_clean(merged):
    assert profile_violations(merged) == []


def test_the_profile_check_sees_each_kind_of_violation(ontology):
    """Each breach the checker exists for, planted once, is reported: a silent checker would pass a broken model."""
    ekb = rdflib.Namespace(OURS + "core/")
    x = URIRef("https://kb.quantum-energy.example/id/system/x")
    plants = {
        "declared both": [(ekb.usesInformation, RDF.type, OWL.DatatypeProperty)],
        "not declared as a property": [(x, URIRef(OURS + "core/undeclaredThing"), ekb.System)],
        "has the literal": [(x, ekb.usesInformation, Literal("grid state"))],
        "has the resource": [(x, ekb.allocationBasis, ekb.System)],
        "not declared a class": [(x, RDF.type, URIRef(OURS + "core/NoSuchClass"))],
        "outside the OWL 2 datatype map": [(x, ekb.allocationBasis, Literal("2025-11-25", datatype=XSD.date))],
        "language-tagged literal": [(x, URIRef(OURS + "utility/filingStatus"), Literal("filed", lang="en"))],
        "reserved vocabulary": [(XSD.date, RDF.type, RDFS.Datatype)],
    }
    for expected, triples in plants.items():
        graph = rdflib.Graph()
        graph += ontology
        for triple in triples:
            graph.add(triple)
        assert any(expected in v for v in profile_violations(graph)), expected


# ---------------------------------------------------------------------------------------------------------------
# HermiT (shipped with owlready2), run offline on the merged ontology and data
# ---------------------------------------------------------------------------------------------------------------

def hermit(graph: rdflib.Graph, tmp_path: Path) -> subprocess.CompletedProcess:
    """HermiT's command line, as owlready2 runs it, on `graph` without its owl:imports (every module is in it)."""
    import owlready2
    from owlready2 import reasoning

    local = rdflib.Graph()
    local += graph
    local.remove((None, OWL.imports, None))  # every imported module is already in the graph: never fetched
    path = tmp_path / "merged.nt"
    local.serialize(path, format="nt", encoding="utf-8")
    java = owlready2.JAVA_EXE if shutil.which(owlready2.JAVA_EXE) else "java"
    command = [java, "-Xmx1000M", "-cp", reasoning._HERMIT_CLASSPATH, "org.semanticweb.HermiT.cli.CommandLine",
               "--unsatisfiable", path.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def unsatisfiable(output: str) -> list[str]:
    """The classes HermiT's `--unsatisfiable` lists as equivalent to owl:Nothing (besides owl:Nothing itself)."""
    assert "Classes equivalent to 'owl:Nothing':" in output, output[-2000:]
    listed = output.split("Classes equivalent to 'owl:Nothing':", 1)[1].split()
    return sorted(name.strip("<>") for name in listed if name != "owl:Nothing")


def test_hermit_finds_ontology_and_data_consistent_with_no_unsatisfiable_class(merged, tmp_path):
    result = hermit(merged, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert unsatisfiable(result.stdout) == []


def test_hermit_reports_an_inconsistency_and_an_unsatisfiable_class(ontology, tmp_path):
    """The reasoner run is real: a planted contradiction makes it fail, a planted empty class is listed."""
    ekb = rdflib.Namespace(OURS + "core/")
    broken = rdflib.Graph()
    broken += ontology
    broken.add((ekb.Nowhere, RDF.type, OWL.Class))
    broken.add((ekb.Nowhere, RDFS.subClassOf, ekb.System))
    broken.add((ekb.Nowhere, RDFS.subClassOf, ekb.Owner))
    broken.add((ekb.System, OWL.disjointWith, ekb.Owner))
    result = hermit(broken, tmp_path)
    assert result.returncode == 0 and unsatisfiable(result.stdout) == [OURS + "core/Nowhere"]
    broken.add((URIRef("https://kb.quantum-energy.example/id/x"), RDF.type, ekb.Nowhere))
    result = hermit(broken, tmp_path)
    assert result.returncode != 0 and "nconsistent" in result.stdout + result.stderr


# ---------------------------------------------------------------------------------------------------------------
# Protégé's XML catalog: every owl:imports resolves to a local file
# ---------------------------------------------------------------------------------------------------------------

CATALOG_NS = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}"


def catalog(folder: Path) -> dict[str, Path]:
    tree = ET.parse(folder / "catalog-v001.xml")
    return {e.get("name"): (folder / e.get("uri")).resolve() for e in tree.getroot().iter(CATALOG_NS + "uri")}


@pytest.mark.parametrize("folder", ["ontology", "shapes"])
def test_catalog_maps_every_import_to_the_file_that_defines_it(folder):
    entries = catalog(ROOT / folder)
    files = sorted((ROOT / folder).glob("*.ttl"))
    imports = {str(o) for path in files for o in parse([path]).objects(None, OWL.imports)}
    assert imports and imports <= set(entries), imports - set(entries)
    for iri, path in entries.items():
        assert path.is_file(), f"{iri} maps to {path}, which does not exist"
        graph = parse([path])
        assert (URIRef(iri), RDF.type, OWL.Ontology) in graph or \
            (None, OWL.versionIRI, URIRef(iri)) in graph, f"{path} does not define {iri}"


def test_catalog_covers_every_module_and_version():
    entries = catalog(ONTOLOGY)
    graph = parse(ontology_files())
    names = {str(o) for o in graph.subjects(RDF.type, OWL.Ontology)} | \
        {str(v) for v in graph.objects(None, OWL.versionIRI)}
    assert names == set(entries)


# ---------------------------------------------------------------------------------------------------------------
# The naming rule of ontology/README.md, over every term
# ---------------------------------------------------------------------------------------------------------------

# Words an object property may start with: a verb (or "is", for a passive or nominal predicate).
VERBS = {"has", "is", "uses", "supports", "performs", "provides", "consumes", "contains", "covers", "creates",
         "enables", "governs", "oversees", "owns", "partners", "serves", "touches", "connects", "belongs",
         "allocates", "includes", "generates", "concerns", "affects", "hosts", "manages", "subscribes"}
UPPER_CAMEL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
LOWER_CAMEL = re.compile(r"^[a-z][A-Za-z0-9]*$")


def first_word(name: str) -> str:
    return re.split(r"(?=[A-Z])", name, maxsplit=1)[0]


def naming_violations(graph: rdflib.Graph) -> list[str]:
    found = []
    namespaces = {str(o) for o in graph.objects(None, URIRef("http://purl.org/vocab/vann/preferredNamespaceUri"))}
    for ontology_iri in graph.subjects(RDF.type, OWL.Ontology):
        if str(ontology_iri) in namespaces or str(ontology_iri).endswith(("/", "#")):
            found.append(f"ontology IRI {ontology_iri} is a term namespace")
        for version in graph.objects(ontology_iri, OWL.versionIRI):
            if any(str(version).startswith(ns) for ns in namespaces | {OURS + "shapes/"}):
                found.append(f"version IRI {version} sits inside a term namespace")
    kinds = {OWL.Class: UPPER_CAMEL, OWL.ObjectProperty: LOWER_CAMEL, OWL.DatatypeProperty: LOWER_CAMEL,
             OWL.AnnotationProperty: LOWER_CAMEL}
    for kind, pattern in kinds.items():
        for term in graph.subjects(RDF.type, kind):
            if not str(term).startswith(OURS):
                continue
            name = str(term).rsplit("/", 1)[1]
            if not pattern.match(name):
                found.append(f"{term}: {name} is not {pattern.pattern}")
            deprecated = (term, OWL.deprecated, Literal(True)) in graph
            if kind == OWL.ObjectProperty and not deprecated and first_word(name) not in VERBS:
                found.append(f"{term}: object property {name} does not start with a verb")
    return found


def test_every_term_follows_the_naming_rule(ontology):
    """Over the ontology modules and the shapes graph's header (whose ontology IRI must not be its namespace)."""
    assert naming_violations(ontology + parse([ROOT / "shapes" / "prefixes.ttl"])) == []


def test_the_naming_check_sees_an_ontology_iri_that_is_a_namespace_and_a_version_inside_one(ontology):
    graph = ontology + parse([ROOT / "shapes" / "prefixes.ttl"])
    graph.add((URIRef(OURS + "shapes/"), RDF.type, OWL.Ontology))
    graph.add((URIRef(OURS + "core"), OWL.versionIRI, URIRef(OURS + "core/0.2.0")))
    assert set(naming_violations(graph)) == {f"ontology IRI {OURS}shapes/ is a term namespace",
                                             f"version IRI {OURS}core/0.2.0 sits inside a term namespace"}


def test_the_naming_check_sees_a_noun_first_object_property(ontology):
    graph = rdflib.Graph()
    graph += ontology
    graph.add((URIRef(OURS + "core/dataRecipient"), RDF.type, OWL.ObjectProperty))
    assert naming_violations(graph) == [f"{OURS}core/dataRecipient: object property dataRecipient does not start "
                                        "with a verb"]


def test_every_deprecated_name_points_to_its_replacement(ontology):
    for term in ontology.subjects(OWL.deprecated, Literal(True)):
        replacements = set(ontology.objects(term, OWL.equivalentProperty)) | \
            set(ontology.objects(term, OWL.equivalentClass))
        assert len(replacements) == 1, term
        assert (next(iter(replacements)), OWL.deprecated, Literal(True)) not in ontology
