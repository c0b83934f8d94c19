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

# --- 2. the control socket and the metrics listener ---

@test "hostile: control socket: root's only; idle clients neither stall relaying nor SIGTERM, and are dropped after 5 s" {
	start_both
	local path
	path=$(control_path "$LAB_HAG")
	run stat -c '%U %a' "$path"
	assert_output "root 600"
	# another user cannot even connect
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
    print("connected")
except PermissionError:
    print("refused")' "$path"
	assert_output "refused"
	# 20 clients that connect and never write (16 are served at a time)
	"$PY" -c '
import socket, sys, time
socks = []
for _ in range(20):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    socks.append(s)
time.sleep(12)' "$path" 3>&- &
	local idle=$!
	sleep 0.5
	# relaying goes on meanwhile
	transfer 10.4.0.2 8200 2000000
	arrived_at_s "10.1.0.2"
	# a client beyond the 16 is turned away at once, not queued behind them
	run timeout 3 env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" flows
	assert_failure
	[ "$status" -ne 124 ]
	# after their 5 s (and the tick that notices), the idle ones are gone and a client is answered again
	sleep 5
	local i
	for i in $(seq 20); do
		run timeout 3 env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" flows
		[ "$status" -eq 0 ] && break
		sleep 0.1
	done
	assert_success
	assert_output --partial "hag: 0 pairs"
	kill "$idle"
	# idle clients again: SIGTERM still ends the daemon at once
	"$PY" -c '
import socket, sys, time
socks = [socket.socket(socket.AF_UNIX) for _ in range(16)]
for s in socks:
    s.connect(sys.argv[1])
time.sleep(10)' "$path" 3>&- &
	idle=$!
	sleep 0.5
	local t0=$SECONDS
	stop_daemon "$HAG_PID"
	HAG_PID=
	kill "$idle"
	[ $((SECONDS - t0)) -le 2 ]
	[ ! -e "$path" ]
}

@test "hostile: the CLI trusts no control socket that is not root's, and reads nonsense without crashing" {
	# no daemon here: a fake one at the daemon's path (only root could put it there)
	local path
	path=$(control_path "$LAB_HAG")
	mkdir -p /run/xmcp
	"$PY" -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
open(sys.argv[2], "w").close()
while True:
    c, _ = s.accept()
    c.recv(64)
    c.sendall(b"{\"flows\": 7, \"role\": [1], \"paths\": \"x\", \"classes\": {\"a\": 1}}")
    c.close()' "$path" "$BATS_TEST_TMPDIR/fake-ready" 3>&- &
	local fake=$!
	for _ in $(seq 50); do [ -e "$BATS_TEST_TMPDIR/fake-ready" ] && break; sleep 0.1; done
	run in_ns "$LAB_HAG" "$XMCP" flows
	# lists that are not lists: printed as nothing, no abort (json-c would have)
	[ "$status" -lt 128 ]
	run in_ns "$LAB_HAG" "$XMCP" flows -j
	assert_success
	# a socket that is not root's is not believed
	chown 65534 "$path"
	run in_ns "$LAB_HAG" "$XMCP" flows
	assert_failure
	assert_output --partial "is not root's socket: refusing to trust"
	kill "$fake" 2>/dev/null || true # it may have ended: the CLI hung up on it unanswered
	rm -f "$path"
}

@test "hostile: metrics: idle, slow and oversized requests are bounded; scrapes go on; a port held by another program is named" {
	jq '.metrics = "127.0.0.1:9180"' "$TOP/policies/hag.json" >"$BATS_TEST_TMPDIR/hag.json"
	start_both
	# 20 connections that send nothing, and one request with 64 KiB of headers
	in_ns "$LAB_HAG" "$PY" -c '
import socket, time
socks = []
for _ in range(20):
    try:
        socks.append(socket.create_connection(("127.0.0.1", 9180), timeout=2))
    except OSError:
        pass
big = socket.create_connection(("127.0.0.1", 9180), timeout=2)
try:
    big.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 65536 + b"\r\n\r\n")
    print("big:", big.recv(64)[:12])
except OSError as e:
    print("big:", type(e).__name__)
time.sleep(4)' >"$BATS_TEST_TMPDIR/slow.out" 2>&1 3>&- &
	local slow=$!
	sleep 0.5
	transfer 10.4.0.2 8201 1000000
	arrived_at_s "10.1.0.2"
	assert_idle_cpu "$HAG_PID" 2
	wait "$slow"
	run cat "$BATS_TEST_TMPDIR/slow.out"
	# the oversized request got no 200: an error status or a closed connection
	refute_output --partial "200"
	# their timeout passed: a scrape is answered
	run in_ns "$LAB_HAG" curl -s --max-time 3 http://127.0.0.1:9180/metrics
	assert_success
	assert_output --partial "xmcp_pairs_opened"
	stop_daemon "$HAG_PID"
	HAG_PID=
	# another program holds the port: the daemon says so and does not start
	in_ns "$LAB_HAG" "$PY" "$PEER" hold-serve 127.0.0.1 9180 --ready "$BATS_TEST_TMPDIR/squat" 3>&- &
	local squat=$!
	for _ in $(seq 50); do [ -e "$BATS_TEST_TMPDIR/squat" ] && break; sleep 0.1; done
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" run -c "$BATS_TEST_TMPDIR/hag.json"
	kill "$squat"
	assert_failure 1
	assert_output --partial "cannot listen for metrics on port 9180: Address already in use (another program holds it"
}

# --- 3. no busy loop on unfinished or broken input ---

