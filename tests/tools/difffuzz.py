#!/usr/bin/python3
"""difffuzz.py [--frames N] [--seed S] [--xmcp PATH] [--mode xdp|tc] [--keep FILE]

A differential fuzzer of the datapath: N random and mutated frames (TCP
SYNs, SYN+ACKs and data over Ethernet, VLANs, IPv4 with options and
fragments, IPv6 with extension headers; TCP options of every kind MPTCP and
xmcp care about, MP_CONVERT framings, and then bit flips, cuts and splices)
go through the real XDP program (`xmcp classify -j`, BPF_PROG_TEST_RUN) and
through reference(), an independent classifier written here in Python from
README.md ("The classifier") and docs/protocol.md. Every frame on which the two
disagree (class, reason, or the MP_CONVERT fields) is printed with its bytes,
and the exit status is 1. With --keep, the capture is kept there (to replay
a failure: `xmcp classify -j FILE`).
"""
import ipaddress
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

# ---------------------------------------------------------------- reference

MPC_LENS = (4, 8, 10, 20, 22)
CAPABLE_LENS = (4, 12, 20, 22, 24)
JOIN_LENS = (12, 16, 24)
ERRNAMES = {1: "length", 2: "truncated", 3: "address", 4: "duplicate_d", 5: "no_eol"}


class Malformed(Exception):
    pass


def special(addr16):
    """True for an address no connection may have (README: loopback,
    multicast, broadcast, unspecified, link-local; IPv4-mapped judged as IPv4)."""
    ip = ipaddress.IPv6Address(addr16)
    if ip.ipv4_mapped is not None:
        v4 = ip.ipv4_mapped
        return (v4.packed[0] == 0 or v4.is_loopback or v4.is_link_local or v4.is_multicast
                or str(v4) == "255.255.255.255")
    if addr16[0] == 0xff:
        return True
    if addr16[0] == 0xfe and addr16[1] & 0xc0 == 0x80:
        return True
    return addr16[:12] == bytes(12)  # ::, ::1, IPv4-compatible


class Scan:
    def __init__(self):
        self.mpc = self.join = self.auth = False
        self.err = 0
        self.d_seen = set()
        self.converts = []  # the option bytes of each MP_CONVERT recorded

    def error(self, e):
        if not self.err:
            self.err = e


def check_convert(b, off, avail):
    if off + 2 > avail:
        return 2
    ln = b[off + 1]
    if ln not in MPC_LENS:
        return 1
    if off + ln > avail:
        return 2
    if ln in (8, 10):
        a = b"\0" * 10 + b"\xff\xff" + b[off + 4:off + 8]
    elif ln in (20, 22):
        a = b[off + 4:off + 20]
    else:
        return 0
    return 3 if special(bytes(a)) else 0


def record_convert(b, off, avail, s):
    err = check_convert(b, off, avail)
    if err:
        s.error(err)
        return 0
    d = "src" if b[off + 2] & 0x08 else "dst"
    if d in s.d_seen:
        s.error(4)
    else:
        s.d_seen.add(d)
        if len(s.converts) < 2:
            s.converts.append(bytes(b[off:off + b[off + 1]]))
    return b[off + 1]


def walk_options(b, s):
    i = 0
    n = len(b)
    while i < n:
        kind = b[i]
        if kind == 0:
            return
        if kind == 1:
            i += 1
            continue
        if i + 2 > n:
            raise Malformed("tcp_opt")
        ln = b[i + 1]
        if ln < 2 or i + ln > n:
            raise Malformed("tcp_opt")
        if kind in (19, 29):
            s.auth = True
        elif kind == 30 and ln >= 3:
            sub = b[i + 2] >> 4
            if sub == 0 and ln in CAPABLE_LENS:
                s.mpc = True
            elif sub == 1 and ln in JOIN_LENS:
                s.join = True
            elif sub == 0xE:
                record_convert(b, i, n, s)
        i += ln


def is_convert_start(b, off):
    return off + 3 <= len(b) and b[off] == 30 and b[off + 2] >> 4 == 0xE


def scan_payload(b, s):
    if not is_convert_start(b, 0):
        return
    pos = 0
    for _ in range(3):
        if pos < len(b) and b[pos] == 0:
            return
        if not is_convert_start(b, pos):
            s.error(5)
            return
        ln = record_convert(b, pos, len(b), s)
        if not ln:
            return
        pos += ln
    s.error(4)


