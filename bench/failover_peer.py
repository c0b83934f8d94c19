#!/usr/bin/python3
"""The peers and the watch of the failover benchmark (bench/failover.sh).

  failover_peer.py stream ADDR PORT [--mptcp] [--ready FILE]
      serve connections, each sent bytes as fast as it takes them until it
      goes; until killed
  failover_peer.py first-byte ADDR PORT LIMIT [--mptcp]
      connect and wait for the first byte: print the seconds it took from
      this program's start, or "none" after LIMIT seconds
  failover_peer.py gaps ADDR PORT SECS [--mptcp]
      connect and read for SECS seconds: print the longest time between two
      reads (seconds) and the bytes read
  failover_peer.py watch DEV WINDOW_MS BYTES LIMIT
      (in the namespace's own /sys: run it with `ip netns exec`) from now,
      print the seconds until DEV first sent BYTES within WINDOW_MS, or
      "none" after LIMIT seconds
"""
import os
import socket
import sys
import threading
import time

IPPROTO_MPTCP = 262
CHUNK = 65536


def connect(addr, port, mptcp, timeout):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP if mptcp else 0)
    s.settimeout(timeout)
    s.connect((addr, port))
    return s


def stream(addr, port, mptcp, ready):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM, IPPROTO_MPTCP if mptcp else 0)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(64)
    if ready:
        open(ready, "w").close()
    data = os.urandom(CHUNK)

    def pour(c):
        try:
            while True:
                c.sendall(data)
        except OSError:
            c.close()

    while True:
        c, _ = ls.accept()
        threading.Thread(target=pour, args=(c,), daemon=True).start()


def first_byte(addr, port, limit, mptcp):
    start = time.monotonic()
    try:
        s = connect(addr, port, mptcp, limit)
        s.settimeout(max(0.01, limit - (time.monotonic() - start)))
        if s.recv(1):
            print(f"{time.monotonic() - start:.3f}")
            return
    except OSError:
        pass
    print("none")


def gaps(addr, port, secs, mptcp):
    s = connect(addr, port, mptcp, 10)
    s.settimeout(1)
    start = last = time.monotonic()
    longest, total = 0.0, 0
    while time.monotonic() - start < secs:
        try:
            n = len(s.recv(CHUNK))
        except socket.timeout:
            n = -1
        now = time.monotonic()
        if n == 0:
            break
        if n > 0:
            longest = max(longest, now - last)
            last = now
            total += n
    longest = max(longest, time.monotonic() - last)
    print(f"{longest:.3f} {total}")


def watch(dev, window_ms, want, limit):
    path = f"/sys/class/net/{dev}/statistics/tx_bytes"
    seen = []  # (time, bytes)
    start = time.monotonic()
    while time.monotonic() - start < limit:
        now = time.monotonic()
        with open(path) as f:
            b = int(f.read())
        seen.append((now, b))
        while seen and now - seen[0][0] > window_ms / 1000:
            seen.pop(0)
        if b - seen[0][1] >= want:
            print(f"{now - start:.3f}")
            return
        time.sleep(0.01)
    print("none")


def main():
    a = sys.argv[1:]
    mptcp = "--mptcp" in a
    ready = a[a.index("--ready") + 1] if "--ready" in a else None
    if len(a) >= 3 and a[0] == "stream":
        stream(a[1], int(a[2]), mptcp, ready)
    elif len(a) >= 4 and a[0] == "first-byte":
        first_byte(a[1], int(a[2]), float(a[3]), mptcp)
    elif len(a) >= 4 and a[0] == "gaps":
        gaps(a[1], int(a[2]), float(a[3]), mptcp)
    elif len(a) >= 5 and a[0] == "watch":
        watch(a[1], float(a[2]), int(a[3]), float(a[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