@test "hostile: MCP: 8 clients with 3 bytes of a head cost no CPU and are reset after head_timeout; one that sends FIN is reset at once" {
	require_mptcp_fastopen
	jq '.head_timeout = 3' "$TOP/policies/mcp.json" >"$BATS_TEST_TMPDIR/mcp.json"
	MCP_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/mcp.json")
	nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" partial-heads 10.2.0.2 9443 8 --hold "$(slow 10)" \
		>"$BATS_TEST_TMPDIR/heads.out" 3>&- &
	local heads=$!
	sleep 0.5
	assert_idle_cpu "$MCP_PID" 2
	wait "$heads"
	run cat "$BATS_TEST_TMPDIR/heads.out"
	assert_output --regexp "^ended 8 of 8 in [2-5]\.[0-9] s$"
	gw_stat_is "$LAB_HAG" .no_head 8
	# a partial head and then a FIN: nothing more can come, reset now
	run nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" partial-heads 10.2.0.2 9443 1 --fin --hold 5
	assert_output --regexp "^ended 1 of 1 in 0\.[0-9] s$"
	gw_stat_is "$LAB_HAG" .no_head 9
	assert_equal "$(gw_stat "$LAB_HAG" .pairs_opened)" 0
}

@test "hostile: a client that resets while the server leg is still connecting costs no CPU; its pair ends at once" {
	start_both
	# S's answers go nowhere: the HAG's server legs stay in SYN-SENT (for minutes)
	ip -n "$LAB_S" route add blackhole 10.1.0.0/24
	ip -n "$LAB_S" -6 route add blackhole fd01::/64
	# H's TCP through the HCPE: the HCPE passes on what H sent, then the reset
	run timeout 20 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send-reset 10.4.0.2 8202 200000
	assert_success
	sleep 0.5
	assert_idle_cpu "$HAG_PID" 2
	assert_idle_cpu "$HCPE_PID" 2
	gw_stat_is "$LAB_HAG" .pairs_aborted 1
	# H's own MPTCP (it passes the HCPE natively): the HAG's client resets itself
	run timeout 20 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send-reset 10.4.0.2 8207 200000 --mptcp
	assert_success
	sleep 0.5
	assert_idle_cpu "$HAG_PID" 2
	# both pairs ended with their client's reset, none with a connect that failed
	gw_stat_is "$LAB_HAG" .pairs_aborted 2
	assert_equal "$(gw_stat "$LAB_HAG" .connect_failed)" 0
	assert_equal "$(gw_stat "$LAB_HAG" .pairs_active)" 0
}

@test "hostile: out of file descriptors, the daemon sheds and pauses instead of spinning, and recovers" {
	start_both
	# a few descriptors above what the daemon holds now (the soft limit: raising a
	# hard one back may need a capability a container does not give)
	local open soft hard
	open=$(ls /proc/"$HAG_PID"/fd | wc -l)
	read -r soft hard < <(prlimit --pid "$HAG_PID" --nofile --raw --noheadings -o SOFT,HARD)
	prlimit --pid "$HAG_PID" --nofile=$((open + 6)):"$hard"
	s_server 8203 hold-serve 10.4.0.2 8203
	nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" open-n 10.4.0.2 8203 12 --hold 6 \
		>"$BATS_TEST_TMPDIR/open.out" 3>&- &
	local opener=$!
	sleep 1
	assert_idle_cpu "$HAG_PID" 2
	[ "$(gw_stat "$LAB_HAG" .fd_exhausted)" -ge 1 ]
	grep -q "out of file descriptors" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	wait "$opener"
	kill "$S_PID"
	# descriptors back: connections go through again
	prlimit --pid "$HAG_PID" --nofile="$soft":"$hard"
	sleep 1.5
	transfer 10.4.0.2 8204 500000
	arrived_at_s "10.1.0.2"
}

# --- 5. steering only into the daemon's own listener ---

@test "hostile: tc steers SYNs only to the daemon's listener, never to a local user's on the same port (a killed daemon's programs still attached)" {
	start_both
	kill -KILL "$HAG_PID"
	for _ in $(seq 50); do kill -0 "$HAG_PID" 2>/dev/null || break; sleep 0.1; done
	HAG_PID=
	# nobody takes the listen port on loopback while the programs are still there
	local ready
	ready=$(mktemp -u /tmp/xmcp-squat.XXXXXX) # where nobody may write
	in_ns "$LAB_HAG" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PY" "$PEER" hold-serve 127.0.0.1 7010 --ready "$ready" >"$BATS_TEST_TMPDIR/squat.out" 3>&- &
	CANARY_PID=$!
	for _ in $(seq 50); do [ -e "$ready" ] && break; sleep 0.1; done
	rm "$ready"
	run ip netns exec "$LAB_HAG" ss -Hltn 'sport = :7010'
	assert_output --partial "127.0.0.1:7010"
	run timeout 10 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" probe 10.4.0.2 8205
	sleep 0.5
	run cat "$BATS_TEST_TMPDIR/squat.out"
	assert_output ""
	[ "$(gw_stat "$LAB_HAG" .no_listener)" -ge 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 0
}

# --- 6. what a peer sent before its reset still arrives ---

@test "hostile: a server's last bytes before its reset reach the client, then the reset" {
	start_both
	in_ns "$LAB_S" timeout 60 "$PY" "$PEER" serve-then-reset 10.4.0.2 8206 3000000 --ready "$BATS_TEST_TMPDIR/r8206" \
		>"$BATS_TEST_TMPDIR/s8206" 3>&- &
	local srv=$!
	for _ in $(seq 50); do [ -e "$BATS_TEST_TMPDIR/r8206" ] && break; sleep 0.1; done
	# H reads nothing for 3 s: S's bytes wait in the gateways when S resets
	run timeout 60 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" recv-late 10.4.0.2 8206 3
	wait "$srv"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/s8206")" "acked 3000000"
	assert_output "received 3000000 reset"
}