def decode_convert(o):
    out = {}
    key = "src" if o[2] & 0x08 else "dst"
    ln = o[1]
    if ln in (8, 10):
        out[key] = str(ipaddress.IPv4Address(bytes(o[4:8])))
        if ln == 10:
            out["sport" if key == "src" else "dport"] = struct.unpack("!H", bytes(o[8:10]))[0]
    elif ln in (20, 22):
        a = ipaddress.IPv6Address(bytes(o[4:20]))
        # inet_ntop's form of an IPv4-mapped address
        out[key] = f"::ffff:{a.ipv4_mapped}" if a.ipv4_mapped else str(a)
        if ln == 22:
            out["sport" if key == "src" else "dport"] = struct.unpack("!H", bytes(o[20:22]))[0]
    if o[3] != 6:
        out["proto"] = o[3]
    return out


def classify_tcp(f, off, l3_end):
    if off + 20 > len(f) or off + 20 > l3_end:
        raise Malformed("tcp_trunc")
    hlen = (f[off + 12] >> 4) * 4
    if hlen < 20:
        raise Malformed("tcp_doff")
    if off + hlen > l3_end:
        raise Malformed("tcp_trunc")
    flags = f[off + 13]
    if not flags & 0x02:
        return {"class": "tcp"}
    s = Scan()
    walk_options(f[off + 20:off + hlen], s)
    if flags & 0x10:
        return {"class": "synack_mp_capable" if s.mpc else "tcp"}
    if s.auth:
        return {"class": "syn_tcp_auth"}
    if s.join:
        return {"class": "syn_mp_join"}
    if not s.mpc:
        return {"class": "syn"}
    payload = f[off + hlen:l3_end][:64]
    if payload:
        scan_payload(payload, s)
    if s.err:
        return {"class": "syn_mp_convert_invalid", "reason": ERRNAMES[s.err]}
    if s.converts:
        conv = {}
        for o in s.converts:
            conv.update(decode_convert(o))
        return {"class": "syn_mp_convert", "convert": conv}
    return {"class": "syn_mp_capable"}


def classify_ipv4(f, off):
    if off + 20 > len(f):
        raise Malformed("ip_trunc")
    hlen = (f[off] & 0xF) * 4
    tot = struct.unpack("!H", f[off + 2:off + 4])[0]
    if f[off] >> 4 != 4 or hlen < 20 or tot < hlen:
        raise Malformed("ip_hdr")
    if off + tot > len(f):
        raise Malformed("ip_trunc")
    if struct.unpack("!H", f[off + 6:off + 8])[0] & 0x1FFF or f[off + 9] != 6:
        return {"class": "not_tcp"}
    return classify_tcp(f, off + hlen, off + tot)


def classify_ipv6(f, off):
    if off + 40 > len(f):
        raise Malformed("ip_trunc")
    if f[off] >> 4 != 6:
        raise Malformed("ip_hdr")
    plen = struct.unpack("!H", f[off + 4:off + 6])[0]
    if off + 40 + plen > len(f):
        raise Malformed("ip_trunc")
    l3_end = off + 40 + plen
    nh, pos = f[off + 6], off + 40
    for _ in range(6):
        if nh not in (0, 43, 44, 60):
            break
        if nh == 44:
            if pos + 8 > len(f):
                raise Malformed("ip6_ext")
            nh = 59 if struct.unpack("!H", f[pos + 2:pos + 4])[0] & 0xFFF8 else f[pos]
            pos += 8
        else:
            if pos + 2 > len(f):
                raise Malformed("ip6_ext")
            nh, pos = f[pos], pos + (f[pos + 1] + 1) * 8
    if nh in (0, 43, 44, 60) or pos > l3_end:
        raise Malformed("ip6_ext")
    if nh != 6:
        return {"class": "not_tcp"}
    return classify_tcp(f, pos, l3_end)


def reference(f):
    """The class of frame f as README.md describes it."""
    try:
        if len(f) < 14:
            raise Malformed("eth_trunc")
        etype, off = struct.unpack("!H", f[12:14])[0], 14
        for _ in range(2):
            if etype not in (0x8100, 0x88A8):
                break
            if off + 4 > len(f):
                raise Malformed("eth_trunc")
            etype, off = struct.unpack("!H", f[off + 2:off + 4])[0], off + 4
        if etype in (0x8100, 0x88A8):
            raise Malformed("vlan_depth")
        if etype == 0x0800:
            return classify_ipv4(f, off)
        if etype == 0x86DD:
            return classify_ipv6(f, off)
        return {"class": "not_tcp"}
    except Malformed as m:
        return {"class": "malformed", "reason": str(m)}

# ---------------------------------------------------------------- frames


def rnd_addr(r, v6):
    pick = r.random()
    if v6:
        pool = ["2001:db8::7", "::1", "ff02::1", "fe80::1", "::", "::ffff:127.0.0.1",
                "::ffff:198.51.100.7", "::ffff:0.0.0.0", "::2", "fd04::2"]
        if pick < 0.6:
            return ipaddress.IPv6Address(r.choice(pool)).packed
        return bytes(r.getrandbits(8) for _ in range(16))
    pool = ["198.51.100.7", "127.0.0.1", "224.0.0.5", "255.255.255.255", "0.0.0.0", "169.254.3.4",
            "10.4.0.2", "0.1.2.3", "255.255.255.254"]
    if pick < 0.6:
        return ipaddress.IPv4Address(r.choice(pool)).packed
    return bytes(r.getrandbits(8) for _ in range(4))


