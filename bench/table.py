#!/usr/bin/python3
"""README's benchmark table, "Latest:" line and quoted figures, from bench/results.

Usage: bench/table.py [--results DIR] [--readme FILE] [--check | --print]

  (default)  rewrite README's generated parts in place
  --check    exit 1, with a diff, if README's generated parts differ from what
             the results give (fast, Python's standard library only)
  --print    print the "Latest:" line and the table, README untouched (for
             results elsewhere, e.g. a smoke run's); README's quoted figures
             are computed too, so that a missing row or column fails here

What is generated, so that no figure can drift from its file:
  - the "Latest:" line and the table between <!-- bench-table --> and
    <!-- /bench-table -->, built by the row functions below from the CSVs and
    from the header ("- key: value" lines) each results .md opens with;
  - every figure quoted in the prose as <!-- fig FMT EXPR -->text<!-- /fig -->:
    EXPR is arithmetic (+ - * /, min(), max()) over lookups [FILE|KEY|COLUMN],
    FILE a CSV's name without .csv, KEY the row's key columns joined by "/",
    FMT a printf format (%.2f). A "*" in KEY matches within a key column and
    gives the list of the matching rows' values: arithmetic on lists goes row
    by row, min() and max() take the lists' values together.
"""
import argparse
import ast
import csv
import difflib
import operator
import os
import re
import sys

# Key columns of each CSV: what names a row in lookups.
KEYS = {
    "classifier": ["packet"],
    "tc": ["gateway", "direction", "program"],
    "relay": ["path"],
    "relay-cubic": ["path"],
    "ttfb": ["path"],
    "paths": ["dsl_mbit", "lte_mbit", "direction"],
    "bonding": ["scenario", "path"],
    "conns": ["relay"],
    "failover": ["measure"],
}

TABLE_BEGIN, TABLE_END = "<!-- bench-table -->", "<!-- /bench-table -->"
FIG = re.compile(r"<!-- fig (\S+) (.+?) -->(.*?)<!-- /fig -->")
LOOKUP = re.compile(r"\[([^\[\]|]+)\|([^\[\]|]+)\|([^\[\]|]+)\]")
HEADER = re.compile(r"^- ([a-z ]+): (.*)$")
COMMIT = re.compile(r"^[0-9a-f]{7,40}(-dirty)?$")


class Missing(Exception):
    pass


class Results:
    """The CSVs and the .md headers of one results directory."""

    def __init__(self, d, fallback=None):
        self.dir = d
        self.rows, self.meta = {}, {}
        for name, keys in KEYS.items():
            path = os.path.join(d, name + ".csv")
            if not os.path.exists(path) and fallback:
                # a file only a separate run writes (relay-cubic): the committed one
                path = os.path.join(fallback, name + ".csv")
            if not os.path.exists(path):
                continue
            with open(path, newline="") as f:
                self.rows[name] = {"/".join(r[k] for k in keys): r for r in csv.DictReader(f)}
            self.meta[name] = read_header(os.path.join(os.path.dirname(path), name + ".md"))

    def row(self, name, key):
        try:
            return self.rows[name][key]
        except KeyError:
            raise Missing(f"{name}.csv has no row {key!r}") from None

    def get(self, name, key, col):
        r = self.row(name, key)
        if col not in r:
            raise Missing(f"{name}.csv has no column {col!r}")
        return r[col]

    def num(self, name, key, col):
        return float(self.get(name, key, col))

    def many(self, name, pattern, col):
        """The column's values, as numbers, of every row whose key matches pattern."""
        rx = re.compile("^" + "/".join(re.escape(p).replace(r"\*", "[^/]*")
                                       for p in pattern.split("/")) + "$")
        if name not in self.rows:
            raise Missing(f"no {name}.csv")
        vals = [float(r[col]) for k, r in self.rows[name].items() if rx.match(k)]
        if not vals:
            raise Missing(f"{name}.csv has no row matching {pattern!r}")
        return vals


def read_header(path):
    """The "- key: value" lines between an .md's title and its first table."""
    meta = {}
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("|"):
                    break
                m = HEADER.match(line.rstrip("\n"))
                if m:
                    meta[m.group(1)] = m.group(2)
    except FileNotFoundError:
        pass
    return meta


# ---- formatting ----

def dec(s, n=2):
    """A CSV figure with n decimals; a whole number stays whole (it was measured so)."""
    return s if "." not in s else f"{float(s):.{n}f}"


