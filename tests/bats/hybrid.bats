#!/usr/bin/env bats
# Hybrid access end to end: xmcp run as HCPE and HAG in the lab of
# tests/lib/lab.bash (H --lan-- HCPE ==dsl/lte== HAG --wan-- S), real bytes
# over real MPTCP, checked at S.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/lab
load ../lib/gateway

setup() {
	gateway_lab x
}


# xdp_mode MODE: the policies in the test's directory attach XDP in MODE
xdp_mode() {
	local f
	for f in hcpe hag; do
		jq --arg m "$1" '.xdp_mode = $m' "$BATS_TEST_TMPDIR/$f.json" > "$BATS_TEST_TMPDIR/$f.json.new"
		mv "$BATS_TEST_TMPDIR/$f.json.new" "$BATS_TEST_TMPDIR/$f.json"
	done
}

# down_after_join DEV [JOINS]: in the background, once the HAG has accepted
# the second subflow (its JOINS-th join, default 1), take the HCPE's DEV down
# and say so in down-DEV; no join in 30 s, no failure. Waiting for the join, not a fixed time, keeps the test
# about a failure with both subflows up on a slow machine too (a VM under
# TCG starts the transfer seconds later).
down_after_join() {
	(
		for _ in $(seq 300); do
			if [ "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" -ge "${2:-1}" ]; then
				ip -n "$LAB_HCPE" link set "$1" down && : >"$BATS_TEST_TMPDIR/down-$1"
				exit
			fi
			sleep 0.1
		done
	) 3>&- &
}

# went_down_during_transfer DEV: the join came, and DEV failed before the
# transfer ended
went_down_during_transfer() {
	[ -e "$BATS_TEST_TMPDIR/down-$1" ]
}

teardown() {
	gateways_down "${HCPE_PID:-}" "${HAG_PID:-}"
}

@test "hybrid: IPv4 bytes from H reach S intact through HCPE and HAG; S sees H's address" {
	start_both
	# the default mode on these veth devices: the classifier at tc, and each daemon says why
	grep -q '^xmcp: lan: classifier in tc (auto: veth' "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	grep -q '^xmcp: dsl: classifier in tc (auto: veth' "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	transfer 10.4.0.2 8000 3000000
	arrived_at_s "10.1.0.2"
	grep -q "pair 10.1.0.2:[0-9]* -> 10.4.0.2:8000" "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	grep -q "pair 10.1.0.2:[0-9]* -> 10.4.0.2:8000 (client mptcp)" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	# the HCPE steered exactly one SYN; the HAG terminated one MPTCP connection
	assert_equal "$(gw_stat "$LAB_HCPE" .steered)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_capable.packets)" 1
}

@test "hybrid: native XDP, asked for, steers the same: bytes intact, one SYN steered, one terminated" {
	xdp_mode native
	start_both
	grep -q '^xmcp: lan: classifier in native XDP (as asked)' "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	grep -q '^xmcp: dsl: classifier in native XDP (as asked)' "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	transfer 10.4.0.2 8001 3000000
	arrived_at_s "10.1.0.2"
	assert_equal "$(gw_stat "$LAB_HCPE" .steered)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_capable.packets)" 1
}

@test "hybrid: an xmcp attach beside a running HAG, in its pin directory, takes none of its frames" {
	start_both
	# a device with no native XDP: attach's auto falls back to the tc classifier, as the HAG's is
	ip -n "$LAB_HAG" link add xbr0 type bridge
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" attach xbr0
	assert_success
	assert_output --partial "classifier in tc"
	# the HAG still steers what its own classifier hands on
	transfer 10.4.0.2 8002 1000000
	arrived_at_s "10.1.0.2"
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 1
	grep -q "pair 10.1.0.2:[0-9]* -> 10.4.0.2:8002 (client mptcp)" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" detach xbr0
}

@test "hybrid: both paths carry a real share over two subflows" {
	shape_paths 100mbit
	start_both
	local l0 d0
	l0=$(tx_bytes "$LAB_HCPE" lte) d0=$(tx_bytes "$LAB_HCPE" dsl)
	transfer 10.4.0.2 8010 20000000
	arrived_at_s "10.1.0.2"
	local lte=$(( $(tx_bytes "$LAB_HCPE" lte) - l0 )) dsl=$(( $(tx_bytes "$LAB_HCPE" dsl) - d0 ))
	echo "HCPE sent: dsl $dsl bytes, lte $lte bytes"
	# each path carried at least 5% of the 20 MB
	[ "$lte" -gt 1000000 ]
	[ "$dsl" -gt 1000000 ]
	# the HAG accepted a join: the connection had two subflows
	[ "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" -ge 1 ]
	run ip -n "$LAB_HAG" mptcp endpoint show
	assert_output --partial "10.3.0.2 port 7011 id 200 signal dev lte"
}

@test "hybrid: the secondary path fails mid-transfer, the transfer completes intact" {
	shape_paths 40mbit
	start_both
	down_after_join lte
	transfer 10.4.0.2 8011 15000000
	arrived_at_s "10.1.0.2"
	went_down_during_transfer lte
}

@test "hybrid: the primary path fails once the second subflow is up, the transfer completes" {
	shape_paths 40mbit
	start_both
	down_after_join dsl
	transfer 10.4.0.2 8012 15000000
	arrived_at_s "10.1.0.2"
	went_down_during_transfer dsl
}

# wait_join: the HAG has accepted a second subflow (10 s at the most, stretched)
wait_join() {
	local i
	for i in $(seq "$(slow 100)"); do
		[ "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" -ge "${1:-1}" ] && return 0
		sleep 0.1
	done
	echo "no join on the HAG" >&2
	return 1
}

