#!/usr/bin/env python3
"""Verify keytui API keys against Redis, following docs/redis-layout.md (layout 1).

Depends on redis-py and the standard library only. Use it as a module:

    import redis, keytui_verify
    r = redis.Redis.from_url("redis://127.0.0.1:6379")
    v = keytui_verify.verify(r, "prod", key_id, secret)
    if v.valid: ...            # v.id, v.name
    else: print(v.reason)      # 'unknown', 'wrong_secret', 'bad_checksum', 'revoked', 'expired'

    v = keytui_verify.verify_token(r, "prod", "sk_live_<id>_<secret><checksum>")

or run it (the secret, or with --token the whole token, is read from standard input):

    printf %s "$SECRET" | python3 keytui_verify.py --url redis://... --namespace prod ID

Exit status: 0 valid (prints ``valid: ID``), 1 rejected (prints ``rejected: REASON``),
2 error (one line on standard error).

A verification is one round trip (``HMGET``); the comparison is constant-time
(``hmac.compare_digest``) and happens before the status is looked at, so a caller without
the secret learns nothing about a key's status.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import sys
import time
import zlib
from typing import NamedTuple, Optional, Union

__all__ = [
    "LAYOUT_VERSION",
    "REASONS",
    "Verdict",
    "Token",
    "KeytuiError",
    "PepperRequired",
    "MalformedRecord",
    "NamespaceError",
    "checksum",
    "split_token",
    "valid_id",
    "valid_namespace",
    "record_key",
    "stored_form",
    "verify",
    "verify_token",
    "record_use",
    "check_namespace",
    "pepper_from_env",
    "connect",
    "main",
]

#: The layout version this module implements.
LAYOUT_VERSION = 1

#: Every rejection reason :func:`verify` and :func:`verify_token` can give.
REASONS = ("unknown", "wrong_secret", "bad_checksum", "revoked", "expired")

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_LEN = 6
MAX_ID_LEN = 128

_NAMESPACE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
_LOWER_RE = re.compile(r"[a-z]+\Z")

# The script of the layout doc, "Recording use": never a plain HSET, which would create a
# record for an unknown id.
_TOUCH_SCRIPT = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then "
    "redis.call('HSET', KEYS[1], 'last_used_at', ARGV[1]) end return 1"
)

_FIELDS = ("status", "secret_alg", "secret", "expires_at", "token_checksum", "name")

Bytesish = Union[str, bytes]


class KeytuiError(Exception):
    """Verification could not be carried out (not a rejection)."""


class PepperRequired(KeytuiError):
    """The record is stored with hmac-sha256 and no pepper was given."""


class MalformedRecord(KeytuiError):
    """The record breaks the layout (unknown secret_alg, bad expires_at, ...)."""


class NamespaceError(KeytuiError):
    """Invalid namespace name, unknown layout version, or a pepper that does not match."""


class Verdict(NamedTuple):
    """The outcome of a verification. ``bool(verdict)`` is ``verdict.valid``."""

    valid: bool
    reason: Optional[str]  # None when valid, else one of REASONS
    id: Optional[str]  # the key id (None when a token could not be split)
    name: Optional[str]  # the key's name (valid verdicts only)

    def __bool__(self) -> bool:  # pragma: no cover - trivial
        return self.valid


class Token(NamedTuple):
    """A token split per the layout: ``rest`` is the secret, with the checksum if any."""

    prefix: Optional[str]
    id: str
    rest: str


def _reject(reason: str, key_id: Optional[str]) -> Verdict:
    return Verdict(False, reason, key_id, None)


def _text(v: Bytesish) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else v


def _bytes(v: Bytesish) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# ---- pure helpers ----------------------------------------------------------------------


def checksum(text: Bytesish) -> str:
    """CRC-32 (IEEE, zlib) of ``text`` as exactly 6 base62 digits, most significant first."""
    n = zlib.crc32(_bytes(text)) & 0xFFFFFFFF
    digits = []
    for _ in range(CHECKSUM_LEN):
        n, d = divmod(n, 62)
        digits.append(BASE62[d])
    return "".join(reversed(digits))  # 62**6 > 2**32, so nothing is left in n


def split_token(token: str) -> Token:
    """Splits ``[prefix "_"] id "_" secret [checksum]``.

    The leading ``_``-separated segments made only of lowercase ASCII letters are the
    prefix, the next segment is the id, and everything after the ``_`` that follows the id
    is ``rest`` (the secret, plus the checksum when the record says so).
    Raises ``ValueError`` when the token has no id or no secret.
    """
    if not isinstance(token, str):
        raise ValueError("token must be a str")
    parts = token.split("_")
    i = 0
    while i < len(parts) and _LOWER_RE.match(parts[i]):
        i += 1
    if i >= len(parts) - 1:
        raise ValueError("not a token: no id and secret")
    key_id = parts[i]
    rest = "_".join(parts[i + 1 :])
    if not key_id or not rest:
        raise ValueError("not a token: empty id or secret")
    prefix = "_".join(parts[:i]) or None
    return Token(prefix, key_id, rest)


def valid_id(key_id: object) -> bool:
    """Whether ``key_id`` may be put in a record key name: a non-empty str of at most 128
    characters without braces or whitespace. Anything else can only be 'unknown'."""
    if not isinstance(key_id, str) or not key_id or len(key_id) > MAX_ID_LEN:
        return False
    return not any(c in "{}" or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in key_id)


def valid_namespace(namespace: object) -> bool:
    """1 to 64 characters of ``A-Z a-z 0-9 . - _``."""
    return isinstance(namespace, str) and bool(_NAMESPACE_RE.match(namespace))


def _check_namespace_name(namespace: str) -> None:
    if not valid_namespace(namespace):
        raise NamespaceError(
            f"invalid namespace {namespace!r}: 1 to 64 of A-Z a-z 0-9 . - _"
        )


def record_key(namespace: str, key_id: str) -> str:
    """``ns:key:{ID}``."""
    return f"{namespace}:key:{{{key_id}}}"


def stored_form(alg: str, secret: Bytesish, pepper: Optional[bytes] = None) -> bytes:
    """What a record's ``secret`` field holds for ``secret`` under ``alg``."""
    s = _bytes(secret)
    if alg == "sha256":
        return hashlib.sha256(s).hexdigest().encode("ascii")
    if alg == "hmac-sha256":
        if not pepper:
            raise PepperRequired(
                "the key is stored with hmac-sha256: a pepper is needed (KEYTUI_PEPPER)"
            )
        return hmac.new(_bytes(pepper), s, hashlib.sha256).hexdigest().encode("ascii")
    if alg == "plain":
        return s
    raise MalformedRecord(f"unknown secret_alg {alg[:40]!r}")


