"""Verify keytui API keys against Redis, following docs/redis-layout.md (layouts 1 and 2).

The pure rules (token splitting, checksums, the verdict of a fetched record) and the
blocking redis-py calls. ``keytui.aio`` runs the same rules over ``redis.asyncio``; the web
integrations (``keytui.django``, ``keytui.tastypie``, ``keytui.drf``, ``keytui.fastapi``) sit
on top. Needs redis-py and the standard library only; never writes to Redis except
``last_used_at`` when asked.

A verification is one round trip (``HMGET``); the comparison is constant-time
(``hmac.compare_digest``) and happens before the status is looked at, so a caller without
the secret learns nothing about a key's status. A record keytui did not write (a key of
another Redis type, a hash missing some fields, unparseable values) is rejected as
``malformed``: never an exception for that key.

Two reads give the same verdicts (the layout's "Verifying a key: one round trip"):

- the layout-1 read, ``HMGET`` of :data:`FIELDS` (the six fields verification needs, and
  ``meta``). Right for every namespace, since keytui keeps those fields in layout 2 too;
  :func:`decide` judges its reply.
- the layout-2 read, ``HMGET`` of :data:`VERIFY_FIELDS`: the record's ``verify`` field (the
  six parts in one value) and ``meta``. Only for namespaces whose ``{ns}:meta`` says layout
  2, which the one round trip does not read: check it once at start-up
  (:func:`check_namespace`, :func:`layout_of`) and pass ``layout=``.
  :func:`decide_verify_field` judges its reply.

A namespace that does not exist yet at start-up reads as layout 1. The web integrations
read its ``{ns}:meta`` again, at most once per :data:`RECHECK_SECONDS`, when a verification
finds a record (``on_record=``), and from then on use the layout they find.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
import types
import zlib
from typing import (
    Any,
    Callable,
    Dict,
    FrozenSet,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

#: The newest layout version this module reads (it reads every one from 1 to this).
LAYOUT_VERSION = 2

#: Every rejection reason :func:`verify` and :func:`verify_token` can give.
REASONS = ("unknown", "wrong_secret", "bad_checksum", "revoked", "expired", "malformed")

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
CHECKSUM_LEN = 6
MAX_ID_LEN = 128
#: Longest Authorization header looked at; longer ones are refused without hashing.
MAX_HEADER = 4096

_NAMESPACE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}\Z")
# A unix time in ms as keytui reads one (Rust's i64 parse): ASCII digits, an optional sign.
_MS_RE = re.compile(r"[+-]?[0-9]+\Z")
_LOWER_RE = re.compile(r"[a-z]+\Z")

# The script of the layout doc, "Recording use": never a plain HSET, which would create a
# record for an unknown id.
TOUCH_SCRIPT = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then "
    "redis.call('HSET', KEYS[1], 'last_used_at', ARGV[1]) end return 1"
)

#: The fields the layout-1 read gets (the layout's HMGET plus ``meta``); right in layout 2
#: too.
FIELDS = ("status", "secret_alg", "secret", "expires_at", "token_checksum", "name", "meta")

#: The fields the layout-2 read gets: ``verify`` (see "The verify field") plus ``meta``.
VERIFY_FIELDS = ("verify", "meta")

#: Seconds between two reads of a ``{ns}:meta`` that was missing at an integration's
#: start-up check (the namespace did not exist yet): the integrations (``keytui.django``'s
#: ``Service``, ``keytui.fastapi``'s ``KeytuiAuth``) read it again when a verification finds
#: a record, at most this often, until it exists. Their ``RECHECK_SECONDS`` attribute
#: (default: this) may be set per class or instance.
RECHECK_SECONDS = 10.0

#: The ``secret_alg`` values of the layout; any other makes the record malformed.
SECRET_ALGS = ("sha256", "hmac-sha256", "plain")

# The separator of the parts of a ``verify`` value, and their number.
_TAB = b"\t"
_VERIFY_PARTS = 6

Bytesish = Union[str, bytes]
Fields = Sequence[Optional[Bytesish]]
_EMPTY: Mapping[str, str] = types.MappingProxyType({})


class KeytuiError(Exception):
    """Verification could not be carried out (not a rejection)."""


class PepperRequired(KeytuiError):
    """The record is stored with hmac-sha256 and no pepper was given."""


class MalformedRecord(KeytuiError):
    """The record breaks the layout (unknown secret_alg, bad expires_at, ...).

    Raised by :func:`stored_form` only; :func:`verify` turns it into a ``malformed``
    rejection."""


class NamespaceError(KeytuiError):
    """Invalid namespace name, unknown layout version, or a pepper that does not match."""


class Verdict(NamedTuple):
    """The outcome of a verification. ``bool(verdict)`` is ``verdict.valid``.

    A valid verdict is the key: ``id``, ``name`` and ``meta`` (the record's metadata, str to
    str, read-only). ``reason`` is None when valid, else one of :data:`REASONS`."""

    valid: bool
    reason: Optional[str]
    id: Optional[str]  # None when a token could not be split
    name: Optional[str]  # valid verdicts only
    meta: Mapping[str, str] = _EMPTY  # valid verdicts only

    def __bool__(self) -> bool:
        return self.valid

    @property
    def scopes(self) -> FrozenSet[str]:
        """The comma-separated ``scopes`` metadata, as a set (empty when absent)."""
        return parse_scopes(self.meta.get("scopes", ""))

    def has_scopes(self, *required: str) -> bool:
        """Whether the key is valid and its ``scopes`` metadata holds every one of
        ``required`` (each may itself be comma separated)."""
        if not self.valid:
            return False
        need: Set[str] = set()
        for r in required:
            need |= parse_scopes(r)
        return need <= self.scopes


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


def now_ms() -> int:
    """Unix time in milliseconds."""
    return time.time_ns() // 1_000_000


# ---- pure helpers ----------------------------------------------------------------------


def parse_scopes(text: str) -> FrozenSet[str]:
    """``"read, write"`` -> ``{"read", "write"}``: comma separated, blanks dropped."""
    return frozenset(s.strip() for s in text.split(",") if s.strip())


def has_scope(verdict: Verdict, *required: str) -> bool:
    """Whether ``verdict`` is valid and carries every scope in ``required``."""
    return verdict.has_scopes(*required)


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


def check_namespace_name(namespace: str) -> None:
    """Raises :class:`NamespaceError` unless :func:`valid_namespace`."""
    if not valid_namespace(namespace):
        raise NamespaceError(f"invalid namespace {namespace!r}: 1 to 64 of A-Z a-z 0-9 . - _")


def record_key(namespace: str, key_id: str) -> str:
    """``ns:key:{ID}``."""
    return f"{namespace}:key:{{{key_id}}}"


def meta_key(namespace: str) -> str:
    """``{ns}:meta``."""
    return f"{{{namespace}}}:meta"


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


def pepper_check(pepper: Bytesish) -> str:
    """The namespace meta's ``pepper_check`` for ``pepper``."""
    return hmac.new(_bytes(pepper), b"keytui pepper check", hashlib.sha256).hexdigest()[:16]