# What panicked Debian's 6.1 (issue 13): the egress path program asked the
# kernel for the MPTCP socket of a reset's socket, which for a reset sent on
# behalf of a closed subflow is the per-CPU control socket, not a TCP one.
# Resets of every kind go out here while the programs are attached: a path
# that fails and comes back, a server that resets, and both daemons stopped
# with two subflows in flight. The kernel must live through it, and the
# gateways must still route afterwards.
@test "hybrid: a path fails and returns, servers reset, both daemons stop mid-transfer: the kernel survives" {
	shape_paths 40mbit
	start_both
	transfer 10.4.0.2 8120 2000000
	arrived_at_s "10.1.0.2"
	# 300 SYNs to closed ports on each side: resets from the control socket
	# leave by every access device while the path program is on it
	local dev net mac
	for dev in dsl:2 lte:3; do
		net=${dev#*:} dev=${dev%:*}
		mac=$(ip -n "$LAB_HAG" -j link show "$dev" | jq -r '.[0].address')
		in_ns "$LAB_HCPE" "$PY" "$TOP/tests/tools/synflood.py" "$dev" "$mac" "10.$net.0.1" "10.$net.0.2" 9 300 >/dev/null
		mac=$(ip -n "$LAB_HCPE" -j link show "$dev" | jq -r '.[0].address')
		in_ns "$LAB_HAG" "$PY" "$TOP/tests/tools/synflood.py" "$dev" "$mac" "10.$net.0.2" "10.$net.0.1" 9 300 >/dev/null
	done
	down_after_join dsl $(($(mib "$LAB_HAG" MPTcpExtMPJoinAckRx) + 1))
	transfer 10.4.0.2 8121 10000000
	arrived_at_s "10.1.0.2"
	went_down_during_transfer dsl
	ip -n "$LAB_HCPE" link set dsl up
	restore_hcpe_routes
	transfer 10.4.0.2 8122 3000000
	arrived_at_s "10.1.0.2"
	expect_reset 8123
	# a long transfer over both paths, then SIGTERM to both gateways
	local joins
	joins=$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)
	s_server 8124 serve 10.4.0.2 8124
	nsenter --net="/run/netns/$LAB_H" timeout "$(slow 60)" "$PY" "$PEER" send 10.4.0.2 8124 100000000 \
		>/dev/null 2>&1 3>&- &
	local sender=$!
	wait_join $((joins + 1))
	stop_daemon "$HAG_PID"
	stop_daemon "$HCPE_PID"
	HCPE_PID= HAG_PID=
	wait_job "$sender"
	# the gateways' end reset it (not H's own 60 s limit: 124)
	assert_failure
	[ "$status" -ne 124 ]
	kill "$S_PID" 2>/dev/null || true
	# the gateways' kernels are alive and route plain TCP end to end
	transfer 10.4.0.2 8125 1000000
	arrived_at_s "10.1.0.2"
}

# The on-path HCPE accepts a LAN client before its MPTCP leg toward the HAG
# connects: with the HAG unreachable, the client is reset once
# connect_timeout (2 s here) runs out, not left on a connection that seems
# open while the kernel retries its SYN for two minutes.
@test "hybrid: the HAG unreachable: the LAN client is reset after connect_timeout, and it is counted" {
	start_both
	# connect_timeout changes live: from the default 10 s to 2
	jq '.connect_timeout = 2' "$TOP/policies/hcpe.json" > "$BATS_TEST_TMPDIR/hcpe.json"
	XMCP_PIN_DIR="$PINS-$LAB_HCPE" in_ns "$LAB_HCPE" "$XMCP" reload
	for _ in $(seq "$(slow 50)"); do
		grep -q '^xmcp: reloaded' "$BATS_TEST_TMPDIR/$LAB_HCPE.log" && break
		sleep 0.1
	done
	grep -q '^xmcp: reloaded' "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	ip -n "$LAB_HAG" link set dsl down
	ip -n "$LAB_HAG" link set lte down
	local t0 t1
	t0=$(date +%s%N)
	run timeout "$(slow 30)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send-until-reset 10.4.0.2 8018
	t1=$(date +%s%N)
	echo "H saw: $output after $(( (t1 - t0) / 1000000 )) ms"
	assert_success
	assert_reset
	# 2 s, checked once a second: between 1 and 3 s after the pair began
	# (4 with H's start), not the client's own give-up (20 s) or the kernel's
	[ $(( (t1 - t0) / 1000000 )) -ge 1000 ]
	[ $(( (t1 - t0) / 1000000 )) -le $(( $(slow 4) * 1000 )) ]
	gw_stat_is "$LAB_HCPE" .connect_failed 1
	# the HAG back: the next client gets through
	ip -n "$LAB_HAG" link set dsl up
	ip -n "$LAB_HAG" link set lte up
	ip -n "$LAB_HAG" route replace 10.1.0.0/24 via 10.2.0.1
	transfer 10.4.0.2 8019 1000000
	arrived_at_s "10.1.0.2"
}

# No daemon on the HAG, which still routes: the HCPE's MPTCP SYN reaches a
# plain TCP server, its leg falls back to TCP, and the client's bytes go
# through all the same.
@test "hybrid: the HAG's daemon down: the HCPE's connections fall back to plain TCP and arrive intact" {
	HCPE_PID=$(start_daemon "$LAB_HCPE" "$BATS_TEST_TMPDIR/hcpe.json")
	transfer 10.4.0.2 8022 2000000
	arrived_at_s "10.1.0.2"
	download 10.4.0.2 8023 2000000
	arrived_at_s "10.1.0.2"
	assert_equal "$(gw_stat "$LAB_HCPE" .steered)" 2
	assert_equal "$(gw_stat "$LAB_HCPE" .connect_failed)" 0
	# no MPTCP between HCPE and S: the MP_CAPABLE SYN+ACK never came
	assert_equal "$(mib "$LAB_HCPE" MPTcpExtMPCapableSYNACKRX)" 0
	assert_equal "$(mib "$LAB_HCPE" MPTcpExtMPCapableFallbackSYNACK)" 2
}

# restore_hcpe_routes: what taking the HCPE's dsl down took: the default
# routes via it, and its IPv6 address
restore_hcpe_routes() {
	ip -n "$LAB_HCPE" route replace default via 10.2.0.2
	ip -n "$LAB_HCPE" addr replace fd02::1/64 dev dsl nodad
	ip -n "$LAB_HCPE" -6 route replace default via fd02::2
}

# A path down when the connection starts: the join toward the HAG's lte
# address follows the routing table, over dsl; once lte is back, the
# routing table sends that subflow over lte again, and lte carries a share
# of the same connection. (What the kernel does; choosing the path is
# issue 17's path health.)
@test "hybrid: lte down when a connection starts: it goes over dsl; lte back, it carries a share of that connection" {
	shape_paths 20mbit
	start_both
	ip -n "$LAB_HCPE" link set lte down
	send_bg 10.4.0.2 8024 30000000
	local flows l0 lte
	flows=$(flows_with "$LAB_HCPE" 2)
	echo "$flows"
	# no subflow over lte while it is down
	assert_equal "$(jq -r '[.flows[0].subflows[].interface] | unique | join(" ")' <<< "$flows")" dsl
	l0=$(tx_bytes "$LAB_HCPE" lte)
	ip -n "$LAB_HCPE" link set lte up
	h_done
	arrived_at_s "10.1.0.2"
	lte=$(( $(tx_bytes "$LAB_HCPE" lte) - l0 ))
	echo "after lte came back, it carried $lte bytes"
	[ "$lte" -gt 2000000 ]
}

