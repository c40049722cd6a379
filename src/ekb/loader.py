"""The load pipeline: files -> staging -> reasoning -> one atomic swap into the store.

Everything is parsed and reasoned over before the store is touched, and the swap is a single SPARQL
Update, so a malformed file or a failed step leaves the store exactly as it was.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib

from ekb.config import BASE_IRI, DATA_GRAPH_PREFIX, INFERRED_GRAPH, ONTOLOGY_GRAPH, SHAPES_GRAPH, Settings
from ekb.errors import InputError, RdfSyntaxError
from ekb.formats import for_file
from ekb.reasoning import entailments, reasoner_named
from ekb.store import Store
from ekb.terms import triple_to_ox

RDF_SUFFIXES = {".ttl", ".nt", ".n3", ".rdf", ".owl", ".xml", ".jsonld", ".json", ".trig", ".nq", ".trix", ".hext"}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SourceFile:
    path: Path
    kind: str  # "ontology", "shapes" or "data"
    graph: str


@dataclass
class LoadReport:
    graphs: dict[str, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    reasoner: str = ""


def data_graph_name(relative: Path) -> str:
    """A stable graph IRI for a data file: its path under data/, without the suffix."""
    slug = re.sub(r"[^A-Za-z0-9/_.-]+", "-", relative.with_suffix("").as_posix()).strip("-")
    return DATA_GRAPH_PREFIX + slug


def discover(settings: Settings) -> list[SourceFile]:
    sources: list[SourceFile] = []
    for kind, folder in (("ontology", settings.ontology_dir), ("shapes", settings.shapes_dir),
                         ("data", settings.data_dir)):
        if not folder.is_dir():
            raise InputError(f"missing folder: {folder} (expected ontology/, shapes/ and data/ under {settings.root})")
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in RDF_SUFFIXES):
            graph = {"ontology": ONTOLOGY_GRAPH, "shapes": SHAPES_GRAPH}.get(kind) or data_graph_name(
                path.relative_to(folder))
            sources.append(SourceFile(path, kind, graph))
    return sources


def parse_file(path: Path, label: str | None = None) -> list[ox.Triple]:
    """Parse any RDF file: pyoxigraph for the syntaxes it knows (fast, precise positions), rdflib for the rest."""
    label = label or str(path)
    fmt = for_file(path.name)
    if fmt is None and path.suffix.lower() == ".json":
        fmt = for_file("x.jsonld")
    if fmt is not None:
        try:
            return [q.triple for q in ox.parse(path=str(path), format=fmt.engine, base_iri=BASE_IRI)]
        except SyntaxError as err:
            raise RdfSyntaxError(label, _clean(err.msg), err.lineno, err.offset) from err
        except (ValueError, OSError) as err:
            raise RdfSyntaxError(label, str(err)) from err
    try:
        graph = rdflib.Dataset()
        graph.parse(str(path), format=rdflib.util.guess_format(str(path)), publicID=BASE_IRI)
    except Exception as err:  # rdflib raises many unrelated types for bad input
        raise RdfSyntaxError(label, str(err), getattr(err, "lineno", None)) from err
    return [t for t in (triple_to_ox(s, p, o) for s, p, o, _ in graph.quads()) if t is not None]


def parse_bytes(data: bytes, media_type: str, source: str) -> list[ox.Triple]:
    """Parse an uploaded document of a known media type."""
    from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, by_name

    fmt = by_name(media_type, GRAPH_FORMATS) or by_name(media_type, DATASET_FORMATS)
    if fmt is None:
        raise InputError(f"unsupported RDF media type: {media_type}")
    try:
        return [q.triple for q in ox.parse(data, format=fmt.engine, base_iri=BASE_IRI)]
    except SyntaxError as err:
        raise RdfSyntaxError(source, _clean(err.msg), err.lineno, err.offset) from err


def _clean(message: str) -> str:
    return re.sub(r"^Parser error at line \d+ column \d+: ", "", message)


def load(store: Store, settings: Settings, progress: Progress = lambda _: None) -> LoadReport:
    """Load ontology/, shapes/ and data/ and their entailments; replace what a previous load wrote."""
    started = time.perf_counter()
    sources = discover(settings)
    staged: dict[str, list[ox.Triple]] = {}
    for number, source in enumerate(sources, 1):
        progress(f"[{number}/{len(sources)}] parsing {source.path.relative_to(settings.root)}")
        staged.setdefault(source.graph, []).extend(parse_file(source.path, str(source.path.relative_to(settings.root))))
    staged.setdefault(ONTOLOGY_GRAPH, [])
    staged.setdefault(SHAPES_GRAPH, [])

    reasoner = reasoner_named(settings.reasoner)
    progress(f"reasoning (OWL 2 RL, {reasoner.name}) over the ontology and data")
    premises = [t for g, triples in staged.items() if g != SHAPES_GRAPH for t in triples]
    staged[INFERRED_GRAPH] = entailments(premises, reasoner)

    stale = [g for g in store.graphs() if g.startswith(DATA_GRAPH_PREFIX) and g not in staged]
    progress(f"writing {len(staged)} graphs in one transaction")
    store.replace_graphs({g: ox.serialize(list(dict.fromkeys(ts)), format=ox.RdfFormat.N_TRIPLES)
                          for g, ts in staged.items()}, drop=stale)
    return LoadReport(graphs=store.counts(), dropped=stale, seconds=time.perf_counter() - started,
                      reasoner=reasoner.name)
