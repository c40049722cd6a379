"""The hostile-input corpus for tests/test_hostile.py, as data: every request is a `Case`.

Bodies are built lazily (some are 30 MB). The text `CANARYHOST` in a request target, a header or a body is
replaced, just before sending, by the address of the canary HTTP server, and every canary URL carries the
case's own tag (`/c/<tag>`), so a request that makes the server fetch something names itself.

Writes sent with the right token are all ones the server must refuse: malformed, oversized, aimed at an
invalid or absent graph, or carrying a governance violation (`POISON_*`: a customer without an account), so a
write that slips past a parser or a guard is still refused by the gate and the store's counts stay equal.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

TOKEN = "hostile-suite-write-token-7f3a"
WRONG = "hostile-suite-wrong-token"
CANARY = "CANARYHOST"  # replaced by 127.0.0.1:<canary port> when sending

BASE = "https://kb.quantum-energy.example/"
INFO = BASE + "def/info/"
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
HOSTILE_GRAPH = BASE + "graph/data/hostile"
PROPOSED_GRAPH_ABSENT = BASE + "graph/data/hostile-absent"
CAPABILITY = BASE + "id/capability/10-2-billing-and-payment-management"

# A governance violation ("a customer has one or more accounts"): the gate refuses any write that adds it.
POISON_TTL = (f'<urn:hostile:customer> a <{INFO}Customer> ; <{RDFS_LABEL}> "Hostile customer"@en .\n')
POISON_UPDATE = (f"INSERT DATA {{ GRAPH <{HOSTILE_GRAPH}> {{ <urn:hostile:customer> a <{INFO}Customer> ; "
                 f'<{RDFS_LABEL}> "Hostile customer"@en }} }}')
POISON_JSONLD = {"@id": "urn:hostile:customer", "@type": INFO + "Customer",
                 RDFS_LABEL: {"@value": "Hostile customer", "@language": "en"}}
POISON_RDFXML = (f'<rdf:Description rdf:about="urn:hostile:customer"><rdf:type rdf:resource="{INFO}Customer"/>'
                 f'<rdfs:label xml:lang="en">Hostile customer</rdfs:label></rdf:Description>')
RDF_NS = ('xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
          'xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#" xmlns:ex="http://example.org/"')

MIB = 1024 * 1024
BOMB_TIMEOUT = 5.0  # a parser bomb must be refused at once; past this the server is taken as hung
LEAK_MARKERS = (b"root:x:0:0", b"[project]", b"[build-system]", b"BEGIN PRIVATE KEY", b"daemon:x:")

Body = bytes | Callable[[], bytes] | None


@dataclass
class Case:
    label: str  # short and unique: the test id
    method: str
    target: str | bytes | Callable[[], bytes]  # the request-target as sent (already percent-encoded where needed)
    headers: list[tuple[str | bytes, str | bytes]] = field(default_factory=list)
    body: Body = None
    auth: str = "none"  # none | wrong | right | odd: which Authorization header the case sends
    expect: frozenset[int] | None = None  # the statuses the brief requires, when it names them
    must_refuse: bool = False  # a 4xx is required (writes with the right token; SERVICE/LOAD)
    canary: bool = False  # the case points the server at the canary
    chunked: bool = False  # send the body with Transfer-Encoding: chunked (no Content-Length)
    raw: bytes | None = None  # the whole request as raw bytes (protocol violations)
    allow_close: bool = False  # the server may close the connection without an answer (protocol violations)
    timeout: float = 15.0
    window: str | None = None  # name of a latency window to record ("2MB")
    pace: tuple[int, float] | None = None  # send the body in chunks of this size with this pause (an upload, not a burst)
    leak_check: bool = False  # the answer must not contain a local file

    @property
    def route(self) -> str:
        if callable(self.target):
            return "/sparql"
        target = self.target.decode("latin-1") if isinstance(self.target, bytes) else self.target
        return target.split("?", 1)[0][:60]

    @property
    def tag(self) -> str:
        return self.label

    def fill(self, value: bytes, canary_host: str) -> bytes:
        host, port = canary_host.encode(), canary_host.rsplit(":", 1)[1].encode()
        return value.replace(b"CANARYTAG", self.tag.encode()).replace(b"CANARYHOST", host).replace(b"CANARYPORT", port)

    def materialise(self, canary_host: str) -> tuple[bytes, list[tuple[bytes, bytes]], bytes | None]:
        """The target, headers and body as bytes, with the canary's address and this case's tag filled in."""
        target = self.target() if callable(self.target) else self.target
        target = target if isinstance(target, bytes) else target.encode("latin-1")
        headers = [(k if isinstance(k, bytes) else k.encode("latin-1"),
                    v if isinstance(v, bytes) else v.encode("latin-1")) for k, v in self.headers]
        body = self.body() if callable(self.body) else self.body
        return (self.fill(target, canary_host), [(k, self.fill(v, canary_host)) for k, v in headers],
                self.fill(body, canary_host) if body is not None else None)


# --------------------------------------------------------------------------------------------------------
# A raw HTTP/1.1 client: nothing is validated or normalised on the way out, so a case sends exactly its bytes.


@dataclass
class Reply:
    status: int | None
    headers: dict[str, str]
    body: bytes
    elapsed: float
    error: str | None = None
    send_error: str | None = None


def _read_reply(sock: socket.socket, deadline: float) -> tuple[int | None, dict[str, str], bytes, str | None]:
    data = bytearray()
    status, headers, head_end, length = None, {}, None, None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return status, headers, bytes(data[head_end or 0:]), "no complete answer before the client's time limit"
        sock.settimeout(min(remaining, 1.0))
        try:
            chunk = sock.recv(262144)
        except TimeoutError:
            continue
        except OSError as err:
            if status is not None:
                return status, headers, bytes(data[head_end:]), None
            return None, {}, b"", f"connection error before any answer: {err!r}"
        if not chunk:
            if status is None:
                return None, {}, b"", "connection closed without an answer" + (f" (got {bytes(data[:200])!r})" if data else "")
            return status, headers, bytes(data[head_end:]), None
        data.extend(chunk)
        if status is None:
            end = data.find(b"\r\n\r\n")
            if end < 0:
                continue
            head_end = end + 4
            lines = bytes(data[:end]).decode("latin-1").split("\r\n")
            try:
                status = int(lines[0].split()[1])
            except (IndexError, ValueError):
                return None, {}, b"", f"unparseable status line {lines[0][:100]!r}"
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            if "content-length" in headers and headers["content-length"].isdigit():
                length = int(headers["content-length"])
        if status is not None and length is not None and len(data) - head_end >= length:
            return status, headers, bytes(data[head_end:head_end + length]), None


def send(port: int, case: Case, canary_host: str, token: str = TOKEN) -> Reply:
    target, headers, body = case.materialise(canary_host)
    if case.raw is not None:
        request, body_parts = case.fill(case.raw, canary_host), []
    else:
        names = {k.lower() for k, _ in headers}
        head = [case.method.encode() + b" " + target + b" HTTP/1.1"]
        if b"host" not in names:
            head.append(b"Host: 127.0.0.1:" + str(port).encode())
        head.append(b"Connection: close")
        head += [k + b": " + v for k, v in headers]
        body_parts: list[bytes] = []
        if body is not None:
            if case.chunked:
                head.append(b"Transfer-Encoding: chunked")
                step = 1 << 20
                body_parts = [b"%x\r\n" % len(body[i:i + step]) + body[i:i + step] + b"\r\n"
                              for i in range(0, len(body), step)] + [b"0\r\n\r\n"]
            else:
                if b"content-length" not in names:
                    head.append(b"Content-Length: " + str(len(body)).encode())
                body_parts = [body]
        request = b"\r\n".join(head) + b"\r\n\r\n"
    started = time.monotonic()
    deadline = started + case.timeout
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    except OSError as err:
        return Reply(None, {}, b"", 0.0, f"cannot connect: {err!r}")
    send_error: list[str] = []

    def sender() -> None:
        try:
            sock.sendall(request)
            step, pause = case.pace or (1 << 20, 0.0)
            for part in body_parts:
                view = memoryview(part)
                for i in range(0, len(view), step):
                    sock.sendall(view[i:i + step])
                    if pause:
                        time.sleep(pause)
        except OSError as err:
            send_error.append(repr(err))

    writer = threading.Thread(target=sender, daemon=True)
    writer.start()
    try:
        status, reply_headers, reply_body, error = _read_reply(sock, deadline)
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        writer.join(5)
    return Reply(status, reply_headers, reply_body, time.monotonic() - started, error,
                 send_error[0] if send_error else None)


# --------------------------------------------------------------------------------------------------------
# Builders


def auth_header(auth: str) -> list[tuple[str, str]]:
    return {"none": [], "wrong": [("Authorization", f"Bearer {WRONG}")],
            "right": [("Authorization", f"Bearer {TOKEN}")]}[auth]


def form(**fields: str) -> bytes:
    return urlencode(list(fields.items()), quote_via=quote).encode()


def qs(*pairs: tuple[str, str]) -> str:
    return urlencode(list(pairs), quote_via=quote, safe="")


def write_expect(auth: str) -> dict:
    """What a write case requires: refused (a 4xx: 401 without the right token, or 400/413 for a bad body)."""
    return {"must_refuse": True}


def lazy(fn: Callable[[], bytes]) -> Callable[[], bytes]:
    return fn


# SPARQL parser bombs: (name, kind, text). kind "expr" is an expression, "group" a group graph pattern body.
def parser_bombs() -> list[tuple[str, str, Callable[[], str]]]:
    return [
        ("parens-10k", "expr", lambda: "(" * 10_000 + "1" + ")" * 10_000),
        ("bang-10k", "expr", lambda: "!" * 10_000 + "true"),
        ("minus-10k", "expr", lambda: "- " * 10_000 + "1"),
        ("plus-100k", "expr", lambda: "+".join(["1"] * 100_000)),
        ("brackets-1k", "group", lambda: "?s <urn:hostile:none> " + "[ <urn:hostile:none> " * 1_000 + "?o" + " ]" * 1_000),
        ("brackets-5k", "group", lambda: "?s <urn:hostile:none> " + "[ <urn:hostile:none> " * 5_000 + "?o" + " ]" * 5_000),
        ("union-20k", "group", lambda: " UNION ".join(["{ BIND(1 AS ?u) }"] * 20_000)),
        ("braces-10k", "group", lambda: "{ " * 10_000 + "}" * 10_000),
        ("path-parens-10k", "group", lambda: "?s " + "(" * 10_000 + "<urn:p>" + ")" * 10_000 + " ?o"),
        ("collection-10k", "group", lambda: "?s <urn:p> " + "( " * 10_000 + "?o" + " )" * 10_000),
        ("not-exists-3k", "group", lambda: "FILTER NOT EXISTS { " * 3_000 + "?s ?p ?o" + " }" * 3_000),
    ]


def bomb_query(kind: str, text: str) -> str:
    return f"SELECT * WHERE {{ BIND(({text}) AS ?x) }}" if kind == "expr" else f"SELECT * WHERE {{ {text} }} LIMIT 1"


def bomb_update(kind: str, text: str) -> str:
    where = f"BIND(({text}) AS ?x)" if kind == "expr" else text
    return f"DELETE {{ ?hostile <urn:hostile:p> ?hostile }} WHERE {{ {where} }}"


def ssrf_queries() -> list[tuple[str, str]]:
    c = "http://CANARYHOST/c/CANARYTAG"
    return [
        ("service", f"SELECT * WHERE {{ SERVICE <{c}> {{ ?s ?p ?o }} }}"),
        ("service-silent", f"SELECT * WHERE {{ SERVICE SILENT <{c}> {{ ?s ?p ?o }} }}"),
        ("service-lower", f"select * where {{ service <{c}> {{ ?s ?p ?o }} }}"),
        ("service-mixed-case", f"SELECT * WHERE {{ SeRvIcE sIlEnT <{c}> {{ ?s ?p ?o }} }}"),
        ("service-nospace", f"SELECT * WHERE {{ SERVICE<{c}>{{ ?s ?p ?o }} }}"),
        ("service-silent-nospace", f"SELECT * WHERE {{ SERVICE SILENT<{c}>{{ ?s ?p ?o }} }}"),
        ("service-comment", f"SELECT * WHERE {{ SERVICE# a comment\n<{c}> {{ ?s ?p ?o }} }}"),
        ("service-comment-silent", f"SELECT * WHERE {{ SERVICE #x\n SILENT #y\n <{c}> {{ ?s ?p ?o }} }}"),
        ("service-tabs", f"SELECT * WHERE {{ SERVICE\t\r\n\tSILENT\t<{c}> {{ ?s ?p ?o }} }}"),
        ("service-after-hash-local", "PREFIX ex: <http://example.org/> SELECT * WHERE { BIND(ex:p\\# AS ?x) "
                                     f"SERVICE <{c}> {{ ?s ?p ?o }} }}"),
        ("service-after-quote-local", "PREFIX ex: <http://example.org/> SELECT * WHERE { BIND(ex:p\\' AS ?x) "
                                      f"SERVICE <{c}> {{ ?s ?p ?o }} FILTER(?x != 'x') }}"),
        ("service-after-escaped-string", f'SELECT * WHERE {{ BIND("a\\"#" AS ?q) SERVICE <{c}> {{ ?s ?p ?o }} }}'),
        ("service-after-long-string", f'SELECT * WHERE {{ BIND("""a"b""" AS ?q) SERVICE <{c}> {{ ?s ?p ?o }} }}'),
        ("service-u-escape", f"SELECT * WHERE {{ \\u0053ERVICE <{c}> {{ ?s ?p ?o }} }}"),
        ("service-U-escape", f"SELECT * WHERE {{ \\U00000053ERVICE <{c}> {{ ?s ?p ?o }} }}"),
        ("service-prefixed-iri", "PREFIX c: <http://CANARYHOST/c/> SELECT * WHERE { SERVICE c:CANARYTAG { ?s ?p ?o } }"),
        ("service-base-relative", "BASE <http://CANARYHOST/c/> SELECT * WHERE { SERVICE <CANARYTAG> { ?s ?p ?o } }"),
        ("service-variable", f"SELECT * WHERE {{ VALUES ?endpoint {{ <{c}> }} SERVICE ?endpoint {{ ?s ?p ?o }} }}"),
        ("service-in-subquery", f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }} }}"),
        ("service-in-filter-exists", "SELECT * WHERE { BIND(1 AS ?one) FILTER EXISTS { SERVICE <"
                                     f"{c}> {{ ?s ?p ?o }} }} }}"),
        ("service-in-optional", f"SELECT * WHERE {{ BIND(1 AS ?one) OPTIONAL {{ SERVICE SILENT <{c}> {{ ?s ?p ?o }} }} }}"),
        ("service-in-minus", f"SELECT * WHERE {{ BIND(1 AS ?one) MINUS {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }}"),
        ("service-in-graph", f"SELECT * WHERE {{ GRAPH ?g {{ SERVICE <{c}> {{ ?s ?p ?o }} }} }}"),
        ("service-after-brace", f"SELECT * WHERE {{ {{BIND(1 AS ?one)}}SERVICE<{c}>{{?s ?p ?o}} }}"),
        ("service-localhost", "SELECT * WHERE { SERVICE <http://localhost:CANARYPORT/c/CANARYTAG> { ?s ?p ?o } }"),
        ("service-ask", f"ASK {{ SERVICE <{c}> {{ ?s ?p ?o }} }}"),
        ("service-construct", f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ SERVICE <{c}> {{ ?s ?p ?o }} }}"),
        ("function-iri-canary", f"SELECT (<{c}>(1) AS ?x) WHERE {{}}"),
        ("from-canary", f"SELECT * FROM <{c}> WHERE {{ ?s ?p ?o }} LIMIT 1"),
        ("from-named-canary", f"SELECT * FROM NAMED <{c}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT 1"),
        ("graph-canary", f"SELECT * WHERE {{ GRAPH <{c}> {{ ?s ?p ?o }} }} LIMIT 1"),
    ]


