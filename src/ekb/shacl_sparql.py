"""SHACL validation run as SPARQL on the store's own engine: nothing but the results crosses the wire.

The other engines (`ekb.validation`) read every asserted graph into the ekb process; on a remote engine at 10^6
triples that is hundreds of megabytes sent and gigabytes of memory. Here the shapes are compiled once into
SPARQL SELECT queries, each returning only the violations of one constraint (focus node, value and what the
report needs), and run through the generic `Store` API, so the embedded store and any SPARQL 1.1 server do the
work where the data is.

What the queries read is what `validation.split_store` hands the other engines:
* the dataset: the asserted data graphs and the ontology (`config.is_data_graph`), given as the protocol's
  default graphs, never the inferred graph (OWL RL typing would make sh:class pass vacuously) nor ekb's own
  shapes and history graphs;
* the inverse- and sub-property closure (`ekb.closure`): instead of materialising it, each property step p of a
  path is compiled as the path (p|q|^r) of every property whose triples entail p-triples (the ontology's
  owl:inverseOf, rdfs:subPropertyOf, owl:equivalentProperty and owl:SymmetricProperty axioms, read once from
  the store). SHACL-SPARQL constraints are taken as written, with the same rewrite of their verbs (found by the
  project's SPARQL tokenizer, never by a regex over the text) and the shape's targets joined in at the start of
  their WHERE clause (what pre-binding $this means for a query that binds $this in its own patterns);
* rdfs:subClassOf (sh:class, class targets): each class's subclasses are read once from the same dataset.

Where an engine needs help the queries say so where it happens: a `FILTER NOT EXISTS` of a SPARQL constraint's
WHERE clause runs as a left join where that means the same (`antijoin_edits`); a triple whose verb is a
transitive path with an IRI at one end runs in a sub-select of its own (`isolation_edits`); constants are compared
without sameTerm, and a test of the focus node alone stays an expression (the last three: Virtuoso 7.2).

Limits, as measured: the store keeps literals by value ("4.0"^^xsd:decimal is read back as "4"), as every engine
reading from it does; sh:closed reads the asserted triples, not the closure; a widened verb (p|^q) matches a
fact stated both ways twice, so identical result rows are merged, but an aggregate in a SPARQL constraint
(SUM, COUNT without DISTINCT) over such a verb counts it twice; a sub-SELECT of a SPARQL constraint that uses
$this without binding it sees it unbound.

Supported: targets (sh:targetClass with subclasses, implicit class targets, sh:targetNode, sh:targetSubjectsOf,
sh:targetObjectsOf); paths (predicate, inverse, sequence, alternative, zeroOrMore, oneOrMore, zeroOrOne); the
core constraints class, datatype, nodeKind, minCount, maxCount (up to MAX_COUNT), min/maxInclusive,
min/maxExclusive, min/maxLength, pattern (+ flags), languageIn, uniqueLang, in, hasValue, equals, disjoint,
lessThan, lessThanOrEquals, node, property (of node shapes), not, and, or, xone, qualifiedValueShape with
qualifiedMin/MaxCount, closed (+ ignoredProperties); sh:deactivated, sh:severity, sh:message; SHACL-SPARQL
sh:sparql with sh:select and sh:prefixes. Anything else is refused when the shapes are compiled, in one line
naming the shape and the feature: a constraint this engine cannot check is never skipped in silence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import pyoxigraph as ox
import rdflib

from ekb.closure import read_entailments
from ekb.config import RDF_TYPE, RDFS_SUBCLASS, SH, is_data_graph
from ekb.errors import InputError
from ekb.sparql_lexer import IRI, NAME, NUM, PN, STR, VAR, read
from ekb.store import Store

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
TRUE = ox.Literal("true", datatype=ox.NamedNode(XSD + "boolean"))
MAX_COUNT = 8  # counts are checked as that many distinct values: a join per value

# Datatypes SPARQL can cast to: a literal of one of them is well-formed when the cast of its lexical form works.
CASTABLE = frozenset(XSD + t for t in ("boolean", "integer", "decimal", "float", "double", "dateTime"))
# Datatypes derived from xsd:integer: well-formed when the cast to xsd:integer works and the value is in range.
INTEGER_RANGES = {XSD + name: bounds for name, bounds in {
    "byte": (-128, 127), "short": (-32768, 32767), "int": (-2**31, 2**31 - 1), "long": (-2**63, 2**63 - 1),
    "unsignedByte": (0, 255), "unsignedShort": (0, 65535), "unsignedInt": (0, 2**32 - 1), "unsignedLong": (0, 2**64 - 1),
    "positiveInteger": (1, None), "nonNegativeInteger": (0, None), "negativeInteger": (None, -1),
    "nonPositiveInteger": (None, 0)}.items()}
NODE_KINDS = {
    "IRI": "isIRI({v})", "BlankNode": "isBlank({v})", "Literal": "isLiteral({v})",
    "BlankNodeOrIRI": "(isBlank({v}) || isIRI({v}))", "BlankNodeOrLiteral": "(isBlank({v}) || isLiteral({v}))",
    "IRIOrLiteral": "(isIRI({v}) || isLiteral({v}))",
}
COMPARISONS = {"minInclusive": ">=", "maxInclusive": "<=", "minExclusive": ">", "maxExclusive": "<"}
TARGETS = ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf")
# sh: predicates of a shape that are no constraint (or that are read with the constraint they belong to).
NOT_CONSTRAINTS = frozenset(SH + p for p in (
    "name", "description", "order", "group", "defaultValue", "message", "severity", "deactivated", "path",
    *TARGETS, "qualifiedMinCount", "qualifiedMaxCount", "qualifiedValueShapesDisjoint", "flags",
    "ignoredProperties", "prefixes", "declare"))


class Unsupported(InputError):
    """The shapes use something this engine does not compile: one line naming the shape and the feature."""


# --- the shapes graph ---------------------------------------------------------------------------------------

class Shapes:
    """The shapes graph as pyoxigraph's parser reads N-Triples: blank node labels are kept, so the report's
    sh:sourceShape and sh:resultPath name the shapes' own nodes (as the other engines' reports do), and every
    literal stays as written (a store would read "1"^^xsd:boolean as true, which SHACL's switches are not)."""

    def __init__(self, shapes_nt: bytes):
        self.by_subject: dict[ox.Term, list[tuple[str, ox.Term]]] = {}
        self.by_predicate: dict[str, list[tuple[ox.Term, ox.Term]]] = {}
        triples = ox.parse(shapes_nt, format=ox.RdfFormat.N_TRIPLES) if shapes_nt else []
        for triple in triples:
            self.by_subject.setdefault(triple.subject, []).append((triple.predicate.value, triple.object))
            self.by_predicate.setdefault(triple.predicate.value, []).append((triple.subject, triple.object))

    def about(self, node: ox.Term) -> list[tuple[str, ox.Term]]:
        """(predicate IRI, object) of every triple about `node`."""
        return self.by_subject.get(node, [])

    def objects(self, node: ox.Term, name: str) -> list[ox.Term]:
        iri = predicate(name)
        return list(dict.fromkeys(o for p, o in self.about(node) if p == iri))

    def value(self, node: ox.Term, name: str) -> ox.Term | None:
        return next(iter(self.objects(node, name)), None)

    def subjects(self, name: str, value: ox.Term | None = None) -> list[ox.Term]:
        return list(dict.fromkeys(s for s, o in self.by_predicate.get(predicate(name), ()) if value in (None, o)))

    def has_type(self, node: ox.Term, name: str) -> bool:
        return ox.NamedNode(predicate(name)) in self.objects(node, "rdf:type")

    def items(self, head: ox.Term | None) -> list[ox.Term]:
        """An RDF list's members."""
        found: list[ox.Term] = []
        while head is not None and head != ox.NamedNode(RDF + "nil") and len(found) < 10_000:
            found.append(self.value(head, "rdf:first"))
            head = self.value(head, "rdf:rest")
        return found

    def triples_from(self, node: ox.Term) -> Iterator[tuple[ox.Term, ox.NamedNode, ox.Term]]:
        """The triples describing a blank node (a path) and the blank nodes it reaches."""
        seen, frontier = {node}, [node]
        while frontier:
            subject = frontier.pop()
            for p, o in self.about(subject):
                yield subject, ox.NamedNode(p), o
                if isinstance(o, ox.BlankNode) and o not in seen:
                    seen.add(o)
                    frontier.append(o)


def predicate(name: str) -> str:
    """`sh:x` and `rdf:x` as IRIs."""
    prefix, _, local = name.partition(":")
    return {"sh": SH, "rdf": RDF, "rdfs": "http://www.w3.org/2000/01/rdf-schema#", "owl": OWL}[prefix] + local


def is_true(shapes: Shapes, node: ox.Term, name: str) -> bool:
    """A switch is on only when its value is the RDF term true (see `validation.prepared_shapes`)."""
    return TRUE in shapes.objects(node, name)


# --- compiled checks ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Violation:
    """A graph pattern that holds when `focus` violates one constraint; it binds `value` when the constraint
    is about a value node, `path` when the result's path varies (sh:closed)."""

    pattern: str
    component: str  # the local name of the constraint component, e.g. "MinCountConstraintComponent"
    value: str | None = None
    path: str | None = None
    extra: tuple[str, ...] = ()  # more variables that tell results apart (uniqueLang's language)
    expression: str | None = None  # the same as a filter expression, when it tests the focus node alone


@dataclass(frozen=True)
class Check:
    """One SELECT on the store and how each of its rows becomes a sh:ValidationResult."""

    query: str
    shape: ox.Term
    component: str
    severity: ox.Term
    path: ox.Term | None
    messages: tuple[ox.Term, ...]
    constraint: ox.Term | None = None  # sh:sourceConstraint (a SHACL-SPARQL constraint)
    templated: bool = False  # a SPARQL constraint's messages name its variables as {?name}


@dataclass
class Compiler:
    """Compiles shapes to SPARQL over the store's dataset, with each property step widened to its closure."""

    shapes: Shapes
    steps: dict[str, str]  # property IRI -> the SPARQL path of everything that entails it
    subclasses: dict[str, tuple[str, ...]]  # class IRI -> it and its subclasses in the dataset
    counter: int = 0
    active: list[ox.Term] = field(default_factory=list)  # the shapes being compiled, for recursion

    def fresh(self, base: str) -> str:
        self.counter += 1
        return f"?{base}_{self.counter}"

    def refuse(self, shape: ox.Term, feature: str) -> Unsupported:
        return Unsupported(f"shape {shape}: {feature} is not supported by the SPARQL validation engine")

    # paths

    def step(self, iri: str) -> str:
        return self.steps.get(iri, f"<{iri}>")

    def path(self, shape: ox.Term, node: ox.Term, depth: int = 0) -> str:
        """The SPARQL property path of a SHACL path, each predicate widened to its closure."""
        if depth > 50:
            raise self.refuse(shape, "a path nested more than 50 deep")
        if isinstance(node, ox.NamedNode):
            return self.step(node.value)
        if not isinstance(node, ox.BlankNode):
            raise self.refuse(shape, f"the path {node}")
        if self.shapes.value(node, "rdf:first") is not None:
            parts = [self.path(shape, p, depth + 1) for p in self.shapes.items(node)]
            if len(parts) < 2:
                raise self.refuse(shape, "a sequence path of fewer than two steps")
            return "(" + "/".join(parts) + ")"
        kinds = {p.removeprefix(SH): o for p, o in self.shapes.about(node)}
        if len(kinds) != 1:
            raise self.refuse(shape, f"the path {node} ({', '.join(sorted(kinds)) or 'empty'})")
        [(kind, inner)] = kinds.items()
        if kind == "alternativePath":
            parts = [self.path(shape, p, depth + 1) for p in self.shapes.items(inner)]
            if len(parts) < 2:
                raise self.refuse(shape, "an alternative path of fewer than two members")
            return "(" + "|".join(parts) + ")"
        modifiers = {"inversePath": "^({})", "zeroOrMorePath": "({})*", "oneOrMorePath": "({})+",
                     "zeroOrOnePath": "({})?"}
        if kind not in modifiers:
            raise self.refuse(shape, f"the path kind sh:{kind.rsplit('#', 1)[-1]}")
        return modifiers[kind].format(self.path(shape, inner, depth + 1))

    # targets

    def targets(self, shape: ox.Term) -> str | None:
        """A pattern binding ?this to each target of the shape (None: it has none)."""
        parts = []
        for cls in self.shapes.objects(shape, "sh:targetClass"):
            parts.append(self.instance_of(shape, "?this", cls))
        if self.shapes.has_type(shape, "rdfs:Class") or self.shapes.has_type(shape, "owl:Class"):
            parts.append(self.instance_of(shape, "?this", shape))
        nodes = [self.constant(shape, n) for n in self.shapes.objects(shape, "sh:targetNode")]
        if nodes:
            parts.append(f"VALUES ?this {{ {' '.join(nodes)} }}")
        for prop in self.shapes.objects(shape, "sh:targetSubjectsOf"):
            parts.append(f"?this {self.step(self.iri(shape, prop))} ?target_object . FILTER(!isLiteral(?this))")
        for prop in self.shapes.objects(shape, "sh:targetObjectsOf"):
            parts.append(f"?target_subject {self.step(self.iri(shape, prop))} ?this .")
        if not parts:
            return None
        return " UNION ".join(f"{{ {p} }}" for p in parts)

    def instance_of(self, shape: ox.Term, node: str, cls: ox.Term) -> str:
        """`node` is an instance of `cls` or of one of its subclasses, read from the dataset before compiling
        (not the path rdf:type/rdfs:subClassOf*, which Virtuoso 7.2 answers wrongly when a query holds it twice:
        a class target and an sh:class test; and a list of types is a lookup per type on every engine)."""
        classes = self.subclasses.get(self.iri(shape, cls), (self.iri(shape, cls),))
        if len(classes) == 1:
            return f"{node} <{RDF_TYPE}> <{classes[0]}> ."
        kind = self.fresh("class")
        return f"{node} <{RDF_TYPE}> {kind} . VALUES {kind} {{ {' '.join(f'<{c}>' for c in classes)} }}"

    @staticmethod
    def same(var: str, constant: str, term: ox.Term) -> str:
        """`var` is the term `constant`, written without sameTerm, which Virtuoso 7.2 never finds true between a
        variable and a constant: an IRI by `=` (RDF term equality, sameTerm for IRIs), a literal by its parts."""
        if isinstance(term, ox.NamedNode):
            return f"(isIRI({var}) && {var} = {constant})"
        lexical = str(ox.Literal(term.value))
        if term.language:
            language = ox.Literal(term.language.lower())
            return f"(isLiteral({var}) && STR({var}) = {lexical} && LCASE(LANG({var})) = {language})"
        return (f"(isLiteral({var}) && LANG({var}) = \"\" && STR({var}) = {lexical} "
                f"&& DATATYPE({var}) = <{term.datatype.value}>)")

    def constant(self, shape: ox.Term, term: ox.Term) -> str:
        if isinstance(term, ox.BlankNode):
            raise self.refuse(shape, "a blank node as a constant (sh:in, sh:hasValue, a target)")
        return str(term)

    def iri(self, shape: ox.Term, term: ox.Term) -> str:
        if not isinstance(term, ox.NamedNode):
            raise self.refuse(shape, f"{term} where an IRI is expected")
        return term.value

    def integer(self, shape: ox.Term, name: str, term: ox.Term) -> int:
        try:
            number = int(term.value)
        except (AttributeError, ValueError):
            raise self.refuse(shape, f"sh:{name} {term}") from None
        return number

    # constraints

    def violations(self, shape: ox.Term, focus: str, with_properties: bool) -> list[Violation]:
        """Every way `focus` can violate the shape's own constraints (and its sh:property shapes' when
        `with_properties`: a node tested for conformance answers for them too)."""
        if shape in self.active:
            raise self.refuse(shape, "a recursive shape reference")
        self.active.append(shape)
        try:
            return list(self._violations(shape, focus, with_properties))
        finally:
            self.active.pop()

    def _violations(self, shape: ox.Term, focus: str, with_properties: bool) -> Iterator[Violation]:
        shapes = self.shapes
        path_node = shapes.value(shape, "sh:path")
        path = self.path(shape, path_node) if path_node is not None else None
        names = sorted({p for p, _ in shapes.about(shape) if p.startswith(SH) and p not in NOT_CONSTRAINTS})
        if not with_properties:  # a shape with targets: `checks` runs its property shapes and SPARQL constraints
            names = [n for n in names if n not in (SH + "property", SH + "sparql")]
        for name in names:
            local = name.removeprefix(SH)
            for parameter in shapes.objects(shape, "sh:" + local):
                yield from self.constraint(shape, local, parameter, focus, path)

    def constraint(self, shape: ox.Term, local: str, parameter: ox.Term, focus: str,
                   path: str | None) -> Iterator[Violation]:
        """The violations of one constraint parameter."""
        shapes = self.shapes
        value = self.fresh("value") if path else focus
        values = f"{focus} {path} {value} ." if path else ""

        def test(condition: str, component: str, value: str | None = None) -> Violation:
            """A constraint on the focus node as one filter (kept as an expression for conformance tests)."""
            return Violation(f"FILTER({condition})", component, value, expression=f"({condition})")

        def per_value(condition: str, component: str) -> Violation:
            return Violation(f"{values} FILTER({condition})", component, value,
                             expression=None if path else f"({condition})")

        if local == "property":  # each value node conforms to the property shape
            if not is_true(shapes, parameter, "sh:deactivated"):
                for inner in self.violations(parameter, value, True):
                    yield Violation(f"{values} {inner.pattern}", inner.component, inner.value, inner.path, inner.extra,
                                    None if path else inner.expression)
        elif local == "sparql":
            raise self.refuse(shape, "sh:sparql in a shape that is tested for conformance (sh:node, sh:or, ...)")
        elif local == "class":
            yield per_value(f"NOT EXISTS {{ {self.instance_of(shape, value, parameter)} }}",
                            "ClassConstraintComponent")
        elif local == "datatype":
            datatype = self.iri(shape, parameter)
            well_formed = (f" && COALESCE(STRLEN(STR(<{datatype}>(STR({value})))) >= 0, false)"
                           if datatype in CASTABLE else "")
            if datatype in INTEGER_RANGES:
                number = f"<{XSD}integer>(STR({value}))"
                low, high = INTEGER_RANGES[datatype]
                well_formed = " && COALESCE(" + " && ".join(
                    [f"STRLEN(STR({number})) >= 0"] + ([f"{number} >= {low}"] if low is not None else [])
                    + ([f"{number} <= {high}"] if high is not None else [])) + ", false)"
            yield per_value(f"!(isLiteral({value}) && DATATYPE({value}) = <{datatype}>{well_formed})",
                            "DatatypeConstraintComponent")
        elif local == "nodeKind":
            kind = self.iri(shape, parameter).removeprefix(SH)
            if kind not in NODE_KINDS:
                raise self.refuse(shape, f"sh:nodeKind {parameter}")
            yield per_value("!" + NODE_KINDS[kind].format(v=value), "NodeKindConstraintComponent")
        elif local in COMPARISONS:
            yield per_value(f"!COALESCE({value} {COMPARISONS[local]} {self.constant(shape, parameter)}, false)",
                            local[0].upper() + local[1:] + "ConstraintComponent")
        elif local in ("minLength", "maxLength"):
            operator = ">=" if local == "minLength" else "<="
            n = self.integer(shape, local, parameter)
            yield per_value(f"isBlank({value}) || !COALESCE(STRLEN(STR({value})) {operator} {n}, false)",
                            local[0].upper() + local[1:] + "ConstraintComponent")
        elif local == "pattern":
            flags = shapes.value(shape, "sh:flags")
            arguments = f"{self.string(parameter)}" + (f", {self.string(flags)}" if flags is not None else "")
            yield per_value(f"isBlank({value}) || !COALESCE(REGEX(STR({value}), {arguments}), false)",
                            "PatternConstraintComponent")
        elif local == "languageIn":
            tags = [self.string(t) for t in shapes.items(parameter)]
            matches = " || ".join(f"langMatches(LANG({value}), {t})" for t in tags) or "false"
            yield per_value(f"!COALESCE({matches}, false)", "LanguageInConstraintComponent")
        elif local == "in":
            allowed = " || ".join(self.same(value, self.constant(shape, t), t) for t in shapes.items(parameter))
            yield per_value(f"!({allowed or 'false'})", "InConstraintComponent")
        elif local == "node":
            yield per_value(f"!{self.conforms(parameter, value)}", "NodeConstraintComponent")
        elif local == "not":
            yield per_value(self.conforms(parameter, value), "NotConstraintComponent")
        elif local in ("and", "or", "xone"):
            members = [self.conforms(m, value) for m in shapes.items(parameter)]
            if local == "and":
                condition = "!(" + (" && ".join(members) or "true") + ")"
            elif local == "or":
                condition = "!(" + (" || ".join(members) or "false") + ")"
            else:
                condition = "(" + (" + ".join(f"IF({m}, 1, 0)" for m in members) or "0") + ") != 1"
            yield per_value(condition, local[0].upper() + local[1:] + "ConstraintComponent")
        elif local in ("minCount", "maxCount"):
            if path is None:
                raise self.refuse(shape, f"sh:{local} on a node shape")
            n = self.integer(shape, local, parameter)
            if local == "minCount" and n > 0:
                yield test(f"NOT EXISTS {{ {self.distinct_values(shape, focus, path, n)} }}",
                           "MinCountConstraintComponent")
            elif local == "maxCount":
                yield test(f"EXISTS {{ {self.distinct_values(shape, focus, path, n + 1)} }}",
                           "MaxCountConstraintComponent")
        elif local == "qualifiedValueShape":
            if path is None:
                raise self.refuse(shape, "sh:qualifiedValueShape on a node shape")
            siblings = []
            if is_true(shapes, shape, "sh:qualifiedValueShapesDisjoint"):  # and conforms to no sibling's shape
                siblings = [q for parent in shapes.subjects("sh:property", shape)
                            for sibling in shapes.objects(parent, "sh:property") if sibling != shape
                            for q in shapes.objects(sibling, "sh:qualifiedValueShape")]

            def qualified(v: str, shape_in: ox.Term = parameter) -> str:
                return " && ".join([self.conforms(shape_in, v)] + [f"!{self.conforms(s, v)}" for s in siblings])

            for bound in ("qualifiedMinCount", "qualifiedMaxCount"):
                for count in shapes.objects(shape, "sh:" + bound):
                    n = self.integer(shape, bound, count) + (bound == "qualifiedMaxCount")
                    exists = "NOT EXISTS" if bound == "qualifiedMinCount" else "EXISTS"
                    if n > 0:
                        within = self.distinct_values(shape, focus, path, n, qualified)
                        yield test(f"{exists} {{ {within} }}", bound[0].upper() + bound[1:] + "ConstraintComponent")
        elif local == "hasValue":
            constant = self.constant(shape, parameter)
            condition = (f"NOT EXISTS {{ {focus} {path} {constant} }}" if path
                         else f"!{self.same(focus, constant, parameter)}")
            yield test(condition, "HasValueConstraintComponent")
        elif local == "uniqueLang":
            if is_true(shapes, shape, "sh:uniqueLang"):
                if path is None:
                    raise self.refuse(shape, "sh:uniqueLang on a node shape")
                other, lang = self.fresh("other"), self.fresh("lang")
                yield Violation(f"{values} {focus} {path} {other} . BIND(LCASE(LANG({value})) AS {lang}) "
                                f"FILTER({lang} != \"\" && !sameTerm({value}, {other}) && LCASE(LANG({other})) = {lang})",
                                "UniqueLangConstraintComponent", extra=(lang,))
        elif local in ("equals", "disjoint", "lessThan", "lessThanOrEquals"):
            other_step = self.step(self.iri(shape, parameter))
            other = self.fresh("other")
            theirs = f"{focus} {other_step} {other} ."
            if local == "equals":  # a value missing on either side; a node shape's only value is its focus node
                if path:
                    yield Violation(f"{values} FILTER NOT EXISTS {{ {focus} {other_step} {value} }}",
                                    "EqualsConstraintComponent", value)
                    yield Violation(f"{theirs} FILTER NOT EXISTS {{ {focus} {path} {other} }}",
                                    "EqualsConstraintComponent", other)
                else:
                    yield test(f"NOT EXISTS {{ {focus} {other_step} {focus} }}", "EqualsConstraintComponent", focus)
                    yield Violation(f"{theirs} FILTER(!sameTerm({other}, {focus}))", "EqualsConstraintComponent", other)
            elif local == "disjoint":
                yield Violation(f"{values} {focus} {other_step} {value} .", "DisjointConstraintComponent", value)
            else:  # one result per pair that does not compare
                operator = "<" if local == "lessThan" else "<="
                yield Violation(f"{values} {theirs} FILTER(!COALESCE({value} {operator} {other}, false))",
                                local[0].upper() + local[1:] + "ConstraintComponent", value, extra=(other,))
        elif local == "closed":
            if is_true(shapes, shape, "sh:closed"):
                if path is not None:
                    raise self.refuse(shape, "sh:closed on a property shape")
                yield self.closed(shape, focus)
        else:
            raise self.refuse(shape, f"sh:{local}")

    def closed(self, shape: ox.Term, focus: str) -> Violation:
        allowed = [self.shapes.value(p, "sh:path") for p in self.shapes.objects(shape, "sh:property")]
        allowed = [str(p) for p in allowed if isinstance(p, ox.NamedNode)]
        for head in self.shapes.objects(shape, "sh:ignoredProperties"):
            allowed += [self.constant(shape, t) for t in self.shapes.items(head)]
        value, path = self.fresh("value"), self.fresh("path")
        names = ", ".join(allowed)
        condition = f"FILTER({path} NOT IN ({names}))" if names else ""
        return Violation(f"{focus} {path} {value} . {condition}", "ClosedConstraintComponent", value, path)

    def distinct_values(self, shape: ox.Term, focus: str, path: str, n: int, condition=None) -> str:
        """A pattern with `n` pairwise distinct values of the path (each meeting `condition`, if given)."""
        if n > MAX_COUNT:
            raise self.refuse(shape, f"a count of more than {MAX_COUNT - 1} values")
        names = [self.fresh("v") for _ in range(n)]
        parts = [f"{focus} {path} {v} ." for v in names]
        parts += [f"FILTER({condition(v)})" for v in names] if condition else []
        parts += [f"FILTER(!sameTerm({a}, {b}))" for i, a in enumerate(names) for b in names[i + 1:]]
        return " ".join(parts)

    def conforms(self, shape: ox.Term, var: str) -> str:
        """An expression: `var` conforms to `shape` (no violation of any of its constraints)."""
        if is_true(self.shapes, shape, "sh:deactivated"):
            return "true"
        # A test of the node alone stays an expression: `EXISTS { FILTER(...) }` is the same in SPARQL, but
        # Virtuoso 7.2 does not see the outer variable in a group that holds nothing but the filter.
        tests = [v.expression or f"EXISTS {{ {v.pattern} }}" for v in self.violations(shape, var, True)]
        if not tests:
            return "true"
        return "!(" + " || ".join(tests) + ")"

    @staticmethod
    def string(term: ox.Term) -> str:
        if not isinstance(term, ox.Literal):
            raise Unsupported(f"{term} where a string is expected")
        return str(ox.Literal(term.value))

    # the checks run on the store

    def checks(self, focus_nodes: list[str] | None) -> list[Check]:
        """One or a few SELECTs per constraint of each shape that has targets."""
        found = []
        restrict = (f"VALUES ?this {{ {' '.join(str(ox.NamedNode(n)) for n in focus_nodes)} }}"
                    if focus_nodes is not None else "")
        for shape in self.shapes_with_targets():
            if is_true(self.shapes, shape, "sh:deactivated"):
                continue
            target = f"{{ SELECT DISTINCT ?this WHERE {{ {restrict} {self.targets(shape)} }} }}"
            found += self.family_checks(shape, target)
        return found

    def family_checks(self, shape: ox.Term, target: str, depth: int = 0, outers: tuple[str, ...] = ()) -> list[Check]:
        """The checks of a shape and of its sh:property shapes: those of a node shape have the same focus
        nodes, those of a property shape have its value nodes as theirs."""
        if is_true(self.shapes, shape, "sh:deactivated"):
            return []
        if depth > 20:
            raise self.refuse(shape, "sh:property shapes nested more than 20 deep")
        found = self.shape_checks(shape, target, outers)
        for sparql in self.shapes.objects(shape, "sh:sparql"):
            if not is_true(self.shapes, sparql, "sh:deactivated"):
                found.append(self.sparql_check(shape, sparql, target))
        path_node = self.shapes.value(shape, "sh:path")
        if path_node is not None:
            # A property shape's property shapes validate its value nodes, once for each focus node that
            # reaches them (as the other engines report them): the outer focus nodes are kept in the rows.
            outer = self.fresh("outer")
            kept = " ".join(outers)
            target = (f"{{ SELECT DISTINCT ?this {outer} {kept} WHERE {{ {{ SELECT (?this AS {outer}) {kept} WHERE "
                      f"{{ {target} }} }} {outer} {self.path(shape, path_node)} ?this }} }}")
            outers = (*outers, outer)
        for prop in self.shapes.objects(shape, "sh:property"):
            found += self.family_checks(prop, target, depth + 1, outers)
        return found

    def shapes_with_targets(self) -> list[ox.Term]:
        shapes = [s for t in TARGETS for s in self.shapes.subjects("sh:" + t)]
        for kind in ("sh:NodeShape", "sh:PropertyShape"):
            for shape in self.shapes.subjects("rdf:type", ox.NamedNode(predicate(kind))):
                if self.targets(shape) is not None:
                    shapes.append(shape)
        return list(dict.fromkeys(shapes))

    def shape_checks(self, shape: ox.Term, target: str, outers: tuple[str, ...] = ()) -> list[Check]:
        path = self.shapes.value(shape, "sh:path")
        severity = self.shapes.value(shape, "sh:severity") or ox.NamedNode(SH + "Violation")
        messages = tuple(self.shapes.objects(shape, "sh:message"))
        checks = []
        for violation in self.violations(shape, "?this", False):
            projection = ["?this", *(f"({v} AS ?{name})" for v, name in ((violation.value, "value"),
                                                                        (violation.path, "path")) if v),
                          *violation.extra, *outers]
            query = f"SELECT DISTINCT {' '.join(projection)} WHERE {{ {target} {violation.pattern} }}"
            checks.append(Check(query, shape, violation.component, severity, path, messages))
        return checks

    def sparql_check(self, shape: ox.Term, constraint: ox.Term, target: str) -> Check:
        select = self.shapes.value(constraint, "sh:select")
        known = {SH + p for p in ("select", "prefixes", "message", "deactivated")}
        unsupported = {p for p, _ in self.shapes.about(constraint) if p.startswith(SH)} - known
        if select is None or unsupported:
            raise self.refuse(shape, "a SPARQL constraint other than sh:select with sh:prefixes and sh:message ("
                              + ", ".join(sorted("sh:" + u.removeprefix(SH) for u in unsupported)) + ")")
        prefixes = self.prefixes(constraint)
        path_node = self.shapes.value(shape, "sh:path")
        path = self.path(shape, path_node) if path_node is not None else None
        query = rewrite_select(shape, select.value, prefixes, self.steps, path, target)
        severity = self.shapes.value(shape, "sh:severity") or ox.NamedNode(SH + "Violation")
        messages = tuple(self.shapes.objects(constraint, "sh:message")) or tuple(self.shapes.objects(shape, "sh:message"))
        return Check(query, shape, "SPARQLConstraintComponent", severity, path_node, messages, constraint,
                     templated=True)

    def prefixes(self, constraint: ox.Term) -> dict[str, str]:
        """The prefixes a SPARQL constraint declares: sh:declare of its sh:prefixes, through owl:imports."""
        found, frontier, seen = {}, list(self.shapes.objects(constraint, "sh:prefixes")), set()
        while frontier:
            node = frontier.pop()
            if node in seen:
                continue
            seen.add(node)
            frontier += self.shapes.objects(node, "owl:imports")
            for declaration in self.shapes.objects(node, "sh:declare"):
                prefix, namespace = self.shapes.value(declaration, "sh:prefix"), self.shapes.value(declaration,
                                                                                                   "sh:namespace")
                if prefix is not None and namespace is not None:
                    found[prefix.value] = namespace.value
        return found


# --- SHACL-SPARQL constraints -------------------------------------------------------------------------------

def rewrite_select(shape: ox.Term, text: str, prefixes: dict[str, str], steps: dict[str, str], path: str | None,
                   target: str) -> str:
    """A SPARQL constraint's SELECT as it runs on the store: its prologue, its verbs widened to their closure
    (`steps`), $PATH replaced by the shape's path, and the shape's targets joined in first in its WHERE clause.
    The positions come from the project's tokenizer and a small reading of the grammar's triple blocks."""
    prologue = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in prefixes.items())
    reading = read(prologue + text)
    if reading.stopped_at is not None:
        raise Unsupported(f"shape {shape}: its sh:select query does not parse")
    full = reading.text
    tokens = [(kind, full[start:end], start, end) for kind, start, end, _ in reading.tokens]
    declared = dict(prefixes)
    for i, (kind, value, *_ ) in enumerate(tokens[:-2]):
        if kind == NAME and value.lower() == "prefix" and tokens[i + 1][0] == PN and tokens[i + 2][0] == IRI:
            declared[tokens[i + 1][1].rstrip(":")] = tokens[i + 2][1][1:-1]
    edits: list[tuple[int, int, str]] = []

    def widen(kind: str, value: str, start: int, end: int) -> None:
        iri = value[1:-1] if kind == IRI else expand_pname(shape, value, declared)
        if iri in steps:
            edits.append((start, end, steps[iri]))

    for kind, value, start, end in tokens:
        if kind == VAR and value[1:] in ("shapesGraph", "currentShape"):
            raise Unsupported(f"shape {shape}: the SPARQL variable {value} is not supported by the SPARQL validation engine")
        if kind == VAR and value[1:] == "PATH":
            if path is None:
                raise Unsupported(f"shape {shape}: $PATH in a SPARQL constraint of a node shape")
            edits.append((start, end, path))
    where, antijoins, transitive = verbs(tokens, widen, shape)
    edits += antijoin_edits(tokens, where, antijoins)
    edits = isolation_edits(full, transitive, edits)
    edits.append((where, where, f" {target} "))
    for start, end, replacement in sorted(edits, reverse=True):
        full = full[:start] + replacement + full[end:]
    return full


