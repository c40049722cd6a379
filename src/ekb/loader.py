"""The load pipeline: files -> staging graphs -> reasoning -> one atomic swap into the live graphs.

Every file is parsed into a staging graph of its own run, the entailments are computed from the staged
ontology and data, and a single SPARQL Update moves everything onto the live graph names (on a remote engine,
a graph the store does not hold yet is written under its own name: `Store.writes_new_graphs_in_place`). A
malformed file or a failed step drops the staging graphs (and those new graphs) and leaves the live graphs
exactly as they were; the engine parses and serialises, so no step turns every triple into a Python object.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox
import rdflib

from ekb import rules_in_engine, rules_in_process
from ekb.config import (
    BASE_IRI,
    DATA_GRAPH_PREFIX,
    INFERRED_GRAPH,
    LOAD_MANIFEST_GRAPH,
    ONTOLOGY_GRAPH,
    RDF_TYPE,
    SHAPES_GRAPH,
    STAGING_PREFIX,
    Settings,
)
from ekb.errors import InputError, RdfSyntaxError, StoreUnavailable
from ekb.formats import DATASET_FORMATS, GRAPH_FORMATS, by_name, for_file
from ekb.limits import check_rdf_limits
from ekb.literals import Rewrite
from ekb.reasoning import Reasoner, materialise, reasoner_named
from ekb.store import NTRIPLES, Store, clean_parser_message, engine_input
from ekb.terms import triple_to_ox

# In the load manifest, each data graph the last load wrote from a file is an sd:NamedGraph.
MANIFEST_ENTRY = "http://www.w3.org/ns/sparql-service-description#NamedGraph"
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"
RDF_SUFFIXES = {".ttl", ".nt", ".n3", ".rdf", ".owl", ".xml", ".jsonld", ".json", ".trig", ".nq", ".trix", ".hext"}
# Protégé's XML catalog (ontology/catalog-v001.xml) maps import IRIs to files: it is not RDF.
NOT_RDF = {"catalog-v001.xml"}
Progress = Callable[[str], None]


@dataclass(frozen=True)
class SourceFile:
    path: Path
    kind: str  # "ontology", "shapes" or "data"
    graph: str


@dataclass
class LoadReport:
    graphs: dict[str, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # data graphs no file holds, written through the API
    seconds: float = 0.0
    reasoner: str = ""
    # file (as shown, relative to the project) -> the literals the store keeps in another form (ekb.literals)
    rewritten: dict[str, list[Rewrite]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # graphs whose files and content were as the last load left them
    reasoned: bool = True  # whether the entailments were recomputed (not when no premise graph changed)


def data_graph_name(relative: Path) -> str:
    """A stable graph IRI for a data file: its path under data/, without the suffix."""
    slug = re.sub(r"[^A-Za-z0-9/_.-]+", "-", relative.with_suffix("").as_posix()).strip("-")
    return DATA_GRAPH_PREFIX + slug


def discover(settings: Settings) -> list[SourceFile]:
    sources: list[SourceFile] = []
    for kind, folder in (("ontology", settings.ontology_dir), ("shapes", settings.shapes_dir),
                         ("data", settings.data_dir)):
        if not folder.is_dir():
            raise InputError(f"missing folder: {folder} (expected ontology/, shapes/ and data/ under {settings.root})")
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in RDF_SUFFIXES
                                and p.name not in NOT_RDF):
            graph = {"ontology": ONTOLOGY_GRAPH, "shapes": SHAPES_GRAPH}.get(kind) or data_graph_name(
                path.relative_to(folder))
            sources.append(SourceFile(path, kind, graph))
    return sources


def read_source(path: Path, label: str) -> tuple[bytes | Path, ox.RdfFormat]:
    """A file in a syntax the engine parses: the file itself (the engine streams it), or its content converted
    by rdflib for other syntaxes."""
    fmt = for_file(path.name) or (for_file("x.jsonld") if path.suffix.lower() == ".json" else None)
    if fmt is not None:
        return path, fmt.engine
    try:
        graph = rdflib.Dataset()
        graph.parse(str(path), format=rdflib.util.guess_format(str(path)), publicID=BASE_IRI)
    except Exception as err:  # rdflib raises many unrelated types for bad input
        raise RdfSyntaxError(label, str(err), getattr(err, "lineno", None)) from err
    triples = [t for t in (triple_to_ox(s, p, o) for s, p, o, _ in graph.quads()) if t is not None]
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), ox.RdfFormat.N_TRIPLES


def parse_file(path: Path, label: str | None = None) -> list[ox.Triple]:
    """Any RDF file as triples (for tools and tests; the pipeline itself never materialises them)."""
    label = label or str(path)
    data, fmt = read_source(path, label)
    try:
        return [q.triple for q in ox.parse(**engine_input(data), format=fmt, base_iri=BASE_IRI)]
    except SyntaxError as err:
        raise RdfSyntaxError(label, clean_parser_message(err.msg), err.lineno, err.offset) from None
    except (ValueError, OSError) as err:
        raise RdfSyntaxError(label, str(err)) from None


def parse_bytes(data: bytes, media_type: str, source: str, base_iri: str = BASE_IRI) -> list[ox.Triple]:
    """Parse an uploaded document of a known media type, its relative IRIs against `base_iri`. The input
    limits of its syntax (nesting, XML entities) are checked first: the engine's parsers must never see a
    document built to crash or exhaust them."""
    fmt = by_name(media_type, GRAPH_FORMATS) or by_name(media_type, DATASET_FORMATS)
    if fmt is None:
        raise InputError(f"unsupported RDF media type: {media_type}")
    check_rdf_limits(data, fmt.engine, source)
    try:
        return [q.triple for q in ox.parse(data, format=fmt.engine, base_iri=base_iri)]
    except SyntaxError as err:
        raise RdfSyntaxError(source, clean_parser_message(err.msg), err.lineno, err.offset) from None


PREMISES = """CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH {graph} {{ ?s ?p ?o }}
  FILTER(!isLiteral(?o) || STRSTARTS(STR(?s), "http://www.w3.org/") || STRSTARTS(STR(?s), "{ontology}")) }}"""


def premise_ntriples(store: Store, graph: str) -> bytes:
    """What the reasoner needs from a graph: every link between resources, and the ontology's axioms.

    Literal-valued facts about individuals (readings, amounts, labels: most of a large graph) are left out:
    under the ontology they only re-derive types the shapes already require to be asserted, so reasoning
    over them costs time and adds nothing a user queries."""
    query = PREMISES.format(graph=ox.NamedNode(graph), ontology=BASE_IRI + "def/")
    return store.query(query, graph_format=NTRIPLES).body


def infer_into(store: Store, premises: Iterable[str], target: str, reasoner: Reasoner,
               asserted: Iterable[str] = (), into: Store | None = None) -> str:
    """Materialise OWL 2 RL over the `premises` graphs into the (empty) graph `target` (of `into`, by default
    the same store), keeping only what is useful and asserted neither in the premises nor in the `asserted`
    graphs (the engine does that set difference, which stays small: it only touches the entailments). Returns
    the name of what made the entailments (see `entail`)."""
    made_by = entail([(store, g) for g in premises], target, into or store, reasoner)
    asserted = ", ".join(str(ox.NamedNode(g)) for g in asserted)
    if asserted:
        if into is not None and into is not store:
            raise ValueError("asserted graphs must be in the store that receives the entailments")
        store.update(f"""DELETE {{ GRAPH <{target}> {{ ?s ?p ?o }} }}
                         WHERE {{ GRAPH <{target}> {{ ?s ?p ?o }} GRAPH ?g {{ ?s ?p ?o }} FILTER(?g IN ({asserted})) }}""")
    return made_by


def entail(premises: Sequence[tuple[Store, str]], target: str, into: Store, reasoner: Reasoner,
           progress: Progress = lambda _: None) -> str:
    """The useful OWL 2 RL entailments of the premise graphs (each named with the store that holds it) into the
    empty graph `target` of `into`; returns the name of what made them. Where `into` is a remote engine that
    holds every premise, `reasonable`'s rules run there as SPARQL updates (ekb.rules_in_engine: the same
    entailments, and only the schema and counts cross the wire); otherwise, or when the premises use vocabulary
    those rules do not implement, the premises are read into this process and reasoned over by `reasoner`."""
    graphs = [g for where, g in premises if where is into]
    if len(graphs) == len(premises) and rules_in_engine.runs_in(into, reasoner.name):
        if (sent := into.lines_sent(graphs)) is not None:
            try:  # every premise was just sent from this process: no engine does the rules faster
                progress(f"the rules run over the premises just sent ({rules_in_process.NAME}, the same "
                         f"entailments as {reasoner.name})")
                for part in rules_in_process.entailments(sent):  # each sent while the next is computed
                    into.load_graph(target, part, ox.RdfFormat.N_TRIPLES, "entailments")
                return rules_in_process.NAME
            except rules_in_engine.NotCovered as err:
                progress(f"{err}: the rules run in the engine instead")
        into.wait_for_writes()  # a chunk that failed is that, not the engine refusing a rule (caught below)
        try:
            progress(f"the rules run in the engine ({rules_in_engine.NAME}, the same entailments as {reasoner.name})")
            rules_in_engine.materialise(into, graphs, target)
            return rules_in_engine.NAME
        except rules_in_engine.NotCovered as err:
            progress(f"{err}: reasoning over the premises in this process instead ({reasoner.name})")
        except StoreUnavailable as err:  # e.g. Virtuoso refusing a rule on its cost estimate: the same result, slower
            progress(f"the engine refused an in-engine rule ({err}): reasoning over the premises in this process "
                     f"instead ({reasoner.name})")
            drop_graphs(into, [g for g in into.graphs()
                               if g == target or g.startswith(rules_in_engine.helper_prefix(target))])
    lines = materialise(b"".join(premise_ntriples(where, g) for where, g in premises), reasoner)
    into.load_graph(target, "".join(lines).encode("utf-8"), ox.RdfFormat.N_TRIPLES, "entailments")
    return reasoner.name


def staging_name(run: str, graph: str) -> str:
    return f"{STAGING_PREFIX}{run}/{hashlib.sha1(graph.encode()).hexdigest()[:16]}"


def drop_staging(store: Store, run: str | None = None) -> None:
    """Staging graphs of `run` (of any run: what a crashed load left behind), and the in-engine rules' helpers."""
    prefix = STAGING_PREFIX + (f"{run}/" if run else "")
    drop_graphs(store, [g for g in store.graphs() if g.startswith((prefix, rules_in_engine.HELPERS))])


