#!/usr/bin/env bats
# Transparent HAGs behind the operator's routing (docs/scale-out.md):
# subscribers sharded over two HAGs, each announcing its prefix over BGP
# (FRR, started here) while its xmcp runs, a standby announcing both at a
# worse preference; each subscriber's HCPE follows the HAG that answers its
# probes. Topology in tests/lib/hags.bash.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/lab
load ../lib/gateway
load ../lib/frr
load ../lib/scaleout
load ../lib/hags

setup() {
	require_mptcp
	TAG="hs$(unique_tag)"
	PINS="/sys/fs/bpf/xmcp-test-$TAG"
	# the test of lines coming back wants A's answers 50 ms after the standby's
	HS_DELAY_A=
	[[ "$BATS_TEST_DESCRIPTION" != *"(a modem resyncing)"* ]] || HS_DELAY_A=50
	hs_up "$TAG"
	declare -gA HAG_PID=() HCPE_PID=()
	local k
	for k in a b s; do
		hs_hag_policy "$k" "$BATS_TEST_TMPDIR/hag-$k.json"
		HAG_PID[$k]=$(start_daemon "${HS_HAG[$k]}" "$BATS_TEST_TMPDIR/hag-$k.json")
	done
	hs_hcpe_policy 1 a "$BATS_TEST_TMPDIR/hcpe1.json"
	hs_hcpe_policy 2 b "$BATS_TEST_TMPDIR/hcpe2.json"
	for k in 1 2; do
		HCPE_PID[$k]=$(start_daemon "${HS_C[$k]}" "$BATS_TEST_TMPDIR/hcpe$k.json")
	done
	hs_wait_via 10.72.101.0/24 10.72.11.2
	hs_wait_via 10.72.102.0/24 10.72.12.2
}

teardown() {
	local k p
	for p in "${SERVE_PID:-}" "${HOLD_PID:-}" "${KEEP_PID[@]}"; do
		[ -z "$p" ] || { kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; }
	done
	for k in 1 2; do
		stop_detach "${HS_C[$k]:-}" "${HCPE_PID[$k]:-}"
	done
	for k in a b s; do
		stop_detach "${HS_HAG[$k]:-}" "${HAG_PID[$k]:-}"
	done
	hs_down
	for p in "${LAB_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -z "${PINS:-}" ] || rm -rf "$PINS"-*
}

# serve N PORT: the server's load-serve for N connections at PORT, in the background (SERVE_PID)
serve() {
	rm -f "$BATS_TEST_TMPDIR/ready"
	nsenter --net="/run/netns/$HS_RT" timeout "$(slow 120)" "$PY" "$PEER" load-serve "$HS_SERVER" "$2" \
		--count "$1" --ready "$BATS_TEST_TMPDIR/ready" > "$BATS_TEST_TMPDIR/serve.out" 2>&1 3>&- &
	SERVE_PID=$!
	wait_for "$BATS_TEST_TMPDIR/ready"
}

# load_from K N PORT: N connections from subscriber K's host (plain TCP: its HCPE converts them)
load_from() {
	nsenter --net="/run/netns/${HS_H[$1]}" timeout "$(slow 120)" "$PY" "$PEER" load-send "$HS_SERVER" "$3" "$2" \
		--sizes 20000:100000 > "$BATS_TEST_TMPDIR/load$1.out" 2> "$BATS_TEST_TMPDIR/load$1.err" 3>&-
}

# steered K: the MPTCP connections HAG K has terminated
steered() {
	gw_stat "${HS_HAG[$1]}" .steered
}