def span(vals, fmt):
    lo, hi = fmt % min(vals), fmt % max(vals)
    return lo if lo == hi else f"{lo}-{hi}"


def nbytes(s):
    return f"{float(s):.0f} B"


def known(value):
    """A header value the file states, or None ("not stated ...", "not recorded ...")."""
    return None if value is None or value.startswith("not ") else value


def common(res, key):
    """The value of key that most of the table's files state (a tie: the first file's
    in TABLE_FILES order, so that the output never depends on hashing), or None.
    The classifier's "none" congestion control (no TCP in it) does not count."""
    vals = [known(res.meta.get(n, {}).get(key)) for n in TABLE_FILES]
    vals = [v for v in vals if v and not (key == "congestion control" and v.startswith("none"))]
    return max(vals, key=vals.count) if vals else None


def measured(res, name, runs=None, what="run"):
    """The table's last column: what a figure is of, the commit, and where the file
    departs from the "Latest:" line (kernel, machine, congestion control)."""
    m = res.meta.get(name, {})
    n = runs if runs is not None else m.get("runs", "")
    if not str(n).isdigit():
        parts = ["runs not stated"]
    elif int(n) >= 3:
        parts = [f"median of {n} {what}s"]
    elif int(n) == 2:
        parts = [f"2 {what}s: no median"]
    else:
        parts = [f"1 {what}: single figures"]
    commit = m.get("commit", "not recorded")
    committed = re.search(r"committed in ([0-9a-f]{7,40})", commit)
    if COMMIT.match(commit):
        parts.append(f"`{commit}`")
    elif committed:
        parts.append(f"file committed in `{committed.group(1)}`")
    else:
        parts.append("commit not recorded")
    for key, label in (("kernel", "kernel"), ("machine", "machine"),
                       ("congestion control", "congestion control")):
        v, c = known(m.get(key)), common(res, key)
        if key == "congestion control" and v and v.startswith("none"):
            continue  # no TCP in it
        if v != c:
            parts.append(f"{label} {v}" if v else f"{label} not stated")
    return "; ".join(parts)


# ---- the table: one function per row, each (what, baseline, xmcp, peers, measured) ----

def relay_pair(r, name, key):
    return f"{r.get(name, key, 'up_gbps')} / {r.get(name, key, 'down_gbps')}"


def relay_spread(r, key):
    g = lambda c: r.get("relay", key, c)  # noqa: E731
    return (f"{g('up_gbps')} ({g('up_min')}-{g('up_max')}) / "
            f"{g('down_gbps')} ({g('down_min')}-{g('down_max')})")


def relay_ratios(r, key):
    return f"({r.get('relay', key, 'up_ratio')}x / {r.get('relay', key, 'down_ratio')}x)"


def cpu_gb(r, key):
    return f"{r.get('relay', key, 'cpu_s_per_gb')} CPU s/GB"


def row_tcp_tcp(r):
    return ("TCP<->TCP relay up / down, Gbit/s (`relay.md`)",
            f"direct TCP {relay_pair(r, 'relay', 'direct')}",
            f"HAG `terminate_tcp`, splice {relay_pair(r, 'relay', 'tcp-tcp_xmcp_splice')} "
            f"{relay_ratios(r, 'tcp-tcp_xmcp_splice')}, {cpu_gb(r, 'tcp-tcp_xmcp_splice')}",
            f"haproxy (splice-auto) {relay_pair(r, 'relay', 'tcp-tcp_haproxy')}, "
            f"{cpu_gb(r, 'tcp-tcp_haproxy')}; socat {relay_pair(r, 'relay', 'tcp-tcp_socat')}, "
            f"{cpu_gb(r, 'tcp-tcp_socat')}",
            measured(r, "relay"))


def row_tcp_mptcp(r):
    return ("TCP->MPTCP (HCPE alone)",
            f"direct MPTCP {relay_pair(r, 'relay', 'direct_mptcp')}",
            f"splice {relay_spread(r, 'tcp-mptcp_xmcp_splice')}",
            f"haproxy {relay_pair(r, 'relay', 'tcp-mptcp_haproxy')}; "
            f"socat {relay_pair(r, 'relay', 'tcp-mptcp_socat')} (all under mptcpize)",
            measured(r, "relay"))


def row_mptcp_tcp(r):
    return ("MPTCP->TCP (HAG alone)",
            "direct MPTCP",
            f"splice {relay_spread(r, 'mptcp-tcp_xmcp_splice')}",
            f"haproxy {relay_pair(r, 'relay', 'mptcp-tcp_haproxy')}; "
            f"socat {relay_pair(r, 'relay', 'mptcp-tcp_socat')}",
            measured(r, "relay"))


