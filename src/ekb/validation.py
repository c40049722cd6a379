"""Running the shapes: SHACL engines behind one small interface (pyshacl-turbo runs, pyshacl is the reference),
over the knowledge base or over files.

Both engines take the data as N-Triples and the shapes as N-Triples, and give back the standard
sh:ValidationReport graph, so the tests can compare them result for result.

What is validated: the asserted data and the ontology (for SHACL's own rdfs:subClassOf semantics), never the
inferred graph: OWL RL types whatever a domain or range touches, which would make sh:class checks pass
vacuously. The shapes take inverse and alternative paths, so they need no inferred inverse links.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Protocol

import pyoxigraph as ox
import pyshacl
import pyshacl_turbo
import rdflib
from pyshacl_turbo.rdf import Input as TurboInput

from ekb.closure import (
    EQUIVALENT_PROPERTY,
    INVERSE_OF,
    SUB_PROPERTY_OF,
    SYMMETRIC_PROPERTY,
    closure_ntriples,
    entailments,
)
from ekb.config import ID, RDF_TYPE, SH, SHAPES_GRAPH, is_data_graph
from ekb.errors import EkbError, InputError
from ekb.findings import Report
from ekb.interpretation import interpret
from ekb.remote import RemoteStore
from ekb.shacl_sparql import SparqlEngine
from ekb.store import EmbeddedStore, Store, clean_parser_message

PROPERTY_AXIOMS = {ox.NamedNode(p) for p in (INVERSE_OF, SUB_PROPERTY_OF, EQUIVALENT_PROPERTY)}
TYPE, SYMMETRIC = ox.NamedNode(RDF_TYPE), ox.NamedNode(SYMMETRIC_PROPERTY)


class ShaclEngine(Protocol):
    name: str

    def validate(self, data_nt: bytes, shapes_nt: bytes, focus_nodes: list[str] | None = None,
                 faithful: bool = False) -> rdflib.Graph:
        """The sh:ValidationReport graph of `data_nt` against `shapes_nt`. `faithful`: every literal keeps its
        lexical form and datatype as written (files), where the store's own data may be read normalised."""


def _graph(nt: bytes, faithful: bool = False) -> rdflib.Graph:
    """N-Triples as an rdflib graph; `faithful` keeps every literal's lexical form as written (rdflib otherwise
    rewrites "2011-01-01"^^xsd:dateTime as "2011-01-01T00:00:00"). rdflib has only a process-wide switch for
    that: faithful parses happen in `ekb validate FILES`, a command of its own, never in the server."""
    graph = rdflib.Graph()
    normalize, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, not faithful
    try:
        graph.parse(data=nt, format="nt")
    finally:
        rdflib.NORMALIZE_LITERALS = normalize
    return graph


class TurboEngine:
    """pyshacl-turbo: pyshacl's behaviour, evaluated in Rust.

    Both graphs reach it as the N-Triples ekb holds, read by its own parser, which keeps every literal as
    written: the store's data as the store holds it, a file's as the file says ("7"^^xsd:int stays an xsd:int),
    so `faithful` changes nothing here. Not as a pyoxigraph store: pyshacl-turbo 0.6.5 reads a store's strings
    as "x"^^xsd:string, which then equal neither the shapes' "x" (sh:in ("Approved") fails) nor a string in a
    SPARQL constraint's text (W3C pre-binding-005: `$this ex:property "Label"` matches nothing). Read from
    N-Triples, a string is one term everywhere, as RDF 1.1 says. `Input` is pyshacl-turbo's own carrier for
    serialised data (an internal class; the version is pinned and the W3C suite runs through it). The shapes
    are compiled once per version: compiling costs more than validating a small change."""

    name = "pyshacl-turbo"

    def validate(self, data_nt, shapes_nt, focus_nodes=None, faithful=False):
        options = {"focus_nodes": [rdflib.URIRef(n) for n in focus_nodes]} if focus_nodes else {}
        data = TurboInput(data_nt.decode("utf-8"), "nquads", None, {}, preserve_ids=True)
        with engine_failures(self.name):
            _, report, _ = compiled(shapes_nt).validate(data, **options)
        if not isinstance(report, rdflib.Graph):
            raise InputError(f"the shapes cannot be used: {report}")
        return report


