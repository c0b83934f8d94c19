#!/usr/bin/env bats
# The gateway against hostile subscribers and local users (docs/security.md),
# in the hybrid-access lab of tests/lib/lab.bash:
#
#   H --lan-- HCPE ==dsl/lte== HAG (or MCP) --wan-- S
#
# Every test is an attack or a fault the daemon once failed; each asserts
# what must not happen (bytes that reach a service they must not, a core
# burnt, a count that lies) and the counter that says it was stopped.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/lab
load ../lib/gateway

setup() {
	gateway_lab h
}

teardown() {
	[ -z "${CANARY_PID:-}" ] || kill "$CANARY_PID" 2>/dev/null
	gateways_down "${HCPE_PID:-}" "${HAG_PID:-}" "${MCP_PID:-}"
}

# canary NS ADDR PORT: a TCP service in NS that prints each connection it
# accepts into $CANARY (so a test can say nothing ever reached it)
canary() {
	CANARY="$BATS_TEST_TMPDIR/canary-$3"
	local ready="$BATS_TEST_TMPDIR/canary-ready-$3" i
	in_ns "$1" "$PY" "$PEER" hold-serve "$2" "$3" --ready "$ready" >"$CANARY" 3>&- &
	CANARY_PID=$!
	for i in $(seq 50); do [ -e "$ready" ] && return 0; sleep 0.1; done
	echo "the canary on $2 port $3 did not start" >&2
	return 1
}

# syns_to_hag SRC DST PORT N [--mptcp]: N raw SYNs from SRC to DST, sent onto
# the HCPE's dsl toward the HAG (a subscriber that crafts its own packets)
syns_to_hag() {
	local mac
	mac=$(ip -n "$LAB_HAG" -j link show dsl | jq -r '.[0].address')
	in_ns "$LAB_HCPE" "$PY" "$TOP/tests/tools/synflood.py" dsl "$mac" "$@" >/dev/null
}

# --- 1. destinations: one check, every role ---

@test "hostile: HAG: subscribers' SYNs to loopback, unspecified, link-local or IPv4-mapped addresses are dropped in tc, never relayed" {
	start_both
	canary "$LAB_HAG" 127.0.0.1 8099
	syns_to_hag 10.1.0.2 127.0.0.1 8099 3 --mptcp
	syns_to_hag 10.1.0.2 0.0.0.0 8099 3 --mptcp
	syns_to_hag 10.1.0.2 169.254.0.1 8099 3 --mptcp
	syns_to_hag fd01::2 ::ffff:127.0.0.1 8099 3 --mptcp
	syns_to_hag fd01::2 ::1 8099 3 --mptcp
	syns_to_hag fd01::2 fe80::1 8099 3 --mptcp
	sleep 0.5
	assert_equal "$(gw_stat "$LAB_HAG" .bad_addr)" 18
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 0
	assert_equal "$(gw_stat "$LAB_HAG" .pairs_opened)" 0
	run cat "$CANARY"
	assert_output ""
	# a subscriber's ordinary connection still goes through
	transfer 10.4.0.2 8100 100000
	arrived_at_s "10.1.0.2"
}

@test "hostile: HCPE: a LAN host's SYN to an IPv4-mapped destination over IPv6 is dropped, not converted" {
	start_both
	canary "$LAB_HCPE" 127.0.0.1 8098
	local mac
	mac=$(ip -n "$LAB_HCPE" -j link show lan | jq -r '.[0].address')
	in_ns "$LAB_H" "$PY" "$TOP/tests/tools/synflood.py" lan "$mac" fd01::2 ::ffff:127.0.0.1 8098 3 >/dev/null
	in_ns "$LAB_H" "$PY" "$TOP/tests/tools/synflood.py" lan "$mac" fd01::2 ::ffff:10.4.0.2 8098 3 >/dev/null
	sleep 0.5
	assert_equal "$(gw_stat "$LAB_HCPE" .bad_addr)" 6
	assert_equal "$(gw_stat "$LAB_HCPE" .steered)" 0
	run cat "$CANARY"
	assert_output ""
}

