"""Settings of the test (and bench) Django project: tastypie and REST framework endpoints
with keytui's classes beside the frameworks' own API key classes. Configured by env:
KEYTUI_TEST_URL, KEYTUI_TEST_NAMESPACE, KEYTUI_TEST_PEPPER, KEYTUI_TEST_QS (1: query-string
credentials on), KEYTUI_TEST_DB (the sqlite file)."""

import os

BASE_DIR = os.path.dirname(os.path.abspath(__file__))
SECRET_KEY = "keytui-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
ROOT_URLCONF = "djapp.urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "tastypie",
    "rest_framework",
    "rest_framework_api_key",
    "keytui.django",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("KEYTUI_TEST_DB", os.path.join(BASE_DIR, "db.sqlite3")),
        "OPTIONS": {"timeout": 20},
    }
}

KEYTUI = {
    "URL": os.environ.get("KEYTUI_TEST_URL", "redis://127.0.0.1:6379"),
    "NAMESPACE": os.environ.get("KEYTUI_TEST_NAMESPACE", "keytui"),
    "PEPPER": os.environ.get("KEYTUI_TEST_PEPPER") or None,
    "QUERY_STRING_CREDENTIALS": os.environ.get("KEYTUI_TEST_QS") == "1",
    "TIMEOUT": 0.5,
    "CONNECT_TIMEOUT": 0.5,
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"keytui": {"handlers": ["console"], "level": "INFO"}},
}
