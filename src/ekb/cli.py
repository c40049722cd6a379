"""The `ekb` command line. Every command is a thin layer over `KnowledgeBase`, as the API is."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rich.console import Console
from rich.table import Table

from ekb import __version__
from ekb.config import Settings, default_project_root
from ekb.errors import EkbError, InputError, StoreUnavailable
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, SOLUTION_FORMATS, by_name
from ekb.query_workers import Limits

if TYPE_CHECKING:
    from ekb.kb import KnowledgeBase

err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)


def _kb_open(settings: Settings) -> KnowledgeBase:
    """The knowledge base, imported only when a command opens it. Worker processes (the query workers of
    `ekb serve`, the reasoning workers of a load) are spawned, and a spawned process imports the parent's
    __main__ again, which is this module: importing ekb.kb here would cost each of them about 0.4 s of CPU,
    seconds on a busy machine, before it can answer (the first answer of `ekb serve` waited for it)."""
    from ekb.kb import KnowledgeBase

    return KnowledgeBase.open(settings)


def _store_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=None,
                        help="folder holding ontology/, shapes/, data/, queries/ (default: $EKB_HOME or .)")
    parser.add_argument("--store", type=Path, default=None, metavar="DIR",
                        help="keep the embedded store on disk in DIR (default: in memory)")
    parser.add_argument("--endpoint", default=None, metavar="URL",
                        help="use a remote SPARQL 1.1 server's query endpoint instead of the embedded store")
    parser.add_argument("--update-endpoint", default=None, metavar="URL",
                        help="the remote server's update endpoint (default: guessed from --endpoint)")
    parser.add_argument("--dialect", default=None, choices=["oxigraph", "virtuoso", "generic"],
                        help="the remote server's engine (default: detected from its first answer)")
    parser.add_argument("--graph-namespace", action="append", default=[], metavar="PREFIX",
                        help="on a shared remote engine, graphs under PREFIX are ekb's too (repeatable; ekb's own "
                             "graph namespace always is, every other graph is ignored)")
    parser.add_argument("--reasoner", default="reasonable", choices=["reasonable", "owlrl"],
                        help="OWL 2 RL engine for loads (default: reasonable; owlrl is the reference)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ekb", description="Enterprise knowledge base: load, query, serve.")
    parser.add_argument("--version", action="version", version=f"ekb {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="serve the API (loads the model first if the store is empty)")
    _store_options(serve)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--reload-model", action="store_true", help="load the model even if the store has data")
    serve.add_argument("--base-url", default=None, metavar="URL",
                       help="the public URL clients use (e.g. https://kb.example.org): links, JSON-LD @context URLs and "
                            "the service description are built from it, never from the Host header "
                            "(default: http://HOST:PORT of the bind address)")
    serve.add_argument("--write-token-file", type=Path, default=None, metavar="PATH",
                       help="open writes (SPARQL Update, /store, /import, POST /governance/report) to requests with "
                            "'Authorization: Bearer TOKEN', TOKEN being this file's content; or set $EKB_WRITE_TOKEN. "
                            "Writes are closed without a token")
    serve.add_argument("--write-token", default=None, metavar="TOKEN",
                       help="the write token itself; avoid: a command line is visible to anyone who can run `ps` "
                            "(use $EKB_WRITE_TOKEN or --write-token-file)")
    serve.add_argument("--query-timeout", type=float, default=30.0, metavar="SECONDS",
                       help="stop a query after this many seconds (default: 30)")
    serve.add_argument("--max-body", type=int, default=10 * 1024 * 1024, metavar="BYTES",
                       help="largest request body accepted (default: 10 MiB)")
    serve.add_argument("--body-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="drop a request whose body has not fully arrived after this many seconds (default: 10)")
    serve.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                       help="close a connection whose request headers have not fully arrived after this many seconds "
                            "(default: 10)")
    serve.add_argument("--max-connections", type=int, default=100, metavar="N",
                       help="answer 503 beyond this many open connections and requests in progress (default: 100)")
    serve.add_argument("--query-workers", type=int, default=3, metavar="N",
                       help="processes that evaluate clients' SPARQL (default: 3); a query past its limit is stopped "
                            "by ending its process")
    serve.add_argument("--max-long-queries", type=int, default=4, metavar="N",
                       help="queries running longer than 0.5 s at once, at low priority (default: 4); past that, "
                            "503 with Retry-After")
    serve.add_argument("--query-memory", type=int, default=2048, metavar="MIB",
                       help="address space of one query process (default: 2048 MiB)")
    serve.add_argument("--max-result-bytes", type=int, default=256 * 1024 * 1024, metavar="BYTES",
                       help="largest query answer served (default: 256 MiB)")
    serve.add_argument("--cors", action="store_true", help="allow browser tools on other origins (CORS)")
    serve.add_argument("--allow-service-host", action="append", default=[], metavar="HOST",
                       help="allow SERVICE and LOAD to reach HOST (repeatable; default: none)")

    load = commands.add_parser("load", help="load ontology/, shapes/ and data/ and reason over them")
    _store_options(load)
    load.add_argument("--drop-api-graphs", action="store_true",
                      help="also drop data graphs that no file holds (written through the API); kept by default")

    query = commands.add_parser("query", help="run a SPARQL query (a string or a .rq file)")
    _store_options(query)
    query.add_argument("query", help="SPARQL text, a path to a .rq file, or the name of a curated query "
                                     "followed by its parameters as --name value")
    query.add_argument("--format", default="table",
                       help="table (default), json, xml, csv, tsv for SELECT/ASK; turtle, ntriples, jsonld, rdfxml "
                            "for CONSTRUCT/DESCRIBE")

    export = commands.add_parser("export", help="write one graph or the whole store in an RDF format")
    _store_options(export)
    export.add_argument("--graph", default=None, metavar="IRI", help="the graph to export (default: all graphs)")
    export.add_argument("--format", default=None,
                        help="turtle, ntriples, jsonld, rdfxml (one graph) or trig, nquads (default: trig for all, "
                             "turtle for one graph)")
    export.add_argument("--kind", default=None, help="with --format jsonld: only one kind (capabilities, systems, ...)")
    export.add_argument("--context-url", default=None, metavar="URL",
                        help="with --format jsonld: point at this context (e.g. http://host:8000/context/v3.jsonld) "
                             "instead of embedding it")
    export.add_argument("--output", "-o", type=Path, default=None, help="file to write (default: standard output)")

    importer = commands.add_parser("import", help="import a JSON-LD document into a named graph, through the governance gate")
    _store_options(importer)
    importer.add_argument("file", type=Path, help="the JSON-LD document")
    importer.add_argument("--graph", default=None, metavar="IRI",
                          help="the graph to add it to (default: .../graph/data/imported/<file name>)")
    importer.add_argument("--replace", action="store_true",
                          help="replace the description of every resource the document describes (default: merge)")

    changes = commands.add_parser("changes", help="follow a running server's change feed (/changes), one JSON line "
                                  "per change")
    changes.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default: %(default)s)")
    changes.add_argument("--after", type=int, default=0, help="the last change already seen (default: 0, the start)")
    changes.add_argument("--follow", action="store_true", help="keep polling for new changes until interrupted")
    changes.add_argument("--interval", type=float, default=2.0, help="seconds between polls with --follow")

    stats = commands.add_parser("stats", help="list the graphs and their triple counts")
    _store_options(stats)

    validate = commands.add_parser("validate", help="governance report: which rules are broken, how badly, who fixes it")
    _store_options(validate)
    validate.add_argument("files", nargs="*", type=Path,
                          help="data files to validate instead of the store (with --shapes, or the project's shapes)")
    validate.add_argument("--shapes", nargs="+", type=Path, default=None, metavar="FILE",
                          help="shapes files to validate against (default: the project's shapes/)")
    validate.add_argument("--format", default="text", choices=["text", "html", "json", "turtle", "csv"],
                          help="text (default), a self-contained html page, json, turtle (sh:ValidationReport) or csv")
    validate.add_argument("--group-by", default="rule", choices=["rule", "owner"], help="grouping of the html report")
    validate.add_argument("--fail-on", default="violation", choices=["violation", "warning", "info", "none"],
                          help="exit with status 3 when a finding of this severity or worse exists (default: violation)")
    validate.add_argument("--engine", default=None, choices=["pyshacl-turbo", "pyshacl", "sparql"],
                          help="SHACL engine (default: the shapes as SPARQL in the engine on oxigraph serve, else "
                               "pyshacl-turbo; pyshacl is the reference; sparql runs them in any store)")
    validate.add_argument("--output", "-o", type=Path, default=None, help="file to write (default: standard output)")
    validate.add_argument("--history", action="store_true", help="show the recorded report runs instead of validating")
    validate.add_argument("--record", action="store_true",
                          help="keep this run in the store's governance history (a report alone writes nothing)")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings(root=(args.root or default_project_root()).resolve(), store_dir=args.store,
                        endpoint=args.endpoint, update_endpoint=args.update_endpoint, reasoner=args.reasoner,
                        dialect=args.dialect, graph_prefixes=tuple(args.graph_namespace))
    if args.command == "serve":
        settings.write_token = write_token(args)
        settings.base_url = public_base_url(args)
        settings.query_timeout_s = args.query_timeout
        settings.max_body_bytes = args.max_body
        settings.body_timeout_s = args.body_timeout
        settings.max_result_bytes = args.max_result_bytes
        settings.cors = args.cors
        settings.allowed_service_hosts = tuple(args.allow_service_host)
    return settings


def write_token(args: argparse.Namespace) -> str | None:
    """The write token: from --write-token-file (read once, stripped), --write-token, or $EKB_WRITE_TOKEN.
    The file and the environment keep it out of the process list, where any local user can read it."""
    if args.write_token_file and args.write_token:
        raise InputError("give the write token once: --write-token-file or --write-token, not both")
    if args.write_token_file:
        try:
            token = args.write_token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"cannot read the write token file {args.write_token_file}: {err}") from None
        if not token:
            raise InputError(f"the write token file {args.write_token_file} is empty")
        return token
    if args.write_token:
        err_console.print("warning: a token given with --write-token is visible to anyone who can run `ps`; "
                          "use $EKB_WRITE_TOKEN or --write-token-file", markup=False)
        return args.write_token
    return os.environ.get("EKB_WRITE_TOKEN", "").strip() or None


def public_base_url(args: argparse.Namespace) -> str:
    """--base-url, checked (an absolute http(s) URL without query or fragment), or the bind address."""
    if args.base_url is None:
        host = f"[{args.host}]" if ":" in args.host else args.host
        return f"http://{host}:{args.port}"
    parts = urlsplit(args.base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InputError(f"--base-url {args.base_url!r} must be an absolute http(s) URL such as https://kb.example.org")
    return args.base_url.rstrip("/")


def _open(args: argparse.Namespace, ensure_loaded: bool = True) -> KnowledgeBase:
    kb = _kb_open(_settings(args))
    if ensure_loaded and not args.endpoint and not args.store:
        _run_load(kb)  # an in-memory store starts empty: give the command something to work on
    return kb


def _run_load(kb: KnowledgeBase, drop_unmanaged: bool = False) -> None:
    with err_console.status("loading") as status:
        report = kb.load(lambda message: status.update(message), drop_unmanaged)
    total = sum(report.graphs.values())
    unchanged = f", {len(report.skipped)} of them unchanged since the last load and not read again" \
        if report.skipped else ""
    entailments = "" if report.reasoned else "; entailments kept: no premise changed"
    err_console.print(f"loaded {len(report.graphs)} graphs, {total} triples in {report.seconds:.2f} s "
                      f"(reasoner: {report.reasoner}){unchanged}{entailments}")
    for graph in report.dropped:
        err_console.print(f"dropped {graph}: no data file holds it any more", markup=False)
    for graph in report.kept:
        err_console.print(f"kept {graph}: written through the API, no data file holds it "
                          "(ekb load --drop-api-graphs drops such graphs)", markup=False)
    from ekb.literals import SHOWN, occurrences

    for label, rewrites in report.rewritten.items():  # loud: what the store does not keep as the file says it
        err_console.print(f"{label}: the store rewrites {len(rewrites)} typed literal(s) in {occurrences(rewrites)} "
                          "triple(s): queries, exports and validation see the stored form (`ekb validate FILE` "
                          "checks the file as written)", markup=False, soft_wrap=True)
        for rewrite in rewrites[:SHOWN]:
            err_console.print(f"  {label}: {rewrite.shown()}", markup=False, soft_wrap=True)
        if len(rewrites) > SHOWN:
            err_console.print(f"  {label}: ... and {len(rewrites) - SHOWN} more", markup=False, soft_wrap=True)


SCRATCH_PREFIX = "ekb-store-"


def scratch_store() -> tempfile.TemporaryDirectory:
    """The folder of the store of a server started without --store, which it removes when it stops. Each holds
    its server's process id, so that those of servers that could not remove theirs (killed, crashed) are removed
    here: otherwise every such stop leaves a whole store in the temporary folder."""
    import shutil

    for old in Path(tempfile.gettempdir()).glob(SCRATCH_PREFIX + "*"):
        try:
            pid = int((old / "pid").read_text())
        except (OSError, ValueError):
            continue  # not a server's (or one just being made)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except PermissionError:
            pass  # alive, another user's
    scratch = tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX)
    (Path(scratch.name) / "pid").write_text(str(os.getpid()))
    return scratch


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from ekb.api import create_app
    from ekb.api.server import http_protocol

    settings = _settings(args)
    scratch = None
    if not settings.store_dir and not settings.endpoint:  # query processes read snapshots: they need files
        scratch = scratch_store()
        settings.store_dir = Path(scratch.name) / "store"
    kb = _kb_open(settings)
    for action in kb.recover():
        err_console.print(f"recovered: {action}", markup=False)
    if kb.interrupted_load() and not args.reload_model:
        raise StoreUnavailable(f"the store in {settings.store_dir} holds an interrupted load and is not served: run "
                               f"`ekb load --store {settings.store_dir}` (or serve with --reload-model) to complete it")
    if args.reload_model or kb.is_empty():
        _run_load(kb)
    kb.start_workers(Limits(fast_workers=args.query_workers, max_long=args.max_long_queries,
                            memory_bytes=args.query_memory * 1024 ** 2,
                            isolate_network=not settings.allowed_service_hosts))  # SERVICE needs a network
    if not kb.is_empty():
        kb.prepare_report(lambda line: err_console.print(line, markup=False, soft_wrap=True))
    err_console.print(f"ekb serving on http://{args.host}:{args.port}/ as {kb.settings.base_url}/ (docs at /docs)",
                      markup=False)
    uvicorn.run(create_app(kb), host=args.host, port=args.port, log_level="warning",
                # Headers must arrive within --header-timeout and may not exceed 16 KiB; an idle keep-alive
                # connection is closed after 5 s; past --max-connections, new requests get 503.
                http=http_protocol(args.header_timeout), timeout_keep_alive=5, h11_max_incomplete_event_size=16 * 1024,
                limit_concurrency=args.max_connections, timeout_graceful_shutdown=10)
    kb.close()
    if scratch:
        scratch.cleanup()


def cmd_load(args: argparse.Namespace) -> None:
    kb = _kb_open(_settings(args))
    kb.recover()
    _run_load(kb, drop_unmanaged=args.drop_api_graphs)
    _print_counts(kb)
    kb.close()


def cmd_stats(args: argparse.Namespace) -> None:
    kb = _open(args)
    _print_counts(kb)
    kb.close()


def _print_counts(kb: KnowledgeBase) -> None:
    counts = kb.counts()
    table = Table("graph", "triples", title=f"ekb store ({kb.backend})")
    for graph, count in counts.items():
        table.add_row(graph, f"{count:,}")
    table.add_row("[b]total[/b]", f"[b]{sum(counts.values()):,}[/b]")
    out_console.print(table)


def named_parameters(extra: list[str]) -> dict[str, str]:
    """`--name value` or `--name=value` pairs after a curated query's name."""
    values: dict[str, str] = {}
    items = iter(extra)
    for item in items:
        if not item.startswith("--"):
            raise InputError(f"unexpected argument {item!r}: give parameters as --name value")
        name, _, value = item[2:].partition("=")
        if not _:
            value = next(items, None)
            if value is None:
                raise InputError(f"parameter --{name} needs a value")
        values[name] = value
    return values


