"""Django integration: the ``KEYTUI`` settings dict, one Redis client per process, the
namespace check at start-up, and the request authentication that the tastypie
(:mod:`keytui.tastypie`) and REST framework (:mod:`keytui.drf`) classes share.

Add ``"keytui.django"`` to ``INSTALLED_APPS`` for the start-up check and the
``keytui_export`` management command. Settings (every entry optional)::

    KEYTUI = {
        "URL": "redis://127.0.0.1:6379/0",  # default: env REDIS_URL, then redis://127.0.0.1:6379
        "NAMESPACE": "prod",                 # default: env KEYTUI_NAMESPACE, then "keytui"
        "PEPPER": None,                      # str/bytes for hmac-sha256 namespaces; default env KEYTUI_PEPPER
        "CLUSTER": False,                    # redis.cluster.RedisCluster
        "TIMEOUT": 0.5,                      # seconds for each Redis reply
        "CONNECT_TIMEOUT": 0.5,              # seconds to connect
        "USER_FIELD": "user",                # metadata naming the Django username (None: no mapping)
        "USER": None,                        # or a callable / dotted path: f(verdict) -> user or None
        "REQUIRE_USER": False,               # refuse keys that map to no user
        "QUERY_STRING_CREDENTIALS": False,   # ?username=&api_key= as tastypie; leaks keys into logs
        "RECORD_USE": False,                 # set last_used_at (a second round trip)
        "CHECK_AT_STARTUP": True,            # check {ns}:meta in AppConfig.ready()
    }

The start-up check also learns the namespace's layout: a layout-2 namespace is verified
through each record's ``verify`` field (``HMGET key verify meta``), a layout-1 one (or one
that did not exist yet at the check) through the fields it is made of. When the namespace
did not exist yet, a verification that finds a record reads ``{ns}:meta`` again (at most
once per :attr:`Service.RECHECK_SECONDS`, 10 s, while it is missing); once it is there, it
is checked as at start-up and its layout kept.

Outcomes of :meth:`Service.authenticate`: ``None`` (no credentials), a rejected
:class:`Outcome` (401: the key's verdict, or ``user_unknown`` / ``user_inactive`` /
``no_user``), an accepted one (the verdict and the user, or None), or
:class:`Unavailable` raised (503: Redis unreachable, too slow, or a namespace this process
must not verify).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

from .. import core
from ..core import Verdict

log = logging.getLogger("keytui")

DEFAULTS: Dict[str, Any] = {
    "URL": None,
    "NAMESPACE": None,
    "PEPPER": None,
    "CLUSTER": False,
    "TIMEOUT": 0.5,
    "CONNECT_TIMEOUT": 0.5,
    "USER_FIELD": "user",
    "USER": None,
    "REQUIRE_USER": False,
    "QUERY_STRING_CREDENTIALS": False,
    "RECORD_USE": False,
    "CHECK_AT_STARTUP": True,
}

#: Reasons a key is refused because of the user it maps to (beside core.REASONS).
USER_REASONS = ("user_unknown", "user_inactive", "no_user")


class Unavailable(core.KeytuiError):
    """Keys cannot be verified now (Redis down or slow, or the namespace check failed): 503."""


class Outcome(NamedTuple):
    """The result of authenticating a request that carried credentials."""

    verdict: Verdict
    user: Any  # the mapped Django user, or None
    reason: Optional[str]  # None when accepted

    @property
    def accepted(self) -> bool:
        return self.reason is None


def _import(path: str) -> Any:
    from django.utils.module_loading import import_string

    return import_string(path)


class Config(NamedTuple):
    url: str
    namespace: str
    pepper: Optional[bytes]
    cluster: bool
    timeout: float
    connect_timeout: float
    user_field: Optional[str]
    user: Optional[Callable[[Verdict], Any]]
    require_user: bool
    query_string: bool
    record_use: bool
    check_at_startup: bool

    @classmethod
    def from_settings(cls) -> "Config":
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured

        given = getattr(settings, "KEYTUI", None) or {}
        if not isinstance(given, dict):
            raise ImproperlyConfigured("KEYTUI must be a dict")
        unknown = sorted(set(given) - set(DEFAULTS))
        if unknown:
            raise ImproperlyConfigured(
                f"KEYTUI has unknown entries {unknown}; known: {sorted(DEFAULTS)}"
            )
        s = dict(DEFAULTS, **given)
        pepper = s["PEPPER"]
        if pepper is None:
            pepper = core.pepper_from_env("KEYTUI_PEPPER")
        elif isinstance(pepper, str):
            pepper = pepper.encode("utf-8")
        user = s["USER"]
        if isinstance(user, str):
            user = _import(user)
        if user is not None and not callable(user):
            raise ImproperlyConfigured("KEYTUI['USER'] must be a callable or a dotted path")
        namespace = s["NAMESPACE"] or os.environ.get("KEYTUI_NAMESPACE") or "keytui"
        if not core.valid_namespace(namespace):
            raise ImproperlyConfigured(f"KEYTUI['NAMESPACE'] {namespace!r} is not a namespace")
        return cls(
            url=s["URL"] or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379",
            namespace=namespace,
            pepper=pepper or None,
            cluster=bool(s["CLUSTER"]),
            timeout=float(s["TIMEOUT"]),
            connect_timeout=float(s["CONNECT_TIMEOUT"]),
            user_field=s["USER_FIELD"] or None,
            user=user,
            require_user=bool(s["REQUIRE_USER"]),
            query_string=bool(s["QUERY_STRING_CREDENTIALS"]),
            record_use=bool(s["RECORD_USE"]),
            check_at_startup=bool(s["CHECK_AT_STARTUP"]),
        )


class Service:
    """One process's verifier: the settings, a pooled Redis client (thread-safe) and the
    state of the namespace check, with the layout it found (``layout``: the read each
    verification makes)."""

    #: How often a request refused because the namespace check failed logs it again.
    RELOG_SECONDS = 60.0
    #: How often ``{ns}:meta`` is read again while it is missing (see :meth:`verify`).
    RECHECK_SECONDS = core.RECHECK_SECONDS

    def __init__(self, config: Config, client: Any = None):
        self.config = config
        self._client = client
        self._lock = threading.Lock()
        self._checked = False
        self._problem: Optional[str] = None
        self._logged_at = 0.0
        #: The namespace's layout as the last successful check read it (1 until then, and
        #: for a namespace that did not exist yet: that read is right for every layout).
        self.layout = 1
        # The last check found no {ns}:meta; when (monotonic) it was last read.
        self._meta_missing = False
        self._meta_read_at = 0.0

    @property
    def redis(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    c = self.config
                    self._client = core.connect(
                        c.url,
                        cluster=c.cluster,
                        timeout=c.timeout,
                        connect_timeout=c.connect_timeout,
                    )
        return self._client

    # -- the namespace check -----------------------------------------------------------

    def check_namespace(self) -> bool:
        """Checks ``{ns}:meta`` (layout version, pepper) and keeps its layout. Logs the
        outcome; True when the namespace may be verified. A Redis failure leaves the check
        pending (retried by the next request), or after a passed check the layout as it was.
        """
        from redis.exceptions import RedisError

        ns = self.config.namespace
        try:
            meta = core.check_namespace(self.redis, ns, self.config.pepper)
        except core.KeytuiError as e:
            self._problem = str(e)
            self._checked = True
            log.error("keytui: cannot verify keys of namespace %s: %s", ns, e)
            self._logged_at = time.monotonic()
            return False
        except (RedisError, OSError) as e:
            log.warning(
                "keytui: cannot check namespace %s now (%s); %s",
                ns,
                _one_line(e),
                f"keeping layout {self.layout}"
                if self._checked
                else "checking on the next request",
            )
            return False
        self.layout = core.layout_of(meta)
        self._meta_missing = not meta
        self._meta_read_at = time.monotonic()
        self._problem = None
        self._checked = True
        if meta:
            log.info(
                "keytui: namespace %s checked (layout %s, mode %s, %s)",
                ns,
                meta.get("layout"),
                meta.get("mode"),
                meta.get("secret_alg"),
            )
        else:
            log.warning("keytui: namespace %s does not exist yet (no %s)", ns, core.meta_key(ns))
        return True

    def _recheck_due(self) -> bool:
        """Whether to read a missing ``{ns}:meta`` again now (at most once per
        :attr:`RECHECK_SECONDS`); claims the read when so."""
        with self._lock:
            now = time.monotonic()
            if not self._meta_missing or now - self._meta_read_at < self.RECHECK_SECONDS:
                return False
            self._meta_read_at = now
            return True

    def _ensure_checked(self) -> None:
        """Raises :class:`Unavailable` until the namespace check has passed."""
        if not self._checked and not self.check_namespace() and not self._checked:
            raise Unavailable("cannot check the keytui namespace: Redis unavailable")
        if self._problem is not None:
            now = time.monotonic()
            if now - self._logged_at >= self.RELOG_SECONDS:
                self._logged_at = now
                log.error("keytui: refusing requests: %s", self._problem)
            raise Unavailable(self._problem)

    # -- requests ------------------------------------------------------------------------

    def credentials(self, request: Any) -> Optional[Tuple[str, ...]]:
        """What the request presents: the Authorization header, else (when enabled) the
        ``username`` and ``api_key`` query parameters. None when nothing is presented."""
        parsed = core.parse_authorization(request.META.get("HTTP_AUTHORIZATION"))
        if parsed is not None:
            return parsed
        if self.config.query_string:
            get = getattr(request, "GET", None)
            if get is not None:
                username, api_key = get.get("username"), get.get("api_key")
                if username and api_key:
                    return ("apikey", username, api_key)
        return None

    def verify(self, parsed: Tuple[str, ...]) -> Verdict:
        """Verifies parsed credentials; raises :class:`Unavailable` for Redis failures.

        While ``{ns}:meta`` is missing (the namespace did not exist at the check), a
        verification that finds a record then reads it again (:meth:`check_namespace`, at
        most once per :attr:`RECHECK_SECONDS`): once keytui has created the namespace, the
        next verifications use its layout. That read never changes this verification's
        outcome; a Redis failure in it is logged and keeps the layout."""
        from redis.exceptions import RedisError

        self._ensure_checked()
        c = self.config
        seen: List[bool] = []
        on_record = (lambda: seen.append(True)) if self._meta_missing else None
        try:
            if parsed[0] == "apikey":
                return core.verify(
                    self.redis,
                    c.namespace,
                    parsed[1],
                    parsed[2],
                    pepper=c.pepper,
                    record_use=c.record_use,
                    layout=self.layout,
                    on_record=on_record,
                )
            return core.verify_token(
                self.redis,
                c.namespace,
                parsed[1],
                pepper=c.pepper,
                record_use=c.record_use,
                layout=self.layout,
                on_record=on_record,
            )
        except (RedisError, OSError) as e:
            log.warning("keytui: Redis unavailable: %s", _one_line(e))
            raise Unavailable(_one_line(e)) from e
        except core.PepperRequired as e:
            log.error("keytui: %s", e)
            raise Unavailable(str(e)) from e
        finally:
            if seen and self._recheck_due():
                self.check_namespace()  # never raises; logs its outcome

    def user_for(self, verdict: Verdict) -> Any:
        """The Django user the key maps to (``USER`` callable, else the ``USER_FIELD``
        metadata naming a username, else for keys imported from tastypie (metadata
        ``source=tastypie``) the user named by the key id); None when it maps to none.
        Raises LookupError when it names a user that does not exist."""
        c = self.config
        if c.user is not None:
            return c.user(verdict)
        if c.user_field is None:
            return None
        username = verdict.meta.get(c.user_field)
        if not username and verdict.meta.get("source") == "tastypie":
            # `keytui import --format tastypie` (manage.py dumpdata): the id is the username
            username = verdict.id
        if not username:
            return None
        from django.contrib.auth import get_user_model

        model: Any = get_user_model()
        try:
            return model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            raise LookupError(username) from None

    def authenticate(self, request: Any) -> Optional[Outcome]:
        """Authenticates a Django request; see the module doc for the outcomes."""
        parsed = self.credentials(request)
        if parsed is None:
            return None
        verdict = self.verify(parsed)
        if not verdict.valid:
            return Outcome(verdict, None, verdict.reason)
        try:
            user = self.user_for(verdict)
        except LookupError:
            return Outcome(verdict, None, "user_unknown")
        if user is None:
            if self.config.require_user:
                return Outcome(verdict, None, "no_user")
            return Outcome(verdict, None, None)
        if not getattr(user, "is_active", True):
            return Outcome(verdict, user, "user_inactive")
        return Outcome(verdict, user, None)


def _one_line(e: BaseException) -> str:
    return " ".join((str(e) or e.__class__.__name__).split())[:300]


_service: Optional[Service] = None
_service_lock = threading.Lock()


def get_service() -> Service:
    """The process's :class:`Service`, built from ``settings.KEYTUI`` on first use."""
    global _service
    s = _service
    if s is None:
        with _service_lock:
            if _service is None:
                _service = Service(Config.from_settings())
            s = _service
    return s


def reset_service(**_: Any) -> None:
    """Forgets the service (e.g. when ``KEYTUI`` changes in tests)."""
    global _service
    with _service_lock:
        _service = None


def _on_setting_changed(setting: str = "", **kwargs: Any) -> None:
    if setting == "KEYTUI":
        reset_service()


try:  # pragma: no branch
    from django.core.signals import setting_changed

    setting_changed.connect(_on_setting_changed)
except ImportError:  # Django not installed: the module still imports
    pass
