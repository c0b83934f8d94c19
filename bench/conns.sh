#!/usr/bin/env bash
# Connection rate and the memory an idle pair costs, in the unshaped lab,
# for each relay: direct (plain forwarding, the baseline), xmcp as HCPE and
# HAG (TCP <-> MPTCP <-> TCP), the HAG alone relaying TCP<->TCP
# (terminate_tcp), socat and haproxy (in the HAG's namespace). build/connrate
# (tests/tools/connrate.c) drives it:
#   - rate: 64 connections at a time for SECS seconds, each one byte each way
#     then closed; connections per second (median of RUNS runs, min, max),
#     ratio to direct; the relay's CPU per connection in each run (median,
#     min, max): its processes' user + system time, plus for xmcp the time its
#     XDP and tc programs ran (BPF run-time statistics: softirq time no
#     process is charged with);
#   - idle: N connections opened (256 handshakes at a time) and held; the
#     relay's memory growth (the proportional set size, Pss, of every process
#     in its namespaces: socat's forked children share their parent's pages)
#     divided by the pairs that stood (one byte each way through the relay),
#     and the kernel's memory charged to the lab's TCP and MPTCP sockets (ss
#     skmem, client and server sockets included) likewise, and the kernel's slab
#     (the socket structures: machine-wide, so other work on the machine is in
#     it too). One hold per relay.
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
bpf_stats_on
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
lab_sock_mem() { sock_mem_bytes "$LAB_H" "$LAB_HCPE" "$LAB_HAG" "$LAB_S"; }
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }

# rate_runs HOST PORT NS...: RUNS rate runs; per line the connections per second, the
# relay's CPU µs per connection in that run (processes in NS..., and the BPF programs
# attached there), and of it the BPF programs' µs; "-" without NS
rate_runs() {
	local host=$1 port=$2 t0 b0 rate
	shift 2
	for _ in $(seq "$runs"); do
		t0=$(cpu_ticks $(ns_pids "$@")) b0=$(bpf_ns "$@")
		rate=$(nsenter --net=/run/netns/$LAB_H $CR rate "$host" "$port" "$secs" 64)
		awk -v r="$rate" -v s="$secs" -v n=$# -v hz="$(getconf CLK_TCK)" \
			-v t="$(( $(cpu_ticks $(ns_pids "$@")) - t0 ))" -v bpf="$(( $(bpf_ns "$@") - b0 ))" \
			'BEGIN {
				c = r * s
				if (n == 0 || c == 0) print r, "-", "-"
				else printf "%d %.1f %.1f\n", r, (t / hz + bpf / 1e9) * 1e6 / c, bpf / 1e3 / c
			}'
	done
}

# fresh: drop the TIME_WAIT sockets the relays before left (tens of thousands after a
# rate test): the ports they hold slowed the next relay's connects (haproxy: 3200/s after
# xmcp's runs, 11000-13000/s first)
fresh() {
	local ns
	for ns in "$LAB_H" "$LAB_HCPE" "$LAB_HAG" "$LAB_S"; do
		ss -N "$ns" -K -t state time-wait > /dev/null
	done
}

# spread COLUMN FILE: "median min max" of that column
spread() {
	awk -v c="$1" '{ print $c }' "$2" | sort -g |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'
}