def drop_graphs(store: Store, graphs: Sequence[str]) -> None:
    if graphs:
        store.update(" ;\n".join(f"DROP SILENT GRAPH {ox.NamedNode(g)}" for g in graphs))


def loaded_graphs(store: Store) -> set[str]:
    """The data graphs the last load wrote from files (its manifest)."""
    if LOAD_MANIFEST_GRAPH not in store.graphs():
        return set()
    rows = store.select(f"SELECT ?g WHERE {{ GRAPH <{LOAD_MANIFEST_GRAPH}> {{ ?g a <{MANIFEST_ENTRY}> }} }}")
    return {row["g"].value for row in rows}


def manifest_ntriples(graphs: Iterable[str], records: dict[str, Record] | None = None, reasoner: str = "") -> bytes:
    entry = ox.NamedNode(MANIFEST_ENTRY)
    kind = ox.NamedNode(RDF_TYPE)
    triples = [ox.Triple(ox.NamedNode(g), kind, entry) for g in sorted(graphs)]
    for g, record in sorted((records or {}).items()):
        triples += [ox.Triple(ox.NamedNode(g), ox.NamedNode(TRIPLES), ox.Literal(str(record.triples),
                                                                                  datatype=ox.NamedNode(XSD_INTEGER))),
                    ox.Triple(ox.NamedNode(g), ox.NamedNode(DIGEST), ox.Literal(record.content))]
        if record.sources:
            triples.append(ox.Triple(ox.NamedNode(g), ox.NamedNode(DERIVED_FROM), ox.NamedNode(record.sources)))
    if reasoner and triples:  # a project with no file leaves the manifest empty: nothing of it to protect
        triples.append(ox.Triple(ox.NamedNode(INFERRED_GRAPH), ox.NamedNode(CREATOR), ox.Literal(reasoner)))
    return ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)


