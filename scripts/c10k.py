#!/usr/bin/env python3
"""C10k check for rnc's many-client listener (src/hub): not a cargo test.

Starts `rnc -lk -m 20000 --test 127.0.0.1 PORT` with its descriptor limit
raised, opens N idle TCP connections to it (default 10000), and checks that

  1. the listener holds all of them: N ESTABLISHED sockets with PORT as their
     local port, owned by the rnc process (/proc/net/tcp, /proc/PID/fd);
  2. it still serves every one of them: a line written to its stdin reaches
     all N clients, and a line from a new client reaches its stdout;

then reports the listener's RSS and PSS (/proc/PID/smaps_rollup) before and
after, per connection. Everything is bounded by --timeout (default 180 s).

    scripts/c10k.py [-n 10000] [--rnc target/release/rnc] [--timeout 180]

Exit status 0 when every check passed, 1 otherwise.
"""

import argparse
import os
import resource
import selectors
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def default_rnc():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    for profile in ("release", "debug"):
        p = os.path.join(target, profile, "rnc")
        if os.access(p, os.X_OK):
            return p
    return "rnc"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rollup(pid):
    """Rss and Pss of `pid` in bytes."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if parts and parts[0] in ("Rss:", "Pss:"):
                out[parts[0][:-1]] = int(parts[1]) * 1024
    return out["Rss"], out["Pss"]


def socket_inodes(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            t = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if t.startswith("socket:["):
            inodes.add(int(t[8:-1]))
    return inodes


def established(pid, port):
    """ESTABLISHED TCP sockets of `pid` whose local port is `port`."""
    mine = socket_inodes(pid)
    n = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local_port = int(fields[1].rsplit(":", 1)[1], 16)
                    if fields[3] == "01" and local_port == port and int(fields[9]) in mine:
                        n += 1
        except FileNotFoundError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--connections", type=int, default=10000)
    ap.add_argument("--rnc", default=default_rnc())
    ap.add_argument("--timeout", type=float, default=180.0)
    args = ap.parse_args()
    n = args.connections
    deadline = time.monotonic() + args.timeout

    def left():
        return deadline - time.monotonic()

    # This process holds N client sockets, rnc N server sockets.
    need = n + 256
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit(f"c10k: the descriptor hard limit is {hard}; {need} are needed")
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    port = free_port()
    cmd = [args.rnc, "-lk", "-m", "20000", "--test", "127.0.0.1", str(port)]
    srv = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard)),
    )
    ok = True
    clients = []
    try:
        banner = b""
        os.set_blocking(srv.stderr.fileno(), False)
        while b"NCAT TEST: LISTEN" not in banner:
            if left() <= 0 or srv.poll() is not None:
                sys.exit(f"c10k: rnc did not start listening: {banner!r}")
            try:
                banner += srv.stderr.read() or b""
            except BlockingIOError:
                pass
            time.sleep(0.01)
        time.sleep(0.2)
        rss0, pss0 = rollup(srv.pid)

        t0 = time.monotonic()
        for i in range(n):
            if left() <= 0:
                print(f"c10k: out of time after {i} connections")
                ok = False
                break
            s = socket.create_connection(("127.0.0.1", port), timeout=min(10, left()))
            clients.append(s)
        t_connect = time.monotonic() - t0

        held = 0
        while left() > 0:
            held = established(srv.pid, port)
            if held >= len(clients):
                break
            time.sleep(0.1)
        t_held = time.monotonic() - t0
        time.sleep(0.5)
        rss1, pss1 = rollup(srv.pid)
        if held != n:
            ok = False

        # Every client is still served: stdin reaches each one.
        sel = selectors.DefaultSelector()
        for s in clients:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, bytearray())
        t1 = time.monotonic()
        srv.stdin.write(b"ping\n")
        srv.stdin.flush()
        waiting = len(clients)
        while waiting and left() > 0:
            for key, _ in sel.select(timeout=min(1.0, max(left(), 0.01))):
                try:
                    data = key.fileobj.recv(64)
                except BlockingIOError:
                    continue
                key.data.extend(data)
                if key.data == b"ping\n" or not data:
                    sel.unregister(key.fileobj)
                    waiting -= 1
        t_broadcast = time.monotonic() - t1
        reached = len(clients) - waiting
        if reached != n:
            ok = False

        # ... and a client's data still reaches stdout.
        with socket.create_connection(("127.0.0.1", port), timeout=max(1, left())) as c:
            c.sendall(b"pong\n")
            os.set_blocking(srv.stdout.fileno(), False)
            got = b""
            while b"pong\n" not in got and left() > 0:
                try:
                    got += srv.stdout.read() or b""
                except BlockingIOError:
                    pass
                time.sleep(0.01)
        echoed = b"pong\n" in got
        ok = ok and echoed

        per = lambda a, b: (b - a) / max(n, 1)
        print(f"rnc:             {args.rnc}")
        print(f"connections:     {n} opened in {t_connect:.2f} s; "
              f"{held} ESTABLISHED on the listener after {t_held:.2f} s")
        print(f"stdin broadcast: reached {reached}/{n} clients in {t_broadcast:.2f} s")
        print(f"client -> stdout after that: {'ok' if echoed else 'FAILED'}")
        print(f"RSS:  {rss0 / 1024:.0f} KiB idle -> {rss1 / 1024:.0f} KiB with {n} "
              f"connections = {per(rss0, rss1):.0f} bytes per connection")
        print(f"PSS:  {pss0 / 1024:.0f} KiB idle -> {pss1 / 1024:.0f} KiB with {n} "
              f"connections = {per(pss0, pss1):.0f} bytes per connection")
        with open("/proc/net/sockstat") as f:
            tcp = next((l.strip() for l in f if l.startswith("TCP:")), "")
        print(f"kernel (all TCP sockets, both ends; mem in pages): {tcp}")
        print("result:", "ok" if ok else "FAILED")
    finally:
        for s in clients:
            s.close()
        srv.kill()
        srv.wait()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
