"""``manage.py keytui_export``: write django-tastypie's ``ApiKey`` rows as the JSON lines
``keytui import`` reads, so a migration is two commands:

    python manage.py keytui_export --output keys.jsonl
    keytui --url redis://... -n prod import keys.jsonl && rm keys.jsonl

(or piped: ``python manage.py keytui_export | keytui -n prod import``). Each line is
``{"id": <username>, "secret": <key>, "name": ..., "created_at": <unix ms>,
"meta": {"user": <username>, "source": "tastypie"}}``: the key id is the username, so
clients keep sending ``Authorization: ApiKey <username>:<key>``, and the ``user`` metadata
maps the key back to the Django user (``KEYTUI["USER_FIELD"]``). Rows with an empty key,
and users whose username is not a valid key id (spaces, braces, non-ASCII, over 128
characters), are skipped and reported on standard error.
"""

from __future__ import annotations

import json
import os
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from ....core import valid_id


def _id_ok(username: str) -> bool:
    return valid_id(username) and username.isascii() and username.isprintable()


class Command(BaseCommand):
    help = (
        "Export django-tastypie ApiKey rows as JSON lines for `keytui import` "
        "(the secrets: keep the output private)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--output",
            "-o",
            metavar="FILE",
            help="write to FILE (created with mode 0600, never overwritten); default stdout",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            from tastypie.models import ApiKey
        except ImportError:
            raise CommandError("django-tastypie is not installed") from None
        from django.contrib.auth import get_user_model

        username_field = str(getattr(get_user_model(), "USERNAME_FIELD", "username"))
        path = opts.get("output")
        if path:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                raise CommandError(f"{path} exists; not overwritten") from None
            except OSError as e:
                raise CommandError(f"cannot create {path}: {e.strerror}") from None
            out: TextIO = os.fdopen(fd, "w", encoding="utf-8")
        else:
            out = self.stdout  # type: ignore[assignment]
        written = skipped = 0
        try:
            rows = ApiKey.objects.select_related("user").order_by("pk")
            for row in rows.iterator():
                username = str(getattr(row.user, username_field))
                if not row.key:
                    skipped += 1
                    self.stderr.write(f"skipped {username!r}: empty key")
                    continue
                if not _id_ok(username):
                    skipped += 1
                    self.stderr.write(
                        f"skipped {username!r}: not a valid keytui key id "
                        "(printable ASCII without spaces or braces, at most 128)"
                    )
                    continue
                line = {
                    "id": username,
                    "secret": row.key,
                    "name": f"{username} (tastypie)",
                    "meta": {"user": username, "source": "tastypie"},
                }
                if row.created is not None:
                    line["created_at"] = int(row.created.timestamp() * 1000)
                out.write(json.dumps(line, ensure_ascii=True) + "\n")
                written += 1
        finally:
            if path:
                out.close()
            else:
                out.flush()
        self.stderr.write(f"exported {written} keys, skipped {skipped}")