# Both paths down for a few seconds with a transfer in flight, then back:
# the connection lives through it (TCP retransmits on each subflow) and
# every byte arrives.
@test "hybrid: both paths fail for 3 s mid-transfer and come back: the transfer completes intact" {
	shape_paths 20mbit
	start_both
	send_bg 10.4.0.2 8025 20000000
	wait_join
	ip -n "$LAB_HCPE" link set dsl down
	ip -n "$LAB_HCPE" link set lte down
	sleep 3 # the outage itself, not a synchronisation
	# the transfer was still under way: H's sender has not finished
	kill -0 "$H_PID"
	ip -n "$LAB_HCPE" link set dsl up
	ip -n "$LAB_HCPE" link set lte up
	restore_hcpe_routes
	h_done
	arrived_at_s "10.1.0.2"
}

@test "hybrid: the server resets, the client sees a reset" {
	start_both
	expect_reset 8013
}

@test "hybrid: a connection made to the daemon's own listener is closed, not relayed" {
	start_both
	local port
	port=$(listen_port "$LAB_HCPE")
	[ -n "$port" ]
	run in_ns "$LAB_HCPE" /usr/bin/python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"hello")
try:
    print("closed" if s.recv(10) == b"" else "open")
except ConnectionResetError:  # closed with our bytes unread: a reset
    print("closed")' "$port"
	assert_success
	assert_output "closed"
	run grep -c "pair " "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	assert_output "0"
}

# A connection may join an announced address of either family (MPTCP mixes
# them: with both announced, an IPv6 connection joins 10.3.0.2). Announced
# alone, the IPv6 endpoint must carry the join; its announcement, with a
# port, fits only without TCP timestamps (the next test).
@test "hybrid: IPv6 too, over two subflows, the join to the HAG's IPv6 endpoint" {
	jq '.endpoints |= map(select(.address | contains(":")))' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	ip netns exec "$LAB_HAG" sysctl -qw net.ipv4.tcp_timestamps=0
	start_both
	run grep -c "does not fit" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	assert_output 0
	local l0 flows
	l0=$(tx_bytes "$LAB_HCPE" lte)
	# S reads after a while: time to look at the pair's subflows
	send_bg fd04::2 8001 20000000 --stall "$(slow 2)"
	flows=$(flows_with "$LAB_HCPE" 2)
	echo "$flows"
	# the HCPE's MPTCP leg: its first subflow to S, the join to the HAG's
	# IPv6 signal address, over lte
	assert_equal "$(jq -r '[.flows[0].subflows[] | .remote + " " + .interface] | sort | join(", ")' <<< "$flows")" \
		"[fd03::2]:7011 lte, [fd04::2]:8001 dsl"
	h_done
	arrived_at_s "fd01::2"
	[ "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" -ge 1 ]
	[ $(( $(tx_bytes "$LAB_HCPE" lte) - l0 )) -gt 1000000 ]
}

@test "hybrid: an IPv6 endpoint with a port beside TCP timestamps: the daemon warns, the kernel drops the announcement" {
	jq '.endpoints |= map(select(.address | contains(":")))' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	start_both
	grep -q '^xmcp: warning: endpoints\[0\]: an IPv6 address announced with a port does not fit .*net.ipv4.tcp_timestamps off' \
		"$BATS_TEST_TMPDIR/$LAB_HAG.log"
	transfer fd04::2 8009 3000000
	arrived_at_s "fd01::2"
	[ "$(mib "$LAB_HAG" MPTcpExtAddAddrTxDrop)" -ge 1 ]
	assert_equal "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" 0
}

# download_over_both SERVER PORT CLIENT: 20 MB from S to H arrive intact (S
# saw CLIENT's address), and the HAG sent over 1 MB of them on each path
download_over_both() {
	local l0 d0 lte dsl
	l0=$(tx_bytes "$LAB_HAG" lte) d0=$(tx_bytes "$LAB_HAG" dsl)
	download "$1" "$2" 20000000
	arrived_at_s "$3"
	lte=$(( $(tx_bytes "$LAB_HAG" lte) - l0 )) dsl=$(( $(tx_bytes "$LAB_HAG" dsl) - d0 ))
	echo "$1: the HAG sent dsl $dsl bytes, lte $lte bytes"
	[ "$lte" -gt 1000000 ]
	[ "$dsl" -gt 1000000 ]
}

# The direction the MPTCP stalls were seen in: S sends, H reads, the HAG is
# the MPTCP sender.
@test "hybrid: downloads of 20 MB over IPv4 and IPv6 arrive intact at H, over both paths" {
	shape_paths 100mbit
	start_both
	download_over_both 10.4.0.2 8004 10.1.0.2
	download_over_both fd04::2 8005 fd01::2
}

@test "hybrid: the primary path fails mid-download (IPv4), the download completes intact" {
	shape_paths 40mbit
	start_both
	down_after_join dsl
	download 10.4.0.2 8006 15000000
	arrived_at_s "10.1.0.2"
	went_down_during_transfer dsl
}

@test "hybrid: the secondary path fails mid-download (IPv6), the download completes intact" {
	shape_paths 40mbit
	start_both
	down_after_join lte
	download fd04::2 8007 15000000
	arrived_at_s "fd01::2"
	went_down_during_transfer lte
}

@test "hybrid: paths of 20 and 60 ms RTT with 0.5% loss each way: intact, both paths used" {
	lab_down
	LAB_DSL_DELAY=10 LAB_LTE_DELAY=30 LAB_LOSS=0.5 lab_up "$TAG"
	# with room to spare on dsl the scheduler would rightly leave lte idle
	shape_paths 10mbit
	# The delay lines' ends are TAP devices, whose native XDP has no room
	# for metadata on some kernels (6.1; the next test): the default mode,
	# auto, classifies at tc there, which steers on any.
	start_both
	grep -q '^xmcp: dsl: classifier in tc (auto: tun' "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	local l0 d0
	l0=$(tx_bytes "$LAB_HCPE" lte) d0=$(tx_bytes "$LAB_HCPE" dsl)
	transfer 10.4.0.2 8014 6000000
	arrived_at_s "10.1.0.2"
	local lte=$(( $(tx_bytes "$LAB_HCPE" lte) - l0 )) dsl=$(( $(tx_bytes "$LAB_HCPE" dsl) - d0 ))
	echo "HCPE sent: dsl $dsl bytes, lte $lte bytes"
	[ "$lte" -gt 300000 ]
	[ "$dsl" -gt 300000 ]
	# the loss was real: the HCPE retransmitted
	[ "$(mib "$LAB_HCPE" TcpRetransSegs)" -gt 0 ]
}

