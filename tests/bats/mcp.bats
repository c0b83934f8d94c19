#!/usr/bin/env bats
# The off-path MCP of the plain mode (draft-boucadair section 5) in the lab of
# tests/lib/lab.bash: the HAG namespace runs `xmcp run` with policies/mcp.json
# (its own addresses 10.2.0.2/fd02::2 on dsl, 10.4.0.1/fd04::1 on wan), the
# HCPE namespace only routes, and H is a Multipath Client that names S in an
# MP_CONVERT at the head of its SYN data (tests/tools/peer.py convert-send).
load helpers
bats_require_minimum_version 1.5.0
load ../lib/lab
load ../lib/gateway

setup() {
	# H's client and the MCP carry the MP_CONVERT head in SYN data
	require_mptcp_fastopen
	gateway_lab c
	cp "$TOP/policies/mcp.json" "$BATS_TEST_TMPDIR/"
	# a server address inside the policy's forbidden 10.4.0.128/25
	ip -n "$LAB_S" addr add 10.4.0.200/24 dev wan
}

teardown() {
	[ -z "${CAP_PID:-}" ] || kill "$CAP_PID" 2>/dev/null || true
	gateways_down "${HCPE_PID:-}" "${MCP_PID:-}"
}

start_mcp() {
	MCP_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/mcp.json")
}

# convert MCP_ADDR MCP_PORT DST DST_PORT BYTES: H's Multipath Client, through the MCP to S
convert() {
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send "$@"
}

# mcp_summary: the daemon's closing account of the MCP (stops it)
mcp_summary() {
	stop_daemon "$MCP_PID"
	MCP_PID=
	grep -o 'mcp: [0-9]* converted.*' "$BATS_TEST_TMPDIR/$LAB_HAG.log"
}

@test "mcp: IPv4: bytes intact both ways, S sees the MCP's address, the head rode in the SYN" {
	start_mcp
	s_server 8080 serve 10.4.0.2 8080
	convert 10.2.0.2 9443 10.4.0.2 8080 3000000
	wait "$S_PID"
	# address sharing: S sees the MCP's own address, not H's
	arrived_at_s "10.4.0.1"
	grep -q "pair 10.1.0.2:[0-9]* -> 10.2.0.2:9443 (client mptcp)" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	# the MP_CONVERT and the first 1000 bytes were SYN data the MCP took
	[ "$(mib "$LAB_HAG" TcpExtTCPFastOpenPassive)" -eq 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_convert.packets)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 1
}

@test "mcp: IPv6, and either family across: IPv4 leg to an IPv6 server and back" {
	start_mcp
	s_server 8081 serve fd04::2 8081
	convert fd02::2 9443 fd04::2 8081 1000000
	wait "$S_PID"
	arrived_at_s "fd04::1"
	s_server 8082 serve fd04::2 8082
	convert 10.2.0.2 9443 fd04::2 8082 1000000
	wait "$S_PID"
	arrived_at_s "fd04::1"
	s_server 8083 serve 10.4.0.2 8083
	convert fd02::2 9443 10.4.0.2 8083 1000000
	wait "$S_PID"
	arrived_at_s "10.4.0.1"
	run mcp_summary
	assert_output --partial "mcp: 3 converted"
}

@test "mcp: an MP_CONVERT without a port means the SYN's own destination port" {
	start_mcp
	s_server 443 serve 10.4.0.2 443
	convert 10.2.0.2 443 10.4.0.2 0 200000
	wait "$S_PID"
	arrived_at_s "10.4.0.1"
}

@test "mcp: a head that comes after the handshake (SYN data dropped on the way) works too" {
	start_mcp
	s_server 8084 serve 10.4.0.2 8084
	convert 10.2.0.2 9443 10.4.0.2 8084 500000 --late
	wait "$S_PID"
	arrived_at_s "10.4.0.1"
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_capable.packets)" 1
	[ "$(mib "$LAB_HAG" TcpExtTCPFastOpenPassive)" -eq 0 ]
}

@test "mcp: the server refuses: the client's MPTCP connection is reset" {
	start_mcp
	# nothing listens on S port 8085
	convert 10.2.0.2 9443 10.4.0.2 8085 100000
	assert_failure 3
	assert_reset
}

@test "mcp: MP_CONVERT in a plain TCP SYN (no MP_CAPABLE) is ignored and counted" {
	start_mcp
	convert 10.2.0.2 9443 10.4.0.2 8080 1000 --tcp
	# left to the MCP's own stack, where nothing listens on that port
	assert_failure 3
	assert_output "reset: ConnectionRefusedError"
	assert_equal "$(gw_stat "$LAB_HAG" .convert_no_mpc)" 1
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 0
}