def row_chain(r):
    return ("HCPE+HAG chain, both paths",
            "direct TCP",
            f"splice {relay_pair(r, 'relay', 'chain_xmcp_splice')} "
            f"{relay_ratios(r, 'chain_xmcp_splice')}, {cpu_gb(r, 'chain_xmcp_splice')}; "
            f"with native XDP {relay_pair(r, 'relay', 'chain_xmcp_native')}",
            f"shadowsocks (aes-256-gcm, mptcpize) {relay_pair(r, 'relay', 'chain_shadowsocks')}",
            measured(r, "relay"))


def row_chain8(r):
    def w(n):
        k = f"chain8_xmcp_w{n}"
        return f"{n} worker{'s' if n > 1 else ''} {relay_pair(r, 'relay', k)} {relay_ratios(r, k)}"

    ss = "chain8_shadowsocks"
    return ("HCPE+HAG chain, 8 flows at once",
            f"direct TCP {relay_pair(r, 'relay', 'chain8_direct')}",
            f"{w(1)}; {w(2)}",
            f"shadowsocks {relay_pair(r, 'relay', ss)} {relay_ratios(r, ss)}",
            measured(r, "relay"))


def row_tc(r):
    def part(prog, col):
        return span(r.many("tc", f"*/*/{prog}", col), "%.0f")

    def ratios(prog):
        return span(r.many("tc", f"*/*/{prog}", "ratio"), "%.1f")
    return ("tc programs per packet, live (`tc.md`)",
            f"empty tc program {part('steering', 'empty_ns')} ns (ingress), "
            f"{part('path accounting', 'empty_ns')} ns (egress)",
            f"classifier + steering at tc {part('steering', 'xmcp_ns')} ns ({ratios('steering')}x); "
            f"path accounting {part('path accounting', 'xmcp_ns')} ns ({ratios('path accounting')}x)",
            "",
            measured(r, "tc", what="transfer"))


def row_classifier(r):
    g = lambda k, c: dec(r.get("classifier", k, c))  # noqa: E731
    empties = sorted({g(k, "empty_ns_median") for k in r.rows.get("classifier", {})},
                     key=float)
    base = empties[0] if len(empties) == 1 else f"{empties[0]}-{empties[-1]}"
    names = [("data_segment", "data"), ("syn", "SYN"), ("syn_mp_capable", "MP_CAPABLE"),
             ("syn_mp_convert", "MP_CONVERT")]
    return ("XDP classifier per packet (`classifier.md`)",
            f"empty XDP {base} ns",
            ", ".join(f"{label} {g(k, 'xmcp_ns_median')} ns ({dec(r.get('classifier', k, 'ratio'))}x)"
                      for k, label in names),
            "",
            measured(r, "classifier", what="round"))


def row_bonding(r):
    g = lambda k, c: r.get("bonding", k, c)  # noqa: E731
    return ("bonding, dsl 40 Mbit/s 10 ms + lte 20 Mbit/s 30 ms (`bonding.md`)",
            f"single path {g('clean/single', 'mbps')} Mbit/s ({g('clean/single', 'share_of_sum')} "
            f"of the sum); native MPTCP {g('clean/native', 'mbps')} ({g('clean/native', 'share_of_sum')})",
            f"{g('clean/xmcp', 'mbps')} Mbit/s: {g('clean/xmcp', 'share_of_sum')} of the sum, "
            f"{g('clean/xmcp', 'ratio_to_native')}x native; with 1% loss on lte "
            f"{g('lte_loss/xmcp', 'mbps')} ({g('lte_loss/xmcp', 'share_of_sum')}, "
            f"{g('lte_loss/xmcp', 'ratio_to_native')}x); MPTCP legs under bbr: clean "
            f"{g('clean/xmcp_bbr', 'mbps')}, 1% loss {g('lte_loss/xmcp_bbr', 'mbps')} "
            f"({g('lte_loss/xmcp_bbr', 'ratio_to_native')}x)",
            "",
            measured(r, "bonding"))


def row_ttfb(r):
    g = lambda k, c: r.get("ttfb", k, c)  # noqa: E731
    rtts = lambda k: f"{float(g(k, 'added_rtts')):+.2f} RTT"  # noqa: E731
    return ("time to first byte, 20 ms RTT (`ttfb.md`)",
            f"direct {g('direct', 'ttfb_ms_median')} ms",
            f"off-path MCP {rtts('xmcp_offpath')}; HCPE+HAG {rtts('xmcp_hybrid')}",
            f"SOCKS5 over MPTCP {rtts('socks')}",
            measured(r, "ttfb"))