@test "hybrid: where native XDP has no room for metadata (TAP on 6.1), the daemon says so and names the modes that work" {
	lab_down
	LAB_DSL_DELAY=1 LAB_LTE_DELAY=1 lab_up "$TAG"
	# what auto avoids on TAP devices, asked for
	xdp_mode native
	start_both
	# a connection for the classifier to see; on such a kernel it cannot complete
	s_server 8015 serve 10.4.0.2 8015
	run timeout "$(slow 5)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 8015 1000
	kill "$S_PID" 2>/dev/null || true
	local unavailable
	unavailable=$(gw_stat "$LAB_HCPE" .meta_unavailable)
	# the counter is there (a missing one must fail, not skip)
	[[ "$unavailable" =~ ^[0-9]+$ ]]
	[ "$unavailable" -gt 0 ] ||
		having tap_xdp_meta "native XDP on TAP devices keeps metadata on this kernel: nothing to warn about"
	# the daemon looks once a second
	for _ in $(seq "$(slow 30)"); do
		grep -q 'packets got no XDP metadata' "$BATS_TEST_TMPDIR/$LAB_HCPE.log" && break
		sleep 0.1
	done
	run grep -c 'packets got no XDP metadata: .*"xdp_mode": "auto" or "tc" works on any device' \
		"$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	assert_output 1
}

@test "hybrid: marker none: the HCPE passes an MPTCP host's SYN, the HAG terminates it" {
	start_both
	transfer 10.4.0.2 8002 1000000 --mptcp
	# pure transparent mode: every subscriber MP_CAPABLE SYN ends at the HAG,
	# so the MPTCP server sees plain TCP from H's own address
	arrived_at_s "10.1.0.2 tcp"
	assert_equal "$(gw_stat "$LAB_HCPE" .steered)" 0
	assert_equal "$(gw_stat "$LAB_HCPE" .classes.syn_mp_capable.packets)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 1
}

@test "hybrid: marker mp_convert: TCP is converted, native MPTCP stays end to end" {
	require_mptcp_fastopen
	jq '.marker = "mp_convert"' "$TOP/policies/hcpe.json" > "$BATS_TEST_TMPDIR/hcpe.json"
	jq '.marker = "mp_convert"' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	local fastopen_before
	fastopen_before=$(ip netns exec "$LAB_HAG" sysctl -n net.ipv4.tcp_fastopen)
	start_both
	# plain TCP from H: the HCPE's SYN carries the empty MP_CONVERT, the HAG
	# terminates it and strips the marker (else S's digest would differ)
	transfer 10.4.0.2 8020 2000000
	arrived_at_s "10.1.0.2"
	# ...and the HAG's leg really is MPTCP: it took the marker as SYN data
	# (else the client's data-bearing third ACK makes the HAG fall back to TCP)
	grep -q "pair 10.1.0.2:[0-9]* -> 10.4.0.2:8020 (client mptcp)" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	[ "$(mib "$LAB_HAG" TcpExtTCPFastOpenPassive)" -eq 1 ]
	[ "$(mib "$LAB_HAG" MPTcpExtMPCapableFallbackACK)" -eq 0 ]
	# an MPTCP host's own connection: not marked, so not terminated
	transfer 10.4.0.2 8021 2000000 --mptcp
	arrived_at_s "10.1.0.2 mptcp"
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_convert.packets)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_capable.packets)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 1
	# the TFO server bit the HAG turned on goes when it does
	[ $(( $(ip netns exec "$LAB_HAG" sysctl -n net.ipv4.tcp_fastopen) & 2 )) -eq 2 ]
	stop_daemon "$HAG_PID"
	HAG_PID=
	assert_equal "$(ip netns exec "$LAB_HAG" sysctl -n net.ipv4.tcp_fastopen)" "$fastopen_before"
}

