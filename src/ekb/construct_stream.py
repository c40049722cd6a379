"""A CONSTRUCT answered in memory that does not grow with the answer.

pyoxigraph keeps every triple a CONSTRUCT has emitted, so as to emit each once: a CONSTRUCT of 10^6 triples holds
about 680 MiB until it ends. A streamed answer is instead evaluated as the SELECT of its template's variables, and
the template is instantiated here as the solutions come, as SPARQL 1.1 §16.2 says (a fresh blank node per
solution for each of the template's blank nodes; a triple with an unbound variable, or a literal or blank node
where the position does not allow one, left out). Duplicates are dropped within a window of the last
`WINDOW` to `2 * WINDOW` distinct triples, kept as 16-byte digests (at most about 100 MiB): so an answer of up to
`WINDOW` distinct triples is exactly the engine's, and past that a triple far apart from its twin may come twice,
as from Jena's or RDF4J's streamed CONSTRUCT; the answer is the same RDF graph (a graph is a set; an N-Triples or
Turtle document may state a triple twice), but counts twice against the size limit.

The query is taken apart on the lexer's tokens, never on its raw text: the template (the braces after CONSTRUCT,
or the WHERE's braces in the short form), its variables, and the rest. The template's terms are read by
pyoxigraph itself (prefixes, base, blank nodes, literals' forms), by constructing it once with each variable bound
to a marker IRI. Whatever this does not plan for (no variables in the template, codepoint escapes or an ambiguous
`<` in the text, a triple term in the template, a SELECT the engine refuses, and a template of more than
`MAX_TEMPLATE` triples, whose instantiation here, a few microseconds per triple per solution, would make the
query several times slower) is answered by the engine's own CONSTRUCT: `plan` returns None, or the caller falls
back on a SyntaxError.

The time limit is the query process's: it is killed at its deadline, whatever it is doing."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pyoxigraph as ox

from ekb.sparql_lexer import NAME, OP, VAR, WS, Reading, has_codepoint_escapes, read

WINDOW = 1 << 19  # distinct triples per generation of digests; two generations are kept
MAX_TEMPLATE = 64  # triples of a template planned so (each costs a few microseconds per solution in Python)


@dataclass(frozen=True)
class Parts:
    """A CONSTRUCT query taken apart on its tokens (whitespace and comments left out of the token lists)."""

    prologue: str  # the text before CONSTRUCT
    template: str  # the text between the template's braces (the short form's: its WHERE's)
    template_tokens: list[tuple[str, int, int, int]]
    rest: str  # what follows the template (the short form: all after CONSTRUCT), from its first token
    rest_tokens: list[tuple[str, int, int, int]]
    short: bool  # CONSTRUCT WHERE { ... }

    def variables(self, text: str) -> list[str]:
        """The template's variables, each once, in order, without their `?` or `$`."""
        return list(dict.fromkeys(text[t[1] + 1:t[2]] for t in self.template_tokens if t[0] == VAR))


def parts(sparql: str, reading: Reading | None = None) -> Parts | None:
    """The parts of a CONSTRUCT query (its first CONSTRUCT outside any bracket), or None; `reading`: the text's, if
    read already. The one reading of a CONSTRUCT's shape: a streamed answer's plan (`plan`) and a remote store's
    paged dump (`remote.pageable_construct`) both start from it."""
    reading = reading or read(sparql)
    tokens = [t for t in reading.tokens if t[0] != WS]
    words = [reading.value(t).lower() if t[0] in (NAME, OP) else "" for t in tokens]
    at = next((i for i, t in enumerate(tokens) if t[0] == NAME and t[3] == 0 and words[i] == "construct"), None)
    if at is None:
        return None
    short = words[at + 1:at + 2] != ["{"]
    if short:  # CONSTRUCT WHERE { template } (FROM clauses may come between)
        where = next((i for i in range(at + 1, len(tokens)) if tokens[i][3] == 0 and words[i] == "where"), None)
        if where is None or words[where + 1:where + 2] != ["{"]:
            return None
        opening = where + 1
    else:  # CONSTRUCT { template } ... WHERE { ... }
        opening = at + 1
    closing = next((i for i in range(opening + 1, len(tokens)) if tokens[i][0] == OP and words[i] == "}"
                    and tokens[i][3] == tokens[opening][3] + 1), None)
    if closing is None:
        return None
    rest_tokens = tokens[at + 1:] if short else tokens[closing + 1:]
    return Parts(sparql[:tokens[at][1]], sparql[tokens[opening][2]:tokens[closing][1]], tokens[opening + 1:closing],
                 sparql[rest_tokens[0][1]:] if rest_tokens else "", rest_tokens, short)


