"""A SPARQL 1.1 tokenizer for the request guards: the terminals of the grammar (SPARQL 1.1 §19.8), read left to
right, so that a keyword is a keyword only where the grammar reads one, never inside a string, an IRI, a comment
or a prefixed name.

Two things make one left-to-right pass not enough, and each gives a text more than one *reading*:

* Codepoint escapes. The spec applies \\uXXXX and \\UXXXXXXXX to the whole text before parsing (§19.2), so
  `\\u0053ERVICE` is SERVICE; pyoxigraph 0.5 applies them only inside strings and IRIs, so for it
  `"a\\u005C" SERVICE <x> {} "` holds a live SERVICE that the spec's reading puts inside a string. A text that
  holds an escape is read both ways, and each reading is judged.
* `<`. After an operand, `?a<?b&&?c>?d` is an operator for a parser that knows it is in an expression (the
  engine's) and an IRI for a tokenizer by longest match. In a bracketed expression the operator reading is the
  engine's; where the two readings do not meet again at the `>` (a `'` or `#` inside starts a string or a
  comment in one reading only), the other reading is judged too. Readings are bounded: past `MAX_READINGS` the
  text is refused as ambiguous.

A reading records its tokens (for the outbound decision) and the structure the engine's recursive parser would
build (for the limits): nesting, runs of prefix operators, operator and pattern counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MAX_READINGS = 16
MAX_READ_CHARS = 8 * 1024 * 1024  # over all readings of one text

HEX = "[0-9A-Fa-f]"
UCHAR = rf"\\u{HEX}{{4}}|\\U{HEX}{{8}}"
ECHAR = r"""\\[tbnrf\\"']"""
PN_CHARS_BASE = (r"A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02FF\u0370-\u037D\u037F-\u1FFF\u200C-\u200D"
                 r"\u2070-\u218F\u2C00-\u2FEF\u3001-\uD7FF\uF900-\uFDCF\uFDF0-\uFFFD\U00010000-\U000EFFFF")
PN_CHARS_U = PN_CHARS_BASE + "_"
PN_CHARS = PN_CHARS_U + r"\-0-9\u00B7\u0300-\u036F\u203F-\u2040"
PLX = rf"%{HEX}{HEX}|\\[_~.\-!$&'()*+,;=/?#@%]"
PN_PREFIX = rf"[{PN_CHARS_BASE}](?:[{PN_CHARS}.]*[{PN_CHARS}])?"
PN_LOCAL = rf"(?:[{PN_CHARS_U}:0-9]|{PLX})(?:(?:[{PN_CHARS}.:]|{PLX})*(?:[{PN_CHARS}:]|{PLX}))?"
PNAME = rf"(?:{PN_PREFIX})?:(?:{PN_LOCAL})?"
VARNAME = rf"[{PN_CHARS_U}0-9][{PN_CHARS_U}0-9\u00B7\u0300-\u036F\u203F-\u2040]*"
IRIREF = rf"<(?:[^<>\"{{}}|^`\\\x00-\x20]++|{UCHAR})*+>"
STRING = "|".join((
    rf"'''(?:[^'\\]++|{ECHAR}|{UCHAR}|'(?!''))*+'''",
    rf'"""(?:[^"\\]++|{ECHAR}|{UCHAR}|"(?!""))*+"""',
    rf"'(?:[^'\\\n\r]++|{ECHAR}|{UCHAR})*+'",
    rf'"(?:[^"\\\n\r]++|{ECHAR}|{UCHAR})*+"',
))
EXPONENT = "[eE][+-]?[0-9]+"
NUMBER = rf"[0-9]+\.[0-9]*{EXPONENT}|\.[0-9]+{EXPONENT}|[0-9]+{EXPONENT}|[0-9]*\.[0-9]+|[0-9]+"
PUNCT = r"\^\^|&&|\|\||!=|<=|>=|[{}()\[\];,.=<>!+\-*/|^?]"

# Kinds of token (the names of TOKEN's groups).
WS, IRI, STR, VAR, BNODE, PN, NAME, LANG, NUM, OP = "ws", "iri", "str", "var", "bnode", "pname", "name", "lang", "num", "op"
TOKEN = re.compile(
    rf"(?P<ws>[ \t\r\n]+|#[^\r\n]*)|(?P<iri>{IRIREF})|(?P<str>{STRING})|(?P<var>[?$]{VARNAME})"
    rf"|(?P<bnode>_:[{PN_CHARS_U}0-9](?:[{PN_CHARS}.]*[{PN_CHARS}])?)|(?P<pname>{PNAME})|(?P<name>[A-Za-z][A-Za-z0-9_]*)"
    rf"|(?P<lang>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)|(?P<num>{NUMBER})|(?P<op>{PUNCT})")
IRI_TOKEN = re.compile(IRIREF)
PUNCT_TOKEN = re.compile(PUNCT)
PNAME_TOKEN = re.compile(PNAME)
# The same terminals, tried by first character: one small expression per token instead of TOKEN's alternation.
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_NAME_OR_PNAME = re.compile(rf"(?P<pname>{PNAME})|(?P<name>[A-Za-z][A-Za-z0-9_]*)")
_BY_FIRST = {
    **dict.fromkeys(" \t\r\n#", re.compile(r"(?P<ws>[ \t\r\n]+|#[^\r\n]*)")),
    "<": re.compile(rf"(?P<iri>{IRIREF})|(?P<op>{PUNCT})"),
    **dict.fromkeys("'\"", re.compile(rf"(?P<str>{STRING})")),
    **dict.fromkeys("?$", re.compile(rf"(?P<var>[?$]{VARNAME})|(?P<op>{PUNCT})")),
    "_": re.compile(rf"(?P<bnode>_:[{PN_CHARS_U}0-9](?:[{PN_CHARS}.]*[{PN_CHARS}])?)"),
    ":": re.compile(rf"(?P<pname>{PNAME})"),
    **dict.fromkeys("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", _NAME_OR_PNAME),
    "@": re.compile(r"(?P<lang>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)"),
    **dict.fromkeys("0123456789.", re.compile(rf"(?P<num>{NUMBER})|(?P<op>{PUNCT})")),
    **dict.fromkeys("{}()[];,=>!+-*/|^&", re.compile(rf"(?P<op>{PUNCT})")),
}
CODEPOINT = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|.)", re.DOTALL)

