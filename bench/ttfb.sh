#!/usr/bin/env bash
# Time to first byte through xmcp, against a direct connection and a SOCKS5
# proxy over MPTCP, in one run over the same paths: the lab of
# tests/lib/lab.bash with DELAY ms each way on dsl and lte (no rate limit).
#
#   direct        H -> S, plain TCP, HCPE and HAG only route
#   socks         H -> microsocks (made MPTCP with mptcpize) in the HAG namespace -> S
#   xmcp_offpath  H -> HCPE (off-path mode) -> MCP in the HAG namespace -> S
#   xmcp_hybrid   H -> HCPE -> HAG -> S, the hybrid-access roles (transparent)
#
# The client (tests/tools/ttfb.py) connects, sends a request line and waits
# for the first byte of the answer; RUNS runs each. The draft's claim is zero
# added round trips: the table gives the added time in RTTs, the RTT being
# the median TCP handshake between H and S measured in the same run.
#
# Usage: bench/ttfb.sh RUNS DELAY_MS OUT.md OUT.csv
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/lab.bash
. bench/lib.bash

runs=$1 delay=$2 md=$3 csv=$4
tag="xt$(printf '%04x' $RANDOM)"
work=$(mktemp -d)
PY=/usr/bin/python3
T=tests/tools/ttfb.py

cleanup() {
	set +e
	stop
	[ -n "${server:-}" ] && kill "$server" 2>/dev/null
	lab_down
	rm -rf "$work" "$BENCH_PINS"-ttfb-*
	[ -n "${bench_allowed_cc:-}" ] && echo "$bench_allowed_cc" > /proc/sys/net/ipv4/tcp_allowed_congestion_control
}
trap cleanup EXIT

LAB_DSL_DELAY=$delay LAB_LTE_DELAY=$delay lab_up "$tag"
bench_cc
nsenter --net=/run/netns/$LAB_S $PY $T serve 10.4.0.2 8100 &
server=$!
sleep 0.5
in_h() { nsenter --net=/run/netns/$LAB_H "$@"; }

in_h $PY $T rtt 10.4.0.2 8100 "$runs" > "$work/rtt"
in_h $PY $T direct 10.4.0.2 8100 "$runs" > "$work/direct"

nsenter --net=/run/netns/$LAB_HAG mptcpize run microsocks -i 10.2.0.2 -p 1080 > "$work/socks.log" 2>&1 &
pids+=($!)
sleep 0.5
in_h $PY $T socks 10.2.0.2 1080 10.4.0.2 8100 "$runs" > "$work/socks"
stop

run_daemon "$LAB_HAG" policies/mcp.json ttfb-mcp
run_daemon "$LAB_HCPE" policies/hcpe-offpath.json ttfb-hcpe
in_h $PY $T direct 10.4.0.2 8100 "$runs" > "$work/xmcp_offpath"
stop
grep -q "mcp: $runs converted" "$work/ttfb-mcp.log" ||
	{ echo "bench/ttfb.sh: the MCP did not convert every run:" >&2; cat "$work/ttfb-mcp.log" >&2; exit 1; }

run_daemon "$LAB_HCPE" policies/hcpe.json ttfb-hcpe
run_daemon "$LAB_HAG" policies/hag.json ttfb-hag
in_h $PY $T direct 10.4.0.2 8100 "$runs" > "$work/xmcp_hybrid"
# every run went through both gateways, or the row would measure plain routing
relayed=$(XMCP_PIN_DIR=$BENCH_PINS-ttfb-hag nsenter --net=/run/netns/$LAB_HAG build/xmcp stats -j |
	jq .pairs_opened)
stop
[ "$relayed" -ge "$runs" ] ||
	{ echo "bench/ttfb.sh: the HAG relayed $relayed of $runs runs" >&2; exit 1; }

read -r rtt _ _ < "$work/rtt"
read -r base _ _ < "$work/direct"
{
	echo "## Time to first byte: xmcp (plain mode, hybrid access) vs direct vs SOCKS5 over MPTCP"
	echo
	bench_header "$csv" "$(bench_cc_name)" "$runs" "$(bench_figures "$runs" run "per path")"
	echo
	echo "$delay ms each way on dsl and lte; RTT H-S (median TCP handshake) $rtt ms; $runs runs each."
	echo
	echo "| path | TTFB ms median (min-max) | added vs direct | added in RTTs |"
	echo "|---|---:|---:|---:|"
} > "$md"
echo "path,ttfb_ms_median,ttfb_ms_min,ttfb_ms_max,added_ms,added_rtts" > "$csv"
for l in direct socks xmcp_offpath xmcp_hybrid; do
	read -r med lo hi < "$work/$l"
	added=$(awk -v a="$med" -v b="$base" 'BEGIN { printf "%.2f", a - b }')
	rtts=$(awk -v a="$added" -v r="$rtt" 'BEGIN { printf "%.2f", (r > 0 ? a / r : 0) }')
	echo "| $l | $med ($lo-$hi) | $added ms | $rtts |" >> "$md"
	echo "$l,$med,$lo,$hi,$added,$rtts" >> "$csv"
done
{
	echo
	echo "direct: plain TCP through the routing namespaces. socks: microsocks in the HAG namespace,"
	echo "run under mptcpize, the client speaking SOCKS5 (no auth, CONNECT) over MPTCP. xmcp_offpath:"
	echo "the HCPE in off-path mode (policies/hcpe-offpath.json) and the MCP (policies/mcp.json)."
	echo "xmcp_hybrid: the HCPE and the HAG (policies/hcpe.json, hag.json)."
} >> "$md"
cat "$md"
