"""httpx's request functions with an explicit, generous timeout for every HTTP call the tests make.

httpx's own default is 5 s per step, which a busy 2-core machine (a load, a reasoner, a mutation run beside the
test) exceeds now and then: a test must fail on what the server answers, never on how loaded the machine is.
A call that means a shorter limit still passes its own `timeout=`."""

from __future__ import annotations

import httpx

TIMEOUT = 60.0


def request(method: str, url: str, **kwargs) -> httpx.Response:
    kwargs.setdefault("timeout", TIMEOUT)
    return httpx.request(method, url, **kwargs)


def get(url: str, **kwargs) -> httpx.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs) -> httpx.Response:
    return request("POST", url, **kwargs)


def put(url: str, **kwargs) -> httpx.Response:
    return request("PUT", url, **kwargs)


def delete(url: str, **kwargs) -> httpx.Response:
    return request("DELETE", url, **kwargs)


def options(url: str, **kwargs) -> httpx.Response:
    return request("OPTIONS", url, **kwargs)
