"""The API's contract in OpenAPI terms: the JSON answers as models, the errors every route may give, and the
parameters and bodies of the routes that read their request themselves (the SPARQL and Graph Store protocols,
governance, collections), so that a generated client can call every route and get typed results.

The routes still read requests by hand (the protocols allow repeated parameters, several body types and limits a
model cannot express); these declarations describe what they read, and the tests hold the two together by
generating a client and calling the API through it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ekb.linked_data import COLLECTIONS


class Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorBody(Model):
    """Every error: a one-line reason a person reads, and the kind of error a program switches on."""

    error: str = Field(description="the kind of error, e.g. QuerySyntaxError, GateRefused, LimitExceeded")
    message: str = Field(description="what went wrong and where, in one line")


class Term(Model):
    type: str = Field(description="uri, literal or bnode")
    value: str
    datatype: str | None = None
    xml_lang: str | None = Field(default=None, alias="xml:lang")


class ResultsHead(Model):
    vars: list[str] = []
    link: list[str] | None = None


class Bindings(Model):
    bindings: list[dict[str, Term]]


class SparqlResults(Model):
    """SPARQL 1.1 Query Results JSON: `results` for SELECT, `boolean` for ASK."""

    head: ResultsHead
    results: Bindings | None = None
    boolean: bool | None = None


class Finding(Model):
    rule: str = Field(description="the rule's IRI (a node shape)")
    rule_name: str
    severity: str = Field(description="Violation, Warning or Info")
    focus: str = Field(description="the IRI of the thing that breaks the rule")
    focus_label: str
    focus_type: str
    message: str
    constraint: str
    prop: str = ""
    value: str = ""
    owner: str = Field("", description="the IRI of whoever owns the fix")
    owner_label: str = ""
    sentence: str = Field(description="the finding as one sentence a council member reads")


class Rule(Model):
    iri: str
    name: str
    description: str
    severity: str
    sources: list[str]
    findings: int


class Counts(Model):
    Violation: int
    Warning: int
    Info: int


class Report(Model):
    """A governance report: what breaks which rule, how bad, and who owns the fix."""

    conforms: bool
    engine: str
    started: str
    seconds: float
    validatedTriples: int
    counts: Counts
    rules: list[Rule]
    findings: list[Finding]


class DryRun(Model):
    """The dry run of a change: would it be accepted, and what would it add?"""

    accepted: bool
    inserted: int
    deleted: int
    newViolations: list[Finding]
    newFindings: list[Finding]
    report: Report


class UpdateResult(Model):
    """What a SPARQL Update did: triples inserted and deleted, and the warnings and infos it added."""

    accepted: bool
    inserted: int
    deleted: int
    newFindings: list[Finding]
    note: str | None = Field(None, description="present when the update changed nothing")


class WriteResult(Model):
    """A Graph Store write that has something to report (204 when it has nothing)."""

    accepted: bool
    newFindings: list[Finding]


class ImportResult(Model):
    graph: str
    triples: int = Field(description="triples the document holds")
    inserted: int
    deleted: int
    newFindings: list[Finding]


class HistoryRun(Model):
    run: str
    started: str
    violations: int
    warnings: int
    infos: int
    triples: int
    engine: str


class Health(Model):
    status: str
    version: str
    backend: str
    graphs: int
    triples: int


class CollectionInfo(Model):
    kind: str
    url: str
    filters: list[str]


class CollectionPage(Model):
    """An Activity Streams OrderedCollectionPage (JSON-LD, context /context/v3.jsonld): items in label order."""

    context: str = Field(alias="@context")
    id: str
    type: list[str]
    kind: str
    partOf: str
    totalItems: int
    startIndex: int
    page: int
    pageSize: int
    items: list[dict[str, Any]] = Field(description="each item as its own resource document shows it")
    next: str | None = None
    prev: str | None = None


class ChangeItem(Model):
    """One accepted write (an Activity Streams Create, Update or Delete)."""

    id: str
    type: list[str]
    number: int = Field(description="the cursor: give it as `after` to read what follows")
    published: str
    via: str = Field(description="sparql-update, graph-store, import or load")
    object: list[str] = Field(description="the resources whose statements changed")
    target: list[str] = Field(description="the graphs that changed")
    added: str = Field(description="the statements added, as N-Quads")
    removed: str = Field(description="the statements removed, as N-Quads (default graph: from every data graph)")
    complete: bool = Field(description="false: added/removed leave something out; re-read `object` and `target`")


class ChangePage(Model):
    context: str = Field(alias="@context")
    id: str
    type: list[str]
    cursor: int = Field(description="the last change on this page: the next `after`")
    items: list[ChangeItem]
    next: str | None = None


# --- errors ----------------------------------------------------------------------------------------------------

ERROR_STATUS = {
    400: "the request is malformed: a syntax error, a bad parameter, a limit on its shape (named in the message)",
    401: "a write without the right bearer token",
    403: "refused: a protected graph, or SERVICE / LOAD to a host the operator did not allow",
    404: "no such resource, graph, query or collection",
    406: "no format the client accepts",
    408: "the request body did not arrive in time",
    413: "the request body is larger than the limit",
    415: "a Content-Type this route does not take",
    422: "the governance gate refused the change: nothing was stored (the findings are in the body)",
    503: "stopped past the time limit, or the server is busy: try again (see Retry-After)",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error answers of a route: each with the one error body every route uses."""
    return {status: {"model": ErrorBody, "description": ERROR_STATUS[status]} for status in statuses}