def load(store: Store, settings: Settings, progress: Progress = lambda _: None,
         drop_unmanaged: bool = False, trust_manifest: bool = True) -> LoadReport:
    """Load ontology/, shapes/ and data/ and their entailments; replace what a previous load wrote.

    A data graph that no file holds is dropped only if the previous load wrote it (a file was removed);
    graphs written through the API are kept, unless `drop_unmanaged` says to drop them too.

    What a reload promises: afterwards every graph a file holds is exactly what its files say, and the entailments
    are those of the whole store. A graph is not parsed again when its files and its content are as the last load
    left them (`Record`): it is reloaded when its files changed, and also when a write changed it since: a write
    through the knowledge base notes what it may change before it changes it (`note_write`): for each triple of a
    recorded graph, whether the graph held it at the last load, so the reload asks only whether each such graph
    still holds exactly those it held; a write whose triples are not known that way has the content of its graphs
    (or of every graph) compared by digest; a write that bypasses it is seen when it changes a graph's triple
    count. Entailments are recomputed
    (in full) only when a premise graph (ontology or data) is reloaded or dropped, a graph written through the API
    is not as the last load saw it, or the reasoner changed: so a reload that changes nothing parses, compares and
    reasons over nothing. After an interrupted load (`trust_manifest` false) nothing the manifest says is trusted:
    the store may hold the new manifest without the entailments that should follow it, so everything is redone."""
    started = time.perf_counter()
    sources = discover(settings)
    reasoner = reasoner_named(settings.reasoner)
    drop_staging(store)  # what a crashed load may have left behind
    run = uuid.uuid4().hex[:12]
    previous = loaded_graphs(store)
    records, entailed_by, writes = recorded_state(store) if trust_manifest else ({}, "", Writes(everything=True))
    written = writes.any()
    counts = store.counts()
    by_graph: dict[str, list[SourceFile]] = {}
    for source in sources:
        by_graph.setdefault(source.graph, []).append(source)
    now = {g: Record(files_digest(files, settings.root)) for g, files in by_graph.items()}
    unchanged = sorted(g for g in by_graph if is_unchanged(store, g, now[g].sources, records.get(g), counts, writes))
    from_files = sorted(g for g in by_graph if g.startswith(DATA_GRAPH_PREFIX))
    unmanaged = [g for g in counts if g.startswith(DATA_GRAPH_PREFIX) and g not in by_graph]
    stale = [g for g in unmanaged if g in previous or drop_unmanaged]
    kept = [g for g in unmanaged if g not in stale]
    changed = [g for g in by_graph if g not in unchanged]
    kept_changed = [g for g in kept if not is_unchanged(store, g, "", records.get(g), counts, writes)]
    for g in unchanged:
        now[g] = records[g]
        progress(f"unchanged since the last load: {g}")
    for g in kept:  # written through the API: the entailments must cover them, reasoned over again if they changed
        now[g] = Record("", counts[g], content_digest(store, g)) if g in kept_changed else records[g]
    # a store reasoned over by another implementation of the same rules (ekb.rules_in_engine) need not be again
    same = rules_in_engine.SAME_ENTAILMENTS if reasoner.name in rules_in_engine.SAME_ENTAILMENTS else {reasoner.name}
    reasoned = bool([g for g in changed + stale if g != SHAPES_GRAPH] + kept_changed) or entailed_by not in same
    made_by = entailed_by  # what made the entailments the store keeps; replaced below when they are made again
    if not (changed or stale or reasoned) and sorted(previous) == from_files:
        if written:  # every graph found as the last load left it: what the writes noted is forgotten, in place
            manifest = ox.NamedNode(LOAD_MANIFEST_GRAPH)
            store.update(f"""DELETE {{ GRAPH {manifest} {{ ?w ?noted ?what }} }} WHERE {{ GRAPH {manifest} {{
                ?w ?noted ?what FILTER(?noted IN (<{MODIFIED}>, <{HELD}>, <{NOT_HELD}>)) }} }}""")
        return LoadReport(graphs=counts, kept=kept, seconds=time.perf_counter() - started, reasoner=made_by,
                          skipped=unchanged, reasoned=False)
    files: dict[str, tuple[Path, ox.RdfFormat] | None] = {}  # the one file a graph comes from, if one
    rewritten: dict[str, list[Rewrite]] = {}
    with store.staging_area() as stage:
        in_place: list[str] = []  # graphs new to the store, written under their own names

        def staging(graph: str) -> str:
            if stage is store and graph not in counts and stage.writes_new_graphs_in_place:
                in_place.append(graph)
                name = graph
            else:
                name = staging_name(run, graph)
            stage.begin_filling(name)
            return name

        staged = {g: staging(g) for g in changed}
        try:
            to_parse = [source for source in sources if source.graph in staged]
            for number, source in enumerate(to_parse, 1):
                label = str(source.path.relative_to(settings.root))
                progress(f"[{number}/{len(to_parse)}] parsing {label}")
                data, fmt = read_source(source.path, label)
                if rewrites := stage.load_file(staged[source.graph], data, fmt, label):
                    rewritten[label] = rewrites
                files[source.graph] = (data, fmt) if source.graph not in files and isinstance(data, Path) else None
            if reasoned:
                progress(f"reasoning (OWL 2 RL, {reasoner.name}) over the ontology and data")
                staged[INFERRED_GRAPH] = staging(INFERRED_GRAPH)
                premises = [(stage, staged[g]) for g in changed if g != SHAPES_GRAPH]
                premises += [(store, g) for g in unchanged + kept if g != SHAPES_GRAPH]
                made_by = entail(premises, staged[INFERRED_GRAPH], stage, reasoner, progress)
            for g in changed:  # what is installed: the stage holds exactly that (after the reasoning, which a
                # remote engine's upload of the files may still be storing: `UploadQueue`)
                now[g] = Record(now[g].sources, stage.count(staged[g]), content_digest(stage, staged[g]))
            staged[LOAD_MANIFEST_GRAPH] = staging(LOAD_MANIFEST_GRAPH)  # the last graph written
            stage.load_graph(staged[LOAD_MANIFEST_GRAPH], manifest_ntriples(from_files, now, made_by),
                             ox.RdfFormat.N_TRIPLES, "manifest")
            stage.wait_for_writes()  # every chunk stored, or the load fails here
            progress(f"installing {len(staged)} graphs")
            store.install(stage, {g: s for g, s in staged.items() if s != g}, drop=stale,
                          files={g: f for g, f in files.items() if f})
        except BaseException:
            with contextlib.suppress(Exception):  # a chunk that failed too: second to what is raised
                stage.wait_for_writes()
            drop_graphs(stage, in_place)  # absent before this load: the store is left as it was
            drop_staging(stage, run)
            raise
    return LoadReport(graphs=store.counts(), dropped=stale, kept=kept, seconds=time.perf_counter() - started,
                      reasoner=made_by, rewritten=rewritten, skipped=unchanged, reasoned=reasoned)