@contextmanager
def engine_failures(engine: str) -> Iterator[None]:
    """An engine that fails on the shapes (a SPARQL constraint it cannot parse or run, a feature it lacks) says
    so in one line: the shapes are the user's input, and a traceback tells a council member nothing."""
    try:
        yield
    except EkbError:
        raise
    except Exception as err:  # noqa: BLE001 - each engine raises its own kinds; all mean "these shapes"
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:300]
        raise InputError(f"the shapes cannot be used by {engine}: {reason}") from None


SPARQL_TEXT = (SH + "select", SH + "ask", SH + "construct")


def sparql_texts(graph: rdflib.Graph) -> Iterator[tuple[rdflib.term.Node, str, str]]:
    """Every SPARQL text of a shapes graph, as (the node holding it, sh:select/ask/construct, the query with the
    prefixes its shape declares (sh:prefixes / sh:declare) and `$PATH` stood in for)."""
    sh = rdflib.Namespace(SH)
    for predicate in SPARQL_TEXT:
        for holder, text in graph.subject_objects(rdflib.URIRef(predicate)):
            prologue = "".join(f"PREFIX {prefix}: <{namespace}>\n"
                               for declarations in graph.objects(holder, sh.prefixes)
                               for declarer in graph.transitive_objects(declarations, rdflib.OWL.imports)
                               for declaration in graph.objects(declarer, sh.declare)
                               for prefix in graph.objects(declaration, sh.prefix)
                               for namespace in graph.objects(declaration, sh.namespace))
            yield holder, predicate, prologue + str(text).replace("$PATH", "<urn:ekb:path>")


@lru_cache(maxsize=8)
def check_sparql_constraints(shapes_nt: bytes) -> None:
    """Every SPARQL text in the shapes parses, with the prefixes its shape declares (sh:prefixes / sh:declare);
    else one line naming the shape and the parser's reason. Run before an engine, which would fail on it with a
    long traceback, or not at all."""
    if b"shacl#select" not in shapes_nt and b"shacl#ask" not in shapes_nt and b"shacl#construct" not in shapes_nt:
        return
    graph = _graph(shapes_nt)
    sh = rdflib.Namespace(SH)
    for holder, predicate, query in sparql_texts(graph):
        try:
            ox.Store().query(query)
        except SyntaxError as err:
            shape = next(graph.subjects(sh.sparql, holder), holder)
            name = predicate.rsplit("#", 1)[-1]
            reason = clean_parser_message(err.msg).split(", [", 1)[0]  # not the grammar's character classes
            raise InputError(f"shape {shape}: its sh:{name} query does not parse: {reason}") from None
        except (OSError, ValueError, RuntimeError):
            pass  # it parses: evaluating it on an empty store is not this check's business


@lru_cache(maxsize=8)
def compiled(shapes_nt: bytes):
    """The shapes compiled by pyshacl-turbo, read by its own N-Triples parser (literals as written)."""
    return pyshacl_turbo.compile_shapes(shapes_nt, shacl_graph_format="nt", advanced=True)


# The boolean parameters that switch something on: SHACL activates each only when its value is the literal true.
SWITCHES = tuple(SH + name for name in ("closed", "deactivated", "uniqueLang", "qualifiedValueShapesDisjoint"))
XSD_BOOLEAN = ox.NamedNode("http://www.w3.org/2001/XMLSchema#boolean")
TRUE, FALSE = ox.Literal("true", datatype=XSD_BOOLEAN), ox.Literal("false", datatype=XSD_BOOLEAN)


@lru_cache(maxsize=8)
def prepared_shapes(shapes_nt: bytes) -> bytes:
    """The shapes as SHACL reads them, where the engines read them otherwise: a switch (sh:closed,
    sh:deactivated, sh:uniqueLang, sh:qualifiedValueShapesDisjoint) is on only when its value is the RDF term
    true ("If $uniqueLang is true"); "1"^^xsd:boolean is another term and leaves it off (W3C uniqueLang-002),
    where the engines take the boolean's value (both for sh:uniqueLang, pyshacl for sh:closed and
    sh:deactivated). Such a value is written false, which both read as off. Anything else (and the bytes
    themselves, when nothing needs it) is left as it is: the compiled shapes are cached by their bytes, and
    blank node labels tie the report to the shapes."""
    if not any(switch.encode() in shapes_nt for switch in SWITCHES):
        return shapes_nt
    triples, changed = [], False
    for triple in ox.parse(shapes_nt, format=ox.RdfFormat.N_TRIPLES):
        value = triple.object
        if (triple.predicate.value in SWITCHES and isinstance(value, ox.Literal) and value.datatype == XSD_BOOLEAN
                and value != TRUE):
            triple, changed = ox.Triple(triple.subject, triple.predicate, FALSE), True
        triples.append(triple)
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) if changed else shapes_nt