@test "hags: sharded subscribers: each HCPE converts through its own HAG, each HAG announces its prefix, the server sees the subscribers' addresses, bytes intact; a HAG stopped (SIGTERM) hands its shard to the standby" {
	serve 200 8080
	load_from 1 100 8080 &
	local l1=$!
	load_from 2 100 8080
	wait "$l1"
	wait "$SERVE_PID"
	# each connection's peer at the server is its subscriber's own address
	assert_equal "$(awk '$6 == "ok" && $3 == "10.72.101.2"' "$BATS_TEST_TMPDIR/serve.out" | wc -l)" 100
	assert_equal "$(awk '$6 == "ok" && $3 == "10.72.102.2"' "$BATS_TEST_TMPDIR/serve.out" | wc -l)" 100
	assert_equal "$(steered a)" 100
	assert_equal "$(steered b)" 100
	assert_equal "$(steered s)" 0
	# every join went to the HAG that had its connection (its own signal endpoint), none elsewhere
	local k
	for k in a b s; do
		assert_equal "$(mib "${HS_HAG[$k]}" MPTcpExtMPJoinNoTokenFound)" 0
	done
	[ "$(mib "${HS_HAG[a]}" MPTcpExtMPJoinAckRx)" -gt 0 ]
	[ "$(mib "${HS_HAG[b]}" MPTcpExtMPJoinAckRx)" -gt 0 ]
	assert_equal "$(mib "${HS_HAG[s]}" MPTcpExtMPJoinSynRx)" 0
	# the standby announces both, at a worse preference: the router has it in reserve
	run ip netns exec "$HS_RT" vtysh -N "$HS_RT" -c "show ip bgp 10.72.101.0/24"
	assert_output --partial "65200 65200 65200"
	run env XMCP_PIN_DIR="$PINS-${HS_C[1]}" nsenter --net="/run/netns/${HS_C[1]}" "$XMCP" stats -j
	assert_equal "$(jq -r '.hags.a.active' <<< "$output")" true
	assert_equal "$(jq -r '.hags.s.active' <<< "$output")" false
	assert_equal "$(jq -r '.hags.s.paths["fixed-s"].state' <<< "$output")" up
	assert_equal "$(jq -r '.hags.s.rank' <<< "$output")" 1
	run env XMCP_PIN_DIR="$PINS-${HS_C[1]}" nsenter --net="/run/netns/${HS_C[1]}" "$XMCP" stats --prometheus
	assert_line 'xmcp_hag_active{hag="a"} 1'
	assert_line 'xmcp_hag_active{hag="s"} 0'
	run gw_stat "${HS_HAG[a]}" .announce.probe_port
	assert_output 712
	# B stopped for maintenance (SIGTERM): its prefix withdrawn and its probe port
	# closed first, so its HCPE and the router both go over to the standby
	T0=$(date +%s.%N)
	stop_daemon "${HAG_PID[b]}"
	HAG_PID[b]=
	local t_hcpe
	t_hcpe=$(wait_hcpe_hag 2 s)
	hs_wait_via 10.72.102.0/24 10.72.13.2
	echo "B stopped: HCPE 2 on the standby after $t_hcpe s, the router after $(elapsed) s at most" >&2
	run ip -n "${HS_HAG[b]}" link show xmcp-announce
	assert_failure
	serve 3 8083
	load_from 2 3 8083
	wait "$SERVE_PID"
	assert_equal "$(steered s)" 3
	assert_equal "$(hcpe_hag 1)" a
}

# hold_serve PORT: the server holds connections at PORT until killed (HOLD_PID)
hold_serve() {
	rm -f "$BATS_TEST_TMPDIR/ready"
	nsenter --net="/run/netns/$HS_RT" "$PY" "$PEER" hold-serve "$HS_SERVER" "$1" --ready "$BATS_TEST_TMPDIR/ready" \
		> "$BATS_TEST_TMPDIR/hold.out" 2>&1 3>&- &
	HOLD_PID=$!
	wait_for "$BATS_TEST_TMPDIR/ready"
}

# keep_bg K N SECS: N connections from subscriber K's host, kept busy SECS, in
# the background (KEEP_PID[K]; "kept A of N, lost B" in keepK.out)
keep_bg() {
	rm -f "$BATS_TEST_TMPDIR/kept$1"
	nsenter --net="/run/netns/${HS_H[$1]}" timeout "$(slow 60)" "$PY" "$PEER" keep-n "$HS_SERVER" 8090 "$2" "$3" \
		--ready "$BATS_TEST_TMPDIR/kept$1" > "$BATS_TEST_TMPDIR/keep$1.out" 2>&1 3>&- &
	KEEP_PID[$1]=$!
	wait_for "$BATS_TEST_TMPDIR/kept$1"
}

# hcpe_hag K: the HAG HCPE K sends new connections to now
hcpe_hag() {
	XMCP_PIN_DIR="$PINS-${HS_C[$1]}" nsenter --net="/run/netns/${HS_C[$1]}" "$XMCP" stats -j |
		jq -r '.hags | to_entries[] | select(.value.active) | .key'
}

# wait_hcpe_hag K HAG: until HCPE K has gone over to HAG (15 s at most); prints the seconds since T0
wait_hcpe_hag() {
	local i
	for i in $(seq "$(slow 150)"); do
		if [ "$(hcpe_hag "$1")" = "$2" ]; then
			echo "$(date +%s.%N) - $T0" | bc
			return 0
		fi
		sleep 0.1
	done
	echo "HCPE $1 still sends to HAG $(hcpe_hag "$1"), not $2" >&2
	return 1
}

