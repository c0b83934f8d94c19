#!/usr/bin/env bash
# Relay throughput in the unshaped hybrid-access lab (tests/lib/lab.bash),
# xmcp and its peers in one run, each direction (up: H -> S, down: S -> H),
# grouped by what the relay converts, each row against its group's baseline:
#
#   direct         plain IP forwarding through the same namespaces (TCP ceiling)
#   direct_mptcp   MPTCP end to end, iperf3 under mptcpize at H and S (MPTCP ceiling)
#   tcp-tcp        the HAG alone terminating H's plain TCP (terminate_tcp), socat,
#                  haproxy: against direct
#   tcp-mptcp      H's TCP to an MPTCP server: xmcp as HCPE alone, socat and haproxy
#                  under mptcpize in the HCPE's namespace: against direct_mptcp
#   mptcp-tcp      H's MPTCP (mptcpize) to a TCP server: xmcp as HAG alone, socat and
#                  haproxy under mptcpize in the HAG's namespace: against direct_mptcp
#   chain          HCPE + HAG, TCP <-> MPTCP <-> TCP over both paths: against direct;
#                  once more with generic and with native XDP (the others run the
#                  policy's default, xdp_mode auto: the classifier at tc on veth);
#                  and the OpenMPTCProuter way: shadowsocks-libev's ss-tunnel on
#                  the HCPE -> ss-server on the HAG, aes-256-gcm, under mptcpize,
#                  over both paths (the HAG announces its lte address)
#   chain8         the same chain with 8 iperf3 flows at once (-P 8), xmcp with
#                  1 and with 2 relay workers per daemon (policy "workers") and
#                  shadowsocks: against direct routing with 8 flows
#
# xmcp runs each relay mode it has (splice, copy; sockmap is refused on this
# kernel: docs/policy.md). Native XDP on a veth makes the kernel turn
# segmentation offload off on the peer device (veth_fix_features), and
# generic XDP copies every GRO packet (docs/kernels.md): the
# chain_xmcp_generic and chain_xmcp_native rows show what auto avoids.
#
# iperf3 -t SECS, RUNS runs each; the median with min and max in Gbit/s, the
# ratio to the group's baseline, and the relay's CPU per GB moved up: its
# processes' user + system seconds (children reaped by it included), plus for
# xmcp the time its XDP and tc programs ran (BPF run-time statistics), most of
# it softirq time that no process is charged with. The kernel's TCP/IP work for
# the relay's sockets done in softirq outside the process is in no relay's
# figure.
#
# Usage: bench/relay.sh SECS RUNS OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

secs=$1 runs=$2 md=$3 csv=$4
bench_lab xb
bpf_stats_on
# an MPTCP server for direct_mptcp beside the TCP one
nsenter --net=/run/netns/$LAB_S mptcpize run iperf3 -s -B 10.4.0.2 -p 5202 -D --pidfile "$work/iperf-mptcp.pid"
sleep 0.3

# measure LABEL HOST PORT [iperf3 prefix...]: RUNS runs each way; Gbit/s per line into
# $work/LABEL.up and .down, and (if $relay_pids is set) CPU s/GB up into $work/LABEL.cpu,
# of which xmcp's BPF programs (0 for the other relays: xmcp is stopped, its programs gone)
# into $work/LABEL.bpf
measure() {
	local label=$1 host=$2 port=$3 i dir t0 b0 json
	shift 3
	for i in $(seq "$runs"); do
		for dir in up down; do
			if [ -n "${relay_pids:-}" ]; then
				t0=$(cpu_ticks $relay_pids) b0=$(bpf_ns "$LAB_HCPE" "$LAB_HAG")
			fi
			json=$(nsenter --net=/run/netns/$LAB_H "$@" iperf3 -c "$host" -p "$port" -t "$secs" \
				-P "${FLOWS:-1}" $([ $dir = down ] && echo -R) -J)
			jq '.end.sum_received.bits_per_second / 1e9' <<< "$json" >> "$work/$label.$dir"
			if [ -n "${relay_pids:-}" ] && [ $dir = up ]; then
				awk -v t="$(( $(cpu_ticks $relay_pids) - t0 ))" -v hz="$(getconf CLK_TCK)" \
					-v bpf="$(( $(bpf_ns "$LAB_HCPE" "$LAB_HAG") - b0 ))" \
					-v b="$(jq '.end.sum_received.bytes' <<< "$json")" -v f="$work/$label" \
					'BEGIN {
						gb = b / 1e9
						printf "%.3f\n", (t / hz + bpf / 1e9) / gb >> (f ".cpu")
						printf "%.3f\n", bpf / 1e9 / gb >> (f ".bpf")
					}'
			fi
		done
	done
}

