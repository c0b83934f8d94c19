#!/usr/bin/env bash
# Bonding efficiency in the hybrid-access lab with shaped paths: dsl 40 Mbit/s
# and 10 ms each way, lte 20 Mbit/s and 30 ms (tbf on both gateways, delays
# from build/delayline), clean and then with 1% loss each way on lte. In the
# same run, for each: one long TCP transfer H -> S over dsl alone (no xmcp:
# the single path), native MPTCP between HCPE and HAG over both paths (the
# HAG announcing its lte address: the kernel's own ceiling), and H -> S
# through xmcp as HCPE and HAG, its MPTCP legs under the default congestion
# control (reno) and under bbr. Goodput as a share of the sum of the path
# rates (60 Mbit/s), and xmcp against native MPTCP.
#
# Usage: bench/bonding.sh SECS RUNS OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

secs=$1 runs=$2 md=$3 csv=$4
export LAB_DSL_DELAY=10 LAB_LTE_DELAY=30
SUM=60

shape() {
	local ns
	for ns in "$LAB_HCPE" "$LAB_HAG"; do
		tc -n "$ns" qdisc add dev dsl root tbf rate 40mbit burst 32kbit latency 100ms
		tc -n "$ns" qdisc add dev lte root tbf rate 20mbit burst 32kbit latency 100ms
	done
}

# goodput LABEL NS HOST PORT [prefix...]: RUNS iperf3 runs from NS, Mbit/s into $work/LABEL
goodput() {
	local label=$1 ns=$2 host=$3 port=$4 i
	shift 4
	for i in $(seq "$runs"); do
		nsenter --net=/run/netns/$ns "$@" iperf3 -c "$host" -p "$port" -t "$secs" -J |
			jq '.end.sum_received.bits_per_second / 1e6' >> "$work/$label"
	done
}

# native: MPTCP from the HCPE's namespace to the HAG's, the HAG announcing 10.3.0.2
native() {
	ip -n "$LAB_HAG" mptcp limits set subflows 2 add_addr_accepted 0
	ip -n "$LAB_HAG" mptcp endpoint add 10.3.0.2 dev lte signal
	ip -n "$LAB_HCPE" mptcp limits set subflows 2 add_addr_accepted 2
	# no -B: the join to the announced address must find the listener too
	nsenter --net=/run/netns/$LAB_HAG mptcpize run iperf3 -s -p 5203 -D --pidfile "$work/native.pid"
	sleep 0.3
	goodput "$1" "$LAB_HCPE" 10.2.0.2 5203 mptcpize run
	kill "$(cat "$work/native.pid")"
	ip -n "$LAB_HAG" mptcp endpoint flush
	ip -n "$LAB_HCPE" mptcp limits set subflows 0 add_addr_accepted 0
	ip -n "$LAB_HAG" mptcp limits set subflows 0 add_addr_accepted 0
}

# scenario NAME: the three measurements in a fresh lab (LAB_LTE_LOSS from the caller)
scenario() {
	bench_lab xo
	shape
	goodput "$1.single" "$LAB_H" 10.4.0.2 5201
	native "$1.native"
	run_daemon "$LAB_HCPE" policies/hcpe.json hcpe
	run_daemon "$LAB_HAG" policies/hag.json hag
	goodput "$1.xmcp" "$LAB_H" 10.4.0.2 5201
	stop
	# the same with the MPTCP legs under bbr (mptcp_congestion), the lab's own choice
	jq '.mptcp_congestion = "bbr"' policies/hcpe.json > "$work/hcpe-bbr.json"
	jq '.mptcp_congestion = "bbr"' policies/hag.json > "$work/hag-bbr.json"
	run_daemon "$LAB_HCPE" "$work/hcpe-bbr.json" hcpe
	run_daemon "$LAB_HAG" "$work/hag-bbr.json" hag
	goodput "$1.xmcp_bbr" "$LAB_H" 10.4.0.2 5201
	stop
	cc=$(bench_cc_name)
	local saved=$work
	work=$(mktemp -d)
	cp "$saved"/"$1".* "$results"/
	bench_cleanup
	trap - EXIT
}

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
scenario clean
LAB_LTE_LOSS=1 scenario lte_loss

stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.1f %.1f %.1f", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
{
	echo "## Bonding efficiency: dsl 40 Mbit/s 10 ms + lte 20 Mbit/s 30 ms (one way)"
	echo
	bench_header "$csv" "$cc" "$runs" "$(bench_figures "$runs" run "of $secs s per scenario and path")"
	echo
	echo "| scenario | path | Mbit/s median (min-max) | share of the 60 Mbit/s sum | against native MPTCP |"
	echo "|---|---|---:|---:|---:|"
} > "$md"
echo "scenario,path,mbps,mbps_min,mbps_max,share_of_sum,ratio_to_native" > "$csv"
for sc in clean lte_loss; do
	read -r nat _ _ <<< "$(stats "$results/$sc.native")"
	for p in single native xmcp xmcp_bbr; do
		read -r m lo hi <<< "$(stats "$results/$sc.$p")"
		share=$(awk -v a="$m" 'BEGIN { printf "%.2f", a / '"$SUM"' }')
		rn=$(awk -v a="$m" -v b="$nat" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
		echo "| $sc | $p | $m ($lo-$hi) | $share | ${rn}x |" >> "$md"
		echo "$sc,$p,$m,$lo,$hi,$share,$rn" >> "$csv"
	done
done
{
	echo
	echo "iperf3 -t $secs, $runs runs each. single: H -> S plain TCP, dsl only, no xmcp. native: MPTCP"
	echo "HCPE -> HAG with the HAG's lte address announced (two subflows), no xmcp. xmcp: H -> S plain"
	echo "TCP through xmcp run as HCPE and HAG (policies/: MPTCP legs under mptcp_congestion's default,"
	echo "reno); xmcp_bbr: the same with \"mptcp_congestion\": \"bbr\" on both. lte_loss: 1% random loss"
	echo "each way on lte."
} >> "$md"
cat "$md"