def parse_authorization(header: Optional[str]) -> Optional[Tuple[str, ...]]:
    """Parses an ``Authorization`` header value.

    ``ApiKey <id>:<secret>`` (what tastypie clients send) gives ``("apikey", id, secret)``,
    split at the first colon; ``Bearer <token>`` and ``Api-Key <token>`` (what
    djangorestframework-api-key clients send) give ``("token", token)``. The scheme is
    case-insensitive. Anything else (missing, empty parts, other schemes, too long) gives
    ``None``.
    """
    if not header or not isinstance(header, str) or len(header) > MAX_HEADER:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value or any(c.isspace() for c in value):
        return None
    scheme = scheme.lower()
    if scheme == "apikey":
        key_id, sep, secret = value.partition(":")
        if not sep or not key_id or not secret:
            return None
        return ("apikey", key_id, secret)
    if scheme in ("bearer", "api-key"):
        return ("token", value)
    return None


def claimed_id(header: Optional[str]) -> Optional[str]:
    """The key id a header claims (unverified), e.g. for throttling: the ApiKey id, or the
    id split from a token."""
    parsed = parse_authorization(header)
    if parsed is None:
        return None
    if parsed[0] == "apikey":
        return parsed[1]
    try:
        return split_token(parsed[1]).id
    except ValueError:
        return None