@test "mcp: the server resets mid-stream: the client's MPTCP connection is reset" {
	start_mcp
	s_server 8089 serve-reset 10.4.0.2 8089
	convert 10.2.0.2 9443 10.4.0.2 8089 5000000
	assert_failure 3
	assert_reset
	run mcp_summary
	assert_output --partial "mcp: 1 converted"
}

@test "mcp: a connection without MP_CONVERT is reset, nothing opened" {
	start_mcp
	run timeout 10 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.2.0.2 9443 1000 --mptcp
	assert_failure
	run mcp_summary
	assert_output --partial "1 without MP_CONVERT"
}

@test "mcp: a source MP_CONVERT inside the client's own allowed prefix is used; any other is not" {
	jq '.transparent_source = ["10.1.0.0/24"]' "$TOP/policies/mcp.json" > "$BATS_TEST_TMPDIR/mcp.json"
	start_mcp
	# H names its own address: S sees it (no address sharing)
	s_server 8086 serve 10.4.0.2 8086
	convert 10.2.0.2 9443 10.4.0.2 8086 300000 --src 10.1.0.2
	wait "$S_PID"
	arrived_at_s "10.1.0.2"
	# a source outside H's prefix (BCP 38): ignored, the MCP's own address is used
	s_server 8087 serve 10.4.0.2 8087
	convert 10.2.0.2 9443 10.4.0.2 8087 300000 --src 192.0.2.9
	wait "$S_PID"
	arrived_at_s "10.4.0.1"
	run mcp_summary
	assert_output --partial "2 converted"
	assert_output --partial "1 source options not allowed"
}

@test "mcp: without transparent_source, a source option is not honoured" {
	start_mcp
	s_server 8088 serve 10.4.0.2 8088
	convert 10.2.0.2 9443 10.4.0.2 8088 100000 --src 10.1.0.2
	wait "$S_PID"
	arrived_at_s "10.4.0.1"
}

# offpath_hcpe MCPS_JSON [TIMEOUT_MS]: the HCPE in off-path mode toward those MCPs
offpath_hcpe() {
	jq --argjson m "$1" --argjson t "${2:-1000}" \
		'.downstream = {"mode": "off-path", "mcps": $m, "connect_timeout_ms": $t}' \
		"$TOP/policies/hcpe.json" > "$BATS_TEST_TMPDIR/hcpe.json"
	HCPE_PID=$(start_daemon "$LAB_HCPE" "$BATS_TEST_TMPDIR/hcpe.json")
}

# hcpe_summary: the HCPE's closing lines (stops it)
hcpe_summary() {
	stop_daemon "$HCPE_PID"
	HCPE_PID=
	grep '^xmcp: MCP ' "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
}

@test "mcp: dual-ended: H's plain TCP -> HCPE (off-path) -> MCP -> S, over both paths" {
	shape_paths 100mbit
	start_mcp
	offpath_hcpe '["10.2.0.2:9443"]'
	local l0
	l0=$(ip -n "$LAB_HCPE" -s -j link show lte | jq '.[0].stats64.tx.bytes')
	transfer 10.4.0.2 8090 20000000
	# plain TCP at both ends; S sees the MCP's address
	arrived_at_s "10.4.0.1"
	grep -q "mcp: converting to 10.4.0.2 port 8090" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	# the MCP's signal endpoint drew a second subflow over lte, which carried a share
	[ "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" -ge 1 ]
	[ $(( $(ip -n "$LAB_HCPE" -s -j link show lte | jq '.[0].stats64.tx.bytes') - l0 )) -gt 1000000 ]
	run hcpe_summary
	assert_output "xmcp: MCP 10.2.0.2:9443: 1 tried, 1 connected, 0 failed"
}

@test "mcp: dual-ended over IPv6: H's plain TCP -> HCPE (off-path) -> MCP -> S, up and down intact" {
	start_mcp
	offpath_hcpe '["[fd02::2]:9443"]'
	transfer fd04::2 8095 3000000
	arrived_at_s "fd04::1"
	download fd04::2 8096 3000000
	arrived_at_s "fd04::1"
	grep -q "mcp: converting to fd04::2 port 8096" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	run hcpe_summary
	assert_output --regexp "^xmcp: MCP \[fd02::2\]:9443: 2 tried, 2 connected, 0 failed$"
}

