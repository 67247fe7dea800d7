"""keytui for Python apps: verify API keys that keytui keeps in Redis.

    import keytui
    r = keytui.connect("redis://127.0.0.1:6379", timeout=0.5)
    meta = keytui.check_namespace(r, "prod")  # once at start-up
    v = keytui.verify_token(r, "prod", "sk_live_<id>_<secret><checksum>",
                            layout=keytui.layout_of(meta))
    if v.valid:
        v.id, v.name, v.meta, v.scopes
    else:
        v.reason  # unknown | wrong_secret | bad_checksum | revoked | expired | malformed

``keytui.aio`` has the same functions for ``redis.asyncio``. Integrations:
``keytui.tastypie``, ``keytui.drf``, ``keytui.django`` (settings, start-up check, the
``keytui_export`` management command) and ``keytui.fastapi``.
"""

from .core import (
    BASE62,
    CHECKSUM_LEN,
    FIELDS,
    LAYOUT_VERSION,
    REASONS,
    VERIFY_FIELDS,
    KeytuiError,
    MalformedRecord,
    NamespaceError,
    PepperRequired,
    Token,
    Verdict,
    check_namespace,
    checksum,
    claimed_id,
    connect,
    connect_async,
    has_scope,
    layout_of,
    parse_authorization,
    parse_scopes,
    pepper_from_env,
    record_key,
    record_use,
    split_token,
    stored_form,
    valid_id,
    valid_namespace,
    verify,
    verify_header,
    verify_token,
)

__version__ = "0.2.0"

__all__ = [
    "BASE62",
    "CHECKSUM_LEN",
    "FIELDS",
    "LAYOUT_VERSION",
    "REASONS",
    "VERIFY_FIELDS",
    "KeytuiError",
    "MalformedRecord",
    "NamespaceError",
    "PepperRequired",
    "Token",
    "Verdict",
    "check_namespace",
    "checksum",
    "claimed_id",
    "connect",
    "connect_async",
    "has_scope",
    "layout_of",
    "parse_authorization",
    "parse_scopes",
    "pepper_from_env",
    "record_key",
    "record_use",
    "split_token",
    "stored_form",
    "valid_id",
    "valid_namespace",
    "verify",
    "verify_header",
    "verify_token",
]