def cmd_query(args: argparse.Namespace) -> None:
    text = args.query
    kb = _open(args)
    if text in kb.library.queries:
        text = kb.library.get(text).bind(named_parameters(args.extra))
    elif args.extra:
        raise InputError(f"unexpected arguments {' '.join(args.extra)} (parameters are for curated queries: "
                         f"{', '.join(kb.library.queries)})")
    elif text.endswith(".rq") or (len(text) < 4096 and Path(text).is_file()):
        path = Path(text)
        if not path.is_file():
            raise InputError(f"no such query file: {path}")
        text = path.read_text(encoding="utf-8")
    if args.format == "table":
        _print_table(kb, text)
    else:
        solution = by_name(args.format, SOLUTION_FORMATS) or SOLUTION_FORMATS[0]
        graph = by_name(args.format, GRAPH_FORMATS) or GRAPH_FORMATS[0]
        if not (by_name(args.format, SOLUTION_FORMATS) or by_name(args.format, GRAPH_FORMATS)):
            raise InputError(f"unknown --format {args.format!r}")
        answer = kb.sparql(text, solution, graph)
        sys.stdout.buffer.write(answer.body)
        if not answer.body.endswith(b"\n"):
            sys.stdout.buffer.write(b"\n")
    kb.close()


def _print_table(kb: KnowledgeBase, text: str) -> None:
    answer = kb.sparql(text)
    if answer.kind == "graph":
        sys.stdout.write(answer.body.decode("utf-8"))
        return
    import pyoxigraph as ox

    results = ox.parse_query_results(answer.body, format=ox.QueryResultsFormat.JSON)
    if isinstance(results, ox.QueryBoolean):
        out_console.print("true" if bool(results) else "false")
        return
    names = [v.value for v in results.variables]
    table = Table(*names)
    rows = 0
    for row in results:
        table.add_row(*[_show(row[n]) for n in names])
        rows += 1
    out_console.print(table)
    err_console.print(f"{rows} row{'s' if rows != 1 else ''}")