READ_ERRORS = (400, 404, 406, 503)
WRITE_ERRORS = (400, 401, 403, 408, 413, 415, 422, 503)


# --- parameters and bodies of the routes that read their own request ------------------------------------------

def query_parameter(name: str, description: str, schema: dict | None = None, required: bool = False,
                    example: object = None) -> dict:
    entry = {"name": name, "in": "query", "required": required, "description": description,
             "schema": schema or {"type": "string"}}
    if example is not None:
        entry["example"] = example
    return entry


EXAMPLE_QUERY = ("PREFIX ekb: <https://kb.quantum-energy.example/def/core/> PREFIX rdfs: "
                 "<http://www.w3.org/2000/01/rdf-schema#> SELECT ?capability ?label WHERE { ?capability a "
                 "ekb:L1Capability ; rdfs:label ?label } LIMIT 5")
DATASET_PARAMETERS = [
    query_parameter("default-graph-uri", "a graph of the query's default graph (repeatable); with named-graph-uri, "
                    "the protocol's dataset replaces the query's FROM / FROM NAMED",
                    {"type": "array", "items": {"type": "string", "format": "iri"}}),
    query_parameter("named-graph-uri", "a named graph of the query's dataset (repeatable)",
                    {"type": "array", "items": {"type": "string", "format": "iri"}}),
]
SPARQL_GET = {"parameters": [
    query_parameter("query", "the SPARQL 1.1 query; without it, the service description", example=EXAMPLE_QUERY),
    *DATASET_PARAMETERS,
    query_parameter("format", "the answer's format, instead of the Accept header",
                    {"type": "string", "enum": ["json", "xml", "csv", "tsv", "turtle", "ntriples", "rdfxml", "jsonld",
                                                "trig", "nquads"]}),
]}
SPARQL_POST = {
    "parameters": [*DATASET_PARAMETERS,
                   query_parameter("using-graph-uri", "with an update: a graph of its WHERE's default graph "
                                   "(repeatable)", {"type": "array", "items": {"type": "string", "format": "iri"}}),
                   query_parameter("using-named-graph-uri", "with an update: a named graph of its WHERE (repeatable)",
                                   {"type": "array", "items": {"type": "string", "format": "iri"}})],
    "requestBody": {"required": True, "description": "a query or (with the write token) an update", "content": {
        "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
            "query": {"type": "string", "description": "a SPARQL query (or give update)", "example": EXAMPLE_QUERY},
            "update": {"type": "string", "description": "a SPARQL Update (needs the write token)"}}}},
        "application/sparql-query": {"schema": {"type": "string"}, "example": EXAMPLE_QUERY},
        "application/sparql-update": {"schema": {"type": "string"},
                                      "example": "INSERT DATA { GRAPH <https://kb.quantum-energy.example/graph/data/"
                                                 "notes> { <urn:x> <urn:y> <urn:z> } }"}}},
}
RDF_TYPES = ["text/turtle", "application/n-triples", "application/rdf+xml", "application/ld+json", "application/trig",
             "application/n-quads"]