@test "hybrid: without TCP Fast Open on MPTCP, the SYN-data roles refuse to start and say why" {
	if mptcp_has_fastopen; then
		having mptcp_fastopen "this kernel has TCP Fast Open on MPTCP sockets: nothing to refuse"
	fi
	local pol why
	jq '.marker = "mp_convert"' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag-marker.json"
	for pol in hag-marker.json:"the mp_convert marker" mcp.json:"the MCP role"; do
		why=${pol#*:} pol=${pol%%:*}
		[ -e "$BATS_TEST_TMPDIR/$pol" ] || cp "$TOP/policies/$pol" "$BATS_TEST_TMPDIR/"
		run timeout 20 nsenter --net="/run/netns/$LAB_HAG" env XMCP_PIN_DIR="$PINS-$LAB_HAG" \
			"$XMCP" run -c "$BATS_TEST_TMPDIR/$pol"
		assert_failure
		assert_output --partial "this kernel has no TCP Fast Open on MPTCP sockets"
		assert_output --partial "$why carries MP_CONVERT in SYN data"
		# refused before anything was set up: no pins, no XDP
		[ ! -e "$PINS-$LAB_HAG" ]
		run ip -n "$LAB_HAG" link show dsl
		refute_output --partial xdp
	done
}

@test "hybrid: MPTCP SYNs from outside the subscriber prefixes are left alone" {
	jq '.subscribers = ["192.0.2.0/24"]' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	start_both
	transfer 10.4.0.2 8003 100000
	assert_success
	# the MPTCP connection went through the HAG untouched, to an MPTCP-less S: TCP there
	assert_equal "$(gw_stat "$LAB_HAG" .not_subscriber)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 0
}

# hag_tcp_pairs MODE: a HAG that also terminates plain TCP, its TCP<->TCP pairs by MODE
# (relay: the only one this kernel allows); no HCPE, so H's plain TCP reaches the HAG as it is
hag_tcp_pairs() {
	jq --arg m "$1" '.terminate_tcp = true | .tcp_pairs = $m | .xdp_mode = "generic"' "$TOP/policies/hag.json" \
		> "$BATS_TEST_TMPDIR/hag.json"
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
}

# summary_of NS: the daemon's closing account (stops it)
summary_of() {
	stop_daemon "$HAG_PID"
	HAG_PID=
	grep -o '[0-9]* pairs: .*' "$BATS_TEST_TMPDIR/$1.log"
}

@test "hybrid: terminate_tcp with the default relay: TCP pairs go through userspace" {
	hag_tcp_pairs relay
	transfer 10.4.0.2 8034 3000000
	arrived_at_s "10.1.0.2"
	run summary_of "$LAB_HAG"
	assert_output --regexp '^1 pairs: 1 closed, 0 aborted'
}

# stalled_server PORT: S does not read for 4 s; H meanwhile gets rid of no more
# than a bounded amount, then all 64 MB arrive intact
stalled_server() {
	s_server "$1" serve 10.4.0.2 "$1" --stall 4
	run --separate-stderr timeout 60 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 "$1" 64000000 --report 3
	wait "$S_PID"
	# shown only if the test fails
	echo "H said: $stderr"
	echo "S said: $(cat "$S_OUT")"
	echo "HAG log:"; cat "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	arrived_at_s "10.1.0.2"
	local early
	early=$(echo "$stderr" | sed -n 's/^sent \([0-9]*\) bytes in .*/\1/p')
	echo "H got rid of $early bytes while S did not read"
	# socket buffers on H, HAG and S hold some MB; unbounded, it was 1.4 GB
	[ -n "$early" ]
	[ "$early" -lt 32000000 ]
}

@test "hybrid: a server that does not read holds the client back (relay), then gets every byte" {
	hag_tcp_pairs relay
	stalled_server 8035
}

@test "hybrid: reload: subscribers change live, an established pair goes on, bad policies are refused" {
	start_both
	# a pair the HAG terminated, still sending when the policy changes (S reads after 3 s)
	s_server 8041 serve 10.4.0.2 8041 --stall 3
	local spid=$S_PID
	nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 8041 20000000 \
		> "$BATS_TEST_TMPDIR/h-8041.out" 2>&1 3>&- &
	local hpid=$!
	gw_stat_is "$LAB_HAG" .steered 1
	# H's prefix is no subscriber any more
	jq '.subscribers = ["192.0.2.0/24"]' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" reload
	assert_success
	for _ in $(seq 50); do grep -q "reloaded" "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break; sleep 0.1; done
	grep -q "xmcp: reloaded .*: 1 subscriber prefixes" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	# the established pair finishes intact
	wait "$hpid"
	wait "$spid"
	assert_equal "$(cut -d' ' -f1 "$S_OUT")" "$(head -1 "$BATS_TEST_TMPDIR/h-8041.out")"
	# a new MPTCP connection from H now passes the HAG untouched: MPTCP up to S
	transfer 10.4.0.2 8042 100000 --mptcp
	arrived_at_s "10.1.0.2 mptcp"
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .not_subscriber)" 1
	# broken JSON, then a field only a restart can change: refused, the daemon runs on
	echo '{"role": "hag",' > "$BATS_TEST_TMPDIR/hag.json"
	kill -HUP "$HAG_PID"
	jq '.listen_port = 7999' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	kill -HUP "$HAG_PID"
	for _ in $(seq 50); do [ "$(grep -c 'reload refused' "$BATS_TEST_TMPDIR/$LAB_HAG.log")" -ge 2 ] && break; sleep 0.1; done
	# the control socket's group is fixed at start: a change is refused, not ignored
	jq '.control_group = "nogroup"' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	kill -HUP "$HAG_PID"
	for _ in $(seq 50); do [ "$(grep -c 'reload refused' "$BATS_TEST_TMPDIR/$LAB_HAG.log")" -ge 3 ] && break; sleep 0.1; done
	run grep "reload refused" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	assert_line "xmcp: reload refused: the running policy stays"
	assert_line --partial "reload refused: listen_port, fwmark or table can't change while running"
	assert_line --partial "reload refused: control_group can't change while running"
	kill -0 "$HAG_PID"
}

@test "hybrid: xmcp stats --prometheus is well-formed and agrees with -j" {
	start_both
	transfer 10.4.0.2 8043 200000
	arrived_at_s "10.1.0.2"
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" stats --prometheus
	assert_success
	local prom=$output
	# every sample with HELP and TYPE (a counter ends in _total, else a gauge), every line of the format
	run bash -c 'grep -v "^#" <<< "$1" | grep -Ev "^xmcp_[a-z_]+(\{[a-z]+=\"[a-z0-9_.-]+\"(,[a-z]+=\"[a-z0-9_.-]+\")*\})? [0-9]+$"' _ "$prom"
	assert_output ""
	local m
	for m in $(grep -v '^#' <<< "$prom" | sed 's/[{ ].*//' | sort -u); do
		if [[ $m == *_total ]]; then grep -qx "# TYPE $m counter" <<< "$prom"; else grep -qx "# TYPE $m gauge" <<< "$prom"; fi
		grep -q "^# HELP $m " <<< "$prom"
	done
	assert_equal "$(grep '^xmcp_steered_total ' <<< "$prom" | cut -d' ' -f2)" "$(gw_stat "$LAB_HAG" .steered)"
	assert_equal "$(grep '^xmcp_xdp_packets_total{class="syn_mp_capable"} ' <<< "$prom" | cut -d' ' -f2)" \
		"$(gw_stat "$LAB_HAG" .classes.syn_mp_capable.packets)"
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 1
}

@test "hybrid: TCP-MD5 connections are never intercepted (the HCPE has no key)" {
	start_both
	s_server 8050 md5-serve 10.4.0.2 8050 10.1.0.2
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" md5-send 10.4.0.2 8050 300000
	wait "$S_PID"
	# intercepted, the signed SYN would have met a proxy without the key
	arrived_at_s "10.1.0.2"
	assert_equal "$(gw_stat "$LAB_HCPE" .classes.syn_tcp_auth.packets)" 1
	assert_equal "$(gw_stat "$LAB_HCPE" .steered)" 0
}

