#!/usr/bin/env bats
# Admission control by subscriber class (draft-deng 6.3, 6.4) on the HAG of
# the hybrid-access lab: the SYN rate per subscriber address, concurrent
# sessions per address, subflows per connection. Real floods, real joins.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/lab
load ../lib/gateway

setup() {
	gateway_lab a
}

teardown() {
	gateways_down "${HCPE_PID:-}" "${HAG_PID:-}"
}

# hag_with_class 'JSON': the shipped HAG policy, its default class set to JSON
hag_with_class() {
	jq --argjson c "$1" '.classes = { default: $c }' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
}

@test "admission: a SYN flood from one subscriber address is held to its class's rate; another subscriber still gets through" {
	hag_with_class '{"syn_rate": 1, "syn_burst": 20}'
	start_both
	local mac secs limited passed
	mac=$(ip -n "$LAB_HAG" -j link show dsl | jq -r '.[0].address')
	# 400 SYNs from 10.1.0.99 (a subscriber address), sent by the HCPE's namespace onto dsl
	secs=$(in_ns "$LAB_HCPE" "$PY" "$TOP/tests/tools/synflood.py" dsl "$mac" 10.1.0.99 10.4.0.2 8100 400)
	limited=$(gw_stat "$LAB_HAG" .syn_rate_limited)
	passed=$((400 - limited))
	echo "flood took $secs s; $passed SYNs passed, $limited dropped"
	# the burst passes, then 1 per second: at most 20 + (secs + 1). At 1 a
	# second, only a flood slower than 6 minutes could pass unlimited; the
	# bound grows with the time taken, and a slow machine must not pass it
	# by being slow
	[ "$passed" -ge 20 ]
	[ "$passed" -le $((20 + ${secs%.*} + 1)) ]
	[ "$limited" -ge 300 ]
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn.packets)" 400
	# H, another subscriber address, is not held back by the flood
	transfer 10.4.0.2 8101 2000000
	arrived_at_s "10.1.0.2"
	# the flooder's bucket is visible with bpftool (key ::ffff:10.1.0.99)
	run in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_syn_bkt"
	assert_success
	[ "$(echo "$output" | jq '[.[] | select(.formatted.key.a[12:16] == [10, 1, 0, 99])] | length')" = 1 ]
}

@test "admission: max_sessions: the third concurrent session of an address is reset and counted; a closed one frees its slot" {
	hag_with_class '{"max_sessions": 2}'
	start_both
	local i
	s_server 8110 hold-serve 10.4.0.2 8110
	nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" open-n 10.4.0.2 8110 3 --hold 2 \
		> "$BATS_TEST_TMPDIR/open-n.out" 3>&- &
	local opener=$!
	# while two are held: the class counts them
	for i in $(seq 60); do
		[ "$(wc -l < "$BATS_TEST_TMPDIR/open-n.out")" = 3 ] && break
		sleep 0.1
	done
	assert_equal "$(gw_stat "$LAB_HAG" .subscriber_classes.default.sessions)" 2
	assert_equal "$(gw_stat "$LAB_HAG" .subscriber_classes.default.max_sessions)" 2
	wait "$opener"
	run cat "$BATS_TEST_TMPDIR/open-n.out"
	assert_output "$(printf 'ok\nok\nreset')"
	assert_equal "$(gw_stat "$LAB_HAG" .sessions_refused)" 1
	# all three closed: the count goes back to zero, two fit again
	for i in $(seq 50); do
		[ "$(gw_stat "$LAB_HAG" .pairs_active)" = 0 ] && break
		sleep 0.1
	done
	run in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_sessions"
	assert_output "[]"
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" open-n 10.4.0.2 8110 2
	assert_output "$(printf 'ok\nok')"
	assert_equal "$(gw_stat "$LAB_HAG" .sessions_refused)" 1
	kill "$S_PID"
}