def ssrf_updates() -> list[tuple[str, str]]:
    c = "http://CANARYHOST/c/CANARYTAG"
    return [
        ("load", f"LOAD <{c}>"),
        ("load-silent", f"LOAD SILENT <{c}>"),
        ("load-into", f"LOAD <{c}> INTO GRAPH <{HOSTILE_GRAPH}>"),
        ("load-lower-nospace", f"load<{c}>"),
        ("load-comment", f"LOAD#x\n<{c}>"),
        ("load-silent-nospace", f"LOAD SILENT<{c}>"),
        ("load-after-hash-local", f"PREFIX ex: <http://example.org/> INSERT DATA {{ <urn:a> ex:p\\# 1 }} ; LOAD <{c}>"),
        ("load-after-quote-local", "PREFIX ex: <http://example.org/> INSERT DATA { <urn:a> ex:p\\' 1 } ; "
                                   f"LOAD <{c}> ; INSERT DATA {{ <urn:a> <urn:b> 'x' }}"),
        ("load-u-escape", f"\\u004COAD <{c}>"),
        ("load-prefixed", "PREFIX c: <http://CANARYHOST/c/> LOAD c:CANARYTAG"),
        ("service-in-update", f"INSERT {{ GRAPH <{HOSTILE_GRAPH}> {{ ?s ?p ?o }} }} WHERE {{ SERVICE <{c}> {{ ?s ?p ?o }} }}"),
        ("service-nospace-in-update", f"DELETE {{ ?s ?p ?o }} WHERE {{ SERVICE SILENT<{c}>{{ ?s ?p ?o }} }}"),
        ("using-canary", f"DELETE {{ ?s <urn:hostile:p> ?o }} USING <{c}> WHERE {{ ?s ?p ?o }}"),
        ("with-canary", f"WITH <{c}> DELETE {{ ?s <urn:hostile:p> ?o }} WHERE {{ ?s ?p ?o }}"),
    ]


def billion_laughs(*, attribute: bool = False, poison: bool = False) -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    value = 'ex:p="&lol9;"/>' if attribute else "><ex:p>&lol9;</ex:p></rdf:Description>"
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [{entities}]>\n<rdf:RDF {RDF_NS}>'
            + (POISON_RDFXML if poison else "")
            + f'<rdf:Description rdf:about="urn:hostile:laughs"{value}</rdf:RDF>').encode()


def quadratic_blowup(poison: bool = False) -> bytes:
    entity = "a" * 50_000
    return (f'<?xml version="1.0"?>\n<!DOCTYPE rdf:RDF [<!ENTITY a "{entity}">]>\n<rdf:RDF {RDF_NS}>'
            + (POISON_RDFXML if poison else "")
            + '<rdf:Description rdf:about="urn:hostile:quadratic"><ex:p>' + "&a;" * 20_000
            + "</ex:p></rdf:Description></rdf:RDF>").encode()


def external_entity(kind: str, poison: bool = False) -> bytes:
    c = "http://CANARYHOST/c/CANARYTAG"
    doctype = {"general": f'<!DOCTYPE rdf:RDF [<!ENTITY x SYSTEM "{c}">]>',
               "parameter": f'<!DOCTYPE rdf:RDF [<!ENTITY % p SYSTEM "{c}"> %p;]>',
               "dtd": f'<!DOCTYPE rdf:RDF SYSTEM "{c}">',
               "public": f'<!DOCTYPE rdf:RDF PUBLIC "-//hostile//EN" "{c}">'}[kind]
    use = "&x;" if kind == "general" else "x"
    return (f'<?xml version="1.0"?>\n{doctype}\n<rdf:RDF {RDF_NS}>' + (POISON_RDFXML if poison else "")
            + f'<rdf:Description rdf:about="urn:hostile:xxe"><ex:p>{use}</ex:p></rdf:Description></rdf:RDF>').encode()


def nested_rdfxml(size: int, poison: bool = False) -> bytes:
    """About `size` bytes of RDF/XML nested as deep as that allows (node and property elements alternate)."""
    opening, closing = "<ex:p><rdf:Description>", "</rdf:Description></ex:p>"
    depth = (size - 400) // (len(opening) + len(closing))
    return (f'<?xml version="1.0"?>\n<rdf:RDF {RDF_NS}>' + (POISON_RDFXML if poison else "")
            + '<rdf:Description rdf:about="urn:hostile:nest">' + opening * depth + "<ex:q>leaf</ex:q>"
            + closing * depth + "</rdf:Description></rdf:RDF>").encode()


