"""JSON-LD for tools: the published context, resource documents, collections, import and framed export.

A resource's description is what the store asserts about it, plus the inverse links OWL RL derived from
asserted ones (so a capability lists its children and the systems supporting it), plus the label of every
thing it links to. Documents are that description, framed around the resource (JSON-LD 1.1 framing, pyld)
and compacted with the one published context, so a program reads stable keys without knowing RDF.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyoxigraph as ox
from pyld import jsonld

from ekb.config import BASE_IRI, DATA_GRAPH_FILTER, ID, INFERRED_GRAPH, UTIL, XSD_INTEGER, sparql_prologue
from ekb.errors import InputError, NotFound
from ekb.limits import check_json_depth
from ekb.store import Store

CONTEXT_VERSION = "v1"
CONTEXT_FILE = Path(__file__).parent / "contexts" / f"{CONTEXT_VERSION}.jsonld"
CONTEXT_PATH = f"/context/{CONTEXT_VERSION}.jsonld"
CANONICAL_CONTEXT = BASE_IRI + CONTEXT_PATH.lstrip("/")


@cache
def context() -> dict:
    """The published context document ({"@context": {...}})."""
    return json.loads(CONTEXT_FILE.read_text(encoding="utf-8"))


def is_context_url(url: str) -> bool:
    return url == CANONICAL_CONTEXT or url.endswith(CONTEXT_PATH) or url.endswith("/context.jsonld")


def document_loader(url: str, options: dict | None = None) -> dict:
    """Resolve only the project's own context: fetching arbitrary URLs on behalf of a client is refused."""
    if is_context_url(url):
        return {"contextUrl": None, "documentUrl": url, "document": context()}
    raise jsonld.JsonLdError(f"remote context {url} is not loaded: only the ekb context is available offline",
                             "jsonld.LoadDocumentError", code="loading remote context failed")


OPTIONS = {"documentLoader": document_loader}

DESCRIBE = sparql_prologue() + """CONSTRUCT {{ ?s ?p ?o . ?o rdfs:label ?label }} WHERE {{
  VALUES ?s {{ {subjects} }}
  {{ GRAPH ?g {{ ?s ?p ?o }} {data_graphs} }}
  UNION
  {{ GRAPH <{inferred}> {{ ?s ?p ?o }} ?p owl:inverseOf|^owl:inverseOf ?q .
     GRAPH ?g {{ ?o ?q ?s }} {data_graphs} }}
  OPTIONAL {{ ?o rdfs:label ?label . FILTER(isIRI(?o) && ?p != rdf:type) }}
}}"""


def describe(store: Store, subjects: Iterable[str]) -> list[ox.Triple]:
    """The description of each subject (see the module docstring), as one set of triples."""
    values = " ".join(str(ox.NamedNode(s)) for s in subjects)
    if not values:
        return []
    query = DESCRIBE.format(subjects=values, inferred=INFERRED_GRAPH, data_graphs=DATA_GRAPH_FILTER)
    return sorted(set(store.construct(query)), key=str)


def to_expanded(triples: list[ox.Triple]) -> list:
    nquads = ox.serialize(triples, format=ox.RdfFormat.N_QUADS).decode("utf-8")
    return jsonld.from_rdf(nquads, {"format": "application/n-quads", "useNativeTypes": True})


def frame_one(expanded: list, iri: str, context_url: str) -> dict:
    """The resource framed as the root, with every linked thing embedded as {id, label}."""
    frame = {"@context": context()["@context"], "@id": iri, "@embed": "@always"}
    framed = jsonld.frame(expanded, frame, {**OPTIONS, "omitGraph": True})
    framed.pop("@context", None)
    return {"@context": context_url, **framed}


@dataclass(frozen=True)
class Document:
    body: dict
    etag: str
    triples: list[ox.Triple]


def resource_document(store: Store, iri: str, context_url: str) -> Document:
    triples = describe(store, [iri])
    if not any(t.subject.value == iri for t in triples):
        raise NotFound(f"nothing is known about <{iri}>: it is not a resource of this knowledge base")
    body = frame_one(to_expanded(triples), iri, context_url)
    return Document(body, etag_of(triples), triples)