def mp_convert(r):
    kind = r.choice([4, 8, 10, 20, 22, 8, 10, 20, 22, r.randint(0, 30)])
    flags = 0xE0 | (0x08 if r.random() < 0.4 else 0) | (r.getrandbits(3) if r.random() < 0.2 else 0)
    proto = 6 if r.random() < 0.85 else r.getrandbits(8)
    body = b""
    if kind in (8, 10):
        body = rnd_addr(r, False)
    elif kind in (20, 22):
        body = rnd_addr(r, True)
    if kind in (10, 22):
        body += struct.pack("!H", r.getrandbits(16))
    o = bytes([30, kind, flags, proto]) + body
    if len(o) < kind:
        o += bytes(r.getrandbits(8) for _ in range(kind - len(o)))
    return o[:max(kind, 3)]


def tcp_option(r):
    c = r.random()
    if c < 0.2:
        return bytes([30, r.choice(CAPABLE_LENS + (5, 8)), 0x01, 0x81]) + bytes(r.choice([0, 8, 16, 18, 20]))
    if c < 0.3:
        return bytes([30, 12, 0x10, 0]) + bytes(r.getrandbits(8) for _ in range(8))
    if c < 0.45:
        return mp_convert(r)
    if c < 0.5:
        return bytes([19, 18]) + bytes(16)
    if c < 0.53:
        return bytes([29, 4, 1, 1])
    if c < 0.65:
        return b"\x01" * r.randint(1, 3)
    if c < 0.7:
        return b"\x00"
    if c < 0.8:
        return b"\x02\x04\x05\xb4"
    if c < 0.9:
        return bytes([8, 10]) + bytes(8)
    if c < 0.95:
        return bytes([r.getrandbits(8), r.randint(0, 12)]) + bytes(r.getrandbits(8) for _ in range(r.randint(0, 6)))
    return bytes([r.getrandbits(8), 10]) + bytes(8)  # an option of some other kind, well formed


def tcp_segment(r):
    opts = b"".join(tcp_option(r) for _ in range(r.randint(0, 4)))
    if r.random() < 0.5:  # most SYNs worth a look are MPTCP ones
        at = r.randint(0, len(opts))
        opts = opts[:at] + bytes([30, r.choice([4, 4, 12]), 0x01, 0x81]) + bytes(8 if r.random() < 0.3 else 0) + opts[at:]
    opts = opts[:40]
    pad = (-len(opts)) % 4
    opts += b"\x00" * pad if r.random() < 0.5 else b"\x01" * pad
    doff = 5 + len(opts) // 4
    if r.random() < 0.02:
        doff = r.randint(0, 15)
    flags = r.choice([0x02, 0x02, 0x02, 0x02, 0x12, 0x10, 0x18])
    hdr = struct.pack("!HHIIBBHHH", r.getrandbits(16), r.getrandbits(16), r.getrandbits(32), 0,
                      doff << 4, flags, 65535, 0, 0)
    payload = b""
    c = r.random()
    if c < 0.5:
        payload = b"".join(mp_convert(r) for _ in range(r.choice([1, 1, 2, 2, 3])))
        if r.random() < 0.7:
            payload += b"\x00"
        payload += bytes(r.getrandbits(8) for _ in range(r.randint(0, 20)))
    elif c < 0.5:
        payload = bytes(r.getrandbits(8) for _ in range(r.randint(1, 80)))
    return hdr + opts + payload


def ip_packet(r, l4):
    proto = 6 if r.random() < 0.92 else r.choice([17, 1])
    if r.random() < 0.5:
        opts = b""
        if r.random() < 0.15:
            opts = b"\x01" * 4 * r.randint(1, 3)
        ihl = 5 + len(opts) // 4
        frag = 0
        if r.random() < 0.08:
            frag = r.choice([0x2000, 0x0010, 0x2005])
        tot = 4 * ihl + len(l4)
        if r.random() < 0.02:
            tot = r.getrandbits(16)
        h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, 1, frag, 64, proto, 0,
                        rnd_addr(r, False), rnd_addr(r, False)) + opts
        return 0x0800, h + l4
    exts = b""
    nh = proto
    for _ in range(r.choice([0, 0, 0, 0, 0, 1, 2, 6, 7])):
        t = r.choice([0, 43, 60, 44])
        if t == 44:
            off = 0 if r.random() < 0.8 else 8
            exts = struct.pack("!BBHI", nh, 0, off, 7) + exts
        else:
            exts = bytes([nh, 0]) + b"\x01\x04\x00\x00\x00\x00" + exts
        nh = t
    plen = len(exts) + len(l4)
    if r.random() < 0.02:
        plen = r.getrandbits(16)
    h = struct.pack("!IHBB16s16s", 0x60000000, plen, nh, 64, rnd_addr(r, True), rnd_addr(r, True))
    return 0x86DD, h + exts + l4


