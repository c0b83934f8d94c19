#!/usr/bin/python3
"""Write one capture per classifier test case into OUTDIR.

Usage: mkpcap.py OUTDIR [CASE...]
       mkpcap.py --send IFACE CASE...   (send the frames out of IFACE instead)

Each case is a TCP/IP packet (or a non-TCP one) built for IPv4 and IPv6
where it makes sense, and each of those is wrapped three ways: untagged,
802.1Q, and 802.1ad + 802.1Q (QinQ). So CASE.pcap holds up to six frames,
all of which must get the same class. TCP headers are built by hand so that
the tests can carry options scapy would refuse (bad lengths, truncation).
"""
import logging
import struct
import sys

logging.getLogger("scapy").setLevel(logging.ERROR)

from scapy.all import (ARP, ICMP, IP, UDP, Dot1AD, Dot1Q, Ether, IPv6, IPv6ExtHdrDestOpt,
                       IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Padding,
                       Raw, sendp, wrpcap)

SRC4, DST4 = "192.0.2.10", "203.0.113.5"
SRC6, DST6 = "2001:db8:1::10", "2001:db8:2::5"
MAC_SRC, MAC_DST = "02:00:00:00:00:01", "02:00:00:00:00:02"

SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04

# Option bytes
MSS = bytes([2, 4, 0x05, 0xb4])
SACK_OK = bytes([4, 2])
TS = bytes([8, 10, 0, 0, 0, 1, 0, 0, 0, 0])
NOP = bytes([1])
WS = bytes([3, 3, 7])
LINUX_SYN = MSS + SACK_OK + TS + NOP + WS  # 20 bytes, as Linux sends
MPC_V1 = bytes([30, 4, 0x01, 0x81])  # MP_CAPABLE, version 1, flags: checksum-less, HMAC-SHA256
MPC_V0 = bytes([30, 12, 0x00, 0x81]) + bytes(8)
MPC_SYNACK = bytes([30, 12, 0x01, 0x01]) + bytes(8)
MP_JOIN = bytes([30, 12, 0x10, 0x00]) + bytes(8)
MD5 = bytes([19, 18]) + bytes(16)
AO = bytes([29, 4, 1, 1])


def mpc(length, d=False, proto=6, addr=b"", port=None, flags=0):
    """An MP_CONVERT option; `length` is written as given, even when wrong."""
    body = bytes([30, length, 0xe0 | (0x08 if d else 0) | flags, proto]) + addr
    if port is not None:
        body += struct.pack("!H", port)
    return body


def v4(a):
    return bytes(int(x) for x in a.split("."))


def v6(a):
    import ipaddress
    return ipaddress.IPv6Address(a).packed


def pad4(opts):
    return opts + bytes((4 - len(opts) % 4) % 4)


def tcp(flags=SYN, opts=b"", payload=b"", doff=None):
    """Raw TCP header: ports 40000 -> 443, seq 1, the given options, padded to 4 bytes."""
    opts = pad4(opts)
    if doff is None:
        doff = 5 + len(opts) // 4
    hdr = struct.pack("!HHIIBBHHH", 40000, 443, 1, 0, doff << 4, flags, 65535, 0, 0)
    return hdr + opts + payload


def ip4(l4, proto=6, **kw):
    return IP(src=SRC4, dst=DST4, proto=proto, **kw) / Raw(l4)


def ip6(l4, nh=6, exts=()):
    pkt = IPv6(src=SRC6, dst=DST6)
    for ext in exts:
        pkt = pkt / ext
    # scapy fills each next-header field from the layer above it; the last
    # header names our raw TCP bytes.
    last = pkt
    while last.payload:
        last = last.payload
    last.nh = nh
    return pkt / Raw(l4)


def both(l4):
    return [ip4(l4), ip6(l4)]


