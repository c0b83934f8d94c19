#!/usr/bin/python3
"""synflood.py DEV DST_MAC SRC DST PORT COUNT [--mptcp] [--join TOKEN] [--join-ack]
                                           [--join16] [--md5] [--overrun] [--ext N] [--synack]
                                           [--convert ADDR:PORT] [--then-rst]

Send COUNT TCP SYNs from SRC (source ports counting up) to DST:PORT out of
DEV, addressed to DST_MAC, as fast as scapy manages; print how many seconds
that took. A SYN flood from one address, for the admission and hostile
tests; IPv6 when SRC is an IPv6 address.
  --mptcp      each SYN carries MP_CAPABLE (version 1)
  --join T     each SYN carries MP_JOIN naming token T (hex), nonce 0x01020304
  --join-ack   then a second, 24-byte MP_JOIN (the third ACK's form)
  --join16     a 16-byte MP_JOIN (the SYN+ACK's form) as the only one
  --md5        a TCP-MD5 option as well (kind 19, a zero signature)
  --overrun    a last option whose length runs past the TCP header: the
               option list is malformed, the MPTCP option before it is not
  --ext N      (IPv6) N destination-options extension headers first
  --synack     SYN+ACK instead, with MP_CAPABLE carrying a key
  --convert A:P  SYN data (TCP Fast Open without cookie): an MP_CONVERT
               naming IPv4 server A port P, EOL, then b"spoofed"
  --then-rst   after each SYN, a RST with the sequence number that follows
               it (what a blind spoofer knows: its own)
"""
import ipaddress
import logging
import struct
import sys
import time

logging.getLogger("scapy").setLevel(logging.ERROR)
from scapy.all import IP, IPv6, IPv6ExtHdrDestOpt, TCP, Ether, Raw, conf  # noqa: E402


def flag(name):
    return name in sys.argv


def value(name):
    i = sys.argv.index(name)
    return sys.argv[i + 1]


def options():
    """The option bytes (padded to 4) of every segment."""
    o = b"\x02\x04\x05\xb4"  # MSS 1460
    if flag("--synack"):
        o += bytes([30, 12, 0x01, 0x81]) + bytes(range(1, 9))  # MP_CAPABLE with a sender's key
    elif flag("--mptcp"):
        o += bytes([30, 4, 0x01, 0x81])
    if flag("--join"):
        o += bytes([30, 12, 0x10, 0]) + struct.pack("!I", int(value("--join"), 16)) + b"\x01\x02\x03\x04"
    if flag("--join-ack"):
        o += bytes([30, 24, 0x10, 0]) + bytes(20)
    if flag("--join16"):
        o += bytes([30, 16, 0x10, 0]) + bytes(12)
    if flag("--md5"):
        o += bytes([19, 18]) + bytes(16)
    o += b"\x01" * (-len(o) % 4)
    if flag("--overrun"):
        # one more word: an option that claims 40 bytes in the last 4 of the header
        o += bytes([0xfd, 40, 0, 0])
    return o


def payload():
    """The SYN data: an MP_CONVERT head (draft-boucadair) with --convert, else none."""
    if not flag("--convert"):
        return b""
    addr, port = value("--convert").rsplit(":", 1)
    head = bytes([30, 10, 0xe << 4, 6]) + ipaddress.IPv4Address(addr).packed + struct.pack("!H", int(port))
    return head + b"\x00" + b"spoofed"


def main():
    args = [a for i, a in enumerate(sys.argv[1:], 1)
            if not a.startswith("--") and not sys.argv[i - 1] in ("--join", "--ext", "--convert")]
    if len(args) != 6:
        sys.exit(__doc__)
    dev, mac, src, dst, port, count = args
    opts = options()
    doff = 5 + len(opts) // 4
    flags = "SA" if flag("--synack") else "S"
    if ":" in src:
        ip = IPv6(src=src, dst=dst)
        for _ in range(int(value("--ext")) if flag("--ext") else 0):
            ip = ip / IPv6ExtHdrDestOpt()
    else:
        ip = IP(src=src, dst=dst)
    pkts = [Ether(dst=mac) / ip /
            TCP(sport=20000 + i, dport=int(port), flags=flags, seq=i, ack=1000 if "A" in flags else 0,
                dataofs=doff) / Raw(opts + payload())
            for i in range(int(count))]
    # the options ride as "payload" after a bare header whose data offset covers them
    sock = conf.L2socket(iface=dev)
    t0 = time.monotonic()
    for i, p in enumerate(pkts):
        sock.send(p)
        if flag("--then-rst"):
            time.sleep(0.2)  # the gateway has the SYN in hand: accepted, with its data
            sock.send(Ether(dst=mac) / ip / TCP(sport=20000 + i, dport=int(port), flags="R",
                                                seq=i + 1 + len(payload())))
    print(f"{time.monotonic() - t0:.3f}")
    sock.close()


if __name__ == "__main__":
    main()