def _show(term) -> str:
    if term is None:
        return ""
    return term.value if not hasattr(term, "datatype") else term.value


def cmd_export(args: argparse.Namespace) -> None:
    import json


    table = GRAPH_FORMATS + DATASET_FORMATS
    name = args.format or ("turtle" if args.graph else "trig")
    fmt = by_name(name, table)
    if fmt is None:
        raise InputError(f"unknown export format {name!r}; choose one of {', '.join(f.name for f in table)}")
    if args.kind and fmt.name != "jsonld":
        raise InputError("--kind goes with --format jsonld")
    if args.graph is None and not fmt.engine.supports_datasets and fmt.name != "jsonld":
        err_console.print(f"note: {fmt.name} has no graph names; all graphs are merged")
    kb = _open(args)
    if fmt.name == "jsonld" and args.graph is None:
        body = json.dumps(kb.export_document(args.kind, args.context_url), indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    else:
        body = kb.export(fmt, args.graph)
    if args.output:
        args.output.write_bytes(body)
        err_console.print(f"wrote {len(body):,} bytes to {args.output}")
    else:
        sys.stdout.buffer.write(body)
    kb.close()


GATE_FAILED = 3


def cmd_import(args: argparse.Namespace) -> None:
    import pyoxigraph as ox

    from ekb.config import DATA_GRAPH_PREFIX
    from ekb.errors import GateRefused
    from ekb.linked_data import parse_import

    if not args.file.is_file():
        raise InputError(f"no such file: {args.file}")
    triples, described = parse_import(args.file.read_bytes(), str(args.file))
    graph = ox.NamedNode(args.graph or f"{DATA_GRAPH_PREFIX}imported/{args.file.stem}")
    kb = _open(args)
    if not (args.store or args.endpoint):
        err_console.print("note: the store is in memory; use --store DIR or --endpoint URL to keep the import")
    try:
        result = kb.import_triples(graph.value, triples, described, replace=args.replace)
    except GateRefused as refused:
        for finding in refused.details["newViolations"]:
            err_console.print("  - " + finding["sentence"], markup=False)
        raise
    for finding in result.new_findings:
        err_console.print("  - " + finding.sentence, markup=False)
    err_console.print(f"imported {len(triples)} triples into {graph.value}")
    kb.close()


def cmd_validate(args: argparse.Namespace) -> int:
    from ekb.loader import parse_file
    from ekb.report import render
    from ekb.validation import engine_named, validate_files

    engine = engine_named(args.engine) if args.engine else None
    if args.files and args.engine == "sparql":
        raise InputError("--engine sparql runs the shapes in a store; files are validated as written by "
                         "pyshacl-turbo (the default) or pyshacl")
    if args.history:
        kb = _kb_open(_settings(args))
        table = Table("run", "started", "violations", "warnings", "infos", "triples", title="governance history")
        for run in kb.history():
            table.add_row(run["run"].rsplit("/", 1)[-1], run["started"], str(run["violations"]), str(run["warnings"]),
                          str(run["infos"]), f"{run['triples']:,}")
        out_console.print(table)
        return 0
    if args.files:
        settings = _settings(args)
        shapes_files = args.shapes or sorted(settings.shapes_dir.glob("*.ttl"))
        data = [t for path in args.files for t in parse_file(path, str(path))]
        shapes = [t for path in shapes_files for t in parse_file(path, str(path))]
        report = validate_files(data, shapes, engine)
    else:
        kb = _open(args)
        report = kb.validate(record=args.record, engine=engine)
        kb.close()
    body = render(report, args.format, args.group_by)
    if args.output:
        args.output.write_text(body, encoding="utf-8")
        err_console.print(f"wrote the {args.format} report to {args.output}")
    else:
        sys.stdout.write(body)
    if report.fails(args.fail_on):
        err_console.print(f"governance gate failed (--fail-on {args.fail_on}): {report.counts}", markup=False)
        return GATE_FAILED
    return 0


def cmd_changes(args: argparse.Namespace) -> None:
    """Print each change after --after as one JSON line (its `number` is the cursor to resume from)."""
    import json
    import time

    import httpx

    cursor = args.after
    with httpx.Client(timeout=60.0) as client:
        while True:
            try:
                response = client.get(f"{args.url.rstrip('/')}/changes", params={"after": cursor, "size": 500})
            except httpx.HTTPError as err:
                raise StoreUnavailable(f"cannot reach {args.url}: {err}") from None
            if response.status_code != 200:
                raise InputError(f"{args.url} answered {response.status_code}: "
                                 f"{response.json().get('message', response.text[:300])}")
            page = response.json()
            for item in page["items"]:
                sys.stdout.write(json.dumps(item, ensure_ascii=False) + "\n")
            sys.stdout.flush()
            cursor = page["cursor"]
            if "next" in page:
                continue
            if not args.follow:
                return
            time.sleep(args.interval)


COMMANDS = {"serve": cmd_serve, "load": cmd_load, "query": cmd_query, "export": cmd_export, "stats": cmd_stats,
            "validate": cmd_validate, "import": cmd_import, "changes": cmd_changes}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "query":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return COMMANDS[args.command](args) or 0
    except EkbError as err:
        err_console.print(f"ekb {args.command}: error: {err}", markup=False)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