def expand_pname(shape: ox.Term, pname: str, prefixes: dict[str, str]) -> str:
    prefix, _, local = pname.partition(":")
    if prefix not in prefixes:
        raise Unsupported(f"shape {shape}: its sh:select query uses the undeclared prefix {prefix}:")
    return prefixes[prefix] + local.replace("\\", "")


TERMS = frozenset((IRI, PN, VAR, STR, NUM, "bnode"))


@dataclass
class Pair:
    """One verb and its object in a triple block of a group, as offsets in the query's text: what
    `isolation_edits` needs to take a triple out of its block."""

    subject: tuple[str, int, int]  # the block's subject: (token kind, start, end)
    before: tuple[int, int] | None  # the `;` before the verb, if it is not the block's first
    verb: int  # where the verb starts
    transitive: bool = False  # the verb is a path with `*` or `+`
    object: tuple[str, int, int] | None = None  # a single-token object (None: a list, a blank node, a literal)
    after: tuple[int, int] | None = None  # the `;` after the object, if another verb follows


def verbs(tokens: list[tuple[str, str, int, int]], widen,
          shape: ox.Term) -> tuple[int, list[tuple[int, ...]], list[Pair]]:
    """Calls `widen` on every IRI in a verb position of the query's triple blocks (not inside a negated
    property set). Returns the offset just after the `{` that opens the query's WHERE clause, where each
    `FILTER NOT EXISTS { }` directly in that clause is: (start of FILTER, end of its `{`, start and end of its `}`),
    and the verb-object pairs of the groups' triple blocks whose verb is a transitive path (`*`, `+`).

    Frames: "clause" (a query's head and modifiers, brackets only), "group" and "blank" (triple blocks, in a
    state: subject, verb, path, object, after an object, a pending FILTER/BIND/GRAPH/VALUES), "expr"
    (an expression: only a nested `{` matters), "list" (a collection) and "data" (a VALUES block)."""
    stack: list[list] = [["clause", None, None]]  # [kind, state, state of the parent when it closes]
    where: int | None = None
    path_depth, negated, i = 0, 0, 0
    antijoins: list[tuple[int, ...]] = []
    pending: tuple[int, int] | None = None  # a FILTER NOT EXISTS of the WHERE clause, until its `{`
    pairs: list[Pair] = []
    pair: Pair | None = None  # the pair being read, in a group's triple block with a one-token subject
    subject: tuple[str, int, int] | None = None
    while i < len(tokens):
        kind, value, start, end = tokens[i]
        word = value.lower() if kind == NAME else ""
        frame = stack[-1]
        frame_kind, state = frame[0], frame[1]
        i += 1
        if frame_kind in ("clause", "expr", "data", "list"):
            if kind == "op" and value == "{":
                if frame_kind == "clause" and where is None and len(stack) == 1:
                    where = end
                stack.append(["group", "S", None])
            elif kind == "op" and value == "(":
                stack.append([frame_kind if frame_kind in ("data", "list") else "expr", None, None])
            elif kind == "op" and value == "[" and frame_kind == "list":
                stack.append(["blank", "V", None])
            elif kind == "op" and value in (")", "}", "]"):
                closed = stack.pop()
                if stack and closed[2] is not None:
                    stack[-1][1] = closed[2]
            continue
        # a triple block: "group" (a { }) or "blank" (a [ ])
        if state == "P":  # inside a property path
            if negated:
                if value == "(":
                    negated += 1
                elif value == ")":
                    negated -= 1
                if negated == 1 and value not in ("(", "^", "!") and value != ")":
                    negated = 0  # a single negated IRI
                elif negated == 1 and value == ")":
                    negated = 0
                continue
            if kind == "op" and value in "/|":
                frame[1] = "PN"  # a primary must follow
                continue
            if kind == "op" and value in "*+?":
                if value != "?" and pair is not None and frame_kind == "group":
                    pair.transitive = True
                continue
            if kind == "op" and value == ")" and path_depth > 0:
                path_depth -= 1
                continue
            frame[1] = state = "O"  # the path ended: this token starts the object
        if state == "V" and frame_kind == "group" and subject is not None and value != ";":
            pair = Pair(subject, pair.after if pair is not None else None, start)
            pairs.append(pair)
        if state in ("V", "PN"):
            if kind == "op" and value == "^":
                frame[1] = "PN"
                continue
            if kind == "op" and value == "(":
                path_depth += 1
                frame[1] = "PN"
                continue
            if kind == "op" and value == "!":
                negated, frame[1] = 1, "P"
                continue
            if kind in (IRI, PN) or word == "a":
                if kind in (IRI, PN):
                    widen(kind, value, start, end)
                frame[1] = "P"
                continue
            if kind == VAR:
                frame[1] = "O"
                continue
            state = "A"  # a `;` before the end of a block: read the token as after an object
        if state == "O":
            if kind == "op" and value in "+-":
                continue
            if kind in TERMS or word in ("true", "false"):
                if frame_kind == "group" and pair is not None and pair.object is None and kind in (IRI, PN, VAR):
                    pair.object = (kind, start, end)
                frame[1] = "A"
            elif value == "[":
                frame[1] = "A"
                stack.append(["blank", "V", "A"])
            elif value == "(":
                frame[1] = "A"
                stack.append(["list", None, "A"])
            else:
                raise Unsupported(f"shape {shape}: its sh:select query has {value!r} where an object is expected")
            continue
        if state == "DT":
            frame[1] = "A"
            continue
        if state == "A":
            if kind == "lang":
                continue
            if value == "^^":
                frame[1] = "DT"
                continue
            if value == ",":
                if frame_kind == "group" and pair is not None:
                    pair.object = None  # an object list: the pair stays where it is
                frame[1] = "O"
                continue
            if value == ";":
                if frame_kind == "group" and pair is not None:
                    pair.after = (start, end)
                frame[1] = "V"
                continue
            if frame_kind == "group":
                pair = subject = None
            frame[1] = state = "S"
            if value == "." or (value == "]" and frame_kind == "blank"):
                if value == "]":
                    closed = stack.pop()
                    stack[-1][1] = closed[2]
                continue
        if state == "F":  # FILTER or BIND: a bracketed expression, a call, or (NOT) EXISTS { }
            if value == "(":
                stack.append(["expr", None, "S"])
            elif value == "{":
                stack.append(["group", "S", "S", (*pending, end) if pending else None])
                pending = None
            continue
        if state == "G":  # GRAPH or SERVICE: its name (or SILENT), then a group
            if value == "{":
                frame[1] = "S"
                stack.append(["group", "S", "S"])
            continue
        if state == "VAL":  # VALUES: variables, then the data block
            if value == "(":
                stack.append(["data", None, None])
            elif value == "{":
                frame[1] = "S"
                stack.append(["data", None, "S"])
            continue
        # state S: a subject, a keyword, or the end of the block
        if value == "{":
            stack.append(["group", "S", "S"])
        elif value in ("}", "]"):
            closed = stack.pop()
            if stack and closed[2] is not None:
                stack[-1][1] = closed[2]
            if len(closed) > 3 and closed[3]:
                antijoins.append((closed[3][0], closed[3][2], start, end))
        elif value == ".":
            pass
        elif word == "select":
            frame[0] = "clause"
        elif word in ("optional", "minus", "union"):
            pass
        elif word in ("filter", "bind"):
            frame[1] = "F"
            following = [t[1].lower() for t in tokens[i:i + 2]]
            if word == "filter" and len(stack) == 2 and following == ["not", "exists"]:
                pending = (start, end)
        elif word in ("graph", "service"):
            frame[1] = "G"
        elif word == "values":
            frame[1] = "VAL"
        elif value == "[":
            frame[1] = "V"
            stack.append(["blank", "V", "V"])
        elif value == "(":
            frame[1] = "V"
            stack.append(["list", None, "V"])
        elif kind in TERMS or word in ("true", "false"):
            frame[1] = "V"
            if frame_kind == "group":
                subject, pair = (kind, start, end), None
        else:
            raise Unsupported(f"shape {shape}: its sh:select query has {value!r} where a triple pattern is expected")
    if where is None:
        raise Unsupported(f"shape {shape}: its sh:select query has no WHERE clause")
    return where, antijoins, [p for p in pairs if p.transitive]


