#!/usr/bin/env bash
# Relay throughput in the unshaped hybrid-access lab (tests/lib/lab.bash),
# all in one run: plain forwarding H -> S (the baseline), then xmcp as HCPE
# and HAG with each relay mode. iperf3 from H to S, RUNS runs of SECS seconds
# each; the median, with min and max, in Gbit/s and as a ratio to the baseline.
#
# Usage: bench/relay.sh SECS RUNS OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash

secs=$1 runs=$2 md=$3 csv=$4
tag="xb$(printf '%04x' $RANDOM)"
work=$(mktemp -d)
pids=()

stop() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	pids=()
}
cleanup() {
	set +e
	stop
	[ -s "$work/iperf.pid" ] && kill "$(cat "$work/iperf.pid")" 2>/dev/null
	lab_down
	rm -rf "$work" /sys/fs/bpf/xmcp-bench-*
}
trap cleanup EXIT

lab_up "$tag"
nsenter --net=/run/netns/$LAB_S iperf3 -s -B 10.4.0.2 -D --pidfile "$work/iperf.pid"
sleep 0.5

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
		XMCP_PIN_DIR=/sys/fs/bpf/xmcp-bench-$role nsenter --net=/run/netns/$ns \
			build/xmcp run -c "$work/$role.json" > "$work/$role.log" 2>&1 &
		pids+=($!)
		for _ in $(seq 100); do grep -q "running as" "$work/$role.log" && break; sleep 0.1; done
	done
}

measure direct
for mode in splice copy; do
	start_xmcp $mode
	measure "xmcp_$mode"
	stop
done

# stats FILE -> "median min max"
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
read -r base _ _ <<< "$(stats "$work/direct")"
{
	echo "## Relay throughput, TCP H -> S through HCPE + HAG (unshaped veth, one MPTCP path pair)"
	echo
	echo "| path | Gbit/s median (min-max) | ratio to direct |"
	echo "|---|---:|---:|"
} > "$md"
echo "path,gbps_median,gbps_min,gbps_max,ratio" > "$csv"
for l in direct xmcp_splice xmcp_copy; do
	read -r med lo hi <<< "$(stats "$work/$l")"
	ratio=$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
	echo "| $l | $med ($lo-$hi) | ${ratio}x |" >> "$md"
	echo "$l,$med,$lo,$hi,$ratio" >> "$csv"
done
echo >> "$md"
echo "iperf3 -t $secs, $runs runs each; direct = plain IP forwarding through the same namespaces, no xmcp." >> "$md"
cat "$md"