@test "hybrid: after kill -9, detach --all removes programs, pins, rule, routes, endpoints" {
	local limits_before
	limits_before=$(ip -n "$LAB_HAG" mptcp limits show)
	start_both
	# a second daemon in the same namespace is refused while the first runs
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG-2" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" run -c "$BATS_TEST_TMPDIR/hag.json"
	assert_failure 1
	assert_output --partial "already running in this network namespace (pid $HAG_PID)"
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" detach --all
	assert_failure 1
	assert_output --partial "is still running here"
	kill -KILL "$HAG_PID"
	for _ in $(seq 50); do kill -0 "$HAG_PID" 2>/dev/null || break; sleep 0.1; done
	HAG_PID=
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" detach --all
	assert_success
	assert_output --partial "undid what xmcp run (pid"
	nothing_left "$LAB_HAG"
	assert_equal "$(ip -n "$LAB_HAG" mptcp limits show)" "$limits_before"
}

@test "hybrid: a HAG started by ip netns exec: stats and flows from another ip netns exec shell, detach --all from a third after kill -9" {
	HCPE_PID=$(start_daemon "$LAB_HCPE" "$BATS_TEST_TMPDIR/hcpe.json")
	HAG_PID=$(NETNS_EXEC=1 start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
	transfer 10.4.0.2 8000 3000000
	arrived_at_s "10.1.0.2"
	# its pins are in its own mount namespace: not here, not in another shell
	[ ! -e "$PINS-$LAB_HAG" ]
	run ip netns exec "$LAB_HAG" sh -c '[ -e "$XMCP_PIN_DIR" ]'
	assert_failure
	# stats finds the datapath's counters through the devices, the daemon's
	# over its control socket
	export XMCP_PIN_DIR="$PINS-$LAB_HAG"
	run --separate-stderr ip netns exec "$LAB_HAG" "$XMCP" stats -j
	assert_success
	echo "$output"
	assert_equal "$(jq -r '"\(.steered) \(.classes.syn_mp_capable.packets) \(.pairs_opened) \(.pairs_active)"' <<<"$output")" "1 1 1 0"
	[ "$(jq .bytes_up <<<"$output")" -ge 3000000 ]
	[ "$(jq '.paths | length' <<<"$output")" -ge 2 ]
	run ip netns exec "$LAB_HAG" "$XMCP" stats
	assert_success
	assert_line --regexp '^pairs_opened +1 '
	run ip netns exec "$LAB_HAG" "$XMCP" flows -j
	assert_success
	kill -KILL "$HAG_PID"
	for _ in $(seq 50); do kill -0 "$HAG_PID" 2>/dev/null || break; sleep 0.1; done
	HAG_PID=
	run ip netns exec "$LAB_HAG" "$XMCP" detach --all
	assert_success
	assert_output --partial "undid what xmcp run (pid"
	nothing_left "$LAB_HAG"
}

@test "hybrid: a killed daemon not yet reaped (a zombie) counts as gone" {
	# a parent that kills its daemon and runs detach --all before reaping it
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$PY" -c '
import os, signal, subprocess, sys, time
d = subprocess.Popen([sys.argv[1], "run", "-c", sys.argv[2]], stderr=subprocess.PIPE)
for line in d.stderr:
    if line.startswith(b"xmcp: running as"):
        break
else:
    sys.exit("xmcp run died before it was running")
d.send_signal(signal.SIGKILL)
while open(f"/proc/{d.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.05)
r = subprocess.run([sys.argv[1], "detach", "--all"], capture_output=True, text=True)
print(r.returncode, r.stdout + r.stderr)
d.wait()' "$XMCP" "$BATS_TEST_TMPDIR/hag.json"
	assert_success
	assert_output --regexp "^0 "
	assert_output --partial "undid what xmcp run (pid"
	nothing_left "$LAB_HAG"
}

@test "hybrid: SIGTERM leaves no program, filter, pin, rule or route behind" {
	local limits_before
	limits_before=$(ip -n "$LAB_HAG" mptcp limits show)
	start_both
	run ip -n "$LAB_HAG" mptcp endpoint show
	assert_output --partial "id 200 signal"
	stop_daemon "$HCPE_PID"
	stop_daemon "$HAG_PID"
	run ip -n "$LAB_HAG" mptcp endpoint show
	assert_output ""
	assert_equal "$(ip -n "$LAB_HAG" mptcp limits show)" "$limits_before"
	grep -q "shutting down" "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	HCPE_PID= HAG_PID=
	local ns
	for ns in "$LAB_HCPE" "$LAB_HAG"; do
		nothing_left "$ns"
	done
}

@test "hybrid: xmcp flows shows the pair on both gateways, with each subflow's path and access type" {
	# both paths must carry a share of the 2 MB (the counters below): limit them
	shape_paths 100mbit
	start_both
	s_server 8060 serve 10.4.0.2 8060 --stall "$(slow 3)"
	nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 8060 2000000 > /dev/null 3>&- &
	local hpid=$! i flows
	# until the join is up on the HAG's side
	flows=$(flows_with "$LAB_HAG" 2)
	echo "$flows"
	assert_equal "$(jq -r '.role' <<< "$flows")" hag
	assert_equal "$(jq '.flows | length' <<< "$flows")" 1
	assert_equal "$(jq -r '.flows[0].server' <<< "$flows")" 10.4.0.2:8060
	assert_equal "$(jq -r '.flows[0].client_proto + " " + .flows[0].server_proto' <<< "$flows")" "mptcp tcp"
	assert_equal "$(jq -r '[.flows[0].subflows[] | .path + "/" + .access + "/" + .interface] | sort | join(" ")' <<< "$flows")" \
		"fixed/dsl/dsl mobile/lte/lte"
	# the HCPE's view: its MPTCP leg is the server one, the join goes to the HAG's announced address
	flows=$(flows_with "$LAB_HCPE" 2)
	assert_equal "$(jq -r '.flows[0].client_proto + " " + .flows[0].server_proto' <<< "$flows")" "tcp mptcp"
	assert_equal "$(jq -r '[.flows[0].subflows[].remote] | sort | join(" ")' <<< "$flows")" "10.3.0.2:7011 10.4.0.2:8060"
	run in_ns "$LAB_HCPE" "$XMCP" flows
	assert_line --regexp '^  subflow 10\.3\.0\.1:[0-9]+ -> 10\.3\.0\.2:7011 via lte, path mobile \(lte\)$'
	# stats: per path, the subflows open now (from the daemon, published each
	# second: the join may be a tick away) and their traffic (from tc)
	local st
	for i in $(seq 30); do
		st=$(gw_stat "$LAB_HAG" '.paths | with_entries(.value |= {path, access, subflows}) | tojson')
		[ "$(jq '[.[].subflows] | add' <<< "$st")" = 2 ] && break
		sleep 0.1
	done
	assert_equal "$st" '{"dsl":{"path":"fixed","access":"dsl","subflows":1},"lte":{"path":"mobile","access":"lte","subflows":1}}'
	# stats --watch: one JSON object per line and interval, the open pair among the counters
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" timeout 1.3 nsenter --net="/run/netns/$LAB_HAG" "$XMCP" stats -j --watch=0.5
	assert_equal "$status" 124
	# 0, 0.5 and 1.0 s: three samples, two where starting up is slow (TCG);
	# one would be no watch at all, more an interval not kept
	[ "${#lines[@]}" -ge 2 ]
	[ "${#lines[@]}" -le 3 ]
	# published every second: by the last sample the pair, open for over a second, is counted
	assert_equal "$(jq -s 'last.pairs_active' <<< "$output")" 1
	wait "$hpid"
	wait "$S_PID"
	# 2 MB went up over both paths: each device took in a share, and sent the acks
	echo "HAG paths: $(gw_stat "$LAB_HAG" '.paths | tojson')"
	[ "$(gw_stat "$LAB_HAG" .paths.dsl.rx_bytes)" -gt 100000 ]
	[ "$(gw_stat "$LAB_HAG" .paths.lte.rx_bytes)" -gt 100000 ]
	[ "$(gw_stat "$LAB_HAG" .paths.lte.tx_packets)" -gt 10 ]
	# the pair is gone once done
	for i in $(seq 30); do
		[ "$(in_ns "$LAB_HAG" "$XMCP" flows -j | jq '.flows | length')" = 0 ] && break
		sleep 0.1
	done
	assert_equal "$(in_ns "$LAB_HAG" "$XMCP" flows -j | jq '.flows | length')" 0
}

# ccs_of NS PORT_FILTER: the congestion controls of NS's connected TCP
# sockets (MPTCP subflows among them, "mptcp" after the name) that match the
# ss filter, one "cc kind" per socket, sorted
ccs_of() {
	ss -N "$1" -tni state connected "$2" | awk '
		/^[0-9A-Za-z]/ { next }
		{
			kind = / tcp-ulp-mptcp/ ? "mptcp" : "tcp"
			for (i = 1; i <= NF; i++) if ($i ~ /^(reno|cubic|bbr|bbr2|htcp|vegas|westwood|dctcp)$/) { print $i, kind; next }
			print "?", kind
		}' | sort
}

@test "hybrid: the gateways' MPTCP legs use mptcp_congestion on every subflow, their TCP legs the namespace's" {
	# a namespace may default to an algorithm the host allows: reno and the host's own
	local other
	other=$(tr ' ' '\n' < /proc/sys/net/ipv4/tcp_allowed_congestion_control | grep -vx reno | head -n 1)
	echo "the host allows: $(cat /proc/sys/net/ipv4/tcp_allowed_congestion_control); the other: $other"
	[ -n "$other" ]
	# the namespaces' defaults differ from what each policy gives its MPTCP legs
	ip netns exec "$LAB_HCPE" sysctl -qw net.ipv4.tcp_congestion_control="$other"
	ip netns exec "$LAB_HAG" sysctl -qw net.ipv4.tcp_congestion_control=reno
	jq --arg cc "$other" '.mptcp_congestion = $cc' "$BATS_TEST_TMPDIR/hag.json" > "$BATS_TEST_TMPDIR/hag.json.new"
	mv "$BATS_TEST_TMPDIR/hag.json.new" "$BATS_TEST_TMPDIR/hag.json"
	start_both
	s_server 8065 serve 10.4.0.2 8065 --stall "$(slow 3)"
	nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 8065 2000000 > "$BATS_TEST_TMPDIR/h.out" 3>&- &
	local hpid=$!
	# both subflows up: the join, made after the leg was set, must have it too
	flows_with "$LAB_HAG" 2 > /dev/null
	flows_with "$LAB_HCPE" 2 > /dev/null
	# the HCPE: its MPTCP leg's two subflows reno (the policy's default), H's TCP leg the other
	run ccs_of "$LAB_HCPE" '( dport = :8065 or dport = :7011 or sport = :8065 )'
	assert_output "$(printf '%s tcp\nreno mptcp\nreno mptcp' "$other" | sort)"
	# the HAG: the client's subflows the other (its policy), the TCP leg to S reno (the namespace's)
	run ccs_of "$LAB_HAG" '( sport = :8065 or sport = :7011 or dport = :8065 )'
	assert_output "$(printf '%s mptcp\n%s mptcp\nreno tcp' "$other" "$other" | sort)"
	wait "$hpid"
	s_done
	# H's sender printed its digest: S must have printed the same
	run cat "$BATS_TEST_TMPDIR/h.out"
	arrived_at_s "10.1.0.2"
}

@test "hybrid: an mptcp_congestion this kernel lacks stops the start, and a reload to one, naming the field" {
	jq '.mptcp_congestion = "nosuchcc"' "$BATS_TEST_TMPDIR/hag.json" > "$BATS_TEST_TMPDIR/bad.json"
	run ! start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/bad.json"
	grep -F 'mptcp_congestion: "nosuchcc" can'"'"'t be set on an MPTCP socket here' "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	jq '.mptcp_congestion = "Reno!"' "$BATS_TEST_TMPDIR/hag.json" > "$BATS_TEST_TMPDIR/bad.json"
	run "$XMCP" check -c "$BATS_TEST_TMPDIR/bad.json"
	assert_failure
	assert_output --partial 'mptcp_congestion: "Reno!" is not a congestion control'"'"'s name'
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
	cp "$BATS_TEST_TMPDIR/hag.json" "$BATS_TEST_TMPDIR/hag.good"
	jq '.mptcp_congestion = "nosuchcc"' "$BATS_TEST_TMPDIR/hag.good" > "$BATS_TEST_TMPDIR/hag.json"
	kill -HUP "$HAG_PID"
	for _ in $(seq 50); do grep -q "reload refused" "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break; sleep 0.1; done
	grep -F 'mptcp_congestion: "nosuchcc"' "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	kill -0 "$HAG_PID"
}

# http_get NS URL: status, then the body (python: curl may not be installed)
http_get() {
	in_ns "$1" "$PY" -c '
import sys, urllib.request, urllib.error
try:
    r = urllib.request.urlopen(sys.argv[1], timeout=5)
    print(r.status, r.headers["Content-Type"]); sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code)' "$2"
}

@test "hybrid: the metrics listener answers GET /metrics on loopback with what stats --prometheus says" {
	jq '.metrics = "127.0.0.1:9786"' "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	start_both
	transfer 10.4.0.2 8070 200000
	arrived_at_s "10.1.0.2"
	run http_get "$LAB_HAG" http://127.0.0.1:9786/metrics
	assert_line --index 0 "200 text/plain; version=0.0.4; charset=utf-8"
	assert_line "xmcp_steered_total 1"
	assert_line 'xmcp_xdp_packets_total{class="syn_mp_capable"} 1'
	# the same families as the command prints
	local http=$output
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" stats --prometheus
	assert_equal "$(grep '^# TYPE' <<< "$http")" "$(grep '^# TYPE' <<< "$output")"
	run http_get "$LAB_HAG" http://127.0.0.1:9786/
	assert_output "404"
}

# reload_hag JQ: rewrite the HAG's policy with JQ (from the shipped one), SIGHUP, wait for the Nth "reloaded"
reload_hag() {
	local n
	n=$(( $(grep -c '^xmcp: reloaded' "$BATS_TEST_TMPDIR/$LAB_HAG.log" || true) + 1 ))
	jq "$1" "$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	kill -HUP "$HAG_PID"
	for _ in $(seq 50); do
		[ "$(grep -c '^xmcp: reloaded' "$BATS_TEST_TMPDIR/$LAB_HAG.log")" -ge "$n" ] && return 0
		sleep 0.1
	done
	echo "reload $n not applied:"; grep 'reload' "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	return 1
}

@test "hybrid: reloads under load: endpoints and limits change by difference, every transfer arrives intact" {
	start_both
	local p pids=() outs=()
	# three transfers that live through the reloads (S reads after 2 s)
	for p in 8080 8081 8082; do
		s_server "$p" serve 10.4.0.2 "$p" --stall 2
		pids+=("$S_PID")
		nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 "$p" 5000000 \
			> "$BATS_TEST_TMPDIR/h-$p.out" 2>&1 3>&- &
		pids+=($!)
	done
	reload_hag '.subscribers += ["10.99.0.0/16"]'
	# the IPv6 endpoint moves to another port and id; the IPv4 one stays as it is
	reload_hag '.endpoints[1].port = 7012 | .endpoints[1].id = 210 | .limits.subflows = 3'
	run ip -n "$LAB_HAG" mptcp endpoint show
	assert_line --partial "10.3.0.2 port 7011 id 200 signal dev lte"
	assert_line --partial "fd03::2 port 7012 id 210 signal dev lte"
	refute_line --partial "id 201"
	run ip -n "$LAB_HAG" mptcp limits show
	assert_output --partial "subflows 3"
	# the runstate (what detach --all undoes after a crash) follows
	grep -q '210' /run/xmcp/run-"$(stat -L -c %i "/run/netns/$LAB_HAG")".json
	reload_hag '.'
	for p in "${pids[@]}"; do wait "$p"; done
	for p in 8080 8081 8082; do
		echo "H $p: $(cat "$BATS_TEST_TMPDIR/h-$p.out"), S: $(cat "$BATS_TEST_TMPDIR/s-$p.out")"
		assert_equal "$(cat "$BATS_TEST_TMPDIR/s-$p.out")" "$(cat "$BATS_TEST_TMPDIR/h-$p.out") 10.1.0.2"
	done
	run ip -n "$LAB_HAG" mptcp endpoint show
	assert_line --partial "fd03::2 port 7011 id 201 signal dev lte"
	run ip -n "$LAB_HAG" mptcp limits show
	assert_output --partial "subflows 2"
	run summary_of "$LAB_HAG"
	assert_output --regexp '^3 pairs: 3 closed, 0 aborted'
}

# closed_on_7011 PRIORITY: what a previous run's connections leave on the
# HAG's endpoint port when the HAG closed first: one whose peer closed too
# (TIME_WAIT), one whose peer has not yet (FIN_WAIT2), and one whose peer
# stopped reading, with bytes still unsent (FIN_WAIT1), whose socket has
# PRIORITY (the daemon's connections carry 16, XMCP_SOCK_PRIORITY; another
# program's 0). The holder keeps the third one's peer open.
closed_on_7011() {
	in_ns "$LAB_HAG" "$PY" -c '
import socket, sys, time
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("10.3.0.2", 7011)); l.listen()
peers = []
for _ in range(3):
    c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.connect(("10.3.0.2", 7011)); peers.append(c)
s1, s2, s3 = (l.accept()[0] for _ in range(3))
s3.setsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY, int(sys.argv[1]))
s3.setblocking(False)
try:
    while True:
        s3.send(bytes(65536))
