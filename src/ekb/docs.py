"""The ontology's modules as documents: pyLODE's pages for people, and each whole module for OWL tools (an
ontology IRI dereferences to its module, as Protégé and the OWL API expect), both read from the Turtle files
themselves."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox
import rdflib

from ekb.config import RDF_TYPE
from ekb.errors import NotFound

OWL_ONTOLOGY = "http://www.w3.org/2002/07/owl#Ontology"


def modules(folder: Path) -> dict[str, Path]:
    return {path.stem: path for path in sorted(folder.glob("*.ttl"))}


@lru_cache(maxsize=16)
def module_html(path: Path, mtime: float) -> str:
    """pyLODE's page for one module; cached until the file changes (`mtime` is part of the key)."""
    from pylode import OntPub

    logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    graph = rdflib.Graph().parse(path)
    return OntPub(ontology=graph).make_html()


def page(folder: Path, name: str) -> str:
    found = modules(folder).get(name)
    if found is None:
        raise NotFound(f"no ontology module {name!r}; the modules are: {', '.join(modules(folder))}")
    return module_html(found, found.stat().st_mtime)


def module_for(folder: Path, iri: str) -> Path | None:
    """The module file whose owl:Ontology is `iri` (its version IRI is not a name for it), if any."""
    files = modules(folder)
    return _ontology_iris(tuple((path, path.stat().st_mtime) for path in files.values())).get(iri)


@lru_cache(maxsize=4)
def _ontology_iris(files: tuple[tuple[Path, float], ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path, _ in files:
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            if quad.predicate.value == RDF_TYPE and quad.object.value == OWL_ONTOLOGY and \
                    isinstance(quad.subject, ox.NamedNode):
                found[quad.subject.value] = path
    return found


def module_document(path: Path, fmt: ox.RdfFormat) -> bytes:
    """A whole module in one RDF syntax: Turtle is the file as written (its comments and layout are the
    source), the others are serialised from it with its prefixes."""
    if fmt == ox.RdfFormat.TURTLE:
        return path.read_bytes()
    parser = ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
    triples = [quad.triple for quad in parser]  # the parser knows the file's prefixes once it has read it
    return ox.serialize(triples, format=fmt, prefixes=parser.prefixes) if fmt != ox.RdfFormat.N_TRIPLES \
        else ox.serialize(triples, format=fmt)