def row_paths(r):
    splits = ["30/10", "20/20", "10/30"]

    def shares(d):
        return " / ".join(r.get("paths", f"{s}/{d}", "measured_dsl_share") for s in splits)
    configured = " / ".join(f"{float(r.get('paths', s + '/up', 'configured_dsl_share')):.2f}"
                            for s in splits)
    return (f"path shares, configured {configured} (`paths.md`)",
            "",
            f"measured {shares('up')} up, {shares('down')} down; "
            f"{span(r.many('paths', '*/*/*', 'ratio_to_configured_sum'), '%.2f')} of the configured sum",
            "",
            measured(r, "paths"))


def conn_cpu(r, key):
    return f"{r.get('conns', key, 'cpu_us_per_conn')} µs CPU each"


def row_conn_rate(r):
    g = lambda k, c: r.get("conns", k, c)  # noqa: E731
    return ("connections/s (`conns.md`)",
            f"direct {g('direct', 'conn_per_s')}",
            f"TCP<->TCP {g('tcp_relay', 'conn_per_s')} ({g('tcp_relay', 'ratio')}x), "
            f"{conn_cpu(r, 'tcp_relay')}; chain {g('xmcp', 'conn_per_s')} ({g('xmcp', 'ratio')}x), "
            f"{conn_cpu(r, 'xmcp')}",
            f"haproxy {g('haproxy', 'conn_per_s')} ({g('haproxy', 'ratio')}x), "
            f"{conn_cpu(r, 'haproxy')}; socat {g('socat', 'conn_per_s')}",
            measured(r, "conns"))


def row_conn_memory(r):
    g = lambda k, c: r.get("conns", k, c)  # noqa: E731
    cols = r.row("conns", "direct")
    # files before the lab-only figure had the machine's /proc/net/sockstat TCP line, no slab
    sock = "sock_mem_bytes_per_pair" if "sock_mem_bytes_per_pair" in cols else "tcp_mem_bytes_per_pair"
    slab = "slab_bytes_per_pair" in cols

    def kernel(key):
        out = f"sockets {nbytes(g(key, sock))}"
        return out + (f", slab {float(g(key, 'slab_bytes_per_pair')) / 1000:.1f} kB" if slab else "")

    def both(key):
        return f"daemon {nbytes(g(key, 'relay_bytes_per_pair'))}, kernel: {kernel(key)}"
    return (f"memory per idle pair, {g('xmcp', 'tried')} pairs, the daemon's and the kernel's "
            "(`conns.md`)",
            f"direct (client and server only), kernel: {kernel('direct')}",
            f"TCP<->TCP {both('tcp_relay')}; HCPE+HAG {both('xmcp')}",
            f"haproxy {both('haproxy')}; socat {both('socat')} (a process per pair)",
            # one hold of the pairs per relay: conns.sh measures memory once
            measured(r, "conns", runs="1", what="hold"))


def row_failover(r):
    def g(k, case):
        v = r.get("failover", k, case)
        lo, hi = r.get("failover", k, case + "_min"), r.get("failover", k, case + "_max")
        return f"{v} s ({lo}-{hi})" if v != "none" else "none in 10 s"

    def line(case):
        return (f"new connection {g('new', case)}; stall in flight {g('stall', case)}; failback "
                f"{g('failback_inflight', case)} in flight, {g('failback_new', case)} begun in the outage")
    return ("failover: dsl black-holed, link up (`failover.md`); targets new <= 1 s, stall <= 1 s, "
            "failback <= 5 s",
            "native MPTCP, kernel defaults: " + line("native"),
            line("xmcp"),
            "",
            measured(r, "failover"))


ROWS = [row_tcp_tcp, row_tcp_mptcp, row_mptcp_tcp, row_chain, row_chain8, row_tc, row_classifier,
        row_bonding, row_ttfb, row_paths, row_conn_rate, row_conn_memory, row_failover]
TABLE_FILES = ["relay", "tc", "classifier", "bonding", "ttfb", "paths", "conns", "failover"]