@test "hostile: a SYN to a gateway's own address is left to its own stack (the service there answers), never relayed into itself" {
	start_both
	# the HCPE's own LAN address: a service on the CPE itself
	canary "$LAB_HCPE" 10.1.0.1 8097
	run in_ns "$LAB_H" "$PY" "$PEER" open-n 10.1.0.1 8097 1
	assert_output "ok"
	run cat "$CANARY"
	assert_output "connection from 10.1.0.2"
	assert_equal "$(gw_stat "$LAB_HCPE" .local_dest)" 1
	assert_equal "$(gw_stat "$LAB_HCPE" .steered)" 0
	kill "$CANARY_PID"
	# the HAG's own address on the wan, through the HCPE: converted there, not on the HAG
	in_ns "$LAB_HAG" timeout "$(slow 30)" "$PY" "$PEER" serve 10.4.0.1 8096 --ready "$BATS_TEST_TMPDIR/r8096" \
		>"$BATS_TEST_TMPDIR/hag-service" 3>&- &
	local svc=$!
	for _ in $(seq 50); do [ -e "$BATS_TEST_TMPDIR/r8096" ] && break; sleep 0.1; done
	run timeout "$(slow 30)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.1 8096 200000
	assert_success
	wait "$svc"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/hag-service")" "$output 10.1.0.2"
	assert_equal "$(gw_stat "$LAB_HCPE" .steered)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .local_dest)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 0
}

@test "hostile: HAG: where tc cannot tell (no forwarding on the device), the daemon refuses an address of its own added after it started" {
	start_both
	ip netns exec "$LAB_HAG" sysctl -qw net.ipv4.conf.dsl.forwarding=0
	# added now: a check of the addresses read at start would miss it
	ip -n "$LAB_HAG" addr add 10.66.0.1/32 dev lo
	canary "$LAB_HAG" 10.66.0.1 8095
	run timeout "$(slow 30)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.66.0.1 8095 100000
	assert_failure
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 1
	gw_stat_is "$LAB_HAG" .dest_refused 1
	assert_equal "$(gw_stat "$LAB_HAG" .pairs_opened)" 0
	run cat "$CANARY"
	assert_output ""
	grep -q "destination 10.66.0.1 port 8095 refused: a local address of this gateway" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
}

# mcp_refuses DST PORT: H names DST:PORT in an MP_CONVERT to the MCP; the
# MCP opens nothing (the canary on the MCP's loopback and S's side see no SYN)
mcp_refuses() {
	run timeout "$(slow 15)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send 10.2.0.2 9443 "$1" "$2" 1000
	assert_failure
}

@test "hostile: MCP: IPv4-mapped, unspecified, loopback, own and forbidden destinations are refused; nothing reaches the MCP's loopback" {
	require_mptcp_fastopen
	cp "$TOP/policies/mcp.json" "$BATS_TEST_TMPDIR/"
	ip -n "$LAB_S" addr add 10.4.0.200/24 dev wan
	MCP_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/mcp.json")
	canary "$LAB_HAG" 0.0.0.0 8099
	local dst
	for dst in ::ffff:0.0.0.0 ::ffff:127.0.0.1 0.0.0.0 127.0.0.1 ::ffff:10.4.0.1 10.4.0.1 \
		::ffff:10.4.0.200 ::ffff:169.254.1.1; do
		mcp_refuses "$dst" 8099
	done
	# an own address added after start: refused too (read live)
	ip -n "$LAB_HAG" addr add 10.66.0.1/32 dev lo
	mcp_refuses 10.66.0.1 8099
	run cat "$CANARY"
	assert_output ""
	assert_equal "$(gw_stat "$LAB_HAG" .pairs_opened)" 0
	# the four that pass the decoder (own, own mapped, forbidden mapped, the
	# new own one) are refused by the daemon's check; the rest in XDP already
	gw_stat_is "$LAB_HAG" .dest_refused 4
	[ "$(gw_stat "$LAB_HAG" .mcp_invalid)" -ge 5 ]
	# and a mapped unicast destination is the IPv4 one it maps: converted
	s_server 8094 serve 10.4.0.2 8094
	run timeout "$(slow 30)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send 10.2.0.2 9443 \
		::ffff:10.4.0.2 8094 100000
	s_done
	arrived_at_s "10.4.0.1"
}
