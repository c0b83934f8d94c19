#!/usr/bin/python3
"""synflood.py DEV DST_MAC SRC DST PORT COUNT

Send COUNT TCP SYNs from SRC (source ports counting up) to DST:PORT out of
DEV, addressed to DST_MAC, as fast as scapy manages; print how many seconds
that took. A SYN flood from one address, for the admission tests.
"""
import logging
import sys
import time

logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.all import IP, TCP, Ether, conf, sendp  # noqa: E402


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    dev, mac, src, dst, port, count = sys.argv[1:]
    pkts = [Ether(dst=mac) / IP(src=src, dst=dst) / TCP(sport=20000 + i, dport=int(port), flags="S", seq=i)
            for i in range(int(count))]
    sock = conf.L2socket(iface=dev)
    t0 = time.monotonic()
    for p in pkts:
        sock.send(p)
    print(f"{time.monotonic() - t0:.3f}")
    sock.close()


if __name__ == "__main__":
    main()
