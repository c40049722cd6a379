"""The API's documentation pages work offline: every script, style and icon they load is served here."""

from __future__ import annotations

import re

import httpx
import pytest

from ekb.config import Settings
from ekb.kb import KnowledgeBase
from tests.conftest import ROOT, ApiServer


@pytest.fixture(scope="module")
def web():
    kb = KnowledgeBase.open(Settings(root=ROOT))
    server = ApiServer(kb)
    with httpx.Client(base_url=server.url, timeout=60.0) as client:
        yield client
    server.stop()
    kb.close()


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_documentation_pages_load_nothing_from_another_host(web, page):
    html = web.get(page)
    assert html.status_code == 200
    assets = re.findall(r"""(?:src|href)\s*[=:]\s*['"]([^'"]+)['"]""", html.text)
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert not asset.startswith(("http:", "https:", "//")), f"{page} loads {asset} from another host"
        if asset.startswith("/") and not asset.endswith(".json"):
            fetched = web.get(asset)
            assert fetched.status_code == 200 and len(fetched.content) > 1000, asset
    assert "/openapi.json" in html.text
