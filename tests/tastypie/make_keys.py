"""Creates users and their tastypie ApiKey rows with tastypie itself (`ApiKey.objects.create`
generates each key with `ApiKey.generate_key`), then prints `username key` lines so the test
knows what to verify. Usernames come from argv."""

import sys

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from tastypie.models import ApiKey  # noqa: E402

for name in sys.argv[1:]:
    user = User.objects.create_user(username=name, password="unused-password")
    key = ApiKey.objects.get_or_create(user=user)[0]
    print(name, key.key)
