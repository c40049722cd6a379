"""Row-by-row comparison of two SPARQL answers to the same query, for the benchmark.

An answer is the body a server sent: SPARQL JSON results (SELECT, ASK) or N-Triples (CONSTRUCT, DESCRIBE).

- **Rows** are compared as multisets: each row is the set of its bindings, each term normalised to what it
  means (`typed-literal` is `literal`, `xsd:string` is a plain literal, a language tag is lower-cased, a blank
  node is `_:` whatever its label, since labels are the server's own). Variables must match too.
- **Order** is checked only where the query has ORDER BY, read from rdflib's algebra of the query (the outermost
  ORDER BY, above any sub-query's). SPARQL leaves the order of ties open, so the rows are cut into runs of equal
  sort keys (the leading ORDER BY conditions that are projected variables): the runs must come in the same order
  with the same keys, and hold the same multiset of rows. Where the query also has LIMIT or OFFSET, the last run
  may be cut at a different row on each server, so of that run only the key and its length are compared.
  An ORDER BY whose first condition is an expression (not a projected variable) leaves the order unchecked,
  and `compared_as` says so.
- **Graphs** (N-Triples) are compared as sets of triples, blank nodes as above.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
SAMPLE = 3  # rows of each side shown in a sample difference


@dataclass(frozen=True)
class Order:
    """What the query's ORDER BY lets us check: the projected variables that lead its conditions."""

    ordered: bool = False
    keys: tuple[str, ...] = ()
    sliced: bool = False  # LIMIT or OFFSET: the last run of ties may be cut differently

    @property
    def compared_as(self) -> str:
        if not self.ordered:
            return "multiset of rows (no ORDER BY)"
        if not self.keys:
            return "multiset of rows (ORDER BY on expressions: order not checked)"
        tail = "; last run only by key and length (LIMIT/OFFSET)" if self.sliced else ""
        return f"in ORDER BY order ({', '.join('?' + k for k in self.keys)}), ties as multisets{tail}"


@lru_cache(maxsize=256)
def order_of(query: str) -> Order:
    """The outermost ORDER BY of `query`, parsed by rdflib."""
    from rdflib.plugins.sparql import prepareQuery
    from rdflib.term import Variable

    algebra = prepareQuery(query).algebra
    projected = {str(v) for v in algebra.get("PV") or ()}
    node, sliced = algebra.p, False
    while node is not None and getattr(node, "name", "") in ("Slice", "Distinct", "Reduced", "Project"):
        sliced = sliced or node.name == "Slice"
        node = node.get("p")
    if node is None or getattr(node, "name", "") != "OrderBy":
        return Order()
    keys: list[str] = []
    for condition in node.expr:
        expr = condition.get("expr") if hasattr(condition, "get") else condition
        if not isinstance(expr, Variable) or str(expr) not in projected:
            break  # a prefix of the conditions still orders the rows; what follows it is not checked
        keys.append(str(expr))
    return Order(True, tuple(keys), sliced)


def _term(term: dict | None) -> tuple:
    if term is None:
        return ()
    kind = term["type"]
    if kind == "bnode":
        return ("bnode",)
    if kind in ("literal", "typed-literal"):
        datatype = term.get("datatype")
        return ("literal", term["value"], None if datatype == XSD_STRING else datatype,
                (term.get("xml:lang") or "").lower())
    if kind == "triple":  # RDF-star
        value = term["value"]
        return ("triple", _term(value.get("subject")), _term(value.get("predicate")), _term(value.get("object")))
    return (kind, term["value"])


def _show(term: tuple) -> str:
    if not term:
        return "(unbound)"
    if term[0] == "uri":
        return f"<{term[1]}>"
    if term[0] == "literal":
        _, value, datatype, lang = term
        return json.dumps(value, ensure_ascii=False) + (f"@{lang}" if lang else f"^^<{datatype}>" if datatype else "")
    if term[0] == "bnode":
        return "_:"
    return repr(term)