# xmcp ROLE RELAY [XDP_MODE [WORKERS]]: xmcp as ROLE in its namespace; ROLE hcpe, hag, or
# hag_tcp: the HAG terminating plain TCP too; WORKERS 0 (the default): one per CPU
xmcp() {
	local role=$1 ns=$LAB_HCPE policy=$1 extra=.
	[ "$role" = hcpe ] || ns=$LAB_HAG
	[ "$role" = hag_tcp ] && policy=hag extra='.terminate_tcp = true'
	jq --arg r "$2" --arg x "${3:-auto}" --argjson w "${4:-0}" \
		".relay = \$r | .xdp_mode = \$x | .workers = \$w | $extra" \
		policies/$policy.json > "$work/$role.json"
	run_daemon "$ns" "$work/$role.json" "$role"
}

# peer socat|haproxy NS LISTEN_ADDR PORT TARGET_PORT [mptcpize]: a peer relay in NS to S
peer() {
	local kind=$1 ns=$2 addr=$3 port=$4 target=$5 wrap=()
	[ "${6:-}" = mptcpize ] && wrap=(mptcpize run)
	case $kind in
	socat)
		nsenter --net=/run/netns/$ns "${wrap[@]}" socat \
			TCP-LISTEN:$port,bind=$addr,reuseaddr,fork TCP:10.4.0.2:$target > "$work/socat.log" 2>&1 &
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
			    bind $addr:$port
			    server s 10.4.0.2:$target
		CFG
		nsenter --net=/run/netns/$ns "${wrap[@]}" haproxy -db -f "$work/haproxy.cfg" > "$work/haproxy.log" 2>&1 &
		;;
	esac
	pids+=($!)
	for _ in $(seq 50); do
		ss -N "$ns" -tln | grep -q "$addr:$port " && return 0
		sleep 0.1
	done
	echo "bench/relay.sh: $kind did not listen:" >&2
	cat "$work/$kind.log" >&2
	exit 1
}

# ss_chain: shadowsocks-libev between HCPE and HAG over MPTCP on both paths
# (the HAG announces its lte address, the HCPE joins it), ss-tunnel on the
# HCPE at 10.1.0.1:5310 for S's iperf3; ss_chain_down takes the endpoints away
ss_chain() {
	local k=xmcp-bench-$RANDOM
	# put back by ss_chain_down: the xmcp rows after this set their own
	ss_limits_hag=$(ip -n "$LAB_HAG" mptcp limits show) ss_limits_hcpe=$(ip -n "$LAB_HCPE" mptcp limits show)
	ip -n "$LAB_HAG" mptcp limits set subflows 2 add_addr_accepted 0
	ip -n "$LAB_HCPE" mptcp limits set subflows 2 add_addr_accepted 2
	ip -n "$LAB_HAG" mptcp endpoint add 10.3.0.2 dev lte signal
	nsenter --net=/run/netns/$LAB_HAG mptcpize run ss-server -s 0.0.0.0 -p 8388 -k "$k" \
		-m aes-256-gcm > "$work/ss-server.log" 2>&1 &
	pids+=($!)
	nsenter --net=/run/netns/$LAB_HCPE mptcpize run ss-tunnel -s 10.2.0.2 -p 8388 -b 10.1.0.1 -l 5310 \
		-k "$k" -m aes-256-gcm -L 10.4.0.2:5201 > "$work/ss-tunnel.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 50); do
		ss -N "$LAB_HCPE" -tln | grep -q "10.1.0.1:5310 " && ss -N "$LAB_HAG" -tln | grep -q ":8388 " && return 0
		sleep 0.1
	done
	echo "bench/relay.sh: shadowsocks did not listen:" >&2
	cat "$work/ss-server.log" "$work/ss-tunnel.log" >&2
	exit 1
}
ss_chain_down() {
	ip -n "$LAB_HAG" mptcp endpoint flush
	# ("add_addr_accepted N subflows M", as show prints them)
	ip -n "$LAB_HCPE" mptcp limits set $ss_limits_hcpe
	ip -n "$LAB_HAG" mptcp limits set $ss_limits_hag
}

