import os

from django.http import HttpResponse
from django.urls import include, path
from tastypie.api import Api

from . import api, views

tp = Api(api_name="v1")
for r in (api.keytui_users, api.keytui_open, api.tastypie_users):
    tp.register(r)

urlpatterns = [
    path("health", lambda request: HttpResponse("ok\n")),
    path("tp/", include(tp.urls)),
    path("drf/whoami", views.WhoAmI.as_view()),
    path("drf/write", views.Write.as_view()),
    path("drf/permission-only", views.PermissionOnly.as_view()),
    path("drf/apikey", views.ApiKeyOnly.as_view()),
]
if os.environ.get("KEYTUI_TEST_KNOBS") == "1":
    urlpatterns.append(path("test/recheck-seconds", views.recheck_seconds))
