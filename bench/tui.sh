#!/usr/bin/env bash
# Measures the keytui TUI on a namespace of N keys (default 1,000,000) and prints
# `TUI <metric> <value> <unit>` lines (see bench/README.md).
#
#   bench/tui.sh [--keys N] [--url URL] [--small N] [--no-build] [--limit-fields "F1 F2 ..."]
#
# Without --url a private redis-server is started on a free loopback port (no persistence)
# and killed at exit. Seeding is not timed. --small N (default 10) also measures launch to
# first rows on an N-key namespace, to show the first screen does not depend on size
# (0 skips it). --limit-fields also measures the limit of loading, on the same namespace
# right after seeding: one HMGET of those fields per key sent by `redis-cli --pipe` from a
# file (bench/limit.py), printed as `TUI limit_hmget_pipe <ms> ms`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
keys=1000000
small=10
url=""
build=1
limit_fields=""
while [ $# -gt 0 ]; do
    case "$1" in
        --keys) keys="$2"; shift 2 ;;
        --url) url="$2"; shift 2 ;;
        --small) small="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --limit-fields) limit_fields="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "bench/tui.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done

for tool in tmux python3; do
    command -v "$tool" >/dev/null || { echo "bench/tui.sh: $tool not found" >&2; exit 2; }
done
if [ "$build" = 1 ] && [ -z "${KEYTUI_BIN:-}" ]; then
    (cd "$root" && cargo build --release --quiet --bin keytui) >&2
fi
bin="${KEYTUI_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/keytui}"
[ -x "$bin" ] || { echo "bench/tui.sh: $bin missing (cargo build --release)" >&2; exit 2; }

tmp="$(mktemp -d -t keytui-tuibench.XXXXXX)"
redis_pid=""
cleanup() {
    if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

if [ -z "$url" ]; then
    command -v redis-server >/dev/null || { echo "bench/tui.sh: redis-server not found" >&2; exit 2; }
    port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp" \
        --daemonize no --logfile "$tmp/redis.log" &
    redis_pid=$!
    url="redis://127.0.0.1:$port"
    for _ in $(seq 100); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && break
        sleep 0.05
    done
fi

# Seeds namespace $1 with $2 keys (not timed): two writers in parallel, ten names, metadata.
seed() {
    local ns="$1" n="$2" writers=2 i per
    per=$(( (n + writers - 1) / writers ))
    local pids=()
    for i in $(seq 0 $((writers - 1))); do
        local count=$per
        if [ $(( (i + 1) * per )) -gt "$n" ]; then count=$(( n - i * per )); fi
        [ "$count" -gt 0 ] || continue
        "$bin" --url "$url" -n "$ns" create --count "$count" --name "bench-$i" \
            --meta "team=team-$i" --meta "env=prod" >/dev/null &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    # A needle for the filter test: the newest key, with a name nothing else matches.
    "$bin" --url "$url" -n "$ns" create --name "zqxv-needle" --meta "team=needle" >/dev/null
}

# Fresh namespaces of our own, so an existing server (--url) is left as it was.
ns="tuib-$$"
ns_small="tuib-small-$$"
drop_namespaces() {
    local pattern
    for pattern in "$ns:*" "{$ns}:*" "$ns_small:*" "{$ns_small}:*"; do
        redis-cli -u "$url" --scan --pattern "$pattern" --count 10000 \
            | xargs -r -n 1000 redis-cli -u "$url" unlink >/dev/null 2>&1 || true
    done
}
if [ -z "$redis_pid" ]; then trap 'drop_namespaces; cleanup' EXIT INT TERM; fi

started=$(date +%s)
echo "bench/tui.sh: seeding $keys keys into namespace $ns at $url" >&2
seed "$ns" "$((keys - 1))"
if [ "$small" -gt 0 ]; then seed "$ns_small" "$((small - 1))"; fi
echo "bench/tui.sh: seeded in $(( $(date +%s) - started )) s" >&2

if [ -n "$limit_fields" ]; then
    # The limit of loading this namespace: the same HMGET for every key, by redis-cli --pipe.
    port="${url##*:}"; port="${port%%/*}"
    n=$(python3 "$here/limit.py" hmget-files --port "$port" --namespace "$ns" \
        --fields "$limit_fields" --out "$tmp/hmget")
    t0=$(date +%s%N)
    redis-cli -p "$port" --pipe <"$tmp/hmget.0" >"$tmp/pipe.out"
    t1=$(date +%s%N)
    grep -q "errors: 0, replies: $n\$" "$tmp/pipe.out" \
        || { echo "bench/tui.sh: redis-cli --pipe: $(tail -n 1 "$tmp/pipe.out")" >&2; exit 1; }
    rm -f "$tmp"/hmget.*
    echo "TUI limit_hmget_pipe $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }') ms"
fi

small_args=()
if [ "$small" -gt 0 ]; then small_args=(--small-namespace "$ns_small" --small-keys "$small"); fi
python3 "$here/tui_measure.py" --bin "$bin" --url "$url" --namespace "$ns" \
    --keys "$keys" --tmp "$tmp" "${small_args[@]}"
