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
	local p
	for p in ${CANARY_PID:-} "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	gateways_down "${HCPE_PID:-}" "${HAG_PID:-}" "${MCP_PID:-}"
	rm -f "${FAKE_SOCK:-/nonexistent}"
}

# background helpers a test starts, killed by teardown whatever happens
BG_PIDS=()

# canary NS ADDR PORT: a TCP service in NS that prints each connection it
# accepts into $CANARY (so a test can say nothing ever reached it)
canary() {
	CANARY="$BATS_TEST_TMPDIR/canary-$3"
	local ready="$BATS_TEST_TMPDIR/canary-ready-$3"
	rm -f "$ready"
	in_ns "$1" "$PY" "$PEER" hold-serve "$2" "$3" --ready "$ready" >"$CANARY" 3>&- &
	CANARY_PID=$!
	wait_for "$ready"
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
	wait_for "$BATS_TEST_TMPDIR/r8096"
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

@test "hostile: MCP: a spoofed SYN with an MP_CONVERT in its data opens nothing until its sender answers the SYN+ACK" {
	require_mptcp_fastopen
	jq '.head_timeout = 2' "$TOP/policies/mcp.json" >"$BATS_TEST_TMPDIR/mcp.json"
	MCP_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/mcp.json")
	canary "$LAB_S" 10.4.0.2 8095
	# from a subscriber address nobody holds: the SYN+ACK goes nowhere, no ACK comes back;
	# nor does a RST after it (its sequence number is the spoofer's own) prove anything
	syns_to_hag 10.1.0.77 10.2.0.2 9443 3 --mptcp --convert 10.4.0.2:8095
	syns_to_hag 10.1.0.78 10.2.0.2 9443 2 --mptcp --convert 10.4.0.2:8095 --then-rst
	# waiting for their ACKs costs nothing (a look now and then, not a spin)
	assert_idle_cpu "$MCP_PID" 1
	sleep 2
	run cat "$CANARY"
	assert_output ""
	assert_equal "$(gw_stat "$LAB_HAG" .pairs_opened)" 0
	# reset at head_timeout, as a head that never came; the reset ones at once
	assert_equal "$(gw_stat "$LAB_HAG" .no_head)" 5
	# a real client's SYN data is converted as before
	s_server 8096 serve 10.4.0.2 8096
	run timeout "$(slow 30)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send 10.2.0.2 9443 \
		10.4.0.2 8096 100000
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
	BG_PIDS+=("$idle")
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
	BG_PIDS+=("$idle")
	sleep 0.5
	local t0=$SECONDS
	stop_daemon "$HAG_PID"
	HAG_PID=
	kill "$idle"
	[ $((SECONDS - t0)) -le 2 ]
	[ ! -e "$path" ]
}

@test "hostile: control_group: its members (primary or supplementary group) may run xmcp flows; nobody else" {
	# nogroup: a group no test user is in unless put there
	jq '.control_group = "nogroup"' "$BATS_TEST_TMPDIR/hag.json" >"$BATS_TEST_TMPDIR/hag-group.json"
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag-group.json")
	local path gid
	path=$(control_path "$LAB_HAG")
	gid=$(getent group nogroup | cut -d: -f3)
	run stat -c '%U %G %a' "$path"
	assert_output "root nogroup 660"
	local as="env XMCP_PIN_DIR=$PINS-$LAB_HAG nsenter --net=/run/netns/$LAB_HAG setpriv --reuid=65534"
	run $as --regid="$gid" --clear-groups "$XMCP" flows
	assert_success
	assert_output --partial "hag: 0 pairs"
	run $as --regid=1 --groups="$gid" "$XMCP" flows
	assert_success
	assert_output --partial "hag: 0 pairs"
	# neither: the socket's mode stops it before the daemon's own check
	run $as --regid=1 --clear-groups "$XMCP" flows
	assert_failure
	assert_output --partial "permission denied (root only, or the policy's control_group)"
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
	BG_PIDS+=("$fake")
	FAKE_SOCK=$path
	wait_for "$BATS_TEST_TMPDIR/fake-ready"
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

@test "hostile: metrics: idle, slow and oversized requests are bounded; scrapes go on; a metrics or listen port held by another program is named" {
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
	# nsenter itself, not in_ns: $! must be the squatter, not a subshell
	nsenter --net="/run/netns/$LAB_HAG" "$PY" "$PEER" hold-serve 127.0.0.1 9180 --ready "$BATS_TEST_TMPDIR/squat" 3>&- &
	local squat=$!
	wait_for "$BATS_TEST_TMPDIR/squat"
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" run -c "$BATS_TEST_TMPDIR/hag.json"
	kill "$squat"
	assert_failure 1
	assert_output --partial "cannot listen for metrics on port 9180: Address already in use (another program holds it"
	# the squatter held the port to the end: it died of our SIGTERM
	wait_job "$squat"
	assert_equal "$status" 143
	# the listen port: by default one the kernel picks at start, which nobody can hold
	# first; a fixed one (listen_port) another program holds is named like the metrics port
	rm -f "$BATS_TEST_TMPDIR/squat"
	nsenter --net="/run/netns/$LAB_HAG" "$PY" "$PEER" hold-serve 127.0.0.1 7010 --ready "$BATS_TEST_TMPDIR/squat" 3>&- &
	squat=$!
	wait_for "$BATS_TEST_TMPDIR/squat"
	jq 'del(.metrics) | .listen_port = 7010' "$BATS_TEST_TMPDIR/hag.json" >"$BATS_TEST_TMPDIR/hag-7010.json"
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" run -c "$BATS_TEST_TMPDIR/hag-7010.json"
	assert_failure 1
	assert_output --partial "cannot listen on 127.0.0.1 port 7010: Address already in use (another program holds it"
	jq 'del(.metrics) | del(.listen_port)' "$BATS_TEST_TMPDIR/hag.json" >"$BATS_TEST_TMPDIR/hag-any.json"
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag-any.json")
	kill "$squat"
	wait_job "$squat"
	assert_equal "$status" 143
	[ "$(listen_port "$LAB_HAG")" -gt 0 ]
	[ "$(listen_port "$LAB_HAG")" -ne 7010 ]
	transfer 10.4.0.2 8202 100000
	arrived_at_s "10.1.0.2"
}

@test "hostile: metrics: four clients trickling a byte a second from the scraper's own address are cut off after 5 s; the scraper gets in" {
	jq '.metrics = "127.0.0.1:9180"' "$TOP/policies/hag.json" >"$BATS_TEST_TMPDIR/hag.json"
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
	# 4: the most one address may hold; each byte comes before 2 s of silence
	in_ns "$LAB_HAG" "$PY" -c '
import socket, time
socks = [socket.create_connection(("127.0.0.1", 9180), timeout=2) for _ in range(4)]
for s in socks:
    s.setblocking(False)
t0, open_ = time.monotonic(), list(socks)
while open_ and time.monotonic() - t0 < 12:
    for s in list(open_):
        try:
            s.send(b"G" if time.monotonic() - t0 < 0.5 else b"a")
            if s.recv(64) == b"":
                raise ConnectionResetError
        except BlockingIOError:
            continue
        except OSError:
            print(f"cut off after {time.monotonic() - t0:.0f} s", flush=True)
            open_.remove(s)
    time.sleep(1)
print(f"{len(open_)} still open")' >"$BATS_TEST_TMPDIR/trickle.out" 2>&1 3>&- &
	local trickle=$!
	BG_PIDS+=("$trickle")
	sleep 7
	run in_ns "$LAB_HAG" curl -s --max-time 3 http://127.0.0.1:9180/metrics
	assert_success
	assert_output --partial "xmcp_pairs_opened"
	wait "$trickle"
	run cat "$BATS_TEST_TMPDIR/trickle.out"
	assert_line "0 still open"
	assert_equal "$(grep -c '^cut off after [5-7] s$' <<<"$output")" 4
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
	# H's TCP through the HCPE: the HCPE passes on what H sent (20 kB, which the
	# HAG's receive buffer takes), then the reset
	run timeout 20 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send-reset 10.4.0.2 8202 20000
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
	local opener=$! i
	# the opener takes a second per connection: the limit is met after a few
	# (three pairs fit, at two descriptors each, when no pipe is in use)
	for i in $(seq 40); do
		[ "$(gw_stat "$LAB_HAG" .fd_exhausted)" -ge 1 ] && break
		sleep 0.25
	done
	[ "$(gw_stat "$LAB_HAG" .fd_exhausted)" -ge 1 ]
	assert_idle_cpu "$HAG_PID" 2
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

# squat_after_kill PORT: kill -9 the HAG (its programs stay attached), let an
# unprivileged user listen on its listen port, send an MPTCP SYN to S:PORT from
# H: the user's listener is there and got nothing
squat_after_kill() {
	local port
	port=$(listen_port "$LAB_HAG")
	kill -KILL "$HAG_PID"
	for _ in $(seq 50); do kill -0 "$HAG_PID" 2>/dev/null || break; sleep 0.1; done
	HAG_PID=
	# nobody takes the listen port on loopback while the programs are still there
	local ready
	ready=$(mktemp -u /tmp/xmcp-squat.XXXXXX) # where nobody may write
	in_ns "$LAB_HAG" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PY" "$PEER" hold-serve 127.0.0.1 "$port" --ready "$ready" >"$BATS_TEST_TMPDIR/squat.out" 3>&- &
	CANARY_PID=$!
	wait_for "$ready"
	rm "$ready"
	run ip netns exec "$LAB_HAG" ss -Hltn "sport = :$port"
	assert_output --partial "127.0.0.1:$port"
	run timeout 10 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" probe 10.4.0.2 "$1"
	sleep 0.5
	run cat "$BATS_TEST_TMPDIR/squat.out"
	assert_output ""
}

@test "hostile: tc steers SYNs only to the daemon's listener, never to a local user's on the same port (a killed daemon's programs still attached)" {
	# native XDP, so that the steering still runs once the daemon is gone and
	# its listener check is what refuses (with the classifier at tc, the dead
	# daemon's program array is emptied and nothing reaches the steering)
	local f
	for f in hcpe hag; do
		jq '.xdp_mode = "native"' "$BATS_TEST_TMPDIR/$f.json" > "$BATS_TEST_TMPDIR/$f.json.new"
		mv "$BATS_TEST_TMPDIR/$f.json.new" "$BATS_TEST_TMPDIR/$f.json"
	done
	start_both
	squat_after_kill 8205
	[ "$(gw_stat "$LAB_HAG" .no_listener)" -ge 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 0
}

@test "hostile: with the classifier at tc, a killed daemon's classifier hands nothing on: a local user's listener on its port gets no SYN" {
	start_both
	squat_after_kill 8215
	# the classifier still saw the SYN; the steering, reached only through
	# the dead daemon's program array (emptied by the kernel), never did
	[ "$(gw_stat "$LAB_HAG" .classes.syn_mp_capable.packets)" -ge 1 ]
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_mp_capable.tc)" 0
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 0
}

# --- 6. what a peer sent before its reset still arrives ---

@test "hostile: a server's last bytes before its reset reach the client, then the reset" {
	start_both
	in_ns "$LAB_S" timeout 60 "$PY" "$PEER" serve-then-reset 10.4.0.2 8206 3000000 --ready "$BATS_TEST_TMPDIR/r8206" \
		>"$BATS_TEST_TMPDIR/s8206" 3>&- &
	local srv=$!
	wait_for "$BATS_TEST_TMPDIR/r8206"
	# H reads nothing for 3 s: S's bytes wait in the gateways when S resets
	run timeout 60 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" recv-late 10.4.0.2 8206 3
	wait "$srv"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/s8206")" "acked 3000000"
	assert_output "received 3000000 reset"
}

@test "hostile: 40 pairs whose server reset while their client reads nothing cost no CPU while they wait, and deliver it all" {
	start_both
	in_ns "$LAB_S" timeout 60 "$PY" "$PEER" serve-then-reset 10.4.0.2 8207 200000 --count 40 \
		--ready "$BATS_TEST_TMPDIR/r8207" >"$BATS_TEST_TMPDIR/s8207" 3>&- &
	local srv=$!
	wait_for "$BATS_TEST_TMPDIR/r8207"
	nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" recv-late 10.4.0.2 8207 8 --count 40 \
		>"$BATS_TEST_TMPDIR/h8207" 3>&- &
	local h=$!
	BG_PIDS+=("$h")
	wait "$srv"
	assert_equal "$(grep -c 'acked 200000' "$BATS_TEST_TMPDIR/s8207")" 40
	# all 40 wait for H to take their bytes: a look now and then, not a poll every
	# few milliseconds (which woke the HAG ~200 times a second)
	assert_idle_cpu "$HAG_PID" 2
	assert_few_wakeups "$HAG_PID" 2 40
	assert_few_wakeups "$HCPE_PID" 2 40
	wait "$h"
	run cat "$BATS_TEST_TMPDIR/h8207"
	assert_equal "$(grep -c '^received 200000 reset$' <<<"$output")" 40
}

# --- 4. admission that cannot be walked around ---

# hag_class 'JSON' [JQ]: the shipped HAG policy, its default class JSON, then JQ
hag_class() {
	jq --argjson c "$1" ".classes = { default: \$c } ${2:+| $2}" "$TOP/policies/hag.json" >"$BATS_TEST_TMPDIR/hag.json"
}

@test "hostile: SYNs xmcp cannot parse (options past the header, 7 IPv6 extension headers) are dropped on access devices, not let past admission" {
	hag_class '{"syn_rate": 20, "syn_burst": 20}'
	start_both
	s_server 8210 hold-serve 10.4.0.2 8210
	local before
	before=$(mib "$LAB_S" TcpExtListenOverflows)
	syns_to_hag 10.1.0.99 10.4.0.2 8210 200 --mptcp --overrun
	syns_to_hag fd01::99 fd04::2 8210 50 --mptcp --ext 7
	sleep 0.5
	assert_equal "$(gw_stat "$LAB_HAG" .malformed_dropped)" 250
	assert_equal "$(gw_stat "$LAB_HAG" .malformed.tcp_opt)" 200
	assert_equal "$(gw_stat "$LAB_HAG" .malformed.ip6_ext)" 50
	# not one reached S
	assert_equal "$(mib "$LAB_S" TcpExtTCPReqQFullDrop)$(mib "$LAB_S" TcpPassiveOpens)" "00"
	assert_equal "$(mib "$LAB_S" TcpExtListenOverflows)" "$before"
	kill "$S_PID"
}

@test "hostile: an MPTCP SYN that also carries TCP-MD5 or an MP_JOIN is held to the rate and the origin check all the same" {
	hag_class '{"syn_rate": 10, "syn_burst": 10}' '.origin_check = true | .subscribers += ["10.2.0.0/24", "10.3.0.0/24"]'
	start_both
	syns_to_hag 10.1.0.98 10.4.0.2 8211 100 --mptcp --md5
	syns_to_hag 10.1.0.97 10.4.0.2 8211 100 --join 1234abcd --md5
	local limited
	limited=$(gw_stat "$LAB_HAG" .syn_rate_limited)
	echo "rate-limited: $limited of 200"
	# each address: its burst of 10 passes, the rest (but what a second refills) is dropped
	[ "$limited" -ge 170 ]
	assert_equal "$(gw_stat "$LAB_HAG" .classes.syn_tcp_auth.packets)" 200
	# from outside the subscriber prefixes: dropped as any MPTCP SYN would be
	syns_to_hag 10.9.0.1 10.4.0.2 8211 5 --mptcp --md5
	syns_to_hag 10.9.0.1 10.4.0.2 8211 5 --join 1234abcd --md5
	assert_equal "$(gw_stat "$LAB_HAG" .origin_not_subscriber)" 10
}

@test "hostile: a join SYN cannot pass the subflow limit with a second MP_JOIN after its own, nor with a SYN+ACK's" {
	hag_class '{"max_subflows": 1}'
	# the HCPE takes no announcement, so makes no join of its own: its
	# dropped join SYN and that SYN's retransmissions (a second later, and
	# so in or out of the count's window by timing) would blur the count of
	# the crafted ones (once 17 for 16 in CI)
	jq '.limits.add_addr_accepted = 0' "$TOP/policies/hcpe.json" > "$BATS_TEST_TMPDIR/hcpe.json"
	start_both
	s_server 8212 serve 10.4.0.2 8212 --stall 6
	nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send 10.4.0.2 8212 2000000 >"$BATS_TEST_TMPDIR/h.out" 3>&- &
	local h=$! token= i
	BG_PIDS+=("$h")
	for i in $(seq 50); do
		# the key's bytes in host (little-endian) order, printed as the token's hex
		token=$(in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_joins" |
			jq -r '.[0].key // empty | reverse | map(.[2:]) | add')
		[ -n "$token" ] && break
		sleep 0.1
	done
	[ -n "$token" ]
	local dropped
	dropped=$(gw_stat "$LAB_HAG" .join_over_limit)
	assert_equal "$dropped" 0
	# to the HAG's announced address, where the kernel takes joins: its token, then a 24-byte
	# MP_JOIN the kernel only takes flags from; and a lone 16-byte one
	syns_to_hag 10.1.0.2 10.3.0.2 7011 5 --join "$token"
	syns_to_hag 10.1.0.2 10.3.0.2 7011 5 --join "$token" --join-ack
	syns_to_hag 10.1.0.2 10.3.0.2 7011 5 --join16
	sleep 0.5
	assert_equal "$(gw_stat "$LAB_HAG" .join_over_limit)" "$((dropped + 15))"
	assert_equal "$(mib "$LAB_HAG" MPTcpExtMPJoinSynRx)" 0
	# the connection itself goes on intact
	wait "$h"
	wait "$S_PID"
	run cat "$BATS_TEST_TMPDIR/h.out"
	arrived_at_s "10.1.0.2"
}

@test "hostile: IPv6 subscribers count by /64 (sessions and SYN buckets); IPv4-mapped sources are dropped; the session table never underflows" {
	hag_class '{"max_sessions": 2, "syn_rate": 1000, "syn_burst": 1000}'
	start_both
	ip -n "$LAB_H" addr add fd01::3/64 dev lan nodad
	ip -n "$LAB_H" addr add fd01::4/64 dev lan nodad
	s_server 8212 hold-serve fd04::2 8212
	# three addresses of one /64, one connection each: the third is over max_sessions
	local clients=()
	for src in fd01::2 fd01::3 fd01::4; do
		# a reset may come as soon as the connect (CI saw it there once): it counts the same
		nsenter --net="/run/netns/$LAB_H" "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6)
s.bind((sys.argv[1], 0))
s.settimeout(5)
try:
    s.connect(("fd04::2", 8212))
    s.sendall(b"x")
except (ConnectionResetError, BrokenPipeError):
    print("reset", flush=True)
    sys.exit()
s.settimeout(1)
try:
    print("reset" if s.recv(1) == b"" else "ok", flush=True)
except socket.timeout:
    print("ok", flush=True)
except OSError:
    print("reset", flush=True)
time.sleep(4)' "$src" >>"$BATS_TEST_TMPDIR/v6.out" 3>&- &
		clients+=($!)
		sleep 1.3
	done
	run cat "$BATS_TEST_TMPDIR/v6.out"
	assert_output "$(printf 'ok\nok\nreset')"
	# the count sits under the /64, the low 64 bits zero
	run in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_sessions"
	assert_equal "$(jq -c '[.[] | .formatted.key.a]' <<<"$output")" \
		"[[253,1,0,0,0,0,0,0,0,0,0,0,0,0,0,0]]"
	assert_equal "$(jq -c '[.[] | .formatted.value]' <<<"$output")" "[2]"
	wait "${clients[@]}"
	# all closed: nothing left, and no count wrapped below zero
	gw_stat_is "$LAB_HAG" .pairs_active 0
	run in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_sessions"
	assert_output "[]"
	# an IPv6 SYN from ::ffff:10.1.0.2 never draws from 10.1.0.2's bucket
	syns_to_hag ::ffff:10.1.0.2 fd04::2 8212 5 --mptcp
	assert_equal "$(gw_stat "$LAB_HAG" .bad_source)" 5
	run in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_syn_bkt"
	assert_equal "$(jq '[.[] | select(.formatted.key.a[12:16] == [10, 1, 0, 2])] | length' <<<"$output")" 0
	kill "$S_PID"
}

@test "hostile: a full session table refuses new sessions instead of letting them past the limit" {
	hag_class '{"max_sessions": 5}'
	start_both
	# fill the table (65536 subscribers with sessions) with other addresses
	local batch="$BATS_TEST_TMPDIR/fill" i
	for i in $(seq 0 65535); do
		printf 'map update pinned %s key 0 0 0 0 0 0 0 0 0 0 255 255 100 %d %d 1 value 1 0 0 0\n' \
			"$PINS-$LAB_HAG/xmcp_sessions" $((i / 256)) $((i % 256))
	done >"$batch"
	in_ns "$LAB_HAG" bpftool batch file "$batch" >/dev/null
	s_server 8213 hold-serve 10.4.0.2 8213
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" open-n 10.4.0.2 8213 1
	assert_output "reset"
	kill "$S_PID"
	gw_stat_is "$LAB_HAG" .sessions_refused 1
	grep -q "the session table is full" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	# one slot free: admitted, counted, and gone again when it closes
	in_ns "$LAB_HAG" bpftool map delete pinned "$PINS-$LAB_HAG/xmcp_sessions" key 0 0 0 0 0 0 0 0 0 0 255 255 100 0 0 1
	transfer 10.4.0.2 8214 100000
	arrived_at_s "10.1.0.2"
	gw_stat_is "$LAB_HAG" .pairs_active 0
	run in_ns "$LAB_HAG" bpftool map lookup pinned "$PINS-$LAB_HAG/xmcp_sessions" key 0 0 0 0 0 0 0 0 0 0 255 255 10 1 0 2
	assert_failure
}

@test "hostile: a spoofed SYN+ACK with MP_CAPABLE teaches the HAG nothing; the server's real answer does" {
	jq '.modes = {"default": "hybrid", "learned_lifetime": 600}' "$TOP/policies/hag.json" >"$BATS_TEST_TMPDIR/hag.json"
	start_both
	local mac
	mac=$(ip -n "$LAB_HAG" -j link show wan | jq -r '.[0].address')
	# from S's side, SYN+ACKs "from" S:8215 to a subscriber, answering nothing
	in_ns "$LAB_S" "$PY" "$TOP/tests/tools/synflood.py" wan "$mac" 10.4.0.2 10.1.0.2 40000 20 --synack >/dev/null
	sleep 0.3
	assert_equal "$(gw_stat "$LAB_HAG" .learned)" 0
	[ "$(gw_stat "$LAB_HAG" .synack_not_ours)" -ge 1 ]
	run in_ns "$LAB_HAG" bpftool -j map dump pinned "$PINS-$LAB_HAG/xmcp_learned"
	assert_output "[]"
}

# --- 5. crash, signal and reload windows ---

# signal_hag_after SIG DELAY: start the HAG's daemon, send it SIG after DELAY
# seconds, wait for it to end; prints its pid
signal_hag_after() {
	local pid
	XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" run -c "$BATS_TEST_TMPDIR/hag.json" \
		>"$BATS_TEST_TMPDIR/run.log" 2>&1 3>&- &
	pid=$!
	sleep "$2"
	kill -"$1" "$pid"
	wait "$pid" || true
	echo "$pid"
}

@test "hostile: killed at any moment of its setup, or after, the daemon's next start cleans up and starts; SIGTERM during setup leaves nothing" {
	local limits_before delay pid
	limits_before=$(ip -n "$LAB_HAG" mptcp limits show)
	for delay in 0.02 0.05 0.1 0.2 0.4 3; do
		pid=$(signal_hag_after KILL "$delay")
	done
	# after the last kill (a running daemon): a new one starts cleanly, no detach needed
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
	grep -q "cleaned up after an xmcp run (pid $pid) that did not exit cleanly" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	stop_daemon "$HAG_PID"
	HAG_PID=
	nothing_left "$LAB_HAG"
	assert_equal "$(ip -n "$LAB_HAG" mptcp limits show)" "$limits_before"
	# SIGTERM in the middle of setup: signals wait until it is done, then it all goes
	for delay in 0.02 0.1 0.3; do
		signal_hag_after TERM "$delay" >/dev/null
		nothing_left "$LAB_HAG"
	done
	assert_equal "$(ip -n "$LAB_HAG" mptcp limits show)" "$limits_before"
}

# journal_of NS: the undo journal of the daemon in namespace NS
journal_of() {
	echo "/run/xmcp/run-$(stat -L -c %i "/run/netns/$1").json"
}

@test "hostile: a killed daemon's pid taken by another process named xmcp is not taken for the daemon" {
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
	kill -KILL "$HAG_PID"
	for _ in $(seq 50); do kill -0 "$HAG_PID" 2>/dev/null || break; sleep 0.1; done
	HAG_PID=
	# what a reused pid looks like: a live process called xmcp, started later
	cp /bin/sleep "$BATS_TEST_TMPDIR/xmcp"
	"$BATS_TEST_TMPDIR/xmcp" 60 3>&- &
	local impostor=$! journal
	BG_PIDS+=("$impostor")
	journal=$(journal_of "$LAB_HAG")
	jq --argjson p "$impostor" '.pid = $p' "$journal" >"$journal.new"
	mv "$journal.new" "$journal"
	# reload does not signal it (sleep would die of SIGHUP)
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" reload
	assert_failure
	assert_output --partial "no xmcp run in this network namespace"
	kill -0 "$impostor"
	# a new daemon cleans up after the dead one and starts
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
	grep -q "cleaned up after an xmcp run (pid $impostor) that did not exit cleanly" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	kill -0 "$impostor"
}

@test "hostile: a journal left by a dead namespace whose inode this one reuses is not undone here" {
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
	kill -KILL "$HAG_PID"
	for _ in $(seq 50); do kill -0 "$HAG_PID" 2>/dev/null || break; sleep 0.1; done
	HAG_PID=
	# the same file, as a dead namespace of the same inode would have left it
	local journal
	journal=$(journal_of "$LAB_HAG")
	jq '.netns_cookie = 1' "$journal" >"$journal.new"
	mv "$journal.new" "$journal"
	grep -q '"op": *"limits"' "$journal"
	# this namespace's own settings since then: not the dead one's to undo
	ip -n "$LAB_HAG" mptcp limits set subflows 5 add_addr_accepted 5
	run env XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" detach --all
	assert_success
	assert_output --partial "was left by a daemon of a network namespace that no longer exists"
	run ip -n "$LAB_HAG" mptcp limits show
	assert_output --partial "subflows 5"
	[ ! -e "$journal" ]
	[ ! -e "$PINS-$LAB_HAG" ]
}

@test "hostile: a reload that fails half way undoes all of it: endpoints and limits as they were, the running policy stays" {
	start_both
	local before limits
	before=$(ip -n "$LAB_HAG" mptcp endpoint show)
	limits=$(ip -n "$LAB_HAG" mptcp limits show)
	# another program's endpoint holds id 210: the new policy's second endpoint can't be added
	ip -n "$LAB_HAG" mptcp endpoint add 10.3.0.2 id 210 dev lte
	before=$(ip -n "$LAB_HAG" mptcp endpoint show)
	jq '.limits = {"subflows": 4, "add_addr_accepted": 3}
	    | .endpoints = [{"address": "10.3.0.2", "interface": "lte", "flags": ["signal"], "port": 7012, "id": 205},
	                    {"address": "10.3.0.2", "interface": "lte", "flags": ["signal"], "port": 7013, "id": 210}]' \
		"$BATS_TEST_TMPDIR/hag.json" >"$BATS_TEST_TMPDIR/hag.new"
	mv "$BATS_TEST_TMPDIR/hag.new" "$BATS_TEST_TMPDIR/hag.json"
	in_ns "$LAB_HAG" "$XMCP" reload
	for _ in $(seq 50); do grep -q "reload refused" "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break; sleep 0.1; done
	grep -q "reload refused: the running policy stays" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	assert_equal "$(ip -n "$LAB_HAG" mptcp endpoint show)" "$before"
	assert_equal "$(ip -n "$LAB_HAG" mptcp limits show)" "$limits"
	# and the running policy still works, join included
	transfer 10.4.0.2 8220 3000000
	arrived_at_s "10.1.0.2"
	ip -n "$LAB_HAG" mptcp endpoint delete id 210
}

@test "hostile: subscriber prefixes are masked to their length: 10.1.0.5/24 reloaded as 10.1.0.0/24 keeps H a subscriber" {
	jq '.subscribers = ["10.1.0.5/24", "fd01::/64"]' "$TOP/policies/hag.json" >"$BATS_TEST_TMPDIR/hag.json"
	start_both
	transfer 10.4.0.2 8221 100000
	arrived_at_s "10.1.0.2"
	jq '.subscribers = ["10.1.0.0/24", "fd01::/64"]' "$TOP/policies/hag.json" >"$BATS_TEST_TMPDIR/hag.json"
	in_ns "$LAB_HAG" "$XMCP" reload
	for _ in $(seq 50); do grep -q "reloaded" "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break; sleep 0.1; done
	transfer 10.4.0.2 8222 100000
	arrived_at_s "10.1.0.2"
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" 2
	assert_equal "$(gw_stat "$LAB_HAG" .not_subscriber)" 0
}

@test "hostile: a policy file others can write, or in a directory others can write, is refused, at start and at reload; the running policy stays" {
	chmod 0666 "$BATS_TEST_TMPDIR/hag.json"
	run in_ns "$LAB_HAG" "$XMCP" check -c "$BATS_TEST_TMPDIR/hag.json"
	assert_failure 1
	assert_output --partial "refused: writable by others than its owner"
	chmod 0644 "$BATS_TEST_TMPDIR/hag.json"
	# its directory too: group-writable, or another user's, lets others swap the file
	local dir="$BATS_TEST_TMPDIR/policies"
	mkdir -m 0775 "$dir"
	cp "$BATS_TEST_TMPDIR/hag.json" "$dir/"
	run in_ns "$LAB_HAG" "$XMCP" check -c "$dir/hag.json"
	assert_failure 1
	assert_output --partial "refused: its directory $dir can be written by others than root and you"
	chmod 0755 "$dir"
	chown 65534 "$dir"
	run in_ns "$LAB_HAG" "$XMCP" check -c "$dir/hag.json"
	assert_failure 1
	assert_output --partial "refused: its directory $dir can be written by others"
	chown 0 "$dir"
	run in_ns "$LAB_HAG" "$XMCP" check -c "$dir/hag.json"
	assert_success
	start_both
	chmod 0666 "$BATS_TEST_TMPDIR/hag.json"
	in_ns "$LAB_HAG" "$XMCP" reload
	for _ in $(seq 50); do grep -q "reload refused" "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break; sleep 0.1; done
	grep -q "writable by others than its owner" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	transfer 10.4.0.2 8223 100000
	arrived_at_s "10.1.0.2"
}

# --- 2. least privilege, and readiness for systemd ---

@test "hostile: once set up, the daemon holds CAP_NET_ADMIN, CAP_BPF and CAP_NET_BIND_SERVICE only, with no_new_privs; it still reloads and tears down" {
	start_both
	local want=0000008000001400 # bits 10 (NET_BIND_SERVICE), 12 (NET_ADMIN), 39 (BPF)
	run grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' "/proc/$HAG_PID/status"
	assert_line "CapEff:	$want"
	assert_line "CapPrm:	$want"
	assert_line "CapBnd:	$want"
	assert_line "NoNewPrivs:	1"
	# all of it still works with that little
	in_ns "$LAB_HAG" "$XMCP" reload
	for _ in $(seq 50); do grep -q '^xmcp: reloaded' "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break; sleep 0.1; done
	grep -q '^xmcp: reloaded' "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	transfer 10.4.0.2 8230 1000000
	arrived_at_s "10.1.0.2"
	stop_daemon "$HAG_PID"
	HAG_PID=
	nothing_left "$LAB_HAG"
}

@test "hostile: systemd's readiness protocol: READY once the datapath is in place, RELOADING and READY around a reload, STOPPING at the end" {
	local sock="$BATS_TEST_TMPDIR/notify" out="$BATS_TEST_TMPDIR/notify.out"
	"$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2] + ".ready", "w").close()
while True:
    print(s.recv(4096).decode().replace("\n", " "), flush=True)' "$sock" "$out" >"$out" 3>&- &
	BG_PIDS+=($!)
	wait_for "$out.ready"
	NOTIFY_SOCKET=$sock XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" "$XMCP" run \
		-c "$BATS_TEST_TMPDIR/hag.json" >"$BATS_TEST_TMPDIR/$LAB_HAG.log" 2>&1 3>&- &
	HAG_PID=$!
	for _ in $(seq 100); do grep -q READY "$out" && break; sleep 0.1; done
	# ready means ready: the programs are attached when it says so (the
	# classifier at tc, auto's choice on veth)
	run tc -n "$LAB_HAG" filter show dev dsl ingress
	assert_output --partial "xmcp_tc_class"
	kill -HUP "$HAG_PID"
	for _ in $(seq 50); do [ "$(grep -c READY "$out")" -ge 2 ] && break; sleep 0.1; done
	stop_daemon "$HAG_PID"
	HAG_PID=
	run cat "$out"
	assert_line --index 0 --regexp '^READY=1 STATUS=running as hag'
	assert_line --index 1 "RELOADING=1"
	assert_line --index 2 "READY=1"
	assert_line --index 3 "STOPPING=1"
}
