#!/usr/bin/env python3
"""The limits keytui's benchmark rows are compared with: what Redis itself takes for exactly
the commands keytui sends. Standard library only; used by script/bench and bench/tui.sh.

    limit.py capture --port P -- COMMAND...
        Runs COMMAND while a MONITOR connection records what the server receives; prints
        each command received as a JSON list of strings, one per line (MONITOR's own
        connection excluded). This is how the benchmark learns the exact commands keytui
        sends (the fields of a listing's HMGET, a create's EVALSHA) instead of copying them.

    limit.py listed-fields --port P -- COMMAND...
        capture, then prints the field names of the first HMGET on a record key, one line.

    limit.py hmget-files --port P --namespace NS --fields "f1 f2 ..." --out PREFIX
        Reads every id of the namespace's index and writes, in RESP, one HMGET of those
        fields per record key, to PREFIX.0 (a server) or PREFIX.<i> per cluster master
        (each file holds the keys of the slots that master serves; its port on the first
        line of PREFIX.ports). Prints the number of commands written.

    limit.py create-args --port P --out FILE -- COMMAND...
        capture, then takes the largest EVALSHA keytui sent (a create batch) and writes it
        as NUL-separated arguments for redis-benchmark, with each key id replaced by
        redis-benchmark's __rand_int__ (a fresh random number per occurrence and request),
        so every request creates new keys. Prints the number of keys per command.

The timing itself is done by the caller: `redis-cli --pipe < PREFIX.0` sends the file as
fast as the server takes it and reads (without parsing) every reply, which is the floor of
any client.
"""

import argparse
import json
import socket
import subprocess
import sys
import threading


# ---- a minimal RESP client ---------------------------------------------------------------


class Conn:
    def __init__(self, port, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port))
        self.f = self.sock.makefile("rb", buffering=1 << 20)

    def send(self, *args):
        self.sock.sendall(encode(args))

    def call(self, *args):
        self.send(*args)
        return self.read()

    def read(self):
        line = self.f.readline()
        if not line:
            raise EOFError("connection closed")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2].decode("utf-8", "surrogateescape")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise RuntimeError(f"unexpected reply {line!r}")


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else str(a).encode("utf-8", "surrogateescape")
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


# ---- MONITOR capture -----------------------------------------------------------------------


def unquote_monitor(line):
    """The arguments of one MONITOR line: `<time> [<db> <addr>] "arg" "arg" ...`, each
    argument quoted as by sdscatrepr (\\n \\r \\t \\a \\b \\\\ \\" and \\xHH escapes)."""
    start = line.find("] ")
    if start < 0:
        return None
    s = line[start + 2 :]
    args, i = [], 0
    while i < len(s):
        if s[i] != '"':
            i += 1
            continue
        i += 1
        buf = bytearray()
        while i < len(s) and s[i] != '"':
            c = s[i]
            if c == "\\" and i + 1 < len(s):
                n = s[i + 1]
                if n == "x":
                    buf.append(int(s[i + 2 : i + 4], 16))
                    i += 4
                    continue
                buf += {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b"}.get(
                    n, n.encode()
                )
                i += 2
                continue
            buf += c.encode("utf-8", "surrogateescape")
            i += 1
        args.append(buf.decode("utf-8", "surrogateescape"))
        i += 1
    return args


def capture(port, command):
    mon = Conn(port)
    if mon.call("MONITOR") != "OK":
        raise RuntimeError("MONITOR refused")
    lines = []
    done = threading.Event()

    def reader():
        while True:
            try:
                line = mon.f.readline()
            except (OSError, ValueError):
                return
            if not line:
                return
            lines.append(line.decode("utf-8", "surrogateescape")[1:-2])
            if done.is_set() and lines[-1].endswith('"keytui-bench-capture-end"'):
                return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    rc = subprocess.run(command, stdout=subprocess.DEVNULL).returncode
    if rc != 0:
        raise RuntimeError(f"{command[0]} exited with {rc}")
    done.set()
    # A marker command, so that everything before it has been read when it shows up.
    Conn(port).call("ECHO", "keytui-bench-capture-end")
    t.join(timeout=30)
    mon.sock.close()
    cmds = [unquote_monitor(line) for line in lines]
    return [c for c in cmds if c and c != ["ECHO", "keytui-bench-capture-end"]]


# ---- files of HMGETs -----------------------------------------------------------------------


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def key_slot(key):
    k = key.encode()
    s = k.find(b"{")
    if s >= 0:
        e = k.find(b"}", s + 1)
        if e > s + 1:
            k = k[s + 1 : e]
    return crc16(k) % 16384