@test "mcp: failover: the first MCP does not answer, the second takes over; the first waits its turn" {
	start_mcp
	# nothing answers at 10.2.0.99: its connect times out after 300 ms
	offpath_hcpe '["10.2.0.99:9443", "10.2.0.2:9443"]' 300
	transfer 10.4.0.2 8091 100000
	arrived_at_s "10.4.0.1"
	# within retry_after, the failed MCP is passed over
	transfer 10.4.0.2 8092 100000
	arrived_at_s "10.4.0.1"
	run hcpe_summary
	assert_line "xmcp: MCP 10.2.0.99:9443: 1 tried, 0 connected, 1 failed"
	assert_line "xmcp: MCP 10.2.0.2:9443: 2 tried, 2 connected, 0 failed"
}

@test "mcp: proxy selection by destination port: a candidate for port 443 only is not tried for 8094" {
	start_mcp
	offpath_hcpe '[{"mcp": "10.2.0.99:9443", "ports": [443]}, {"mcp": "10.2.0.2:9443", "destinations": ["10.4.0.0/24"]}]'
	transfer 10.4.0.2 8094 100000
	arrived_at_s "10.4.0.1"
	run hcpe_summary
	assert_line "xmcp: MCP 10.2.0.99:9443: 0 tried, 0 connected, 0 failed"
	assert_line "xmcp: MCP 10.2.0.2:9443: 1 tried, 1 connected, 0 failed"
}

@test "mcp: no MCP answers: the LAN client is reset" {
	offpath_hcpe '["10.2.0.99:9443"]' 200
	run timeout 20 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 8093 1000
	assert_failure
	assert_output --partial "ConnectionResetError"
}

# capture_syns NS DEV: tcpdump of the SYNs on DEV in NS, in the background
# ($CAP_PID, into $CAP), once it says it listens
capture_syns() {
	CAP="$BATS_TEST_TMPDIR/$2.pcap"
	local err="$BATS_TEST_TMPDIR/$2.tcpdump"
	# nsenter itself, not in_ns: $! must be tcpdump (nsenter execs it), for
	# SIGINT. --immediate-mode: without it, packets wait in the capture
	# ring's block for up to a second, and SIGINT drops them unwritten
	# (0 captured, 1 received by filter: how the old capture saw nothing)
	nsenter --net="/run/netns/$1" tcpdump -i "$2" -n -U --immediate-mode -w "$CAP" 'tcp[tcpflags] & tcp-syn != 0' 2> "$err" 3>&- &
	CAP_PID=$!
	for _ in $(seq "$(slow 100)"); do
		grep -q 'listening on' "$err" && return 0
		kill -0 "$CAP_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "tcpdump did not start listening:" >&2
	cat "$err" >&2
	return 1
}

# syns FILTER: the captured SYNs that match FILTER (the capture stopped first), one per line
syns() {
	if [ -n "$CAP_PID" ]; then
		kill -INT "$CAP_PID"
		wait_job "$CAP_PID"
		assert_success
		CAP_PID=
	fi
	run --separate-stderr tcpdump -n -r "$CAP" "$1"
	assert_success
}

# refused DST: the MCP resets the client and never opens anything toward DST
refused() {
	start_mcp
	capture_syns "$LAB_S" wan
	local opens
	opens=$(mib "$LAB_HAG" TcpActiveOpens)
	convert 10.2.0.2 9443 "$1" 8080 100000
	assert_failure 3
	assert_reset
	# the MCP's stack opened no connection at all, to DST or anywhere (the
	# wire cannot tell for the MCP's own address, which never leaves it)
	assert_equal "$(mib "$LAB_HAG" TcpActiveOpens)" "$opens"
	# an allowed destination: the capture sees its SYN, so it would have seen DST's
	s_server 8079 serve 10.4.0.2 8079
	convert 10.2.0.2 9443 10.4.0.2 8079 1000
	wait "$S_PID"
	arrived_at_s "10.4.0.1"
	syns "dst host 10.4.0.2 and dst port 8079"
	[ "${#lines[@]}" -ge 1 ]
	# (SYNs without ACK: toward the MCP's own address, S's SYN+ACKs pass)
	syns "dst host $1 and tcp[tcpflags] & tcp-ack == 0"
	assert_output ""
	run mcp_summary
	assert_output --partial "1 to a refused destination"
}

@test "mcp: a destination in the policy's forbidden prefixes is refused, nothing sent to it" {
	refused 10.4.0.200
}