def wrap(l3):
    """The three encapsulations of one L3 packet (or of an L2 payload)."""
    return [
        Ether(src=MAC_SRC, dst=MAC_DST) / l3,
        Ether(src=MAC_SRC, dst=MAC_DST) / Dot1Q(vlan=100) / l3,
        Ether(src=MAC_SRC, dst=MAC_DST, type=0x88a8) / Dot1AD(vlan=200) / Dot1Q(vlan=100) / l3,
    ]


CONV_V4 = mpc(10, addr=v4("198.51.100.7"), port=443)
CONV_V6 = mpc(22, addr=v6("2001:db8::7"), port=8443)
CONV_SRC6 = mpc(20, d=True, addr=v6("2001:db8:1::10"))
EOL = b"\x00"

CASES = {
    # not_tcp
    "arp": [ARP(psrc=SRC4, pdst=DST4)],
    "udp": [IP(src=SRC4, dst=DST4) / UDP(dport=53), IPv6(src=SRC6, dst=DST6) / UDP(dport=53)],
    "icmp": [IP(src=SRC4, dst=DST4) / ICMP()],
    "v4_frag_nonfirst": [ip4(tcp(SYN, MPC_V1), frag=100)],
    "v6_frag_nonfirst": [ip6(tcp(SYN, MPC_V1), exts=[IPv6ExtHdrFragment(offset=100)])],
    # tcp
    "ack_data": both(tcp(ACK, NOP + NOP + TS, b"x" * 100)),
    "fin": both(tcp(FIN | ACK)),
    "rst": both(tcp(RST)),
    "synack_plain": both(tcp(SYN | ACK, LINUX_SYN)),
    "synack_convert_no_mpc": both(tcp(SYN | ACK, MSS + CONV_V4)),
    "data_bad_option": both(tcp(ACK, bytes([8, 1, 0, 0]))),
    # syn
    "syn_plain": both(tcp(SYN, LINUX_SYN)),
    "syn_no_options": both(tcp(SYN)),
    "syn_convert_no_mpc": both(tcp(SYN, LINUX_SYN, CONV_V4 + EOL)),
    "syn_convert_opt_no_mpc": both(tcp(SYN, MSS + CONV_V4)),
    "syn_v4_first_fragment": [ip4(tcp(SYN, LINUX_SYN), flags="MF")],
    "syn_v4_ip_options": [ip4(tcp(SYN, LINUX_SYN), options=b"\x94\x04\x00\x00")],
    # syn_mp_capable
    "syn_mpc_v1": both(tcp(SYN, LINUX_SYN + MPC_V1)),
    "syn_mpc_v0": both(tcp(SYN, MSS + MPC_V0)),
    "syn_mpc_tfo_data": both(tcp(SYN, LINUX_SYN + MPC_V1, b"GET / HTTP/1.1\r\n")),
    "syn_mpc_payload_not_convert": both(tcp(SYN, MPC_V1, bytes([30, 4, 0x01, 0x81, 0]))),
    # A short frame padded to 60 bytes: the padding is not SYN data.
    "syn_mpc_padded": [Ether(src=MAC_SRC, dst=MAC_DST) / ip4(tcp(SYN, MPC_V1)) / Padding(mpc(4) + EOL + bytes(1))],
    # syn_mp_convert
    "convert_empty": both(tcp(SYN, LINUX_SYN + MPC_V1, mpc(4) + EOL)),
    "convert_v4": both(tcp(SYN, LINUX_SYN + MPC_V1, mpc(8, addr=v4("198.51.100.7")) + EOL)),
    "convert_v4_port": both(tcp(SYN, LINUX_SYN + MPC_V1, CONV_V4 + EOL)),
    "convert_v6": both(tcp(SYN, LINUX_SYN + MPC_V1, mpc(20, addr=v6("2001:db8::7")) + EOL)),
    "convert_v6_port": both(tcp(SYN, LINUX_SYN + MPC_V1, CONV_V6 + EOL)),
    "convert_dst_and_src": both(tcp(SYN, MPC_V1, CONV_V6 + CONV_SRC6 + EOL + b"hello")),
    "convert_with_data": both(tcp(SYN, LINUX_SYN + MPC_V1, CONV_V4 + EOL + b"GET / HTTP/1.1\r\n")),
    "convert_proto_udp": both(tcp(SYN, MPC_V1, mpc(10, proto=17, addr=v4("198.51.100.7"), port=53) + EOL)),
    "convert_flags_ignored": both(tcp(SYN, MPC_V1, mpc(8, addr=v4("198.51.100.7"), flags=0x7) + EOL)),
    "convert_in_options": both(tcp(SYN, MSS + MPC_V1 + CONV_V4)),
    "convert_options_and_payload": both(tcp(SYN, MPC_V1 + mpc(8, d=True, addr=v4("192.0.2.10")), CONV_V4 + EOL)),
    "convert_v6_ext_headers": [ip6(tcp(SYN, MPC_V1, CONV_V4 + EOL),
                                   exts=[IPv6ExtHdrHopByHop(), IPv6ExtHdrRouting(), IPv6ExtHdrDestOpt()])],
    # syn_mp_convert_invalid
    "invalid_len": both(tcp(SYN, MPC_V1, mpc(9, addr=v4("198.51.100.7") + b"\x01") + EOL)),
    "invalid_dup_d": both(tcp(SYN, MPC_V1, CONV_V4 + CONV_V6 + EOL)),
    "invalid_three": both(tcp(SYN, MPC_V1, mpc(4) + mpc(4, d=True) + mpc(4) + EOL)),
    "invalid_v4_loopback": both(tcp(SYN, MPC_V1, mpc(8, addr=v4("127.0.0.1")) + EOL)),
    "invalid_v4_multicast": both(tcp(SYN, MPC_V1, mpc(10, addr=v4("239.1.1.1"), port=80) + EOL)),
    "invalid_v4_broadcast": both(tcp(SYN, MPC_V1, mpc(8, addr=v4("255.255.255.255")) + EOL)),
    "invalid_v6_loopback": both(tcp(SYN, MPC_V1, mpc(20, addr=v6("::1")) + EOL)),
    "invalid_v6_multicast": both(tcp(SYN, MPC_V1, mpc(22, addr=v6("ff02::1"), port=80) + EOL)),
    "invalid_v6_mapped_loopback": both(tcp(SYN, MPC_V1, mpc(20, addr=v6("::ffff:127.0.0.1")) + EOL)),
    "invalid_src_multicast": both(tcp(SYN, MPC_V1, CONV_V4 + mpc(8, d=True, addr=v4("224.0.0.1")) + EOL)),
    "invalid_no_eol": both(tcp(SYN, MPC_V1, CONV_V4 + b"GET")),
    "invalid_truncated": both(tcp(SYN, MPC_V1, CONV_V6[:12])),
    "invalid_in_options": both(tcp(SYN, MPC_V1 + mpc(8, addr=v4("127.0.0.1")))),
    "invalid_dup_options_and_payload": both(tcp(SYN, MPC_V1 + mpc(4), CONV_V4 + EOL)),
    # syn_mp_join
    "join": both(tcp(SYN, MSS + MP_JOIN)),
    "join_and_mpc": both(tcp(SYN, MP_JOIN + MPC_V1)),
    "join_and_invalid_convert": both(tcp(SYN, MP_JOIN + MPC_V1, mpc(8, addr=v4("127.0.0.1")) + EOL)),
    # synack_mp_capable
    "synack_mpc": both(tcp(SYN | ACK, MSS + MPC_SYNACK)),
    "synack_mpc_and_convert": both(tcp(SYN | ACK, MPC_SYNACK + CONV_V4)),
    # syn_tcp_auth
    "md5": both(tcp(SYN, MSS + MD5)),
    "ao": both(tcp(SYN, MSS + AO)),
    "md5_and_mpc": both(tcp(SYN, MD5 + MPC_V1)),
    "ao_and_join": both(tcp(SYN, AO + MP_JOIN)),
    # malformed
    "doff_below_5": both(tcp(SYN, b"", doff=4)),
    "option_len_1": both(tcp(SYN, MSS + bytes([8, 1, 0, 0]))),
    "option_len_0": both(tcp(SYN, bytes([30, 0, 0, 0]))),
    "option_past_header": both(tcp(SYN, MSS + bytes([8, 10, 0, 0]))),
    "option_len_byte_missing": both(tcp(SYN, bytes([1, 1, 1, 2]))),
    "tcp_doff_past_packet": both(tcp(SYN, MSS, doff=15)),
    "tcp_header_cut": both(tcp(SYN)[:12]),
    "ip_total_length_past_frame": [IP(src=SRC4, dst=DST4, proto=6, len=400) / Raw(tcp(SYN))],
    "ip_ihl_below_5": [IP(src=SRC4, dst=DST4, proto=6, ihl=4) / Raw(tcp(SYN))],
    "ip6_payload_past_frame": [IPv6(src=SRC6, dst=DST6, nh=6, plen=400) / Raw(tcp(SYN))],
    "ip6_too_many_ext": [ip6(tcp(SYN, MPC_V1), exts=[IPv6ExtHdrDestOpt() for _ in range(7)])],
}

