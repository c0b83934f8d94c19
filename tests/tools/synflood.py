#!/usr/bin/python3
"""synflood.py DEV DST_MAC SRC DST PORT COUNT [--mptcp]

Send COUNT TCP SYNs from SRC (source ports counting up) to DST:PORT out of
DEV, addressed to DST_MAC, as fast as scapy manages; print how many seconds
that took. A SYN flood from one address, for the admission and hostile
tests; IPv6 when SRC is an IPv6 address. With --mptcp each SYN carries
MP_CAPABLE (version 1).
"""
import logging
import sys
import time

logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, TCP, Ether, conf, sendp  # noqa: E402


def main():
    args = [a for a in sys.argv[1:] if a != "--mptcp"]
    if len(args) != 6:
        sys.exit(__doc__)
    dev, mac, src, dst, port, count = args
    # MP_CAPABLE in a SYN, version 1: kind 30, length 4, subtype 0 / version 1, flags (H: HMAC-SHA256)
    opts = [("MSS", 1460), (30, b"\x01\x01")] if "--mptcp" in sys.argv else []
    ip = IPv6 if ":" in src else IP
    pkts = [Ether(dst=mac) / ip(src=src, dst=dst) /
            TCP(sport=20000 + i, dport=int(port), flags="S", seq=i, options=opts)
            for i in range(int(count))]
    sock = conf.L2socket(iface=dev)
    t0 = time.monotonic()
    for p in pkts:
        sock.send(p)
    print(f"{time.monotonic() - t0:.3f}")
    sock.close()


if __name__ == "__main__":
    main()