def latest(res):
    """The "Latest:" line: what most of the table's files state; the table's last
    column names the rows that depart from it."""
    dates = sorted(d for d in (res.meta.get(n, {}).get("date", "") for n in TABLE_FILES)
                   if re.match(r"^\d{4}-\d\d-\d\d$", d))
    when = dates[-1] if dates else "dates not stated"
    if dates and dates[0] != dates[-1]:
        when += f" (the oldest file {dates[0]})"
    cc = common(res, "congestion control")
    return (f"Latest: {when}, kernel {common(res, 'kernel') or 'not stated'}, "
            f"{common(res, 'machine') or 'machine not stated'}, congestion control "
            f"{cc or 'not stated'}, unshaped veth unless said. The last column: what a "
            "figure is of, the commit it was measured at, and where the file departs from "
            "this line.")


def table(res):
    lines = ["| what | baseline | xmcp | peers | measured |", "|---|---|---|---|---|"]
    for f in ROWS:
        lines.append("| " + " | ".join(f(res)) + " |")
    return lines


# ---- figures quoted in the prose ----

def divide(a, b):
    # a smoke run's zero (a relay that moved nothing) shows as nan, not as a crash
    return a / b if b else float("nan")


OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: divide}
FUNCS = {"min": min, "max": max}


def elementwise(op, a, b):
    """op on numbers, or row by row on the lists of a wildcard lookup (same rows, same order)."""
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            raise ValueError("lists of different lengths in a figure")
        return [op(x, y) for x, y in zip(a, b)]
    if isinstance(a, list):
        return [op(x, b) for x in a]
    if isinstance(b, list):
        return [op(a, y) for y in b]
    return op(a, b)


def evaluate(res, expr):
    vals = []

    def lookup(m):
        name, key, col = (g.strip() for g in m.groups())
        vals.append(res.many(name, key, col) if "*" in key else res.num(name, key, col))
        return f"_v{len(vals) - 1}"

    tree = ast.parse(LOOKUP.sub(lookup, expr), mode="eval")

    def ev(n):
        if isinstance(n, ast.Expression):
            return ev(n.body)
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)):
            return n.value
        if isinstance(n, ast.Name) and n.id.startswith("_v"):
            return vals[int(n.id[2:])]
        if isinstance(n, ast.BinOp) and type(n.op) in OPS:
            return elementwise(OPS[type(n.op)], ev(n.left), ev(n.right))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return elementwise(operator.mul, -1, ev(n.operand))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in FUNCS:
            flat = []
            for a in n.args:
                v = ev(a)
                flat.extend(v if isinstance(v, list) else [v])
            return FUNCS[n.func.id](flat)
        raise ValueError(f"not allowed in a figure: {ast.dump(n)}")
    return ev(tree)


def figures(res, text):
    def fill(m):
        fmt, expr = m.group(1), m.group(2)
        return f"<!-- fig {fmt} {expr} -->{fmt % evaluate(res, expr)}<!-- /fig -->"
    return FIG.sub(fill, text)


def render(res, readme):
    """README with its generated parts regenerated."""
    if readme.count(TABLE_BEGIN) != 1 or readme.count(TABLE_END) != 1:
        raise Missing(f"README must hold {TABLE_BEGIN} and {TABLE_END} once each")
    head, rest = readme.split(TABLE_BEGIN)
    _, tail = rest.split(TABLE_END)
    block = "\n".join([TABLE_BEGIN, latest(res), ""] + table(res) + [TABLE_END])
    return figures(res, head) + block + figures(res, tail)


def main():
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", default=os.path.join(top, "bench", "results"),
                    help="results directory; CSVs missing there are read from bench/results")
    ap.add_argument("--readme", default=os.path.join(top, "README.md"))
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true")
    mode.add_argument("--print", action="store_true")
    a = ap.parse_args()
    default = os.path.join(top, "bench", "results")
    res = Results(a.results, None if os.path.realpath(a.results) == default else default)
    try:
        with open(a.readme) as f:
            old = f.read()
        new = render(res, old)
        if a.print:
            print("\n".join([latest(res), ""] + table(res)))
            return 0
    except (Missing, ValueError, KeyError) as e:
        print(f"bench/table.py: {e}", file=sys.stderr)
        return 1
    if a.check:
        if old == new:
            return 0
        sys.stdout.writelines(difflib.unified_diff(
            old.splitlines(True), new.splitlines(True), a.readme, "from " + a.results))
        print(f"bench/table.py: {a.readme} differs from {a.results}: run bench/table.py",
              file=sys.stderr)
        return 1
    if new != old:
        with open(a.readme, "w") as f:
            f.write(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