# ------------------------------------------------------------------------------------------ what the last load left
# The manifest keeps, for each graph the load wrote or kept, a digest of its files (`prov:wasDerivedFrom` an RFC 6920
# `ni:` name), its triple count (`void:triples`) and a digest of its content (`schema:sha256`); the reasoner that
# made the entailments (`dcterms:creator` of the inferred graph); and what writes through the knowledge base
# changed since (`note_write`): for each triple a write added to or removed from a recorded graph, whether that graph
# held it at the last load (`<g> HELD "<s> <p> <o>"` or `<g> NOT_HELD ...`, from the first write that touched it); a
# graph written in a way not known triple by triple, the time of that write (`dcterms:modified` of the graph); a
# write not known by graph, the time of the first such write (`dcterms:modified` of the manifest itself).
DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"
TRIPLES = "http://rdfs.org/ns/void#triples"
DIGEST = "http://schema.org/sha256"
CREATOR = "http://purl.org/dc/terms/creator"
MODIFIED = "http://purl.org/dc/terms/modified"
HELD = "urn:ekb:load-manifest#heldAtLoad"
NOT_HELD = "urn:ekb:load-manifest#notHeldAtLoad"
BLANK_LABEL = re.compile(rb"_:[A-Za-z0-9_.-]+")
JOURNAL_MAX = 1000  # triples of one write noted one by one; a larger write has its graphs compared in full
CHECK_BATCH = 1000  # noted triples looked up per query at a reload