# each row: LABEL GROUP BASELINE, in the order measured
rows=()
row() { rows+=("$1 $2 $3"); }
# bench_xmcp GROUP BASELINE PORT CLIENT_WRAP ROLE...: xmcp as the roles, both relay modes
bench_xmcp() {
	local group=$1 base=$2 port=$3 wrap=$4 mode role label=${1}_xmcp
	shift 4
	for mode in splice copy; do
		for role in "$@"; do xmcp "$role" $mode; done
		relay_pids="${pids[*]}" measure "${label}_$mode" 10.4.0.2 "$port" $wrap
		stop
		row "${label}_$mode" "$group" "$base"
	done
}
# bench_peers GROUP BASELINE NS ADDR TARGET CLIENT_WRAP [mptcpize]: socat and haproxy there
bench_peers() {
	local group=$1 base=$2 ns=$3 addr=$4 target=$5 wrap=$6 kind port=5300
	for kind in socat haproxy; do
		port=$((port + 1))
		peer $kind "$ns" "$addr" $port "$target" "${7:-}"
		relay_pids="${pids[*]}" measure "${group}_$kind" "$addr" $port $wrap
		stop
		row "${group}_$kind" "$group" "$base"
	done
}

measure direct 10.4.0.2 5201
row direct baseline direct
measure direct_mptcp 10.4.0.2 5202 mptcpize run
row direct_mptcp baseline direct

bench_xmcp tcp-tcp direct 5201 "" hag_tcp
bench_peers tcp-tcp direct "$LAB_HAG" 10.2.0.2 5201 ""
bench_xmcp tcp-mptcp direct_mptcp 5202 "" hcpe
bench_peers tcp-mptcp direct_mptcp "$LAB_HCPE" 10.1.0.1 5202 "" mptcpize
bench_xmcp mptcp-tcp direct_mptcp 5201 "mptcpize run" hag
bench_peers mptcp-tcp direct_mptcp "$LAB_HAG" 10.2.0.2 5201 "mptcpize run" mptcpize
bench_xmcp chain direct 5201 "" hcpe hag
for x in generic native; do
	xmcp hcpe splice $x
	xmcp hag splice $x
	relay_pids="${pids[*]}" measure chain_xmcp_$x 10.4.0.2 5201
	stop
	row chain_xmcp_$x chain direct
done
ss_chain
relay_pids="${pids[*]}" measure chain_shadowsocks 10.1.0.1 5310
row chain_shadowsocks chain direct
FLOWS=8 relay_pids="${pids[*]}" measure chain8_shadowsocks 10.1.0.1 5310
stop
ss_chain_down
FLOWS=8 measure chain8_direct 10.4.0.2 5201
row chain8_direct baseline chain8_direct
# one relay worker per daemon, then two (the default on this 2-CPU machine: one per CPU)
for w in 1 2; do
	xmcp hcpe splice auto $w
	xmcp hag splice auto $w
	FLOWS=8 relay_pids="${pids[*]}" measure chain8_xmcp_w$w 10.4.0.2 5201
	stop
	row chain8_xmcp_w$w chain8 chain8_direct
