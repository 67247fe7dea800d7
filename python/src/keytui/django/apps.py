"""The ``keytui.django`` app: checks the namespace once at start-up."""

from __future__ import annotations

from django.apps import AppConfig


class KeytuiConfig(AppConfig):
    name = "keytui.django"
    label = "keytui"
    verbose_name = "keytui API keys"

    def ready(self) -> None:
        from . import get_service

        service = get_service()
        if service.config.check_at_startup:
            service.check_namespace()
