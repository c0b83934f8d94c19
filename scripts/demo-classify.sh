#!/usr/bin/env bash
# The xmcp demo: a client and a gateway in two network namespaces, the
# classifier attached to the gateway's interface, live traffic of every
# kind, the counters, and the same traffic captured and classified offline.
#
#   netns xmcp-demo-cli             netns xmcp-demo-gw
#   +------------------+            +-----------------------------+
#   | demo-cli         |------------| demo-gw   XDP: xmcp_xdp      |
#   | 10.99.0.1/24     |            | 10.99.0.2/24 tc: xmcp_tc_... |
#   +------------------+            +-----------------------------+
#
# Everything it creates is removed on exit, even on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

CLI=xmcp-demo-cli GW=xmcp-demo-gw
PIN=/sys/fs/bpf/xmcp-demo
PY=/usr/bin/python3
XMCP=build/xmcp
WORK=$(mktemp -d)
export XMCP_PIN_DIR=$PIN

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
in_gw() { nsenter --net=/run/netns/$GW "$@"; }
in_cli() { nsenter --net=/run/netns/$CLI "$@"; }

# The lab, also as an earlier interrupted demo may have left it.
remove_lab() {
	[ -e /run/netns/$GW ] && { in_gw "$XMCP" detach --all >/dev/null 2>&1 || true; }
	ip netns del $CLI 2>/dev/null || true
	ip netns del $GW 2>/dev/null || true
	rm -rf "$PIN"
	return 0
}

cleanup() {
	set +e
	[ -n "${DUMP_PID:-}" ] && kill "$DUMP_PID" 2>/dev/null && wait "$DUMP_PID" 2>/dev/null
	remove_lab
	rm -rf "$WORK"
}
trap cleanup EXIT

# Wait (10 s at most) for a server to say it listens.
wait_ready() {
	local i
	for i in $(seq 100); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	echo "demo: a test server did not start" >&2
	return 1
}

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (namespaces, XDP)" >&2; exit 1; }
make -s

say "topology: two namespaces joined by a veth pair"
remove_lab
ip netns add $CLI
ip netns add $GW
ip link add demo-cli netns $CLI type veth peer name demo-gw netns $GW
ip -n $CLI addr add 10.99.0.1/24 dev demo-cli
ip -n $GW addr add 10.99.0.2/24 dev demo-gw
ip -n $CLI link set demo-cli up
ip -n $GW link set demo-gw up
ip -n $GW link set lo up

say "xmcp attach demo-gw"
in_gw "$XMCP" attach demo-gw

# Capture what the gateway receives, to classify it offline afterwards.
ip netns exec $GW tcpdump -q -i demo-gw -w "$WORK/demo.pcap" -U inbound 2>/dev/null &
DUMP_PID=$!
sleep 1

say "live traffic from the client"
echo "- a plain TCP connection carrying 1 MB (checksummed end to end):"
in_gw $PY tests/tools/peer.py serve 10.99.0.2 7000 --ready "$WORK/r1" >/dev/null &
wait_ready "$WORK/r1"
in_cli $PY tests/tools/peer.py send 10.99.0.2 7000 1000000
wait %%
echo "- an MPTCP connection carrying 1 MB:"
in_gw $PY tests/tools/peer.py serve 10.99.0.2 7001 --mptcp --ready "$WORK/r2" >/dev/null &
wait_ready "$WORK/r2"
in_cli $PY tests/tools/peer.py send 10.99.0.2 7001 1000000 --mptcp
wait %%
echo "- crafted SYNs: MP_CONVERT to 198.51.100.7:443, a duplicate-D MP_CONVERT,"
echo "  an MP_JOIN, a TCP-MD5 SYN and a bad option length (each untagged, 802.1Q, QinQ; IPv4 and IPv6):"
ip netns exec $CLI $PY tests/tools/mkpcap.py --send demo-cli convert_v4_port invalid_dup_d join md5 option_len_1
sleep 1
kill $DUMP_PID
wait $DUMP_PID 2>/dev/null || true
DUMP_PID=

say "xmcp stats (counted live by XDP; 'seen by tc' read from the XDP metadata)"
in_gw "$XMCP" stats

say "xmcp classify: the same traffic, captured and run through the program offline"
"$XMCP" classify "$WORK/demo.pcap" | awk '{ $1 = ""; print }' | sort | uniq -c | sort -rn

say "xmcp detach --all"
in_gw "$XMCP" detach --all
[ ! -e "$PIN" ] && echo "pins removed; the interface has no XDP program left:"
ip -n $GW link show demo-gw | head -1
