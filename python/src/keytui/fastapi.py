"""FastAPI / Starlette: a dependency that verifies the ``Authorization`` header with
``redis.asyncio`` and returns the key.

    from fastapi import Depends, FastAPI
    from keytui import Verdict
    from keytui.fastapi import KeytuiAuth

    auth = KeytuiAuth(url="redis://127.0.0.1:6379", namespace="prod")
    app = FastAPI(lifespan=auth.lifespan)        # optional: checks the namespace at start-up

    @app.get("/items")
    async def items(key: Verdict = Depends(auth)):
        return {"key": key.id, "name": key.name, "meta": dict(key.meta)}

    @app.post("/items", dependencies=[Depends(auth.require("write"))])
    async def add_item(): ...

Credentials: ``Authorization: Bearer <token>``, ``Api-Key <token>`` or ``ApiKey <id>:<secret>``.
No or rejected credentials: 401 (``WWW-Authenticate: Bearer``); a missing scope: 403;
Redis unreachable or slower than ``timeout`` (default 0.5 s), or a namespace this process
must not verify (newer layout, wrong pepper: logged as an error): 503. The namespace check
also picks the read: a layout-2 namespace is verified through each record's ``verify``
field (``HMGET key verify meta``). When the namespace did not exist yet at the check, a
verification that finds a record reads ``{ns}:meta`` again (at most once per
``KeytuiAuth.RECHECK_SECONDS``, 10 s, while it is missing); once it is there, it is checked
as at start-up and its layout kept.
With plain Starlette, ``await auth.authenticate(request)`` does the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any, AsyncIterator, Awaitable, Callable, List, Optional, Union

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from . import aio, core
from .core import Verdict, parse_scopes

log = logging.getLogger("keytui")


class KeytuiAuth:
    """The dependency; one per app (it owns a pooled ``redis.asyncio`` client)."""

    #: How often ``{ns}:meta`` is read again while it is missing (see :meth:`authenticate`).
    RECHECK_SECONDS = core.RECHECK_SECONDS

    def __init__(
        self,
        url: Optional[str] = None,
        namespace: Optional[str] = None,
        pepper: Union[str, bytes, None] = None,
        *,
        timeout: float = 0.5,
        connect_timeout: Optional[float] = None,
        cluster: bool = False,
        record_use: bool = False,
        client: Any = None,
    ):
        self.url = url or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379"
        self.namespace = namespace or os.environ.get("KEYTUI_NAMESPACE") or "keytui"
        core.check_namespace_name(self.namespace)
        if pepper is None:
            pepper = core.pepper_from_env("KEYTUI_PEPPER")
        self.pepper = pepper.encode("utf-8") if isinstance(pepper, str) else pepper
        self.timeout = timeout
        self.connect_timeout = timeout if connect_timeout is None else connect_timeout
        self.cluster = cluster
        self.record_use = record_use
        self._client = client
        self._checked = False
        self._problem: Optional[str] = None
        #: The namespace's layout as the last successful check read it (1 until then, and
        #: for a namespace that did not exist yet: that read is right for every layout).
        self.layout = 1
        # The last check found no {ns}:meta; when (monotonic) it was last read.
        self._meta_missing = False
        self._meta_read_at = 0.0

    @property
    def redis(self) -> Any:
        if self._client is None:
            self._client = core.connect_async(
                self.url,
                cluster=self.cluster,
                timeout=self.timeout,
                connect_timeout=self.connect_timeout,
            )
        return self._client

    async def check_namespace(self) -> bool:
        """Checks ``{ns}:meta`` once (layout version, pepper), keeps its layout and logs the
        outcome. A Redis failure leaves the check pending for the next request, or after a
        passed check the layout as it was."""
        from redis.exceptions import RedisError

        try:
            meta = await aio.check_namespace(self.redis, self.namespace, self.pepper)
        except core.KeytuiError as e:
            self._checked, self._problem = True, str(e)
            log.error("keytui: cannot verify keys of namespace %s: %s", self.namespace, e)
            return False
        except (RedisError, OSError) as e:
            log.warning("keytui: cannot check namespace %s now: %s", self.namespace, e)
            return False
        self.layout = core.layout_of(meta)
        self._meta_missing, self._meta_read_at = not meta, time.monotonic()
        self._checked, self._problem = True, None
        log.info(
            "keytui: namespace %s checked (layout %s, %s)",
            self.namespace,
            meta.get("layout", "absent"),
            meta.get("mode", "absent"),
        )
        return True

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any) -> AsyncIterator[None]:
        """A FastAPI/Starlette lifespan: checks the namespace, closes the client at exit."""
        await self.check_namespace()
        try:
            yield
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _recheck_due(self) -> bool:
        """Whether to read a missing ``{ns}:meta`` again now (at most once per
        :attr:`RECHECK_SECONDS`); claims the read when so."""
        now = time.monotonic()
        if not self._meta_missing or now - self._meta_read_at < self.RECHECK_SECONDS:
            return False
        self._meta_read_at = now
        return True

    async def authenticate(self, request: HTTPConnection) -> Verdict:
        """The valid key of ``request``; raises ``HTTPException`` 401 or 503.

        While ``{ns}:meta`` is missing (the namespace did not exist at the check), a
        verification that finds a record then reads it again (:meth:`check_namespace`, at
        most once per :attr:`RECHECK_SECONDS`): once keytui has created the namespace, the
        next verifications use its layout. That read never changes this request's outcome;
        a Redis failure in it is logged and keeps the layout."""
        from redis.exceptions import RedisError

        header = request.headers.get("authorization")
        seen: List[bool] = []
        try:
            if not self._checked:
                await self.check_namespace()
                if not self._checked:
                    raise _unavailable()
            if self._problem is not None:
                raise _unavailable()
            v = await aio.verify_header(
                self.redis,
                self.namespace,
                header,
                pepper=self.pepper,
                record_use=self.record_use,
                layout=self.layout,
                on_record=(lambda: seen.append(True)) if self._meta_missing else None,
            )
        except (RedisError, OSError) as e:
            log.warning("keytui: Redis unavailable: %s", e)
            raise _unavailable() from None
        except core.PepperRequired as e:
            log.error("keytui: %s", e)
            raise _unavailable() from None
        finally:
            if seen and self._recheck_due():
                await self.check_namespace()  # never raises; logs its outcome
        if v is None:
            raise _unauthorized("missing_credentials")
        if not v.valid:
            raise _unauthorized(v.reason or "rejected")
        return v

    async def __call__(self, request: HTTPConnection) -> Verdict:
        return await self.authenticate(request)

    def require(self, *scopes: str) -> Callable[[HTTPConnection], Awaitable[Verdict]]:
        """A dependency returning the key when its ``scopes`` metadata (comma separated)
        holds every one of ``scopes``; 403 otherwise."""
        need = frozenset().union(*(parse_scopes(s) for s in scopes))

        async def dependency(request: HTTPConnection) -> Verdict:
            v = await self.authenticate(request)
            if not need <= v.scopes:
                raise HTTPException(403, detail="missing_scope")
            return v

        return dependency


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(401, detail=reason, headers={"WWW-Authenticate": "Bearer"})


def _unavailable() -> HTTPException:
    return HTTPException(
        503, detail="API keys cannot be verified right now", headers={"Retry-After": "1"}
    )
