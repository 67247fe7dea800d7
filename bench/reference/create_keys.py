#!/usr/bin/env python3
"""Bulk key creation the way the usual answers suggest: the `secrets` module, SHA-256 from
hashlib, redis-py, one pipeline (MULTI/EXEC, redis-py's default) per 1,000 keys.

Writes the same layout as keytui (docs/redis-layout.md, layout 2): a record hash per key,
with its `verify` field, and an index entry, and prints one JSON line per key (id, secret,
token) like `keytui create --json`.
It skips what keytui adds (the create-if-absent check and the audit event), so it does less
work per key than keytui.

    create_keys.py redis://127.0.0.1:6379 NAMESPACE COUNT > /dev/null
"""

import hashlib
import json
import secrets
import sys
import time

import redis

BATCH = 1000


def main() -> None:
    url, ns, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    r = redis.Redis.from_url(url)
    out = sys.stdout
    done = 0
    while done < count:
        n = min(BATCH, count - done)
        pipe = r.pipeline()
        for _ in range(n):
            key_id = secrets.token_hex(8)
            secret = secrets.token_urlsafe(32)
            now = int(time.time() * 1000)
            digest = hashlib.sha256(secret.encode()).hexdigest()
            pipe.hset(
                f"{ns}:key:{{{key_id}}}",
                mapping={
                    "id": key_id,
                    "name": "bench",
                    "status": "active",
                    "secret_alg": "sha256",
                    "secret": digest,
                    "token_checksum": "0",
                    "created_at": now,
                    "created_by": "bench",
                    # status, secret_alg, expires_at, token_checksum, secret, name
                    "verify": "\t".join(["active", "sha256", "", "0", digest, "bench"]),
                },
            )
            pipe.zadd(f"{{{ns}}}:index", {key_id: now})
            out.write(
                json.dumps({"id": key_id, "secret": secret, "token": f"{key_id}_{secret}"})
                + "\n"
            )
        pipe.execute()
        done += n
    out.flush()


if __name__ == "__main__":
    main()
