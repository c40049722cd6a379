"""The command line as a user runs it: real processes, exit codes, messages without tracebacks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, free_port
from tests.test_loader import make_project


def ekb(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ekb.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


COMMANDS = ("serve", "load", "query", "export", "stats", "validate", "import", "changes")


def test_help_lists_every_command():
    result = ekb("--help")
    assert result.returncode == 0
    listed = re.findall(r"^    (\w+)\s", result.stdout, re.MULTILINE)
    assert sorted(listed) == sorted(COMMANDS), "every command the README lists, and no other"
    for command in COMMANDS:
        own = ekb(command, "--help")
        assert own.returncode == 0 and own.stdout.startswith(f"usage: ekb {command}"), command


def test_the_command_module_stays_light_to_import():
    """`ekb serve`'s query workers and a load's reasoning workers are spawned, and a spawned process imports the
    parent's __main__ (this module) again before it can work: importing the knowledge base there cost each of them
    about 0.4 s of CPU, and made the server's first answer wait seconds on a busy machine."""
    code = "import sys, ekb.cli; print(sorted(m for m in ('ekb.kb', 'ekb.api', 'rdflib') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", f"ekb.cli imports {done.stdout.strip()}"


def test_load_then_stats_on_disk_is_idempotent(tmp_path):
    project = tmp_path / "project"
    make_project(project)
    store = str(tmp_path / "store")
    first = ekb("load", "--root", str(project), "--store", store)
    assert first.returncode == 0, first.stderr
    stats = ekb("stats", "--root", str(project), "--store", store)
    assert stats.returncode == 0
    for graph in ("graph/ontology", "graph/shapes", "graph/inferred", "graph/data/org/units"):
        assert graph in stats.stdout
    again = ekb("load", "--root", str(project), "--store", store)
    assert again.stdout == first.stdout


def test_broken_turtle_is_one_clear_line(tmp_path):
    project = tmp_path / "project"
    make_project(project)
    store = str(tmp_path / "store")
    assert ekb("load", "--root", str(project), "--store", store).returncode == 0
    before = ekb("stats", "--root", str(project), "--store", store).stdout
    (project / "data" / "bad.ttl").write_text("<http://e/a> <http://e/b> .\n")
    result = ekb("load", "--root", str(project), "--store", store)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "data/bad.ttl, line 1" in result.stderr
    assert ekb("stats", "--root", str(project), "--store", store).stdout == before


def test_query_formats(tmp_path):
    make_project(tmp_path)
    query = "SELECT ?o WHERE { <http://e/a> <http://e/hasPart> ?o }"
    as_json = ekb("query", query, "--root", str(tmp_path), "--format", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["results"]["bindings"][0]["o"]["value"] == "http://e/b"
    as_csv = ekb("query", query, "--root", str(tmp_path), "--format", "csv")
    assert as_csv.stdout.split() == ["o", "http://e/b"]
    table = ekb("query", query, "--root", str(tmp_path))
    assert "http://e/b" in table.stdout and "1 row" in table.stderr
    rq = tmp_path / "q.rq"
    rq.write_text("CONSTRUCT WHERE { ?s <http://e/partOf> ?o }")
    turtle = ekb("query", str(rq), "--root", str(tmp_path), "--format", "turtle")
    assert "<http://e/b> <http://e/partOf> <http://e/a>" in turtle.stdout


def test_bad_query_is_reported_without_traceback(tmp_path):
    make_project(tmp_path)
    result = ekb("query", "SELECT * WHERE { ?s ?p }", "--root", str(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "SPARQL syntax error: error at 1:" in result.stderr


def test_export_trig_keeps_graph_names(tmp_path):
    make_project(tmp_path)
    result = ekb("export", "--root", str(tmp_path), "--format", "trig")
    assert result.returncode == 0
    assert "graph/inferred" in result.stdout and "graph/data/org/units" in result.stdout


def test_unreachable_endpoint_is_one_line(tmp_path):
    result = ekb("stats", "--endpoint", f"http://127.0.0.1:{free_port()}/query")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "cannot reach the SPARQL server" in result.stderr


def test_missing_folder(tmp_path):
    result = ekb("load", "--root", str(tmp_path))
    assert result.returncode == 1 and "missing folder" in result.stderr


def test_serve_on_an_existing_store_answers_without_reloading(tmp_path):
    import os
    import signal
    import time

    import httpx

    project = tmp_path / "project"
    make_project(project)
    store = str(tmp_path / "store")
    assert ekb("load", "--root", str(project), "--store", store).returncode == 0
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "ekb.cli", "serve", "--root", str(project), "--store", store,
                               "--port", str(port)], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert health["backend"] == "embedded-disk" and health["triples"] > 0
    finally:
        os.kill(server.pid, signal.SIGTERM)
        _, stderr = server.communicate(timeout=20)
    assert "loaded" not in stderr and "ekb serving on" in stderr


def test_a_killed_servers_scratch_store_is_removed_by_the_next_server(tmp_path, monkeypatch):
    import tempfile

    from ekb import cli

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead, alive, foreign = (tmp_path / f"{cli.SCRATCH_PREFIX}{name}" for name in ("dead", "alive", "foreign"))
    for folder, pid in ((dead, gone.stdout.strip()), (alive, str(os.getpid())), (foreign, None)):
        (folder / "store").mkdir(parents=True)
        if pid:
            (folder / "pid").write_text(pid)
    scratch = cli.scratch_store()
    try:
        assert not dead.exists() and alive.exists() and foreign.exists()
        assert (Path(scratch.name) / "pid").read_text() == str(os.getpid())
    finally:
        scratch.cleanup()
