"""A KEYTUI["USER"] callable for the tests: the Django user named like the key."""

from django.contrib.auth.models import User


def by_key_name(verdict):
    return User.objects.filter(username=verdict.name).first()
