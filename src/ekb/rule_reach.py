"""How far a SPARQL rule reads, so that the gate can judge a change on exactly what the rule reads.

A rule with a SPARQL constraint may follow links to any depth (`org:unitOf*`): the three-link neighbourhood the
gate reads for the other rules does not hold its evidence. But its query is a set of triple patterns joined by
variables, starting from `$this`. So, for a change:

* the focus nodes whose result it can change are found by walking the rule's patterns backwards: from a pattern
  a changed triple can match, along the shortest chain of patterns to `$this` (any solution involving the triple
  binds the variables on that chain to nodes the walk reaches, so the walk reaches every such focus);
* what the rule reads at those focus nodes is found by walking its patterns forwards from them, every pattern
  followed from the nodes its variables reached (every triple a solution, an OPTIONAL or a NOT EXISTS can use lies
  on such a walk).

Both walks read the store together with the change's added triples (the state before and after, at once), and
follow a predicate through the property closure the validation applies (an inverse or a sub-property asserted
instead). A rule this cannot bound (a variable predicate, a negated property set, a pattern not joined to
`$this`, a nested shape) makes `reach` return None: the change then meets the full gate. So does a walk that
reads more than `budget` triples."""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from functools import lru_cache

import pyoxigraph as ox
import rdflib
from rdflib.paths import AlternativePath, InvPath, MulPath, NegatedPath, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

from ekb.config import DATA_GRAPH_FILTER, RDF_TYPE, SH, is_data_graph
from ekb.store import EmbeddedStore, Store
from ekb.validation import closure_rules, sparql_texts

THIS = "this"
SH_PROPERTY, SH_PATH, SH_CLASS, SH_SPARQL = (rdflib.URIRef(SH + n) for n in ("property", "path", "class", "sparql"))
NESTED = tuple(rdflib.URIRef(SH + n) for n in ("node", "qualifiedValueShape", "or", "and", "xone", "not"))
BUDGET = 200_000  # triples a change's walks may read before the full gate is cheaper


class Unbounded(Exception):
    """A rule, or a change's walk through it, reads further than this module can bound."""


# A path: ("p", iri) | ("inv", path) | ("seq", (path, ...)) | ("alt", (path, ...)) | ("star" | "plus" | "opt", path)
Path = tuple


@dataclass(frozen=True)
class Edge:
    """One triple pattern: its two ends (a variable's name, or None for a constant, which is never walked from),
    its path, and the group it sits in (`scope`: the groups from the query's own down to it; a pattern of an
    OPTIONAL, a UNION branch, a MINUS or a NOT EXISTS sits in a group of its own)."""

    start: str | None
    path: Path
    end: str | None
    scope: tuple[int, ...] = ()
    branches: tuple[tuple[int, int], ...] = ()  # (UNION, which branch) for each UNION around it

    def holds_with(self, other: Edge, choice: dict[int, int]) -> bool:
        """Whether this pattern is matched in every solution that matches `other` and takes the UNION branches
        `choice` names: its group is `other`'s or one around it, and it lies in the branches chosen."""
        return other.scope[:len(self.scope)] == self.scope and all(choice.get(u) == b for u, b in self.branches)


# -- reading the rules

# What a rule with a SPARQL constraint may state besides it, and what its property shapes may: anything else
# (sh:node, sh:equals, sh:closed, a target other than these, ...) reads in ways not bounded here.
RULE_KEYS = {SH + n for n in ("targetClass", "targetSubjectsOf", "targetObjectsOf", "severity", "sparql", "property",
                              "name", "description", "message", "deactivated", "order", "group")}