# ---- verification ----------------------------------------------------------------------


def _fetch(r, namespace: str, key_id: str):
    return r.hmget(record_key(namespace, key_id), list(_FIELDS))


def _decide(
    key_id: str,
    fields,
    secret: Bytesish,
    pepper: Optional[bytes],
    now_ms: Optional[int],
) -> Verdict:
    status, alg, stored, expires_at, _checksum, name = fields
    if status is None or alg is None or stored is None:
        return _reject("unknown", key_id)
    computed = stored_form(_text(alg), secret, pepper)
    # Constant time; a length difference only tells the digest length / plain length.
    if not hmac.compare_digest(computed, _bytes(stored)):
        return _reject("wrong_secret", key_id)
    if _text(status) != "active":
        return _reject("revoked", key_id)
    exp = _text(expires_at) if expires_at is not None else ""
    if exp != "":
        try:
            exp_ms = int(exp)
        except ValueError:
            raise MalformedRecord(
                f"key {key_id}: expires_at is not a unix time in ms"
            ) from None
        if exp_ms <= (_now_ms() if now_ms is None else int(now_ms)):
            return _reject("expired", key_id)
    return Verdict(True, None, key_id, _text(name) if name is not None else "")


def verify(
    r,
    namespace: str,
    key_id: str,
    secret: Bytesish,
    *,
    pepper: Optional[bytes] = None,
    now_ms: Optional[int] = None,
    record_use: bool = False,
) -> Verdict:
    """Verifies ``secret`` for the key ``key_id`` in one round trip.

    ``r`` is a ``redis.Redis`` or ``redis.cluster.RedisCluster`` (``decode_responses``
    either way). ``pepper`` is needed for ``hmac-sha256`` records (``PepperRequired``
    otherwise). ``now_ms`` overrides the clock (unix ms). With ``record_use`` a valid
    verification also sets ``last_used_at`` (a second round trip).
    Raises ``KeytuiError`` or redis errors; rejections are verdicts, not exceptions.
    """
    _check_namespace_name(namespace)
    if not valid_id(key_id):
        return _reject("unknown", None if not isinstance(key_id, str) else key_id)
    v = _decide(key_id, _fetch(r, namespace, key_id), secret, pepper, now_ms)
    if v.valid and record_use:
        _record_use(r, namespace, key_id, now_ms)
    return v


def verify_token(
    r,
    namespace: str,
    token: str,
    *,
    pepper: Optional[bytes] = None,
    now_ms: Optional[int] = None,
    record_use: bool = False,
) -> Verdict:
    """Verifies a whole token (``[prefix_]id_secret[checksum]``) in one round trip.

    The checksum is checked (when the record's ``token_checksum`` is ``1``) before the
    secret; a token that cannot be split is 'unknown'.
    """
    _check_namespace_name(namespace)
    try:
        tok = split_token(token)
    except ValueError:
        return _reject("unknown", None)
    if not valid_id(tok.id):
        return _reject("unknown", tok.id)
    fields = _fetch(r, namespace, tok.id)
    status, alg, stored, _exp, with_checksum, _name = fields
    if status is None or alg is None or stored is None:
        return _reject("unknown", tok.id)
    secret = tok.rest
    if with_checksum is not None and _text(with_checksum) == "1":
        body, given = token[:-CHECKSUM_LEN], token[-CHECKSUM_LEN:]
        if len(tok.rest) <= CHECKSUM_LEN or not hmac.compare_digest(
            checksum(body).encode("ascii"), _bytes(given)
        ):
            return _reject("bad_checksum", tok.id)
        secret = tok.rest[:-CHECKSUM_LEN]
    v = _decide(tok.id, fields, secret, pepper, now_ms)
    if v.valid and record_use:
        _record_use(r, namespace, tok.id, now_ms)
    return v


