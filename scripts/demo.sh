#!/usr/bin/env bash
# The hybrid-access demo: an HCPE and a HAG bond a DSL and an LTE path for a
# host H talking plain TCP to a server S, with no tunnel and no address
# translation.
#
#   H --lan-- HCPE ==dsl (primary, 40 Mbit/s, 10 ms)=== HAG --wan-- S
#                  ==lte (secondary, 20 Mbit/s, 30 ms)==
#
# It measures one plain TCP transfer over the primary path alone, then starts
# xmcp (policies/hcpe.json, policies/hag.json) and moves data from H to S and
# back through it, and prints per path the bytes and the rate. Everything
# is removed on exit, even on failure. Rates come from tbf; the one-way
# delays from build/delayline, since this kernel has no netem
# (tests/lib/lab.bash documents the lab).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash

PY=/usr/bin/python3
PEER=tests/tools/peer.py
XMCP=build/xmcp
BYTES=${DEMO_BYTES:-25000000}
DSL_RATE=40mbit LTE_RATE=20mbit
export LAB_DSL_DELAY=${DEMO_DSL_DELAY:-10} LAB_LTE_DELAY=${DEMO_LTE_DELAY:-30}
WORK=$(mktemp -d)
LAB_H=xmcp-demo-h LAB_HCPE=xmcp-demo-hcpe LAB_HAG=xmcp-demo-hag LAB_S=xmcp-demo-s
PIDS=()

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# The lab and daemons; also what an interrupted earlier demo may have left.
remove_lab() {
	set +e
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	lab_down
	rm -rf /sys/fs/bpf/xmcp-demo-*
	set -e
}

cleanup() {
	remove_lab
	rm -rf "$WORK"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (namespaces, XDP)" >&2; exit 1; }
make -s
remove_lab

say "the lab: H, HCPE, HAG, S in namespaces; each way dsl $DSL_RATE and ${LAB_DSL_DELAY} ms, lte $LTE_RATE and ${LAB_LTE_DELAY} ms"
lab_up xmcp-demo
for ns in "$LAB_HCPE" "$LAB_HAG"; do
	tc -n "$ns" qdisc add dev dsl root tbf rate $DSL_RATE burst 32kbit latency 100ms
	tc -n "$ns" qdisc add dev lte root tbf rate $LTE_RATE burst 32kbit latency 100ms
done

wait_file() {
	for _ in $(seq 100); do [ -e "$1" ] && return 0; sleep 0.1; done
	echo "demo: a server did not start" >&2
	return 1
}

tx() { ip -n "$1" -s -j link show "$2" | jq '.[0].stats64.tx.bytes'; }
now() { date +%s.%N; }
mbit() { echo "$1 $2" | awk '{ printf "%.1f", $1 * 8 / $2 / 1e6 }'; }

# upload PORT: H sends $BYTES to S; prints seconds
upload() {
	nsenter --net=/run/netns/$LAB_S $PY $PEER serve 10.4.0.2 "$1" --ready "$WORK/r$1" > "$WORK/s$1" &
	wait_file "$WORK/r$1"
	local t0 t1
	t0=$(now)
	nsenter --net=/run/netns/$LAB_H $PY $PEER send 10.4.0.2 "$1" "$BYTES" > "$WORK/h$1"
	t1=$(now)
	wait
	[ "$(cut -d' ' -f1 "$WORK/s$1")" = "$(cat "$WORK/h$1")" ] || { echo "demo: bytes differ!" >&2; exit 1; }
	echo "$t0 $t1" | awk '{ print $2 - $1 }'
}

# download PORT: S sends $BYTES to H; prints seconds
download() {
	nsenter --net=/run/netns/$LAB_S $PY $PEER source 10.4.0.2 "$1" "$BYTES" --ready "$WORK/r$1" > "$WORK/s$1" &
	wait_file "$WORK/r$1"
	local t0 t1
	t0=$(now)
	nsenter --net=/run/netns/$LAB_H $PY $PEER sink 10.4.0.2 "$1" > "$WORK/h$1"
	t1=$(now)
	wait
	[ "$(cut -d' ' -f1 "$WORK/s$1")" = "$(cat "$WORK/h$1")" ] || { echo "demo: bytes differ!" >&2; exit 1; }
	echo "$t0 $t1" | awk '{ print $2 - $1 }'
}

say "baseline: plain TCP, H to S over the primary path alone (no xmcp)"
single=$(upload 9000)
echo "$BYTES bytes in ${single}s: $(mbit "$BYTES" "$single") Mbit/s (dsl alone is $DSL_RATE)"

say "xmcp run: HCPE and HAG from policies/"
for role in hcpe hag; do
	ns=$LAB_HCPE
	[ $role = hag ] && ns=$LAB_HAG
	XMCP_PIN_DIR=/sys/fs/bpf/xmcp-demo-$role nsenter --net=/run/netns/$ns \
		$XMCP run -c policies/$role.json > "$WORK/$role.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 100); do grep -q "^xmcp: running as" "$WORK/$role.log" && break; sleep 0.1; done
	grep "^xmcp: running as" "$WORK/$role.log" || { cat "$WORK/$role.log"; exit 1; }
done

report() {
	local what=$1 secs=$2 ns=$3 dsl0=$4 lte0=$5
	local dsl=$(( $(tx "$ns" dsl) - dsl0 )) lte=$(( $(tx "$ns" lte) - lte0 ))
	printf '%-9s %10d bytes in %5.2fs: %6s Mbit/s   dsl %10d bytes (%5s Mbit/s)   lte %10d bytes (%5s Mbit/s)\n' \
		"$what" "$BYTES" "$secs" "$(mbit "$BYTES" "$secs")" "$dsl" "$(mbit "$dsl" "$secs")" \
		"$lte" "$(mbit "$lte" "$secs")"
}

say "bonded: H to S and back through HCPE and HAG (bytes checked with SHA-256)"
d0=$(tx $LAB_HCPE dsl) l0=$(tx $LAB_HCPE lte)
secs=$(upload 9001)
report upload "$secs" $LAB_HCPE "$d0" "$l0"
d0=$(tx $LAB_HAG dsl) l0=$(tx $LAB_HAG lte)
secs=$(download 9002)
report download "$secs" $LAB_HAG "$d0" "$l0"
echo "single path: $(mbit "$BYTES" "$single") Mbit/s; sum of the path rates: 60 Mbit/s"

say "what the HAG's datapath saw (xmcp stats)"
XMCP_PIN_DIR=/sys/fs/bpf/xmcp-demo-hag nsenter --net=/run/netns/$LAB_HAG $XMCP stats | grep -E 'class|syn |syn_mp|tcp |steer'
say "tearing down (SIGTERM to both daemons, then the lab)"
