"""The rules of `ekb.rules_in_engine`, evaluated in this process over premises a load already holds.

A first load (or a full reload) onto a remote engine has every premise in hand: the N-Triples lines it has just
sent to its staging graphs, or to the graphs new to the store that it fills (`RemoteStore.lines_sent`).
Reasoning over those here costs a few seconds of this process while the engine is busy storing them; the same
rules as SPARQL updates in the engine cost 33 s at 10^6 triples on Virtuoso (issue 19). The rules and their
meaning are `rules_in_engine`'s: the same schema, compiled by the same function, the same refusals
(`NotCovered`), the same filters; tests compare the three (these, the engine's, `reasonable`) on the shipped
model, generated data and the edge cases.

The premises are read as the engine's rules read them (`PREMISE_FORM`: links between resources, anything said of
the vocabulary), from the lines as pyoxigraph wrote them (subject, predicate and object separated by one space;
only the object, a literal, may hold one). One case is refused rather than guessed: a derived link to a literal
from something not of the vocabulary (only a transitive property can make one), which may equal an asserted
literal value that is no premise. The literals are read in the forms sent, not those the engine keeps
(Virtuoso: `"0.20"^^xsd:decimal` -> `"0.2"`): a link derived to a vocabulary term's literal value could then
equal an asserted one in another form and be stored twice over (never seen in the model).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import pyoxigraph as ox

from ekb import rules_in_engine as rules

NAME = "in-process"
TYPE = b"<" + rules.TYPE.encode() + b">"
SUB_CLASS = b"<" + rules.SUB_CLASS.encode() + b">"
VOCABULARY = tuple(b"<" + ns.encode() for ns in rules.VOCABULARY)
NOT_NAMED = tuple(b"<" + ns.encode() for ns in rules.NOT_NAMED)
SCHEMA_OBJECTS = {b"<" + rules.TRANSITIVE.encode() + b">", b"<" + rules.SYMMETRIC.encode() + b">"}
AXIOMS = {b"<" + a.encode() + b">" for a in rules.AXIOMS}

Fact = tuple[bytes, bytes, bytes]


def term(iri: str) -> bytes:
    return b"<" + iri.encode() + b">"


def premises(lines: Iterable[bytes]) -> tuple[set[Fact], list[bytes]]:
    """(the facts the rules read, the lines stating an axiom in any form: `read_schema` judges those)."""
    facts: set[Fact] = set()
    axioms: list[bytes] = []
    for line in lines:
        s, p, rest = line.split(b" ", 2)
        o = rest[:-2]
        if p in AXIOMS or (p == TYPE and o in SCHEMA_OBJECTS):
            axioms.append(line)
        if o[:1] != b'"' or s.startswith(VOCABULARY):
            facts.add((s, p, o))
    return facts, axioms


def read_schema(facts: set[Fact], axiom_lines: list[bytes]) -> rules.Schema:
    """The compiled schema, or `NotCovered` for what the rules do not implement (as `rules.read_schema`)."""
    predicates, classes = {p for _, p, _ in facts}, {o for _, p, o in facts if p == TYPE}
    used = rules.Usage({p[1:-1].decode() for p in predicates},
                       {o[1:-1].decode() if o[:1] == b"<" else o.decode() for o in classes})
    parsed = [(t.subject, t.predicate.value, t.object) for t in
              ox.parse(b"\n".join(axiom_lines) + b"\n", format=ox.RdfFormat.N_TRIPLES)] if axiom_lines else []
    return rules.check_schema(used, parsed)


def entailments(lines: Iterable[bytes]) -> Iterator[bytes]:
    """The useful OWL 2 RL entailments of the premises (N-Triples lines, each without its line end), not asserted
    in them: what `rules_in_engine.materialise` writes to its target graph. As N-Triples, in two parts: the
    links, then the types and the class hierarchy (the first can be on its way while the second is computed).
    `NotCovered` comes before the first."""
    facts, axiom_lines = premises(lines)
    schema = read_schema(facts, axiom_lines)
    closure = property_closure(facts, schema)
    derived = closure - facts
    if any(o[:1] == b'"' and not s.startswith(VOCABULARY) for s, _, o in derived):
        raise rules.NotCovered("a transitive link to a literal value from a resource outside the vocabulary: "
                               "reasoned over where the literal values are")
    yield ntriples(derived)
    yield ntriples({(x, TYPE, d) for x, d in types(closure, schema)} - facts
                   | {(term(c), SUB_CLASS, term(d)) for c, d in schema.superclasses
                      if not c.startswith(rules.BUILT_IN)} - facts)


def ntriples(facts: Iterable[Fact]) -> bytes:
    """Kept as `rules.unuseful_cleanup` keeps: nothing about a blank node or a built-in term."""
    return b"".join(b"%s %s %s .\n" % f for f in facts
                    if not (f[0].startswith((b"_:", *NOT_NAMED)) or f[2].startswith(b"_:")))


def property_closure(facts: set[Fact], schema: rules.Schema) -> set[Fact]:
    """The facts with what the property rules and transitivity derive from them, to a fixed point (semi-naive:
    each round joins only the facts the round before added)."""
    rows: dict[bytes, list[tuple[bytes, bool]]] = defaultdict(list)
    for p, q, inverted in schema.properties:
        rows[term(p)].append((term(q), inverted))
    transitive = {term(t) for t in schema.transitive}
    after: dict[bytes, dict[bytes, set[bytes]]] = {t: defaultdict(set) for t in transitive}
    before: dict[bytes, dict[bytes, set[bytes]]] = {t: defaultdict(set) for t in transitive}
    closure = set(facts)

    def index(fact: Fact) -> None:
        s, p, o = fact
        if p in transitive:
            after[p][s].add(o)
            before[p][o].add(s)

    for fact in facts:
        index(fact)
    delta: Iterable[Fact] = facts
    while True:
        found: set[Fact] = set()
        for s, p, o in delta:
            for q, inverted in rows.get(p, ()):
                x, y = (o, s) if inverted else (s, o)
                if x[:1] != b'"':
                    found.add((x, q, y))
            if p in transitive:
                found.update((s, p, c) for c in after[p].get(o, ()))
                found.update((a, p, o) for a in before[p].get(s, ()))
        found -= closure
        if not found:
            return closure
        closure |= found
        for fact in found:
            index(fact)
        delta = found


def types(closure: set[Fact], schema: rules.Schema) -> set[tuple[bytes, bytes]]:
    """(thing, class) from class membership, domains and ranges, about named things, no trivial type."""
    def grouped(pairs: list[tuple[str, str]]) -> dict[bytes, list[bytes]]:
        return {term(key): [term(d) for d in ds] for key, ds in rules.types_given(pairs).items()}

    supers, domains, ranges = grouped(schema.superclasses), grouped(schema.domains), grouped(schema.ranges)
    typed: dict[bytes, set[bytes]] = defaultdict(set)  # class -> the things it is given to
    for s, p, o in closure:  # the things first, then each class once per distinct thing
        if p == TYPE and o in supers:
            for d in supers[o]:
                typed[d].add(s)
        if p in domains:
            for d in domains[p]:
                typed[d].add(s)
        if p in ranges:
            for d in ranges[p]:
                typed[d].add(o)
    return {(x, d) for d, things in typed.items() for x in things if named(x)}


def named(x: bytes) -> bool:
    return x[:1] == b"<" and not x.startswith(NOT_NAMED)
