#!/usr/bin/python3
"""Time to first byte, for bench/ttfb.sh: connect, send one request line,
wait for the first byte of the answer; the median, min and max over N runs.

  ttfb.py serve ADDR PORT            answer every request line with one byte
  ttfb.py direct ADDR PORT N         plain TCP to ADDR
  ttfb.py rtt ADDR PORT N            the TCP handshake alone (one round trip)
  ttfb.py socks PROXY PPORT ADDR PORT N
                                     SOCKS5 (no auth, CONNECT) over MPTCP to PROXY
Prints "MEDIAN_MS MIN_MS MAX_MS".
"""
import socket
import statistics
import struct
import sys
import threading
import time

IPPROTO_MPTCP = 262


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def serve(addr, port):
    s = socket.socket(family(addr), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)

    def answer(c):
        with c:
            buf = b""
            while b"\n" not in buf:
                b = c.recv(100)
                if not b:
                    return
                buf += b
            c.sendall(b"x")

    while True:
        c, _ = s.accept()
        threading.Thread(target=answer, args=(c,), daemon=True).start()


def request(s):
    s.sendall(b"GET\n")
    if s.recv(1) != b"x":
        sys.exit("ttfb: no answer")


def direct(addr, port):
    t0 = time.monotonic()
    with socket.create_connection((addr, port), timeout=10) as s:
        request(s)
    return time.monotonic() - t0


def handshake(addr, port):
    t0 = time.monotonic()
    socket.create_connection((addr, port), timeout=10).close()
    return time.monotonic() - t0


def socks(proxy, pport, addr, port):
    t0 = time.monotonic()
    with socket.socket(family(proxy), socket.SOCK_STREAM, IPPROTO_MPTCP) as s:
        s.settimeout(10)
        s.connect((proxy, pport))
        s.sendall(b"\x05\x01\x00")  # version 5, one method: no authentication
        if s.recv(2) != b"\x05\x00":
            sys.exit("ttfb: SOCKS5 method refused")
        a = socket.inet_pton(family(addr), addr)
        atyp = 1 if len(a) == 4 else 4
        s.sendall(bytes([5, 1, 0, atyp]) + a + struct.pack("!H", port))
        reply = s.recv(4 + len(a) + 2)
        if len(reply) < 2 or reply[1] != 0:
            sys.exit("ttfb: SOCKS5 CONNECT failed")
        request(s)
    return time.monotonic() - t0


def report(samples):
    ms = [x * 1000 for x in samples]
    print(f"{statistics.median(ms):.2f} {min(ms):.2f} {max(ms):.2f}")


def main():
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == "serve":
        serve(a[1], int(a[2]))
    elif len(a) == 4 and a[0] == "direct":
        report([direct(a[1], int(a[2])) for _ in range(int(a[3]))])
    elif len(a) == 4 and a[0] == "rtt":
        report([handshake(a[1], int(a[2])) for _ in range(int(a[3]))])
    elif len(a) == 6 and a[0] == "socks":
        report([socks(a[1], int(a[2]), a[3], int(a[4])) for _ in range(int(a[5]))])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