def flat_rdfxml(size: int) -> bytes:
    """About `size` bytes of plain RDF/XML: one small description after another."""
    items, total, i = [], 300, 0
    while total < size:
        item = f'<rdf:Description rdf:about="urn:hostile:flat:{i}"><ex:p>flat value number {i}</ex:p></rdf:Description>\n'
        items.append(item)
        total += len(item)
        i += 1
    return (f'<?xml version="1.0"?>\n<rdf:RDF {RDF_NS}>\n' + "".join(items) + "</rdf:RDF>").encode()


def nested_parse_type_resource(size: int) -> bytes:
    opening, closing = '<ex:p rdf:parseType="Resource">', "</ex:p>"
    depth = (size - 300) // (len(opening) + len(closing))
    return (f'<?xml version="1.0"?>\n<rdf:RDF {RDF_NS}><rdf:Description rdf:about="urn:hostile:nest">'
            + opening * depth + "<ex:q>leaf</ex:q>" + closing * depth + "</rdf:Description></rdf:RDF>").encode()


def jsonld(doc) -> bytes:
    return json.dumps(doc).encode()


def with_poison(doc: dict) -> dict:
    return {**doc, "@graph": [POISON_JSONLD, *doc.get("@graph", [])]} if "@context" in doc else \
        {"@graph": [POISON_JSONLD, doc]}


def poisoned_json(node: bytes) -> bytes:
    """A raw JSON node (which json.dumps could not write) in a @graph next to the poison."""
    return b'{"@graph": [' + json.dumps(POISON_JSONLD).encode() + b", " + node + b"]}"


def remote_context_docs() -> list[tuple[str, dict]]:
    c = "http://CANARYHOST/c/CANARYTAG"
    node = {"@id": "urn:hostile:node", "name": "x"}
    return [
        ("context-string", {"@context": c, "@graph": [node]}),
        ("context-array", {"@context": [c, {"ex": "http://example.org/"}], "@graph": [node]}),
        ("context-import", {"@context": {"@version": 1.1, "@import": c}, "@graph": [node]}),
        ("context-scoped", {"@context": {"@version": 1.1, "p": {"@id": "http://example.org/p", "@context": c}},
                            "@graph": [{"@id": "urn:hostile:node", "p": {"name": "x"}}]}),
        ("context-protocol-relative", {"@context": "//CANARYHOST/c/CANARYTAG", "@graph": [node]}),
        ("context-localhost", {"@context": "http://localhost:CANARYPORT/c/CANARYTAG", "@graph": [node]}),
        ("context-file", {"@context": "file:///etc/passwd", "@graph": [node]}),
        ("context-type-scoped", {"@context": {"@version": 1.1, "T": {"@id": "http://example.org/T", "@context": c}},
                                 "@graph": [{"@id": "urn:hostile:node", "@type": "T", "name": "x"}]}),
    ]


def invalid_iri_docs() -> list[tuple[str, dict]]:
    p = "http://example.org/p"
    return [
        ("id-space", {"@id": "http://a b/", p: "x"}),
        ("id-angle", {"@id": "http://example.org/<s>", p: "x"}),
        ("id-newline-injection", {"@id": "urn:s", p: {"@id": "urn:o> .\n<urn:a> <urn:b> <urn:c"}}),
        ("id-nul", {"@id": "http://example.org/s\u0000", p: "x"}),
        ("id-bad-host", {"@id": "urn:s", p: {"@id": "http://[::1"}}),
        ("type-space", {"@id": "urn:s", "@type": "http://example.org/T U"}),
        ("type-angle", {"@id": "urn:s", "@type": "http://example.org/T>"}),
        ("vocab-space", {"@context": {"@vocab": "http://example.org/ v/"}, "@id": "urn:s", "name": "x"}),
        ("property-space", {"@id": "urn:s", "http://example.org/p q": "x"}),
        ("datatype-space", {"@id": "urn:s", p: {"@value": "x", "@type": "http://a b/"}}),
        ("language-space", {"@id": "urn:s", p: {"@value": "x", "@language": "en US"}}),
        ("blank-space", {"@id": "_:b 0", p: "x"}),
        ("relative-base-escape", {"@context": {"@base": "http://a b/"}, "@id": "x", p: "y"}),
    ]


# --------------------------------------------------------------------------------------------------------
# The corpus