def frame(r):
    etype, ip = ip_packet(r, tcp_segment(r))
    tags = b""
    for _ in range(r.choice([0, 0, 0, 0, 0, 0, 1, 1, 2, 3])):
        tags += struct.pack("!HH", r.choice([0x8100, 0x88A8]), r.getrandbits(12))
    if tags:
        # the first tag's TPID is the frame's EtherType
        tpid = tags[:2]
        tags = tags[2:] + struct.pack("!H", etype)
        eth = bytes(6) + b"\x02\x00\x00\x00\x00\x01" + tpid + tags
    else:
        eth = bytes(6) + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!H", etype)
    if r.random() < 0.05:
        etype_other = struct.pack("!H", r.choice([0x0806, 0x88CC]))
        eth = eth[:12] + etype_other
    f = eth + ip
    if len(f) < 60 and r.random() < 0.5:
        f += bytes(60 - len(f))  # Ethernet padding: never SYN data
    return bytearray(f)


def mutate(r, f):
    for _ in range(r.randint(1, 4)):
        c = r.random()
        if c < 0.5 and f:
            f[r.randrange(len(f))] ^= 1 << r.randrange(8)
        elif c < 0.7 and f:
            f[r.randrange(len(f))] = r.getrandbits(8)
        elif c < 0.85:
            del f[r.randrange(len(f) + 1):]
        else:
            i = r.randrange(len(f) + 1)
            f[i:i] = bytes(r.getrandbits(8) for _ in range(r.randint(1, 8)))
    return f


def write_pcap(path, frames):
    with open(path, "wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for f in frames:
            out.write(struct.pack("<IIII", 0, 0, len(f), len(f)) + bytes(f))


def l3_cut_short(f):
    """An untagged IPv4 or IPv6 frame too short for its IP header."""
    if len(f) < 14:
        return False
    etype = struct.unpack("!H", f[12:14])[0]
    return (etype == 0x0800 and len(f) < 14 + 20) or (etype == 0x86DD and len(f) < 14 + 40)


def main():
    a = sys.argv[1:]
    n = int(a[a.index("--frames") + 1]) if "--frames" in a else 2000
    seed = int(a[a.index("--seed") + 1]) if "--seed" in a else random.randrange(1 << 30)
    xmcp = a[a.index("--xmcp") + 1] if "--xmcp" in a else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "../../build/xmcp")
    keep = a[a.index("--keep") + 1] if "--keep" in a else None
    mode = a[a.index("--mode") + 1] if "--mode" in a else "xdp"
    r = random.Random(seed)
    frames = []
    for _ in range(n):
        f = frame(r)
        if r.random() < 0.3:
            f = mutate(r, f)
        frames.append(bytes(f[:1500]))
    # The kernel test-runs a tc program only on a frame whose IPv4 or IPv6
    # header is whole (EINVAL otherwise; a device's tc still sees such
    # frames): those are left out in tc mode, and counted
    untestable = 0
    if mode == "tc":
        whole = [f for f in frames if not l3_cut_short(f)]
        untestable, frames, n = len(frames) - len(whole), whole, len(whole)
    path = keep or tempfile.mkstemp(suffix=".pcap")[1]
    write_pcap(path, frames)
    res = subprocess.run([xmcp, "classify", "-j", "--mode", mode, path], capture_output=True, text=True)
    if not keep:
        os.unlink(path)
    if res.returncode:
        sys.exit(f"difffuzz: xmcp classify failed ({res.returncode}): {res.stderr.strip()}")
    got = [json.loads(line) for line in res.stdout.splitlines()]
    if len(got) != n:
        sys.exit(f"difffuzz: {n} frames, {len(got)} results")
    bad = 0
    classes = {}
    for i, (f, g) in enumerate(zip(frames, got)):
        want = reference(f)
        g.pop("n", None)
        classes[want["class"]] = classes.get(want["class"], 0) + 1
        if g != want:
            bad += 1
            if bad <= 20:
                print(f"frame {i + 1}: datapath {json.dumps(g)}, reference {json.dumps(want)}\n  {f.hex()}")
    print(f"difffuzz: {mode}, seed {seed}, {n} frames ({untestable} left out), {bad} disagreements; by class: "
          + ", ".join(f"{k} {v}" for k, v in sorted(classes.items())))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
