"""Request guards for SPARQL text, run before the engine parses it.

Two things are checked, on the tokens of every reading of the text (ekb.sparql_lexer), never on the raw text:

* the limits of ekb.limits: a text the engine's recursive parser would crash or stall on is refused with 400;
* outbound access: SERVICE and LOAD make the server fetch a URL, so they are refused with 403 unless the
  target's host is one the operator allowed. A variable target, or one that does not resolve, is refused. FROM,
  FROM NAMED, USING and WITH only name graphs of the store: pyoxigraph does not fetch them (tested).

pyoxigraph matches keywords without a word boundary: `SERVICEex:e {}`, `service:x {}` (SERVICE, then the
empty prefix's `:x`), `SERVICESILENT<...>` and `LOADex:e` are all live for it, while the grammar reads one
prefixed name or one name. So a name or prefixed name that begins, after letters that may be keywords of their
own, with SERVICE, LOAD, PREFIX or BASE is also read the engine's way.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from urllib.parse import urljoin, urlsplit

from ekb.errors import Forbidden, InputError
from ekb.limits import (
    SPARQL_MAX_DEPTH,
    SPARQL_MAX_GROUP_OPERATORS,
    SPARQL_MAX_OPERATORS,
    SPARQL_MAX_OPTIONALS,
    SPARQL_MAX_PATH_OPERATORS,
    SPARQL_MAX_PATTERN_NESTING,
    SPARQL_MAX_SUBQUERIES,
    check_sparql_size,
    check_sparql_structure,
)
from ekb.sparql_lexer import (
    GROUP_KEYWORDS,
    IRI,
    NAME,
    PN,
    PNAME_TOKEN,
    VAR,
    Ambiguous,
    Reading,
    position,
    readings,
)

FAST_PATH_MAX_CHARS = 2048
KEYWORDS = ("service", "load", "prefix", "base")
KEYWORD_SEARCH = re.compile("|".join(KEYWORDS), re.IGNORECASE)
MAX_KEYWORD_RUN = 64
KEYWORD_RUN = re.compile(r"[a-z0-9_]*")  # what may precede a keyword inside one name: other keywords
ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
PLAIN_IRI = re.compile(r"[!#-;=?-\[\]_a-z~]+")  # printable ASCII without space, <>"{}|\^`
AUTHORITY = re.compile(r"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?")


def check_remote_access(sparql: str, allowed_hosts: tuple[str, ...]) -> None:
    """Raise InputError if the text is past a limit, or Forbidden if it asks the server to reach a host the
    operator did not allow. Called before every query and update."""
    if _plainly_harmless(sparql):
        return
    check_sparql_size(sparql)
    try:
        found = readings(sparql)
    except Ambiguous as err:
        raise InputError(f"the SPARQL request is ambiguous at {err.where}: a '<' there reads "
                         "both as an IRI and as the less-than operator, too many times over; put spaces around "
                         "the operator") from None
    for reading in found:
        check_sparql_structure(reading.structure, reading.text)
    allowed = {host.lower() for host in allowed_hosts}
    for reading in found:
        for keyword, shown, iris in _outbound(reading):
            if not iris or any(_host(iri) not in allowed for iri in iris):
                raise Forbidden(f"{keyword} {shown} is refused: this server does not fetch remote data"
                                + (f" except from {', '.join(allowed_hosts)}" if allowed_hosts else "")
                                + " (start it with --allow-service-host HOST to allow a host)")
    for reading in found:
        if reading.stopped_at is not None:
            _check_rest(reading)


def _plainly_harmless(text: str) -> bool:
    """Whether character counts alone show that no reading of the text can name a remote target or pass a
    limit: most lookups are short and plain, and need no tokens. Counts bound every reading (a reading's tokens
    are a subset of the characters), and with no backslash there is no escape to read two ways."""
    if len(text) > FAST_PATH_MAX_CHARS or "\\" in text:
        return False
    lowered = text.lower()
    if any(keyword in lowered for keyword in ("service", "load")):
        return False
    count = text.count
    brackets = count("(") + count("[")
    return (brackets <= SPARQL_MAX_PATTERN_NESTING
            and brackets + count("{") + count("!") + count("+") + count("-") + count("^") <= SPARQL_MAX_DEPTH
            and lowered.count("select") <= SPARQL_MAX_SUBQUERIES
            and count("/") + count("|") + count("^") <= SPARQL_MAX_PATH_OPERATORS
            and sum(count(c) for c in "=<>*&|+-/") <= SPARQL_MAX_OPERATORS
            and len(text) // 4 <= SPARQL_MAX_GROUP_OPERATORS  # the shortest such keyword, BIND, takes four
            and lowered.count("optional") <= SPARQL_MAX_OPTIONALS)


def _check_rest(reading: Reading) -> None:
    """The text stops tokenizing at `reading.stopped_at`. The engine will refuse it with a precise message, and
    it is let through to say so only if nothing after that point could matter: no keyword of an outbound
    request and too few brackets and operators left to pass a limit, whatever they are. (An escape there forms
    no keyword for the engine, which applies them only inside strings; the spec's reading applies them.)"""
    start = reading.stopped_at
    rest = reading.text[start:]
    lowered = rest.lower()
    s = reading.structure
    open_now = reading.tokens[-1][3] + 1 if reading.tokens else 0
    count = rest.count
    inert = (
        not any(keyword in lowered for keyword in KEYWORDS)
        and open_now + count("(") + count("[") + count("{") + count("!") + count("+") + count("-") + count("^")
        <= SPARQL_MAX_PATTERN_NESTING
        and s.subqueries + lowered.count("select") <= SPARQL_MAX_SUBQUERIES
        and s.operators + sum(count(c) for c in "|&=<>+-*/") <= SPARQL_MAX_OPERATORS
        and s.path_operators + count("/") + count("|") + count("^") <= SPARQL_MAX_PATH_OPERATORS
        and s.group_operators + sum(lowered.count(k) for k in GROUP_KEYWORDS) <= SPARQL_MAX_GROUP_OPERATORS
        and s.optionals + lowered.count("optional") <= SPARQL_MAX_OPTIONALS)
    if not inert:
        near = reading.text[start:start + 20]
        raise InputError(f"the SPARQL request does not read as SPARQL at {position(reading.text, start)} "
                         f"(near {near!r}), and what follows could not be checked: it is refused")


def _outbound(reading: Reading) -> list[tuple[str, str, list[str]]]:
    """Every SERVICE and LOAD of one reading, as (keyword, target as written, the IRIs it may resolve to; none
    when it cannot be resolved). Prefixes and bases are collected over the whole text, every declaration of a
    name counting: a target is allowed only if all of its possible IRIs are."""
    tokens = reading.tokens
    prefixes: dict[str, set[str]] = {}
    bases: set[str] = set()
    requests: list[tuple[str, str | None, str | None]] = []  # (keyword, kind of target, target)
    found = [match.start() for match in KEYWORD_SEARCH.finditer(reading.text)]
    if not found:
        return []
    starts = [token[1] for token in tokens]
    for i in sorted({bisect_right(starts, offset) - 1 for offset in found} - {-1}):
        token = tokens[i]
        if token[0] not in (NAME, PN):
            continue
        value = reading.value(token)
        for keyword, after in _engine_keywords(value.lower()):
            exact = after == len(value) and len(value) == len(keyword)
            rest = value[after:]
            if keyword == "prefix":
                _declare_prefix(reading, i, rest, prefixes)
            elif keyword == "base":
                if not rest and i + 1 < len(tokens) and tokens[i + 1][0] == IRI:
                    bases.add(_iri_value(reading.value(tokens[i + 1])))
            else:
                kind, target, following = _target(reading, i, rest)
                if not exact and not _live(reading, keyword, i, kind, following):
                    continue
                requests.append((keyword.upper(), kind, target if kind else None))
    return [(keyword, target or "(unknown target)", _resolve(kind, target, prefixes, bases))
            for keyword, kind, target in requests]


def _engine_keywords(lowered: str) -> list[tuple[str, int]]:
    """(keyword, offset after it) for each SERVICE, LOAD, PREFIX or BASE the engine may read in one name: at
    its start, or after letters that may be keywords of their own (`trueSERVICE`)."""
    # A keyword can start anywhere in the leading run of letters, and nowhere after it. The grammar has no long
    # run of keywords before SERVICE, LOAD, PREFIX or BASE (`atrueSERVICE` is the longest kind), so only the
    # run's first MAX_KEYWORD_RUN characters are searched: a name of megabytes costs one pass.
    run = min(KEYWORD_RUN.match(lowered).end(), MAX_KEYWORD_RUN)
    found = []
    for keyword in KEYWORDS:
        at = lowered.find(keyword, 0, run + len(keyword))
        while at >= 0:
            found.append((keyword, at + len(keyword)))
            at = lowered.find(keyword, at + 1, run + len(keyword))
    return found


def _target(reading: Reading, i: int, rest: str) -> tuple[str | None, str | None, int]:
    """The target of a SERVICE or LOAD read at token `i` with `rest` glued after it, past an optional SILENT:
    (kind: IRI, PN, VAR or None, its text, index of the token after it)."""
    tokens = reading.tokens
    j = i + 1
    if rest.lower().startswith("silent"):
        rest = rest[len("silent"):]
    elif not rest and j < len(tokens) and tokens[j][0] in (NAME, PN) and reading.value(tokens[j]).lower().startswith("silent"):
        rest = reading.value(tokens[j])[len("silent"):]
        j += 1
    if rest:
        return (PN if ":" in rest and PNAME_TOKEN.fullmatch(rest) else None), rest, j
    if j < len(tokens) and tokens[j][0] in (IRI, PN, VAR):
        return tokens[j][0], reading.value(tokens[j]), j + 1
    return None, (reading.value(tokens[j]) if j < len(tokens) else None), j + 1


def _live(reading: Reading, keyword: str, i: int, kind: str | None, following: int) -> bool:
    """Whether a keyword read inside a longer name is a request the engine would run: SERVICE needs a target
    and then `{`; LOAD a target, at the top level, at the start of an operation."""
    tokens = reading.tokens
    if kind is None:
        return False
    if keyword == "service":
        return following < len(tokens) and reading.value(tokens[following]) == "{"
    previous = reading.value(tokens[i - 1]) if i > 0 else ";"
    return kind in (IRI, PN) and tokens[i][3] == 0 and (previous == ";" or tokens[i - 1][0] == IRI)


def _declare_prefix(reading: Reading, i: int, rest: str, prefixes: dict[str, set[str]]) -> None:
    """Record `PREFIX name: <iri>` read at token `i` (the name may be glued to PREFIX, as in `PREFIXex:`)."""
    tokens = reading.tokens
    j = i + 1
    if not rest:
        if j >= len(tokens) or tokens[j][0] != PN:
            return
        rest, j = reading.value(tokens[j]), j + 1
    if rest.endswith(":") and rest.count(":") == 1 and j < len(tokens) and tokens[j][0] == IRI:
        prefixes.setdefault(rest[:-1], set()).add(_iri_value(reading.value(tokens[j])))


def _iri_value(token: str) -> str:
    """The IRI of an IRIREF token, its \\u escapes applied (the engine applies them inside IRIs)."""
    return UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), token[1:-1])


def _resolve(kind: str | None, target: str | None, prefixes: dict[str, set[str]], bases: set[str]) -> list[str]:
    """Every IRI the target may mean; [] when it is a variable or does not resolve."""
    if kind == IRI and target is not None:
        written = [_iri_value(target)]
    elif kind == PN and target is not None:
        name, _, local = target.partition(":")
        local = re.sub(r"\\(.)", r"\1", local)
        written = [namespace + local for namespace in prefixes.get(name, ())]
    else:
        return []
    resolved = []
    for iri in written:
        if ABSOLUTE.match(iri):
            resolved.append(iri)
        elif not bases:
            return []
        else:
            resolved.extend(urljoin(base, iri) for base in bases)
    return resolved


def _host(iri: str) -> str | None:
    """The host an HTTP(S) IRI names, or None unless the IRI is plain enough that every parser agrees on it:
    printable ASCII, an http or https scheme, and an authority of a host and a port only (no user info)."""
    if not PLAIN_IRI.fullmatch(iri):
        return None
    try:
        parts = urlsplit(iri)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not AUTHORITY.fullmatch(parts.netloc):
        return None
    return parts.hostname