@dataclass
class Comparison:
    equal: bool
    compared_as: str
    ekb_rows: int
    baseline_rows: int
    difference: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"equal": self.equal, "compared_as": self.compared_as, "ekb_rows": self.ekb_rows,
                "baseline_rows": self.baseline_rows, **({"difference": self.difference} if self.difference else {})}


def compare(query: str, ekb: bytes, baseline: bytes, ekb_type: str = "", baseline_type: str = "") -> Comparison:
    """ekb's answer against the baseline's, both as the servers sent them."""
    if "n-triples" in ekb_type or "n-triples" in baseline_type:
        return _compare_graphs(ekb, baseline)
    mine, theirs = json.loads(ekb), json.loads(baseline)
    if "boolean" in mine or "boolean" in theirs:
        a, b = mine.get("boolean"), theirs.get("boolean")
        return Comparison(a == b, "boolean", int(a is not None), int(b is not None),
                          {} if a == b else {"ekb": a, "baseline": b})
    order = order_of(query)
    variables = (mine["head"].get("vars", []), theirs["head"].get("vars", []))
    rows = [[tuple(sorted((v, _term(r.get(v))) for v in set(variables[i]) | set(r))) for r in answer["results"]["bindings"]]
            for i, answer in enumerate((mine, theirs))]
    counts = len(rows[0]), len(rows[1])
    if sorted(variables[0]) != sorted(variables[1]):
        return Comparison(False, order.compared_as, *counts, {"ekb_vars": variables[0], "baseline_vars": variables[1]})
    if not order.ordered or not order.keys:
        return _multisets(order.compared_as, rows[0], rows[1])
    runs = [_runs(r, order.keys) for r in rows]
    for index, (a, b) in enumerate(zip(runs[0], runs[1], strict=False)):
        last = index == min(len(runs[0]), len(runs[1])) - 1
        if a[0] != b[0]:
            return Comparison(False, order.compared_as, *counts, {
                "at_run": index, "ekb_key": [_show(t) for t in a[0]], "baseline_key": [_show(t) for t in b[0]],
                **_multisets("", [r for _, run in runs[0] for r in run], [r for _, run in runs[1] for r in run]).difference})
        if order.sliced and last and len(runs[0]) == len(runs[1]):
            if len(a[1]) != len(b[1]):
                return Comparison(False, order.compared_as, *counts, {"at_run": index, "key": [_show(t) for t in a[0]],
                                                                      "ekb_run_rows": len(a[1]), "baseline_run_rows": len(b[1])})
            continue
        if Counter(a[1]) != Counter(b[1]):
            return Comparison(False, order.compared_as, *counts,
                              {"at_run": index, **_multisets("", a[1], b[1]).difference})
    if len(runs[0]) != len(runs[1]):
        longer = 0 if len(runs[0]) > len(runs[1]) else 1
        extra = [r for _, run in runs[longer][len(runs[1 - longer]):] for r in run]
        return Comparison(False, order.compared_as, *counts,
                          {("only_ekb" if longer == 0 else "only_baseline"): [_row(r) for r in extra[:SAMPLE]]})
    return Comparison(True, order.compared_as, *counts)


def _row(row: tuple) -> dict:
    return {v: _show(t) for v, t in row if t}


def _runs(rows: list[tuple], keys: tuple[str, ...]) -> list[tuple[tuple, list[tuple]]]:
    runs: list[tuple[tuple, list[tuple]]] = []
    for row in rows:
        bound = dict(row)
        key = tuple(bound.get(k, ()) for k in keys)
        if runs and runs[-1][0] == key:
            runs[-1][1].append(row)
        else:
            runs.append((key, [row]))
    return runs


