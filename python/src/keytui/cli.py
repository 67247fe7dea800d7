"""``keytui-verify``: verify a keytui key from the shell (the secret, or with ``--token``
the whole token, is read from standard input).

Exit status: 0 valid (prints ``valid: ID``), 1 rejected (prints ``rejected: REASON``),
2 error (one line on standard error), as ``keytui verify``.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn, Optional, Sequence

from .core import (
    KeytuiError,
    check_namespace,
    check_namespace_name,
    connect,
    layout_of,
    pepper_from_env,
    verify,
    verify_token,
)


def _one_line(e: BaseException) -> str:
    msg = str(e) or e.__class__.__name__
    return " ".join(msg.split())[:500]


def _read_input(what: str) -> str:
    if sys.stdin is None:
        raise KeytuiError(f"no {what} on standard input")
    if sys.stdin.isatty():
        import getpass

        text = getpass.getpass(f"{what}: ")
    else:
        data = sys.stdin.buffer.read(64 * 1024)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise KeytuiError(f"the {what} on standard input is not UTF-8") from None
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    if not text:
        raise KeytuiError(
            f"no {what} on standard input (pipe it in: printf %s \"$SECRET\" | ... ID)"
        )
    return text


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    import json

    class Parser(argparse.ArgumentParser):
        def error(self, message: str) -> NoReturn:  # one line, exit 2
            sys.stderr.write(f"keytui-verify: {message}\n")
            raise SystemExit(2)

    p = Parser(
        prog="keytui-verify",
        description="Verify a keytui key: the secret (or with --token the token) is read "
        "from standard input. Exit 0 valid, 1 rejected, 2 error.",
    )
    p.add_argument("id", nargs="?", help="the key id (omit with --token)")
    p.add_argument(
        "--url",
        default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379",
        help="Redis URL [env REDIS_URL, default redis://127.0.0.1:6379]",
    )
    p.add_argument(
        "-n",
        "--namespace",
        default=os.environ.get("KEYTUI_NAMESPACE") or "keytui",
        help="namespace [env KEYTUI_NAMESPACE, default keytui]",
    )
    p.add_argument("--token", action="store_true", help="read a whole token from stdin")
    p.add_argument("--cluster", action="store_true", help="connect to a Redis Cluster")
    p.add_argument(
        "--pepper-env",
        default="KEYTUI_PEPPER",
        metavar="VAR",
        help="environment variable holding the pepper [default KEYTUI_PEPPER]",
    )
    p.add_argument(
        "--record-use", action="store_true", help="set last_used_at when valid"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    if a.token and a.id is not None:
        p.error("give either an ID or --token, not both")
    if not a.token and a.id is None:
        p.error("give the key ID (or --token)")

    try:
        pepper = pepper_from_env(a.pepper_env)
        check_namespace_name(a.namespace)
        text = _read_input("token" if a.token else "secret")
        r = connect(a.url, cluster=a.cluster)
        # The layout first: a newer one is an error (exit 2), never a verdict read by rules
        # this verifier does not know; a layout-2 namespace is read through its `verify`
        # field. The pepper is judged per key, as `keytui verify` does.
        meta = check_namespace(r, a.namespace, pepper, check_pepper=False)
        opts = dict(pepper=pepper, record_use=a.record_use, layout=layout_of(meta))
        if a.token:
            v = verify_token(r, a.namespace, text, **opts)
        else:
            v = verify(r, a.namespace, a.id, text, **opts)
    except KeyboardInterrupt:
        sys.stderr.write("keytui-verify: interrupted\n")
        return 2
    except Exception as e:  # noqa: BLE001 - any failure is exit 2, one line, no traceback
        sys.stderr.write(f"keytui-verify: {_one_line(e)}\n")
        return 2

    out = sys.stdout
    if v.valid:
        if a.json:
            out.write(json.dumps({"valid": True, "id": v.id, "name": v.name}) + "\n")
        else:
            out.write(f"valid: {v.id}\n")
        return 0
    if a.json:
        out.write(json.dumps({"valid": False, "reason": v.reason}) + "\n")
    else:
        out.write(f"rejected: {v.reason}\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