def _record_use(r, namespace: str, key_id: str, now_ms: Optional[int]) -> None:
    ts = _now_ms() if now_ms is None else int(now_ms)
    r.eval(_TOUCH_SCRIPT, 1, record_key(namespace, key_id), str(ts))


def record_use(r, namespace: str, key_id: str, now_ms: Optional[int] = None) -> None:
    """Sets ``last_used_at`` of an existing key (never creates a record)."""
    _check_namespace_name(namespace)
    if valid_id(key_id):
        _record_use(r, namespace, key_id, now_ms)


def check_namespace(r, namespace: str, pepper: Optional[bytes] = None) -> dict:
    """Reads ``{ns}:meta`` once (e.g. at start-up, not per request) and checks it:
    a layout newer than 1 or a pepper that does not match ``pepper_check`` raises
    ``NamespaceError``. Returns the meta fields as str (empty dict: no namespace yet)."""
    _check_namespace_name(namespace)
    raw = r.hgetall(f"{{{namespace}}}:meta") or {}
    meta = {_text(k): _text(v) for k, v in raw.items()}
    if not meta:
        return meta
    try:
        layout = int(meta.get("layout", ""))
    except ValueError:
        raise NamespaceError(f"namespace {namespace}: layout is not a number") from None
    if layout > LAYOUT_VERSION:
        raise NamespaceError(
            f"namespace {namespace} uses layout {layout}; this verifier knows {LAYOUT_VERSION}"
        )
    if meta.get("secret_alg") == "hmac-sha256":
        if not pepper:
            raise PepperRequired(f"namespace {namespace} hashes secrets with a pepper")
        check = meta.get("pepper_check")
        mine = hmac.new(_bytes(pepper), b"keytui pepper check", hashlib.sha256).hexdigest()
        if check and not hmac.compare_digest(mine[:16], check):
            raise NamespaceError(f"the pepper does not match namespace {namespace}")
    return meta


# ---- connection and command line ---------------------------------------------------------


def pepper_from_env(var: str = "KEYTUI_PEPPER") -> Optional[bytes]:
    """The pepper from an environment variable (raw bytes); None when unset."""
    env = getattr(os, "environb", None)
    if env is not None:
        val = env.get(os.fsencode(var))
    else:  # pragma: no cover - Windows
        s = os.environ.get(var)
        val = s.encode("utf-8") if s is not None else None
    if val is None:
        return None
    if val == b"":
        raise KeytuiError(f"{var} is set but empty")
    return val


def connect(url: str, cluster: bool = False, timeout: float = 5.0):
    """A client for ``url`` (``redis://`` or ``rediss://``). With ``cluster``, a
    ``RedisCluster``; several seed URLs may then be given separated by commas."""
    import redis  # noqa: WPS433 - imported here so the helpers work without redis-py

    urls = [u.strip() for u in url.split(",") if u.strip()]
    if not urls:
        raise KeytuiError("no Redis URL")
    opts = dict(socket_connect_timeout=timeout, socket_timeout=timeout)
    if not cluster:
        if len(urls) > 1:
            raise KeytuiError("several URLs need --cluster")
        return redis.Redis.from_url(urls[0], **opts)
    from redis.cluster import ClusterNode, RedisCluster
    from urllib.parse import urlsplit

    extra = []
    for u in urls[1:]:
        p = urlsplit(u)
        extra.append(ClusterNode(p.hostname or "127.0.0.1", p.port or 6379))
    if extra:
        return RedisCluster.from_url(urls[0], startup_nodes=extra, **opts)
    return RedisCluster.from_url(urls[0], **opts)


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


def main(argv=None) -> int:
    import argparse
    import json

    class Parser(argparse.ArgumentParser):
        def error(self, message):  # one line, exit 2
            sys.stderr.write(f"keytui_verify: {message}\n")
            raise SystemExit(2)

    p = Parser(
        prog="keytui_verify.py",
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
        _check_namespace_name(a.namespace)
        text = _read_input("token" if a.token else "secret")
        r = connect(a.url, cluster=a.cluster)
        if a.token:
            v = verify_token(r, a.namespace, text, pepper=pepper, record_use=a.record_use)
        else:
            v = verify(r, a.namespace, a.id, text, pepper=pepper, record_use=a.record_use)
    except KeyboardInterrupt:
        sys.stderr.write("keytui_verify: interrupted\n")
        return 2
    except Exception as e:  # noqa: BLE001 - any failure is exit 2, one line, no traceback
        sys.stderr.write(f"keytui_verify: {_one_line(e)}\n")
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