# Frames that can't be expressed as "one L3 packet, three wrappings".
RAW_FRAMES = {
    # An 802.1Q tag promised, then the frame ends.
    "vlan_cut": [bytes(Ether(src=MAC_SRC, dst=MAC_DST, type=0x8100)) + b"\x00"],
    "vlan_three_tags": [bytes(Ether(src=MAC_SRC, dst=MAC_DST, type=0x88a8) / Dot1AD(vlan=1) /
                              Dot1AD(vlan=2) / Dot1Q(vlan=3) / ip4(tcp(SYN)))],
    "eth_runt": [bytes(10)],
}

# The frames the benchmark measures, untagged IPv4.
BENCH = {
    "bench_data": [Ether(src=MAC_SRC, dst=MAC_DST) / ip4(tcp(ACK, NOP + NOP + TS, b"x" * 1400))],
    "bench_syn": [Ether(src=MAC_SRC, dst=MAC_DST) / ip4(tcp(SYN, LINUX_SYN))],
    "bench_syn_mp_capable": [Ether(src=MAC_SRC, dst=MAC_DST) / ip4(tcp(SYN, LINUX_SYN + MPC_V1))],
    "bench_syn_mp_convert": [Ether(src=MAC_SRC, dst=MAC_DST) /
                             ip4(tcp(SYN, LINUX_SYN + MPC_V1, CONV_V6 + EOL + b"GET / HTTP/1.1\r\n"))],
}


def frames(name):
    if name in RAW_FRAMES:
        return [Raw(f) for f in RAW_FRAMES[name]]
    if name in BENCH:
        return BENCH[name]
    out = []
    for l3 in CASES[name]:
        out.extend([l3] if isinstance(l3, Ether) else wrap(l3))
    return out


def main():
    args = sys.argv[1:]
    send = len(args) >= 3 and args[0] == "--send"
    if len(args) < 1 or (args[0] == "--send" and not send):
        sys.exit(__doc__)
    target = args[1] if send else args[0]
    names = args[2 if send else 1:] or list(CASES) + list(RAW_FRAMES) + list(BENCH)
    for name in names:
        if name not in CASES and name not in RAW_FRAMES and name not in BENCH:
            sys.exit(f"mkpcap: unknown case {name}")
        if send:
            sendp(frames(name), iface=target, verbose=False)
        else:
            wrpcap(f"{target}/{name}.pcap", frames(name), linktype=1)


if __name__ == "__main__":
    main()
