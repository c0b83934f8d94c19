#!/usr/bin/env bats
# The HAG's modes by destination (draft-deng 3.4) in the hybrid-access lab:
# take_over, transparent, and hybrid with servers learned from their
# SYN+ACK. S runs MPTCP or TCP servers; what S sees tells who spoke to it.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/lab
load ../lib/gateway

setup() {
	gateway_lab m
}

teardown() {
	gateways_down "${HCPE_PID:-}" "${HAG_PID:-}"
}

# hag_modes 'JSON': the shipped HAG policy with these modes
hag_modes() {
	jq --argjson m "$1" '.modes = $m' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	start_both
}

# to_s PORT [--mptcp]: H (plain TCP, converted by the HCPE) sends 1 MB to a server
# on S, MPTCP with --mptcp; S's line ("DIGEST CLIENT [mptcp|tcp]") in $output
to_s() {
	s_server "$1" serve 10.4.0.2 "$1" ${2:-}
	run timeout "$(slow 60)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 "$1" 1000000
	s_done
	assert_success
	local digest=$output
	run cat "$S_OUT"
	assert_output --regexp "^$digest 10\.1\.0\.2( mptcp| tcp)?$"
}

hag() {
	gw_stat "$LAB_HAG" "$1"
}

@test "modes: a transparent rule lets MPTCP through to the server; take_over by default terminates it" {
	hag_modes '{"default": "take_over", "rules": [{"destinations": ["10.4.0.0/24"], "ports": [8210], "mode": "transparent"}]}'
	to_s 8210 --mptcp
	# S itself speaks MPTCP with the HCPE: the HAG only forwarded
	assert_output --regexp ' mptcp$'
	assert_equal "$(hag .passed_transparent)" 1
	assert_equal "$(hag .steered)" 0
	to_s 8211 --mptcp
	# the HAG terminated it: its own leg to S is plain TCP
	assert_output --regexp ' tcp$'
	assert_equal "$(hag .steered)" 1
	assert_equal "$(hag .passed_transparent)" 1
}

@test "modes: IPv6: a transparent rule lets MPTCP through, the default take_over terminates it" {
	hag_modes '{"default": "take_over", "rules": [{"destinations": ["fd04::/64"], "ports": [8212], "mode": "transparent"}]}'
	s_server 8212 serve fd04::2 8212 --mptcp
	run timeout "$(slow 60)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send fd04::2 8212 1000000
	s_done
	arrived_at_s "fd01::2 mptcp"
	assert_equal "$(hag .passed_transparent)" 1
	assert_equal "$(hag .steered)" 0
	s_server 8213 serve fd04::2 8213 --mptcp
	run timeout "$(slow 60)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send fd04::2 8213 1000000
	s_done
	arrived_at_s "fd01::2 tcp"
	assert_equal "$(hag .steered)" 1
}

@test "modes: hybrid learns an MPTCP server from its SYN+ACK, then lets its connections through natively" {
	hag_modes '{"default": "hybrid", "learned_lifetime": 600}'
	# first time: taken over; the HAG's leg offers MPTCP and S takes it
	to_s 8200 --mptcp
	assert_output --regexp ' mptcp$'
	assert_equal "$(hag .steered)" 1
	[ "$(hag .learned)" -ge 1 ]
	run in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_learned"
	assert_equal "$(echo "$output" | jq '[.[] | select(.formatted.key.port == 8200)] | length')" 1
	# second time: S is known to speak MPTCP; the SYN passes, the HAG opens no pair
	to_s 8200 --mptcp
	assert_output --regexp ' mptcp$'
	assert_equal "$(hag .steered)" 1
	assert_equal "$(hag .passed_learned)" 1
	assert_equal "$(hag .pairs_opened)" 1
	# a TCP-only server is never learned: taken over every time
	to_s 8201
	to_s 8201
	assert_equal "$(hag .steered)" 3
	run in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_learned"
	assert_equal "$(echo "$output" | jq '[.[] | select(.formatted.key.port == 8201)] | length')" 0
}

@test "modes: a learned server is forgotten after learned_lifetime" {
	hag_modes '{"default": "hybrid", "learned_lifetime": 1}'
	to_s 8220 --mptcp
	assert_equal "$(hag .steered)" 1
	# the lifetime itself running out (the program compares ktime, in ns),
	# not a synchronisation: nothing else is waited for here
	sleep 1.5
	# past the lifetime: taken over again (and learned again)
	to_s 8220 --mptcp
	assert_equal "$(hag .steered)" 2
	assert_equal "$(hag .passed_learned)" 0
}

