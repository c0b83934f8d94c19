#!/usr/bin/env bash
# Per-path rate shares (policy "paths[].rate_mbit") against what MPTCP
# really sends over each path, in the unshaped hybrid-access lab: HCPE and
# HAG both shape their MPTCP subflows on dsl and lte (htb, see
# docs/policy.md), iperf3 runs H -> S (up: the HCPE's shaping) and S -> H
# (down: the HAG's), and the bytes each device sent during the run give the
# share each path got. The configured rates are the baseline: the share
# they imply, and their sum for the throughput.
#
# Usage: bench/paths.sh SECS OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

secs=$1 md=$2 csv=$3
bench_lab xp

tx() { ip -n "$1" -s -j link show "$2" | jq '.[0].stats64.tx.bytes'; }

# run DSL LTE: both gateways shape dsl to DSL and lte to LTE Mbit/s; one csv line per direction
run() {
	local shape=".paths[0].rate_mbit = $1 | .paths[1].rate_mbit = $2" dir ns flag d0 l0 d l mbps
	jq "$shape" policies/hcpe.json > "$work/hcpe.json"
	jq "$shape" policies/hag.json > "$work/hag.json"
	run_daemon "$LAB_HCPE" "$work/hcpe.json" hcpe
	run_daemon "$LAB_HAG" "$work/hag.json" hag
	for dir in up down; do
		ns=$LAB_HCPE flag=
		[ $dir = down ] && ns=$LAB_HAG flag=-R
		d0=$(tx "$ns" dsl) l0=$(tx "$ns" lte)
		mbps=$(nsenter --net=/run/netns/$LAB_H iperf3 -c 10.4.0.2 -t "$secs" $flag -J |
			jq '.end.sum_received.bits_per_second / 1e6')
		d=$(( $(tx "$ns" dsl) - d0 )) l=$(( $(tx "$ns" lte) - l0 ))
		awk -v a="$1" -v b="$2" -v dir="$dir" -v d="$d" -v l="$l" -v m="$mbps" 'BEGIN {
			printf "%d,%d,%s,%.3f,%.3f,%.1f,%.2f\n", a, b, dir, a / (a + b), d / (d + l), m, m / (a + b) }' >> "$csv"
	done
	stop
}

echo "dsl_mbit,lte_mbit,direction,configured_dsl_share,measured_dsl_share,mbps,ratio_to_configured_sum" > "$csv"
run 30 10
run 20 20
run 10 30

{
	echo "## Path rate shares (paths[].rate_mbit), unshaped veth"
	echo
	bench_header "$csv" "$(bench_cc_name)" 1 "$(bench_figures 1 run "of $secs s per rate split and direction")"
	echo
	echo "| dsl:lte Mbit/s | direction | dsl share configured | dsl share measured | Mbit/s (ratio to the configured sum) |"
	echo "|---|---|---:|---:|---:|"
	tail -n +2 "$csv" | while IFS=, read -r a b dir cs ms m r; do
		echo "| $a:$b | $dir | $cs | $ms | $m (${r}x) |"
	done
	echo
	echo "iperf3 -t $secs H -> S (up, shaped by the HCPE) and S -> H (down, by the HAG); shares from the"
	echo "bytes each gateway's dsl and lte devices sent during the run (data one way, acks the other)."
} > "$md"
cat "$md"
