#!/usr/bin/env bash
# Connection rate and the memory an idle pair costs, in the unshaped lab,
# for each relay: direct (plain forwarding, the baseline), xmcp as HCPE and
# HAG (TCP <-> MPTCP <-> TCP), the HAG alone relaying TCP<->TCP
# (terminate_tcp), socat and haproxy (in the HAG's namespace). build/connrate
# (tests/tools/connrate.c) drives it:
#   - rate: 64 connections at a time for SECS seconds, each one byte each way
#     then closed; connections per second (median of RUNS runs, min, max),
#     ratio to direct;
#   - idle: N connections opened (256 handshakes at a time) and held; the
#     relay's memory growth (the proportional set size, Pss, of every process
#     in its namespaces: socat's forked children share their parent's pages)
#     divided by the pairs that stood (one byte each way through the relay),
#     and the machine's TCP socket memory (/proc/net/sockstat "mem", pages,
#     client and server sockets included) likewise.
# N is bounded by the open-file hard limit, which a relay process cannot
# raise without CAP_SYS_RESOURCE (20000 on the machine this was written on):
# a pair holds two sockets (xmcp takes a pipe only while bytes sit in it),
# so 9900 rather than the issue's 10,000. haproxy's descriptors grow with
# maxconn and maxpipes, and socat forks a process per pair: it holds at
# most 1000.
#
# Usage: bench/conns.sh SECS RUNS N OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

secs=$1 runs=$2 n=$3 md=$4 csv=$5
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

# pss_kb NS...: the proportional set size of every process in those namespaces, in kB
pss_kb() {
	ns_pids "$@" | sed 's|.*|/proc/&/smaps_rollup|' |
		xargs -r awk '/^Pss:/ { t += $2 } END { print t + 0 }' 2>/dev/null | awk '{ t += $1 } END { print t + 0 }'
}
# settle NS...: until the number of processes there holds still (socat's children exit late)
settle() {
	local before after
	for _ in $(seq 40); do
		before=$(ns_pids "$@" | wc -l)
		sleep 0.5
		after=$(ns_pids "$@" | wc -l)
		[ "$before" = "$after" ] && return 0
	done
}
tcp_mem_pages() { awk '/^TCP:/ { for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1) }' /proc/net/sockstat; }

# fresh: drop the TIME_WAIT sockets the relays before left (tens of thousands after a
# rate test): the ports they hold slowed the next relay's connects (haproxy: 3200/s after
# xmcp's runs, 11000-13000/s first)
fresh() {
	local ns
	for ns in "$LAB_H" "$LAB_HCPE" "$LAB_HAG" "$LAB_S"; do
		ss -N "$ns" -K -t state time-wait > /dev/null
	done
}

# run LABEL HOST PORT N NS...: the rate, then N idle pairs; one csv line
run() {
	local label=$1 host=$2 port=$3 n=$4 rate r0 k0 stood r1 k1 holder t0 cpu
	shift 4
	fresh
	t0=$(cpu_ticks $(ns_pids "$@"))
	for _ in $(seq "$runs"); do
		nsenter --net=/run/netns/$LAB_H $CR rate "$host" "$port" "$secs" 64
	done | sort -n > "$work/rates"
	# the relay's user + system CPU per connection, over every run (connections = rate x secs)
	cpu=$(awk -v t="$(( $(cpu_ticks $(ns_pids "$@")) - t0 ))" -v hz="$(getconf CLK_TCK)" -v s="$secs" \
		'{ n += $1 * s } END { printf "%.1f", (n > 0 ? t / hz * 1e6 / n : 0) }' "$work/rates")
	rate=$(awk '{ v[NR] = $1 } END { printf "%d %d %d", v[int((NR + 1) / 2)], v[1], v[NR] }' "$work/rates")
	sleep 1 # let the short connections' pairs go
	settle "$@"
	r0=$(pss_kb "$@") k0=$(tcp_mem_pages)
	nsenter --net=/run/netns/$LAB_H $CR hold "$host" "$port" "$n" 600 > "$work/hold" &
	holder=$!
	for _ in $(seq 1300); do [ -s "$work/hold" ] && break; sleep 0.1; done
	settle "$@"
	stood=$(cat "$work/hold")
	r1=$(pss_kb "$@") k1=$(tcp_mem_pages)
	kill "$holder"
	wait "$holder" || true
	echo "$label,${rate// /,},$cpu,$n,$stood,$(( r1 - r0 )),$(( (k1 - k0) * 4 ))" >> "$work/rows"
}