class PyshaclEngine:
    """pyshacl: the reference implementation (slow; used by the tests and on request)."""

    name = "pyshacl"

    def validate(self, data_nt, shapes_nt, focus_nodes=None, faithful=False):
        options = {"focus_nodes": [rdflib.URIRef(n) for n in focus_nodes]} if focus_nodes else {}
        with engine_failures(self.name):
            _, report, text = pyshacl.validate(_graph(data_nt, faithful), shacl_graph=_graph(shapes_nt, faithful),
                                               advanced=True, **options)
        if not isinstance(report, rdflib.Graph):
            raise InputError(f"the shapes cannot be used: {text}")
        return report


ENGINES: dict[str, type] = {"pyshacl-turbo": TurboEngine, "turbo": TurboEngine, "pyshacl": PyshaclEngine,
                            "sparql": SparqlEngine}


def default_engine(store: Store) -> ShaclEngine:
    """Where the data lives decides. On a SPARQL server whose engine evaluates the compiled shapes exactly, the
    shapes run there as queries and only their results cross the wire (at 10^5 on `oxigraph serve`: 85 KB
    instead of 22.5 MB, 2x faster); the embedded store's data is read into pyshacl-turbo, in process."""
    if isinstance(store, RemoteStore) and store.dialect.validates_in_engine:
        return SparqlEngine()
    return TurboEngine()


def engine_named(name: str) -> ShaclEngine:
    try:
        return ENGINES[name]()
    except KeyError:
        raise InputError(f"unknown SHACL engine {name!r}; choose pyshacl-turbo, pyshacl or sparql") from None


def split_store(store: Store) -> tuple[bytes, bytes]:
    """(data with the ontology, shapes) as N-Triples, read graph by graph from the store.

    The data is the asserted data graphs and the ontology, plus their inverse- and sub-property closure
    (`ekb.closure`): a fact stated with either property of a declared inverse pair, or with a sub-property of
    the one a rule reads, is seen by the rule. Never the inferred graph, whose OWL RL typing would make
    sh:class checks pass vacuously; the closure adds no rdf:type."""
    graphs = store.graphs()
    data = b"".join(store.graph_ntriples(g) for g in graphs if is_data_graph(g))
    data += closure_ntriples(store)
    shapes = store.graph_ntriples(SHAPES_GRAPH) if SHAPES_GRAPH in graphs else b""
    return data, shapes


def validate_store(store: Store, engine: ShaclEngine | None = None, focus_nodes: list[str] | None = None,
                   context_store: Store | None = None, shapes_nt: bytes | None = None, enrich: bool = True) -> Report:
    """The knowledge base's report: its data graphs and ontology against its shapes (or `shapes_nt`)."""
    engine = engine or default_engine(store)
    context = context_store or store
    if isinstance(engine, SparqlEngine):  # the shapes run where the data is: only they and the results travel
        if shapes_nt is None:
            shapes_nt = store.graph_ntriples(SHAPES_GRAPH) if SHAPES_GRAPH in store.graphs() else b""
        validated = sum(n for g, n in store.counts().items() if is_data_graph(g))
        return _run(engine.name, lambda shapes: engine.validate_store(store, shapes, focus_nodes), shapes_nt,
                    validated, context, enrich)
    data_nt, own_shapes = split_store(store)
    return _run(engine.name, lambda shapes: engine.validate(data_nt, shapes, focus_nodes),
                own_shapes if shapes_nt is None else shapes_nt, data_nt.count(b"\n"), context, enrich)