# Frames: what an open bracket holds. "group" is a `{ }` of patterns, "clause" a group that turned out to hold a
# sub-query (its projection and modifiers hold expressions without brackets of their own), "data" a VALUES block;
# "expr" a bracketed expression or argument list, "list" a collection or a path group, "row" a VALUES row.
EXPR, LIST, ROW, GROUP, CLAUSE, DATA, BLANK = "expr", "list", "row", "group", "clause", "data", "blank"
OPENS = {"(": ")", "[": "]", "{": "}"}
CLOSES = {")": (EXPR, LIST, ROW), "]": (BLANK,), "}": (GROUP, CLAUSE, DATA)}
BINARY = frozenset(("||", "&&", "=", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/"))
PATH = frozenset(("/", "|", "^"))
PREFIX_OPERATORS = frozenset(("!", "+", "-", "^"))
GROUP_KEYWORDS = frozenset(("union", "optional", "minus", "bind", "filter", "exists"))
OPERAND_KINDS = frozenset((IRI, STR, VAR, PN, LANG, NUM))

# How an ambiguous `<` is read, and how its inside reads as operators.
AS_OPERATOR, AS_IRI = "operator", "iri"
CLEAN, DEAD, DIVERGENT = "clean", "dead", "divergent"


class Ambiguous(Exception):
    """The text has too many readings; `where` is the place of the last ambiguous `<`."""

    def __init__(self, text: str, offset: int):
        self.where = position(text, offset)
        super().__init__(self.where)


@dataclass
class Structure:
    """What the engine's recursive parser and planner would build from one reading; `*_at` is a text offset."""

    depth: int = 0  # open brackets plus a run of prefix operators
    depth_at: int = 0
    pattern_nesting: int = 0  # blank-node property lists and collections, one inside the other
    pattern_nesting_at: int = 0
    subqueries: int = 0  # sub-SELECTs, one inside the other
    subqueries_at: int = 0
    operators: int = 0  # binary operators in expressions
    path_operators: int = 0  # `/`, `|` and `^` in property paths
    group_operators: int = 0  # UNION, OPTIONAL, MINUS, BIND, FILTER, EXISTS
    optionals: int = 0


@dataclass
class Reading:
    """One reading of a text: its tokens as (kind, start, end, brackets open there) and its structure.
    `stopped_at` is where the text stops tokenizing (None: it all does)."""

    text: str
    tokens: list[tuple[str, int, int, int]] = field(default_factory=list)
    structure: Structure = field(default_factory=Structure)
    stopped_at: int | None = None
    forks: list[tuple[int, str]] = field(default_factory=list)  # (offset of a `<`, its other reading)

    def value(self, token: tuple[str, int, int, int]) -> str:
        return self.text[token[1]:token[2]]


def has_codepoint_escapes(text: str) -> bool:
    return "\\u" in text or "\\U" in text


def unescape_codepoints(text: str) -> str:
    """The text as the spec parses it (§19.2): \\uXXXX and \\UXXXXXXXX replaced everywhere, in one pass. A
    backslash pairs with the character after it, so `\\\\u0041` keeps its escaped backslash, as in Java's rule;
    an escape of no valid codepoint (a surrogate, past U+10FFFF) stays as written."""
    def replace(match: re.Match) -> str:
        digits = match.group(1) or match.group(2)
        if digits is None:
            return match.group(0)
        code = int(digits, 16)
        return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else match.group(0)
    return CODEPOINT.sub(replace, text)


def readings(text: str) -> list[Reading]:
    """Every reading the guards judge: the engine's and the spec's view of codepoint escapes, times the
    diverging readings of ambiguous `<`. Raises Ambiguous past MAX_READINGS readings, or once the readings of
    ambiguous `<` would read more than MAX_READ_CHARS characters in all: an ambiguous text costs at most about
    what the largest plain one does."""
    texts = [text]
    if has_codepoint_escapes(text):
        unescaped = unescape_codepoints(text)
        if unescaped != text:
            texts.append(unescaped)
    found: list[Reading] = []
    spent = 0
    for variant in texts:
        pending: list[dict[int, str]] = [{}]
        while pending:
            overrides = pending.pop()
            if overrides and spent + len(variant) > MAX_READ_CHARS:
                raise Ambiguous(variant, max(overrides))
            reading = read(variant, overrides)
            spent += len(variant)
            found.append(reading)
            last = max(overrides, default=-1)
            for offset, other in reading.forks:
                if offset > last:
                    if len(found) + len(pending) >= MAX_READINGS:
                        raise Ambiguous(variant, offset)
                    pending.append({**overrides, offset: other})
    return found


def _operand_end(kind: str | None, value: str) -> bool:
    """Whether a token can end an operand, so that a `<` after it can be the less-than operator
    (`value` is kept for punctuation and names only)."""
    return kind in OPERAND_KINDS or value == ")" or (kind == NAME and value.lower() in ("true", "false"))


def _interior(text: str, start: int, end: int) -> tuple[str, list[str]]:
    """How the inside of an IRI-looking `<...>` reads as operators: CLEAN (tokens that end before the `>`),
    DEAD (a character no token starts with, or `//`: a syntax error for that reading), or DIVERGENT (a `'` or a
    `#` starts a string or a comment that runs past the `>`). Returns the status and the punctuation read."""
    marks: list[str] = []
    pos = start
    while pos < end:
        match = TOKEN.match(text, pos, end)
        if match is None:
            return (DIVERGENT if text[pos] == "'" else DEAD), marks
        kind = match.lastgroup
        if kind == WS and text[pos] == "#":
            return DIVERGENT, marks
        if kind == OP:
            mark = match.group()
            if mark == "/" and marks and marks[-1] == "/" and text[pos - 1] == "/":
                return DEAD, marks
            marks.append(mark)
        pos = match.end()
    return CLEAN, marks


def _nesting(marks: list[str]) -> tuple[int, int]:
    """(deepest, net) brackets and prefix-operator runs among the punctuation of an IRI's inside."""
    depth = deepest = run = 0
    for mark in marks:
        if mark in OPENS:
            depth += 1
        elif mark in CLOSES:
            depth = max(0, depth - 1)
        run = run + 1 if mark in PREFIX_OPERATORS else 0
        deepest = max(deepest, depth + run)
    return deepest, depth


def read(text: str, overrides: dict[int, str] | None = None) -> Reading:
    """One left-to-right reading. `overrides` chooses the reading of ambiguous `<` at given offsets.
    Written as one loop over local variables: it runs on every request that is not plainly harmless."""
    overrides = overrides or {}
    reading = Reading(text)
    append = reading.tokens.append
    by_first, whitespace = _BY_FIRST, _WHITESPACE.match
    stack: list[str] = []
    pos, n = 0, len(text)
    prev_kind: str | None = None
    prev_value = prev2_value = ""
    run = nesting = clauses = 0
    depth = depth_at = most_nesting = nesting_at = subqueries = subqueries_at = 0
    operators = path_operators = group_operators = optionals = 0
    values_pending = False
    while pos < n:
        char = text[pos]
        if char in " \t\r\n":
            pos = whitespace(text, pos).end()
            continue
        kind = None
        if char == "<" and stack and stack[-1] in (EXPR, LIST) and _operand_end(prev_kind, prev_value):
            iri = IRI_TOKEN.match(text, pos)
            if iri is not None:
                status, marks = _interior(text, pos + 1, iri.end() - 1)
                inner, net = _nesting(marks)
                default = AS_OPERATOR if stack[-1] == EXPR else AS_IRI
                choice = overrides.get(pos, default)
                if pos not in overrides and (status == DIVERGENT or (status == CLEAN and net != 0)
                                             or (status == DEAD and choice == AS_OPERATOR)):
                    reading.forks.append((pos, AS_IRI if choice == AS_OPERATOR else AS_OPERATOR))
                if choice == AS_IRI:
                    # The operator reading of a CLEAN or DEAD inside adds only these tokens: count them too.
                    if len(stack) + inner > depth:
                        depth, depth_at = len(stack) + inner, pos
                    operators += sum(1 for mark in marks if mark in BINARY)
                    append((IRI, pos, iri.end(), len(stack)))
                    prev2_value, prev_kind, prev_value = prev_value, IRI, ""
                    run, pos = 0, iri.end()
                    continue
                match, kind = PUNCT_TOKEN.match(text, pos), OP
            else:
                match = by_first["<"].match(text, pos)
        else:
            expression = by_first.get(char)
            match = (expression or TOKEN).match(text, pos)
        if match is None:
            reading.stopped_at = pos
            break
        kind = kind or match.lastgroup
        end = match.end()
        if kind == WS:  # a comment
            pos = end
            continue
        append((kind, pos, end, len(stack)))
        value = ""
        if kind == OP:
            value = match.group()
            if value in OPENS:
                frame = _frame(value, stack, prev_kind, prev_value, prev2_value, values_pending)
                if value == "{":
                    values_pending = False
                stack.append(frame)
                if len(stack) > depth:
                    depth, depth_at = len(stack), pos
                if frame in (LIST, BLANK):
                    nesting += 1
                    if nesting > most_nesting:
                        most_nesting, nesting_at = nesting, pos
            elif value in CLOSES:
                if stack and stack[-1] in CLOSES[value]:
                    frame = stack.pop()
                    if frame in (LIST, BLANK):
                        nesting -= 1
                    elif frame == CLAUSE:
                        clauses -= 1
            elif stack and stack[-1] == EXPR:
                if value in BINARY:
                    operators += 1
            elif value in PATH:
                path_operators += 1
            if value in PREFIX_OPERATORS:
                run += 1
                if len(stack) + run > depth:
                    depth, depth_at = len(stack) + run, pos
            else:
                run = 0
        else:
            run = 0
            if kind == NAME:
                value = match.group()
                lowered = value.lower()
                if lowered in GROUP_KEYWORDS:
                    group_operators += 1
                    if lowered == "optional":
                        optionals += 1
                elif lowered == "select" and stack and stack[-1] == GROUP:
                    stack[-1] = CLAUSE
                    clauses += 1
                    if clauses > subqueries:
                        subqueries, subqueries_at = clauses, pos
                elif lowered == "values":
                    values_pending = True
        prev2_value, prev_kind, prev_value = prev_value, kind, value
        pos = end
    reading.structure = Structure(depth, depth_at, most_nesting, nesting_at, subqueries, subqueries_at,
                                  operators, path_operators, group_operators, optionals)
    return reading


def _frame(bracket: str, stack: list[str], prev_kind: str | None, prev_value: str, prev2_value: str,
           values_pending: bool) -> str:
    """What a bracket opens, from where it is: enough to know where `<` can be an operator, and which brackets
    nest patterns (blank nodes, collections) rather than expressions."""
    if bracket == "[":
        return BLANK
    if bracket == "{":
        return DATA if values_pending else GROUP
    top = stack[-1] if stack else CLAUSE
    if top == EXPR:
        return EXPR
    if top == DATA or (prev_kind == NAME and prev_value.lower() == "values"):
        return ROW
    if top == CLAUSE:
        return EXPR  # a projection `(expr AS ?x)`, GROUP BY / ORDER BY / HAVING, or a call in them
    if prev_kind == NAME and prev_value.lower() != "a":
        return EXPR  # FILTER(, BIND(, STR(, ...
    if prev_kind in (IRI, PN) and prev2_value.lower() == "filter":
        return EXPR  # FILTER <function>(...)
    return LIST


def position(text: str, offset: int) -> str:
    """`line L, column C` of an offset, for messages."""
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line:,}, column {column:,}"


def names_dataset(text: str) -> bool:
    """Whether a query declares its own dataset (FROM or FROM NAMED), read as the engine reads the text: the
    keyword as a name outside every bracket, where the grammar has it only in a DatasetClause. A query that
    declares none is given the union of all graphs as its default graph."""
    if "from" not in text.lower():
        return False
    return any(kind == NAME and depth == 0 and text[start:end].lower() == "from"
               for kind, start, end, depth in read(text).tokens)


def with_update_dataset(text: str, using: list[str], using_named: list[str]) -> str:
    """An update with the protocol's `using-graph-uri` / `using-named-graph-uri` (SPARQL 1.1 Protocol §2.2.3)
    written into it as USING / USING NAMED clauses before the WHERE of every operation that has one; a
    `DELETE WHERE { P }` becomes `DELETE { P } USING ... WHERE { P }`, its meaning. An update that names its own
    dataset (USING, USING NAMED or WITH) may not be given one by the protocol as well. Raises ValueError."""
    if not (using or using_named):
        return text
    reading = read(text)
    if reading.stopped_at is not None:
        return text  # it does not parse: the engine refuses it with its own message
    tokens = reading.tokens

    def word(token: tuple[str, int, int, int]) -> str:
        return text[token[1]:token[2]].lower() if token[0] == NAME else ""

    if any(token[3] == 0 and word(token) in ("using", "with") for token in tokens):
        raise ValueError("the update names its own dataset (USING or WITH) and the request gives "
                         "using-graph-uri or using-named-graph-uri as well: give one or the other")
    clause = " ".join([f"USING <{iri}>" for iri in using] + [f"USING NAMED <{iri}>" for iri in using_named])
    edits: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        if token[3] != 0 or word(token) != "where":
            continue
        if i > 0 and word(tokens[i - 1]) == "delete" and i + 1 < len(tokens):
            opening = tokens[i + 1]
            closing = next((t for t in tokens[i + 2:] if t[3] == 1 and text[t[1]:t[2]] == "}"), None)
            if closing is None:
                return text
            pattern = text[opening[1]:closing[2]]
            edits.append((token[1], token[2], f"{pattern} {clause} WHERE"))
        else:
            edits.append((token[1], token[1], f"{clause} "))
    for start, end, replacement in reversed(edits):
        text = text[:start] + replacement + text[end:]
    return text