# elapsed: seconds since T0
elapsed() {
	echo "$(date +%s.%N) - $T0" | bc
}

@test "hags: the primary's xmcp is killed (-9), its box still up: its prefix goes to the standby, its HCPE follows the HAG that answers, its open connections are reset; the other shard goes on untouched" {
	declare -gA KEEP_PID=()
	hold_serve 8090
	keep_bg 1 4 "$(slow 10)"
	keep_bg 2 4 "$(slow 10)"
	local b_before t_route t_hcpe
	b_before=$(steered b)
	T0=$(date +%s.%N)
	kill -KILL "${HAG_PID[a]}"
	HAG_PID[a]=
	hs_wait_via 10.72.101.0/24 10.72.13.2
	t_route=$(elapsed)
	t_hcpe=$(wait_hcpe_hag 1 s)
	echo "xmcp killed on A: the router sends prefix 1 to the standby after $t_route s, HCPE 1 goes over after $t_hcpe s" >&2
	# the box is up (its kernel refuses the probe port now), but only a running xmcp answers the probes
	run nsenter --net="/run/netns/${HS_C[1]}" timeout 3 bash -c 'exec 4<>/dev/tcp/10.72.2.2/712'
	assert_failure
	assert_output --partial "refused"
	# new connections of subscriber 1 are the standby's
	serve 5 8081
	load_from 1 5 8081
	wait "$SERVE_PID"
	assert_equal "$(awk '$6 == "ok" && $3 == "10.72.101.2"' "$BATS_TEST_TMPDIR/serve.out" | wc -l)" 5
	assert_equal "$(steered s)" 5
	# subscriber 1's connections held at the time are gone (reset), subscriber 2's all stayed
	wait "${KEEP_PID[1]}" "${KEEP_PID[2]}"
	run cat "$BATS_TEST_TMPDIR/keep1.out"
	assert_output "kept 0 of 4, lost 4"
	run cat "$BATS_TEST_TMPDIR/keep2.out"
	assert_output "kept 4 of 4, lost 0"
	assert_equal "$(hcpe_hag 2)" b
	assert_equal "$(steered b)" "$b_before"
	grep -q "HAG s: new connections go there now" "$BATS_TEST_TMPDIR/${HS_C[1]}.log"
}

@test "hags: the primary's box dies (silent) and comes back: the standby takes its subscribers' new connections, open ones are reset at once (not left to time out); once the primary runs again its HCPE goes back, and the connections on the standby are reset" {
	declare -gA KEEP_PID=()
	hold_serve 8090
	keep_bg 1 4 "$(slow 20)"
	local t_hcpe t_route dev
	T0=$(date +%s.%N)
	# the box dies: its xmcp, its FRR, its links
	kill -KILL "${HAG_PID[a]}"
	HAG_PID[a]=
	frr_kill "${HS_HAG[a]}"
	for dev in dsl lte wan; do ip -n "${HS_HAG[a]}" link set "$dev" down; done
	t_hcpe=$(wait_hcpe_hag 1 s)
	hs_wait_via 10.72.101.0/24 10.72.13.2
	echo "A's box dead: HCPE 1 on the standby after $t_hcpe s, the router after $(elapsed) s at most" >&2
	# the held connections' legs to the dead box were reset as the HCPE went
	# over (their retransmissions would have held them for minutes)
	run nsenter --net="/run/netns/${HS_C[1]}" ss -tnH state established '( dport = :8090 )'
	assert_output ""
	# connections opened on the standby, held through the failback
	nsenter --net="/run/netns/${HS_H[1]}" timeout "$(slow 60)" "$PY" "$PEER" keep-n "$HS_SERVER" 8090 3 "$(slow 15)" \
		--ready "$BATS_TEST_TMPDIR/onstandby" > "$BATS_TEST_TMPDIR/onstandby.out" 2>&1 3>&- &
	KEEP_PID[3]=$!
	wait_for "$BATS_TEST_TMPDIR/onstandby"
	# the box comes back: links, FRR, xmcp
	T0=$(date +%s.%N)
	for dev in dsl lte wan; do ip -n "${HS_HAG[a]}" link set "$dev" up; done
	hs_hag_routes a
	frr_up "${HS_HAG[a]}" "$(hs_hag_conf a)"
	HAG_PID[a]=$(start_daemon "${HS_HAG[a]}" "$BATS_TEST_TMPDIR/hag-a.json")
	hs_wait_via 10.72.101.0/24 10.72.11.2
	t_route=$(elapsed)
	t_hcpe=$(wait_hcpe_hag 1 a)
	echo "A back (links up, FRR and xmcp started): the router on it after $t_route s, HCPE 1 after $t_hcpe s" >&2
	wait "${KEEP_PID[1]}" "${KEEP_PID[3]}"
	run cat "$BATS_TEST_TMPDIR/keep1.out"
	assert_output "kept 0 of 4, lost 4"
	run cat "$BATS_TEST_TMPDIR/onstandby.out"
	assert_output "kept 0 of 3, lost 3"
	serve 3 8082
	load_from 1 3 8082 || { cat "$BATS_TEST_TMPDIR/load1.err" "$BATS_TEST_TMPDIR/load1.out" "$BATS_TEST_TMPDIR/${HS_HAG[a]}.log" >&2; false; }
	wait "$SERVE_PID"
	assert_equal "$(steered a)" 3
}

