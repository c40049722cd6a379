"""The curated query library: `.rq` files with grlc decorators, run with parameters bound as RDF terms.

Conventions follow grlc so a query repository written for grlc works unchanged: a header of `#+ key: value`
lines (YAML), parameters as variables `?_name` (required) or `?__name` (optional) with a type suffix
(`_iri`, `_integer`, `_xsd_date`, `_xsd_<type>`, `_<lang>`). Values never touch the query text as text: each is
validated, turned into an RDF term, serialised by pyoxigraph and joined with a VALUES block, so a value cannot
change the structure of the query.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox
import yaml

from ekb.dialects import query_form
from ekb.errors import InputError, NotFound
from ekb.formats import Format
from ekb.store import Answer

XSD = "http://www.w3.org/2001/XMLSchema#"
PARAM_VAR = re.compile(r"[?$](__?)([A-Za-z][A-Za-z0-9_]*)")
LANG_SUFFIX = re.compile(r"^[a-z]{2}$")
# Lexical checks for the typed literals a parameter may carry.
VALIDATORS = {
    "integer": lambda v: str(int(v)),
    "decimal": lambda v: str(Decimal(v)),
    "double": lambda v: repr(float(v)),
    "boolean": lambda v: {"true": "true", "false": "false", "1": "true", "0": "false"}[v.lower()],
    "date": lambda v: dt.date.fromisoformat(v).isoformat(),
    "dateTime": lambda v: dt.datetime.fromisoformat(v.replace("Z", "+00:00")).isoformat().replace("+00:00", "Z"),
    "string": lambda v: v,
}


@dataclass(frozen=True)
class Parameter:
    name: str  # the public name, as in ?name= on the URL
    variable: str  # the SPARQL variable, without ? or $
    kind: str  # "iri", "literal", "typed" or "lang"
    datatype: str | None = None
    language: str | None = None
    required: bool = True
    default: str | None = None
    enum: tuple[str, ...] = ()

    def term(self, value: str) -> ox.NamedNode | ox.Literal:
        """The RDF term for a raw value, or an InputError that says what is wrong with it."""
        if self.kind == "iri":
            try:  # the engine's own IRI parser decides: it accepts absolute IRIs only
                return ox.NamedNode(value)
            except ValueError as err:
                raise InputError(f"parameter {self.name}: {value!r} is not an absolute IRI ({err})") from None
        if self.kind == "lang":
            return ox.Literal(value, language=self.language)
        if self.kind == "typed":
            short = self.datatype.removeprefix(XSD)
            check = VALIDATORS.get(short)
            try:
                lexical = check(value) if check else value
            except (ValueError, KeyError, InvalidOperation):
                raise InputError(f"parameter {self.name}: {value!r} is not a valid xsd:{short}") from None
            return ox.Literal(lexical, datatype=ox.NamedNode(self.datatype))
        return ox.Literal(value)


@dataclass
class NamedQuery:
    name: str
    text: str
    summary: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    method: str = "GET"
    pagination: int | None = None
    parameters: list[Parameter] = field(default_factory=list)
    example: dict[str, str] = field(default_factory=dict)

    def bind(self, values: dict[str, str], page: int | None = None, lookahead: bool = False) -> str:
        """The query text with `values` joined as a VALUES block; raises InputError for bad or missing values.
        With `lookahead`, the page asks for one row more: whether another page follows comes from the same
        evaluation (`page_of` takes it off again)."""
        known = {p.name for p in self.parameters}
        unknown = sorted(set(values) - known - {"page", "format"})
        if unknown:
            raise InputError(f"query {self.name} has no parameter {', '.join(unknown)}; "
                             f"its parameters are: {', '.join(sorted(known)) or 'none'}")
        bound: list[tuple[str, str]] = []
        for param in self.parameters:
            raw = values.get(param.name, param.default)  # an empty value unbinds it, default or not: "any"
            if raw is None or raw == "":
                if param.required:
                    raise InputError(f"query {self.name} needs the parameter {param.name}")
                continue
            if param.enum and raw not in param.enum:
                raise InputError(f"parameter {param.name}: {raw!r} is not one of {', '.join(param.enum)}")
            bound.append((param.variable, str(param.term(raw))))
        text = inject_values(self.text, bound) if bound else self.text
        if self.pagination:
            page = max(1, page or 1)
            text += f"\nLIMIT {self.pagination + lookahead} OFFSET {(page - 1) * self.pagination}"
        return text

    def page_of(self, answer: Answer, fmt: Format) -> tuple[Answer, bool]:
        """A page from the SPARQL JSON answer to `bind(..., lookahead=True)`, in `fmt`: its rows without the
        one looked ahead, and whether that row was there (a next page exists)."""
        if answer.kind != "solutions":  # an ASK (a paginated query is a SELECT: `parse_query_file`)
            return answer, False
        results = json.loads(answer.body)
        rows = results.get("results", {}).get("bindings", [])
        following = self.pagination is not None and len(rows) > self.pagination
        if following:
            results["results"]["bindings"] = rows[:self.pagination]
        body = json.dumps(results).encode("utf-8") if following else answer.body
        if fmt.engine != ox.QueryResultsFormat.JSON:
            body = ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON).serialize(format=fmt.engine)
        return Answer(answer.kind, fmt.media_type, body), following


def parse_parameter(prefix: str, body: str, defaults: dict, enums: dict) -> Parameter:
    required = prefix == "_"
    parts = body.split("_")
    kind, datatype, language, name = "literal", None, None, body
    if len(parts) >= 2 and parts[-1] == "iri":
        kind, name = "iri", "_".join(parts[:-1])
    elif len(parts) >= 3 and parts[-2] == "xsd":
        kind, datatype, name = "typed", XSD + parts[-1], "_".join(parts[:-2])
    elif len(parts) >= 2 and parts[-1] in VALIDATORS and parts[-1] != "string":
        kind, datatype, name = "typed", XSD + parts[-1], "_".join(parts[:-1])
    elif len(parts) >= 2 and LANG_SUFFIX.match(parts[-1]):
        kind, language, name = "lang", parts[-1], "_".join(parts[:-1])
    default = defaults.get(name, defaults.get(body))
    enum = tuple(str(v) for v in enums.get(name, enums.get(body, ())) or ())
    return Parameter(name, prefix + body, kind, datatype, language, required and default is None,
                     None if default is None else str(default), enum)


def parse_query_file(path: Path) -> NamedQuery:
    text = path.read_text(encoding="utf-8")
    header = "\n".join(line[3:] if line.startswith("#+ ") else line[2:]
                       for line in text.splitlines() if line.startswith("#+"))
    try:
        meta = yaml.safe_load(header) or {} if header.strip() else {}
    except yaml.YAMLError as err:
        raise InputError(f"{path.name}: the #+ header is not valid YAML: {err}") from None
    defaults = _merge(meta.get("defaults"))
    enums = _merge(meta.get("enumerate"))
    params: dict[str, Parameter] = {}
    for prefix, body in PARAM_VAR.findall(_strip_strings_and_comments(text)):
        param = parse_parameter(prefix, body, defaults, enums)
        params.setdefault(param.variable, param)
    example = {str(k): str(v) for k, v in _merge(meta.get("example")).items()}
    tags = meta.get("tags") or []
    if meta.get("pagination") and query_form(text) != "select":
        raise InputError(f"{path.name}: pagination applies to SELECT queries (rows are paged, not triples)")
    return NamedQuery(name=path.stem, text=text, summary=str(meta.get("summary", "")),
                      description=str(meta.get("description", "")).strip(),
                      tags=[str(t) for t in (tags if isinstance(tags, list) else [tags])],
                      method=str(meta.get("method", "GET")).upper(),
                      pagination=int(meta["pagination"]) if meta.get("pagination") else None,
                      parameters=list(params.values()), example=example)


def _merge(value) -> dict:
    """grlc writes maps as YAML lists of one-key maps; accept both shapes."""
    if isinstance(value, dict):
        return value
    merged: dict = {}
    for item in value or []:
        if isinstance(item, dict):
            merged.update(item)
        else:
            merged[str(item)] = None
    return merged


STRINGS_AND_COMMENTS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\''
                                  r"|<[^<>\s{}]*>|#[^\n]*")


def _strip_strings_and_comments(text: str) -> str:
    """Blank out strings, IRIs and comments, keeping offsets, so scanning sees only SPARQL structure."""
    return STRINGS_AND_COMMENTS.sub(lambda m: " " * len(m.group(0)), text)


def inject_values(text: str, bound: list[tuple[str, str]]) -> str:
    """Insert `VALUES (?a ?b) { (t1 t2) }` at the start of the query's WHERE group."""
    structure = _strip_strings_and_comments(text)
    where = re.search(r"\bWHERE\s*\{", structure, re.IGNORECASE)
    form = re.search(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", structure, re.IGNORECASE)
    if where:
        position = where.end()
    elif form and form.group(1).upper() in ("SELECT", "ASK") and "{" in structure[form.end():]:
        position = structure.index("{", form.end()) + 1
    else:
        raise InputError("cannot bind parameters: the query has no WHERE group")
    variables = " ".join(f"?{v}" for v, _ in bound)
    terms = " ".join(t for _, t in bound)
    return f"{text[:position]}\n  VALUES ({variables}) {{ ({terms}) }}\n{text[position:]}"


class QueryLibrary:
    """The `.rq` files of a folder, read once at start-up."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.queries: dict[str, NamedQuery] = {}
        if folder.is_dir():
            for path in sorted(folder.glob("*.rq")):
                self.queries[path.stem] = parse_query_file(path)

    def get(self, name: str) -> NamedQuery:
        try:
            return self.queries[name]
        except KeyError:
            raise NotFound(f"no query named {name!r}; the library has: {', '.join(self.queries)}") from None