@dataclass(frozen=True)
class Record:
    sources: str  # the digest of the files the graph is loaded from ("" for a graph written through the API)
    triples: int = -1
    content: str = ""


@dataclass
class Writes:
    """What the manifest says writes through the knowledge base changed since the last load (`note_write`)."""

    everything: bool = False  # a write not known by graph: every graph's content is compared
    graphs: set[str] = field(default_factory=set)  # graphs written in a way not known triple by triple
    noted: dict[str, dict[str, bool]] = field(default_factory=dict)  # graph -> triple -> held at the last load
    _moved: set[str] | None = None  # the graphs of `noted` that no longer hold exactly what they held

    def any(self) -> bool:
        return self.everything or bool(self.graphs or self.noted)

    def moved(self, store: Store) -> set[str]:
        """The noted graphs where some noted triple is not as it was at the last load (looked up once)."""
        if self._moved is None:
            self._moved = moved_graphs(store, self.noted)
        return self._moved


def is_unchanged(store: Store, graph: str, sources: str, record: Record | None, counts: dict[str, int],
                 writes: Writes) -> bool:
    """Whether `graph` is as the last load left it: same files, same triple count and, when a write came since,
    the same content: each triple the writes noted held as at the last load, or, where a write was not noted
    triple by triple, the same content digest (the one check that reads the whole graph; a store that records
    none, `Store.digest_ntriples`, has the graph loaded again)."""
    if record is None or record.sources != sources or counts.get(graph, 0) != record.triples:
        return False
    if writes.everything or graph in writes.graphs:
        return bool(record.content) and content_digest(store, graph) == record.content
    return graph not in writes.noted or graph not in writes.moved(store)


