#!/usr/bin/env bash
# Failover in the hybrid-access lab (issue 17): dsl 40 Mbit/s and lte 20
# Mbit/s (tbf on both gateways), dsl turned into a black hole at both ends
# with its link up (tbf at 8 bit/s), then back. Per run, for xmcp (HCPE with
# policies/hcpe-failover.json, the shipped HAG; H -> S plain TCP) and, in the
# same run, native MPTCP end to end with the kernel's defaults (HCPE -> HAG,
# the HAG announcing its lte address, as bench/bonding.sh):
#   new       seconds from the outage's start to the first byte of a
#             connection opened right then ("none": nothing in 10 s);
#   stall     the longest gap between two reads of a download in flight
#             across a 3-second outage;
#   failback  seconds from the line's return until the HAG sends 200 kB
#             by dsl within 100 ms again (the download's bytes back on it):
#             for the download in flight (failback_inflight), and for one
#             that began during the outage (failback_new: native MPTCP has
#             none, its connection cannot open).
#
# Usage: bench/failover.sh RUNS OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

runs=$1 md=$2 csv=$3
PEER=bench/failover_peer.py
LIMIT=10

black_hole() { lab_black_hole dsl; }
restore() { lab_line_rate dsl 40mbit; }

# state NAME: the HCPE's health of path NAME; until_state NAME STATE waits (20 s at most)
state() {
	XMCP_PIN_DIR=$BENCH_PINS-hcpe nsenter --net=/run/netns/$LAB_HCPE build/xmcp stats -j |
		jq -r --arg n "$1" '.paths[] | select(.path == $n) | .health.state'
}
until_state() {
	for _ in $(seq 200); do [ "$(state "$1")" = "$2" ] && return 0; sleep 0.1; done
	echo "bench: path $1 never became $2" >&2
	return 1
}

# settle CASE: the line is back and known to be: xmcp waits for its health, native for its retransmissions
settle() {
	if [ "$1" = xmcp ]; then until_state fixed up; else sleep 3; fi
}

# watch_dsl: seconds until the HAG sends 200 kB by dsl within 100 ms
watch_dsl() { ip netns exec "$LAB_HAG" /usr/bin/python3 $PEER watch dsl 100 200000 $LIMIT; }

# one_run CASE CLIENT_NS ADDR [--mptcp]: the three measurements, appended to $results/CASE.*
one_run() {
	local c=$1 ns=$2 addr=$3 mp=${4:-} out
	# a new connection the moment the line dies
	black_hole
	nsenter --net=/run/netns/$ns /usr/bin/python3 $PEER first-byte "$addr" 5301 $LIMIT $mp >> "$results/$c.new"
	restore
	settle "$c"
	# a download in flight across a 3-second outage
	out="$work/gaps.$c"
	nsenter --net=/run/netns/$ns /usr/bin/python3 $PEER gaps "$addr" 5301 7 $mp > "$out" &
	sleep 1.5
	black_hole
	sleep 3
	restore
	watch_dsl >> "$results/$c.failback_inflight"
	wait $!
	cut -d' ' -f1 "$out" >> "$results/$c.stall"
	settle "$c"
	# a download that begins during the outage
	black_hole
	if [ "$c" = xmcp ]; then
		until_state fixed down
		nsenter --net=/run/netns/$ns /usr/bin/python3 $PEER gaps "$addr" 5301 6 $mp > "$out" &
		sleep 1
		restore
		watch_dsl >> "$results/$c.failback_new"
		wait $!
	else
		restore
		echo none >> "$results/$c.failback_new"
	fi
	settle "$c"
}

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
bench_lab fo
lab_line_rate dsl 40mbit
lab_line_rate lte 20mbit
# xmcp
nsenter --net=/run/netns/$LAB_S /usr/bin/python3 $PEER stream 10.4.0.2 5301 --ready "$work/s.ready" &
pids+=($!)
run_daemon "$LAB_HCPE" policies/hcpe-failover.json hcpe
run_daemon "$LAB_HAG" policies/hag.json hag
until_state fixed up
until_state mobile up
for _ in $(seq "$runs"); do one_run xmcp "$LAB_H" 10.4.0.2; done
stop
# native MPTCP, HCPE -> HAG
ip -n "$LAB_HAG" mptcp limits set subflows 2 add_addr_accepted 0
ip -n "$LAB_HAG" mptcp endpoint add 10.3.0.2 dev lte signal
ip -n "$LAB_HCPE" mptcp limits set subflows 2 add_addr_accepted 2
nsenter --net=/run/netns/$LAB_HAG /usr/bin/python3 $PEER stream 0.0.0.0 5301 --mptcp &
pids+=($!)
sleep 0.5
for _ in $(seq "$runs"); do one_run native "$LAB_HCPE" 10.2.0.2 --mptcp; done
cc=$(bench_cc_name)
bench_cleanup
trap 'rm -rf "$results"' EXIT

# stats FILE: median min max of the numbers in FILE ("none" counts as above every number)
stats() {
	sed "s/^none$/inf/" "$1" | sort -g | awk '{ v[NR] = $1 } END { printf "%s %s %s", v[int((NR + 1) / 2)], v[1], v[NR] }' |
		sed 's/inf/none/g'
}
{
	echo "## Failover: dsl black-holed (link up), lte 20 Mbit/s carrying on"
	echo
	bench_header "$csv" "$cc" "$runs" "$(bench_figures "$runs" run "per case")"
	echo
	echo "| measure | target | xmcp median (min-max) | native MPTCP median (min-max) |"
	echo "|---|---:|---:|---:|"
} > "$md"
echo "measure,target_s,xmcp,xmcp_min,xmcp_max,native,native_min,native_max" > "$csv"
for m in new:1 stall:1 failback_inflight:5 failback_new:5; do
	name=${m%:*} target=${m#*:}
	read -r x xlo xhi <<< "$(stats "$results/xmcp.$name")"
	read -r n nlo nhi <<< "$(stats "$results/native.$name")"
	echo "| $name (s) | <= $target | $x ($xlo-$xhi) | $n ($nlo-$nhi) |" >> "$md"
	echo "$name,$target,$x,$xlo,$xhi,$n,$nlo,$nhi" >> "$csv"
done
{
	echo
	echo "new: from the outage's start to a new connection's first byte. stall: longest gap between reads"
	echo "of a download across a 3-s outage. failback: from the line's return until the HAG sends 200 kB"
	echo "by dsl within 100 ms, for that download (inflight) and for one begun during the outage (new)."
	echo "none: not within $LIMIT s (a native MPTCP connection opened into the dead primary never gets"
	echo "through: its SYNs follow the routing table). xmcp: policies/hcpe-failover.json (health defaults:"
	echo "probes every 500 ms, down after 2 lost, up after 3 answered, failover_ms 300) and policies/hag.json."
} >> "$md"
cat "$md"