@dataclass(frozen=True)
class Plan:
    """A CONSTRUCT as the SELECT of its template's variables (`select`) and its template, each variable there
    as the marker IRI `markers[name]`."""

    select: str
    template: tuple[ox.Triple, ...]
    markers: dict[str, ox.NamedNode]


def plan(sparql: str, base_iri: str | None = None) -> Plan | None:
    """The plan for a CONSTRUCT query, or None (not a CONSTRUCT, or not one this plans for: see the module)."""
    if has_codepoint_escapes(sparql):
        return None
    reading = read(sparql)
    found = parts(sparql, reading) if reading.stopped_at is None and not reading.forks else None
    if found is None:
        return None
    names = found.variables(sparql)
    if not names:
        return None
    template = _template(found.prologue, found.template, names, base_iri)
    if template is None:
        return None
    return Plan(found.prologue + "SELECT " + " ".join(f"?{name}" for name in names) + " " + found.rest, *template)


def _template(prologue: str, body: str, names: list[str],
              base_iri: str | None) -> tuple[tuple[ox.Triple, ...], dict[str, ox.NamedNode]] | None:
    """The template's triples as pyoxigraph reads them, each variable bound to a marker IRI no query names."""
    markers = {name: ox.NamedNode(f"urn:uuid:{uuid.uuid4()}") for name in names}
    row = " ".join(str(marker) for marker in markers.values())
    query = (f"{prologue}CONSTRUCT {{{body}\n}} WHERE {{ VALUES ({' '.join('?' + n for n in names)}) {{ ({row}) }} }}")
    try:
        triples = tuple(ox.Store().query(query, base_iri=base_iri))
    except SyntaxError:
        return None
    if len(triples) > MAX_TEMPLATE or any(isinstance(term, ox.Triple) for triple in triples for term in triple):
        return None
    return triples, markers


class TemplateAnswer:
    """The SELECT's solutions as the CONSTRUCT's triples, serialised as they come (what `QueryTriples.serialize`
    does, with the memory bounded)."""

    def __init__(self, solutions: ox.QuerySolutions, plan: Plan):
        self.solutions, self.plan = solutions, plan

    def serialize(self, output, format: ox.RdfFormat) -> None:  # noqa: A002 (the engine's name)
        ox.serialize(self.triples(), output, format)

    def triples(self) -> Iterator[ox.Triple]:
        positions = {marker: index for index, marker in enumerate(self.plan.markers.values())}  # SELECT's order
        blanks = {term for triple in self.plan.template for term in triple if isinstance(term, ox.BlankNode)}
        template = [(tuple(positions.get(term, term) for term in triple), any(term in blanks for term in triple))
                    for triple in self.plan.template]
        recent: set[bytes] = set()
        older: set[bytes] = set()
        for solution in self.solutions:
            fresh = {blank: ox.BlankNode() for blank in blanks}
            for pattern, new_blank in template:
                subject, predicate, obj = (solution[term] if isinstance(term, int) else fresh.get(term, term)
                                           for term in pattern)
                if (obj is None or not isinstance(predicate, ox.NamedNode)
                        or not isinstance(subject, ox.NamedNode | ox.BlankNode)):
                    continue
                triple = ox.Triple(subject, predicate, obj)
                if not new_blank:  # one with this solution's fresh blank node can repeat only within the solution
                    key = hashlib.blake2b(str(triple).encode(), digest_size=16).digest()
                    if key in recent or key in older:
                        continue
                    recent.add(key)
                    if len(recent) >= WINDOW:
                        older, recent = recent, set()
                yield triple
