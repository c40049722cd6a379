"""SERVICE and LOAD refusal: real uses are caught, look-alikes are not."""

import pytest

from ekb.errors import Forbidden
from ekb.guard import check_remote_access


@pytest.mark.parametrize("text", [
    "SELECT * { SERVICE <http://x.example/sparql> { ?s ?p ?o } }",
    "SELECT * { service silent <http://x.example/sparql> { ?s ?p ?o } }",
    "SELECT * { SERVICE ?endpoint { ?s ?p ?o } }",
    "LOAD <http://x.example/data.ttl> INTO GRAPH <urn:g>",
])
def test_remote_access_is_refused(text):
    with pytest.raises(Forbidden):
        check_remote_access(text, ())


@pytest.mark.parametrize("text", [
    "SELECT ?service ?serviceLabel { ?service <urn:p> ?serviceLabel }",
    'SELECT * { ?s <urn:p> "SERVICE <http://x.example/>" }',
    "SELECT * { ?s ex:service ?o } # SERVICE <http://x.example/>",
    "SELECT * { ?s <http://e/LOAD> ?o }",
])
def test_look_alikes_pass(text):
    check_remote_access(text, ())


def test_allowed_host_passes_and_others_do_not():
    check_remote_access("SELECT * { SERVICE <https://ok.example/sparql> { ?s ?p ?o } }", ("ok.example",))
    with pytest.raises(Forbidden, match="except from ok.example"):
        check_remote_access("SELECT * { SERVICE <https://bad.example/sparql> { ?s ?p ?o } }", ("ok.example",))
