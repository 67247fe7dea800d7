#!/usr/bin/env python3
"""End-to-end test of the Python package's verifier (python/src/keytui: the module and the
`python -m keytui` / `keytui-verify` command) against keytui and a real Redis.

Plain script (no pytest): starts its own redis-server on a free loopback port, creates keys
with the keytui binary, verifies them three ways (the Python module, the Python command
line, `keytui verify --json`) and checks that all agree with what docs/redis-layout.md
prescribes. Prints `N passed, 0 failed` and exits 0 on success, exits 1 otherwise.

Layout 2: keytui creates namespaces of layout 2, whose records carry the `verify` field. In
those, the module verifies every case through both reads (the layout-1 `HMGET` of the
fields, and the layout-2 `HMGET verify meta`), blocking and asyncio, and the command line
(which checks the namespace first) uses the layout-2 read. Records the test writes by hand
go through the layout's own Lua function (layout_lua.py reads it from the doc),
as any writer must; test_verify_field writes `verify` values by hand to reach its parsing
edge cases, and a matrix of records checks that both reads give the same verdict for each.

keytui's tokens carry the layout's base62 CRC-32 checksum, so every verdict of
`keytui verify` (ids and tokens, with or without a prefix) must equal the layout's: any
disagreement between keytui and the Python verifier fails the test.

Sealed namespaces are made with `keytui init --mode sealed --generate-master-key FILE` in a
temporary directory; keytui gets the key file through KEYTUI_MASTER_KEY_FILE, the Python
verifier never sees it.

Env: KEYTUI_BIN (default <repo>/target/debug/keytui, built with `cargo build` if missing),
REDIS_SERVER (default redis-server).
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG_SRC = ROOT / "python" / "src"
# The command line of the package (`keytui-verify` once installed), run from the source tree.
SCRIPT = ["-m", "keytui"]

try:
    import redis
except ImportError:
    sys.exit("redis-py is missing: python3 -m pip install redis")

sys.path.insert(0, str(PKG_SRC))
import keytui as kv  # noqa: E402
from layout_lua import VERIFY_LUA, WRITE_FIELDS, write_fields_args, write_record_fields  # noqa: E402

# ---- bookkeeping ---------------------------------------------------------------------------

PASSED = 0
FAILED = []
NOTES = []  # parts skipped because this build or machine lacks something


def check(cond, what):
    global PASSED
    if cond:
        PASSED += 1
    else:
        FAILED.append(what)
        print(f"FAIL: {what}", flush=True)


def eq(got, want, what):
    check(got == want, f"{what}: got {got!r}, want {want!r}")


# ---- redis-server -----------------------------------------------------------------------------

_procs = []
_tmp = tempfile.mkdtemp(prefix="keytui-pytest-")


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except Exception:
                pass
    shutil.rmtree(_tmp, ignore_errors=True)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(*extra, tag="standalone"):
    exe = os.environ.get("REDIS_SERVER", "redis-server")
    d = os.path.join(_tmp, tag)
    os.makedirs(d, exist_ok=True)
    for _attempt in range(5):
        port = free_port()
        p = subprocess.Popen(
            [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", d, "--daemonize", "no", *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        _procs.append(p)
        client = redis.Redis(host="127.0.0.1", port=port)
        for _ in range(100):
            if p.poll() is not None:
                break
            try:
                client.ping()
                return port, client
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        p.kill()
    raise SystemExit("cannot start redis-server")


# ---- keytui binary --------------------------------------------------------------------------


def keytui_bin():
    env_bin = os.environ.get("KEYTUI_BIN")
    if env_bin:
        return env_bin
    b = ROOT / "target" / "debug" / "keytui"
    if not b.exists():
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
    return str(b)


KEYTUI = keytui_bin()
BASE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("REDIS_URL", "KEYTUI_NAMESPACE", "KEYTUI_PEPPER", "KEYTUI_LOG_FILE",
                         "KEYTUI_MASTER_KEY", "KEYTUI_MASTER_KEY_FILE")}
BASE_ENV["KEYTUI_ACTOR"] = "test@python"
BASE_ENV["PYTHONPATH"] = str(PKG_SRC)


def env_with(pepper=None, master_key_file=None):
    e = dict(BASE_ENV)
    if pepper is not None:
        e["KEYTUI_PEPPER"] = pepper
    if master_key_file is not None:
        e["KEYTUI_MASTER_KEY_FILE"] = str(master_key_file)
    return e


def kt(ns, *args, pepper=None, stdin=None, master_key_file=None):
    return subprocess.run([KEYTUI, "--url", URL, "-n", ns, *args], input=stdin,
                          capture_output=True, text=True,
                          env=env_with(pepper, master_key_file), timeout=60)


def create(ns, *extra, pepper=None, name="py-test", master_key_file=None):
    p = kt(ns, "create", "--name", name, "--json", *extra, pepper=pepper,
           master_key_file=master_key_file)
    if p.returncode != 0:
        raise AssertionError(f"keytui create failed: {p.stderr.strip()}")
    return json.loads(p.stdout.splitlines()[0])


# ---- the three verifiers --------------------------------------------------------------------
# Each returns "valid", a reason from kv.REASONS, or "error".


def via_module(ns, key_id=None, secret=None, token=None, pepper=None, client=None, now_ms=None,
               layout=1):
    c = client or R
    try:
        if token is not None:
            v = kv.verify_token(c, ns, token, pepper=pepper, now_ms=now_ms, layout=layout)
        else:
            v = kv.verify(c, ns, key_id, secret, pepper=pepper, now_ms=now_ms, layout=layout)
    except kv.KeytuiError:
        return "error"
    if v.valid:
        assert v.reason is None and v.id == (key_id or kv.split_token(token).id), v
        return "valid"
    assert v.reason in kv.REASONS, v
    return v.reason


def via_script(ns, key_id=None, secret=None, token=None, pepper=None, extra=()):
    args = [sys.executable, *SCRIPT, "--url", URL, "--namespace", ns, *extra]
    args += ["--token"] if token is not None else [key_id]
    env = env_with(pepper)
    p = subprocess.run(args, input=(token if token is not None else secret) + "\n",
                       capture_output=True, text=True, env=env, timeout=60)
    out = p.stdout.strip()
    if p.returncode == 0 and out.startswith("valid: "):
        return "valid"
    if p.returncode == 1 and out.startswith("rejected: "):
        return out[len("rejected: "):]
    if p.returncode == 2:
        check("Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1,
              f"script error is one line without traceback: {p.stderr!r}")
        return "error"
    return f"?rc={p.returncode} out={out!r} err={p.stderr.strip()!r}"


def via_rust(ns, key_id=None, secret=None, token=None, pepper=None):
    args = ["verify", "--json"] + (["--token"] if token is not None else [key_id])
    p = kt(ns, *args, pepper=pepper, stdin=(token if token is not None else secret) + "\n")
    if p.returncode == 2:
        return "error"
    try:
        v = json.loads(p.stdout)
    except ValueError:
        return f"?rc={p.returncode} out={p.stdout!r}"
    return "valid" if v.get("valid") else v.get("reason")


def via_aio(ns, key_id=None, secret=None, token=None, pepper=None, now_ms=None, layout=1):
    """As via_module, through keytui.aio with a redis.asyncio client of its own."""
    import asyncio

    import keytui.aio as kva
    import redis.asyncio as aredis

    async def run():
        ar = aredis.Redis(host="127.0.0.1", port=PORT)
        try:
            if token is not None:
                return await kva.verify_token(ar, ns, token, pepper=pepper, now_ms=now_ms,
                                              layout=layout)
            return await kva.verify(ar, ns, key_id, secret, pepper=pepper, now_ms=now_ms,
                                    layout=layout)
        finally:
            await ar.aclose()

    try:
        v = asyncio.run(run())
    except kv.KeytuiError:
        return "error"
    return "valid" if v.valid else v.reason


def ns_layout(ns):
    """The layout in `{ns}:meta`, 1 when absent (the read that is right for every layout)."""
    raw = R.hget(f"{{{ns}}}:meta", "layout")
    return int(raw) if raw is not None else 1


def case(what, want, ns, **kw):
    """Verifies with all three (module, script, `keytui verify`) and checks each against
    `want`: any disagreement fails. The module verifies through the layout-1 read and, in
    a namespace of layout 2, through the layout-2 read too, blocking and asyncio."""
    m = via_module(ns, **kw)
    s = via_script(ns, **kw)
    rs = via_rust(ns, **kw)
    eq(m, want, f"{what} [module]")
    eq(s, want, f"{what} [script]")
    eq(rs, want, f"{what} [keytui verify]")
    check(m == s == rs, f"{what}: module, script and keytui agree ({m} / {s} / {rs})")
    if ns_layout(ns) >= 2:
        eq(via_module(ns, layout=2, **kw), want, f"{what} [module, layout-2 read]")
        eq(via_aio(ns, layout=2, **kw), want, f"{what} [aio, layout-2 read]")
        eq(via_aio(ns, layout=1, **kw), want, f"{what} [aio, layout-1 read]")


def record(ns, key_id):
    return {k.decode(): v.decode() for k, v in R.hgetall(kv.record_key(ns, key_id)).items()}


def write_fields(ns, key_id, mapping=None, delete=(), client=None):
    """Changes a record's fields the way the layout asks any writer to: in one script that
    ends by rewriting `verify` (a plain HSET would leave `verify` stale)."""
    write_record_fields(client or R, kv.record_key(ns, key_id), mapping, delete)


def verify_value(rec):
    """What `verify` must hold for a record's fields (str dict): the Lua function's twin."""
    if not any(f in rec for f in ("status", "secret_alg", "secret")):
        return None
    if not all(f in rec for f in ("status", "secret_alg", "secret")):
        return "malformed"
    parts = ["active" if rec["status"] == "active" else "revoked", rec["secret_alg"],
             rec.get("expires_at", ""), rec.get("token_checksum", "0"), rec["secret"]]
    if any("\t" in p for p in parts[1:]):
        return "malformed"
    return "\t".join(parts) + "\t" + rec.get("name", "")


def check_verify_field(ns, key_id, what):
    """keytui wrote the record's `verify` field in step with its fields."""
    rec = record(ns, key_id)
    eq(rec.get("verify"), verify_value(rec), f"{what}: the verify field matches the fields")