def moved_graphs(store: Store, noted: dict[str, dict[str, bool]]) -> set[str]:
    """The graphs of `noted` where a noted triple is held now and was not at the last load, or the reverse."""
    entries = [(g, line, held) for g, lines in noted.items() for line, held in lines.items()]
    moved: set[str] = set()
    for start in range(0, len(entries), CHECK_BATCH):
        batch = entries[start:start + CHECK_BATCH]
        try:  # the lines were written by `note_write`; parsed again, so nothing but terms reaches the query
            triples = [q.triple for q in ox.parse("".join(f"{line} .\n" for _, line, _ in batch),
                                                   format=ox.RdfFormat.N_TRIPLES)]
        except (SyntaxError, ValueError):
            moved |= {g for g, _, _ in batch}
            continue
        if len(triples) != len(batch):
            moved |= {g for g, _, _ in batch}
            continue
        rows = " ".join(f"({ox.NamedNode(g)} {t.subject} {t.predicate} {t.object} {number})"
                        for number, ((g, _, _), t) in enumerate(zip(batch, triples, strict=True)))
        held_now = {int(row["n"].value) for row in store.select(
            f"SELECT ?n WHERE {{ VALUES (?g ?s ?p ?o ?n) {{ {rows} }} GRAPH ?g {{ ?s ?p ?o }} }}")}
        moved |= {g for number, (g, _, held) in enumerate(batch) if (number in held_now) != held}
    return moved