# ---- the verdict of one fetched record (no I/O) ----------------------------------------


def is_wrong_type(e: BaseException) -> bool:
    """Whether a redis error says the record key holds another Redis type."""
    return str(e).startswith("WRONGTYPE")


def _parse_meta(raw: Optional[Bytesish]) -> Optional[Mapping[str, str]]:
    """The ``meta`` field as a read-only dict; None when it is not a JSON object of strings."""
    if raw is None or raw in (b"", ""):
        return _EMPTY
    try:
        obj = json.loads(_bytes(raw).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(obj, dict) or not all(isinstance(v, str) for v in obj.values()):
        return None
    return types.MappingProxyType(obj)


class Stored(NamedTuple):
    """What a record says about verification, from either read. ``secret`` is the stored
    form (a digest, or in ``plain`` namespaces the secret itself): never log one."""

    active: bool  # status is "active"; any other status counts as revoked
    alg: str  # the secret_alg, not checked yet
    secret: bytes
    expires_at: str  # empty: never expires; not checked to be a number yet
    token_checksum: bool  # tokens of the key end in a checksum
    name: str

    def __repr__(self) -> str:
        return f"Stored(active={self.active}, alg={self.alg!r}, ...)"


def stored_from_fields(fields: Fields) -> Union[Stored, str]:
    """The layout-1 read (:data:`FIELDS`, as ``HMGET`` returns them) as :class:`Stored`, or
    the reason it cannot be: ``unknown`` when none of status, secret_alg and secret is
    there (no record), ``malformed`` when some are missing."""
    status, alg, stored, expires_at, with_checksum, name = _pad(fields)[:6]
    if status is None or alg is None or stored is None:
        none = status is None and alg is None and stored is None
        return "unknown" if none else "malformed"
    return Stored(
        active=_text(status) == "active",
        alg=_text(alg),
        secret=_bytes(stored),
        expires_at=_text(expires_at) if expires_at is not None else "",
        token_checksum=with_checksum is not None and _text(with_checksum) == "1",
        name=_text(name) if name is not None else "",
    )


def stored_from_verify_field(value: Optional[Bytesish]) -> Union[Stored, str]:
    """The layout-2 read's ``verify`` value as :class:`Stored`, or the reason it cannot be:
    ``unknown`` when the field is absent (no record), ``malformed`` when the value is
    ``malformed``, has fewer than six tab-separated parts, or a status other than
    ``active`` or ``revoked``. The sixth part, the name, is the rest of the value, tabs
    included."""
    if value is None:
        return "unknown"
    parts = _bytes(value).split(_TAB, _VERIFY_PARTS - 1)
    if len(parts) < _VERIFY_PARTS or parts[0] not in (b"active", b"revoked"):
        return "malformed"  # `malformed` itself is one part
    status, alg, expires_at, with_checksum, stored, name = parts
    return Stored(
        active=status == b"active",
        alg=_text(alg),
        secret=stored,
        expires_at=_text(expires_at),
        token_checksum=with_checksum == b"1",
        name=_text(name),
    )


def judge(
    key_id: str,
    stored: Stored,
    raw_meta: Optional[Bytesish],
    secret: Bytesish,
    pepper: Optional[bytes],
    now: Optional[int] = None,
) -> Verdict:
    """Steps 2 to 5 of the layout's verification, the same for both reads: the secret
    (constant time, first), the status, the expiry; then ``meta``. Raises only
    :class:`PepperRequired`."""
    try:
        computed = stored_form(stored.alg, secret, pepper)
    except MalformedRecord:
        return _reject("malformed", key_id)
    # Constant time; a length difference only tells the digest length / plain length.
    if not hmac.compare_digest(computed, stored.secret):
        return _reject("wrong_secret", key_id)
    if not stored.active:
        return _reject("revoked", key_id)
    if stored.expires_at != "":
        exp_ms = _parse_ms(stored.expires_at)
        if exp_ms is None:
            return _reject("malformed", key_id)
        if exp_ms <= (now_ms() if now is None else int(now)):
            return _reject("expired", key_id)
    meta = _parse_meta(raw_meta)
    if meta is None:
        return _reject("malformed", key_id)
    return Verdict(True, None, key_id, stored.name, meta)


def decide(
    key_id: str,
    fields: Fields,
    secret: Bytesish,
    pepper: Optional[bytes],
    now: Optional[int] = None,
) -> Verdict:
    """The verdict for ``secret`` given the record's :data:`FIELDS` (the layout-1 read, as
    ``HMGET`` returns them). Raises only :class:`PepperRequired`."""
    stored = stored_from_fields(fields)
    if isinstance(stored, str):
        return _reject(stored, key_id)
    return judge(key_id, stored, _pad(fields)[6], secret, pepper, now)


def decide_verify_field(
    key_id: str,
    verify_value: Optional[Bytesish],
    raw_meta: Optional[Bytesish],
    secret: Bytesish,
    pepper: Optional[bytes],
    now: Optional[int] = None,
) -> Verdict:
    """The verdict for ``secret`` given the record's ``verify`` and ``meta`` fields (the
    layout-2 read, :data:`VERIFY_FIELDS`). The same verdict as :func:`decide` for a record
    whose ``verify`` agrees with its fields. Raises only :class:`PepperRequired`."""
    stored = stored_from_verify_field(verify_value)
    if isinstance(stored, str):
        return _reject(stored, key_id)
    return judge(key_id, stored, raw_meta, secret, pepper, now)


def _parse_ms(text: str) -> Optional[int]:
    """A unix time in ms, or None when ``text`` is not one keytui would read (spaces,
    ``_``, other digits than ASCII, or out of the 64-bit range)."""
    if not _MS_RE.match(text):
        return None
    n = int(text)
    return n if -(2**63) <= n < 2**63 else None


def _pad(fields: Fields) -> List[Optional[Bytesish]]:
    f = list(fields)
    return f + [None] * (len(FIELDS) - len(f))


def token_rest(token: str, tok: Token, stored: Stored) -> Union[str, Verdict]:
    """The secret part of ``token`` given what its record says, or the rejection decided
    before any hashing: ``malformed`` for an unknown secret_alg, ``bad_checksum`` when the
    record wants a checksum and the token's last 6 characters are not the checksum of the
    rest."""
    if stored.alg not in SECRET_ALGS:
        return _reject("malformed", tok.id)
    if stored.token_checksum:
        body, given = token[:-CHECKSUM_LEN], token[-CHECKSUM_LEN:]
        if len(tok.rest) <= CHECKSUM_LEN or not hmac.compare_digest(
            checksum(body).encode("ascii"), _bytes(given)
        ):
            return _reject("bad_checksum", tok.id)
        return tok.rest[:-CHECKSUM_LEN]
    return tok.rest


def token_secret(token: str, tok: Token, fields: Fields) -> Union[str, Verdict]:
    """The secret part of ``token`` given its record's fields (the layout-1 read), or the
    rejection (unknown, malformed or bad_checksum) decided before any hashing."""
    stored = stored_from_fields(fields)
    if isinstance(stored, str):
        return _reject(stored, tok.id)
    return token_rest(token, tok, stored)


def token_secret_from_verify_field(
    token: str, tok: Token, verify_value: Optional[Bytesish]
) -> Union[str, Verdict]:
    """As :func:`token_secret`, given the record's ``verify`` value (the layout-2 read)."""
    stored = stored_from_verify_field(verify_value)
    if isinstance(stored, str):
        return _reject(stored, tok.id)
    return token_rest(token, tok, stored)


def decide_reply(
    key_id: str,
    reply: Fields,
    one_field: bool,
    secret: Bytesish,
    pepper: Optional[bytes],
    now: Optional[int] = None,
) -> Verdict:
    """:func:`decide_verify_field` of a layout-2 read's reply (``one_field``), else
    :func:`decide` of a layout-1 read's."""
    if one_field:
        verify_value, raw_meta = _pad(reply)[:2]
        return decide_verify_field(key_id, verify_value, raw_meta, secret, pepper, now)
    return decide(key_id, reply, secret, pepper, now)


def token_secret_of_reply(
    token: str, tok: Token, reply: Fields, one_field: bool
) -> Union[str, Verdict]:
    """:func:`token_secret_from_verify_field` of a layout-2 read's reply (``one_field``),
    else :func:`token_secret` of a layout-1 read's."""
    if one_field:
        return token_secret_from_verify_field(token, tok, _pad(reply)[0])
    return token_secret(token, tok, reply)


def record_seen(reply: Optional[Fields]) -> bool:
    """Whether an ``HMGET`` reply of a record key shows a record exists: some field read is
    not nil. (None, a key of another Redis type, is no record.)"""
    return reply is not None and any(v is not None for v in reply)


def plan_token(token: str) -> Union[Token, Verdict]:
    """Splits ``token`` for verification, or the 'unknown' verdict when it cannot name a key."""
    try:
        tok = split_token(token)
    except ValueError:
        return _reject("unknown", None)
    if not valid_id(tok.id):
        return _reject("unknown", tok.id)
    return tok


def meta_problem(
    meta: Mapping[str, str],
    namespace: str,
    pepper: Optional[bytes],
    check_pepper: bool = True,
) -> None:
    """Raises :class:`NamespaceError` / :class:`PepperRequired` when ``{ns}:meta`` says
    this verifier must not verify the namespace (newer layout, wrong or missing pepper)."""
    if not meta:
        return
    if "layout" not in meta:
        raise NamespaceError(f"namespace {namespace}: its meta hash has no layout field")
    try:
        layout = int(meta["layout"])
    except ValueError:
        raise NamespaceError(f"namespace {namespace}: layout is not a number") from None
    if layout < 1:
        raise NamespaceError(f"namespace {namespace}: layout {layout} is not a layout version")
    if layout > LAYOUT_VERSION:
        raise NamespaceError(
            f"namespace {namespace} uses layout {layout}; this verifier knows {LAYOUT_VERSION}"
        )
    if check_pepper and meta.get("secret_alg") == "hmac-sha256":
        if not pepper:
            raise PepperRequired(f"namespace {namespace} hashes secrets with a pepper")
        check = meta.get("pepper_check")
        if check and not hmac.compare_digest(pepper_check(pepper), check):
            raise NamespaceError(f"the pepper does not match namespace {namespace}")


def reads_verify_field(layout: int) -> bool:
    """Whether a namespace of ``layout`` is verified with the layout-2 read. Raises
    :class:`NamespaceError` for a layout this module does not read (not 1 to
    :data:`LAYOUT_VERSION`)."""
    if isinstance(layout, bool) or not isinstance(layout, int):
        raise NamespaceError(f"layout {layout!r} is not a layout version")
    if not 1 <= layout <= LAYOUT_VERSION:
        raise NamespaceError(f"layout {layout}: this verifier reads 1 to {LAYOUT_VERSION}")
    return layout >= 2


def layout_of(meta: Mapping[str, str]) -> int:
    """The layout of a namespace, from the meta :func:`check_namespace` returned: its
    ``layout`` field, or 1 when the namespace does not exist yet (the layout-1 read is
    right for whatever layout keytui creates it with; read the meta again once it exists,
    as the integrations do, to use the layout-2 read)."""
    if not meta:
        return 1
    return int(meta["layout"])


def _meta_not_a_hash(e: Exception, namespace: str) -> Exception:
    """A WRONGTYPE reply for ``{ns}:meta`` as a NamespaceError; any other error as is."""
    if str(e).startswith("WRONGTYPE"):
        return NamespaceError(f"namespace {namespace}: {meta_key(namespace)} is not a hash")
    return e


def text_dict(raw: Mapping[Any, Any]) -> Dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


# ---- blocking redis-py calls -----------------------------------------------------------


def _fetch(r: Any, namespace: str, key_id: str, one_field: bool) -> Optional[Fields]:
    """The record's :data:`VERIFY_FIELDS` (``one_field``) or :data:`FIELDS`; None when the
    key holds another Redis type."""
    from redis.exceptions import ResponseError

    names = list(VERIFY_FIELDS if one_field else FIELDS)
    try:
        return r.hmget(record_key(namespace, key_id), names)
    except ResponseError as e:
        if is_wrong_type(e):
            return None
        raise


def verify(
    r: Any,
    namespace: str,
    key_id: str,
    secret: Bytesish,
    *,
    pepper: Optional[bytes] = None,
    now_ms: Optional[int] = None,
    record_use: bool = False,
    layout: int = 1,
    on_record: Optional[Callable[[], Any]] = None,
) -> Verdict:
    """Verifies ``secret`` for the key ``key_id`` in one round trip.

    ``r`` is a ``redis.Redis`` or ``redis.cluster.RedisCluster`` (``decode_responses``
    either way). ``pepper`` is needed for ``hmac-sha256`` records (``PepperRequired``
    otherwise). ``now_ms`` overrides the clock (unix ms). With ``record_use`` a valid
    verification also sets ``last_used_at`` (a second round trip).
    ``layout`` is the namespace's layout as checked at start-up (:func:`layout_of`): 2
    reads the one ``verify`` field, 1 (the default, right for every namespace) the fields
    it is made of.
    ``on_record``, when given, is called (without arguments, before the verdict is decided)
    when the read's reply shows a record exists (:func:`record_seen`); the integrations use
    it to notice that a namespace missing at start-up now exists.
    Raises ``KeytuiError`` or redis errors; rejections are verdicts, not exceptions.
    """
    check_namespace_name(namespace)
    one_field = reads_verify_field(layout)
    if not valid_id(key_id):
        return _reject("unknown", None if not isinstance(key_id, str) else key_id)
    reply = _fetch(r, namespace, key_id, one_field)
    if on_record is not None and record_seen(reply):
        on_record()
    if reply is None:
        return _reject("malformed", key_id)
    v = decide_reply(key_id, reply, one_field, secret, pepper, now_ms)
    if v.valid and record_use:
        _record_use(r, namespace, key_id, now_ms)
    return v


def verify_token(
    r: Any,
    namespace: str,
    token: str,
    *,
    pepper: Optional[bytes] = None,
    now_ms: Optional[int] = None,
    record_use: bool = False,
    layout: int = 1,
    on_record: Optional[Callable[[], Any]] = None,
) -> Verdict:
    """Verifies a whole token (``[prefix_]id_secret[checksum]``) in one round trip.

    The checksum is checked (when the record's ``token_checksum`` is ``1``) before the
    secret; a token that cannot be split is 'unknown'. Options as for :func:`verify`.
    """
    check_namespace_name(namespace)
    one_field = reads_verify_field(layout)
    tok = plan_token(token)
    if isinstance(tok, Verdict):
        return tok
    reply = _fetch(r, namespace, tok.id, one_field)
    if on_record is not None and record_seen(reply):
        on_record()
    if reply is None:
        return _reject("malformed", tok.id)
    secret = token_secret_of_reply(token, tok, reply, one_field)
    if isinstance(secret, Verdict):
        return secret
    v = decide_reply(tok.id, reply, one_field, secret, pepper, now_ms)
    if v.valid and record_use:
        _record_use(r, namespace, tok.id, now_ms)
    return v


def verify_header(
    r: Any,
    namespace: str,
    header: Optional[str],
    **opts: Any,
) -> Optional[Verdict]:
    """Verifies an ``Authorization`` header value (see :func:`parse_authorization`);
    None when it carries no keytui credentials. ``opts`` as for :func:`verify`
    (``pepper``, ``now_ms``, ``record_use``, ``layout``, ``on_record``)."""
    parsed = parse_authorization(header)
    if parsed is None:
        return None
    if parsed[0] == "apikey":
        return verify(r, namespace, parsed[1], parsed[2], **opts)
    return verify_token(r, namespace, parsed[1], **opts)


def _record_use(r: Any, namespace: str, key_id: str, now: Optional[int]) -> None:
    ts = now_ms() if now is None else int(now)
    r.eval(TOUCH_SCRIPT, 1, record_key(namespace, key_id), str(ts))


def record_use(r: Any, namespace: str, key_id: str, now_ms: Optional[int] = None) -> None:
    """Sets ``last_used_at`` of an existing key (never creates a record)."""
    check_namespace_name(namespace)
    if valid_id(key_id):
        _record_use(r, namespace, key_id, now_ms)


def check_namespace(
    r: Any,
    namespace: str,
    pepper: Optional[bytes] = None,
    check_pepper: bool = True,
) -> Dict[str, str]:
    """Reads ``{ns}:meta`` once (at start-up, not per request) and checks it: a layout
    newer than :data:`LAYOUT_VERSION` or a pepper that does not match ``pepper_check``
    raises ``NamespaceError`` (no pepper for a peppered namespace: ``PepperRequired``).
    ``check_pepper=False`` checks the layout only. Returns the meta fields as str (empty
    dict: no namespace yet); :func:`layout_of` of it is the ``layout=`` to verify with."""
    check_namespace_name(namespace)
    try:
        raw = r.hgetall(meta_key(namespace)) or {}
    except Exception as e:  # redis.ResponseError; redis is imported lazily
        raise _meta_not_a_hash(e, namespace) from None
    meta = text_dict(raw)
    meta_problem(meta, namespace, pepper, check_pepper)
    return meta


# ---- configuration helpers -------------------------------------------------------------


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


def _retry(asyncio: bool, retries: int) -> Any:
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    if asyncio:
        from redis.asyncio.retry import Retry
    else:
        from redis.retry import Retry  # type: ignore[assignment]
    # Only connection errors (a connection dropped by a restarted server) are retried, at
    # once: a timeout is not, so a hung server costs one timeout, not four with back-off.
    return Retry(NoBackoff(), retries, supported_errors=(RedisConnectionError,))


def _split_urls(url: str) -> List[str]:
    urls = [u.strip() for u in url.split(",") if u.strip()]
    if not urls:
        raise KeytuiError("no Redis URL")
    return urls


def connect(
    url: str,
    cluster: bool = False,
    timeout: float = 5.0,
    connect_timeout: Optional[float] = None,
    retries: int = 1,
) -> Any:
    """A blocking client for ``url`` (``redis://`` or ``rediss://``) with the given read
    ``timeout`` and ``connect_timeout`` (seconds, default ``timeout``). With ``cluster``,
    a ``RedisCluster``; several seed URLs may then be given separated by commas."""
    import redis

    urls = _split_urls(url)
    opts: Dict[str, Any] = dict(
        socket_connect_timeout=timeout if connect_timeout is None else connect_timeout,
        socket_timeout=timeout,
        retry=_retry(False, retries),
    )
    if not cluster:
        if len(urls) > 1:
            raise KeytuiError("several URLs need cluster mode")
        return redis.Redis.from_url(urls[0], **opts)
    from urllib.parse import urlsplit

    from redis.cluster import ClusterNode, RedisCluster

    extra = []
    for u in urls[1:]:
        p = urlsplit(u)
        extra.append(ClusterNode(p.hostname or "127.0.0.1", p.port or 6379))
    if extra:
        return RedisCluster.from_url(urls[0], startup_nodes=extra, **opts)
    return RedisCluster.from_url(urls[0], **opts)


def connect_async(
    url: str,
    cluster: bool = False,
    timeout: float = 5.0,
    connect_timeout: Optional[float] = None,
    retries: int = 1,
) -> Any:
    """Like :func:`connect`, a ``redis.asyncio`` client (created without I/O)."""
    import redis.asyncio as aredis

    urls = _split_urls(url)
    opts: Dict[str, Any] = dict(
        socket_connect_timeout=timeout if connect_timeout is None else connect_timeout,
        socket_timeout=timeout,
        retry=_retry(True, retries),
    )
    if not cluster:
        if len(urls) > 1:
            raise KeytuiError("several URLs need cluster mode")
        return aredis.Redis.from_url(urls[0], **opts)
    from urllib.parse import urlsplit

    from redis.asyncio.cluster import ClusterNode, RedisCluster

    extra = []
    for u in urls[1:]:
        p = urlsplit(u)
        extra.append(ClusterNode(p.hostname or "127.0.0.1", p.port or 6379))
    if extra:
        return RedisCluster.from_url(urls[0], startup_nodes=extra, **opts)
    return RedisCluster.from_url(urls[0], **opts)
