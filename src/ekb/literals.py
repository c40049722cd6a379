"""Literal fidelity: which literals the store would not keep as written, said out loud.

pyoxigraph 0.5.13 (the newest release; oxigraph issue 526, open) keeps some typed literals only in a canonical
form, whatever the way in (load, bulk load, add, SPARQL Update): "7"^^xsd:int is read back as "7"^^xsd:integer,
"300"^^xsd:byte as "300"^^xsd:integer (an ill-formed byte becomes a well-formed integer), "1"^^xsd:boolean as
"true", "01"^^xsd:integer as "1", "1.50"^^xsd:decimal as "1.5". Parsing alone keeps every literal, so `ekb
validate FILES` validates files as written; what enters the store cannot be kept, so ekb reports it: the load
per file, the writes in their answer.

`store_rewrites` asks the engine itself: the distinct typed literals of a document make one round trip through a
scratch in-memory store, and those that come back different are the ones the store rewrites. No copy of the
engine's rules is kept here to drift from its next version.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

NQUADS = ox.RdfFormat.N_QUADS
# A typed literal as pyoxigraph's N-Triples/N-Quads writer puts it: "lexical"^^<datatype>, every inner quote
# escaped. A match can only begin at a literal's opening quote (IRIs and blank node labels hold no quote; inside
# a lexical form a quote is escaped, and escapes pair from the opening quote on), so the matches are exactly
# the typed literals of the document, quoted triples included. Strings and language-tagged strings are never
# written with ^^, and come back exactly as written.
TYPED_LITERAL = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"\^\^<[^>]*>')
XSD_IRI = re.compile(r"<http://www\.w3\.org/2001/XMLSchema#([^>]*)>")
SHOWN = 5  # rewrites listed in an answer or a load's output; the rest are counted
_SLOT, _PROBE = b"<urn:ekb:literal:", b"> <urn:ekb:literal-probe> "


@dataclass(frozen=True)
class Rewrite:
    """A literal the store keeps in another form: as written, as stored, where it first occurs (the subject and
    predicate of the triple that holds it) and in how many triples of the document."""

    original: ox.Literal
    stored: ox.Literal
    subject: ox.NamedNode | ox.BlankNode | ox.Triple
    predicate: ox.NamedNode
    occurrences: int = 1

    def __str__(self) -> str:
        return f"{self.original} -> {self.stored}"

    def shown(self) -> str:
        """For people: `"7"^^xsd:int -> "7"^^xsd:integer (at <subject> <predicate>)`."""
        return (f"{_short(self.original)} -> {_short(self.stored)} (at {_short(self.subject)} "
                f"{_short(self.predicate)})")

    def as_json(self) -> dict:
        return {"original": str(self.original), "stored": str(self.stored), "subject": _name(self.subject),
                "predicate": self.predicate.value, "occurrences": self.occurrences}


def _name(term) -> str:
    return term.value if isinstance(term, ox.NamedNode) else str(term)


def _short(term) -> str:
    """A term as N-Triples writes it, XSD datatypes as xsd:name."""
    return XSD_IRI.sub(r"xsd:\1", str(term))


def store_rewrites(statements: Iterable[ox.Triple | ox.Quad]) -> list[Rewrite]:
    """The literals of `statements` (triples or quads) that the store would keep in another form, in order of
    first occurrence."""
    return nquads_rewrites(ox.serialize(statements, format=NQUADS))


def file_rewrites(source: bytes | Path, fmt: ox.RdfFormat, base_iri: str | None = None) -> list[Rewrite]:
    """The same for an RDF document (bytes, or a file the parser streams)."""
    given = {"path": str(source)} if isinstance(source, Path) else {"input": source}
    return nquads_rewrites(ox.serialize(ox.parse(**given, format=fmt, base_iri=base_iri), format=NQUADS))


def merged_rewrites(parts: Iterable[list[Rewrite]]) -> list[Rewrite]:
    """The rewrites of consecutive parts of one document as one list: each literal where it first occurs,
    counted in every part."""
    found: dict[ox.Literal, Rewrite] = {}
    for rewrites in parts:
        for rewrite in rewrites:
            first = found.get(rewrite.original)
            found[rewrite.original] = rewrite if first is None else dataclasses.replace(
                first, occurrences=first.occurrences + rewrite.occurrences)
    return list(found.values())


def nquads_rewrites(text: bytes) -> list[Rewrite]:
    """The rewritten literals of N-Quads as pyoxigraph writes them: the distinct typed literals are found in the
    text, make one round trip through a scratch store as N-Triples, and are compared as the same writer puts
    them; only the few that differ become Python terms."""
    text = b"".join(line + b"\n" for line in text.split(b"\n") if b'"^^<' in line)  # only lines that hold one
    counts: dict[bytes, int] = {}
    first: dict[bytes, int] = {}
    for match in TYPED_LITERAL.finditer(text):
        literal = match.group()
        if literal in counts:
            counts[literal] += 1
        else:
            counts[literal], first[literal] = 1, match.start()
    if not counts:
        return []
    originals = list(counts)
    scratch = ox.Store()
    scratch.load(b"".join(b"%s%d%s%s .\n" % (_SLOT, i, _PROBE, literal) for i, literal in enumerate(originals)),
                 format=ox.RdfFormat.N_TRIPLES)
    changed: dict[int, bytes] = {}
    for line in scratch.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()).splitlines():
        slot, _, stored = line.removesuffix(b" .").partition(_PROBE)
        index = int(slot[len(_SLOT):])
        if stored != originals[index]:
            changed[index] = stored
    if not changed:
        return []
    order = sorted(changed)  # the order of first occurrence
    lines = []
    for index in order:  # the line of each one's first occurrence, to say where it is
        start = first[originals[index]]
        lines.append(text[text.rfind(b"\n", 0, start) + 1:text.find(b"\n", start) + 1])
    holders = ox.parse(b"".join(lines), format=NQUADS)
    terms = ox.parse(b"".join(b"<urn:s> <urn:p> %s .\n<urn:s> <urn:p> %s .\n" % (originals[index], changed[index])
                              for index in order), format=ox.RdfFormat.N_TRIPLES)
    rewrites = []
    for index, holder in zip(order, holders, strict=True):
        original, stored = next(terms).object, next(terms).object
        rewrites.append(Rewrite(original, stored, holder.subject, holder.predicate, counts[originals[index]]))
    return rewrites


def occurrences(rewrites: Iterable[Rewrite]) -> int:
    """How many triples hold a rewritten literal."""
    return sum(r.occurrences for r in rewrites)


def rewrites_json(rewrites: list[Rewrite], limit: int = SHOWN) -> dict:
    """What an answer says about the literals a write had rewritten (nothing if none): the first few, how many
    distinct literals in all and in how many triples."""
    if not rewrites:
        return {}
    return {"rewrittenLiterals": [r.as_json() for r in rewrites[:limit]],
            "rewrittenLiteralCount": len(rewrites), "rewrittenTriples": occurrences(rewrites),
            "rewrittenLiteralsNote": "the store keeps these typed literals in its canonical form (datatype or "
                                     "lexical form changed): queries, exports and validation read the stored "
                                     "form; `ekb validate FILE` validates a file as written"}
