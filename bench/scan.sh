#!/usr/bin/env bash
# keytui scan throughput on a large CI-like log with a few tokens in it, against
# `cat FILE > /dev/null` (page-cache read speed) and `grep -c PREFIX FILE`, in the same run.
#
#   bench/scan.sh [--size-mb 1024] [--no-build]
#
# Starts its own redis-server on a free loopback port (temporary directory, killed at exit),
# creates three keys, writes the log to a temporary file (removed at exit), warms the page
# cache, then times each command three times and prints the best of each with MB/s and the
# ratios. Needs redis-server, python3 and cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=1024
BUILD=1
while [ $# -gt 0 ]; do
  case "$1" in
    --size-mb) SIZE_MB="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    *) echo "usage: $0 [--size-mb N] [--no-build]" >&2; exit 2 ;;
  esac
done
[ "$BUILD" = 1 ] && cargo build --release --bin keytui >&2
BIN=${KEYTUI_BIN:-target/release/keytui}
TMP=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$TMP" --daemonize yes \
  --pidfile "$TMP/redis.pid" >/dev/null
trap 'kill "$(cat "$TMP/redis.pid")" 2>/dev/null || true; rm -rf "$TMP"' EXIT
URL="redis://127.0.0.1:$PORT"
for _ in $(seq 100); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
TOKENS=""
for name in billing search ci; do
  t=$("$BIN" "$URL" -n bench create --name "$name" --prefix sk_live --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  TOKENS="$TOKENS $t"
done
LOG="$TMP/ci.log"
python3 - "$LOG" "$SIZE_MB" $TOKENS <<'EOF'
import random, sys
path, size_mb, tokens = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
rnd = random.Random(1)
words = ["compiling", "crate_name", "v1.2.3", "test_result", "ok", "warning:", "unused_variable",
         "src/lib_mod.rs:42:7", "request_id=", "user_id=", "Downloaded", "serde_json", "GET",
         "/api/v1/items?page=2", "status=200", "duration_ms=12", "RUST_LOG=info", "npm", "WARN"]
lines = []
for i in range(20000):
    n = rnd.randint(4, 14)
    body = " ".join(rnd.choice(words) + (str(rnd.randint(0, 99999)) if rnd.random() < .3 else "")
                    for _ in range(n))
    lines.append(f"2026-11-0{i % 9 + 1}T12:{i % 60:02d}:{i % 57:02d}.{i % 1000:03d}Z INFO job_{i % 7}: {body}\n")
block = "".join(lines).encode()
blocks = max(1, size_mb * 1024 * 1024 // len(block))
where = {blocks // 5: 0, blocks // 2: 1, blocks - 1: 2}
with open(path, "wb") as f:
    for b in range(blocks):
        f.write(block)
        if b in where:
            f.write(f"export API_KEY={tokens[where[b]]}\n".encode())
EOF
BYTES=$(stat -c %s "$LOG")
cat "$LOG" >/dev/null
best() { # best wall time and best CPU time (user+sys) of three runs, in seconds
  python3 - "$@" <<'EOF'
import resource, subprocess, sys, time
wall = cpu = None
for _ in range(3):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    c = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    wall = d if wall is None else min(wall, d)
    cpu = c if cpu is None else min(cpu, c)
print(f"{wall:.3f} {cpu:.3f}")
EOF
}
read -r T_CAT C_CAT < <(best cat "$LOG")
read -r T_GREP C_GREP < <(best grep -c sk_live_ "$LOG")
read -r T_SCAN C_SCAN < <(best "$BIN" "$URL" -n bench scan "$LOG")
FOUND=$("$BIN" "$URL" -n bench scan "$LOG" | wc -l || true)
python3 - "$BYTES" "$T_CAT" "$T_GREP" "$T_SCAN" "$C_CAT" "$C_GREP" "$C_SCAN" "$FOUND" <<'EOF'
import os, sys
size = int(sys.argv[1])
cat, grep, scan, ccat, cgrep, cscan = map(float, sys.argv[2:8])
found = sys.argv[8]
mb = size / 1e6
print(f"file: {mb:.0f} MB, tokens reported by scan: {found}, load average {os.getloadavg()[0]:.1f}")
for name, t, c in [("cat", cat, ccat), ("grep -c sk_live_", grep, cgrep), ("keytui scan", scan, cscan)]:
    print(f"{name:<18} wall {t:7.3f} s {mb / t:7.0f} MB/s   cpu {c:7.3f} s {mb / max(c, 1e-3):7.0f} MB/s")
print(f"scan speed / cat: wall {cat / scan:.2f}   scan speed / grep: wall {grep / scan:.2f}, cpu {cgrep / max(cscan, 1e-3):.2f}")
EOF