def hmget_files(port, ns, fields, prefix):
    conn = Conn(port)
    info = conn.call("INFO", "cluster")
    cluster = "cluster_enabled:1" in info
    ports = [port]
    owner = None
    if cluster:
        slots = conn.call("CLUSTER", "SLOTS")
        ports = sorted({int(r[2][1]) for r in slots})
        owner = [0] * 16384
        for r in slots:
            for s in range(int(r[0]), int(r[1]) + 1):
                owner[s] = ports.index(int(r[2][1]))
    index = "{%s}:index" % ns
    # The index lives on one master of a cluster; ask it directly.
    if cluster:
        conn = Conn(ports[owner[key_slot(index)]])
    outs = [open(f"{prefix}.{i}", "wb") for i in range(len(ports))]
    field_bytes = [f.encode() for f in fields]
    head = b"*%d\r\n$5\r\nHMGET\r\n" % (len(fields) + 2)
    tail = b"".join(b"$%d\r\n%s\r\n" % (len(f), f) for f in field_bytes)
    total, start, chunk = 0, 0, 100_000
    while True:
        # Newest first, the order keytui's listing and the TUI read in: with records kept
        # as hash tables (layout 2), reading in creation order instead is about 15% faster
        # for the server (memory locality), which would flatter the limit.
        ids = conn.call("ZREVRANGE", index, start, start + chunk - 1)
        if not ids:
            break
        start += len(ids)
        bufs = [[] for _ in ports]
        for key_id in ids:
            key = f"{ns}:key:{{{key_id}}}".encode()
            i = owner[key_slot(key.decode())] if cluster else 0
            bufs[i].append(head + b"$%d\r\n%s\r\n" % (len(key), key) + tail)
        for f, b in zip(outs, bufs):
            f.write(b"".join(b))
        total += len(ids)
        if len(ids) < chunk:
            break
    for f in outs:
        f.close()
    with open(f"{prefix}.ports", "w") as f:
        f.write(" ".join(str(p) for p in ports) + "\n")
    return total


# ---- redis-benchmark arguments of a create batch -------------------------------------------


def create_args(cmds):
    """The biggest EVALSHA (a create batch): KEYS are index, events, the record keys, then
    the keys' history streams; ARGV: maxlen, actor, now, history maxlen, then per key id,
    created_at, name, n, and n field/value args. The i-th key id (in its record key, its
    history key, the per-key id argument and the `id` field) becomes `__rand_int__-i`:
    redis-benchmark writes one random number per request into every `__rand_int__` (given
    -r below 2^31), so the ids are new in every request and distinct within it. The rest
    stays as keytui sent it."""
    evals = [c for c in cmds if c and c[0].upper() == "EVALSHA"]
    if not evals:
        raise RuntimeError("no EVALSHA captured")
    cmd = max(evals, key=len)
    nkeys = int(cmd[2])
    keys = cmd[3 : 3 + nkeys]
    records = [k for k in keys[2:] if ":history:" not in k]
    ids = {}
    for i, k in enumerate(records):
        s, e = k.index("{"), k.rindex("}")
        ids[k[s + 1 : e]] = f"__rand_int__-{i}"
    out = []
    for a in cmd:
        if a in ids:
            out.append(ids[a])
        elif "{" in a and a.endswith("}") and a[a.index("{") + 1 : -1] in ids:
            out.append(a[: a.index("{") + 1] + ids[a[a.index("{") + 1 : -1]] + "}")
        elif ":history:" in a and a.rsplit(":history:", 1)[1] in ids:
            head, id_ = a.rsplit(":history:", 1)
            out.append(f"{head}:history:{ids[id_]}")
        else:
            out.append(a)
    return out, len(records)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    c = sub.add_parser("capture")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("command", nargs="+")
    lf = sub.add_parser("listed-fields")
    lf.add_argument("--port", type=int, required=True)
    lf.add_argument("command", nargs="+")
    h = sub.add_parser("hmget-files")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--namespace", required=True)
    h.add_argument("--fields", required=True)
    h.add_argument("--out", required=True)
    ca = sub.add_parser("create-args")
    ca.add_argument("--port", type=int, required=True)
    ca.add_argument("--out", required=True)
    ca.add_argument("command", nargs="+")
    a = p.parse_args()

    if a.what == "capture":
        for cmd in capture(a.port, a.command):
            print(json.dumps(cmd))
    elif a.what == "listed-fields":
        for cmd in capture(a.port, a.command):
            if cmd[0].upper() == "HMGET" and ":key:{" in cmd[1]:
                print(" ".join(cmd[2:]))
                return
        sys.exit("limit.py: no HMGET of a record key captured")
    elif a.what == "hmget-files":
        print(hmget_files(a.port, a.namespace, a.fields.split(), a.out))
    elif a.what == "create-args":
        args, n = create_args(capture(a.port, a.command))
        with open(a.out, "wb") as f:
            f.write(b"\0".join(x.encode("utf-8", "surrogateescape") for x in args))
        print(n)


if __name__ == "__main__":
    main()
