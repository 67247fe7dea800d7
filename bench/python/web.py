#!/usr/bin/env python3
"""Benchmark of the Python package's web integrations against the frameworks' own API key
classes, in the same apps (tests/python/apps), on the same machine, in one run:

- REST framework: keytui.drf.KeytuiAuthentication + HasKeytuiKey vs djangorestframework-api-key's
  HasAPIKey (its APIKey model on sqlite), authenticated requests/s in-process (django.test.Client,
  the whole Django stack without a socket) and over HTTP (runserver, one keep-alive connection).
- tastypie: keytui.tastypie.KeytuiAuthentication vs tastypie's ApiKeyAuthentication (its ApiKey
  table on sqlite), the same resource with DjangoAuthorization and the same credentials
  (`ApiKey tom:<key>`, a tastypie key migrated with keytui_export + keytui import).
- FastAPI: p50 latency of an endpoint behind keytui.fastapi.KeytuiAuth vs one doing a plain
  redis.asyncio GET (uvicorn, one keep-alive connection).

    python3 tests/python/test_integrations.py   # once: makes the venv target/pyenv
    target/pyenv/bin/python bench/python/web.py [--rounds 7] [--n 200]

Starts its own redis-server and servers on loopback ports; prints one table and the load
average before and after. Each comparison alternates its two sides round by round and
reports the median round.
"""

from __future__ import annotations

import argparse
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ROOT / "tests" / "python" / "apps"
TMP = tempfile.mkdtemp(prefix="keytui-webbench-")
PROCS: list = []


def _cleanup():
    for p in PROCS:
        if p.poll() is None:
            p.kill()
            p.wait(5)
    shutil.rmtree(TMP, ignore_errors=True)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, what, deadline=60.0):
    end = time.monotonic() + deadline
    while not cond():
        if time.monotonic() > end:
            sys.exit(f"web bench: timed out waiting for {what}")
        time.sleep(0.02)


def popen(argv, **kw):
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    PROCS.append(p)
    return p


def http_ok(port, path="/health"):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        c.request("GET", path)
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def keytui_bin():
    b = os.environ.get("KEYTUI_BIN") or str(ROOT / "target" / "debug" / "keytui")
    if not os.path.exists(b):
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
    return b