def etag_of(triples: list[ox.Triple]) -> str:
    return '"' + hashlib.sha256(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)).hexdigest()[:32] + '"'


def collection_items(store: Store, iris: list[str], context_url: str) -> list[dict]:
    """Each item as its own resource document would show it (without the repeated @context)."""
    expanded = to_expanded(describe(store, iris))
    items = []
    for iri in iris:
        doc = frame_one(expanded, iri, context_url)
        doc.pop("@context")
        items.append(doc)
    return items


def parse_document(data: bytes, source: str) -> list[ox.Triple]:
    """A JSON-LD document (any context the loader can resolve) as triples; 400-class errors say why.

    Its nesting is checked on the bytes first: json.loads and pyld both recurse. Nothing is fetched: the document
    loader resolves only the ekb context, so a remote @context or @import is refused. The triples are built from
    pyld's dataset term by term, never through N-Quads text: pyld writes a language tag as it finds it, so a tag
    holding a newline would inject a triple of its own into that text; the term constructors refuse what RDF
    does not allow (an invalid IRI, a bad language tag) with the reason."""
    check_json_depth(data, source)
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise InputError(f"{source}: not UTF-8 ({err})") from None
    except json.JSONDecodeError as err:
        raise InputError(f"{source}: malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}") from None
    try:
        dataset = jsonld.to_rdf(document, {**OPTIONS, "base": BASE_IRI})
    except jsonld.JsonLdError as err:
        raise InputError(f"{source}: not valid JSON-LD: {_jsonld_reason(err)}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError) as err:  # pyld on shapes it does not expect
        raise InputError(f"{source}: not valid JSON-LD: {type(err).__name__}: {err}") from None
    triples = []
    for quads in dataset.values():
        for quad in quads:
            terms = []
            for place in ("subject", "predicate", "object"):
                try:
                    terms.append(_term(quad[place]))
                except (ValueError, TypeError, KeyError) as err:
                    node = quad.get(place) or {}
                    shown = str(node.get("language") or node.get("value"))[:100] if isinstance(node, dict) else ""
                    raise InputError(f"{source}: the JSON-LD expands to an invalid {place} {shown!r}: {err}") from None
            triples.append(ox.Triple(*terms))
    if not triples:
        raise InputError(f"{source}: the JSON-LD document holds no triples (are its keys in its @context?)")
    return triples


XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _term(node: dict) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """One term of pyld's dataset; the constructors validate it."""
    kind, value = node["type"], node["value"]
    if kind == "IRI":
        return ox.NamedNode(value)
    if kind == "blank node":
        return ox.BlankNode(value.removeprefix("_:"))
    if node.get("language"):
        return ox.Literal(value, language=node["language"])
    return ox.Literal(value, datatype=ox.NamedNode(node.get("datatype") or XSD_STRING))


def _jsonld_reason(err: Exception) -> str:
    parts = [str(getattr(err, "message", "") or err).strip()]
    cause = getattr(err, "cause", None)
    if cause is not None:
        parts.append(_jsonld_reason(cause))
    details = getattr(err, "details", None)
    if details:
        parts.append(json.dumps(details, default=str)[:300])
    return "; ".join(p for p in parts if p)


def export_document(store: Store, kind: str | None = None, context_url: str = CANONICAL_CONTEXT) -> dict:
    """The whole knowledge base (every individual), or one kind, as one framed JSON-LD document:
    {"@context": ..., "@graph": [resource documents]}."""
    if kind is None:
        where = f'?item ?p ?o . FILTER(isIRI(?item) && STRSTARTS(STR(?item), "{ID}"))'
    elif kind in COLLECTIONS:
        where = f"?item a {COLLECTIONS[kind][0]} ."
    else:
        raise InputError(f"unknown kind {kind!r}; the kinds are: {', '.join(COLLECTIONS)}")
    rows = store.select(sparql_prologue() + f"SELECT DISTINCT ?item WHERE {{ {where} }} ORDER BY ?item")
    return {"@context": context_url, "@graph": collection_items(store, [r["item"].value for r in rows], context_url)}


# The main kinds: kind -> (class, {filter name: (property, kind of value)}), for collections and exports.
OWNER = ("ekb:hasAccountableOwner", "owner")
SCOPE = ("util:hasRegulatoryScope", "scope")
COLLECTIONS: dict[str, tuple[str, dict[str, tuple[str, str]]]] = {
    "capabilities": ("ekb:BusinessCapability", {"level": ("ekb:capabilityLevel", "integer"),
                                                "parent": ("ekb:hasParentCapability", "capability"),
                                                "scope": SCOPE, "owner": OWNER}),
    "value-streams": ("ekb:ValueStream", {"scope": SCOPE, "owner": OWNER,
                                         "category": ("ekb:valueStreamCategory", "value-stream-category")}),
    "information-entities": ("ekb:InformationEntity", {"domain": ("ekb:belongsToDomain", "information-domain"),
                                                        "scope": SCOPE, "owner": OWNER,
                                                        "steward": ("ekb:hasDataSteward", "owner")}),
    "domains": ("ekb:InformationDomain", {"owner": OWNER}),
    "systems": ("ekb:System", {"scope": SCOPE, "owner": OWNER}),
    "business-units": ("ekb:BusinessUnit", {"scope": SCOPE}),
    "owners": ("ekb:Owner", {"unit": ("org:postIn", "department")}),
    "governance-bodies": ("ekb:GovernanceBody", {"owner": OWNER}),
    "data-sharing-agreements": ("ekb:DataSharingAgreement", {"owner": OWNER,
                                                             "recipient": ("ekb:dsaRecipient", "business-unit")}),
}


def filter_term(name: str, value: str, kind: str) -> ox.NamedNode | ox.Literal:
    """A filter value as an RDF term: an integer, a scope name, a full IRI or a slug of the expected kind."""
    if kind == "integer":
        try:
            number = int(value) if value.isascii() else None
        except ValueError:
            number = None
        if number is None:
            raise InputError(f"filter {name}: {value!r} is not an integer")
        return ox.Literal(str(number), datatype=ox.NamedNode(XSD_INTEGER))
    if kind == "scope":
        names = {"regulated": "Regulated", "non-regulated": "NonRegulated", "nonregulated": "NonRegulated",
                 "shared": "Shared"}
        if value.lower() in names:
            return ox.NamedNode(UTIL + names[value.lower()])
    iri = value if "://" in value else f"{ID}{kind}/{value}"
    try:
        return ox.NamedNode(iri)
    except ValueError:
        raise InputError(f"filter {name}: {value!r} is not an IRI or a slug") from None


def collection_page(store: Store, kind: str, filters: dict[str, str], page: int, size: int,
                    context_url: str) -> tuple[int, list[dict]]:
    """(how many items match, the items of one page as JSON-LD documents), ordered by label."""
    if kind not in COLLECTIONS:
        raise NotFound(f"no collection {kind!r}; the collections are: {', '.join(COLLECTIONS)}")
    cls, known = COLLECTIONS[kind]
    unknown = sorted(set(filters) - set(known))
    if unknown:
        raise InputError(f"unknown filter {', '.join(unknown)} for {kind}; filters: {', '.join(sorted(known)) or 'none'}")
    patterns = [f"?item {known[n][0]} {filter_term(n, v, known[n][1])} ." for n, v in filters.items()]
    where = f"?item a {cls} . {' '.join(patterns)} OPTIONAL {{ ?item rdfs:label ?label }} OPTIONAL {{ ?item skos:notation ?n }}"
    prologue = sparql_prologue()
    total = int(store.select(prologue + f"SELECT (COUNT(DISTINCT ?item) AS ?c) WHERE {{ {where} }}")[0]["c"].value)
    rows = store.select(prologue + f"SELECT DISTINCT ?item WHERE {{ {where} }} "
                        f"ORDER BY ?label ?item LIMIT {size} OFFSET {(page - 1) * size}")
    return total, collection_items(store, [r["item"].value for r in rows], context_url)
