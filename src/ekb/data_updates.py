"""Updates made only of DELETE DATA and INSERT DATA: read as the quads they remove and add, with no WHERE to
evaluate and no trial run on a copy of the store.

Such an update changes exactly the quads it names, so its effect on a store is known from the store's indexes
(what it names that is there, what is not): the gate judges it as it judges a Graph Store write, and a remote
engine that takes only so much per request gets it staged (`RemoteStore.change_quads`)."""

from __future__ import annotations

import pyoxigraph as ox

from ekb.config import is_data_graph
from ekb.sparql_lexer import NAME, OP, WS, read


def data_quads(sparql: str, base_iri: str | None) -> tuple[list[ox.Quad], list[ox.Quad]] | None:
    """(removed, added) as written by an update made of DELETE DATA operations followed by INSERT DATA
    operations (else None). Read by pyoxigraph, by running it on empty in-memory stores: as written for what it
    adds (a DELETE DATA first removes nothing), and its DELETE DATA operations alone, each read as INSERT DATA,
    for what it removes. The operations are told apart on the lexer's tokens at nesting depth 0,
    never inside a literal or an IRI."""
    reading = read(sparql)
    if reading.stopped_at is not None:
        return None
    tokens = [t for t in reading.tokens if t[0] != WS]
    words = [sparql[t[1]:t[2]].lower() if t[0] == NAME else "" for t in tokens]
    kinds, swapped = [], []
    for i, token in enumerate(tokens):
        if token[3] != 0 or token[0] != NAME or words[i] in ("prefix", "base", "data"):
            continue
        if words[i] not in ("insert", "delete") or words[i + 1:i + 2] != ["data"]:
            return None
        kinds.append(words[i])
        swapped.append((token[1], token[2], "INSERT" if words[i] == "delete" else "DELETE"))
    if not kinds or kinds != sorted(kinds):  # "delete" < "insert": every DELETE DATA before every INSERT DATA
        return None
    inserts = [start for (start, _, _), kind in zip(swapped, kinds, strict=True) if kind == "insert"]
    separators = [t[1] for t in tokens if t[0] == OP and t[3] == 0 and sparql[t[1]:t[2]] == ";"]
    # The DELETE DATA operations alone: the text up to the ";" before the first INSERT DATA.
    inverse = sparql[:max((s for s in separators if s < inserts[0]), default=0)] if inserts else sparql
    for start, end, word in sorted(swapped, reverse=True):
        if start < len(inverse):
            inverse = inverse[:start] + word + inverse[end:]
    try:
        added_store, removed_store = ox.Store(), ox.Store()
        added_store.update(sparql, base_iri=base_iri)
        removed_store.update(inverse, base_iri=base_iri)
    except SyntaxError:
        return None  # the engine refuses it with its own message
    return list(removed_store), list(added_store)


def effective(engine: ox.Store, removed: list[ox.Quad], added: list[ox.Quad]) -> tuple[set[ox.Quad], set[ox.Quad]]:
    """(removed, added) as they change `engine`: the named quads it holds that the update removes and does not
    add back, and the named quads it does not hold yet."""
    kept = set(added)
    return ({q for q in removed if q not in kept and q in engine}, {q for q in added if q not in engine})


def union_change(engine: ox.Store, removed: set[ox.Quad], added: set[ox.Quad]) -> tuple[set[ox.Triple], set[ox.Triple]]:
    """(removed, added) triples of the union of the data graphs, what validation reads, for an effective change:
    a triple leaves the union when no data graph holds it afterwards, and joins it when none held it before."""
    def holders(triple: ox.Triple) -> set[ox.Quad]:
        return {q for q in engine.quads_for_pattern(triple.subject, triple.predicate, triple.object, None)
                if isinstance(q.graph_name, ox.NamedNode) and is_data_graph(q.graph_name.value)}
    in_data = [q for q in [*removed, *added] if isinstance(q.graph_name, ox.NamedNode) and is_data_graph(q.graph_name.value)]
    gone = {q.triple for q in in_data if q in removed}
    new = {q.triple for q in in_data if q in added}
    left = {t for t in gone if not (holders(t) - removed) and t not in new}
    joined = {t for t in new if not holders(t) - removed and t not in gone}
    return left, joined