def validate_triples(triples: set[ox.Triple], shapes_nt: bytes, context: Store, engine: ShaclEngine | None = None,
                     focus_nodes: list[str] | None = None, enrich: bool = True) -> Report:
    """The report of `triples` held in memory (the gate's neighbourhood of a change, with what validation reads of
    the ontology), as `validate_store` gives it for a store holding them in its data graphs: with their property
    closure (`closure_triples`), without a scratch store to load them into and read them back from (two of each
    per gated write, 7 ms of its 38 ms on the shipped model). `context`: the store the findings' labels come from."""
    engine = engine or TurboEngine()
    if isinstance(engine, SparqlEngine):  # it runs the shapes in a store's engine: give it one
        staging = EmbeddedStore()
        staging.replace_graphs({ID + "validate/data": ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)})
        return validate_store(staging, engine, focus_nodes, context_store=context, shapes_nt=shapes_nt, enrich=enrich)
    data_nt = ox.serialize(triples | closure_triples(triples), format=ox.RdfFormat.N_TRIPLES)
    return _run(engine.name, lambda shapes: engine.validate(data_nt, shapes, focus_nodes), shapes_nt,
                data_nt.count(b"\n"), context, enrich)


def closure_triples(triples: set[ox.Triple]) -> set[ox.Triple]:
    """What `closure.closure_ntriples` adds to a store holding `triples` in its data graphs (the property axioms
    read from them, `closure.entailments` chained, applied in one pass, minus what is asserted), for triples held
    in memory."""
    rules = closure_rules(triples)
    if not rules:
        return set()
    entailed = set()
    for t in triples:
        for q, inverted in rules.get(t.predicate, ()):
            x, y = (t.object, t.subject) if inverted else (t.subject, t.object)
            if not isinstance(x, ox.Literal):
                entailed.add(ox.Triple(x, q, y))
    return entailed - triples


def closure_rules(triples: Iterable[ox.Triple]) -> dict[ox.NamedNode, list[tuple[ox.NamedNode, bool]]]:
    """The property closure's rules (`closure.entailments`) from the property axioms among `triples` (as
    `closure.SCHEMA_QUERY` reads them from a store), by the predicate each applies to: (the predicate it entails,
    whether subject and object swap)."""
    axioms = [(t.subject.value, INVERSE_OF, t.subject.value) if t.predicate == TYPE
              else (t.subject.value, t.predicate.value, t.object.value)
              for t in triples if (t.predicate in PROPERTY_AXIOMS or (t.predicate == TYPE and t.object == SYMMETRIC))
              and isinstance(t.subject, ox.NamedNode) and isinstance(t.object, ox.NamedNode)]
    return _rules(tuple(sorted(axioms)))


@lru_cache(maxsize=8)
def _rules(axioms: tuple[tuple[str, str, str], ...]) -> dict[ox.NamedNode, list[tuple[ox.NamedNode, bool]]]:
    """`closure.entailments` of the axioms, by the predicate they apply to."""
    rules: dict[ox.NamedNode, list[tuple[ox.NamedNode, bool]]] = {}
    for p, q, inverted in entailments(list(axioms)):
        rules.setdefault(ox.NamedNode(p), []).append((ox.NamedNode(q), inverted))
    return rules


def validate_files(data: list[ox.Triple], shapes: list[ox.Triple], engine: ShaclEngine | None = None) -> Report:
    """Validate any data files against any shapes files as written (the CLI's `ekb validate FILES --shapes
    FILES`): every literal keeps its lexical form and datatype, so "7"^^xsd:int is an xsd:int. A scratch store
    serves only the labels the findings show."""
    data_nt = ox.serialize(data, format=ox.RdfFormat.N_TRIPLES)
    shapes_nt = ox.serialize(shapes, format=ox.RdfFormat.N_TRIPLES)
    context = EmbeddedStore()
    context.replace_graphs({ID + "validate/data": data_nt, SHAPES_GRAPH: shapes_nt})
    engine = engine or TurboEngine()
    return _run(engine.name, lambda shapes: engine.validate(data_nt, shapes, None, faithful=True), shapes_nt,
                data_nt.count(b"\n"), context, True)


def _run(engine: str, evaluate: Callable[[bytes], rdflib.Graph], shapes_nt: bytes, triples: int, context: Store,
         enrich: bool) -> Report:
    """One validation, whatever engine evaluates it (`evaluate` takes the prepared shapes and gives the
    sh:ValidationReport graph): the shapes checked, the report read into findings, timed."""
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    clock = time.perf_counter()
    check_sparql_constraints(shapes_nt)
    report_graph = evaluate(prepared_shapes(shapes_nt))
    findings, rules = interpret(report_graph, shapes_nt, context, enrich)
    return Report(findings, rules, engine, started.isoformat().replace("+00:00", "Z"),
                  time.perf_counter() - clock, triples, report_graph)