PROPERTY_KEYS = {SH + n for n in (
    "path", "name", "description", "message", "severity", "deactivated", "order", "group", "minCount", "maxCount",
    "class", "datatype", "nodeKind", "pattern", "flags", "minLength", "maxLength", "in", "hasValue", "uniqueLang",
    "languageIn", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive")}


@lru_cache(maxsize=4)
def rule_edges(shapes_nt: bytes) -> dict[str, tuple[Edge, ...]] | None:
    """The patterns of each rule with a SPARQL constraint (its queries'; its targets' as `$this a ?class`,
    `$this p ?x` or `?x p $this`; its property shapes' as `$this path ?value` plus the value's types), by node
    shape; None if any rule cannot be bounded."""
    graph = rdflib.Graph().parse(data=shapes_nt, format="nt")
    rules: dict[str, list[Edge]] = {}
    try:
        for number, (holder, _, query) in enumerate(sparql_texts(graph)):
            for shape in graph.subjects(SH_SPARQL, holder):
                rules.setdefault(str(shape), []).extend(_query_edges(query, number))
        for shape, edges in rules.items():
            node = rdflib.URIRef(shape)
            _only(graph, node, RULE_KEYS, shape)
            if set(graph.objects(node, rdflib.RDF.type)) - {rdflib.URIRef(SH + "NodeShape")}:
                raise Unbounded(f"{shape}: also a class (implicit targets)")
            # Targets and property shapes: each read on its own (a group of its own, so no route goes through it).
            edges.append(Edge(THIS, ("p", RDF_TYPE), None, (-1,)))
            edges.extend(Edge(THIS, ("p", str(p)), None, (-1,))
                         for p in graph.objects(node, rdflib.URIRef(SH + "targetSubjectsOf")))
            edges.extend(Edge(None, ("p", str(p)), THIS, (-1,))
                         for p in graph.objects(node, rdflib.URIRef(SH + "targetObjectsOf")))
            for n, prop in enumerate(graph.objects(node, SH_PROPERTY)):
                _only(graph, prop, PROPERTY_KEYS, shape)
                value = f"_value{n}"
                edges.extend(Edge(THIS, _shape_path(graph, p), value, (-2 - n,)) for p in graph.objects(prop, SH_PATH))
                edges.append(Edge(value, ("p", RDF_TYPE), None, (-2 - n,)))
            _check_joined(shape, edges)
            _check_bound(shape, edges)
            if any(True for link in NESTED for _ in graph.subjects(link, node)) or (None, rdflib.RDF.first, node) in graph:
                raise Unbounded(f"{shape}: also a nested shape (validated where another shape reaches it)")
    except Unbounded:
        return None
    return {shape: tuple(edges) for shape, edges in rules.items()}


def _check_bound(shape: str, edges: list[Edge]) -> None:
    """Every variable of a pattern must be bound from `$this` by patterns every solution with that one matches
    (a variable bound only inside an OPTIONAL or one UNION branch and used outside it may stay unbound there,
    and the pattern then reads anywhere in the store)."""
    frozen = tuple(edges)
    for e in frozen:
        for variable in (e.start, e.end):
            if isinstance(variable, str) and variable != THIS:
                for choice in _choices(frozen, e):
                    if _route(frozen, variable, e, True, choice) is None:
                        raise Unbounded(f"{shape}: ?{variable} may be unbound where {e} reads it")


def _only(graph: rdflib.Graph, node, allowed: set[str], shape: str) -> None:
    for predicate in graph.predicates(node):
        if str(predicate).startswith(SH) and str(predicate) not in allowed:
            raise Unbounded(f"{shape}: {predicate}")


def _query_edges(query: str, number: int = 0) -> list[Edge]:
    """A query's patterns, its variables named apart from other queries' (`$this` aside)."""
    try:
        algebra = prepareQuery(query).algebra
    except Exception as err:  # noqa: BLE001 - rdflib's parser raises many kinds: all mean "cannot bound it"
        raise Unbounded(str(err)) from None
    edges: list[Edge] = []
    _collect(algebra, edges, ((number,), ()), itertools.count(1))

    def apart(x: str | None) -> str | None:
        return x if x in (None, THIS) else f"{x}@{number}"
    return [Edge(apart(e.start), e.path, apart(e.end), e.scope, e.branches) for e in edges]


NEW_GROUP = {"LeftJoin": ("p2",), "Minus": ("p2",)}  # the parts evaluated as groups of their own
Place = tuple[tuple[int, ...], tuple[tuple[int, int], ...]]  # (scope, branches) of the patterns met there


def _collect(node, edges: list[Edge], place: Place, ids: itertools.count) -> None:
    scope, branches = place
    if isinstance(node, CompValue):
        if node.name == "BGP":
            edges.extend(_edge(*t, place) for t in node.get("triples", ()))
            return
        if node.name == "TriplesBlock":  # a pattern not yet translated (inside FILTER NOT EXISTS): s p o s p o ...
            for block in node.get("triples", ()):
                edges.extend(_edge(*block[i:i + 3], place) for i in range(0, len(block) - 2, 3))
            return
        if node.name in ("Builtin_EXISTS", "Builtin_NOTEXISTS"):  # rdflib sets the translated pattern as an
            _collect(node.graph, edges, ((*scope, next(ids)), branches), ids)  # attribute; the key keeps it unread
            return
        if node.name == "ToMultiSet" and isinstance(node.get("p"), CompValue) and node.get("p").name != "values":
            raise Unbounded("a sub-query (its variables are its own)")
        if node.name == "Union":
            union = next(ids)
            for index, key in enumerate(("p1", "p2")):
                _collect(node.get(key), edges, (scope, (*branches, (union, index))), ids)
            return
        for key, value in node.items():
            _collect(value, edges, ((*scope, next(ids)), branches) if key in NEW_GROUP.get(node.name, ()) else place, ids)
    elif isinstance(node, (list, tuple)):
        for item in node:
            _collect(item, edges, place, ids)


def _edge(subject, predicate, obj, place: Place) -> Edge:
    return Edge(_end(subject), _path(predicate), _end(obj), *place)


def _end(term) -> str | None:
    if isinstance(term, (rdflib.Variable, rdflib.BNode)):  # a blank node in a pattern is a variable
        return "?" + str(term) if isinstance(term, rdflib.BNode) else str(term)
    if isinstance(term, (rdflib.URIRef, rdflib.Literal)):
        return None
    raise Unbounded(f"a pattern term {term!r}")


def _path(predicate) -> Path:
    if isinstance(predicate, rdflib.URIRef):
        return ("p", str(predicate))
    if isinstance(predicate, InvPath):
        return ("inv", _path(predicate.arg))
    if isinstance(predicate, SequencePath):
        return ("seq", tuple(_path(p) for p in predicate.args))
    if isinstance(predicate, AlternativePath):
        return ("alt", tuple(_path(p) for p in predicate.args))
    if isinstance(predicate, MulPath):
        return ({"*": "star", "+": "plus", "?": "opt"}[predicate.mod], _path(predicate.path))
    if isinstance(predicate, (NegatedPath, rdflib.Variable)):
        raise Unbounded("a variable predicate or a negated property set")
    raise Unbounded(f"a path {predicate!r}")


def _shape_path(graph: rdflib.Graph, node) -> Path:
    """A SHACL property path (sh:inversePath, sh:alternativePath, lists, sh:zeroOrMorePath, ...)."""
    if isinstance(node, rdflib.URIRef):
        return ("p", str(node))
    if (node, rdflib.RDF.first, None) in graph:
        return ("seq", tuple(_shape_path(graph, p) for p in graph.items(node)))
    for name, kind in (("inversePath", "inv"), ("zeroOrMorePath", "star"), ("oneOrMorePath", "plus"),
                       ("zeroOrOnePath", "opt")):
        inner = graph.value(node, rdflib.URIRef(SH + name))
        if inner is not None:
            return (kind, _shape_path(graph, inner))
    alternatives = graph.value(node, rdflib.URIRef(SH + "alternativePath"))
    if alternatives is not None:
        return ("alt", tuple(_shape_path(graph, p) for p in graph.items(alternatives)))
    raise Unbounded(f"a property path {node!r}")


def _check_joined(shape: str, edges: list[Edge]) -> None:
    """Every variable must be joined to `$this` by patterns; a pattern of two constants reads a fixed triple that
    any change may touch: both make the rule's reach unbounded."""
    joined, changed = {THIS}, True
    while changed:
        changed = False
        for e in edges:
            ends = [x for x in (e.start, e.end) if isinstance(x, str)]
            if not ends:
                raise Unbounded(f"{shape}: a pattern of constants")
            if any(x in joined for x in ends) and not all(x in joined for x in ends):
                joined.update(ends)
                changed = True
    loose = {x for e in edges for x in (e.start, e.end) if isinstance(x, str)} - joined
    if loose:
        raise Unbounded(f"{shape}: {', '.join(sorted(loose))} not joined to $this")


def atoms(path: Path) -> set[str]:
    """The predicates a path names."""
    kind, arg = path
    if kind == "p":
        return {arg}
    if kind in ("seq", "alt"):
        return set().union(*(atoms(p) for p in arg))
    return atoms(arg)


def _unbounded_length(path: Path) -> bool:
    kind, arg = path
    if kind in ("star", "plus"):
        return True
    if kind in ("seq", "alt"):
        return any(_unbounded_length(p) for p in arg)
    return kind != "p" and _unbounded_length(arg)


def _length(path: Path) -> int:
    kind, arg = path
    if kind == "p":
        return 1
    if kind == "seq":
        return sum(_length(p) for p in arg)
    if kind == "alt":
        return max(_length(p) for p in arg)
    return _length(arg)


# -- walking the store

Node = ox.NamedNode | ox.BlankNode | ox.Literal


class Walk:
    """Links read from a store and the change's added triples together, through the property closure; every
    asserted triple read is kept (`read`), up to `budget`."""

    def __init__(self, store: Store, added: frozenset[ox.Triple], context: frozenset[ox.Triple], budget: int):
        self.store, self.budget, self.read = store, budget, set()
        self.added_out: dict[Node, set[ox.Triple]] = {}
        self.added_in: dict[Node, set[ox.Triple]] = {}
        for t in added:
            self.added_out.setdefault(t.subject, set()).add(t)
            self.added_in.setdefault(t.object, set()).add(t)
        # What the closure derives each predicate from: itself, and the predicates it entails it from.
        self.sources: dict[str, list[tuple[ox.NamedNode, bool]]] = {}
        for q, derived in closure_rules(context).items():
            for p, inverted in derived:
                self.sources.setdefault(p.value, []).append((q, inverted))
        self._cache: dict[tuple[str, bool, Node], set[Node]] = {}

    def step(self, nodes: set[Node], predicate: str, forward: bool) -> set[Node]:
        """The nodes one `predicate` link from `nodes` (forward: objects; else subjects)."""
        found: set[Node] = set()
        for node in nodes:
            key = (predicate, forward, node)
            if key not in self._cache:
                self._cache[key] = self._step(node, predicate, forward)
            found |= self._cache[key]
        return found

    def _step(self, node: Node, predicate: str, forward: bool) -> set[Node]:
        found: set[Node] = set()
        for source, inverted in [(ox.NamedNode(predicate), False), *self.sources.get(predicate, ())]:
            out = forward != inverted  # read the source from `node` as its subject
            if out and isinstance(node, ox.Literal):
                continue
            triples = self._links(node, source, out)
            triples |= {t for t in (self.added_out if out else self.added_in).get(node, ()) if t.predicate == source}
            found |= {t.object if out else t.subject for t in triples}
        if len(self.read) > self.budget:
            raise Unbounded(f"the change's reach reads more than {self.budget} triples")
        return found

    def _links(self, node: Node, predicate: ox.NamedNode, out: bool) -> set[ox.Triple]:
        if isinstance(self.store, EmbeddedStore):
            quads = self.store.engine.quads_for_pattern(node if out else None, predicate, None if out else node)
            triples = {q.triple for q in quads if isinstance(q.graph_name, ox.NamedNode) and is_data_graph(q.graph_name.value)}
        else:
            pattern = f"{node} {predicate} ?x" if out else f"?x {predicate} {node}"
            triples = set(self.store.construct(
                f"CONSTRUCT {{ {pattern} }} WHERE {{ GRAPH ?g {{ {pattern} }} {DATA_GRAPH_FILTER} }}"))
        self.read |= triples
        return triples

    def forward(self, path: Path, nodes: set[Node]) -> set[Node]:
        """The nodes `path` leads to from `nodes`."""
        kind, arg = path
        if kind == "p":
            return self.step(nodes, arg, True)
        if kind == "inv":
            return self.backward(arg, nodes)
        if kind == "seq":
            for part in arg:
                nodes = self.forward(part, nodes)
            return nodes
        if kind == "alt":
            return set().union(*(self.forward(p, nodes) for p in arg))
        if kind == "opt":
            return nodes | self.forward(arg, nodes)
        return self._closure(lambda frontier: self.forward(arg, frontier), nodes, kind == "star")

    def backward(self, path: Path, nodes: set[Node]) -> set[Node]:
        """The nodes from which `path` leads to `nodes`."""
        kind, arg = path
        if kind == "p":
            return self.step(nodes, arg, False)
        if kind == "inv":
            return self.forward(arg, nodes)
        if kind == "seq":
            for part in reversed(arg):
                nodes = self.backward(part, nodes)
            return nodes
        if kind == "alt":
            return set().union(*(self.backward(p, nodes) for p in arg))
        if kind == "opt":
            return nodes | self.backward(arg, nodes)
        return self._closure(lambda frontier: self.backward(arg, frontier), nodes, kind == "star")

    @staticmethod
    def _closure(step, nodes: set[Node], reflexive: bool) -> set[Node]:
        reached: set[Node] = set(nodes) if reflexive else set()
        frontier = set(nodes)
        while frontier:
            frontier = step(frontier) - reached
            reached |= frontier
        return reached


def _route(edges: tuple[Edge, ...], start: str, touched: Edge, through: bool,
           choice: dict[int, int]) -> list[tuple[Edge, bool]] | None:
    """The shortest chain of patterns (each with its direction: True if walked from its start) from the variable
    `start` to `$this`, through patterns matched in every solution that matches `touched` and takes the UNION
    branches `choice` names (an OPTIONAL's or a NOT EXISTS's patterns only from within it), and through `touched`
    itself if `through`."""
    usable = [e for e in edges if e.holds_with(touched, choice) and (through or e is not touched)]
    previous: dict[str, tuple[str, Edge, bool] | None] = {start: None}
    queue = deque([start])
    while queue:
        at = queue.popleft()
        if at == THIS:
            chain = []
            while previous[at] is not None:
                at, edge, direction = previous[at]
                chain.append((edge, direction))
            return list(reversed(chain))
        for e in usable:
            for here, there, direction in ((e.start, e.end, True), (e.end, e.start, False)):
                if here == at and isinstance(there, str) and there not in previous:
                    previous[there] = (at, e, direction)
                    queue.append(there)
    return None


def _choices(edges: tuple[Edge, ...], touched: Edge) -> list[dict[int, int]]:
    """Every way a solution matching `touched` can take the UNIONs: its own branches, and either branch of the
    others."""
    unions = sorted({u for e in edges for u, _ in e.branches} - {u for u, _ in touched.branches})
    fixed = dict(touched.branches)
    return [{**fixed, **dict(zip(unions, picks, strict=True))} for picks in itertools.product((0, 1), repeat=len(unions))]


def _way_in(edges: tuple[Edge, ...], variable: str, touched: Edge, choice: dict[int, int]) -> list[tuple[Edge, bool]] | None:
    """`_route` from `variable` to `$this`, not through `touched` if there is such a chain ([] for `$this`)."""
    return _route(edges, variable, touched, False, choice) or _route(edges, variable, touched, True, choice)


def _follow(walk: Walk, chain: list[tuple[Edge, bool]], nodes: set[Node]) -> set[Node]:
    """The nodes a chain of patterns leads to from `nodes` (each walked from its start if its flag says so)."""
    for edge, direction in chain:
        nodes = walk.forward(edge.path, nodes) if direction else walk.backward(edge.path, nodes)
    return nodes


def steps(path: Path, forward: bool = True) -> set[tuple[str, bool]]:
    """The predicates a path names, each with the direction the path walks it in (True: subject to object)."""
    kind, arg = path
    if kind == "p":
        return {(arg, forward)}
    if kind == "inv":
        return steps(arg, not forward)
    if kind in ("seq", "alt"):
        return set().union(*(steps(p, forward) for p in arg))
    return steps(arg, forward)


def _touching(walk: Walk, edge: Edge, triple: ox.Triple) -> tuple[set[Node], set[Node]]:
    """The nodes the two ends of `edge` may be bound to in a solution whose walk of the edge's path uses
    `triple` (as itself or as what the closure entails from it): walking back from the triple along the path's
    steps to its start, and on along them to its end, within the path's length unless it repeats."""
    walked = steps(edge.path)
    back, on = set(), set()
    for predicate, forward in walked:
        for source, inverted in [(ox.NamedNode(predicate), False), *walk.sources.get(predicate, ())]:
            if source == triple.predicate:
                before, after = (triple.subject, triple.object) if forward != inverted else (triple.object, triple.subject)
                back.add(before)
                on.add(after)
    if not back:
        return set(), set()
    any_step = ("alt", tuple(("p", p) if forward else ("inv", ("p", p)) for p, forward in sorted(walked)))
    within = None if _unbounded_length(edge.path) else _length(edge.path) - 1
    return (_within(lambda nodes: walk.backward(any_step, nodes), back, within),
            _within(lambda nodes: walk.forward(any_step, nodes), on, within))


def _within(step, nodes: set[Node], depth: int | None) -> set[Node]:
    reached, frontier = set(nodes), set(nodes)
    while frontier and (depth is None or depth > 0):
        frontier = step(frontier) - reached
        reached |= frontier
        depth = None if depth is None else depth - 1
    return reached


def reach(store: Store, shapes_nt: bytes, context: frozenset[ox.Triple], added: frozenset[ox.Triple],
          removed: frozenset[ox.Triple], budget: int = BUDGET) -> tuple[set[str], set[ox.Triple]] | None:
    """(the focus nodes of the SPARQL rules whose result the change can alter, the asserted triples those rules
    read there, before and after the change); None when that cannot be bounded (the full gate judges it)."""
    rules = rule_edges(shapes_nt)
    if rules is None:
        return None
    walk = Walk(store, added, context, budget)
    changed = added | removed
    named = {p for edges in rules.values() for e in edges for a in atoms(e.path)
             for p in [a, *(q.value for q, _ in walk.sources.get(a, ()))]}
    relevant = [t for t in changed if t.predicate.value in named]
    foci: set[str] = set()
    try:
        for edges in rules.values():
            candidates: set[Node] = set()
            for t in relevant:
                for e in edges:  # a type that makes (or unmakes) a target: the `$this a ?` target pattern
                    starts, ends = _touching(walk, e, t)
                    ends_of = [(v, nodes) for v, nodes in ((e.start, starts), (e.end, ends))
                               if isinstance(v, str) and nodes]
                    if any(v == THIS for v, _ in ends_of):
                        candidates |= next(nodes for v, nodes in ends_of if v == THIS)
                        continue
                    for choice in _choices(edges, e):  # a solution takes one of them: each is followed
                        # A solution using the triple binds both ends: following one of them finds every focus
                        # (the one nearer `$this`: from a scope or a class, the other would reach half the store).
                        routes = [(chain, nodes) for v, nodes in ends_of
                                  for chain in [_way_in(edges, v, e, choice)] if chain is not None]
                        if ends_of and not routes:
                            raise Unbounded(f"no chain of patterns from {e} to $this")
                        if routes:
                            chain, nodes = min(routes, key=lambda r: len(r[0]))
                            candidates |= _follow(walk, chain, set(nodes))
            if any(not isinstance(c, ox.NamedNode) for c in candidates):
                raise Unbounded("a focus that is a literal or a blank node (the neighbourhood check names IRIs)")
            foci |= {c.value for c in candidates}
        if foci:  # every rule is validated at every such node (one validation): each reads there what it needs
            for edges in rules.values():
                _read_at(walk, edges, {ox.NamedNode(f) for f in foci})
    except Unbounded:
        return None
    return foci, walk.read


def _read_at(walk: Walk, edges: tuple[Edge, ...], foci: set[Node]) -> None:
    """Read every pattern at `foci` (`$this`): from the nodes one of its ends can be bound to, found by following
    from `foci` the shortest chain of patterns that every solution matching it matches too (`_check_bound` made
    sure there is one, whichever UNION branches a solution takes). Every match a solution at those foci can use
    (OPTIONAL and NOT EXISTS included) is read; a pattern is never walked from a node many things share (a
    scope, a class) unless that is the only way in."""
    for e in edges:
        ends = [v for v in (e.start, e.end) if isinstance(v, str)]
        for choice in _choices(edges, e):
            routes = [(v, _way_in(edges, v, e, choice)) for v in ends]
            variable, chain = min(((v, r) for v, r in routes if r is not None), key=lambda vr: len(vr[1]))
            # From `$this` out to the variable: the chain walked backwards.
            nodes = _follow(walk, [(edge, not toward_this) for edge, toward_this in reversed(chain)], set(foci))
            if variable == e.start:
                walk.forward(e.path, nodes)
            else:
                walk.backward(e.path, nodes)