def build() -> list[Case]:
    cases: list[Case] = []

    def add(case: Case) -> None:
        cases.append(case)

    ct_query = [("Content-Type", "application/sparql-query")]
    ct_update = [("Content-Type", "application/sparql-update")]
    ct_form = [("Content-Type", "application/x-www-form-urlencoded")]
    ct_json = [("Content-Type", "application/ld+json")]
    ct_ttl = [("Content-Type", "text/turtle")]
    ct_xml = [("Content-Type", "application/rdf+xml")]
    accept_json = [("Accept", "application/sparql-results+json")]

    # ---- SPARQL parser bombs: query GET, POST form, POST direct; update with the right token (poisoned),
    # form update with the right and the wrong token, and as a dry run on /governance/validate.
    for name, kind, make in parser_bombs():
        add(Case(f"bomb-{name}-get", "GET", lazy(lambda m=make, k=kind: ("/sparql?" + qs(("query", bomb_query(k, m())))
                                                                          ).encode()), accept_json, timeout=BOMB_TIMEOUT))
        add(Case(f"bomb-{name}-post-form", "POST", "/sparql", ct_form + accept_json,
                 lazy(lambda m=make, k=kind: form(query=bomb_query(k, m()))), timeout=BOMB_TIMEOUT))
        add(Case(f"bomb-{name}-post-direct", "POST", "/sparql", ct_query + accept_json,
                 lazy(lambda m=make, k=kind: bomb_query(k, m()).encode()), timeout=BOMB_TIMEOUT))
        add(Case(f"bomb-{name}-update-right", "POST", "/sparql", ct_update + auth_header("right"),
                 lazy(lambda m=make, k=kind: (bomb_update(k, m()) + " ;\n" + POISON_UPDATE).encode()),
                 auth="right", must_refuse=True, timeout=BOMB_TIMEOUT))
        add(Case(f"bomb-{name}-dry-run", "POST", "/governance/validate", ct_update,
                 lazy(lambda m=make, k=kind: bomb_update(k, m()).encode()), timeout=BOMB_TIMEOUT))
    for name, kind, make in parser_bombs()[:4]:
        add(Case(f"bomb-{name}-update-form-right", "POST", "/sparql", ct_form + auth_header("right"),
                 lazy(lambda m=make, k=kind: form(update=bomb_update(k, m()) + " ;\n" + POISON_UPDATE)),
                 auth="right", must_refuse=True, timeout=BOMB_TIMEOUT))
        add(Case(f"bomb-{name}-update-wrong", "POST", "/sparql", ct_update + auth_header("wrong"),
                 lazy(lambda m=make, k=kind: bomb_update(k, m()).encode()), auth="wrong", timeout=BOMB_TIMEOUT,
                 **write_expect("wrong")))

    # ---- SSRF through SPARQL queries: every variant by GET; the first ones by POST too.
    for i, (name, text) in enumerate(ssrf_queries()):
        reads_only_names = name in ("from-canary", "from-named-canary", "graph-canary")
        add(Case(f"ssrf-{name}-get", "GET", "/sparql?" + qs(("query", text)), accept_json, canary=True,
                 must_refuse=not reads_only_names))
        if i < 8 or name.startswith("service-after"):
            add(Case(f"ssrf-{name}-post-direct", "POST", "/sparql", ct_query + accept_json, text.encode(),
                     canary=True, must_refuse=not reads_only_names))
    add(Case("ssrf-service-post-form", "POST", "/sparql", ct_form + accept_json,
             form(query="SELECT * WHERE { SERVICE <http://CANARYHOST/c/CANARYTAG> { ?s ?p ?o } }"), canary=True,
             must_refuse=True))
    add(Case("ssrf-default-graph-uri", "GET", "/sparql?" + qs(("query", "SELECT * WHERE { ?s ?p ?o } LIMIT 1"),
                                                              ("default-graph-uri", "http://CANARYHOST/c/CANARYTAG")),
             accept_json, canary=True))
    add(Case("ssrf-named-graph-uri", "GET", "/sparql?" + qs(("query", "SELECT * WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 1"),
                                                            ("named-graph-uri", "http://CANARYHOST/c/CANARYTAG")),
             accept_json, canary=True))
    add(Case("ssrf-service-in-dry-run-where", "POST", "/governance/validate", ct_update,
             b"INSERT { <urn:a> <urn:b> ?o } WHERE { SERVICE <http://CANARYHOST/c/CANARYTAG> { ?s ?p ?o } }",
             canary=True, must_refuse=True))

    # ---- SSRF through updates: dry run (no token), right token (poisoned), anonymous and wrong token.
    for name, text in ssrf_updates():
        add(Case(f"ssrf-{name}-dry-run", "POST", "/governance/validate", ct_update, text.encode(), canary=True,
                 must_refuse=not name.startswith(("using", "with"))))
        add(Case(f"ssrf-{name}-update-right", "POST", "/sparql", ct_update + auth_header("right"),
                 (text + " ;\n" + POISON_UPDATE).encode(), auth="right", canary=True, must_refuse=True))
    for name, text in ssrf_updates()[:3]:
        add(Case(f"ssrf-{name}-update-anonymous", "POST", "/sparql", ct_update, text.encode(), canary=True,
                 **write_expect("none")))
        add(Case(f"ssrf-{name}-update-form-wrong", "POST", "/sparql", ct_form + auth_header("wrong"),
                 form(update=text), auth="wrong", canary=True, **write_expect("wrong")))
    add(Case("ssrf-load-update-form-right", "POST", "/sparql", ct_form + auth_header("right"),
             form(update="LOAD <http://CANARYHOST/c/CANARYTAG> ;\n" + POISON_UPDATE), auth="right", canary=True,
             must_refuse=True))

    # ---- SSRF through JSON-LD remote contexts: /import (right token, poisoned), dry run, graph store.
    for name, doc in remote_context_docs():
        add(Case(f"ssrf-jsonld-{name}-import-right", "POST", "/import", ct_json + auth_header("right"),
                 jsonld(with_poison(doc)), auth="right", canary=True, must_refuse=True))
        add(Case(f"ssrf-jsonld-{name}-dry-run", "POST", "/governance/validate", ct_json, jsonld(doc), canary=True,
                 leak_check=True))
    for name, doc in remote_context_docs()[:3]:
        add(Case(f"ssrf-jsonld-{name}-store-put-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
                 ct_json + auth_header("right"), jsonld(with_poison(doc)), auth="right", canary=True, must_refuse=True))
        add(Case(f"ssrf-jsonld-{name}-import-anonymous", "POST", "/import", ct_json, jsonld(doc), canary=True,
                 **write_expect("none")))
    add(Case("ssrf-jsonld-multipart-add", "POST", "/governance/validate", *multipart(
        [("format", None, None, b"application/ld+json"),
         ("add", "add.jsonld", "application/ld+json", jsonld({"@context": "http://CANARYHOST/c/CANARYTAG", "name": "x"}))]),
        canary=True))

    # ---- SSRF through RDF/XML external entities and owl:imports.
    for kind in ("general", "parameter", "dtd", "public"):
        add(Case(f"xxe-{kind}-dry-run", "POST", "/governance/validate", ct_xml, external_entity(kind), canary=True,
                 leak_check=True))
        add(Case(f"xxe-{kind}-store-put-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
                 ct_xml + auth_header("right"), external_entity(kind, poison=True), auth="right", canary=True,
                 must_refuse=True))
    add(Case("xxe-file-entity-dry-run", "POST", "/governance/validate", ct_xml,
             (f'<?xml version="1.0"?><!DOCTYPE rdf:RDF [<!ENTITY x SYSTEM "file:///etc/passwd">]><rdf:RDF {RDF_NS}>'
              '<rdf:Description rdf:about="urn:hostile:xxe"><ex:p>&x;</ex:p></rdf:Description></rdf:RDF>').encode(),
             leak_check=True))
    add(Case("xxe-store-post-wrong", "POST", "/store?" + qs(("graph", HOSTILE_GRAPH)), ct_xml + auth_header("wrong"),
             external_entity("general"), auth="wrong", canary=True, **write_expect("wrong")))
    owl_imports = "<urn:hostile:onto> <http://www.w3.org/2002/07/owl#imports> <http://CANARYHOST/c/CANARYTAG> .\n"
    add(Case("owl-imports-dry-run", "POST", "/governance/validate", ct_ttl, owl_imports.encode(), canary=True))
    add(Case("owl-imports-store-post-right", "POST", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_ttl + auth_header("right"), (owl_imports + POISON_TTL).encode(), auth="right", canary=True,
             must_refuse=True))
    add(Case("ssrf-curated-query-param", "GET", "/queries/owners-of?" + qs(("element", "http://CANARYHOST/c/CANARYTAG")),
             accept_json, canary=True))
    add(Case("ssrf-absolute-form-target", "GET", "http://CANARYHOST/c/CANARYTAG", canary=True))
    add(Case("ssrf-host-header", "GET", "/collections/capabilities?size=1", [("Host", "CANARYHOST")], canary=True))

    # ---- RDF/XML entity expansion bombs and deep nesting.
    add(Case("billion-laughs-dry-run", "POST", "/governance/validate", ct_xml, billion_laughs(), timeout=30))
    add(Case("billion-laughs-attribute-dry-run", "POST", "/governance/validate", ct_xml,
             billion_laughs(attribute=True), timeout=30))
    add(Case("billion-laughs-store-put-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_xml + auth_header("right"), billion_laughs(poison=True), auth="right", must_refuse=True, timeout=30))
    add(Case("billion-laughs-store-post-right", "POST", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_xml + auth_header("right"), billion_laughs(poison=True), auth="right", must_refuse=True, timeout=30))
    add(Case("billion-laughs-store-put-wrong", "PUT", "/store?" + qs(("graph", HOSTILE_GRAPH)),
             ct_xml + auth_header("wrong"), billion_laughs(), auth="wrong", **write_expect("wrong")))
    add(Case("billion-laughs-multipart-dry-run", "POST", "/governance/validate", *multipart(
        [("format", None, None, b"application/rdf+xml"), ("add", "add.rdf", "application/rdf+xml", billion_laughs())]),
        timeout=30))
    add(Case("quadratic-blowup-dry-run", "POST", "/governance/validate", ct_xml, lazy(quadratic_blowup), timeout=30))
    add(Case("quadratic-blowup-store-put-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_xml + auth_header("right"), lazy(lambda: quadratic_blowup(poison=True)), auth="right",
             must_refuse=True, timeout=30))
    # The three 2 MB uploads, each sent at a modest pace (64 KiB every 10 ms) so /health is polled during them.
    upload = {"timeout": 40, "window": "2MB", "pace": (65536, 0.01)}
    add(Case("nested-rdfxml-2mb-truncated-dry-run", "POST", "/governance/validate", ct_xml,
             lazy(lambda: nested_rdfxml(2 * 1000 * 1000)[:-200]), **upload))
    add(Case("nested-rdfxml-2mb-truncated-store-put-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_xml + auth_header("right"), lazy(lambda: nested_rdfxml(2 * 1000 * 1000, poison=True)[:-200]),
             auth="right", must_refuse=True, **upload))
    add(Case("flat-rdfxml-2mb-dry-run", "POST", "/governance/validate", ct_xml, lazy(lambda: flat_rdfxml(2 * 1000 * 1000)),
             **upload))
    add(Case("nested-rdfxml-1mb-store-post-right", "POST", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_xml + auth_header("right"), lazy(lambda: nested_rdfxml(1000 * 1000, poison=True)), auth="right",
             must_refuse=True, timeout=40))
    add(Case("nested-rdfxml-1mb-dry-run", "POST", "/governance/validate", ct_xml,
             lazy(lambda: nested_rdfxml(1000 * 1000)), timeout=40))
    add(Case("nested-parsetype-300k-dry-run", "POST", "/governance/validate", ct_xml,
             lazy(lambda: nested_parse_type_resource(300 * 1000)), timeout=40))
    add(Case("nested-turtle-blank-10k-dry-run", "POST", "/governance/validate", ct_ttl,
             lazy(lambda: ("<urn:hostile:s> <urn:p> " + "[ <urn:p> " * 10_000 + "1" + " ]" * 10_000 + " .").encode())))
    add(Case("nested-turtle-collection-10k-dry-run", "POST", "/governance/validate", ct_ttl,
             lazy(lambda: ("<urn:hostile:s> <urn:p> " + "( " * 10_000 + "1" + " )" * 10_000 + " .").encode())))
    add(Case("nested-jsonld-objects-20k-dry-run", "POST", "/governance/validate", ct_json,
             lazy(lambda: ('{"@id":"urn:hostile:s","http://example.org/p":' * 20_000 + "1" + "}" * 20_000).encode())))

    # ---- Deep JSON and bad JSON-LD to /import.
    deep = b"[" * 100_000
    for auth in ("none", "wrong", "right"):
        add(Case(f"deep-json-100k-import-{auth}", "POST", "/import", ct_json + auth_header(auth), deep, auth=auth,
                 **write_expect(auth)))
    add(Case("deep-json-objects-import-right", "POST", "/import", ct_json + auth_header("right"),
             b'{"a":' * 100_000 + b"1" + b"}" * 100_000, auth="right", must_refuse=True))
    add(Case("deep-json-100k-dry-run", "POST", "/governance/validate", ct_json, deep))
    add(Case("deep-json-100k-store-put-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_json + auth_header("right"), deep, auth="right", must_refuse=True))
    for name, doc in invalid_iri_docs():
        add(Case(f"jsonld-invalid-iri-{name}-import-right", "POST", "/import", ct_json + auth_header("right"),
                 jsonld(with_poison(doc)), auth="right", must_refuse=True))
    for name, doc in invalid_iri_docs()[:6]:
        add(Case(f"jsonld-invalid-iri-{name}-dry-run", "POST", "/governance/validate", ct_json, jsonld(doc)))
    for body_name, body in (("empty", b""), ("null", b"null"), ("array", b"[]"), ("number", b"1e999999"),
                            ("lone-surrogate", poisoned_json(b'{"@id":"urn:s","http://example.org/p":"\\ud800"}')),
                            ("duplicate-keys", poisoned_json(b'{"@id":"urn:a","@id":"urn:b","http://example.org/p":1}')),
                            ("huge-number", poisoned_json(b'{"@id":"urn:s","http://example.org/p":' + b"9" * 100_000 + b"}"))):
        add(Case(f"import-{body_name}-right", "POST", "/import", ct_json + auth_header("right"), body, auth="right",
                 must_refuse=True))
    add(Case("import-invalid-graph-right", "POST", "/import?" + qs(("graph", "not an iri")), ct_json + auth_header("right"),
             jsonld(with_poison({"@id": "urn:s", "http://example.org/p": "x"})), auth="right", must_refuse=True))
    add(Case("import-canary-graph-right", "POST", "/import?" + qs(("graph", "http://CANARYHOST/c/CANARYTAG")),
             ct_json + auth_header("right"), jsonld(with_poison({"@id": "urn:s", "http://example.org/p": "x"})),
             auth="right", canary=True, must_refuse=True))
    add(Case("import-1mb-literal-right", "POST", "/import", ct_json + auth_header("right"),
             lazy(lambda: jsonld(with_poison({"@id": "urn:s", "http://example.org/p": "x" * 1_000_000}))), auth="right",
             must_refuse=True))

    # ---- Bodies over the 10 MiB cap: 413.
    big_literal = lazy(lambda: ('INSERT DATA { <urn:hostile:big> <urn:p> "' + "x" * (30 * 1000 * 1000) + '" }').encode())
    add(Case("30mb-literal-update-right", "POST", "/sparql", ct_update + auth_header("right"), big_literal, auth="right",
             expect=frozenset({413}), must_refuse=True, timeout=30))
    add(Case("30mb-literal-update-chunked-right", "POST", "/sparql", ct_update + auth_header("right"), big_literal,
             auth="right", chunked=True, expect=frozenset({413}), must_refuse=True, timeout=30))
    add(Case("30mb-literal-update-anonymous", "POST", "/sparql", ct_update, big_literal, expect=frozenset({401, 413}),
             timeout=30))
    add(Case("30mb-literal-query-form", "POST", "/sparql", ct_form,
             lazy(lambda: form(query='ASK { FILTER("' + "x" * (30 * 1000 * 1000) + '" = "") }')),
             expect=frozenset({413}), timeout=30))
    add(Case("30mb-literal-query-direct-chunked", "POST", "/sparql", ct_query,
             lazy(lambda: ('ASK { FILTER("' + "x" * (30 * 1000 * 1000) + '" = "") }').encode()), chunked=True,
             expect=frozenset({413}), timeout=30))
    add(Case("30mb-turtle-dry-run", "POST", "/governance/validate", ct_ttl,
             lazy(lambda: ('<urn:hostile:big> <urn:p> "' + "x" * (30 * 1000 * 1000) + '" .').encode()),
             expect=frozenset({413}), timeout=30))
    add(Case("30mb-turtle-store-put-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_ttl + auth_header("right"),
             lazy(lambda: (POISON_TTL + '<urn:hostile:big> <urn:p> "' + "x" * (30 * 1000 * 1000) + '" .').encode()),
             auth="right", expect=frozenset({413}), must_refuse=True, timeout=30))
    add(Case("30mb-turtle-store-post-chunked-right", "POST", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_ttl + auth_header("right"),
             lazy(lambda: (POISON_TTL + '<urn:hostile:big> <urn:p> "' + "x" * (30 * 1000 * 1000) + '" .').encode()),
             auth="right", chunked=True, expect=frozenset({413}), must_refuse=True, timeout=30))
    add(Case("30mb-jsonld-import-right", "POST", "/import", ct_json + auth_header("right"),
             lazy(lambda: jsonld(with_poison({"@id": "urn:s", "http://example.org/p": "x" * (30 * 1000 * 1000)}))),
             auth="right", expect=frozenset({413}), must_refuse=True, timeout=30))
    def big_turtle_12mb() -> bytes:
        return ('<urn:hostile:big> <urn:p> "' + "x" * (12 * MIB) + '" .').encode()

    add(Case("12mb-multipart-field-dry-run", "POST", "/governance/validate", *multipart(
        [("add", None, None, big_turtle_12mb)]),
        expect=frozenset({413}), timeout=30))
    add(Case("12mb-multipart-file-dry-run", "POST", "/governance/validate", *multipart(
        [("add", "big.ttl", "text/turtle", big_turtle_12mb)]),
        expect=frozenset({413}), timeout=30))
    add(Case("12mb-multipart-file-chunked-dry-run", "POST", "/governance/validate", *multipart(
        [("add", "big.ttl", "text/turtle", big_turtle_12mb)]),
        chunked=True, expect=frozenset({413}), timeout=30))
    add(Case("12mb-multipart-many-parts-dry-run", "POST", "/governance/validate", *multipart(
        [("junk", None, None, b"x" * 1000)] * 12_000 + [("add", None, None, POISON_TTL.encode())]),
        expect=frozenset({400, 413}), timeout=30))
    add(Case("declared-huge-content-length", "POST", "/sparql", ct_update + [("Content-Length", "99999999999999999999")],
             b"LOAD <http://CANARYHOST/c/CANARYTAG>", expect=frozenset({400, 413}), canary=True, allow_close=True))

    # ---- 10^6-character literals, IRIs and names; huge VALUES (all under the cap).
    mega = "x" * 1_000_000
    add(Case("1m-literal-query-get", "GET", lazy(lambda: ("/sparql?" + qs(("query", f'SELECT (STRLEN("{mega}") AS ?n) {{}}'))
                                                          ).encode()), accept_json))
    add(Case("1m-literal-query-form", "POST", "/sparql", ct_form + accept_json,
             lazy(lambda: form(query=f'SELECT ?x WHERE {{ BIND("{mega}" AS ?x) }}'))))
    add(Case("1m-iri-query-direct", "POST", "/sparql", ct_query + accept_json,
             lazy(lambda: f"SELECT * WHERE {{ <http://example.org/{mega}> ?p ?o }}".encode())))
    add(Case("1m-variable-query-direct", "POST", "/sparql", ct_query + accept_json,
             lazy(lambda: f"SELECT ?{mega} WHERE {{ BIND(1 AS ?{mega}) }}".encode())))
    add(Case("1m-prefix-query-direct", "POST", "/sparql", ct_query + accept_json,
             lazy(lambda: f"PREFIX {mega}: <urn:> SELECT * WHERE {{ ?s {mega}:p ?o }}".encode())))
    add(Case("1m-literal-update-right", "POST", "/sparql", ct_update + auth_header("right"),
             lazy(lambda: (POISON_UPDATE + f' ; INSERT DATA {{ <urn:hostile:big> <urn:p> "{mega}" }}').encode()),
             auth="right", must_refuse=True, timeout=30))
    add(Case("1m-literal-turtle-dry-run", "POST", "/governance/validate", ct_ttl,
             lazy(lambda: f'<urn:hostile:big> <urn:p> "{mega}" .'.encode()), timeout=30))
    add(Case("values-100k-rows-direct", "POST", "/sparql", ct_query + accept_json,
             lazy(lambda: ("SELECT * WHERE { VALUES (?a ?b) { " + " ".join(f"({i} <urn:v:{i}>)" for i in range(100_000))
                           + " } } LIMIT 3").encode())))
    add(Case("values-100k-iris-join-form", "POST", "/sparql", ct_form + accept_json,
             lazy(lambda: form(query="SELECT * WHERE { VALUES ?s { " + " ".join(f"<urn:v:{i}>" for i in range(100_000))
                               + " } ?s ?p ?o } LIMIT 3"))))
    add(Case("values-100k-update-right", "POST", "/sparql", ct_update + auth_header("right"),
             lazy(lambda: (POISON_UPDATE + " ; DELETE { ?s <urn:hostile:p> ?s } WHERE { VALUES ?s { "
                           + " ".join(f"<urn:v:{i}>" for i in range(100_000)) + " } }").encode()),
             auth="right", must_refuse=True, timeout=30))
    add(Case("select-10k-variables", "POST", "/sparql", ct_query + accept_json,
             lazy(lambda: ("SELECT " + " ".join(f"?v{i}" for i in range(10_000)) + " WHERE { }").encode())))
    add(Case("prefix-10k-declarations", "POST", "/sparql", ct_query + accept_json,
             lazy(lambda: ("".join(f"PREFIX p{i}: <urn:p{i}:>\n" for i in range(10_000)) + "ASK {}").encode())))
    add(Case("describe-10k-iris", "POST", "/sparql", ct_query,
             lazy(lambda: ("DESCRIBE " + " ".join(f"<urn:d:{i}>" for i in range(10_000))).encode())))

    # ---- Unknown functions and engine edge cases.
    for name, text in [
        ("unknown-function", "SELECT (<http://example.org/fn>(1) AS ?x) WHERE {}"),
        ("java-function", 'SELECT * WHERE { ?s ?p ?o FILTER(<java:java.lang.Runtime.exec>("id")) } LIMIT 1'),
        ("file-function", "SELECT (<file:///etc/passwd>() AS ?x) WHERE {}"),
        ("xsd-unknown-cast", "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> SELECT (xsd:notAType(1) AS ?x) {}"),
        ("unknown-aggregate", "SELECT (<http://example.org/agg>(DISTINCT ?s) AS ?x) WHERE { ?s ?p ?o }"),
        ("limit-overflow", "SELECT * WHERE { ?s ?p ?o } LIMIT 99999999999999999999999999"),
        ("offset-overflow", "SELECT * WHERE { ?s ?p ?o } OFFSET 18446744073709551616 LIMIT 1"),
        ("regex-huge-repetition", 'ASK { FILTER(REGEX("a", "((a{1000}){1000}){1000}")) }'),
        ("regex-invalid", 'ASK { FILTER(REGEX("a", "[")) }'),
        ("regex-flags-invalid", 'ASK { FILTER(REGEX("a", "a", "zzz")) }'),
        ("substr-huge", 'SELECT (SUBSTR("abc", 99999999999999999999, -99999999999999999999) AS ?x) {}'),
        ("strdt-bad-iri", 'SELECT (STRDT("x", IRI("http://a b")) AS ?x) {}'),
        ("iri-function-invalid", 'SELECT (IRI("not an iri <>") AS ?x) {}'),
        ("integer-overflow", "SELECT (9223372036854775807 + 1 AS ?x) (-9223372036854775808 - 1 AS ?y) {}"),
        ("decimal-huge", "SELECT (" + "9" * 5000 + ".5 * 2 AS ?x) {}"),
        ("double-huge-exponent", "SELECT (1e999999999 AS ?x) {}"),
        ("lang-tag-huge", 'SELECT ("x"@' + "a" * 100_000 + " AS ?x) {}"),
        ("datatype-nul", 'SELECT ("x"^^<urn:\u0000> AS ?x) {}'),
        ("bnode-in-graph-var", "SELECT * WHERE { GRAPH _:b { ?s ?p ?o } } LIMIT 1"),
    ]:
        add(Case(f"engine-{name}-get", "GET", "/sparql?" + qs(("query", text)), accept_json))
    add(Case("engine-unknown-function-dry-run", "POST", "/governance/validate", ct_update,
             b"INSERT { <urn:a> <urn:b> ?x } WHERE { BIND(<http://example.org/fn>(1) AS ?x) }"))
    add(Case("engine-unknown-function-update-right", "POST", "/sparql", ct_update + auth_header("right"),
             (POISON_UPDATE + " ; INSERT { <urn:hostile:a> <urn:b> ?x } WHERE { BIND(<http://example.org/fn>(1) AS ?x) }"
              ).encode(), auth="right", must_refuse=True))

    # ---- Invalid IRIs in the dataset parameters and the graph store.
    bad_iris = [("space", "not an iri"), ("empty", ""), ("angle", "<>"), ("host-space", "http://a b/"),
                ("nul", "http://example.org/\u0000"), ("newline-inject", "urn:a> . <urn:b"), ("relative", "relative/path"),
                ("huge", "http://example.org/" + "a" * 100_000)]
    for name, iri in bad_iris:
        add(Case(f"default-graph-uri-{name}-get", "GET", "/sparql?" + qs(("query", "ASK { ?s ?p ?o }"),
                                                                           ("default-graph-uri", iri)), accept_json))
        add(Case(f"named-graph-uri-{name}-form", "POST", "/sparql", ct_form + accept_json,
                 form(query="ASK { GRAPH ?g { ?s ?p ?o } }", **{"named-graph-uri": iri})))
        add(Case(f"store-get-graph-{name}", "GET", "/store?" + qs(("graph", iri))))
    for name, iri in bad_iris[:5]:
        add(Case(f"store-put-graph-{name}-right", "PUT", "/store?" + qs(("graph", iri)), ct_ttl + auth_header("right"),
                 POISON_TTL.encode(), auth="right", must_refuse=True))
        add(Case(f"dry-run-graph-{name}", "POST", "/governance/validate?" + qs(("graph", iri)), ct_ttl,
                 POISON_TTL.encode()))
    add(Case("store-delete-graph-space-right", "DELETE", "/store?" + qs(("graph", "not an iri")), auth_header("right"),
             auth="right", must_refuse=True))
    add(Case("store-delete-graph-absent-right", "DELETE", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             auth_header("right"), auth="right", must_refuse=True))
    add(Case("store-delete-graph-inject-right", "DELETE",
             "/store?" + qs(("graph", "urn:x> } ; DROP SILENT GRAPH <urn:hostile:none> ; #")),
             auth_header("right"), auth="right", must_refuse=True))
    add(Case("store-delete-real-graph-anonymous", "DELETE", "/store?" + qs(("graph", BASE + "graph/data/capabilities")),
             **write_expect("none")))
    add(Case("store-delete-real-graph-wrong", "DELETE", "/store?" + qs(("graph", BASE + "graph/data/capabilities")),
             auth_header("wrong"), auth="wrong", **write_expect("wrong")))
    add(Case("store-get-no-graph", "GET", "/store"))
    add(Case("store-get-default-and-graph", "GET", "/store?default&graph=urn%3Ax"))
    add(Case("store-get-canary-graph", "GET", "/store?" + qs(("graph", "http://CANARYHOST/c/CANARYTAG")), canary=True))
    add(Case("store-get-file-graph", "GET", "/store?" + qs(("graph", "file:///etc/passwd")), leak_check=True))
    add(Case("store-get-bogus-accept", "GET", "/store?" + qs(("graph", BASE + "graph/ontology")), [("Accept", "x/y;;;q=abc")]))
    add(Case("store-put-default-right", "PUT", "/store?default", ct_ttl + auth_header("right"), POISON_TTL.encode(),
             auth="right", must_refuse=True))
    add(Case("store-put-no-graph-right", "PUT", "/store", ct_ttl + auth_header("right"), POISON_TTL.encode(),
             auth="right", must_refuse=True))
    add(Case("store-put-syntax-error-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_ttl + auth_header("right"), b"<urn:a> <urn:b> .", auth="right", must_refuse=True))
    add(Case("store-put-poisoned-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_ttl + auth_header("right"), POISON_TTL.encode(), auth="right", must_refuse=True))
    add(Case("store-post-poisoned-nquads-right", "POST", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             [("Content-Type", "application/n-quads")] + auth_header("right"),
             (f"<urn:hostile:customer> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{INFO}Customer> "
              f"<{BASE}graph/ontology> .\n").encode(), auth="right", must_refuse=True))
    add(Case("store-put-anonymous", "PUT", "/store?" + qs(("graph", HOSTILE_GRAPH)), ct_ttl, POISON_TTL.encode(),
             **write_expect("none")))
    add(Case("store-post-wrong", "POST", "/store?" + qs(("graph", HOSTILE_GRAPH)), ct_ttl + auth_header("wrong"),
             b"<urn:a> <urn:b> <urn:c> .", auth="wrong", **write_expect("wrong")))

    # ---- Paging and filters.
    for name, query in [("page-superscript", "page=%C2%B2"), ("size-superscript", "size=%C2%B2"),
                        ("page-arabic-digit", "page=%D9%A3"), ("page-negative", "page=-1"), ("page-zero", "page=0"),
                        ("page-huge", "page=" + "9" * 30), ("page-1e30", "page=1e30"), ("size-zero", "size=0"),
                        ("size-over", "size=501"), ("size-huge", "size=" + "9" * 30),
                        ("page-digits-100k", "page=" + "9" * 100_000), ("page-duplicated", "page=1&page=2&size=1"),
                        ("level-superscript", "level=%C2%B2"), ("level-double-minus", "level=--1"),
                        ("level-huge", "level=" + "9" * 40), ("owner-space", "owner=http%3A%2F%2Fa%20b"),
                        ("owner-angle", "owner=%3C%3E"), ("owner-nul", "owner=%00"),
                        ("owner-inject", "owner=" + quote("x> . ?item ?p ?o } #", safe="")),
                        ("parent-javascript", "parent=javascript%3Aalert(1)"), ("scope-ff", "scope=%FF"),
                        ("unknown-filter", "bogus=1"), ("owner-huge", "owner=" + "a" * 100_000)]:
        add(Case(f"collections-{name}", "GET", f"/collections/capabilities?{query}"))
    add(Case("collections-unknown-kind", "GET", "/collections/bogus"))
    add(Case("collections-kind-traversal", "GET", "/collections/..%2F..%2Fetc%2Fpasswd", leak_check=True))
    add(Case("collections-list-params", "GET", "/collections?page=%C2%B2&x=%00"))
    add(Case("queries-search-page-superscript", "GET", "/queries/search?text=grid&page=%C2%B2"))
    add(Case("queries-search-page-huge", "GET", "/queries/search?text=grid&page=" + "9" * 30))
    add(Case("queries-search-page-negative", "GET", "/queries/search?text=grid&page=-5"))

    # ---- Curated queries with hostile parameters.
    for name, path in [("unknown", "/queries/bogus"), ("traversal", "/queries/..%2F..%2Fetc%2Fpasswd"),
                       ("traversal-rq", "/queries/..%2Fpyproject.toml"), ("nul", "/queries/search%00"),
                       ("element-space", "/queries/owners-of?element=http%3A%2F%2Fa%20b"),
                       ("element-javascript", "/queries/owners-of?element=javascript%3Aalert(1)"),
                       ("element-angle", "/queries/owners-of?element=%3Curn%3Ax%3E"),
                       ("element-inject", "/queries/owners-of?element=" + quote("urn:x> } ; DROP ALL ; #", safe="")),
                       ("element-missing", "/queries/owners-of"),
                       ("number-superscript", "/queries/capability-tree?number=%C2%B2"),
                       ("number-100k-digits", "/queries/capability-tree?number=" + "9" * 100_000),
                       ("number-duplicated", "/queries/capability-tree?number=1&number=2"),
                       ("unknown-parameter", "/queries/capability-tree?bogus=1"),
                       ("search-1m-text", "/queries/search?text=" + "a" * 1_000_000),
                       ("search-nul", "/queries/search?text=%00"),
                       ("search-quote-inject", "/queries/search?text=" + quote('x" } ; DROP ALL ; #', safe="")),
                       ("search-html", "/queries/search?format=html&text=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
                       ("search-bogus-format", "/queries/search?text=x&format=bogus"),
                       ("unit-ff", "/queries/shared-services-by-unit?unit=%FF"),
                       ("list-params", "/queries?x=%00&format=bogus")]:
        add(Case(f"queries-{name}", "GET", path, leak_check="traversal" in name))

    # ---- Dereferenceable IRIs with invalid or hostile paths.
    for name, path in [("space", "/id/a%20b"), ("quote", "/id/x%22y"), ("angle-inject", "/id/x%3E%20%3Curn%3Aa"),
                       ("braces", "/id/%7B%7D"), ("backslash", "/id/%5C"), ("newline", "/id/a%0Ab"), ("nul", "/id/a%00b"),
                       ("bad-utf8", "/id/%FF%FE"), ("raw-utf8", b"/id/caf\xc3\xa9"), ("raw-latin1", b"/id/caf\xe9"),
                       ("empty", "/id/"), ("double-slash", "/id//"), ("huge", "/id/" + "a" * 100_000),
                       ("traversal", "/id/..%2F..%2Fetc%2Fpasswd"), ("bogus-format", "/id/capability/x?format=bogus"),
                       ("html-xss", "/id/capability/%3Cscript%3E?format=html")]:
        add(Case(f"id-{name}", "GET", path, leak_check="traversal" in name))
    for name, path in [("angle", "/def/%3C%3E"), ("space", "/def/core/a%20b"), ("nul", "/def/core/%00"),
                       ("huge", "/def/core/" + "B" * 100_000), ("bad-utf8", "/def/%C0%AF"),
                       ("turtle-bogus-accept", "/def/core/BusinessCapability?format=turtle")]:
        add(Case(f"def-{name}", "GET", path, [("Accept", ";;;, */*;q=x")]))
    add(Case("id-huge-if-none-match", "GET", "/id/capability/10-2-billing-and-payment-management",
             [("If-None-Match", ", ".join(['"x"'] * 6000))]))

    # ---- Path traversal and NUL bytes in paths.
    for name, path in [("raw-dotdot", "/ontology/../../etc/passwd"), ("encoded-slash", "/ontology/..%2F..%2F..%2Fetc%2Fpasswd"),
                       ("encoded-dots", "/ontology/%2e%2e%2f%2e%2e%2fetc%2fpasswd"), ("dotdot-only", "/ontology/%2e%2e"),
                       ("backslash", "/ontology/..%5c..%5cetc%5cpasswd"), ("nul-suffix", "/ontology/core%00.ttl"),
                       ("absolute", "/ontology/%2Fetc%2Fpasswd"), ("dots4", "/ontology/....%2F%2F....%2F%2Fetc%2Fpasswd"),
                       ("pyproject", "/ontology/..%2Fpyproject"), ("unknown", "/ontology/nonexistent"),
                       ("document", "/ontology/..%2F..%2Fpyproject/document"),
                       ("context", "/context/..%2F..%2Fpyproject.toml"), ("docs", "/docs/..%2F..%2Fetc%2Fpasswd"),
                       ("root-dotdot", "/%2e%2e/%2e%2e/etc/passwd"), ("double-slash", "//etc/passwd"),
                       ("static", "/static/../../etc/passwd"), ("openapi", "/openapi.json/..%2F..%2Fetc%2Fpasswd")]:
        add(Case(f"traversal-{name}", "GET", path, leak_check=True))
    add(Case("nul-raw-in-path", "GET", b"/id/a\x00b", allow_close=True))
    add(Case("nul-in-query-param", "GET", "/sparql?query=ASK%00%7B%7D", accept_json))
    add(Case("nul-in-graph-param", "GET", "/store?graph=http%3A%2F%2Fexample.org%2F%00"))
    add(Case("nul-in-update-body-right", "POST", "/sparql", ct_update + auth_header("right"),
             (POISON_UPDATE + ' ; INSERT DATA { <urn:hostile:nul> <urn:p> "a\x00b" }').encode(), auth="right", must_refuse=True))
    add(Case("nul-in-turtle-dry-run", "POST", "/governance/validate", ct_ttl, b'<urn:hostile:nul> <urn:p> "a\x00b" .'))
    add(Case("nul-in-turtle-iri-store-put-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_ttl + auth_header("right"), (POISON_TTL + "<urn:hostile:\x00> <urn:p> 1 .").encode(), auth="right",
             must_refuse=True))
    add(Case("nul-in-form", "POST", "/sparql", ct_form + accept_json, b"query=ASK%20%7B%7D%00&x=%00"))
    add(Case("nul-in-json-import-right", "POST", "/import", ct_json + auth_header("right"),
             jsonld(with_poison({"@id": "urn:hostile:nul", "http://example.org/p": "a\u0000b"})), auth="right",
             must_refuse=True))

    # ---- Non-UTF-8 bodies.
    add(Case("latin1-query-direct", "POST", "/sparql", ct_query, b'ASK { FILTER("caf\xe9" = "") }'))
    add(Case("latin1-query-declared-charset", "POST", "/sparql",
             [("Content-Type", "application/sparql-query; charset=iso-8859-1")],
             b'ASK { FILTER("caf\xe9" = "") }'))
    add(Case("latin1-update-right", "POST", "/sparql", ct_update + auth_header("right"),
             (POISON_UPDATE + ' ; INSERT DATA { <urn:hostile:l1> <urn:p> "caf\xe9" }').encode("latin-1"), auth="right",
             must_refuse=True))
    add(Case("latin1-update-wrong", "POST", "/sparql", ct_update + auth_header("wrong"),
             b'INSERT DATA { <urn:a> <urn:b> "\xff" }',
             auth="wrong", **write_expect("wrong")))
    add(Case("latin1-dry-run-update", "POST", "/governance/validate", ct_update, b'INSERT DATA { <urn:a> <urn:b> "\xff" }'))
    add(Case("latin1-form-raw", "POST", "/sparql", ct_form, b"query=ASK%20%7B%7D\xff"))
    add(Case("latin1-form-percent", "POST", "/sparql", ct_form + accept_json, b"query=ASK%20%7B%20FILTER(%22%FF%22)%20%7D"))
    add(Case("latin1-form-update-right", "POST", "/sparql", ct_form + auth_header("right"),
             b"update=" + quote(POISON_UPDATE).encode() + b"%20%3B%20INSERT%20DATA%20%7B%3Curn%3Aa%3E%3Curn%3Ab%3E%22\xff%22%7D",
             auth="right", must_refuse=True))
    add(Case("latin1-turtle-dry-run", "POST", "/governance/validate", ct_ttl, b'<urn:hostile:l1> <urn:p> "caf\xe9" .'))
    add(Case("latin1-turtle-store-put-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_ttl + auth_header("right"), (POISON_TTL.encode() + b'<urn:hostile:l1> <urn:p> "caf\xe9" .'),
             auth="right", must_refuse=True))
    add(Case("latin1-jsonld-import-right", "POST", "/import", ct_json + auth_header("right"),
             b'{"@id": "urn:hostile:l1", "http://example.org/p": "caf\xe9"}', auth="right", must_refuse=True))
    add(Case("utf16-turtle-dry-run", "POST", "/governance/validate", [("Content-Type", "text/turtle; charset=utf-16")],
             "\ufeff<urn:hostile:u16> <urn:p> 1 .".encode("utf-16-le")))
    add(Case("utf16-query-direct", "POST", "/sparql", ct_query, "\ufeffASK {}".encode("utf-16-le")))
    add(Case("latin1-rdfxml-dry-run", "POST", "/governance/validate", ct_xml,
             (f'<?xml version="1.0" encoding="UTF-8"?><rdf:RDF {RDF_NS}><rdf:Description rdf:about="urn:hostile:x">'
              '<ex:p>caf\xe9</ex:p></rdf:Description></rdf:RDF>').encode("latin-1")))

    # ---- Authorization headers: non-ASCII, huge, odd; all on writes that must be refused anyway.
    auth_variants = [("latin1", b"Bearer t\xf6k\xe9n"), ("utf8", "Bearer t\u00f6k\u00e9n".encode()),
                     ("right-plus-latin1", f"Bearer {TOKEN}\xe9".encode("latin-1")), ("huge", b"Bearer " + b"A" * 60_000),
                     ("basic", b"Basic aG9zdGlsZTpzdWl0ZQ=="), ("bearer-empty", b"Bearer"), ("bearer-space", b"Bearer "),
                     ("token-repeated", b"Bearer " + TOKEN.encode() * 1000), ("lowercase-right", f"bearer {TOKEN}".encode()),
                     ("control-chars", b"Bearer \x01\x02\x7f")]
    bad_turtle = b"<urn:a> <urn:b> ."
    for name, value in auth_variants:
        add(Case(f"auth-{name}-store-put", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
                 [("Content-Type", "text/turtle"), ("Authorization", value)], bad_turtle, auth="odd",
                 must_refuse=True))
    for name, value in auth_variants[:5]:
        add(Case(f"auth-{name}-update", "POST", "/sparql", [("Content-Type", "application/sparql-update"),
                                                            ("Authorization", value)], b"INSERT DATA { <urn:a> <urn:b> }",
                 auth="odd", must_refuse=True))
        add(Case(f"auth-{name}-import", "POST", "/import", [("Content-Type", "application/ld+json"),
                                                           ("Authorization", value)], b"{", auth="odd", must_refuse=True))
    add(Case("auth-two-headers-wrong-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_ttl + auth_header("wrong") + auth_header("right"), bad_turtle, auth="odd", must_refuse=True))
    add(Case("auth-two-headers-right-wrong", "DELETE", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             auth_header("right") + auth_header("wrong"), auth="odd", must_refuse=True))
    add(Case("auth-nul-raw", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             [("Content-Type", "text/turtle"), ("Authorization", f"Bearer {TOKEN}\x00".encode())], bad_turtle,
             auth="odd", must_refuse=True, allow_close=True))
    add(Case("auth-non-ascii-on-read", "GET", "/health", [("Authorization", b"Bearer \xff\xfe")]))

    # ---- Giant and odd headers.
    add(Case("header-64k-junk", "GET", "/health", [("X-Junk", "a" * 65_536)]))
    add(Case("header-64k-accept", "GET", "/sparql?query=ASK%7B%7D", [("Accept", "a" * 65_536)]))
    add(Case("header-64k-cookie", "GET", "/governance/history", [("Cookie", "c=" + "a" * 65_536)]))
    add(Case("header-64k-content-type", "POST", "/sparql", [("Content-Type", "application/sparql-query;" + "a" * 65_000)],
             b"ASK {}"))
    add(Case("header-1000-headers", "GET", "/health", [(f"X-H-{i}", "v" * 60) for i in range(1000)]))
    add(Case("header-accept-5000-ranges-sparql", "GET", "/sparql?query=ASK%7B%7D",
             [("Accept", ", ".join(f"text/x-{i};q=0.{i % 9 + 1}" for i in range(5000)))]))
    add(Case("header-accept-5000-ranges-id", "GET", "/id/capability/10-2-billing-and-payment-management",
             [("Accept", ", ".join(f"text/x-{i};q=0.{i % 9 + 1}" for i in range(5000)))]))
    add(Case("header-accept-5000-ranges-report", "GET", "/governance/report",
             [("Accept", ", ".join(f"text/x-{i};q=0.{i % 9 + 1}" for i in range(5000)))]))
    for name, accept in [("semicolons", ";;;"), ("bad-q", "*/*;q=abc"), ("slash-only", "/"), ("three-parts", "a/b/c"),
                         ("q-huge", "application/json;q=" + "9" * 1000), ("nul", "text/\x00")]:
        add(Case(f"accept-{name}-sparql", "GET", "/sparql?query=ASK%7B%7D", [("Accept", accept)]))
        add(Case(f"accept-{name}-sd", "GET", "/sparql", [("Accept", accept)]))
    add(Case("accept-bogus-collections", "GET", "/collections/capabilities?size=1", [("Accept", ";;;q=")]))
    add(Case("accept-bogus-context", "GET", "/context/v1.jsonld", [("Accept", "*/*;q=abc")]))
    add(Case("accept-bogus-history", "GET", "/governance/history", [("Accept", "a/b/c")]))
    add(Case("header-no-host", "GET", "/health", raw=b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", allow_close=True))
    add(Case("header-huge-host", "GET", "/collections/capabilities?size=1", [("Host", "h" * 60_000)]))
    add(Case("header-host-inject", "GET", "/collections/capabilities?size=1", [("Host", "evil.example/<script>")]))
    add(Case("header-raw-nul-value", "GET", "/health", [("X-Nul", b"a\x00b")], allow_close=True))
    add(Case("header-obs-fold", "GET", "/health",
             raw=b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\nConnection: close\r\n\r\n",
             allow_close=True))

    # ---- Wrong and missing content types.
    add(Case("ct-missing-sparql-post", "POST", "/sparql", [], b"ASK {}"))
    add(Case("ct-text-plain-sparql-post", "POST", "/sparql", [("Content-Type", "text/plain")], b"ASK {}"))
    add(Case("ct-garbage-sparql-post", "POST", "/sparql", [("Content-Type", ";;;")], b"ASK {}"))
    add(Case("ct-double-charset-sparql-post", "POST", "/sparql",
             [("Content-Type", "application/sparql-query; charset=utf-8; charset=latin1")], b"ASK {}"))
    add(Case("ct-form-no-equals", "POST", "/sparql", ct_form, b"query"))
    add(Case("ct-form-both", "POST", "/sparql", ct_form + auth_header("right"), form(query="ASK {}", update=POISON_UPDATE),
             auth="right", must_refuse=True))
    add(Case("ct-form-two-updates-right", "POST", "/sparql", ct_form + auth_header("right"),
             form(update=POISON_UPDATE) + b"&" + form(update=POISON_UPDATE), auth="right", must_refuse=True))
    add(Case("ct-form-using-graph-right", "POST", "/sparql", ct_form + auth_header("right"),
             form(update=POISON_UPDATE, **{"using-graph-uri": "urn:x"}), auth="right", must_refuse=True))
    add(Case("ct-form-100k-fields", "POST", "/sparql", ct_form, lazy(lambda: b"a=1&" * 100_000 + b"query=ASK%7B%7D")))
    add(Case("ct-update-via-get", "GET", "/sparql?" + qs(("update", POISON_UPDATE))))
    add(Case("ct-missing-validate", "POST", "/governance/validate", [], POISON_TTL.encode()))
    add(Case("ct-form-urlencoded-validate", "POST", "/governance/validate", ct_form, b"add=x"))
    add(Case("ct-multipart-no-boundary", "POST", "/governance/validate", [("Content-Type", "multipart/form-data")],
             b"--x\r\n\r\n"))
    add(Case("ct-multipart-garbage", "POST", "/governance/validate", [("Content-Type", "multipart/form-data; boundary=zz")],
             b"\x00\xff garbage \r\n--zz"))
    add(Case("ct-multipart-unterminated", "POST", "/governance/validate", [("Content-Type", "multipart/form-data; boundary=zz")],
             b'--zz\r\nContent-Disposition: form-data; name="add"\r\n\r\n<urn:a> <urn:b> <urn:c> .'))
    add(Case("ct-multipart-huge-boundary", "POST", "/governance/validate", *multipart(
        [("add", None, None, b"<urn:hostile:a> <urn:b> <urn:c> .")], boundary="b" * 5000)))
    add(Case("ct-multipart-bogus-format", "POST", "/governance/validate", *multipart(
        [("format", None, None, b"application/bogus"), ("add", None, None, b"<urn:a> <urn:b> <urn:c> .")])))
    add(Case("ct-multipart-nul-format", "POST", "/governance/validate", *multipart(
        [("format", None, None, b"text/turtle\x00"), ("add", None, None, b"<urn:a> <urn:b> <urn:c> .")])))
    add(Case("ct-multipart-bad-turtle", "POST", "/governance/validate", *multipart([("add", None, None, b"<urn:a> <urn:b> .")])))
    add(Case("ct-multipart-traversal-filename", "POST", "/governance/validate", *multipart(
        [("add", "../../../../tmp/hostile-upload.ttl", "text/turtle", b"<urn:hostile:a> <urn:b> <urn:c> .")])))
    add(Case("ct-multipart-latin1-add", "POST", "/governance/validate",
             *multipart([("add", None, None, b'<urn:a> <urn:b> "\xff" .')])))
    add(Case("ct-multipart-no-parts", "POST", "/governance/validate", *multipart([("other", None, None, b"x")])))
    add(Case("ct-multipart-5000-part-headers", "POST", "/governance/validate",
             [("Content-Type", "multipart/form-data; boundary=zz")],
             b'--zz\r\nContent-Disposition: form-data; name="add"\r\n' + b"X-A: b\r\n" * 5000
             + b"\r\n<urn:a> <urn:b> <urn:c> .\r\n--zz--\r\n"))
    add(Case("ct-jsonld-with-turtle-store-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_json + auth_header("right"), POISON_TTL.encode(), auth="right", must_refuse=True))
    add(Case("ct-turtle-with-json-store-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             ct_ttl + auth_header("right"), jsonld(POISON_JSONLD), auth="right", must_refuse=True))
    add(Case("ct-missing-store-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)), auth_header("right"),
             POISON_TTL.encode(), auth="right", must_refuse=True))
    add(Case("ct-turtle-import-right", "POST", "/import", ct_ttl + auth_header("right"), POISON_TTL.encode(),
             auth="right", must_refuse=True))
    add(Case("ct-sparql-results-store-right", "PUT", "/store?" + qs(("graph", PROPOSED_GRAPH_ABSENT)),
             [("Content-Type", "application/sparql-results+json")] + auth_header("right"), b"{}", auth="right",
             must_refuse=True))

    # ---- Methods and the HTTP framing itself.
    for method, path in [("PATCH", "/sparql"), ("DELETE", "/sparql"), ("PUT", "/sparql"), ("PUT", "/import"),
                         ("GET", "/import"), ("DELETE", "/governance/validate"), ("POST", "/health"), ("TRACE", "/health"),
                         ("OPTIONS", "/store"), ("HEAD", "/health"), ("PATCH", "/store?graph=urn%3Ax"),
                         ("POST", "/governance/report"), ("PUT", "/collections/capabilities"), ("FOO", "/sparql")]:
        writes = method in ("PUT", "DELETE", "PATCH")
        add(Case(f"method-{method.lower()}-{path.strip('/').split('?')[0].replace('/', '-')}", method, path,
                 auth_header("right") if writes else [], auth="right" if writes else "none", must_refuse=writes,
                 allow_close=method in ("TRACE", "FOO")))
    add(Case("http-connect", "CONNECT", "CANARYHOST", allow_close=True, canary=True))
    add(Case("http-asterisk", "OPTIONS", "*", allow_close=True))
    add(Case("http-10", "GET", "/health", raw=b"GET /health HTTP/1.0\r\n\r\n", allow_close=True))
    add(Case("http-09", "GET", "/health", raw=b"GET /health\r\n\r\n", allow_close=True))
    add(Case("http-cl-and-te", "POST", "/sparql", raw=b"POST /sparql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             b"Content-Type: application/sparql-query\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"6\r\nASK {}\r\n0\r\n\r\n", allow_close=True))
    add(Case("http-two-content-lengths", "POST", "/sparql", raw=b"POST /sparql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             b"Content-Type: application/sparql-query\r\nContent-Length: 6\r\nContent-Length: 60\r\n\r\nASK {}",
             allow_close=True))
    add(Case("http-negative-content-length", "POST", "/sparql", raw=b"POST /sparql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             b"Content-Type: application/sparql-query\r\nContent-Length: -6\r\n\r\nASK {}", allow_close=True))
    add(Case("http-bad-chunk-size", "POST", "/sparql", raw=b"POST /sparql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
             b"Content-Type: application/sparql-query\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nASK {}\r\n0\r\n\r\n",
             allow_close=True))
    add(Case("http-lf-only", "GET", "/health", raw=b"GET /health HTTP/1.1\nHost: x\nConnection: close\n\n", allow_close=True))
    add(Case("http-garbage", "GET", "/", raw=b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 200, allow_close=True))
    add(Case("http-pipelined-hostile", "GET", "/health", raw=b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
             b"GET /sparql?query=SELECT%20*%20WHERE%20%7B%20SERVICE%20%3Chttp%3A%2F%2FCANARYHOST%2Fc%2Fpipelined%3E"
             b"%20%7B%7D%20%7D"
             b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", allow_close=True, canary=True))

    # ---- The other routes, with hostile parameters.
    add(Case("report-bogus-format", "GET", "/governance/report?format=bogus"))
    add(Case("report-bogus-group", "GET", "/governance/report?group=%00"))
    add(Case("report-html-owner", "GET", "/governance/report?format=html&group=owner&x=%3Cscript%3E"))
    add(Case("report-csv-accept", "GET", "/governance/report", [("Accept", "text/csv;q=0.5, text/html;q=abc")]))
    add(Case("history-params", "GET", "/governance/history?limit=-1&x=%00"))
    add(Case("health-params", "GET", "/health?x=" + "a" * 100_000))
    add(Case("docs-params", "GET", "/docs?url=http%3A%2F%2FCANARYHOST%2Fc%2Fdocs", canary=True))
    add(Case("openapi-params", "GET", "/openapi.json?x=%00"))
    add(Case("ontology-index-params", "GET", "/ontology?module=..%2F..%2Fetc%2Fpasswd", leak_check=True))
    add(Case("context-v1-range", "GET", "/context/v1.jsonld", [("Range", "bytes=0-1,1-2," * 1000 + "5-6")]))
    add(Case("context-current-params", "GET", "/context.jsonld?x=%FF"))
    add(Case("root-redirect-inject", "GET", "/?next=http%3A%2F%2FCANARYHOST%2Fc%2Froot", canary=True))

    # ---- The console's own pages, with hostile parameters.
    script = quote("<script>alert(1)</script>")
    add(Case("console-map-measure-nul", "GET", "/capabilities?measure=%00"))
    add(Case("console-map-measure-script", "GET", f"/capabilities?measure={script}"))
    add(Case("console-map-measure-huge", "GET", "/capabilities?measure=" + "a" * 100_000))
    add(Case("console-dashboard-filters-script", "GET",
             f"/governance?severity={script}&rule={script}&owner={script}&kind={script}"))
    add(Case("console-dashboard-page-huge", "GET", "/governance?page=" + "9" * 40))
    add(Case("console-dashboard-page-negative", "GET", "/governance?page=-3&severity=%FF"))
    add(Case("console-dashboard-rule-iri-inject", "GET", "/governance?rule=" + quote("x> } ; DROP ALL ; <y")))
    add(Case("console-static-traversal", "GET", "/static/..%2F..%2F..%2Fpyproject.toml", leak_check=True))
    add(Case("console-static-traversal-raw", "GET", "/static/../../../../etc/passwd", leak_check=True))
    add(Case("console-streams-params", "GET", "/value-streams?x=%00&y=" + script))
    add(Case("console-information-params", "GET", "/information?domain=" + quote("../../etc/passwd"), leak_check=True))

    return cases


Part = tuple[str, str | None, str | None, bytes | Callable[[], bytes]]  # name, file name, content type, value


def multipart(parts: list[Part], boundary: str = "hostileBoundary7MA4YWxk") -> tuple[list[tuple[str, str]], Callable[[], bytes]]:
    """(headers, lazy body) of a multipart/form-data request."""
    def body() -> bytes:
        out = bytearray()
        for name, filename, content_type, value in parts:
            out += f"--{boundary}\r\n".encode()
            disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
            out += f"Content-Disposition: {disposition}\r\n".encode()
            if content_type:
                out += f"Content-Type: {content_type}\r\n".encode()
            out += b"\r\n" + (value() if callable(value) else value) + b"\r\n"
        out += f"--{boundary}--\r\n".encode()
        return bytes(out)
    return [("Content-Type", f"multipart/form-data; boundary={boundary}")], body