@test "modes: a HAG's announce: its subscriber prefixes on the daemon's own device, never the host's own addresses; conversions go on; SIGTERM and kill -9 take them away" {
	jq '.announce = {"prefixes": ["10.1.0.0/24", "fd01::/64"], "device": "xann0"}' \
		"$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	start_both
	run ip -n "$LAB_HAG" -br addr show dev xann0
	assert_output --partial "10.1.0.0/24"
	assert_output --partial "fd01::/64"
	# announced, not owned: no local, broadcast or anycast route the kernel added with them
	run ip -n "$LAB_HAG" route show table local dev xann0
	assert_output ""
	run ip -n "$LAB_HAG" -6 route show table local dev xann0
	refute_output --partial "fd01::"
	run ip -n "$LAB_HAG" route get 10.1.0.0
	refute_output --partial "local"
	run ip -n "$LAB_HAG" route get 10.1.0.255
	refute_output --partial "broadcast"
	run ip -n "$LAB_HAG" -6 route get fd01::
	refute_output --partial "local"
	assert_equal "$(hag .announce.announced)" true
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" ip netns exec "$LAB_HAG" "$XMCP" stats
	assert_output --partial "announce: device xann0, announced"
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" ip netns exec "$LAB_HAG" "$XMCP" stats --prometheus
	assert_line "xmcp_announced 1"
	# the MCP's C flag is not the HAG's business: the sysctl stays
	assert_equal "$(ip netns exec "$LAB_HAG" sysctl -n net.mptcp.allow_join_initial_addr_port)" 1
	# the kernel makes them local again when the device goes down and up: the daemon takes that back
	ip -n "$LAB_HAG" link set xann0 down
	ip -n "$LAB_HAG" link set xann0 up
	# (and takes the IPv6 prefix off the device: the daemon sets it again)
	for _ in $(seq 30); do
		[ -z "$(ip -n "$LAB_HAG" route show table local dev xann0)" ] &&
			ip -n "$LAB_HAG" -br addr show dev xann0 | grep -q "fd01::/64" && break
		sleep 0.1
	done
	run ip -n "$LAB_HAG" route show table local dev xann0
	assert_output ""
	run ip -n "$LAB_HAG" -br addr show dev xann0
	assert_output --partial "fd01::/64"
	run ip -n "$LAB_HAG" -6 route show table local dev xann0
	refute_output --partial "fd01::"
	grep -q "announce: the kernel had made 10.1.0.0 this host's own again" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	grep -q "announce: fd01::/64 had gone from xann0: set again" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	# H's bytes arrive at S from H's address, through the HAG's daemon
	to_s 8213
	assert_equal "$(hag .steered)" 1
	stop_daemon "$HAG_PID"
	HAG_PID=
	run ip -n "$LAB_HAG" link show xann0
	assert_failure
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
	kill_device_gone "$LAB_HAG" "$HAG_PID" xann0
	HAG_PID=
	XMCP_PIN_DIR="$PINS-$LAB_HAG" in_ns "$LAB_HAG" "$XMCP" detach --all
}

# hag_probe PORT: connect to the HAG's probe port on its own loopback (what an HCPE's probe finds)
hag_probe() {
	run in_ns "$LAB_HAG" timeout 3 bash -c "exec 4<>/dev/tcp/127.0.0.1/$1"
}

# hag_log_waits TEXT: until the HAG's log has a line with TEXT (its tick is once a second)
hag_log_waits() {
	local i
	for i in $(seq "$(slow 50)"); do
		grep -qF -- "$1" "$BATS_TEST_TMPDIR/$LAB_HAG.log" && return 0
		sleep 0.1
	done
	echo "no '$1' in the HAG's log:" >&2
	cat "$BATS_TEST_TMPDIR/$LAB_HAG.log" >&2
	return 1
}

@test "modes: a HAG that cannot keep a prefix on its device closes its probe port until it can (its HCPEs leave it as they would a dead one); stats say it is not announced" {
	jq '.announce = {"prefixes": ["10.1.0.0/24", "fd01::/64"], "device": "xann1", "probe_port": 713}' \
		"$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	start_both
	hag_probe 713
	assert_success
	# IPv6 turned off on the device: the prefix goes, and cannot be set again
	in_ns "$LAB_HAG" sysctl -qw net.ipv6.conf.xann1.disable_ipv6=1
	hag_log_waits "xmcp: announce: cannot set fd01::/64 on xann1 again: Permission denied: probe port 713 closed"
	hag_probe 713
	assert_failure
	assert_output --partial "refused"
	assert_equal "$(hag .announce.announced)" false
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" ip netns exec "$LAB_HAG" "$XMCP" stats --prometheus
	assert_line "xmcp_announced 0"
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" ip netns exec "$LAB_HAG" "$XMCP" stats
	assert_output --partial "announce: device xann1, withdrawn"
	# the other prefix stays: the routing daemon's view is the device's
	run ip -n "$LAB_HAG" -br addr show dev xann1
	assert_output --partial "10.1.0.0/24"
	# back: the prefix is set again, then the port opens
	in_ns "$LAB_HAG" sysctl -qw net.ipv6.conf.xann1.disable_ipv6=0
	hag_log_waits "xmcp: announce: every prefix is on xann1 again: probe port 713 open"
	hag_probe 713
	assert_success
	assert_equal "$(hag .announce.announced)" true
	run ip -n "$LAB_HAG" -br addr show dev xann1
	assert_output --partial "fd01::/64"
	run ip -n "$LAB_HAG" -6 route show table local dev xann1
	refute_output --partial "fd01::"
	# conversions went on throughout (the box routes; only the port tells HCPEs where to go)
	to_s 8214
	assert_equal "$(hag .steered)" 1
}