run direct 10.4.0.2 7100 "$n"
run_daemon "$LAB_HCPE" policies/hcpe.json hcpe
run_daemon "$LAB_HAG" policies/hag.json hag
run xmcp 10.4.0.2 7110 "$n" "$LAB_HCPE" "$LAB_HAG"
stop
jq '.terminate_tcp = true' policies/hag.json > "$work/hag.json"
run_daemon "$LAB_HAG" "$work/hag.json" hag
run tcp_relay 10.4.0.2 7120 "$n" "$LAB_HAG"
stop
nsenter --net=/run/netns/$LAB_HAG socat TCP-LISTEN:7101,bind=10.2.0.2,reuseaddr,fork,backlog=4096 \
	TCP:10.4.0.2:7130 > /dev/null 2>&1 &
pids+=($!)
sleep 0.3
run socat 10.2.0.2 7101 $((n < 1000 ? n : 1000)) "$LAB_HAG"
stop
cat > "$work/haproxy.cfg" <<CFG
global
    maxconn $((n + 50))
    maxpipes 20
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
# haproxy sizes its descriptors from maxconn (2 per connection) and maxpipes (2 per
# pipe, maxconn / 4 by default): few pipes, so N pairs fit the hard limit
nsenter --net=/run/netns/$LAB_HAG haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
pids+=($!)
sleep 0.5
run haproxy 10.2.0.2 7102 "$n" "$LAB_HAG"
stop
kill "${servers[@]}"

base=$(awk -F, '$1 == "direct" { print $2 }' "$work/rows")
{
	echo "## Connection rate and idle pairs (unshaped veth)"
	echo
	echo "| relay | connections/s median (min-max) | ratio to direct | relay CPU µs per connection | idle pairs held (of) | relay memory per pair | TCP socket memory per pair |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
} > "$md"
echo "relay,conn_per_s,conn_min,conn_max,ratio,cpu_us_per_conn,tried,pairs,relay_kb_growth,relay_bytes_per_pair,tcp_mem_bytes_per_pair" > "$csv"
while IFS=, read -r l rate lo hi cpu tried stood rkb kkb; do
	awk -v l="$l" -v r="$rate" -v lo="$lo" -v hi="$hi" -v c="$cpu" -v b="$base" -v t="$tried" -v s="$stood" \
		-v rk="$rkb" -v kk="$kkb" -v md="$md" -v csv="$csv" 'BEGIN {
		ratio = b > 0 ? r / b : 0; per = s > 0 ? rk * 1024 / s : 0; kper = s > 0 ? kk * 1024 / s : 0
		rel = l == "direct" ? "-" : sprintf("%.0f B", per)
		cpu = l == "direct" ? "-" : c
		printf "| %s | %d (%d-%d) | %.2fx | %s | %d (%d) | %s | %.0f B |\n", l, r, lo, hi, ratio, cpu, s, t, rel, kper >> md
		printf "%s,%d,%d,%d,%.2f,%s,%d,%d,%d,%.0f,%.0f\n", l, r, lo, hi, ratio, c, t, s, rk, per, kper >> csv }'
done < "$work/rows"
{
	echo
	echo "rate: build/connrate, 64 at a time for $secs s, one byte each way, client closes; $runs runs; relay CPU:"
	echo "user + system time of the relay's processes over all runs per connection (softirq work outside"
	echo "them, XDP and tc included, is not in it). idle: up to $n"
	echo "connections opened, 256 handshakes at a time, and held; relay memory = growth of the proportional"
	echo "set size (Pss) of every process in the relay's namespaces (xmcp: HCPE and HAG together; socat: its"
	echo "forked children, at most 1000) over the pairs that stood; TCP socket memory = the machine's"
	echo "/proc/net/sockstat growth over the same pairs (client and server sockets too). 10,000 pairs do not"
	echo "fit here: a pair holds two sockets in one relay process, and the open-file hard limit is $(ulimit -Hn)."
} >> "$md"
cat "$md"