def _multisets(compared_as: str, a: list, b: list) -> Comparison:
    ca, cb = Counter(a), Counter(b)
    if ca == cb:
        return Comparison(True, compared_as, len(a), len(b))
    only_a, only_b = list((ca - cb).elements()), list((cb - ca).elements())
    return Comparison(False, compared_as, len(a), len(b), {
        "only_ekb_count": len(only_a), "only_baseline_count": len(only_b),
        "only_ekb": [_row(r) for r in only_a[:SAMPLE]], "only_baseline": [_row(r) for r in only_b[:SAMPLE]]})


def _compare_graphs(ekb: bytes, baseline: bytes) -> Comparison:
    import pyoxigraph as ox

    def triples(body: bytes) -> set[str]:
        out = set()
        for t in ox.parse(body, format=ox.RdfFormat.N_TRIPLES):
            parts = ["_:" if isinstance(x, ox.BlankNode) else str(x) for x in (t.subject, t.predicate, t.object)]
            out.add(" ".join(parts))
        return out

    a, b = triples(ekb), triples(baseline)
    if a == b:
        return Comparison(True, "set of triples", len(a), len(b))
    return Comparison(False, "set of triples", len(a), len(b), {
        "only_ekb": sorted(a - b)[:SAMPLE], "only_baseline": sorted(b - a)[:SAMPLE]})


def self_check() -> None:
    """The comparison on small answers built by hand; the benchmark runs it first and stops if it fails."""
    def answer(*rows: tuple[str, str], vars_=("x", "n")) -> bytes:
        return json.dumps({"head": {"vars": list(vars_)}, "results": {"bindings": [
            {"x": {"type": "uri", "value": x}, "n": {"type": "literal", "value": n}} for x, n in rows]}}).encode()

    unordered = "SELECT ?x ?n WHERE { ?x <p> ?n }"
    ordered = "SELECT ?x ?n WHERE { ?x <p> ?n } ORDER BY ?n"
    sliced = ordered + " LIMIT 2"
    ab, ba = answer(("a", "1"), ("b", "2")), answer(("b", "2"), ("a", "1"))
    tie_1, tie_2 = answer(("a", "1"), ("b", "1")), answer(("b", "1"), ("a", "1"))
    checks = [
        (compare(unordered, ab, ba).equal, True),  # order is free without ORDER BY
        (compare(ordered, ab, ba).equal, False),  # and checked with it
        (compare(ordered, tie_1, tie_2).equal, True),  # ties may come in any order
        (compare(unordered, ab, answer(("a", "1"))).equal, False),  # a missing row
        (compare(unordered, ab, answer(("a", "1"), ("b", "2"), ("b", "2"))).equal, False),  # a duplicate
        (compare(unordered, ab, answer(("a", "1"), ("b", "3"))).equal, False),  # a different value
        (compare(sliced, answer(("a", "0"), ("b", "1")), answer(("a", "0"), ("c", "1"))).equal, True),  # cut tie
        (compare(sliced, answer(("a", "0"), ("b", "1")), answer(("a", "0"), ("c", "2"))).equal, False),
        (compare(unordered, ab, answer(("a", "1"), ("b", "2"), vars_=("x", "m"))).equal, False),  # variables
        (order_of("SELECT ?x { { SELECT ?x { ?x ?p ?o } ORDER BY ?o LIMIT 1 } }").ordered, False),  # sub-query's
        (order_of("SELECT ?x ?o { ?x ?p ?o } ORDER BY DESC(?o) ?x").keys, ("o", "x")),
        (order_of("SELECT ?x ?o { ?x ?p ?o } ORDER BY STR(?o) ?x").keys, ()),
    ]
    failed = [i for i, (got, expected) in enumerate(checks) if got != expected]
    if failed:
        raise AssertionError(f"the answer comparison's self-check failed for cases {failed}")


def accept_for(query: str) -> str:
    """The media type asked for: N-Triples for CONSTRUCT and DESCRIBE, SPARQL JSON results otherwise."""
    from rdflib.plugins.sparql import prepareQuery

    graph = prepareQuery(query).algebra.name in ("ConstructQuery", "DescribeQuery")
    return "application/n-triples" if graph else "application/sparql-results+json"
