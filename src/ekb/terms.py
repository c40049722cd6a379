"""Conversions from rdflib terms (what rdflib's parsers and the reasoners give) to pyoxigraph terms (the store's)."""

from __future__ import annotations

import pyoxigraph as ox
import rdflib

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def to_ox(term: rdflib.term.Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    if isinstance(term, rdflib.URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, rdflib.BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, rdflib.Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype and str(term.datatype) != XSD_STRING:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot convert {term!r} to an RDF term")


def triple_to_ox(s, p, o) -> ox.Triple | None:
    """An rdflib triple as a pyoxigraph triple; None for generalised RDF (a literal as subject)."""
    if isinstance(s, rdflib.Literal) or not isinstance(p, rdflib.URIRef):
        return None
    return ox.Triple(to_ox(s), to_ox(p), to_ox(o))