# pin_neigh NS PEER DEV: NS's neighbour entry for PEER's address on DEV, permanent
pin_neigh() {
	local addr mac
	addr=$(ip -n "$2" -j -4 addr show dev "$3" | jq -r '.[0].addr_info[0].local')
	mac=$(ip -n "$2" -j link show dev "$3" | jq -r '.[0].address')
	ip -n "$1" neigh replace "$addr" lladdr "$mac" dev "$3" nud permanent
}

# hcpe_states K: the states of HCPE K's paths, each once, sorted ("down", "up", "down up")
hcpe_states() {
	XMCP_PIN_DIR="$PINS-${HS_C[$1]}" nsenter --net="/run/netns/${HS_C[$1]}" "$XMCP" stats -j |
		jq -r '[.hags[].paths[].state] | unique | join(" ")'
}

# wait_states K STATES: until HCPE K's paths are all STATES (15 s at most)
wait_states() {
	local i
	for i in $(seq "$(slow 150)"); do
		[ "$(hcpe_states "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "HCPE $1's paths are '$(hcpe_states "$1")', not '$2'" >&2
	return 1
}

@test "hags: every line of an HCPE lost at once, then back (a modem resyncing): it stays with its HAG, though the standby answers first, and the connections it holds there go on" {
	declare -gA KEEP_PID=()
	hold_serve 8090
	local dev k
	# (A answers 100 ms after the standby, setup's delay lines: when the lines
	# come back, the standby's paths are up a moment before A's, in one round)
	# Both ends' neighbours fixed: the ARP retries of the outage, a second
	# apart, must not decide which HAG's first answer falls in which round
	for dev in dsl lte; do
		for k in a s; do
			pin_neigh "${HS_C[1]}" "${HS_HAG[$k]}" "$dev"
			pin_neigh "${HS_HAG[$k]}" "${HS_C[1]}" "$dev"
		done
	done
	keep_bg 1 4 "$(slow 15)"
	# (their legs to A connected: the client's connect ends at the HCPE)
	local i
	for i in $(seq "$(slow 50)"); do
		[ "$(nsenter --net="/run/netns/${HS_C[1]}" ss -tnH state established '( dport = :8090 )' | wc -l)" -ge 4 ] &&
			break
		sleep 0.1
	done
	# both of HCPE 1's lines lose their carrier at the access node
	for dev in dsl lte; do
		ip -n "$HS_AN" link set "c1$dev" down
	done
	wait_states 1 down
	assert_equal "$(hcpe_hag 1)" a
	for dev in dsl lte; do
		ip -n "$HS_AN" link set "c1$dev" up
	done
	wait_states 1 up
	# never over to the standby, not even for the moment its answers alone were in
	run grep "HAG s: new connections go there now" "$BATS_TEST_TMPDIR/${HS_C[1]}.log"
	assert_failure
	assert_equal "$(hcpe_hag 1)" a
	wait "${KEEP_PID[1]}"
	run cat "$BATS_TEST_TMPDIR/keep1.out"
	assert_output "kept 4 of 4, lost 0"
	# and new connections still go through A
	local a_before
	a_before=$(steered a)
	serve 3 8084
	load_from 1 3 8084
	wait "$SERVE_PID"
	assert_equal "$(steered a)" $((a_before + 3))
	assert_equal "$(steered s)" 0
}
