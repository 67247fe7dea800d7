"""django-tastypie authentication backed by keytui keys in Redis.

    # settings.py
    KEYTUI_REDIS_URL = "redis://127.0.0.1:6379/0"   # default: env REDIS_URL, then that
    KEYTUI_NAMESPACE = "prod"                        # default: env KEYTUI_NAMESPACE, "keytui"
    KEYTUI_PEPPER = None          # str/bytes, for hmac-sha256 namespaces (default: env KEYTUI_PEPPER)
    KEYTUI_REDIS_CLUSTER = False  # optional: use redis.cluster.RedisCluster
    KEYTUI_RECORD_USE = False     # optional: set last_used_at on every successful request

    # api.py
    from tastypie_auth import KeytuiAuthentication
    class Meta:
        authentication = KeytuiAuthentication()

Clients send either

    Authorization: ApiKey <id>:<secret>
    Authorization: Bearer <token>

(no ``?username=&api_key=`` query parameters). On success ``request.keytui_key`` holds the
:class:`keytui_verify.Verdict` (``.id``, ``.name``) and ``get_identifier`` returns the key
id. Redis errors are not swallowed: they surface as a server error, not as a 401.

Django and tastypie are imported only if present, so the parsing helpers below can be used
and tested without them.
"""

from __future__ import annotations

import os
from typing import Optional, Tuple, Union

try:  # the example lives next to keytui_verify.py; also importable as a package member
    import keytui_verify
except ImportError:  # pragma: no cover
    from . import keytui_verify  # type: ignore[no-redef]

try:
    from tastypie.authentication import Authentication as _Base
    from tastypie.http import HttpUnauthorized
except ImportError:  # Django/tastypie not installed: helpers only
    _Base = object
    HttpUnauthorized = None

#: Longest Authorization header looked at; longer ones are refused without hashing.
MAX_HEADER = 4096

Parsed = Union[Tuple[str, str, str], Tuple[str, str]]


def parse_authorization(header: Optional[str]) -> Optional[Parsed]:
    """Parses an Authorization header value.

    ``ApiKey <id>:<secret>`` gives ``("apikey", id, secret)`` (split at the first colon);
    ``Bearer <token>`` gives ``("bearer", token)``. The scheme is case-insensitive.
    Anything else (missing, empty parts, other schemes, too long) gives ``None``.
    """
    if not header or not isinstance(header, str) or len(header) > MAX_HEADER:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value or any(c.isspace() for c in value):
        return None
    scheme = scheme.lower()
    if scheme == "apikey":
        key_id, sep, secret = value.partition(":")
        if not sep or not key_id or not secret:
            return None
        return ("apikey", key_id, secret)
    if scheme == "bearer":
        return ("bearer", value)
    return None


def identifier_from_header(header: Optional[str]) -> Optional[str]:
    """The key id a header claims (unverified): the ApiKey id, or the id split from a token."""
    parsed = parse_authorization(header)
    if parsed is None:
        return None
    if parsed[0] == "apikey":
        return parsed[1]
    try:
        return keytui_verify.split_token(parsed[1]).id
    except ValueError:
        return None


def _setting(name: str, default=None):
    try:
        from django.conf import settings
    except ImportError:
        return default
    try:
        return getattr(settings, name, default)
    except Exception:  # settings not configured (e.g. outside a Django project)
        return default


class KeytuiAuthentication(_Base):
    """Authenticates a tastypie request with a keytui key id/secret pair or token."""

    def __init__(
        self,
        redis_client=None,
        namespace: Optional[str] = None,
        pepper: Union[str, bytes, None] = None,
        record_use: Optional[bool] = None,
        **kwargs,
    ):
        if _Base is not object:
            super().__init__(**kwargs)
        self._redis = redis_client
        self._namespace = namespace
        self._pepper = pepper
        self._record_use = record_use

    # -- configuration (read lazily, so the class can be built at import time) ----------

    @property
    def redis(self):
        if self._redis is None:
            url = (
                _setting("KEYTUI_REDIS_URL")
                or os.environ.get("REDIS_URL")
                or "redis://127.0.0.1:6379"
            )
            cluster = bool(_setting("KEYTUI_REDIS_CLUSTER", False))
            self._redis = keytui_verify.connect(url, cluster=cluster)
        return self._redis

    @property
    def namespace(self) -> str:
        if self._namespace is None:
            self._namespace = (
                _setting("KEYTUI_NAMESPACE")
                or os.environ.get("KEYTUI_NAMESPACE")
                or "keytui"
            )
        return self._namespace

    @property
    def pepper(self) -> Optional[bytes]:
        if self._pepper is None:
            p = _setting("KEYTUI_PEPPER")
            if p is None:
                p = keytui_verify.pepper_from_env("KEYTUI_PEPPER")
            self._pepper = p if p is not None else b""
        p = self._pepper
        if isinstance(p, str):
            p = p.encode("utf-8")
        return p or None

    @property
    def record_use(self) -> bool:
        if self._record_use is None:
            self._record_use = bool(_setting("KEYTUI_RECORD_USE", False))
        return self._record_use

    # -- tastypie API -----------------------------------------------------------------------

    def _unauthorized(self):
        if HttpUnauthorized is None:
            raise RuntimeError("django-tastypie is not installed")
        return HttpUnauthorized()

    def check(self, header: Optional[str]) -> Optional["keytui_verify.Verdict"]:
        """Verifies an Authorization header value; None when it is absent or malformed."""
        parsed = parse_authorization(header)
        if parsed is None:
            return None
        opts = dict(pepper=self.pepper, record_use=self.record_use)
        if parsed[0] == "apikey":
            return keytui_verify.verify(
                self.redis, self.namespace, parsed[1], parsed[2], **opts
            )
        return keytui_verify.verify_token(self.redis, self.namespace, parsed[1], **opts)

    def is_authenticated(self, request, **kwargs):
        verdict = self.check(request.META.get("HTTP_AUTHORIZATION"))
        if verdict is not None and verdict.valid:
            request.keytui_key = verdict
            return True
        return self._unauthorized()

    def get_identifier(self, request):
        verdict = getattr(request, "keytui_key", None)
        if verdict is not None and verdict.valid:
            return verdict.id
        return identifier_from_header(request.META.get("HTTP_AUTHORIZATION")) or "nokey"
