"""The console's own pages (Home, the capability map, value streams, information, the governance dashboard) and
its static files. Thin: each route asks `ekb.console.views` in a worker thread and renders one template."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ekb.api.protocol import MAX_PAGE, in_thread, kb_of, parse_int
from ekb.console import render, views

router = APIRouter(include_in_schema=False)


def page(template: str, here: str, title: str, **context) -> HTMLResponse:
    return HTMLResponse(render(template, here=here, title=title, **context))


@router.get("/")
async def home(request: Request) -> HTMLResponse:
    return page("home.html", "/", "Home", **await in_thread(views.home, kb_of(request)))


@router.get("/capabilities")
async def capabilities(request: Request) -> HTMLResponse:
    measure = request.query_params.get("measure", "severity")
    return page("capabilities.html", "/capabilities", "Capability map",
                **await in_thread(views.capability_map, kb_of(request), measure))


@router.get("/value-streams")
async def value_streams(request: Request) -> HTMLResponse:
    return page("value_streams.html", "/value-streams", "Value streams",
                streams=await in_thread(views.value_streams, kb_of(request)))


@router.get("/information")
async def information(request: Request) -> HTMLResponse:
    return page("information.html", "/information", "Information",
                domains=await in_thread(views.information, kb_of(request)))


@router.get("/governance")
async def governance(request: Request) -> HTMLResponse:
    filters = {k: request.query_params[k] for k in views.FILTERS if request.query_params.get(k)}
    number = parse_int(request.query_params.get("page", "1"), "page", 1, MAX_PAGE)
    return page("governance.html", "/governance", "Governance",
                **await in_thread(views.dashboard, kb_of(request), filters, number))
