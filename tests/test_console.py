"""The console (issue 16): one real `ekb serve` on the shipped model, driven by Debian's Chromium (Playwright) for the
main views and by httpx for the crawl and the negotiation.

Every main view renders with no console error and no request to another host; a crawl from `/` finds no broken
link; the SPARQL console runs a SELECT and a CONSTRUCT into tables; the capability map has a box per L1 and L2
capability; the dashboard's counts are the JSON report's. Screenshots go to build/screenshots/."""

from __future__ import annotations

import json
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import httpx
import pyoxigraph as ox
import pytest

from ekb.api.queries import form_fields
from ekb.console import NAV, views
from ekb.library import parse_query_file
from tests.browser import chromium, watched_page
from tests.conftest import EkbServe

TOKEN = "console-test-token"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
PREFIXES = """PREFIX ekb: <https://kb.quantum-energy.example/def/core/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""
MAIN_VIEWS = {"home": "/", "capabilities": "/capabilities", "capabilities-by-owner": "/capabilities?measure=owner",
              "value-streams": "/value-streams", "information": "/information", "systems": "/collections/systems",
              "owners": "/collections/owners", "governance": "/governance", "queries": "/queries",
              "query-form": "/queries/capability-tree?number=10", "search": "/queries/search?text=meter",
              "capability": "/id/capability/18-1-rate-case-management",
              "owner": "/id/owner/general-counsel", "report": "/governance/report?format=html",
              "history": "/governance/history", "ontology": "/ontology", "ontology-module": "/ontology/core",
              "not-found": "/id/capability/no-such-thing",
              "api": "/docs"}


@pytest.fixture(scope="module")
def server():
    running = EkbServe(write_token=TOKEN)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def select(server, query: str) -> list[dict]:
    answer = httpx.post(server.url + "/sparql", data={"query": PREFIXES + query},
                        headers={"Accept": "application/sparql-results+json"}, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()["results"]["bindings"]


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("a", "link", "script"):
            for name, value in attrs:
                if name in ("href", "src") and value:
                    self.links.append(value)


def test_main_views_render_offline_with_no_console_error(server, browser):
    """Each main view in Chromium: the one navigation bar, no console error, nothing fetched from another host."""
    for name, path in MAIN_VIEWS.items():
        with watched_page(browser, server.url) as w:
            answer = w.page.goto(server.url + path, wait_until="networkidle")
            expected = 404 if name == "not-found" else 200
            assert answer.status == expected, (path, answer.status)
            if name != "api":  # Swagger UI's own page, linked from the bar as "API"
                nav = w.page.locator("header.top nav a")
                assert nav.all_inner_texts() == [label for label, _ in NAV], path
            w.screenshot(name)
            problems = [p for p in w.problems() if not (name == "not-found" and "404" in p)]
            assert not problems, (path, problems)


def test_pages_print_without_navigation_or_forms(server, browser):
    with watched_page(browser, server.url) as w:
        w.page.goto(server.url + "/governance", wait_until="networkidle")
        assert w.page.locator("header.top").is_visible() and w.page.locator("form.filters").is_visible()
        w.page.emulate_media(media="print")
        assert not w.page.locator("header.top").is_visible() and not w.page.locator("form.filters").is_visible()
        assert w.page.locator("table.findings").is_visible()


def test_crawl_from_home_finds_no_broken_link(server):
    """Every same-host link reachable from `/` (bounded) answers below 400, as a browser asks for it."""
    host = urlsplit(server.url).netloc
    seen, queue, broken = {"/"}, deque(["/"]), []
    with httpx.Client(base_url=server.url, headers=BROWSER, timeout=60) as client:
        while queue and len(seen) <= 400:
            path = queue.popleft()
            answer = client.get(path)
            if answer.status_code >= 400:
                broken.append((path, answer.status_code))
                continue
            if not answer.headers.get("content-type", "").startswith("text/html") or path.startswith("/ontology/"):
                continue  # pyLODE's pages link into themselves (#fragments) and to the term IRIs, crawled elsewhere
            parser = Links()
            parser.feed(answer.text)
            for link in parser.links:
                absolute = urljoin(server.url + path, link)
                parts = urlsplit(absolute)
                if parts.netloc != host or parts.scheme not in ("http", "https"):
                    continue
                target = parts.path + (f"?{parts.query}" if parts.query else "")
                if target not in seen:
                    seen.add(target)
                    queue.append(target)
    assert not broken, broken
    assert len(seen) > 150, len(seen)  # the crawl really went through the views, not just the home page
    for view in ("/capabilities", "/value-streams", "/governance", "/queries", "/sparql", "/information"):
        assert view in seen, view


def test_sparql_console_runs_select_and_construct(server, browser):
    with watched_page(browser, server.url) as w:
        w.page.goto(server.url + "/sparql", wait_until="networkidle")
        tab = "window.ekbConsole.getTab()"
        assert w.page.evaluate(f"{tab}.getEndpoint()") == server.url + "/sparql"
        completers = w.page.evaluate(f"{tab}.getYasqe().config.autocompleters")
        assert "class" not in completers and "property" not in completers and "localClass" in completers

        l1 = PREFIXES + "SELECT ?c ?label WHERE { ?c a ekb:L1Capability ; rdfs:label ?label }"
        w.page.evaluate(f"() => {{ {tab}.setQuery({json.dumps(l1)}); }}")
        w.page.evaluate(f"() => {{ {tab}.getYasqe().query(); }}")
        rows = w.page.locator(".yasr table.dataTable tbody tr")
        rows.nth(21).wait_for(timeout=20000)
        assert rows.count() == 22
        links = w.page.locator(".yasr table.dataTable tbody a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert links and all(href.startswith("/id/capability/") for href in links), links[:3]
        w.screenshot("sparql-select")

        construct = PREFIXES + "CONSTRUCT { ?c rdfs:label ?label } WHERE { ?c a ekb:L1Capability ; rdfs:label ?label }"
        w.page.evaluate(f"() => {{ {tab}.setQuery({json.dumps(construct)}); }}")
        w.page.evaluate(f"() => {{ {tab}.getYasqe().query(); }}")
        w.page.locator(".yasr table.dataTable thead th", has_text="predicate").wait_for(timeout=20000)
        rows.nth(21).wait_for(timeout=20000)
        assert rows.count() == 22
        w.screenshot("sparql-construct")
        with w.page.expect_download() as download:
            w.page.click("a.download[data-format=turtle]")
        assert download.value.suggested_filename == "query-results.ttl"
        saved = list(ox.parse(path=str(download.value.path()), format=ox.RdfFormat.TURTLE))
        assert len(saved) == 22 and all(q.predicate.value.endswith("#label") for q in saved)

        w.page.locator("button.load-query[data-name=capability-tree]").click()
        assert "The capability tree" in w.page.evaluate(f"{tab}.getQuery()")
        assert not w.problems(), w.problems()


def test_sparql_console_completes_the_models_classes_offline(server, browser):
    with watched_page(browser, server.url) as w:
        w.page.goto(server.url + "/sparql", wait_until="networkidle")
        text = "PREFIX ekb: <https://kb.quantum-energy.example/def/core/>\nSELECT * WHERE { ?x a ekb:L1Cap"
        w.page.evaluate(f"""() => {{ const y = window.ekbConsole.getTab().getYasqe(); y.setValue({json.dumps(text)});
            y.focus(); y.getDoc().setCursor(y.getDoc().lastLine(), 1000); }}""")
        w.page.keyboard.press("Control+Space")
        hints = w.page.locator(".CodeMirror-hints li")
        hints.first.wait_for(timeout=10000)
        assert "ekb:L1Capability" in hints.all_inner_texts()
        assert not w.problems(), w.problems()


def test_capability_map_has_a_box_per_capability(server, browser):
    l1 = len(select(server, "SELECT ?c WHERE { ?c a ekb:L1Capability }"))
    l2 = len(select(server, "SELECT ?c WHERE { ?c a ekb:L2Capability ; ekb:hasParentCapability ?p . ?p a ekb:L1Capability }"))
    assert l1 == 22 and l2 >= 70
    with watched_page(browser, server.url) as w:
        for measure in ("severity", "owner", "systems", "scope"):
            w.page.goto(f"{server.url}/capabilities?measure={measure}", wait_until="networkidle")
            assert w.page.locator(".capmap [data-level='1']").count() == l1
            assert w.page.locator(".capmap [data-level='2']").count() == l2
        hrefs = w.page.locator(".capmap a.l2").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert all(h.startswith("/id/capability/") for h in hrefs)
        colours = set(w.page.locator(".capmap a.l2").evaluate_all("els => els.map(e => e.style.background)"))
        assert len(colours) == 3  # regulated, non-regulated, shared
        assert not w.problems(), w.problems()


def test_dashboard_counts_are_the_json_reports(server, browser):
    report = httpx.get(server.url + "/governance/report", headers={"Accept": "application/json"}, timeout=60).json()
    with watched_page(browser, server.url) as w:
        w.page.goto(server.url + "/governance", wait_until="networkidle")
        for severity, count in report["counts"].items():
            assert w.page.locator(f"[data-count={severity}]").inner_text() == str(count)
        assert w.page.locator("table.findings tbody tr").count() == len(report["findings"])
        focus = w.page.locator("table.findings tbody td a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert focus and not any(h.startswith("http") for h in focus)
        # a filter narrows the table; the cards keep the whole report's counts
        rule = report["findings"][0]["rule"]
        w.page.goto(f"{server.url}/governance?{httpx.QueryParams(rule=rule)}", wait_until="networkidle")
        assert w.page.locator("table.findings tbody tr").count() == sum(f["rule"] == rule for f in report["findings"])
        # "run now" with the typed token records a run; the token is not kept in the page
        w.page.fill("#run-now input[name=token]", TOKEN)
        with w.page.expect_navigation():
            w.page.click("#run-now button")
        assert len(httpx.get(server.url + "/governance/history", timeout=60).json()) == 1
        assert w.page.locator("svg.trend polyline").count() == 3
        assert TOKEN not in w.page.content()
        w.screenshot("governance-after-run")
        assert not w.problems(), w.problems()


@pytest.mark.parametrize("path", ["/queries", "/collections", "/governance/history"])
def test_lists_are_pages_for_browsers_and_json_for_programs(server, path):
    page = httpx.get(server.url + path, headers=BROWSER, timeout=60)
    assert page.headers["content-type"].startswith("text/html") and "<nav" in page.text
    for accept in (None, "application/json"):
        answer = httpx.get(server.url + path, headers={"Accept": accept} if accept else {}, timeout=60)
        assert answer.headers["content-type"] == "application/json" and isinstance(answer.json(), list)


def test_errors_are_pages_for_browsers_and_json_for_programs(server):
    page = httpx.get(server.url + "/id/capability/no-such-thing", headers=BROWSER, timeout=60)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html") and "<nav" in page.text
    answer = httpx.get(server.url + "/id/capability/no-such-thing", headers={"Accept": "application/json"}, timeout=60)
    assert answer.status_code == 404 and answer.json()["error"] == "NotFound"
    assert httpx.get(server.url + "/no/such/route", headers=BROWSER, timeout=60).headers["content-type"].startswith("text/html")
    assert httpx.get(server.url + "/no/such/route", timeout=60).json() == {"detail": "Not Found"}


def test_collection_pages_link_next_and_previous(server):
    first = httpx.get(server.url + "/collections/capabilities?size=20", headers=BROWSER, timeout=60).text
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1)
    assert following.startswith("/collections/capabilities?") and "page=2" in following
    second = httpx.get(server.url + following.replace("&amp;", "&"), headers=BROWSER, timeout=60).text
    assert 'rel="prev"' in second and 'rel="next"' in second


def test_query_form_is_typed_and_pages(server):
    page = httpx.get(server.url + "/queries/capability-tree", headers=BROWSER, timeout=60)
    assert page.status_code == 200 and 'name="number"' in page.text and "SELECT ?capability" in page.text
    assert "<table class=\"results\"" not in page.text  # the required number is missing: the form alone
    search = httpx.get(server.url + "/queries/search?text=e", headers=BROWSER, timeout=60).text
    assert 'rel="next"' in search and search.count("<tr>") == 51  # a header row and a page of 50


def test_resource_page_shows_incoming_findings_and_place(server):
    l2 = httpx.get(server.url + "/id/capability/18-1-rate-case-management", headers=BROWSER, timeout=60).text
    assert 'class="crumbs"' in l2 and 'href="/id/capability/18-regulatory-affairs"' in l2.split("<h1>")[0]
    assert "What points here" in l2
    owner = httpx.get(server.url + "/id/owner/general-counsel", headers=BROWSER, timeout=60).text
    report = httpx.get(server.url + "/governance/report", headers={"Accept": "application/json"}, timeout=60).json()
    theirs = [f for f in report["findings"] if f["owner"].endswith("/owner/general-counsel")]
    assert f"Open findings to fix ({len(theirs)})" in owner and "Accountable for" in owner


def test_query_form_offers_the_enumerated_choices(tmp_path):
    """`#+ enumerate` gives a choice list; datatypes give number and date inputs; an IRI a URL input."""
    path = tmp_path / "typed.rq"
    path.write_text("#+ summary: typed\n#+ enumerate:\n#+   - scope:\n#+     - regulated\n#+     - shared\n"
                    "SELECT * WHERE { ?x ?p ?_scope . ?x ?q ?_n_integer . ?x ?r ?__since_xsd_date . ?x ?s ?_thing_iri }\n")
    fields = {f["name"]: f for f in form_fields(parse_query_file(path), {"n": "3"})}
    assert fields["scope"]["choices"] == ["regulated", "shared"]
    assert (fields["n"]["input"], fields["n"]["value"]) == ("number", "3")
    assert fields["since"]["input"] == "date" and not fields["since"]["required"]
    assert fields["thing"]["input"] == "url"


def test_home_counts_each_kind_and_searches(server):
    home = httpx.get(server.url + "/", headers=BROWSER, timeout=60)
    assert home.status_code == 200 and 'action="/queries/search"' in home.text and 'name="text"' in home.text
    total = httpx.get(server.url + "/collections/systems", headers={"Accept": "application/ld+json"}, timeout=60)
    assert f'<b>{total.json()["totalItems"]}</b>Systems' in home.text


def test_dashboard_pages_its_findings(loaded_kb, monkeypatch):
    monkeypatch.setattr(views, "FINDINGS_PAGE", 20)
    total = len(loaded_kb.current_report().findings)
    first, second = views.dashboard(loaded_kb, {}, 1), views.dashboard(loaded_kb, {}, 2)
    assert (len(first["shown"]), len(second["shown"]), first["pages"]) == (20, total - 20, 2)
    assert not set(map(id, first["shown"])) & set(map(id, second["shown"]))
    assert views.dashboard(loaded_kb, {"severity": "Violation"}, 1)["matching"] == loaded_kb.current_report().count("Violation")


@pytest.mark.parametrize("path", ["/governance?severity={x}&rule={x}&owner={x}&kind={x}", "/capabilities?measure={x}",
                                  "/id/capability/{x}", "/queries/search?text={x}", "/collections/capabilities?owner={x}"])
def test_what_a_visitor_types_comes_back_as_text_never_as_markup(server, path):
    """Every page echoing a parameter escapes it: a link that carries a script must not run it."""
    script = "<script>alert(1)</script>"
    page = httpx.get(server.url + path.format(x=quote(script, safe="")), headers=BROWSER, timeout=60)
    assert page.status_code < 500 and page.headers["content-type"].startswith("text/html")
    assert script not in page.text
