"""The console: server-rendered pages for people, on one Jinja2 layout with one navigation bar and one stylesheet.

Templates and static files (the stylesheet, a small script, vendored YASGUI) ship inside this package, so every
page works without another host. Data comes from `ekb.console.views`, plain functions over the KnowledgeBase."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from ekb.config import BASE_IRI, PREFIXES

STATIC_DIR = Path(__file__).parent / "static"

# The navigation bar of every page: (label, path).
NAV = (("Home", "/"), ("Capabilities", "/capabilities"), ("Value streams", "/value-streams"),
       ("Information", "/information"), ("Systems", "/collections/systems"), ("Owners", "/collections/owners"),
       ("Governance", "/governance"), ("Queries", "/queries"), ("SPARQL", "/sparql"), ("API", "/docs"),
       ("Ontology", "/ontology"))


def local_link(iri: str) -> str:
    """An IRI under the knowledge base's base as a path on this server (where it dereferences); others as they are."""
    return "/" + iri[len(BASE_IRI):] if iri.startswith(BASE_IRI) else iri


def compact(iri: str) -> str:
    """A prefixed name for an IRI in one of the project's namespaces, for display only (as YASGUI shows them:
    `id:capability/10-...`, which SPARQL itself would not accept as a prefixed name)."""
    for prefix, namespace in sorted(PREFIXES.items(), key=lambda kv: -len(kv[1])):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("ekb.console", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["local"] = local_link
    env.filters["compact"] = compact
    env.globals["nav"] = NAV
    return env


@cache
def stylesheet() -> str:
    return (STATIC_DIR / "console.css").read_text(encoding="utf-8")


def render(template: str, *, here: str = "", inline_css: bool = False, **context) -> str:
    """A page: `template` on the layout; `here` is the nav entry to mark current; `inline_css` embeds the
    stylesheet (a report saved to a file has no server to fetch it from)."""
    return environment().get_template(template).render(here=here, css=stylesheet() if inline_css else None, **context)