GRAPH_PARAMETERS = [
    query_parameter("graph", "the graph's IRI (indirect identification)", {"type": "string", "format": "iri"},
                    example="https://kb.quantum-energy.example/graph/data/capabilities"),
    query_parameter("default", "the Graph Store's default graph (graph/data/default); give it without a value",
                    {"type": "string", "enum": [""]}),
]
RDF_BODY = {"required": True, "description": "an RDF document, or multipart/form-data with one document per part",
            "content": {**{t: {"schema": {"type": "string"}} for t in RDF_TYPES},
                        "multipart/form-data": {"schema": {"type": "object", "additionalProperties": {
                            "type": "string", "format": "binary"}}}}}
GRAPH_READ = {"parameters": GRAPH_PARAMETERS}
GRAPH_WRITE = {"parameters": GRAPH_PARAMETERS, "requestBody": RDF_BODY}
REPORT_OPTIONS = {"parameters": [
    query_parameter("format", "the report's format, instead of the Accept header",
                    {"type": "string", "enum": ["json", "html", "turtle", "csv", "text"]}),
    query_parameter("group", "group the findings by rule or by owner (HTML and text)",
                    {"type": "string", "enum": ["rule", "owner"], "default": "rule"}),
]}
DRY_RUN = {
    "parameters": [query_parameter("graph", "the graph an RDF document would go into (default graph/data/proposed)",
                                   {"type": "string", "format": "iri"})],
    "requestBody": {"required": True, "description": "the change: an RDF document to add, a SPARQL Update, or a "
                    "multipart form with `add` and `remove` parts (and an optional `format`)", "content": {
                        **{t: {"schema": {"type": "string"}} for t in RDF_TYPES},
                        "application/sparql-update": {"schema": {"type": "string"}},
                        "multipart/form-data": {"schema": {"type": "object", "properties": {
                            "add": {"type": "string", "format": "binary"},
                            "remove": {"type": "string", "format": "binary"},
                            "format": {"type": "string"}}}}}},
}
FILTERS = sorted({name for _, filters in COLLECTIONS.values() for name in filters})
COLLECTION_QUERY = {"parameters": [
    query_parameter("page", "the page, from 1", {"type": "integer", "minimum": 1, "default": 1}),
    query_parameter("size", "items per page", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}),
    query_parameter("format", "the view, instead of the Accept header",
                    {"type": "string", "enum": ["jsonld", "turtle", "ntriples", "csv", "html"]}),
    *[query_parameter(name, f"filter by {name}: an IRI or a slug (see GET /collections for each kind's filters)",
                      example={"level": "1", "scope": "regulated", "owner": "chief-data-officer"}.get(name))
      for name in FILTERS],
]}
IMPORT = {
    "parameters": [query_parameter("graph", "the graph to import into (default graph/data/imported)",
                                   {"type": "string", "format": "iri"},
                                   example="https://kb.quantum-energy.example/graph/data/cmdb")],
    "requestBody": {"required": True, "description": "a JSON-LD document (the published context, or an inline one)",
                    "content": {"application/ld+json": {"schema": {"type": "object"}}}},
}

ANSWER_TYPES = {t: {} for t in ("application/sparql-results+xml", "text/csv", "text/tab-separated-values",
                                *RDF_TYPES, "text/html")}
RDF_CONTENT = {t: {"schema": {"type": "string"}} for t in RDF_TYPES}
REPORT_TYPES = {t: {"schema": {"type": "string"}} for t in ("text/html", "text/turtle", "text/csv", "text/plain")}
COLLECTION_TYPES = {t: {"schema": {"type": "string"}} for t in ("text/turtle", "application/n-triples", "text/csv",
                                                                 "text/html")}
RESOURCE_TYPES = {"application/ld+json": {"schema": {"type": "object"}},
                  **{t: {"schema": {"type": "string"}} for t in ("text/turtle", "application/n-triples", "text/html")}}


def refine(schema: dict, versions: tuple[str, ...]) -> dict:
    """Closed sets the routes check by hand, as enums: the collection kinds and the context versions."""
    for path, name, values in (("/collections/{kind}", "kind", sorted(COLLECTIONS)),
                               ("/context/{version}.jsonld", "version", list(versions))):
        for operation in schema["paths"].get(path, {}).values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == name and parameter["in"] == "path":
                    parameter["schema"] = {"type": "string", "enum": values}
    return schema
