#!/usr/bin/env python3
"""Drives keytui in a private tmux server and prints `TUI <metric> <value> <unit>` lines.

Called by bench/tui.sh once the namespaces are seeded; Python 3 standard library only.
Timings come from two sides: the timing events keytui writes to its log when KEYTUI_LOG
is set (`first_rows_drawn`, `all_records_loaded`, `filter_applied`; milliseconds since
keytui started, or since the keystroke was read), and from outside: the launch is released
through a FIFO at a known instant and the pane is polled with `tmux capture-pane`.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

WIDTH, HEIGHT = 120, 40
POLL = 0.005
ROW = re.compile(r"(?<![\w-])bench-\d|zqxv-needle")
QUERY = "needle"
NEEDLE = "zqxv-needle"
IDLE_SECS = 10.0


def out(metric, value, unit):
    if isinstance(value, float):
        value = f"{value:.1f}"
    print(f"TUI {metric} {value} {unit}", flush=True)


class Session:
    """One tmux server (`tmux -L <socket>`) running keytui in a 120x40 pane."""

    def __init__(self, args, namespace, tag):
        self.args = args
        self.socket = f"keytui-tuibench-{os.getpid()}-{tag}"
        self.log = os.path.join(args.tmp, f"{tag}.log")
        self.go = os.path.join(args.tmp, f"{tag}.go")
        os.mkfifo(self.go)
        keytui = " ".join(
            sh_quote(a)
            for a in [
                args.bin,
                "--url",
                args.url,
                "-n",
                namespace,
                "--log-file",
                self.log,
            ]
        )
        # The pane waits on the FIFO so that the launch instant is ours to choose.
        script = f"cat {sh_quote(self.go)} >/dev/null; exec {keytui}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KEYTUI_", "REDIS_URL", "TMUX"))}
        env["TERM"] = "xterm-256color"
        self.env = env
        self.tmux(
            "new-session", "-d", "-s", "main", "-x", str(WIDTH), "-y", str(HEIGHT),
            "-e", "KEYTUI_LOG=info", "-e", f"XDG_CONFIG_HOME={args.tmp}/config",
            "sh", "-c", script,
        )
        self.launched = None
        self.pid = None

    def tmux(self, *argv, check=True):
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *argv],
            env=self.env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=check,
        )

    def launch(self):
        self.launched = time.monotonic()
        with open(self.go, "w") as f:
            f.write("go\n")

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "main:0").stdout

    def keytui_pid(self):
        if self.pid:
            return self.pid
        pane = int(self.tmux("list-panes", "-t", "main:0", "-F", "#{pane_pid}").stdout.split()[0])
        want = os.path.realpath(self.args.bin)
        for pid in [pane, *children(pane)]:
            try:
                if os.path.realpath(f"/proc/{pid}/exe") == want:
                    self.pid = pid
                    return pid
            except OSError:
                pass
        raise SystemExit("tui_measure: cannot find the keytui process")

    def events(self):
        """The timing events logged so far, as dicts."""
        try:
            with open(self.log, errors="replace") as f:
                text = f.read()
        except OSError:
            return []
        found = []
        for line in text.splitlines():
            m = re.search(r"timing=\"?(\w+)\"?(.*)", line)
            if not m:
                continue
            ev = {"timing": m.group(1)}
            for k, v in re.findall(r"(\w+)=([-\d.]+)", m.group(2)):
                ev[k] = float(v)
            found.append(ev)
        return found

    def wait_event(self, name, timeout, pred=lambda e: True, skip=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [e for e in self.events() if e["timing"] == name and pred(e)]
            if len(hits) > skip:
                return hits[skip], time.monotonic()
            time.sleep(POLL)
        return None, time.monotonic()

    def close(self):
        self.tmux("send-keys", "-t", "main:0", "q", check=False)
        time.sleep(0.2)
        self.tmux("kill-server", check=False)


def sh_quote(s):
    return "'" + str(s).replace("'", "'\\''") + "'"


def children(pid):
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(d))
    return kids


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])  # kB
    return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def first_rows(s, timeout=60.0):
    """Launches and polls the pane for a key row; returns (outside ms, log event)."""
    s.launch()
    deadline = s.launched + timeout
    seen = None
    while time.monotonic() < deadline:
        if ROW.search(s.screen()):
            seen = time.monotonic()
            break
        time.sleep(POLL)
    if seen is None:
        raise SystemExit(f"tui_measure: no key row on screen after {timeout} s:\n{s.screen()}")
    ev, _ = s.wait_event("first_rows_drawn", 10)
    return (seen - s.launched) * 1000.0, ev


def measure_small(args):
    outside, logged = [], []
    for run in range(args.small_runs):
        s = Session(args, args.small_namespace, f"small{run}")
        try:
            ms, ev = first_rows(s)
            outside.append(ms)
            if ev:
                logged.append(ev["ms"])
        finally:
            s.close()
    n = args.small_keys
    out(f"first_rows_log_{n}keys", statistics.median(logged) if logged else -1.0, "ms")
    out(f"first_rows_outside_{n}keys", statistics.median(outside), "ms")


def measure_large(args):
    n = args.keys
    s = Session(args, args.namespace, "large")
    try:
        outside, ev = first_rows(s)
        out(f"first_rows_log_{n}keys", ev["ms"] if ev else -1.0, "ms")
        out(f"first_rows_outside_{n}keys", outside, "ms")
        ev, seen = s.wait_event("all_records_loaded", args.load_timeout)
        if ev is None:
            raise SystemExit("tui_measure: all_records_loaded never came")
        out("all_loaded_log", ev["ms"], "ms")
        out("all_loaded_outside", (seen - s.launched) * 1000.0, "ms")
        pid = s.keytui_pid()
        # Let the last chunk be applied before the idle window.
        time.sleep(1.0)
        out("rss_loaded", proc_status(pid, "VmHWM") / 1024.0, "MB")
        hz = os.sysconf("SC_CLK_TCK")
        t0, c0 = time.monotonic(), cpu_ticks(pid)
        time.sleep(IDLE_SECS)
        t1, c1 = time.monotonic(), cpu_ticks(pid)
        out("idle_cpu", 100.0 * (c1 - c0) / hz / (t1 - t0), "%core")

        # Filter: `/`, then one character at a time, each answered before the next.
        s.tmux("send-keys", "-t", "main:0", "/")
        time.sleep(0.3)
        inside, outside = [], []
        last_send = None
        for i, ch in enumerate(QUERY, start=1):
            before = len([e for e in s.events() if e["timing"] == "filter_applied"])
            last_send = time.monotonic()
            s.tmux("send-keys", "-t", "main:0", "-l", ch)
            ev, seen = s.wait_event("filter_applied", 60, skip=before)
            if ev is None:
                raise SystemExit(f"tui_measure: no filter_applied after typing {QUERY[:i]!r}")
            inside.append(ev["ms"])
            outside.append((seen - last_send) * 1000.0)
            print(
                f"# filter {QUERY[:i]!r}: {ev['ms']:.1f} ms in keytui, "
                f"{outside[-1]:.1f} ms send-keys to log, {int(ev.get('rows', -1))} rows",
                file=sys.stderr,
            )
        # From outside: the final query's result on screen (the needle as first row).
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            body = [l for l in s.screen().splitlines() if ROW.search(l)]
            if body and NEEDLE in body[0]:
                break
            time.sleep(POLL)
        screen_ms = (time.monotonic() - last_send) * 1000.0
        out("filter_key_log_median", statistics.median(inside), "ms")
        out("filter_key_log_max", max(inside), "ms")
        out("filter_key_first_char_log", inside[0], "ms")
        out("filter_key_outside_median", statistics.median(outside), "ms")
        out("filter_key_outside_max", max(outside), "ms")
        out("filter_last_key_to_screen", screen_ms, "ms")
        out("rss_peak", proc_status(pid, "VmHWM") / 1024.0, "MB")
        out("rss_now", proc_status(pid, "VmRSS") / 1024.0, "MB")
    finally:
        s.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--keys", type=int, required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--small-namespace")
    p.add_argument("--small-keys", type=int, default=10)
    p.add_argument("--small-runs", type=int, default=3)
    p.add_argument("--load-timeout", type=float, default=600)
    args = p.parse_args()
    os.makedirs(os.path.join(args.tmp, "config"), exist_ok=True)
    out("cores", os.cpu_count(), "cpus")
    out("loadavg_start", float(os.getloadavg()[0]), "load")
    if args.small_namespace:
        measure_small(args)
    measure_large(args)
    out("loadavg_end", float(os.getloadavg()[0]), "load")


if __name__ == "__main__":
    main()