def flip(c):
    return "1" if c != "1" else "2"


def b62_decode(s):
    n = 0
    for c in s:
        n = n * 62 + kv.BASE62.index(c)
    return n


# ---- the tests ------------------------------------------------------------------------------


def test_pure_helpers():
    # checksum: 6 base62 chars that decode back to the CRC-32
    for text in ["", "a", "123456789", "sk_live_4fQx0bZ9LmP2sT7a_secret", "ü-ñ"]:
        c = kv.checksum(text)
        eq(len(c), 6, f"checksum({text!r}) length")
        check(all(ch in kv.BASE62 for ch in c), f"checksum({text!r}) alphabet")
        eq(b62_decode(c), zlib.crc32(text.encode("utf-8")), f"checksum({text!r}) value")
    eq(kv.checksum(""), "000000", "crc32('') = 0 zero-padded")
    # 0xCBF43926 is the standard CRC-32 check value of "123456789"
    eq(b62_decode(kv.checksum("123456789")), 0xCBF43926, "CRC-32 check value")
    eq(kv.BASE62, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "alphabet")

    T = kv.Token
    eq(kv.split_token("sk_live_AbC123_sec_ret"), T("sk_live", "AbC123", "sec_ret"), "split prefix")
    eq(kv.split_token("AbC_x"), T(None, "AbC", "x"), "split no prefix")
    eq(kv.split_token("abc_0a1b_x_y_"), T("abc", "0a1b", "x_y_"), "split keeps _ in secret")
    eq(kv.split_token("123_abc"), T(None, "123", "abc"), "digit id, lowercase secret")
    for bad in ["", "abc", "abc_def", "abc_Def", "abc_Def_", "AbC_", "_x", "sk__Id_x"]:
        try:
            kv.split_token(bad)
            ok = False
        except ValueError:
            ok = True
        check(ok, f"split_token({bad!r}) is refused")

    for good in ["4fQx0bZ9LmP2sT7a", "0123abcd", "x" * 128, "a-b.c:d"]:
        check(kv.valid_id(good), f"valid_id({good!r})")
    for bad in ["", "a{b", "a}b", "{x}", "a b", "a\tb", "a\nb", "x" * 129, None, 5]:
        check(not kv.valid_id(bad), f"not valid_id({bad!r})")
    eq(kv.record_key("prod", "4fQx0bZ9LmP2sT7a"), "prod:key:{4fQx0bZ9LmP2sT7a}", "record key")
    eq(kv.stored_form("sha256", "abc"),
       b"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "sha256 vector")
    eq(kv.stored_form("hmac-sha256", "what do ya want for nothing?", b"Jefe"),
       b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "RFC 4231 case 2")
    eq(kv.stored_form("plain", "s3cret"), b"s3cret", "plain")


def test_hash_namespace():
    ns = "pyt-hash"
    k = create(ns)
    kid, sec = k["id"], k["secret"]
    rec = record(ns, kid)
    # conformance of what keytui wrote
    eq(rec.get("id"), kid, "record id field")
    eq(rec.get("secret_alg"), "sha256", "hash namespace stores sha256")
    eq(rec.get("secret"), hashlib.sha256(sec.encode()).hexdigest(), "secret is sha256 hex")
    eq(rec.get("status"), "active", "status active")
    check(sec not in "".join(rec.values()), "the secret itself is not stored")
    eq(R.zscore(f"{{{ns}}}:index", kid), float(rec["created_at"]), "indexed by created_at")
    eq(R.hget(f"{{{ns}}}:meta", "layout"), b"2", "keytui creates namespaces of layout 2")
    eq(kv.layout_of(kv.check_namespace(R, ns)), 2, "layout_of a new namespace")
    eq(rec.get("verify"), "\t".join(["active", "sha256", "", "1", rec["secret"], "py-test"]),
       "the verify field of a new record")
    check_verify_field(ns, kid, "create")

    case("valid id+secret", "valid", ns, key_id=kid, secret=sec)
    # negative controls: a verifier that accepts everything fails these
    case("wrong secret (last char changed)", "wrong_secret", ns, key_id=kid, secret=sec[:-1] + flip(sec[-1]))
    case("wrong secret (other text)", "wrong_secret", ns, key_id=kid, secret="x")
    case("secret with a trailing space", "wrong_secret", ns, key_id=kid, secret=sec + " ")
    check(not kv.verify(R, ns, kid, sec + "0").valid, "negative control: wrong secret is not valid")
    check(not kv.verify(R, ns, kid, "").valid, "empty secret is not valid")
    case("unknown id", "unknown", ns, key_id="Zz9" + kid[3:] + "Q", secret=sec)
    case("right id in another namespace", "unknown", "pyt-other", key_id=kid, secret=sec)
    for bad in ["a{b}c", kid + "}", "has space", "x" * 129]:
        case(f"invalid id {bad[:20]!r}", "unknown", ns, key_id=bad, secret=sec)
    eq(R.exists(kv.record_key(ns, "a{b}c")), 0, "nothing created for an invalid id")

    # a decode_responses client gives the same verdicts
    Rs = redis.Redis(host="127.0.0.1", port=PORT, decode_responses=True)
    eq(via_module(ns, key_id=kid, secret=sec, client=Rs), "valid", "decode_responses: valid")
    eq(via_module(ns, key_id=kid, secret="nope", client=Rs), "wrong_secret", "decode_responses: wrong")
    v = kv.verify(R, ns, kid, sec)
    eq((v.valid, v.reason, v.id, v.name), (True, None, kid, "py-test"), "Verdict fields")

    # revoked (and the secret check comes first)
    k2 = create(ns, name="to-revoke")
    p = kt(ns, "revoke", k2["id"], "--reason", "test")
    eq(p.returncode, 0, "keytui revoke")
    check_verify_field(ns, k2["id"], "revoke")
    check(record(ns, k2["id"]).get("verify", "").startswith("revoked\t"), "revoke: verify says revoked")
    case("revoked", "revoked", ns, key_id=k2["id"], secret=k2["secret"])
    case("revoked + wrong secret", "wrong_secret", ns, key_id=k2["id"], secret="wrong")

    # expired: HSET a past expires_at directly
    k3 = create(ns, "--expires", "1h", name="to-expire")
    case("not yet expired", "valid", ns, key_id=k3["id"], secret=k3["secret"])
    write_fields(ns, k3["id"], {"expires_at": str(int(time.time() * 1000) - 1000)})
    case("expired", "expired", ns, key_id=k3["id"], secret=k3["secret"])
    case("expired + wrong secret", "wrong_secret", ns, key_id=k3["id"], secret="wrong")
    # the boundary: expires_at <= now is expired
    t = int(R.hget(kv.record_key(ns, k3["id"]), "expires_at"))
    eq(via_module(ns, key_id=k3["id"], secret=k3["secret"], now_ms=t), "expired", "expires_at == now")
    eq(via_module(ns, key_id=k3["id"], secret=k3["secret"], now_ms=t - 1), "valid", "expires_at == now+1")
    for layout in (1, 2):
        eq(via_module(ns, key_id=k3["id"], secret=k3["secret"], now_ms=t, layout=layout), "expired",
           f"expires_at == now [layout-{layout} read]")
        eq(via_module(ns, key_id=k3["id"], secret=k3["secret"], now_ms=t - 1, layout=layout),
           "valid", f"expires_at == now+1 [layout-{layout} read]")
    # empty expires_at means never
    write_fields(ns, k3["id"], {"expires_at": ""})
    case("empty expires_at", "valid", ns, key_id=k3["id"], secret=k3["secret"])
    # malformed records are rejections ('malformed', exit 1) in Python; keytui never calls
    # them valid
    write_fields(ns, k3["id"], {"expires_at": "soon"})
    eq(via_module(ns, key_id=k3["id"], secret=k3["secret"]), "malformed", "bad expires_at [module]")
    eq(via_module(ns, key_id=k3["id"], secret=k3["secret"], layout=2), "malformed",
       "bad expires_at [module, layout-2 read]")
    eq(via_script(ns, key_id=k3["id"], secret=k3["secret"]), "malformed", "bad expires_at [script]")
    check(via_rust(ns, key_id=k3["id"], secret=k3["secret"]) != "valid", "bad expires_at [keytui]")
    write_fields(ns, k3["id"], {"expires_at": "", "secret_alg": "md5"})
    eq(via_module(ns, key_id=k3["id"], secret=k3["secret"]), "malformed", "unknown alg [module]")
    eq(via_module(ns, key_id=k3["id"], secret=k3["secret"], layout=2), "malformed",
       "unknown alg [module, layout-2 read]")
    eq(via_script(ns, key_id=k3["id"], secret=k3["secret"]), "malformed", "unknown alg [script]")
    check(via_rust(ns, key_id=k3["id"], secret=k3["secret"]) != "valid", "unknown alg [keytui]")

    # a record missing some of the required fields is malformed (none of them: unknown)
    k4 = create(ns, name="broken")
    write_fields(ns, k4["id"], delete=["secret"])
    eq(record(ns, k4["id"]).get("verify"), "malformed", "no secret: verify is 'malformed'")
    eq(via_module(ns, key_id=k4["id"], secret=k4["secret"]), "malformed", "no secret [module]")
    eq(via_module(ns, key_id=k4["id"], secret=k4["secret"], layout=2), "malformed",
       "no secret [module, layout-2 read]")
    eq(via_script(ns, key_id=k4["id"], secret=k4["secret"]), "malformed", "no secret [script]")
    check(via_rust(ns, key_id=k4["id"], secret=k4["secret"]) != "valid", "no secret [keytui]")

    # record_use
    key = kv.record_key(ns, kid)
    R.hdel(key, "last_used_at")
    kv.verify(R, ns, kid, "wrong", record_use=True)
    eq(R.hget(key, "last_used_at"), None, "record_use: nothing on a rejection")
    before = int(time.time() * 1000)
    check(kv.verify(R, ns, kid, sec, record_use=True).valid, "record_use: valid")
    lu = R.hget(key, "last_used_at")
    check(lu is not None and before <= int(lu) <= int(time.time() * 1000) + 1, f"last_used_at set ({lu})")
    kv.record_use(R, ns, "NoSuchKey123")
    eq(R.exists(kv.record_key(ns, "NoSuchKey123")), 0, "record_use never creates a record")
    R.hdel(key, "last_used_at")
    eq(via_script(ns, key_id=kid, secret=sec, extra=["--record-use"]), "valid", "script --record-use")
    check(R.hget(key, "last_used_at") is not None, "script --record-use sets last_used_at")
    return k


def test_tokens():
    ns = "pyt-tok"
    k = create(ns)
    kid, sec, tok = k["id"], k["secret"], k["token"]
    eq(record(ns, kid).get("token_checksum"), "1", "tokens carry a checksum by default")

    # keytui's own token follows the layout: id _ secret, then the base62 CRC-32
    body, tail = tok[:-6], tok[-6:]
    eq(body, f"{kid}_{sec}", "keytui token = id _ secret checksum")
    eq(tail, kv.checksum(body), "keytui token checksum is the layout's base62 CRC-32")
    case("keytui's own token", "valid", ns, token=tok)

    good = f"{kid}_{sec}" + kv.checksum(f"{kid}_{sec}")
    eq(good, tok, "the layout's token equals keytui's")
    case("good token", "valid", ns, token=good)
    for i in range(1, 7):
        bad = good[:-i] + flip(good[-i]) + good[len(good) - i + 1:]
        case(f"token with checksum char -{i} flipped", "bad_checksum", ns, token=bad)
    bad_secret_char = good[:-7] + flip(good[-7]) + good[-6:]
    case("token with a secret char flipped", "bad_checksum", ns, token=bad_secret_char)
    case("keytui's token with a checksum char flipped", "bad_checksum", ns,
         token=tok[:-1] + flip(tok[-1]))
    wrong = f"{kid}_{flip(sec[0])}{sec[1:]}"
    case("token, good checksum, wrong secret", "wrong_secret", ns,
         token=wrong + kv.checksum(wrong))
    case("token without its checksum", "bad_checksum", ns, token=f"{kid}_{sec}")
    case("token of an unknown id", "unknown", ns, token="Zz9Unknown_" + sec + kv.checksum("Zz9Unknown_" + sec))
    case("not a token", "unknown", ns, token="nounderscore")
    case("all lowercase, no id", "unknown", ns, token="abc_def")
    eq(via_module(ns, token=""), "unknown", "empty token [module]")
    eq(via_module(ns, token="{x}_" + sec), "unknown", "token with an invalid id [module]")

    # prefix
    kp = create(ns, "--prefix", "sk_live")
    eq(record(ns, kp["id"]).get("token_prefix"), "sk_live", "token_prefix stored")
    body = f"sk_live_{kp['id']}_{kp['secret']}"
    eq(kp["token"], body + kv.checksum(body), "prefixed keytui token: checksum covers the prefix")
    eq(kv.split_token(kp["token"]).prefix, "sk_live", "prefix parses")
    case("keytui's own prefixed token", "valid", ns, token=kp["token"])
    case("good prefixed token", "valid", ns, token=body + kv.checksum(body))
    case("prefixed token, checksum without the prefix", "bad_checksum", ns,
         token=body + kv.checksum(f"{kp['id']}_{kp['secret']}"))
    case("prefixed token, checksum char flipped", "bad_checksum", ns,
         token=kp["token"][:-1] + flip(kp["token"][-1]))

    # no checksum: the whole rest is the secret, and keytui's own token must verify
    kn = create(ns, "--no-checksum")
    eq(record(ns, kn["id"]).get("token_checksum"), "0", "--no-checksum stores 0")
    eq(kn["token"], f"{kn['id']}_{kn['secret']}", "token without checksum")
    case("token without checksum", "valid", ns, token=kn["token"])
    case("no-checksum token + 6 chars", "wrong_secret", ns, token=kn["token"] + "AAAAAA")

    # a secret with underscores (secret from the record's point of view: plain namespace)
    # and states through tokens
    kr = create(ns, name="tok-revoke")
    kt(ns, "revoke", kr["id"])
    b = f"{kr['id']}_{kr['secret']}"
    case("token of a revoked key", "revoked", ns, token=b + kv.checksum(b))
    ke = create(ns, "--expires", "1h", name="tok-expire")
    write_fields(ns, ke["id"], {"expires_at": "1"})
    b = f"{ke['id']}_{ke['secret']}"
    case("token of an expired key", "expired", ns, token=b + kv.checksum(b))

    # record_use through a token
    check(kv.verify_token(R, ns, good, record_use=True).valid, "verify_token record_use valid")
    check(R.hget(kv.record_key(ns, kid), "last_used_at") is not None, "verify_token sets last_used_at")


def test_plain_namespace():
    ns = "pyt-plain"
    p = kt(ns, "init", "--mode", "plain")
    eq(p.returncode, 0, f"keytui init --mode plain ({p.stderr.strip()})")
    eq(R.hget(f"{{{ns}}}:meta", "mode"), b"plain", "meta mode plain")
    eq(R.hget(f"{{{ns}}}:meta", "layout"), b"2", "meta layout 2")
    k = create(ns)
    rec = record(ns, k["id"])
    eq(rec.get("secret_alg"), "plain", "plain record alg")
    eq(rec.get("secret"), k["secret"], "plain record holds the secret")
    case("plain: valid", "valid", ns, key_id=k["id"], secret=k["secret"])
    case("plain: wrong secret", "wrong_secret", ns, key_id=k["id"], secret=k["secret"][:-1])
    case("plain: prefix of secret+1", "wrong_secret", ns, key_id=k["id"], secret=k["secret"] + "a")
    b = f"{k['id']}_{k['secret']}"
    eq(k["token"], b + kv.checksum(b), "plain: keytui token")
    case("plain: good token", "valid", ns, token=b + kv.checksum(b))
    # a secret with underscores survives token splitting
    write_fields(ns, k["id"], {"secret": "a_b_c"})
    b = f"{k['id']}_a_b_c"
    case("plain: secret with underscores via token", "valid", ns, token=b + kv.checksum(b))
    case("plain: secret with underscores", "valid", ns, key_id=k["id"], secret="a_b_c")


def test_sealed_namespace():
    ns = "pyt-sealed"
    kdir = tempfile.mkdtemp(prefix="sealed-", dir=_tmp)
    keyfile = os.path.join(kdir, "master.key")
    p = kt(ns, "init", "--mode", "sealed", "--generate-master-key", keyfile)
    eq(p.returncode, 0, f"keytui init --mode sealed --generate-master-key ({p.stderr.strip()})")
    check(os.path.isfile(keyfile), "master key file written")
    if not os.path.isfile(keyfile):
        return
    eq(os.stat(keyfile).st_mode & 0o777, 0o600, "master key file has mode 0600")
    meta = {k.decode(): v.decode() for k, v in R.hgetall(f"{{{ns}}}:meta").items()}
    eq(meta.get("mode"), "sealed", "meta mode sealed")
    check(len(meta.get("master_key_check", "")) == 16, f"meta master_key_check ({meta})")
    # creating needs the master key
    p = kt(ns, "create", "--name", "no-key", "--json")
    check(p.returncode != 0, f"sealed create without a master key is refused (rc {p.returncode})")
    k = create(ns, master_key_file=keyfile)
    kid, sec = k["id"], k["secret"]
    rec = record(ns, kid)
    eq(rec.get("secret_alg"), "sha256", "sealed records store the sha256 digest")
    eq(rec.get("secret"), hashlib.sha256(sec.encode()).hexdigest(), "sealed digest")
    sealed = rec.get("secret_sealed", "")
    check(sealed.startswith("xchacha20poly1305:"), f"secret_sealed present ({sealed[:24]!r})")
    check(sec not in "".join(rec.values()), "sealed: the secret itself is not stored")
    # reveal with the key file prints the secret; without it, it does not
    p = kt(ns, "reveal", kid, master_key_file=keyfile)
    eq(p.returncode, 0, f"keytui reveal with the key file ({p.stderr.strip()})")
    check(sec in p.stdout, "keytui reveal prints the secret")
    p = kt(ns, "reveal", kid)
    check(p.returncode != 0 and sec not in p.stdout, "keytui reveal without the key file fails")
    # verification needs no master key (kt/via_* run without KEYTUI_MASTER_KEY_FILE)
    case("sealed: valid", "valid", ns, key_id=kid, secret=sec)
    case("sealed: wrong secret", "wrong_secret", ns, key_id=kid, secret="nope")
    case("sealed: wrong secret (last char changed)", "wrong_secret", ns, key_id=kid,
         secret=sec[:-1] + flip(sec[-1]))
    case("sealed: keytui's token", "valid", ns, token=k["token"])
    case("sealed: token, checksum char flipped", "bad_checksum", ns,
         token=k["token"][:-1] + flip(k["token"][-1]))
    eq(kv.check_namespace(R, ns).get("mode"), "sealed", "check_namespace of a sealed namespace")


def test_hmac_namespace():
    ns = "pyt-hmac"
    pepper = "pepper-for-tests-ü"
    pb = pepper.encode()
    p = kt(ns, "init", pepper=pepper)
    eq(p.returncode, 0, f"keytui init with a pepper ({p.stderr.strip()})")
    meta = {k.decode(): v.decode() for k, v in R.hgetall(f"{{{ns}}}:meta").items()}
    eq(meta.get("secret_alg"), "hmac-sha256", "meta secret_alg hmac")
    eq(meta.get("pepper_check"),
       hmac.new(pb, b"keytui pepper check", hashlib.sha256).hexdigest()[:16], "pepper_check")
    k = create(ns, pepper=pepper)
    rec = record(ns, k["id"])
    eq(rec.get("secret_alg"), "hmac-sha256", "hmac record alg")
    eq(rec.get("secret"), hmac.new(pb, k["secret"].encode(), hashlib.sha256).hexdigest(),
       "record secret is HMAC-SHA256(pepper, secret)")
    case("hmac: valid", "valid", ns, key_id=k["id"], secret=k["secret"], pepper=pepper)
    case("hmac: wrong secret", "wrong_secret", ns, key_id=k["id"], secret="nope", pepper=pepper)
    # A wrong pepper cannot be told from a wrong secret in one round trip: wrong_secret.
    case("hmac: wrong pepper", "wrong_secret", ns, key_id=k["id"], secret=k["secret"],
         pepper="not-the-pepper")
    # No pepper at all is a configuration error (exit 2), never a verdict.
    case("hmac: no pepper", "error", ns, key_id=k["id"], secret=k["secret"])
    # ... unless the id is unknown: nothing to hash with, so 'unknown'
    case("hmac: no pepper, unknown id", "unknown", ns, key_id="NoSuchId42", secret="x")
    b = f"{k['id']}_{k['secret']}"
    case("hmac: good token", "valid", ns, token=b + kv.checksum(b), pepper=pepper)
    # the pepper may come from another variable in the script
    env_var = "MY_APP_PEPPER"
    os.environ[env_var] = pepper
    try:
        BASE_ENV[env_var] = pepper
        eq(via_script(ns, key_id=k["id"], secret=k["secret"], extra=["--pepper-env", env_var]),
           "valid", "script --pepper-env")
    finally:
        BASE_ENV.pop(env_var, None)
        os.environ.pop(env_var, None)
    # start-up check of the namespace
    eq(kv.check_namespace(R, ns, pb).get("mode"), "hash", "check_namespace with the pepper")
    for bad_pepper, exc in [(b"wrong", kv.NamespaceError), (None, kv.PepperRequired)]:
        try:
            kv.check_namespace(R, ns, bad_pepper)
            got = None
        except kv.KeytuiError as e:
            got = type(e)
        eq(got, exc, f"check_namespace with pepper {bad_pepper!r}")


def test_layout_and_errors():
    eq(kv.LAYOUT_VERSION, 2, "LAYOUT_VERSION")
    ns = "pyt-future"
    R.hset(f"{{{ns}}}:meta", mapping={"layout": "3", "mode": "hash", "secret_alg": "sha256"})
    try:
        kv.check_namespace(R, ns)
        ok = False
    except kv.NamespaceError:
        ok = True
    check(ok, "check_namespace refuses layout 3")
    for layout in ("1", "2"):
        R.hset("{pyt-known}:meta", mapping={"layout": layout, "mode": "hash", "secret_alg": "sha256"})
        eq(kv.layout_of(kv.check_namespace(R, "pyt-known")), int(layout),
           f"check_namespace accepts layout {layout}")
    eq(kv.check_namespace(R, "pyt-empty"), {}, "check_namespace of an empty namespace")
    eq(kv.layout_of({}), 1, "layout_of a namespace not created yet: the layout-1 read")
    # the layout= option takes the layouts this verifier reads, nothing else
    for bad in (0, 3, "2", None, True, 2.0):
        for what, fn in [("verify", lambda: kv.verify(R, "pyt-hash", "Abc1", "x", layout=bad)),
                         ("verify_token", lambda: kv.verify_token(R, "pyt-hash", "Abc1_x", layout=bad)),
                         ("verify_header", lambda: kv.verify_header(R, "pyt-hash", "ApiKey Abc1:x",
                                                                    layout=bad))]:
            try:
                fn()
                got = "no error"
            except kv.NamespaceError:
                got = "NamespaceError"
            eq(got, "NamespaceError", f"{what}(layout={bad!r})")
    # Layout values Rust refuses too: 0, negative, missing, and a meta key of another type.
    for i, meta in enumerate([{"layout": "0"}, {"layout": "-1"}, {"mode": "hash"}]):
        bad = f"pyt-badlayout{i}"
        R.hset(f"{{{bad}}}:meta", mapping=meta)
        try:
            kv.check_namespace(R, bad)
            ok = False
        except kv.NamespaceError:
            ok = True
        check(ok, f"check_namespace refuses meta {meta}")
    R.set("{pyt-strmeta}:meta", "x")
    try:
        kv.check_namespace(R, "pyt-strmeta")
        ok = False
    except kv.NamespaceError:
        ok = True
    check(ok, "check_namespace refuses a meta key that is not a hash")
    for bad_ns in ["", "a:b", "{x}", "x" * 65]:
        try:
            kv.verify(R, bad_ns, "Abc1", "x")
            ok = False
        except kv.NamespaceError:
            ok = True
        check(ok, f"invalid namespace {bad_ns!r} is an error")

    def run(args, stdin):
        return subprocess.run([sys.executable, *SCRIPT, *args], input=stdin,
                              capture_output=True, text=True, env=env_with(), timeout=60)

    def one_line_error(p, what):
        eq(p.returncode, 2, f"{what}: exit 2")
        lines = p.stderr.strip().splitlines()
        check(len(lines) == 1 and "Traceback" not in p.stderr, f"{what}: one line ({p.stderr!r})")

    dead = f"redis://127.0.0.1:{free_port()}"
    one_line_error(run(["--url", dead, "SomeId1"], "secret\n"), "cannot connect")
    one_line_error(run(["--url", URL], "secret\n"), "no id")
    one_line_error(run(["--url", URL, "--token", "SomeId1"], "x\n"), "id and --token")
    one_line_error(run(["--url", URL, "SomeId1"], ""), "empty stdin")
    one_line_error(run(["--url", URL, "--namespace", "a:b", "SomeId1"], "x\n"), "bad namespace")
    one_line_error(run(["--url", "notaurl", "SomeId1"], "x\n"), "bad url")
    # The command line checks the namespace first: a key of a layout-3 namespace is an
    # error (exit 2), never "valid" by the rules of the layouts it knows.
    k2 = create("pyt-cli-future")
    R.hset("{pyt-cli-future}:meta", "layout", "3")
    one_line_error(run(["--url", URL, "--namespace", "pyt-cli-future", k2["id"]], k2["secret"]),
                   "newer layout on the command line")
    # env defaults: REDIS_URL and KEYTUI_NAMESPACE
    k = create("pyt-env")
    e = env_with()
    e.update(REDIS_URL=URL, KEYTUI_NAMESPACE="pyt-env")
    p = subprocess.run([sys.executable, *SCRIPT, k["id"]], input=k["secret"], env=e,
                       capture_output=True, text=True, timeout=60)
    eq((p.returncode, p.stdout), (0, f"valid: {k['id']}\n"), "env defaults, no trailing newline")
    p = subprocess.run([sys.executable, *SCRIPT, k["id"]], input=k["secret"] + "\n\n", env=e,
                       capture_output=True, text=True, timeout=60)
    eq((p.returncode, p.stdout), (1, "rejected: wrong_secret\n"), "only one newline is stripped")
    p = subprocess.run([sys.executable, *SCRIPT, "--json", k["id"]], input=k["secret"], env=e,
                       capture_output=True, text=True, timeout=60)
    eq(json.loads(p.stdout), {"valid": True, "id": k["id"], "name": "py-test"}, "--json")


def test_headers(hash_key):
    """Authorization headers as the web integrations read them (keytui.parse_authorization)."""
    P = kv.parse_authorization
    eq(P("ApiKey Abc123:s3cr:et"), ("apikey", "Abc123", "s3cr:et"), "ApiKey header")
    eq(P("apikey Abc123:x"), ("apikey", "Abc123", "x"), "scheme is case-insensitive")
    eq(P("Bearer sk_live_Abc_x"), ("token", "sk_live_Abc_x"), "Bearer header")
    eq(P("Api-Key sk_live_Abc_x"), ("token", "sk_live_Abc_x"), "Api-Key header")
    eq(P("  Bearer   tok  "), ("token", "tok"), "surrounding spaces")
    for bad in [None, "", "ApiKey", "ApiKey Abc123", "ApiKey :x", "ApiKey Abc:", "Basic abc",
                "Bearer", "Bearer a b", "Bearer " + "x" * 5000, "Token abc"]:
        eq(P(bad), None, f"refused header {str(bad)[:30]!r}")
    eq(kv.claimed_id("Bearer sk_live_Abc9_xyz"), "Abc9", "identifier from token")
    eq(kv.claimed_id("ApiKey Abc9:x"), "Abc9", "identifier from ApiKey")
    kid, sec = hash_key["id"], hash_key["secret"]
    body = f"{kid}_{sec}"
    good_tok = body + kv.checksum(body)
    for header, want in [(f"ApiKey {kid}:{sec}", "valid"), (f"Bearer {good_tok}", "valid"),
                         (f"Api-Key {good_tok}", "valid"), (f"ApiKey {kid}:wrong", "wrong_secret"),
                         (f"Bearer {good_tok[:-1]}{flip(good_tok[-1])}", "bad_checksum")]:
        v = kv.verify_header(R, "pyt-hash", header)
        eq("valid" if v.valid else v.reason, want, f"verify_header {header[:12]!r}")
    eq(kv.verify_header(R, "pyt-hash", "Basic x"), None, "verify_header without credentials")


def test_malformed_records():
    """Records keytui did not write are rejected as 'malformed' (issue 9 §2), never an
    exception, by the module (sync and asyncio) and the command (exit 1)."""
    import asyncio
    import keytui.aio as kva
    import redis.asyncio as aredis

    ns = "pyt-malformed"
    good = create(ns, name="good")
    sha = hashlib.sha256(b"s3cret").hexdigest()
    full = {"id": "X", "name": "x", "status": "active", "secret_alg": "sha256", "secret": sha,
            "token_checksum": "0", "created_at": "1"}
    # Hashes are written as any writer must (write_fields: `verify` rewritten from the
    # fields), so that both reads see the same record.
    damage = {
        "WrongType1": lambda kid: R.set(kv.record_key(ns, kid), "x"),
        "WrongType2": lambda kid: R.rpush(kv.record_key(ns, kid), "a", "b"),
        "WrongType3": lambda kid: R.sadd(kv.record_key(ns, kid), "a"),
        "NoStatus": lambda kid: write_fields(ns, kid, {f: v for f, v in full.items() if f != "status"}),
        "NoAlg": lambda kid: write_fields(ns, kid, {f: v for f, v in full.items() if f != "secret_alg"}),
        "NoSecret": lambda kid: write_fields(ns, kid, {f: v for f, v in full.items() if f != "secret"}),
        "BadAlg": lambda kid: write_fields(ns, kid, dict(full, secret_alg="md5")),
        "BinAlg": lambda kid: write_fields(ns, kid, dict(full, secret_alg=b"\xff\xfe")),
        "BadExpiry": lambda kid: write_fields(ns, kid, dict(full, expires_at="soon")),
        "BadMeta": lambda kid: write_fields(ns, kid, dict(full, meta="{not json")),
        "MetaNotObj": lambda kid: write_fields(ns, kid, dict(full, meta="[1,2]")),
        "MetaNumbers": lambda kid: write_fields(ns, kid, dict(full, meta='{"scopes": 3}')),
    }
    for kid, make in damage.items():
        make(kid)
    for kid in ("NoStatus", "NoAlg", "NoSecret"):
        eq(R.hget(kv.record_key(ns, kid), "verify"), b"malformed", f"{kid}: verify is 'malformed'")

    async def aio_verdicts():
        ar = aredis.Redis(host="127.0.0.1", port=PORT)
        out = {}
        for kid in list(damage) + [good["id"]]:
            sec = good["secret"] if kid == good["id"] else "s3cret"
            for layout in (1, 2):
                for what, coro in [
                    ("aio.verify", lambda: kva.verify(ar, ns, kid, sec, layout=layout)),
                    ("aio.verify_token",
                     lambda: kva.verify_token(ar, ns, f"{kid}_{sec}", layout=layout)),
                ]:
                    try:
                        v = await coro()
                        out[(kid, what, layout)] = "valid" if v.valid else v.reason
                    except Exception as e:  # noqa: BLE001
                        out[(kid, what, layout)] = f"exception {type(e).__name__}: {e}"
        await ar.aclose()
        return out

    aio = asyncio.run(aio_verdicts())
    for kid in damage:
        for layout in (1, 2):
            for what, fn in [
                ("verify", lambda: kv.verify(R, ns, kid, "s3cret", layout=layout)),
                ("verify_token", lambda: kv.verify_token(R, ns, f"{kid}_s3cret", layout=layout)),
            ]:
                try:
                    got = fn()
                    got = "valid" if got.valid else got.reason
                except Exception as e:  # noqa: BLE001
                    got = f"exception {type(e).__name__}: {e}"
                eq(got, "malformed", f"{kid} via {what} [layout-{layout} read]")
            for what in ("aio.verify", "aio.verify_token"):
                eq(aio[(kid, what, layout)], "malformed", f"{kid} via {what} [layout-{layout} read]")
        eq(via_script(ns, key_id=kid, secret="s3cret"), "malformed", f"{kid} via the command")
    for layout in (1, 2):
        eq(aio[(good["id"], "aio.verify", layout)], "valid",
           f"aio: good key among damaged [layout-{layout} read]")
    # a good key beside the damaged ones still verifies, through both APIs
    eq(via_module(ns, key_id=good["id"], secret=good["secret"]), "valid", "good key among damaged")
    # the wrong secret for a record with a bad expiry is still wrong_secret (secret first)
    eq(kv.verify(R, ns, "BadExpiry", "nope").reason, "wrong_secret", "bad expiry, wrong secret")
    # metadata and scopes reach the verdict
    km = create(ns, "--meta", "scopes=read, write", "--meta", "owner=team-a", name="scoped")
    v = kv.verify(R, ns, km["id"], km["secret"])
    eq(dict(v.meta), {"scopes": "read, write", "owner": "team-a"}, "verdict carries meta")
    v2 = kv.verify(R, ns, km["id"], km["secret"], layout=2)
    eq(v2, v, "the layout-2 read gives the same verdict, meta and all")
    eq(v.scopes, frozenset({"read", "write"}), "scopes parsed")
    check(kv.has_scope(v, "read") and kv.has_scope(v, "read,write"), "has_scope read, write")
    check(not kv.has_scope(v, "admin") and not kv.has_scope(v, "read", "admin"), "has_scope admin")
    check(not kv.has_scope(kv.verify(R, ns, km["id"], "x"), "read"), "rejected has no scope")


def test_layout_doc():
    """The Lua function this test writes records with is the layout doc's (layout_lua.py
    reads it from the document), whole."""
    check(
        VERIFY_LUA.startswith("local function keytui_verify_field(key)\n")
        and VERIFY_LUA.rstrip().endswith("redis.call('HSET', key, 'verify', v)\nend"),
        "VERIFY_LUA is the whole function of docs/redis-layout.md",
    )
    # ... and its Python twin (verify_value) agrees with it on every kind of record
    recs = [{}, {"status": "active"}, {"status": "active", "secret_alg": "sha256"},
            {"status": "active", "secret_alg": "sha256", "secret": "ab"},
            {"status": "gone", "secret_alg": "plain", "secret": "a b", "name": "x\ty",
             "expires_at": "5", "token_checksum": "1"},
            {"status": "active", "secret_alg": "plain", "secret": "a\tb"},
            {"status": "active", "secret_alg": "sha256", "secret": "ab", "expires_at": "1\t"},
            {"name": "only a name"}]
    for i, rec in enumerate(recs):
        kid = f"Twin{i}"
        R.delete(kv.record_key("pyt-twin", kid))
        write_fields("pyt-twin", kid, rec)
        got = R.hget(kv.record_key("pyt-twin", kid), "verify")
        eq(got.decode() if got is not None else None, verify_value(rec), f"verify of {rec}")


def _verdict(v):
    return "valid" if v.valid else v.reason


def test_verify_field():
    """The layout-2 read: `verify` values written by hand reach the parsing edge cases. Each
    is verified by the module (blocking and asyncio, layout-2 read), the command line (which
    picks the layout-2 read from `{ns}:meta`) and `keytui verify` (which reports a malformed
    record as an error, exit 2)."""
    ns = "pyt-vfield"
    eq(kt(ns, "init").returncode, 0, "keytui init")
    eq(ns_layout(ns), 2, "a new namespace is of layout 2")
    sha = hashlib.sha256(b"s3cret").hexdigest()

    def put(kid, value, **fields):
        key = kv.record_key(ns, kid)
        R.delete(key)
        mapping = dict(fields)
        if value is not None:
            mapping["verify"] = value
        if mapping:
            R.hset(key, mapping=mapping)

    def edge(what, want, kid, secret="s3cret", token=None, name=None, layout1=None):
        kw = dict(token=token) if token is not None else dict(key_id=kid, secret=secret)
        eq(via_module(ns, layout=2, **kw), want, f"{what} [module, layout-2 read]")
        eq(via_aio(ns, layout=2, **kw), want, f"{what} [aio, layout-2 read]")
        eq(via_script(ns, **kw), want, f"{what} [script]")
        eq(via_rust(ns, **kw), "error" if want == "malformed" else want, f"{what} [keytui verify]")
        if layout1 is not None:
            eq(via_module(ns, layout=1, **kw), layout1, f"{what} [module, layout-1 read]")
        if name is not None:
            v = kv.verify(R, ns, kid, secret, layout=2)
            eq(v.name, name, f"{what}: the name")

    def value(status="active", alg="sha256", exp="", cs="0", secret=sha, name="n"):
        return "\t".join([status, alg, exp, cs, secret, name])

    put("Vmal", "malformed")
    edge("verify = malformed", "malformed", "Vmal")
    put("Vempty", "")
    edge("verify empty", "malformed", "Vempty")
    put("Vfive", "\t".join(["active", "sha256", "", "0", sha]))
    edge("verify of five parts", "malformed", "Vfive")
    put("Vstatus", value(status="expired"))
    edge("verify with an unknown status", "malformed", "Vstatus")
    put("Vcase", value(status="Active"))
    edge("verify with status Active (case matters)", "malformed", "Vcase")
    put("Vtabs", value(name="a\tb\t\tc"))
    edge("name with tabs", "valid", "Vtabs", name="a\tb\t\tc")
    put("Vnoname", value(name=""))
    edge("empty name", "valid", "Vnoname", name="")
    put("Vrev", value(status="revoked"))
    edge("revoked", "revoked", "Vrev")
    edge("revoked, wrong secret", "wrong_secret", "Vrev", secret="nope")
    edge("wrong secret", "wrong_secret", "Vtabs", secret="s3cret ")
    put("Vexp", value(exp="1"))
    edge("expired", "expired", "Vexp")
    put("Vfuture", value(exp=str(int(time.time() * 1000) + 3_600_000)))
    edge("expires in an hour", "valid", "Vfuture")
    put("Vbadexp", value(exp="soon"))
    edge("expires_at soon", "malformed", "Vbadexp")
    edge("expires_at soon, wrong secret (the secret first)", "wrong_secret", "Vbadexp", secret="x")
    # what Rust's i64 parse refuses is malformed here too (Python's int() would take some)
    for i, exp in enumerate([" 1", "1_000", "\u0661", "1.0", str(2**63), "-"]):
        put(f"Vexp{i}", value(exp=exp))
        edge(f"expires_at {exp!r}", "malformed", f"Vexp{i}")
    put("Vexpplus", value(exp="+1"))
    edge("expires_at '+1'", "expired", "Vexpplus")
    put("Vmd5", value(alg="md5"))
    edge("unknown secret_alg", "malformed", "Vmd5")
    put("Vplain", value(alg="plain", secret="pl_ain"))
    edge("plain", "valid", "Vplain", secret="pl_ain")
    # a `verify` field and nothing else: only the layout-2 read sees a key
    put("Vonly", value())
    edge("verify alone", "valid", "Vonly", layout1="unknown")
    # the fields and no `verify`: the layout-2 read sees no key (unknown, like keytui)
    put("Vmissing", None, status="active", secret_alg="sha256", secret=sha, name="n")
    edge("verify missing", "unknown", "Vmissing", layout1="valid")
    # meta still counts on the layout-2 read
    put("Vmeta", value(), meta="{bad")
    eq(via_module(ns, key_id="Vmeta", secret="s3cret", layout=2), "malformed", "bad meta [layout-2 read]")
    put("Vscopes", value(), meta='{"scopes": "a, b"}')
    v = kv.verify(R, ns, "Vscopes", "s3cret", layout=2)
    eq((v.valid, v.scopes), (True, frozenset({"a", "b"})), "meta and scopes [layout-2 read]")
    # the wrong type on the layout-2 read
    R.set(kv.record_key(ns, "Vstring"), "x")
    eq(via_module(ns, key_id="Vstring", secret="s3cret", layout=2), "malformed",
       "a string under the record key [layout-2 read]")
    eq(via_aio(ns, key_id="Vstring", secret="s3cret", layout=2), "malformed",
       "a string under the record key [aio, layout-2 read]")

    # tokens: the checksum flag comes from the verify value
    body = "Vcs1_s3cret"
    put("Vcs1", value(cs="1"))
    edge("token with its checksum", "valid", "Vcs1", token=body + kv.checksum(body))
    edge("token without its checksum", "bad_checksum", "Vcs1", token=body)
    edge("token, checksum of other text", "bad_checksum", "Vcs1", token=body + kv.checksum("x"))
    put("Vcs0", value(cs="0"))
    edge("checksum 0: the rest is the secret", "valid", "Vcs0", token="Vcs0_s3cret")
    edge("checksum 0: 6 more characters are secret", "wrong_secret", "Vcs0",
         token="Vcs0_s3cret" + kv.checksum("Vcs0_s3cret"))
    put("Vcsx", value(cs="yes"))
    edge("checksum part other than 1 means none", "valid", "Vcsx", token="Vcsx_s3cret")
    put("Vcsmd5", value(alg="md5", cs="1"))
    edge("token, unknown alg: malformed before the checksum", "malformed", "Vcsmd5",
         token="Vcsmd5_s3cret")
    for kid in ("Vmal", "Vfive", "Vstatus"):
        edge(f"token of {kid}", "malformed", kid, token=f"{kid}_s3cret")
    edge("token of a missing verify", "unknown", "Vmissing", token="Vmissing_s3cret")

    # a decode_responses client gives the same verdicts
    Rs = redis.Redis(host="127.0.0.1", port=PORT, decode_responses=True)
    for kid, want in [("Vtabs", "valid"), ("Vrev", "revoked"), ("Vfive", "malformed"),
                      ("Vmissing", "unknown")]:
        eq(via_module(ns, key_id=kid, secret="s3cret", client=Rs, layout=2), want,
           f"decode_responses {kid} [layout-2 read]")
    eq(kv.verify(Rs, ns, "Vtabs", "s3cret", layout=2).name, "a\tb\t\tc", "decode_responses name")
    Rs.close()

    # the pure function, with bytes and str
    D = kv.core.decide_verify_field
    for conv in (str, lambda x: x.encode()):
        eq(_verdict(D("K", conv(value()), None, "s3cret", None, 0)), "valid", "pure: valid")
        eq(D("K", conv(value(name="a\tb")), None, "s3cret", None, 0).name, "a\tb", "pure: name")
        eq(_verdict(D("K", conv(value(exp="10")), None, "s3cret", None, 10)), "expired",
           "pure: expires_at == now")
        eq(_verdict(D("K", conv(value(exp="10")), None, "s3cret", None, 9)), "valid",
           "pure: expires_at == now + 1")
        eq(_verdict(D("K", conv("malformed"), None, "s3cret", None, 0)), "malformed",
           "pure: malformed")
        eq(_verdict(D("K", conv(value()), conv('{"a": "b"}'), "s3cret", None, 0)), "valid",
           "pure: with meta")
    eq(_verdict(D("K", None, None, "s3cret", None, 0)), "unknown", "pure: None is unknown")
    hm = hmac.new(b"pep", b"s3cret", hashlib.sha256).hexdigest()
    eq(_verdict(D("K", value(alg="hmac-sha256", secret=hm), None, "s3cret", b"pep", 0)), "valid",
       "pure: hmac-sha256")
    try:
        D("K", value(alg="hmac-sha256", secret=hm), None, "s3cret", None, 0)
        got = "no error"
    except kv.PepperRequired:
        got = "PepperRequired"
    eq(got, "PepperRequired", "pure: hmac-sha256 without a pepper")
    tok = kv.split_token("K_s3cret")
    eq(kv.core.token_secret_from_verify_field("K_s3cret", tok, value()), "s3cret",
       "pure: token secret, no checksum")
    eq(_verdict(kv.core.token_secret_from_verify_field("K_s3cret", tok, value(cs="1"))),
       "bad_checksum", "pure: token, checksum wanted")
    eq(_verdict(kv.core.token_secret_from_verify_field("K_s3cret", tok, None)), "unknown",
       "pure: token, no verify")

    # A plain HSET leaves `verify` stale (the doc's warning): the layout-2 read, the command
    # line and keytui follow `verify`, the layout-1 read the fields. This tells the reads apart.
    k = create(ns, name="stale")
    R.hset(kv.record_key(ns, k["id"]), "status", "revoked")
    eq(via_module(ns, key_id=k["id"], secret=k["secret"], layout=1), "revoked",
       "stale verify: the layout-1 read follows the fields")
    eq(via_module(ns, key_id=k["id"], secret=k["secret"], layout=2), "valid",
       "stale verify: the layout-2 read follows verify")
    eq(via_script(ns, key_id=k["id"], secret=k["secret"]), "valid",
       "stale verify: the command line uses the layout-2 read")
    eq(via_rust(ns, key_id=k["id"], secret=k["secret"]), "valid",
       "stale verify: keytui verify uses the layout-2 read")


def test_layout1_namespace():
    """A namespace left at layout 1 (meta written as keytui 0.1 did): keytui keeps writing it
    as layout 1 (with `verify`, unread there), every verifier reads the fields."""
    ns = "pyt-layout1"
    R.hset(f"{{{ns}}}:meta", mapping={"layout": "1", "mode": "hash", "secret_alg": "sha256",
                                      "created_at": "1", "production": "0"})
    k = create(ns, name="old")
    eq(ns_layout(ns), 1, "keytui create leaves a layout-1 namespace at 1")
    check_verify_field(ns, k["id"], "layout 1: create")
    case("layout 1: valid", "valid", ns, key_id=k["id"], secret=k["secret"])
    case("layout 1: token", "valid", ns, token=k["token"])
    case("layout 1: wrong secret", "wrong_secret", ns, key_id=k["id"], secret="nope")
    # the stale-verify trick: on layout 1 the command line and keytui read the fields
    R.hset(kv.record_key(ns, k["id"]), "status", "revoked")
    case("layout 1: revoked by a plain HSET", "revoked", ns, key_id=k["id"], secret=k["secret"])


def test_on_record():
    """``on_record=`` (what the integrations use to notice a namespace created after their
    start-up check): called when the read's reply shows a record, some field not nil; never
    for no record, a key of another type, or no read at all. The verdict is unchanged."""
    import asyncio

    import keytui.aio as kva
    import redis.asyncio as aredis

    seen = kv.core.record_seen
    eq((seen(None), seen([None] * 7), seen([None, b"x"]), seen([b"", None])),
       (False, False, True, True), "record_seen")
    ns = "pyt-onrecord"
    k = create(ns, name="seen")
    R.set(kv.record_key(ns, "WrongType1"), "x")
    R.hset(kv.record_key(ns, "OnlyMeta1"), "meta", "{}")  # a record keytui did not write
    cases = [  # (what, key id, secret or None for a token, layout-1 verdict, fires)
        ("a record", k["id"], k["secret"], "valid", True),
        ("a record, wrong secret", k["id"], "nope", "wrong_secret", True),
        ("a token", None, k["token"], "valid", True),
        ("no record", "NoSuchKey1", "x", "unknown", False),
        ("another type", "WrongType1", "x", "malformed", False),
        ("an invalid id", "a{b", "x", "unknown", False),
        ("a token that names no key", None, "nokey", "unknown", False),
    ]

    async def aio_run(key_id, secret, layout, on_record):
        ar = aredis.Redis(host="127.0.0.1", port=PORT)
        try:
            if key_id is None:
                return await kva.verify_token(ar, ns, secret, layout=layout, on_record=on_record)
            return await kva.verify(ar, ns, key_id, secret, layout=layout, on_record=on_record)
        finally:
            await ar.aclose()

    for what, key_id, secret, want, fires in cases:
        for layout in (1, 2):
            calls: list = []

            def on_record():
                calls.append(1)

            if key_id is None:
                v = kv.verify_token(R, ns, secret, layout=layout, on_record=on_record)
                hv = kv.verify_header(R, ns, f"Bearer {secret}", layout=layout,
                                      on_record=on_record)
            else:
                v = kv.verify(R, ns, key_id, secret, layout=layout, on_record=on_record)
                hv = kv.verify_header(R, ns, f"ApiKey {key_id}:{secret}", layout=layout,
                                      on_record=on_record)
            av = asyncio.run(aio_run(key_id, secret, layout, on_record))
            got = tuple("valid" if x.valid else x.reason for x in (v, hv, av))
            eq(got, (want,) * 3, f"on_record, {what}, layout {layout}: the verdict")
            eq(len(calls), 3 if fires else 0, f"on_record, {what}, layout {layout}: calls")
    # the layout-1 read of a record with `meta` alone: a record (unknown to both reads)
    calls = []
    eq(kv.verify(R, ns, "OnlyMeta1", "x", on_record=lambda: calls.append(1)).reason, "unknown",
       "on_record, meta alone: unknown")
    eq(len(calls), 1, "on_record, meta alone: a record was found")


def test_read_matrix():
    """Both reads give the same verdict (reason, name, meta) for every record a writer that
    keeps `verify` in step can leave: a matrix of status, secret_alg, secret, expires_at,
    token_checksum, name and meta, each written through the layout's Lua function, each
    verified by id (right and wrong secret) and by token (with and without a checksum)."""
    ns = "pyt-matrix"
    eq(kt(ns, "init").returncode, 0, "keytui init")
    pepper = b"matrix-pepper"
    far = str(int(time.time() * 1000) + 10 * 365 * 86_400_000)
    statuses = ["active", "revoked", "paused", None]
    algs = ["sha256", "hmac-sha256", "plain", "md5", None]
    expiries = [None, "", "1", far, "soon"]
    checksums = [None, "0", "1"]
    names = [None, "name\twith\ttabs"]
    metas = [None, '{"scopes": "a"}', "{bad"]
    seen = {}
    compared = 0
    i = 0
    pipe_records = []
    for status in statuses:
        for alg in algs:
            for has_secret in (True, False):
                for exp in expiries:
                    for cs in checksums:
                        for name in names:
                            for meta in metas:
                                i += 1
                                kid = f"M{i}"
                                rec = {"status": status, "secret_alg": alg, "expires_at": exp,
                                       "token_checksum": cs, "name": name, "meta": meta}
                                if has_secret:
                                    try:
                                        rec["secret"] = kv.stored_form(alg or "sha256", "s3cret",
                                                                       pepper).decode()
                                    except kv.MalformedRecord:
                                        rec["secret"] = "not-a-digest"
                                rec = {f: v for f, v in rec.items() if v is not None}
                                pipe_records.append((kid, rec))
    pipe = R.pipeline(transaction=False)
    for kid, rec in pipe_records:
        pipe.eval(WRITE_FIELDS, 1, kv.record_key(ns, kid), *write_fields_args(rec))
    pipe.execute()
    for kid, rec in pipe_records:
        body = f"{kid}_s3cret"
        presented = [("id", dict(key_id=kid, secret="s3cret")),
                     ("id, wrong secret", dict(key_id=kid, secret="s3creT")),
                     ("token with checksum", dict(token=body + kv.checksum(body))),
                     ("token without checksum", dict(token=body))]
        for what, kw in presented:
            out = []
            for layout in (1, 2):
                try:
                    if "token" in kw:
                        v = kv.verify_token(R, ns, kw["token"], pepper=pepper, layout=layout)
                    else:
                        v = kv.verify(R, ns, kw["key_id"], kw["secret"], pepper=pepper,
                                      layout=layout)
                    out.append((v.valid, v.reason, v.id, v.name, dict(v.meta)))
                except Exception as e:  # noqa: BLE001
                    out.append(f"exception {type(e).__name__}: {e}")
            compared += 1
            if out[0] != out[1]:
                check(False, f"matrix {kid} {rec} {what}: layout 1 {out[0]} != layout 2 {out[1]}")
            elif isinstance(out[0], tuple):
                seen[out[0][1] or "valid"] = seen.get(out[0][1] or "valid", 0) + 1
            else:
                check(False, f"matrix {kid} {rec} {what}: {out[0]}")
    check(not [f for f in FAILED if f.startswith("matrix ")], f"matrix: {compared} verdicts agree")
    eq(sorted(seen), sorted(["valid", "unknown", "wrong_secret", "bad_checksum", "revoked",
                             "expired", "malformed"]), f"matrix reaches every verdict ({seen})")
    # no pepper: both reads raise PepperRequired for an hmac-sha256 record
    hm = next(kid for kid, rec in pipe_records
              if rec.get("secret_alg") == "hmac-sha256" and rec.get("status") == "active"
              and "secret" in rec)
    for layout in (1, 2):
        try:
            kv.verify(R, ns, hm, "s3cret", layout=layout)
            got = "no error"
        except kv.PepperRequired:
            got = "PepperRequired"
        eq(got, "PepperRequired", f"matrix: hmac-sha256 without a pepper [layout-{layout} read]")


def test_cluster():
    """A one-node Redis Cluster: keytui --cluster writes, RedisCluster and --cluster read."""
    try:
        port, c = start_redis("--cluster-enabled", "yes", "--cluster-config-file",
                              "nodes.conf", tag="cluster")
    except SystemExit as e:
        NOTES.append(f"cluster test skipped: {e}")
        return
    c.execute_command("CLUSTER", "ADDSLOTS", *range(16384))
    for _ in range(200):
        if b"cluster_state:ok" in c.execute_command("CLUSTER", "INFO"):
            break
        time.sleep(0.05)
    else:
        NOTES.append("cluster test skipped: the one-node cluster did not come up")
        return
    url = f"redis://127.0.0.1:{port}"
    ns = "pyt-cluster"
    p = subprocess.run([KEYTUI, "--url", url, "--cluster", "-n", ns, "create", "--name", "c",
                        "--json"], capture_output=True, text=True, env=env_with(), timeout=60)
    eq(p.returncode, 0, f"keytui --cluster create ({p.stderr.strip()})")
    if p.returncode != 0:
        return
    k = json.loads(p.stdout.splitlines()[0])
    from redis.cluster import RedisCluster
    rc = RedisCluster.from_url(url)
    v = kv.verify(rc, ns, k["id"], k["secret"], record_use=True)
    check(v.valid, f"cluster: module valid ({v})")
    check(c.hget(kv.record_key(ns, k["id"]), "last_used_at") is not None, "cluster: record_use")
    eq(kv.verify(rc, ns, k["id"], "nope").reason, "wrong_secret", "cluster: wrong secret")
    for secret, want in [(k["secret"], (0, "valid: " + k["id"])), ("nope", (1, "rejected: wrong_secret"))]:
        q = subprocess.run([sys.executable, *SCRIPT, "--cluster", "--url", url, "-n", ns, k["id"]],
                           input=secret, capture_output=True, text=True, env=env_with(), timeout=60)
        eq((q.returncode, q.stdout.strip()), want, f"cluster: script --cluster {want[1]}")
    rc.close()


def main():
    global URL, PORT, R
    PORT, R = start_redis()
    URL = f"redis://127.0.0.1:{PORT}"
    try:
        test_pure_helpers()
        hk = test_hash_namespace()
        test_tokens()
        test_plain_namespace()
        test_sealed_namespace()
        test_hmac_namespace()
        test_layout_and_errors()
        test_headers(hk)
        test_malformed_records()
        test_layout_doc()
        test_verify_field()
        test_layout1_namespace()
        test_on_record()
        test_read_matrix()
        test_cluster()
    except Exception:
        traceback.print_exc()
        FAILED.append("exception (see above)")
    for n in NOTES:
        print(f"NOTE: {n}")
    print(f"{PASSED} passed, {len(FAILED)} failed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
