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

from ekb.sparql_lexer import NAME, OP, VAR, WS, has_codepoint_escapes, read

WINDOW = 1 << 19  # distinct triples per generation of digests; two generations are kept
MAX_TEMPLATE = 64  # triples of a template planned so (each costs a few microseconds per solution in Python)


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
    if reading.stopped_at is not None or reading.forks:
        return None
    tokens = [t for t in reading.tokens if t[0] != WS]
    keywords = [i for i, t in enumerate(tokens) if t[0] == NAME and t[3] == 0
                and reading.value(t).lower() not in ("prefix", "base")]
    if not keywords or reading.value(tokens[keywords[0]]).lower() != "construct":
        return None
    at = keywords[0]
    construct = tokens[at]
    if at + 1 < len(tokens) and reading.value(tokens[at + 1]) == "{":  # CONSTRUCT { template } ... WHERE { ... }
        opening = at + 1
        rest_from = None
    else:  # the short form, CONSTRUCT WHERE { template } (FROM clauses may come between)
        where = next((i for i in keywords[1:] if reading.value(tokens[i]).lower() == "where"), None)
        if where is None or where + 1 >= len(tokens) or reading.value(tokens[where + 1]) != "{":
            return None
        opening = where + 1
        rest_from = construct[2]
    closing = next((i for i in range(opening + 1, len(tokens)) if tokens[i][0] == OP
                    and reading.value(tokens[i]) == "}" and tokens[i][3] == tokens[opening][3] + 1), None)
    if closing is None:
        return None
    names = list(dict.fromkeys(reading.value(t)[1:] for t in tokens[opening + 1:closing] if t[0] == VAR))
    if not names:
        return None
    prologue, body = sparql[:construct[1]], sparql[tokens[opening][2]:tokens[closing][1]]
    template = _template(prologue, body, names, base_iri)
    if template is None:
        return None
    projection = "SELECT " + " ".join(f"?{name}" for name in names) + " "
    rest = sparql[rest_from:] if rest_from is not None else sparql[tokens[closing][2]:]
    return Plan(prologue + projection + rest, *template)


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
