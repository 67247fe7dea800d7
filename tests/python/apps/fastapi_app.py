"""The test (and bench) FastAPI app: keytui's dependency on several namespaces, and a plain
redis.asyncio GET. Env: KEYTUI_TEST_URL, KEYTUI_TEST_PEPPER, KEYTUI_TEST_KNOBS (1: the
/test/recheck-seconds/{ns}?s= endpoint, which sets that namespace's RECHECK_SECONDS)."""

import contextlib
import os

import redis.asyncio as aredis
from fastapi import Depends, FastAPI

from keytui import Verdict
from keytui.fastapi import KeytuiAuth

URL = os.environ["KEYTUI_TEST_URL"]
PEPPER = os.environ.get("KEYTUI_TEST_PEPPER") or None
auths = {
    ns: KeytuiAuth(URL, ns, PEPPER if ns == "pep" else None, timeout=0.5)
    for ns in ("app", "sealed", "pep", "future", "old", "fresh")
}
plain = aredis.Redis.from_url(URL, socket_timeout=0.5, socket_connect_timeout=0.5)


@contextlib.asynccontextmanager
async def lifespan(app):
    async with contextlib.AsyncExitStack() as stack:
        for a in auths.values():
            await stack.enter_async_context(a.lifespan(app))
        yield
    await plain.aclose()


app = FastAPI(lifespan=lifespan)


def _out(key: Verdict):
    return {"key": key.id, "name": key.name, "meta": dict(key.meta)}


@app.get("/health")
async def health():
    return {"ok": True}


if os.environ.get("KEYTUI_TEST_KNOBS") == "1":

    @app.get("/test/recheck-seconds/{ns}")
    async def recheck_seconds(ns: str, s: float):
        auths[ns].RECHECK_SECONDS = s
        return {"ok": True}


@app.get("/plain")
async def plain_get():
    await plain.get("keytui-bench-plain")
    return {"ok": True}


for _ns, _auth in auths.items():

    def _routes(auth):
        async def key(key: Verdict = Depends(auth)):
            return _out(key)

        async def write(key: Verdict = Depends(auth.require("write"))):
            return _out(key)

        return key, write

    _k, _w = _routes(_auth)
    app.add_api_route(f"/{_ns}/key", _k, methods=["GET"])
    app.add_api_route(f"/{_ns}/write", _w, methods=["GET"])
