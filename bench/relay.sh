#!/usr/bin/env bash
# Relay throughput in the unshaped hybrid-access lab (tests/lib/lab.bash),
# xmcp and its peers in one run, each direction (up: H -> S, down: S -> H):
#
#   direct        plain IP forwarding through the same namespaces (the ceiling)
#   direct_mptcp  MPTCP end to end, iperf3 under mptcpize at H and S
#   xmcp_splice, xmcp_copy        HCPE + HAG: TCP <-> MPTCP <-> TCP, by relay mode
#   tcp_relay_splice, _copy       the HAG alone terminating H's plain TCP
#                                 (terminate_tcp): one TCP<->TCP pair
#   socat         socat in the HAG's namespace, TCP<->TCP (fork per connection)
#   haproxy       Debian's haproxy in the HAG's namespace, mode tcp, splice-auto
#
# (sockmap is refused on this kernel: docs/policy.md.) iperf3 -t SECS, RUNS
# runs each; the median with min and max in Gbit/s, the ratio to direct, and
# the relay's CPU: its processes' user + system seconds (children reaped by
# it included) per GB moved, up. Kernel work done in softirq outside the
# process is not in that figure.
#
# Usage: bench/relay.sh SECS RUNS OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

secs=$1 runs=$2 md=$3 csv=$4
bench_lab xb
# an MPTCP server for direct_mptcp beside the TCP one
nsenter --net=/run/netns/$LAB_S mptcpize run iperf3 -s -B 10.4.0.2 -p 5202 -D --pidfile "$work/iperf-mptcp.pid"
sleep 0.3

# cpu_ticks PID...: user + system clock ticks of the processes and their reaped children
cpu_ticks() {
	local p t=0
	for p in "$@"; do
		t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$p/stat")))
	done
	echo "$t"
}

# measure LABEL HOST PORT [iperf3 prefix...]: RUNS runs each way; Gbit/s per line into
# $work/LABEL.up and .down, and (if $relay_pids is set) CPU s/GB up into $work/LABEL.cpu
measure() {
	local label=$1 host=$2 port=$3 i dir t0 json
	shift 3
	for i in $(seq "$runs"); do
		for dir in up down; do
			[ -n "${relay_pids:-}" ] && t0=$(cpu_ticks $relay_pids)
			json=$(nsenter --net=/run/netns/$LAB_H "$@" iperf3 -c "$host" -p "$port" -t "$secs" \
				$([ $dir = down ] && echo -R) -J)
			jq '.end.sum_received.bits_per_second / 1e9' <<< "$json" >> "$work/$label.$dir"
			if [ -n "${relay_pids:-}" ] && [ $dir = up ]; then
				awk -v t="$(( $(cpu_ticks $relay_pids) - t0 ))" -v hz="$(getconf CLK_TCK)" \
					-v b="$(jq '.end.sum_received.bytes' <<< "$json")" \
					'BEGIN { printf "%.3f\n", (t / hz) / (b / 1e9) }' >> "$work/$label.cpu"
			fi
		done
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

# start_hag_tcp RELAY: only the HAG, terminating plain TCP too (generic XDP, as first measured)
start_hag_tcp() {
	jq --arg r "$1" '.relay = $r | .terminate_tcp = true | .xdp_mode = "generic"' \
		policies/hag.json > "$work/hag.json"
	run_daemon "$LAB_HAG" "$work/hag.json" hag
}

# A peer relay in the HAG's namespace on 10.2.0.2:PORT (H reaches it over dsl) to S
start_peer() {
	local port=$2
	case $1 in
	socat)
		nsenter --net=/run/netns/$LAB_HAG socat TCP-LISTEN:$port,bind=10.2.0.2,reuseaddr,fork \
			TCP:10.4.0.2:5201 > "$work/socat.log" 2>&1 &
		;;
	haproxy)
		cat > "$work/haproxy.cfg" <<-CFG
			global
			    maxconn 4096
			defaults
			    mode tcp
			    timeout connect 5s
			    timeout client 60s
			    timeout server 60s
			    option splice-auto
			listen relay
			    bind 10.2.0.2:$port
			    server s 10.4.0.2:5201
		CFG
		nsenter --net=/run/netns/$LAB_HAG haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
		;;
	esac
	pids+=($!)
	for _ in $(seq 50); do
		ss -N "$LAB_HAG" -tln | grep -q "10.2.0.2:$port " && return 0
		sleep 0.1
	done
	echo "bench/relay.sh: $1 did not listen:" >&2
	cat "$work/$1.log" >&2
	exit 1
}

measure direct 10.4.0.2 5201
measure direct_mptcp 10.4.0.2 5202 mptcpize run
for mode in splice copy; do
	start_xmcp $mode
	relay_pids="${pids[*]}" measure "xmcp_$mode" 10.4.0.2 5201
	stop
done
for mode in splice copy; do
	start_hag_tcp $mode
	relay_pids="${pids[*]}" measure "tcp_relay_$mode" 10.4.0.2 5201
	stop
done
start_peer socat 5301
relay_pids="${pids[*]}" measure socat 10.2.0.2 5301
stop
start_peer haproxy 5302
relay_pids="${pids[*]}" measure haproxy 10.2.0.2 5302
stop
kill "$(cat "$work/iperf-mptcp.pid")" 2>/dev/null || true

# stats FILE -> "median min max"
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
read -r base_up _ _ <<< "$(stats "$work/direct.up")"
read -r base_down _ _ <<< "$(stats "$work/direct.down")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
{
	echo "## Relay throughput, unshaped veth (H -> S up, S -> H down)"
	echo
	echo "$(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) CPUs"
	echo
	echo "| path | up Gbit/s median (min-max) | up ratio | down Gbit/s median (min-max) | down ratio | relay CPU s/GB (up) |"
	echo "|---|---:|---:|---:|---:|---:|"
} > "$md"
echo "path,up_gbps,up_min,up_max,up_ratio,down_gbps,down_min,down_max,down_ratio,cpu_s_per_gb" > "$csv"
for l in direct direct_mptcp xmcp_splice xmcp_copy tcp_relay_splice tcp_relay_copy socat haproxy; do
	read -r um ul uh <<< "$(stats "$work/$l.up")"
	read -r dm dl dh <<< "$(stats "$work/$l.down")"
	cpu=-
	[ -s "$work/$l.cpu" ] && read -r cpu _ _ <<< "$(stats "$work/$l.cpu")"
	echo "| $l | $um ($ul-$uh) | $(ratio "$um" "$base_up")x | $dm ($dl-$dh) | $(ratio "$dm" "$base_down")x | $cpu |" >> "$md"
	echo "$l,$um,$ul,$uh,$(ratio "$um" "$base_up"),$dm,$dl,$dh,$(ratio "$dm" "$base_down"),$cpu" >> "$csv"
done
{
	echo
	echo "iperf3 -t $secs, $runs runs each way. socat and haproxy are not transparent (H connects to them);"
	echo "xmcp is (S sees H's address). Relay CPU: user + system seconds of the relaying processes per GB"
	echo "moved up (xmcp_*: HCPE and HAG together)."
} >> "$md"
cat "$md"