# A LIMIT no answer reaches: it keeps a sub-select from being merged into the query around it (Virtuoso).
ISOLATING_LIMIT = 1_000_000_000


def isolation_edits(text: str, pairs: list[Pair], edits: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """`edits`, plus those that take each triple whose verb is a transitive path and whose subject or object is
    an IRI out of its triple block, into a sub-select of its own with a LIMIT no answer reaches, placed before
    the block: `?c a/rdfs:subClassOf* ex:C ; ex:p ?g .` becomes
    `{ SELECT * WHERE { ?c a/rdfs:subClassOf* ex:C } LIMIT 1000000000 } ?c ex:p ?g .`, which means the same
    (a sub-select of one triple pattern, joined: the same solutions, as many times). Why: Virtuoso 7.2 joins
    such a path wrongly with the patterns around it (`?c a/rdfs:subClassOf* ex:C ; ex:p ?g` gives one consent
    of two; a plain sub-select is merged back and fails the same way; with a LIMIT it is evaluated on its own).
    A path between two variables stays where it is (Virtuoso refuses it on its own: "transitive start not
    given"). The edits already made inside a moved verb ($PATH, a widened step) go with it."""
    taken: list[tuple[int, int]] = []
    for pair in pairs:
        constant = (IRI, PN)
        if pair.object is None or (pair.subject[0] not in constant and pair.object[0] not in constant):
            continue
        _, subject_start, subject_end = pair.subject
        verb_end = pair.object[2]
        if pair.before is not None:
            removed = (pair.before[0], verb_end)
        elif pair.after is not None:
            removed = (pair.verb, pair.after[1])
        else:
            removed = (subject_start, verb_end)
        if any(a < removed[1] and removed[0] < b for a, b in taken):
            continue  # two moved triples sharing a `;`: the second stays where it is
        taken.append(removed)
        inside = sorted((e for e in edits if pair.verb <= e[0] and e[1] <= verb_end), reverse=True)
        edits = [e for e in edits if e not in inside]
        triple = text[pair.verb:verb_end]
        for start, end, replacement in inside:
            triple = triple[:start - pair.verb] + replacement + triple[end - pair.verb:]
        moved = f"{{ SELECT * WHERE {{ {text[subject_start:subject_end]} {triple} }} LIMIT {ISOLATING_LIMIT} }} "
        edits += [(*removed, ""), (subject_start, subject_start, moved)]
    return edits


def antijoin_edits(tokens: list[tuple[str, str, int, int]], where: int,
                   antijoins: list[tuple[int, ...]]) -> list[tuple[int, int, str]]:
    """`FILTER NOT EXISTS { P }` of the WHERE clause as `OPTIONAL { P BIND(true AS ?found) }
    FILTER(!BOUND(?found))`, where that means the same: when every variable P shares with what follows it
    is bound before it (then P matches the row there exactly when it matches the finished row). Why: engines
    evaluate NOT EXISTS once per row, and a path with `*` in it then costs a walk per row (oxigraph: 2 s for
    the 8k-triple model, 11 s on `oxigraph serve`); the left join evaluates P once (10 ms)."""
    def names(low: int, high: float) -> set[str]:
        return {value[1:] for kind, value, start, _ in tokens if kind == VAR and low <= start < high}

    edits = []
    for n, (filter_start, brace_end, close_start, close_end) in enumerate(antijoins):
        inside, before, after = names(brace_end, close_start), names(where, filter_start), names(close_end, 1e18)
        if inside & after <= before:
            found = f"?ekb_found_{n}"
            edits += [(filter_start, brace_end, "OPTIONAL {"), (close_start, close_start, f" BIND(true AS {found}) "),
                      (close_end, close_end, f" FILTER(!BOUND({found}))")]
    return edits


# --- running ------------------------------------------------------------------------------------------------

def closure_steps(store: Store) -> dict[str, str]:
    """Each property the ontology relates to others -> the SPARQL path of every property whose triples entail
    its triples (itself, its sub-properties, the inverses of its inverses' sub-properties, ...)."""
    sources: dict[str, list[str]] = {}
    for p, q, inverted in read_entailments(store):
        sources.setdefault(q, [f"<{q}>"]).append(("^" if inverted else "") + f"<{p}>")
    return {q: "(" + "|".join(dict.fromkeys(parts)) + ")" for q, parts in sources.items()}


@lru_cache(maxsize=8)
def parsed(shapes_nt: bytes) -> Shapes:
    return Shapes(shapes_nt)


def classes_used(shapes: Shapes) -> list[str]:
    """The classes the shapes test or target (sh:class, sh:targetClass, a shape that is a class)."""
    found = [o for name in ("sh:class", "sh:targetClass") for _, o in shapes.by_predicate.get(predicate(name), ())]
    found += [s for s in shapes.subjects("rdf:type") if shapes.has_type(s, "rdfs:Class") or shapes.has_type(s, "owl:Class")]
    return sorted({c.value for c in found if isinstance(c, ox.NamedNode)})


def subclass_closure(store: Store, classes: list[str], graphs: list[str]) -> dict[str, tuple[str, ...]]:
    """Each class -> itself and its subclasses, from the validated dataset's rdfs:subClassOf statements (the
    class hierarchy is small; walking it here needs no transitive path, which Virtuoso refuses without a
    bound start)."""
    below: dict[str, set[str]] = {}
    if classes and graphs:
        rows = store.select(f"SELECT DISTINCT ?sub ?super WHERE {{ ?sub <{RDFS_SUBCLASS}> ?super }}",
                            default_graphs=graphs)
        for row in rows:
            if isinstance(row.get("sub"), ox.NamedNode) and isinstance(row.get("super"), ox.NamedNode):
                below.setdefault(row["super"].value, set()).add(row["sub"].value)
    found = {}
    for cls in classes:
        seen, frontier = {cls}, [cls]
        while frontier:
            for sub in below.get(frontier.pop(), ()):
                if sub not in seen:
                    seen.add(sub)
                    frontier.append(sub)
        found[cls] = tuple(sorted(seen))
    return found


@lru_cache(maxsize=8)
def compiled(shapes_nt: bytes, steps: tuple[tuple[str, str], ...], subclasses: tuple[tuple[str, tuple[str, ...]], ...],
             focus_nodes: tuple[str, ...] | None) -> tuple[Check, ...]:
    """The checks of one version of the shapes against one property and class schema (compiling is cheap, but
    the server validates the same shapes again and again)."""
    compiler = Compiler(parsed(shapes_nt), dict(steps), dict(subclasses))
    return tuple(compiler.checks(list(focus_nodes) if focus_nodes is not None else None))


def to_rdflib(term: ox.Term) -> rdflib.term.Node:
    if isinstance(term, ox.NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if term.language:
        return rdflib.Literal(term.value, lang=term.language, normalize=False)
    if term.datatype.value == XSD + "string":
        return rdflib.Literal(term.value, normalize=False)
    return rdflib.Literal(term.value, datatype=rdflib.URIRef(term.datatype.value), normalize=False)


def filled(message: ox.Term, row: dict[str, ox.Term]) -> rdflib.Literal:
    """A SPARQL constraint's message with {?name} and {$name} replaced by the row's values."""
    text = message.value
    for name, value in row.items():
        for mark in (f"{{?{name}}}", f"{{${name}}}"):
            text = text.replace(mark, value.value)
    language = message.language if isinstance(message, ox.Literal) else None
    return rdflib.Literal(text, lang=language)


class SparqlEngine:
    """SHACL as SPARQL on the store's engine: validates the store in place (see the module's docstring)."""

    name = "sparql"

    def validate_store(self, store: Store, shapes_nt: bytes, focus_nodes: list[str] | None = None) -> rdflib.Graph:
        """The sh:ValidationReport of the store's asserted data graphs and ontology against `shapes_nt`."""
        graphs = [g for g in store.graphs() if is_data_graph(g)]
        shapes = parsed(shapes_nt)
        steps = tuple(sorted(closure_steps(store).items()))
        subclasses = tuple(sorted(subclass_closure(store, classes_used(shapes), graphs).items()))
        checks = compiled(shapes_nt, steps, subclasses, tuple(focus_nodes) if focus_nodes is not None else None)
        report = rdflib.Graph()
        node = rdflib.BNode()
        sh = rdflib.Namespace(SH)
        report.add((node, rdflib.RDF.type, sh.ValidationReport))
        conforms = True
        for check in checks:
            rows = store.select(check.query, default_graphs=graphs) if graphs else []
            # A widened verb (p|^q) is a SPARQL union: a fact stated both ways matches twice, where the closure
            # the other engines read holds it once. Identical rows are one result.
            for row in {tuple(sorted(row.items())): row for row in rows}.values():
                conforms = False
                self.add_result(report, node, shapes, check, row)
        report.add((node, sh.conforms, rdflib.Literal(conforms)))
        return report

    @staticmethod
    def add_result(report: rdflib.Graph, node: rdflib.BNode, shapes: Shapes, check: Check,
                   row: dict[str, ox.Term]) -> None:
        sh = rdflib.Namespace(SH)
        result = rdflib.BNode()
        report.add((node, sh.result, result))
        report.add((result, rdflib.RDF.type, sh.ValidationResult))
        report.add((result, sh.focusNode, to_rdflib(row["this"])))
        value = row.get("value")
        if value is None and check.constraint is not None and check.path is None:
            value = row["this"]  # a node shape's SPARQL constraint without ?value: the focus node is the value
        if value is not None:
            report.add((result, sh.value, to_rdflib(value)))
        path = row.get("path") or check.path
        if path is not None:
            report.add((result, sh.resultPath, to_rdflib(path)))
            if isinstance(path, ox.BlankNode):
                for triple in shapes.triples_from(path):
                    report.add(tuple(to_rdflib(t) for t in triple))  # the path's structure, as the engines copy it
        report.add((result, sh.sourceShape, to_rdflib(check.shape)))
        report.add((result, sh.sourceConstraintComponent, sh[check.component]))
        report.add((result, sh.resultSeverity, to_rdflib(check.severity)))
        if check.constraint is not None:
            report.add((result, sh.sourceConstraint, to_rdflib(check.constraint)))
        message = row.get("message")
        if message is not None:
            report.add((result, sh.resultMessage, to_rdflib(message)))
        for template in check.messages:
            report.add((result, sh.resultMessage, filled(template, row) if check.templated else to_rdflib(template)))
        if not check.messages and message is None:  # the shape says nothing: name the constraint it breaks
            name = check.component.removesuffix("ConstraintComponent")
            report.add((result, sh.resultMessage, rdflib.Literal(f"does not meet sh:{name[0].lower() + name[1:]}")))
