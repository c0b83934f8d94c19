#!/usr/bin/env bash
# The tc programs' cost per packet on live traffic (build/bench_tc), in the
# unshaped lab with xmcp as HCPE and HAG: for each gateway and direction, two
# bulk transfers while bench_tc watches that gateway's programs, the first
# with xmcp's programs alone (their time per packet), the second with an empty
# tc program in front of them (its time: the baseline). One run of each:
# single figures, as the results say.
#
#   HCPE ingress: steering on the LAN side (H's TCP data: a socket lookup per
#                 segment to keep the proxied flows local) and on the access
#                 side (the HAG's MPTCP subflows); on veth the classifier runs
#                 at tc and tail-calls the steering: one program's run, both
#                 timed
#   HCPE egress:  path accounting on dsl and lte (MPTCP subflow bytes per path)
#   the same at the HAG
#
# Usage: bench/tcprogs.sh SECS OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

secs=$1 md=$2 csv=$3
bench_lab xg
run_daemon "$LAB_HCPE" policies/hcpe.json hcpe
run_daemon "$LAB_HAG" policies/hag.json hag

# gateway NS DIR: bench_tc in NS around one iperf3 transfer (DIR up: H -> S, down: -R)
gateway() {
	nsenter --net=/run/netns/$1 build/bench_tc -c "$work/$1.$2.csv" -- \
		nsenter --net=/run/netns/$LAB_H iperf3 -c 10.4.0.2 -t "$secs" \
		$([ "$2" = down ] && echo -R) > "$work/$1.$2.md"
}

echo "gateway,direction,program,packets,empty_ns,xmcp_ns,ratio,empty_packets" > "$csv"
{
	echo "## tc programs' cost per packet, live traffic"
	echo
	bench_header "$csv" "$(bench_cc_name)" 1 \
		"$(bench_figures 1 transfer "of $secs s per gateway, direction and program (xmcp's, then the empty one)")"
	echo
	echo "| gateway | transfer | program | packets | empty tc ns/packet | xmcp ns/packet | ratio |"
	echo "|---|---|---|---:|---:|---:|---:|"
} > "$md"
for gw in hcpe hag; do
	ns=$LAB_HCPE
	[ $gw = hag ] && ns=$LAB_HAG
	for dir in up down; do
		gateway "$ns" $dir
		tail -n +2 "$work/$ns.$dir.csv" | while IFS=, read -r prog pkts e x r ep; do
			echo "$gw,$dir,$prog,$pkts,$e,$x,$r,$ep" >> "$csv"
			printf '| %s | %s | %s | %s | %.1f | %.1f | %.2fx |\n' "$gw" "$dir" "$prog" "$pkts" "$e" "$x" "$r" >> "$md"
		done
	done
done
{
	echo
	echo "iperf3 -t $secs H -> S (up) and S -> H (down) through xmcp's HCPE and HAG, xmcp's own"
	echo "policies; BPF run-time statistics (ns per run as the kernel counts them, its clock reads"
	echo "included in both columns). Two transfers each row: xmcp's programs alone (packets, xmcp"
	echo "ns), then the empty program in front of them (empty tc ns): each timed as the first program"
	echo "on the packet, neither on caches the other warmed; in the second, xmcp's ran as often as the"
	echo "empty one, which passes every packet on (TC_ACT_UNSPEC, checked). Steering: every device's"
	echo "ingress, where on veth (xdp_mode auto) the classifier runs at tc and tail-calls the"
	echo "steering: the kernel counts both in the classifier's run, so this row is the classifier's"
	echo "parse plus the steering (behind XDP it is the steering alone); path accounting: egress of"
	echo "the access devices (dsl, lte). The classifier alone, as a test run, is in classifier.md."
} >> "$md"
cat "$md"
