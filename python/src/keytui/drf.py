"""Django REST framework authentication and permissions backed by keytui keys.

    # settings.py
    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": ["keytui.drf.KeytuiAuthentication"],
        "DEFAULT_PERMISSION_CLASSES": ["keytui.drf.HasKeytuiKey"],
    }

    # views.py
    from keytui.drf import HasKeytuiKey, require_scopes

    class Reports(APIView):
        permission_classes = [HasKeytuiKey, require_scopes("reports:read")]

Configured by the ``KEYTUI`` settings dict (see :mod:`keytui.django`).
:class:`KeytuiAuthentication` returns ``(user, verdict)``: ``request.user`` is the Django
user the key maps to (``AnonymousUser`` when it maps to none) and ``request.auth`` the
:class:`keytui.Verdict` (``.id``, ``.name``, ``.meta``, ``.scopes``). Rejected keys and keys
of inactive users get 401, missing scopes 403, a Redis failure or timeout 503 at once.

:class:`HasKeytuiKey` works like djangorestframework-api-key's ``HasAPIKey``: with or
without the authentication class, it passes only requests carrying a valid keytui key.
"""

from __future__ import annotations

from typing import Any, FrozenSet, Optional, Tuple, Type

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication

from .core import Verdict, parse_scopes
from .django import Outcome, Service, Unavailable, get_service


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "API keys cannot be verified right now."
    default_code = "keytui_unavailable"


def _authenticate(service: Service, request: Any) -> Optional[Outcome]:
    django_request = getattr(request, "_request", request)
    try:
        return service.authenticate(django_request)
    except Unavailable:
        raise ServiceUnavailable() from None


class KeytuiAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` / ``Api-Key <token>`` / ``ApiKey <id>:<secret>``."""

    www_authenticate_realm = "api"
    service: Optional[Service] = None

    def authenticate(self, request: Any) -> Optional[Tuple[Any, Verdict]]:
        outcome = _authenticate(self.service or get_service(), request)
        if outcome is None:
            return None  # no keytui credentials: let the next class try
        if not outcome.accepted:
            raise exceptions.AuthenticationFailed(f"API key rejected: {outcome.reason}")
        user = outcome.user if outcome.user is not None else AnonymousUser()
        return (user, outcome.verdict)

    def authenticate_header(self, request: Any) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'


def _verdict(request: Any, service: Optional[Service]) -> Optional[Verdict]:
    auth = getattr(request, "auth", None)
    if isinstance(auth, Verdict):
        return auth
    cached = getattr(request, "keytui_key", None)
    if isinstance(cached, Verdict):
        return cached
    outcome = _authenticate(service or get_service(), request)
    if outcome is None or not outcome.accepted:
        return None
    request.keytui_key = outcome.verdict
    return outcome.verdict


class HasKeytuiKey(permissions.BasePermission):
    """Passes requests that carry a valid keytui key (and, when the view sets
    ``keytui_scopes``, every scope named there)."""

    message = "A valid API key is required."
    service: Optional[Service] = None
    required_scopes: FrozenSet[str] = frozenset()

    def has_permission(self, request: Any, view: Any) -> bool:
        verdict = _verdict(request, self.service)
        if verdict is None or not verdict.valid:
            return False
        need = set(self.required_scopes)
        for s in getattr(view, "keytui_scopes", ()) or ():
            need |= parse_scopes(s)
        return need <= verdict.scopes


def require_scopes(*scopes: str) -> Type[HasKeytuiKey]:
    """A permission class requiring a valid key whose ``scopes`` metadata (comma
    separated) holds every one of ``scopes``: ``permission_classes = [require_scopes("read")]``."""
    need = frozenset().union(*(parse_scopes(s) for s in scopes))
    return type(
        "HasKeytuiScopes",
        (HasKeytuiKey,),
        {"required_scopes": need, "message": f"The API key lacks a scope: {', '.join(sorted(need))}."},
    )
