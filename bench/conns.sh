#!/usr/bin/env bash
# Connection rate and the memory an idle pair costs, in the unshaped lab,
# for each relay: direct (plain forwarding, the baseline), xmcp as HCPE and
# HAG (TCP <-> MPTCP <-> TCP), the HAG alone relaying TCP<->TCP
# (terminate_tcp), socat and haproxy (in the HAG's namespace). build/connrate
# (tests/tools/connrate.c) drives it:
#   - rate: 64 connections at a time for SECS seconds, each one byte each way
#     then closed; connections per second, ratio to direct;
#   - idle: N connections opened and held; the relay's memory growth (VmRSS
#     of every process in its namespaces) divided by the pairs that stood,
#     and the machine's TCP socket memory (/proc/net/sockstat "mem", pages,
#     client and server sockets included) likewise.
# N is bounded by the open-file hard limit (20000 on the machine this was
# written on, not raisable in its container): xmcp's splice relay holds six
# descriptors per pair (two sockets, two pipes), so 3000 pairs fit.
#
# Usage: bench/conns.sh SECS N OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

secs=$1 n=$2 md=$3 csv=$4
CR=build/connrate
bench_lab xc
for ns in "$LAB_H" "$LAB_HCPE" "$LAB_HAG" "$LAB_S"; do
	# thousands of short connections a second: ports are reused from TIME_WAIT
	ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65000"
done
# a server port per relay: the last run's TIME_WAIT sockets (tens of thousands at the
# client) then never collide with the next run's connections
servers=()
for port in 7100 7110 7120 7130 7140; do
	nsenter --net=/run/netns/$LAB_S $CR serve 10.4.0.2 $port > /dev/null 2>&1 &
	servers+=($!)
done
sleep 0.3

# rss_kb NS...: VmRSS of every process in those namespaces, in kB
rss_kb() {
	local ns p t=0
	for ns in "$@"; do
		for p in $(ip netns pids "$ns"); do
			t=$((t + $(awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
		done
	done
	echo "$t"
}
# settle NS...: until the number of processes there holds still (socat's children exit late)
settle() {
	local before after ns
	for _ in $(seq 40); do
		before=0; for ns in "$@"; do before=$((before + $(ip netns pids "$ns" | wc -l))); done
		sleep 0.5
		after=0; for ns in "$@"; do after=$((after + $(ip netns pids "$ns" | wc -l))); done
		[ "$before" = "$after" ] && return 0
	done
}
tcp_mem_pages() { awk '/^TCP:/ { for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1) }' /proc/net/sockstat; }

# run LABEL HOST PORT NS...: the rate, then N idle pairs; one csv line
run() {
	local label=$1 host=$2 port=$3 rate r0 k0 stood r1 k1 holder
	shift 3
	rate=$(nsenter --net=/run/netns/$LAB_H $CR rate "$host" "$port" "$secs" 64)
	sleep 1 # let the short connections' pairs go
	settle "$@"
	r0=$(rss_kb "$@") k0=$(tcp_mem_pages)
	nsenter --net=/run/netns/$LAB_H $CR hold "$host" "$port" "$n" 5 > "$work/hold" &
	holder=$!
	for _ in $(seq 600); do [ -s "$work/hold" ] && break; sleep 0.1; done
	settle "$@"
	stood=$(cat "$work/hold")
	r1=$(rss_kb "$@") k1=$(tcp_mem_pages)
	wait "$holder"
	echo "$label,$rate,$stood,$(( r1 - r0 )),$(( (k1 - k0) * 4 ))" >> "$work/rows"
}

run direct 10.4.0.2 7100
run_daemon "$LAB_HCPE" policies/hcpe.json hcpe
run_daemon "$LAB_HAG" policies/hag.json hag
run xmcp 10.4.0.2 7110 "$LAB_HCPE" "$LAB_HAG"
stop
jq '.terminate_tcp = true' policies/hag.json > "$work/hag.json"
run_daemon "$LAB_HAG" "$work/hag.json" hag
run tcp_relay 10.4.0.2 7120 "$LAB_HAG"
stop
nsenter --net=/run/netns/$LAB_HAG socat TCP-LISTEN:7101,bind=10.2.0.2,reuseaddr,fork,backlog=4096 \
	TCP:10.4.0.2:7130 > /dev/null 2>&1 &
pids+=($!)
sleep 0.3
run socat 10.2.0.2 7101 "$LAB_HAG"
stop
cat > "$work/haproxy.cfg" <<CFG
global
    maxconn 7000
defaults
    mode tcp
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    option splice-auto
listen relay
    bind 10.2.0.2:7102
    server s 10.4.0.2:7140
CFG
# haproxy sizes its descriptors from maxconn (2 per connection and some): it must fit the hard limit
nsenter --net=/run/netns/$LAB_HAG haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
pids+=($!)
sleep 0.5
run haproxy 10.2.0.2 7102 "$LAB_HAG"
stop
kill "${servers[@]}"

base=$(awk -F, '$1 == "direct" { print $2 }' "$work/rows")
{
	echo "## Connection rate and idle pairs (unshaped veth)"
	echo
	echo "| relay | connections/s | ratio to direct | idle pairs held | relay memory per pair | TCP socket memory per pair |"
	echo "|---|---:|---:|---:|---:|---:|"
} > "$md"
echo "relay,conn_per_s,ratio,pairs,relay_kb_growth,relay_bytes_per_pair,tcp_mem_bytes_per_pair" > "$csv"
while IFS=, read -r l rate stood rkb kkb; do
	awk -v l="$l" -v r="$rate" -v b="$base" -v s="$stood" -v rk="$rkb" -v kk="$kkb" -v md="$md" -v csv="$csv" 'BEGIN {
		ratio = b > 0 ? r / b : 0; per = s > 0 ? rk * 1024 / s : 0; kper = s > 0 ? kk * 1024 / s : 0
		rel = l == "direct" ? "-" : sprintf("%.0f B", per)
		printf "| %s | %d | %.2fx | %d | %s | %.0f B |\n", l, r, ratio, s, rel, kper >> md
		printf "%s,%d,%.2f,%d,%d,%.0f,%.0f\n", l, r, ratio, s, rk, per, kper >> csv }'
done < "$work/rows"
{
	echo
	echo "rate: build/connrate, 64 at a time for $secs s, one byte each way, client closes. idle: $n connections"
	echo "opened and held; relay memory = VmRSS growth of every process in the relay's namespaces (xmcp: HCPE"
	echo "and HAG together; socat forks a process per connection) over the pairs that stood; TCP socket"
	echo "memory = the machine's /proc/net/sockstat growth over the same pairs (client and server sockets too)."
} >> "$md"
cat "$md"