def over_http(port, path, headers, n, keep_alive=True):
    """Requests/s and latencies (s) of ``n`` sequential GETs, on one keep-alive connection
    or (runserver, which writes a response in pieces and so meets delayed ACKs on a kept
    connection) a new connection each."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    lat = []
    t0 = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        if not keep_alive:
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit(f"web bench: {path} answered {r.status}")
        if r.getheader("Connection", "").lower() == "close":
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        lat.append(time.perf_counter() - t)
    dt = time.perf_counter() - t0
    c.close()
    return n / dt, lat


def in_process(client, path, headers, n):
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
    t0 = time.perf_counter()
    for _ in range(n):
        r = client.get(path, **meta)
        if r.status_code != 200:
            sys.exit(f"web bench: {path} answered {r.status_code} in-process")
    return n / (time.perf_counter() - t0)


def alternate(rounds, a, b):
    """Runs a() and b() alternately ``rounds`` times; the median of each."""
    ra, rb = [], []
    for _ in range(rounds):
        ra.append(a())
        rb.append(b())
    return statistics.median(ra), statistics.median(rb)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--n", type=int, default=200, help="requests per round")
    a = ap.parse_args()
    load_before = os.getloadavg()

    port = free_port()
    popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--dir", TMP])
    url = f"redis://127.0.0.1:{port}"
    import redis

    rc = redis.Redis(host="127.0.0.1", port=port)

    def redis_up():
        try:
            return rc.ping()
        except redis.exceptions.RedisError:
            return False

    wait_for(redis_up, "redis-server")

    db = os.path.join(TMP, "db.sqlite3")
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="djapp.settings", KEYTUI_TEST_URL=url,
               KEYTUI_TEST_NAMESPACE="app", KEYTUI_TEST_DB=db, KEYTUI_ACTOR="bench")
    for k in ("REDIS_URL", "KEYTUI_NAMESPACE", "KEYTUI_PEPPER"):
        env.pop(k, None)
    os.environ.update({k: env[k] for k in ("DJANGO_SETTINGS_MODULE", "KEYTUI_TEST_URL",
                                           "KEYTUI_TEST_NAMESPACE", "KEYTUI_TEST_DB")})
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=APPS, env=env,
                   check=True, capture_output=True)
    sys.path.insert(0, str(APPS))
    import django

    django.setup()
    from django.contrib.auth.models import Permission, User
    from django.test import Client
    from rest_framework_api_key.models import APIKey
    from tastypie.models import ApiKey

    tom = User.objects.create_user("tom")
    tom.user_permissions.add(Permission.objects.get(codename="change_user"))
    User.objects.create_user("alice")
    tp_key = ApiKey.objects.create(user=tom).key
    _obj, drf_key = APIKey.objects.create_key(name="bench")

    kt = keytui_bin()
    kenv = {k: v for k, v in env.items() if not k.startswith("DJANGO")}
    subprocess.run([kt, "--url", url, "-n", "app", "init"], env=kenv, check=True,
                   capture_output=True)
    export = subprocess.run([sys.executable, "manage.py", "keytui_export"], cwd=APPS, env=env,
                            check=True, capture_output=True, text=True).stdout
    subprocess.run([kt, "--url", url, "-n", "app", "import"], input=export, env=kenv,
                   check=True, capture_output=True, text=True)
    p = subprocess.run([kt, "--url", url, "-n", "app", "create", "--name", "bench", "--json"],
                       env=kenv, check=True, capture_output=True, text=True)
    token = json.loads(p.stdout.splitlines()[0])["token"]

    tom_hdr = {"Authorization": f"ApiKey tom:{tp_key}"}
    keytui_hdr = {"Authorization": f"Bearer {token}"}
    drf_hdr = {"Authorization": f"Api-Key {drf_key}"}

    djport = free_port()
    popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{djport}"],
          cwd=APPS, env=env)
    faport = free_port()
    fenv = dict(env, KEYTUI_TEST_PEPPER="")
    popen([sys.executable, "-m", "uvicorn", "fastapi_app:app", "--host", "127.0.0.1", "--port",
           str(faport), "--log-level", "critical", "--no-access-log"], cwd=APPS, env=fenv)
    wait_for(lambda: http_ok(djport), "runserver")
    wait_for(lambda: http_ok(faport), "uvicorn")

    n, rounds = a.n, a.rounds
    client = Client()
    rows = []

    def row(what, unit, ours, theirs, better_high=True):
        ratio = ours / theirs if better_high else theirs / ours
        rows.append((what, unit, ours, theirs, ratio))

    k, t = alternate(rounds, lambda: in_process(client, "/drf/whoami", keytui_hdr, n),
                     lambda: in_process(client, "/drf/apikey", drf_hdr, n))
    row("DRF in-process: KeytuiAuthentication+HasKeytuiKey vs HasAPIKey", "req/s", k, t)
    k, t = alternate(rounds, lambda: over_http(djport, "/drf/whoami", keytui_hdr, n, False)[0],
                     lambda: over_http(djport, "/drf/apikey", drf_hdr, n, False)[0])
    row("DRF over HTTP (runserver): KeytuiAuthentication+HasKeytuiKey vs HasAPIKey", "req/s", k, t)
    from django.test import RequestFactory
    from djapp import api

    def auth_alone(authentication, header=tom_hdr["Authorization"]):
        req = RequestFactory().get("/tp/v1/x/", HTTP_AUTHORIZATION=header)
        m = 5 * n  # cheap calls: more of them per round
        t0 = time.perf_counter()
        for _ in range(m):
            if authentication.is_authenticated(req) is not True:
                sys.exit("web bench: is_authenticated refused")
        return m / (time.perf_counter() - t0)

    k, t = alternate(rounds, lambda: auth_alone(api.keytui_users._meta.authentication),
                     lambda: auth_alone(api.tastypie_users._meta.authentication))
    row("tastypie is_authenticated alone (user + key): keytui vs ApiKeyAuthentication", "op/s", k, t)
    k, t = alternate(rounds, lambda: auth_alone(api.keytui_open._meta.authentication,
                                                keytui_hdr["Authorization"]),
                     lambda: auth_alone(api.tastypie_users._meta.authentication))
    row("tastypie is_authenticated alone, keytui key without a user vs ApiKeyAuthentication",
        "op/s", k, t)
    k, t = alternate(rounds, lambda: in_process(client, "/tp/v1/keytui/", tom_hdr, n),
                     lambda: in_process(client, "/tp/v1/tastypie/", tom_hdr, n))
    row("tastypie in-process: KeytuiAuthentication vs ApiKeyAuthentication", "req/s", k, t)
    k, t = alternate(rounds, lambda: over_http(djport, "/tp/v1/keytui/", tom_hdr, n, False)[0],
                     lambda: over_http(djport, "/tp/v1/tastypie/", tom_hdr, n, False)[0])
    row("tastypie over HTTP (runserver): KeytuiAuthentication vs ApiKeyAuthentication", "req/s", k, t)

    lat_k, lat_p = [], []
    for _ in range(rounds):
        lat_k += over_http(faport, "/app/key", keytui_hdr, n)[1]
        lat_p += over_http(faport, "/plain", {}, n)[1]
    pk, pp = statistics.median(lat_k) * 1e6, statistics.median(lat_p) * 1e6
    rows.append(("FastAPI p50 latency: KeytuiAuth dependency vs plain redis.asyncio GET", "us",
                 pk, pp, pk / pp))

    load_after = os.getloadavg()
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    w = max(len(r[0]) for r in rows)
    print(f"{'comparison'.ljust(w)}  unit   keytui   theirs  ratio")
    for what, unit, ours, theirs, ratio in rows:
        print(f"{what.ljust(w)}  {unit:5} {ours:8.0f} {theirs:8.0f}  {ratio:.2f}x")
    print(f"rounds {rounds} x {n} requests; load average before {load_before[0]:.2f}, "
          f"after {load_after[0]:.2f}; {os.cpu_count()} CPUs; Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