# run LABEL HOST PORT N NS...: the rate, then N idle pairs; one csv line
run() {
	local label=$1 host=$2 port=$3 n=$4 rate cpu bpf r0 k0 s0 stood r1 k1 s1 holder
	shift 4
	fresh
	rate_runs "$host" "$port" "$@" > "$work/rates"
	rate=$(spread 1 "$work/rates") cpu=$(spread 2 "$work/rates") bpf=$(spread 3 "$work/rates")
	[ $# -gt 0 ] || cpu="- - -" bpf=-
	sleep 1 # let the short connections' pairs go
	settle "$@"
	r0=$(pss_kb "$@") k0=$(lab_sock_mem) s0=$(slab_kb)
	nsenter --net=/run/netns/$LAB_H $CR hold "$host" "$port" "$n" 600 > "$work/hold" &
	holder=$!
	for _ in $(seq 1300); do [ -s "$work/hold" ] && break; sleep 0.1; done
	settle "$@"
	stood=$(cat "$work/hold")
	r1=$(pss_kb "$@") k1=$(lab_sock_mem) s1=$(slab_kb)
	kill "$holder"
	wait "$holder" || true
	echo "$label,${rate// /,},${cpu// /,},${bpf%% *},$n,$stood,$(( r1 - r0 )),$(( k1 - k0 )),$(( s1 - s0 ))" >> "$work/rows"
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
# haproxy with as many threads as xmcp has relay workers (its default: one per CPU)
cat > "$work/haproxy.cfg" <<CFG
global
    nbthread $(nproc)
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
	bench_header "$csv" "$(bench_cc_name)" "$runs" \
		"rate and CPU $(bench_figures "$runs" run "of $secs s"); memory from 1 hold of up to $n idle pairs per relay: a single measurement"
	echo
	echo "| relay | connections/s median (min-max) | ratio to direct | relay CPU µs per connection | idle pairs held (of) | relay memory per pair | kernel socket memory per pair |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
} > "$md"
echo "relay,conn_per_s,conn_min,conn_max,ratio,cpu_us_per_conn,cpu_min,cpu_max,bpf_us_per_conn,tried,pairs,relay_kb_growth,relay_bytes_per_pair,sock_mem_bytes_per_pair,slab_bytes_per_pair" > "$csv"
slab_rows=()
while IFS=, read -r l rate lo hi cpu cl ch bpf tried stood rkb kb skb; do
	awk -v l="$l" -v r="$rate" -v lo="$lo" -v hi="$hi" -v c="$cpu" -v cl="$cl" -v ch="$ch" -v bpf="$bpf" -v b="$base" \
		-v t="$tried" -v s="$stood" -v rk="$rkb" -v kb="$kb" -v sk="$skb" -v md="$md" -v csv="$csv" 'BEGIN {
		ratio = b > 0 ? r / b : 0; per = s > 0 ? rk * 1024 / s : 0; kper = s > 0 ? kb / s : 0
		sper = s > 0 ? sk * 1024 / s : 0
		rel = l == "direct" ? "-" : sprintf("%.0f B", per)
		printf "| %s | %d (%d-%d) | %.2fx | %s | %d (%d) | %s | %.0f B |\n", l, r, lo, hi, ratio, c, s, t, rel, kper >> md
		printf "%s,%d,%d,%d,%.2f,%s,%s,%s,%s,%d,%d,%d,%.0f,%.0f,%.0f\n", l, r, lo, hi, ratio, c, cl, ch, bpf, t, s, rk, per, kper, sper >> csv }'
	slab_rows+=("| $l | $stood | $(awk -v k="$skb" -v s="$stood" 'BEGIN { printf "%.0f", (s > 0 ? k * 1024 / s : 0) }') B |")
done < "$work/rows"
{
	echo
	echo "rate: build/connrate, 64 at a time for $secs s, one byte each way, client closes; $runs runs."
	echo "xmcp runs its default relay workers (one per CPU: $(nproc)), haproxy as many threads (nbthread)."
	echo "Relay CPU per connection, in each run: user + system time of the relay's processes, plus the"
	echo "time xmcp's XDP and tc programs ran (BPF run-time statistics, on for the whole run: their"
	echo "clock reads are in xmcp's figures), mostly softirq time that no process is charged with;"
	echo "median (min-max), and the programs' part (bpf_us_per_conn), in conns.csv. Not in any relay's"
	echo "figure: the kernel's TCP/IP work for its sockets done in softirq outside the process."
	echo "idle: up to $n connections opened, 256 handshakes at a time, and held; relay memory = growth"
	echo "of the proportional set size (Pss) of every process in the relay's namespaces (xmcp: HCPE and"
	echo "HAG together; socat: its forked children, at most 1000) over the pairs that stood; kernel"
	echo "socket memory = growth of the memory charged to the TCP and MPTCP sockets of the lab's"
	echo "namespaces (ss skmem r + w + f + o: queued data and forward allocation, which counts against"
	echo "net.ipv4.tcp_mem; client and server sockets too, as the direct row shows) over the same pairs."
	echo "10,000 pairs do not fit here: a pair holds two sockets in one relay process, and the"
	echo "open-file hard limit is $(ulimit -Hn)."
	echo
	echo "The socket structures themselves: the growth of the kernel's slab (/proc/meminfo Slab) over"
	echo "the same pairs. Machine-wide: whatever else ran on the machine meanwhile is in it too."
	echo
	echo "| relay | idle pairs | kernel slab per pair |"
	echo "|---|---:|---:|"
	printf '%s\n' "${slab_rows[@]}"
} >> "$md"
cat "$md"