done
row chain8_shadowsocks chain8 chain8_direct
kill "$(cat "$work/iperf-mptcp.pid")" 2>/dev/null || true
cc=$(bench_cc_name)

# stats FILE -> "median min max"
stats() { sort -g "$1" | awk '{ v[NR] = $1 } END { printf "%.2f %.2f %.2f", v[int((NR + 1) / 2)], v[1], v[NR] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
{
	echo "## Relay throughput, unshaped veth (H -> S up, S -> H down)"
	echo
	bench_header "$csv" "$cc" "$runs" "$(bench_figures "$runs" run "of $secs s each way")"
	echo
	echo "| path | converts | up Gbit/s median (min-max) | up ratio | down Gbit/s median (min-max) | down ratio | against | relay CPU s/GB (up) |"
	echo "|---|---|---:|---:|---:|---:|---|---:|"
} > "$md"
echo "path,group,up_gbps,up_min,up_max,up_ratio,down_gbps,down_min,down_max,down_ratio,baseline,cpu_s_per_gb,cpu_min,cpu_max,bpf_s_per_gb" > "$csv"
cpu_rows=()
for r in "${rows[@]}"; do
	read -r l group base <<< "$r"
	read -r um ul uh <<< "$(stats "$work/$l.up")"
	read -r dm dl dh <<< "$(stats "$work/$l.down")"
	read -r bu _ _ <<< "$(stats "$work/$base.up")"
	read -r bd _ _ <<< "$(stats "$work/$base.down")"
	cpu=- cl=- ch=- bpf=-
	if [ -s "$work/$l.cpu" ]; then
		read -r cpu cl ch <<< "$(stats "$work/$l.cpu")"
		read -r bpf _ _ <<< "$(stats "$work/$l.bpf")"
		cpu_rows+=("| $l | $cpu ($cl-$ch) | $bpf |")
	fi
	echo "| $l | $group | $um ($ul-$uh) | $(ratio "$um" "$bu")x | $dm ($dl-$dh) | $(ratio "$dm" "$bd")x | $base | $cpu |" >> "$md"
	echo "$l,$group,$um,$ul,$uh,$(ratio "$um" "$bu"),$dm,$dl,$dh,$(ratio "$dm" "$bd"),$base,$cpu,$cl,$ch,$bpf" >> "$csv"
done
{
	echo
	echo "iperf3 -t $secs, $runs runs each way. socat and haproxy are not transparent (H connects to them;"
	echo "under mptcpize where a leg is MPTCP), nor is shadowsocks (H connects to ss-tunnel on the HCPE,"
	echo "aes-256-gcm to ss-server on the HAG over MPTCP on both paths); xmcp is (S sees H's address). xmcp"
	echo "with its default xdp_mode (auto: the classifier at tc on veth) but chain_xmcp_generic and"
	echo "chain_xmcp_native; chain8 rows: 8 flows at once, chain8_xmcp_wN with N relay workers per daemon. Relay CPU: user + system seconds of the relaying processes per GB moved up"
	echo "(chain: HCPE and HAG together), plus the time xmcp's XDP and tc programs ran, from BPF run-time"
	echo "statistics (on for the whole run: the two clock reads per program run they cost are in xmcp's"
	echo "figures). Those programs run mostly in softirq, which no process is charged with. Not in any"
	echo "relay's figure: the kernel's TCP/IP work for its sockets done in softirq outside the process."
	echo
	echo "| path | relay CPU s/GB (up) median (min-max) | of which xmcp's XDP and tc programs (median) |"
	echo "|---|---:|---:|"
	printf '%s\n' "${cpu_rows[@]}"
} >> "$md"
cat "$md"
