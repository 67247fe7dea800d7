"""The smallest Django project that django-tastypie's ApiKey model runs in: used by
tests/it/import_tastypie.rs to produce real `manage.py dumpdata tastypie.ApiKey` output."""

import os

SECRET_KEY = "keytui-test-only"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "tastypie",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["KEYTUI_TEST_DB"],
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
