#!/usr/bin/env bash
# Relay throughput in the unshaped hybrid-access lab (tests/lib/lab.bash),
# all in one run: plain forwarding H -> S (the baseline), then xmcp as HCPE
# and HAG with each relay mode (TCP<->MPTCP pairs), then a HAG alone that
# terminates H's plain TCP (terminate_tcp: TCP<->TCP pairs) with each way of
# moving them: userspace splice, userspace copy (sockmap is refused on this
# kernel: docs/policy.md). iperf3 from H to S,
# RUNS runs of SECS seconds each; the median, with min and max, in Gbit/s and
# as a ratio to the baseline.
#
# Usage: bench/relay.sh SECS RUNS OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

secs=$1 runs=$2 md=$3 csv=$4
bench_lab xb

# measure LABEL: RUNS iperf3 runs, Gbit/s each, one per line into $work/LABEL
measure() {
	local i
	for i in $(seq "$runs"); do
		nsenter --net=/run/netns/$LAB_H iperf3 -c 10.4.0.2 -t "$secs" -J |
			jq '.end.sum_received.bits_per_second / 1e9' >> "$work/$1"
	done
}

start_xmcp() {
	local role ns
	for role in hcpe hag; do
		ns=$LAB_HCPE
		[ $role = hag ] && ns=$LAB_HAG
		jq --arg r "$1" '.relay = $r' policies/$role.json > "$work/$role.json"
		run_daemon "$ns" "$work/$role.json" "$role"
	done
}

# start_hag_tcp RELAY TCP_PAIRS: only the HAG, terminating plain TCP too.
# Generic XDP, as these figures were first taken with (sockmap needed it).
start_hag_tcp() {
	jq --arg r "$1" --arg t "$2" '.relay = $r | .tcp_pairs = $t | .terminate_tcp = true |
		.xdp_mode = "generic"' policies/hag.json > "$work/hag.json"
	run_daemon "$LAB_HAG" "$work/hag.json" hag
}

measure direct
for mode in splice copy; do
	start_xmcp $mode
	measure "xmcp_$mode"
	stop
done
for mode in splice copy; do
	start_hag_tcp $mode relay
	measure "tcp_relay_$mode"
	stop
done

# stats FILE -> "median min max"
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
read -r base _ _ <<< "$(stats "$work/direct")"
{
	echo "## Relay throughput, TCP H -> S (unshaped veth)"
	echo
	echo "| path | Gbit/s median (min-max) | ratio to direct |"
	echo "|---|---:|---:|"
} > "$md"
echo "path,gbps_median,gbps_min,gbps_max,ratio" > "$csv"
for l in direct xmcp_splice xmcp_copy tcp_relay_splice tcp_relay_copy; do
	read -r med lo hi <<< "$(stats "$work/$l")"
	ratio=$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	echo "| $l | $med ($lo-$hi) | ${ratio}x |" >> "$md"
	echo "$l,$med,$lo,$hi,$ratio" >> "$csv"
done
echo >> "$md"
{
	echo "iperf3 -t $secs, $runs runs each; direct = plain IP forwarding through the same namespaces, no xmcp."
	echo "xmcp_*: HCPE + HAG, TCP <-> MPTCP <-> TCP, by relay mode. tcp_*: the HAG alone terminating"
	echo "H's plain TCP (terminate_tcp, generic XDP), one TCP<->TCP pair, moved by the userspace relay"
	echo "(splice, copy)."
} >> "$md"
cat "$md"