@test "mcp: the MCP's own address is refused (no loops)" {
	refused 10.4.0.1
}

@test "mcp: a non-subscriber's MP_CONVERT SYN is dropped before any socket exists" {
	jq '.subscribers = ["192.0.2.0/24"]' "$TOP/policies/mcp.json" > "$BATS_TEST_TMPDIR/mcp.json"
	start_mcp
	run timeout 4 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send 10.2.0.2 9443 10.4.0.2 8080 1000
	assert_failure
	# every SYN, retransmissions (without the data) too, dropped in XDP: tc saw none
	[ "$(gw_stat "$LAB_HAG" .origin_not_subscriber)" -ge 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .mcp_invalid)" 0
	[ "$(gw_stat "$LAB_HAG" .classes.syn_mp_convert.packets)" -ge 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_convert.tc)" 0
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 0
	[ "$(mib "$LAB_HAG" TcpPassiveOpens)" -eq 0 ]
}

@test "mcp: an MP_CONVERT naming a multicast address is dropped as invalid" {
	start_mcp
	run timeout 10 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send 10.2.0.2 9443 224.0.0.1 8080 1000
	assert_failure
	[ "$(gw_stat "$LAB_HAG" .classes.syn_mp_convert_invalid.packets)" -ge 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_convert_invalid.tc)" 0
	[ "$(gw_stat "$LAB_HAG" .mcp_invalid)" -ge 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .origin_not_subscriber)" 0
	# Linux retries a SYN whose data went unanswered without the data: that
	# one is accepted, the same head then comes in the stream, and is refused
	run mcp_summary
	assert_output --regexp "^mcp: 0 converted; reset: 0 without MP_CONVERT, [01] with a broken one"
}

@test "mcp: SIGTERM leaves nothing behind, the TFO server bit included" {
	local before
	before=$(ip netns exec "$LAB_HAG" sysctl -n net.ipv4.tcp_fastopen)
	start_mcp
	[ $(( $(ip netns exec "$LAB_HAG" sysctl -n net.ipv4.tcp_fastopen) & 2 )) -eq 2 ]
	stop_daemon "$MCP_PID"
	MCP_PID=
	assert_equal "$(ip netns exec "$LAB_HAG" sysctl -n net.ipv4.tcp_fastopen)" "$before"
	run ip -n "$LAB_HAG" -d link show
	refute_output --partial xdp
	[ ! -e "$PINS-$LAB_HAG" ]
}

# log_says NS TEXT: the daemon in NS logs TEXT within 5 s
log_says() {
	local i
	for i in $(seq 50); do
		grep -q "$2" "$BATS_TEST_TMPDIR/$1.log" && return 0
		sleep 0.1
	done
	echo "$1's log does not say '$2':" >&2
	tail -5 "$BATS_TEST_TMPDIR/$1.log" >&2
	return 1
}

@test "mcp: an AF_PACKET socket for IPv4 in the namespace (FRR's bfdd opens one) is warned about, and its end" {
	start_mcp
	# what bfdd does for BFD echo: a raw packet socket of protocol ETH_P_IP
	in_ns "$LAB_HAG" "$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
open(sys.argv[1], "w").close()
time.sleep(3)' "$BATS_TEST_TMPDIR/tap" 3>&- &
	local tap=$!
	wait_for "$BATS_TEST_TMPDIR/tap"
	log_says "$LAB_HAG" "warning: 1 AF_PACKET socket for IPv4/IPv6 in this namespace"
	wait "$tap"
	log_says "$LAB_HAG" "no AF_PACKET socket for IPv4/IPv6 is left in this namespace: steering works again"
	# and it does
	s_server 8096 serve 10.4.0.2 8096
	convert 10.2.0.2 9443 10.4.0.2 8096 100000
	assert_success
	wait "$S_PID"
}