def files_digest(files: list[SourceFile], root: Path) -> str:
    """What a graph is loaded from, each file's path (under the project) and bytes, as an RFC 6920 name."""
    digest = hashlib.sha256()
    for source in sorted(files, key=lambda f: f.path):
        digest.update(str(source.path.relative_to(root)).encode() + b"\0")
        with open(source.path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        digest.update(b"\0")
    return "ni:///sha-256;" + base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def content_digest(store: Store, graph: str) -> str:
    """A digest of a graph's triples: its N-Triples lines sorted, blank node labels left out (a graph parsed again
    gets new ones; so a write that only exchanges one blank node for another in equal triples goes unseen)."""
    body = store.digest_ntriples(graph)
    if body is None:  # not worth its cost in this store: "" never equals a digest
        return ""
    digest = hashlib.sha256()
    for line in sorted((BLANK_LABEL.sub(b"_:", body) if b"_:" in body else body).splitlines()):
        digest.update(line + b"\n")
    return digest.hexdigest()


def recorded_state(store: Store) -> tuple[dict[str, Record], str, Writes]:
    """(what the last load recorded per graph, the reasoner of the entailments, what writes changed since)."""
    rows = store.select(f"""SELECT ?g ?sources ?n ?digest ?creator ?modified ?w ?held ?line WHERE {{
        GRAPH <{LOAD_MANIFEST_GRAPH}> {{
        {{ ?g <{TRIPLES}> ?n ; <{DIGEST}> ?digest OPTIONAL {{ ?g <{DERIVED_FROM}> ?sources }} }}
        UNION {{ <{INFERRED_GRAPH}> <{CREATOR}> ?creator }} UNION {{ ?w <{MODIFIED}> ?modified }}
        UNION {{ ?w ?held ?line FILTER(?held IN (<{HELD}>, <{NOT_HELD}>)) }} }} }}""")
    records = {row["g"].value: Record(row["sources"].value if "sources" in row else "", int(row["n"].value),
                                      row["digest"].value) for row in rows if "g" in row}
    creator = next((row["creator"].value for row in rows if "creator" in row), "")
    writes = Writes()
    for row in rows:
        if "modified" in row:
            if row["w"].value == LOAD_MANIFEST_GRAPH:
                writes.everything = True
            else:
                writes.graphs.add(row["w"].value)
        elif "held" in row:
            writes.noted.setdefault(row["w"].value, {})[row["line"].value] = row["held"].value == HELD
    return records, creator, writes


def note_write(store: Store, quads: Iterable[ox.Quad] | None = None, removed: Iterable[ox.Triple] = ()) -> None:
    """Before a write through the knowledge base: what it may change, for the next load to check (nothing, where
    the last load recorded no graph). `quads`: the triples it adds to or removes from a graph, each with that
    graph; `removed`: triples it removes from whichever graphs hold them. For each of those triples, in each
    recorded graph, the manifest keeps whether the graph held it at the last load (the first time a write since
    touches it; a write that fails after this noted only what held). The graphs of a triple with a blank node, and
    of a write of more than `JOURNAL_MAX` triples, are marked to have their content compared in full instead;
    without `quads`, or with a blank node among `removed`, the content of every graph is (the write is not known
    by graph)."""
    manifest = ox.NamedNode(LOAD_MANIFEST_GRAPH)
    if quads is not None:
        quads, removed = list(quads), list(removed)
        if not any(map(_has_blank, removed)):
            if len(quads) + len(removed) <= JOURNAL_MAX:
                _note_triples(store, quads, removed)
                return
            graphs = {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)}
            for start in range(0, len(removed), CHECK_BATCH):  # the graphs that hold what is removed
                rows = " ".join(f"({t.subject} {t.predicate} {t.object})" for t in removed[start:start + CHECK_BATCH])
                graphs |= {row["g"].value for row in store.select(
                    f"SELECT DISTINCT ?g WHERE {{ VALUES (?s ?p ?o) {{ {rows} }} GRAPH ?g {{ ?s ?p ?o }} }}")}
            values = " ".join(str(ox.NamedNode(g)) for g in sorted(graphs))
            store.update(f"""INSERT {{ GRAPH {manifest} {{ ?g <{MODIFIED}> ?now }} }} WHERE {{
                VALUES ?g {{ {values} }} GRAPH {manifest} {{ ?g <{TRIPLES}> ?n }}
                FILTER NOT EXISTS {{ GRAPH {manifest} {{ ?g <{MODIFIED}> ?t }} }} BIND(NOW() AS ?now) }}""")
            return
    store.update(f"""INSERT {{ GRAPH {manifest} {{ {manifest} <{MODIFIED}> ?now }} }} WHERE {{
        FILTER EXISTS {{ GRAPH {manifest} {{ ?g ?recorded ?what }} }}
        FILTER NOT EXISTS {{ GRAPH {manifest} {{ {manifest} <{MODIFIED}> ?t }} }} BIND(NOW() AS ?now) }}""")


