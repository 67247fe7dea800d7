"""REST framework views: keytui's classes, and djangorestframework-api-key's HasAPIKey."""

from django.http import HttpResponse
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.permissions import HasAPIKey

from keytui.drf import HasKeytuiKey, KeytuiAuthentication, require_scopes


def _key(request):
    key = request.auth if request.auth is not None else getattr(request, "keytui_key", None)
    user = request.user
    return {
        "user": user.get_username() if user is not None and user.is_authenticated else None,
        "key": getattr(key, "id", None),
        "name": getattr(key, "name", None),
        "meta": dict(getattr(key, "meta", {}) or {}),
    }


class WhoAmI(APIView):
    authentication_classes = [KeytuiAuthentication]
    permission_classes = [HasKeytuiKey]

    def get(self, request):
        return Response(_key(request))


class Write(APIView):
    authentication_classes = [KeytuiAuthentication]
    permission_classes = [require_scopes("write")]

    def get(self, request):
        return Response(_key(request))


class PermissionOnly(APIView):
    """HasKeytuiKey alone, as HasAPIKey is used: no authentication class."""

    authentication_classes = []
    permission_classes = [HasKeytuiKey]

    def get(self, request):
        return Response({"key": request.keytui_key.id})


class ApiKeyOnly(APIView):
    """djangorestframework-api-key's HasAPIKey (its APIKey model, sqlite)."""

    authentication_classes = []
    permission_classes = [HasAPIKey]

    def get(self, request):
        return Response({"ok": True})


def recheck_seconds(request):
    """Test knob (KEYTUI_TEST_KNOBS=1): sets the service's RECHECK_SECONDS to ``?s=``."""
    from keytui.django import get_service

    get_service().RECHECK_SECONDS = float(request.GET["s"])
    return HttpResponse("ok\n")
