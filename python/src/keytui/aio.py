"""The verifier over ``redis.asyncio``: the same rules, reads and verdicts as
:mod:`keytui.core`, awaited. One round trip per verification (the layout-1 read, or with
``layout=2`` the ``verify`` field); never writes except ``last_used_at`` when asked."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from .core import (
    FIELDS,
    VERIFY_FIELDS,
    Bytesish,
    Fields,
    Verdict,
    _reject,
    _meta_not_a_hash,
    check_namespace_name,
    connect_async,
    decide_reply,
    is_wrong_type,
    meta_key,
    meta_problem,
    now_ms,
    parse_authorization,
    plan_token,
    reads_verify_field,
    record_key,
    record_seen,
    text_dict,
    token_secret_of_reply,
    valid_id,
    TOUCH_SCRIPT,
)

__all__ = ["verify", "verify_token", "verify_header", "record_use", "check_namespace", "connect"]

#: ``keytui.aio.connect(url, ...)``: a ``redis.asyncio`` client (see :func:`keytui.connect`).
connect = connect_async


async def _fetch(r: Any, namespace: str, key_id: str, one_field: bool) -> Optional[Fields]:
    from redis.exceptions import ResponseError

    names = list(VERIFY_FIELDS if one_field else FIELDS)
    try:
        return await r.hmget(record_key(namespace, key_id), names)
    except ResponseError as e:
        if is_wrong_type(e):
            return None
        raise


async def verify(
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
    """As :func:`keytui.verify`, with a ``redis.asyncio`` client."""
    check_namespace_name(namespace)
    one_field = reads_verify_field(layout)
    if not valid_id(key_id):
        return _reject("unknown", None if not isinstance(key_id, str) else key_id)
    reply = await _fetch(r, namespace, key_id, one_field)
    if on_record is not None and record_seen(reply):
        on_record()
    if reply is None:
        return _reject("malformed", key_id)
    v = decide_reply(key_id, reply, one_field, secret, pepper, now_ms)
    if v.valid and record_use:
        await _record_use(r, namespace, key_id, now_ms)
    return v


async def verify_token(
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
    """As :func:`keytui.verify_token`, with a ``redis.asyncio`` client."""
    check_namespace_name(namespace)
    one_field = reads_verify_field(layout)
    tok = plan_token(token)
    if isinstance(tok, Verdict):
        return tok
    reply = await _fetch(r, namespace, tok.id, one_field)
    if on_record is not None and record_seen(reply):
        on_record()
    if reply is None:
        return _reject("malformed", tok.id)
    secret = token_secret_of_reply(token, tok, reply, one_field)
    if isinstance(secret, Verdict):
        return secret
    v = decide_reply(tok.id, reply, one_field, secret, pepper, now_ms)
    if v.valid and record_use:
        await _record_use(r, namespace, tok.id, now_ms)
    return v


async def verify_header(
    r: Any, namespace: str, header: Optional[str], **opts: Any
) -> Optional[Verdict]:
    """As :func:`keytui.verify_header`: None when the header carries no keytui credentials."""
    parsed = parse_authorization(header)
    if parsed is None:
        return None
    if parsed[0] == "apikey":
        return await verify(r, namespace, parsed[1], parsed[2], **opts)
    return await verify_token(r, namespace, parsed[1], **opts)


async def _record_use(r: Any, namespace: str, key_id: str, now: Optional[int]) -> None:
    ts = now_ms() if now is None else int(now)
    await r.eval(TOUCH_SCRIPT, 1, record_key(namespace, key_id), str(ts))


async def record_use(r: Any, namespace: str, key_id: str, now_ms: Optional[int] = None) -> None:
    """Sets ``last_used_at`` of an existing key (never creates a record)."""
    check_namespace_name(namespace)
    if valid_id(key_id):
        await _record_use(r, namespace, key_id, now_ms)


async def check_namespace(
    r: Any, namespace: str, pepper: Optional[bytes] = None
) -> Dict[str, str]:
    """As :func:`keytui.check_namespace`: once at start-up; :func:`keytui.layout_of` of
    the result is the ``layout=`` to verify with."""
    check_namespace_name(namespace)
    try:
        raw = await r.hgetall(meta_key(namespace)) or {}
    except Exception as e:  # redis.ResponseError; redis is imported lazily
        raise _meta_not_a_hash(e, namespace) from None
    meta = text_dict(raw)
    meta_problem(meta, namespace, pepper)
    return meta