@test "admission: IPv6: max_sessions holds an address's third concurrent session, a SYN flood from a /64 is held to the rate" {
	hag_with_class '{"max_sessions": 2, "syn_rate": 1, "syn_burst": 20}'
	start_both
	s_server 8115 hold-serve fd04::2 8115
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" open-n fd04::2 8115 3 --hold 1
	assert_output "$(printf 'ok\nok\nreset')"
	assert_equal "$(gw_stat "$LAB_HAG" .sessions_refused)" 1
	kill "$S_PID"
	# 200 SYNs from two addresses of one /64 (fd01::99 and fd01::98): one bucket
	local mac secs limited t0
	mac=$(ip -n "$LAB_HAG" -j link show dsl | jq -r '.[0].address')
	# the time from the first flood's start to the second's end: the bucket refills in between too
	t0=$EPOCHREALTIME
	in_ns "$LAB_HCPE" "$PY" "$TOP/tests/tools/synflood.py" dsl "$mac" fd01::99 fd04::2 8116 100 >/dev/null
	in_ns "$LAB_HCPE" "$PY" "$TOP/tests/tools/synflood.py" dsl "$mac" fd01::98 fd04::2 8116 100 >/dev/null
	secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
	limited=$(gw_stat "$LAB_HAG" .syn_rate_limited)
	echo "flood took $secs s; $((200 - limited)) SYNs passed, $limited dropped"
	[ $((200 - limited)) -le $((20 + ${secs%.*} + 1)) ]
	[ "$limited" -ge 150 ]
}

@test "admission: max_subflows 1: the join is dropped in XDP and the transfer goes on over one path; 2 after a reload lets it in" {
	hag_with_class '{"max_subflows": 1}'
	start_both
	# S reads after 2 s: the connection lives long enough for the join to be tried
	s_server 8120 serve 10.4.0.2 8120 --stall 2
	run timeout 60 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 8120 3000000
	wait "$S_PID"
	arrived_at_s "10.1.0.2"
	[ "$(gw_stat "$LAB_HAG" .join_over_limit)" -ge 1 ]
	assert_equal "$(mib "$LAB_HAG" MPTcpExtMPJoinSynRx)" 0
	# the budget entry went with the connection
	run in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_joins"
	assert_output "[]"

	hag_with_class '{"max_subflows": 2}'
	in_ns "$LAB_HAG" "$XMCP" reload
	for i in $(seq 50); do
		grep -q '^xmcp: reloaded' "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break
		sleep 0.1
	done
	local dropped
	dropped=$(gw_stat "$LAB_HAG" .join_over_limit)
	s_server 8121 serve 10.4.0.2 8121 --stall 2
	run timeout 60 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 8121 3000000
	wait "$S_PID"
	arrived_at_s "10.1.0.2"
	[ "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" -ge 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .join_over_limit)" "$dropped"
}

@test "admission: origin_check on the HAG drops MPTCP SYNs from outside the subscriber prefixes in XDP" {
	# the HCPE's access addresses are subscribers too: its joins come from them
	jq '.origin_check = true | .subscribers += ["10.2.0.0/24", "10.3.0.0/24"]' "$TOP/policies/hag.json" \
		> "$BATS_TEST_TMPDIR/hag.json"
	start_both
	local mac
	mac=$(ip -n "$LAB_HAG" -j link show dsl | jq -r '.[0].address')
	in_ns "$LAB_HCPE" "$PY" "$TOP/tests/tools/synflood.py" dsl "$mac" 10.9.0.1 10.4.0.2 8130 5 --mptcp
	assert_equal "$(gw_stat "$LAB_HAG" .origin_not_subscriber)" 5
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_capable.packets)" 5
	# plain SYNs from there are not MPTCP: not the check's business
	in_ns "$LAB_HCPE" "$PY" "$TOP/tests/tools/synflood.py" dsl "$mac" 10.9.0.1 10.4.0.2 8130 3
	assert_equal "$(gw_stat "$LAB_HAG" .origin_not_subscriber)" 5
	# a subscriber's connection, join included, goes through
	s_server 8131 serve 10.4.0.2 8131 --stall 1
	run timeout 60 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 8131 3000000
	wait "$S_PID"
	arrived_at_s "10.1.0.2"
	[ "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" -ge 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .origin_not_subscriber)" 5
}