@test "mcp: anycast (IPv4 and IPv6): the shared addresses on the daemon's own device, the C flag, conversions through them; SIGTERM, and kill -9 then detach, take it all back" {
	local before
	before=$(ip netns exec "$LAB_HAG" sysctl -n net.mptcp.allow_join_initial_addr_port)
	jq '.anycast = {"addresses": ["10.90.0.1", "fd90::1"], "device": "xany0", "drain_timeout": 0}' \
		"$BATS_TEST_TMPDIR/mcp.json" > "$BATS_TEST_TMPDIR/any.json"
	MCP_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/any.json")
	run ip -n "$LAB_HAG" -br addr show dev xany0
	assert_output --partial "10.90.0.1/32"
	assert_output --partial "fd90::1/128"
	# the host's own by a route on lo (a drain withdraws the device's, not these)
	run ip -n "$LAB_HAG" route show table local 10.90.0.1 dev lo
	assert_output --partial "local 10.90.0.1"
	run ip -n "$LAB_HAG" -6 route show table local fd90::1 dev lo
	assert_output --partial "local fd90::1"
	assert_equal "$(ip netns exec "$LAB_HAG" sysctl -n net.mptcp.allow_join_initial_addr_port)" 0
	assert_equal "$(gw_stat "$LAB_HAG" .anycast.announced)" true
	# H reaches the shared addresses through the HCPE's default route
	s_server 8097 serve 10.4.0.2 8097
	convert 10.90.0.1 9443 10.4.0.2 8097 100000
	assert_success
	wait "$S_PID"
	s_server 8098 serve fd04::2 8098
	convert fd90::1 9443 fd04::2 8098 100000
	assert_success
	wait "$S_PID"
	stop_daemon "$MCP_PID"
	MCP_PID=
	run ip -n "$LAB_HAG" link show xany0
	assert_failure
	assert_equal "$(ip netns exec "$LAB_HAG" sysctl -n net.mptcp.allow_join_initial_addr_port)" "$before"
	run ip -n "$LAB_HAG" route show table local 10.90.0.1 dev lo
	assert_output ""
	# kill -9: the device goes with the process at once; detach --all undoes the rest
	MCP_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/any.json")
	kill_device_gone "$LAB_HAG" "$MCP_PID" xany0
	MCP_PID=
	XMCP_PIN_DIR="$PINS-$LAB_HAG" in_ns "$LAB_HAG" "$XMCP" detach --all
	assert_equal "$(ip netns exec "$LAB_HAG" sysctl -n net.mptcp.allow_join_initial_addr_port)" "$before"
	run ip -n "$LAB_HAG" -6 route show table local fd90::1 dev lo
	assert_output ""
}

@test "mcp: anycast drain: SIGTERM waits for a connection still waiting for its head, stops once head_timeout has reset it; stats show the drain" {
	jq '.anycast = {"addresses": ["10.90.0.1"], "device": "xany1", "drain_min": 0, "drain_timeout": 20} |
		.head_timeout = 8' "$BATS_TEST_TMPDIR/mcp.json" > "$BATS_TEST_TMPDIR/any.json"
	MCP_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/any.json")
	run in_ns "$LAB_HAG" "$XMCP" stats
	assert_output --partial "anycast: device xany1, announced"
	run in_ns "$LAB_HAG" "$XMCP" stats --prometheus
	assert_line "xmcp_anycast_announced 1"
	assert_line "xmcp_draining 0"
	# one client that sends the first 3 bytes of its head and no more
	nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" partial-heads 10.90.0.1 9443 1 --hold "$(slow 10)" \
		> "$BATS_TEST_TMPDIR/heads.out" 3>&- &
	local heads=$! t0
	for _ in $(seq 50); do [ "$(in_ns "$LAB_HAG" ss -tnH state established '( sport = :9443 )' | wc -l)" -gt 0 ] && break; sleep 0.1; done
	[ "$(in_ns "$LAB_HAG" ss -tnH state established '( sport = :9443 )' | wc -l)" -gt 0 ]
	t0=$SECONDS
	kill -TERM "$MCP_PID"
	sleep 1.5
	# withdrawn, still serving: the connection waits for its head
	kill -0 "$MCP_PID"
	run ip -n "$LAB_HAG" -br addr show dev xany1
	refute_output --partial "10.90.0.1"
	run in_ns "$LAB_HAG" "$XMCP" stats
	assert_output --partial "anycast: device xany1, withdrawn, draining"
	run in_ns "$LAB_HAG" "$XMCP" stats --prometheus
	assert_line "xmcp_draining 1"
	# head_timeout resets it, and the drain ends then, well before drain_timeout
	for _ in $(seq "$(slow 100)"); do kill -0 "$MCP_PID" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "$MCP_PID"
	assert_failure
	MCP_PID=
	echo "stopped $((SECONDS - t0)) s after SIGTERM" >&2
	[ $((SECONDS - t0)) -ge 2 ]
	[ $((SECONDS - t0)) -lt 18 ]
	grep -q "drained, 0 pairs still open" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	wait "$heads"
	run cat "$BATS_TEST_TMPDIR/heads.out"
	assert_output --partial "ended 1 of 1"
}