def _has_blank(triple: ox.Triple) -> bool:
    return any(isinstance(term, ox.BlankNode | ox.Triple) for term in (triple.subject, triple.object))


def _note_triples(store: Store, quads: list[ox.Quad], removed: list[ox.Triple]) -> None:
    """`note_write` of a write known triple by triple (`removed` has no blank node)."""
    def line(t: ox.Triple) -> str:
        return str(ox.Literal(f"{t.subject} {t.predicate} {t.object}"))
    known = [q for q in quads if isinstance(q.graph_name, ox.NamedNode) and not _has_blank(q.triple)]
    blank = sorted({q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode) and _has_blank(q.triple)})
    if not (known or removed or blank):
        return
    manifest = ox.NamedNode(LOAD_MANIFEST_GRAPH)
    in_graph = " ".join(f"({q.graph_name} {q.subject} {q.predicate} {q.object} {line(q.triple)})" for q in known)
    anywhere = " ".join(f"({t.subject} {t.predicate} {t.object} {line(t)})" for t in removed)
    compared = " ".join(str(ox.NamedNode(g)) for g in blank)
    store.update(f"""INSERT {{ GRAPH {manifest} {{ ?g ?held ?line . ?w <{MODIFIED}> ?now }} }} WHERE {{
        {{ VALUES (?g ?s ?p ?o ?line) {{ {in_graph} }} }}
        UNION {{ VALUES (?s ?p ?o ?line) {{ {anywhere} }} GRAPH ?g {{ ?s ?p ?o }} }}
        UNION {{ VALUES ?w {{ {compared} }} BIND(?w AS ?g) FILTER NOT EXISTS {{ GRAPH {manifest} {{ ?w <{MODIFIED}> ?t }} }}
                 BIND(NOW() AS ?now) }}
        GRAPH {manifest} {{ ?g <{TRIPLES}> ?n }}
        FILTER(!BOUND(?line) || NOT EXISTS {{ GRAPH {manifest} {{ ?g <{HELD}>|<{NOT_HELD}> ?line }} }})
        BIND(IF(!BOUND(?line), ?unbound, IF(EXISTS {{ GRAPH ?g {{ ?s ?p ?o }} }}, <{HELD}>, <{NOT_HELD}>)) AS ?held) }}""")
