"""django-tastypie authentication backed by keytui keys in Redis.

    # api.py
    from keytui.tastypie import KeytuiAuthentication

    class EntryResource(ModelResource):
        class Meta:
            authentication = KeytuiAuthentication()

Configured by the ``KEYTUI`` settings dict (see :mod:`keytui.django`). Clients send what
tastypie clients already send, ``Authorization: ApiKey <username-or-id>:<key>``, or a keytui
token as ``Authorization: Bearer <token>``; ``?username=&api_key=`` only when
``QUERY_STRING_CREDENTIALS`` is on (query strings end up in access logs).

On success ``request.keytui_key`` holds the :class:`keytui.Verdict` (``.id``, ``.name``,
``.meta``) and, when the key maps to a Django user, ``request.user`` is that user (so
``DjangoAuthorization`` works). Keys of inactive users are refused. A Redis failure or
timeout answers 503 at once.
"""

from __future__ import annotations

from typing import Any, Optional

from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from tastypie.authentication import Authentication
from tastypie.http import HttpUnauthorized

from .core import claimed_id
from .django import Service, Unavailable, get_service


def service_unavailable(detail: str = "API keys cannot be verified right now") -> HttpResponse:
    """A 503 with ``Retry-After: 1``."""
    r = HttpResponse(detail + "\n", status=503, content_type="text/plain")
    r["Retry-After"] = "1"
    return r


class KeytuiAuthentication(Authentication):
    """Authenticates a tastypie request with a keytui key (id/secret pair or token)."""

    def __init__(self, service: Optional[Service] = None, **kwargs: Any):
        super().__init__(**kwargs)
        self._service = service

    @property
    def service(self) -> Service:
        return self._service if self._service is not None else get_service()

    def is_authenticated(self, request: Any, **kwargs: Any) -> Any:
        try:
            outcome = self.service.authenticate(request)
        except Unavailable:
            return service_unavailable()
        if outcome is None or not outcome.accepted:
            return HttpUnauthorized()
        request.keytui_key = outcome.verdict
        if outcome.user is not None:
            request.user = outcome.user
        elif not hasattr(request, "user"):  # no AuthenticationMiddleware
            request.user = AnonymousUser()
        return True

    def get_identifier(self, request: Any) -> str:
        verdict = getattr(request, "keytui_key", None)
        if verdict is not None and verdict.valid:
            return str(verdict.id)
        return claimed_id(request.META.get("HTTP_AUTHORIZATION")) or "nokey"