except BlockingIOError:
    pass
s1.close(); s2.close(); s3.close(); time.sleep(0.1); peers[0].close(); l.close()
print("ready", flush=True); time.sleep(60)' "$1" > "$BATS_TEST_TMPDIR/holder" 3>&- &
	HOLDER=$!
	for _ in $(seq 50); do grep -q ready "$BATS_TEST_TMPDIR/holder" && break; sleep 0.1; done
	local state
	for state in time-wait fin-wait-2 fin-wait-1; do
		run ss -N "$LAB_HAG" -tan state "$state" '( sport = :7011 )'
		assert_line --partial "10.3.0.2:7011"
	done
}

@test "hybrid: closed connections of a previous run on the HAG's endpoint port (TIME_WAIT, FIN_WAIT2, FIN_WAIT1) do not stop a restart" {
	closed_on_7011 16
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
	kill "$HOLDER"
	grep -q "^xmcp: endpoint 200: removed 3 closed connection(s) holding its port 7011$" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	run ip -n "$LAB_HAG" mptcp endpoint show
	assert_line --partial "10.3.0.2 port 7011 id 200 signal dev lte"
}

@test "hybrid: another program's closed connection with bytes still to send is not destroyed: the daemon says the port is taken" {
	closed_on_7011 0
	run timeout 20 env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" run -c "$BATS_TEST_TMPDIR/hag.json"
	assert_failure 1
	assert_output --partial "removed 2 closed connection(s) holding its port 7011"
	assert_output --partial "cannot add MPTCP endpoint 200 (endpoints[0]): Address already in use"
	# its FIN_WAIT1 is still there, bytes and all
	run ss -N "$LAB_HAG" -tan state fin-wait-1 '( sport = :7011 )'
	assert_line --partial "10.3.0.2:7011"
	kill "$HOLDER"
	# and the failed start left nothing behind
	nothing_left "$LAB_HAG"
}
