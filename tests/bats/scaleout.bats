#!/usr/bin/env bats
# Scale-out (docs/scale-out.md): two MCPs share an anycast address that each
# announces over BGP (FRR, started here) while its xmcp serves it; a router
# spreads first subflows over them by ECMP. Multipath clients (two access
# paths, a subflow endpoint on the second) join the MCP's own address: the C
# flag keeps joins off the shared one. Topology in tests/lib/scaleout.bash.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/gateway
load ../lib/frr
load ../lib/scaleout

setup() {
	require_mptcp
	TAG="so$(unique_tag)"
	PINS="/sys/fs/bpf/xmcp-test-$TAG"
	so_up "$TAG" 2
	MCP_PID=()
	local k
	for k in 1 2; do
		so_policy "$k" "$BATS_TEST_TMPDIR/mcp$k.json"
		MCP_PID[$k]=$(start_daemon "${SO_MCP[$k]}" "$BATS_TEST_TMPDIR/mcp$k.json")
	done
	so_wait_paths 2
	GATE="$BATS_TEST_TMPDIR/gate" STARTED="$BATS_TEST_TMPDIR/started"
}

teardown() {
	local k p
	stop_daemon "${HCPE_PID:-}"
	# the peers first, quietly (bash reports a killed job)
	for p in "${SERVE_PID:-}" "${LOAD_PID:-}" "${ATTEMPTS_PID:-}"; do
		[ -z "$p" ] || { kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; }
	done
	for k in 1 2; do
		stop_detach "${SO_MCP[$k]:-}" "${MCP_PID[$k]:-}"
	done
	so_down
	[ -z "${PINS:-}" ] || rm -rf "$PINS"-*
}

# serve N: S's load server for N connections, in the background (SERVE_PID, its lines in serve.out)
serve() {
	nsenter --net="/run/netns/$SO_S" timeout "$(slow 120)" "$PY" "$PEER" load-serve "$SO_SERVER" 8080 \
		--count "$1" --ready "$BATS_TEST_TMPDIR/ready" > "$BATS_TEST_TMPDIR/serve.out" 2>&1 3>&- &
	SERVE_PID=$!
	wait_for "$BATS_TEST_TMPDIR/ready"
}

# load_bg N NAME [ARGS]: N multipath clients through the anycast MCPs, in the
# background (LOAD_PID); one line each in NAME.out, the account in NAME.err
load_bg() {
	local n=$1 name=$2
	shift 2
	nsenter --net="/run/netns/$SO_CL" timeout "$(slow 120)" "$PY" "$PEER" load-send "$SO_SERVER" 8080 "$n" \
		--via "$SO_ANYCAST:9443" --sizes 20000:60000 "$@" \
		> "$BATS_TEST_TMPDIR/$name.out" 2> "$BATS_TEST_TMPDIR/$name.err" 3>&- &
	LOAD_PID=$!
}

# conns K: MPTCP connections MCP K has taken so far
conns() {
	mib "${SO_MCP[$1]}" MPTcpExtMPCapableSYNRX
}

# subflows_by_token K: "TOKEN LOCAL_ADDRESS" for every MPTCP subflow MCP K has
# open (TOKEN: the client's, which all subflows of one connection share)
subflows_by_token() {
	ip netns exec "${SO_MCP[$1]}" ss -tniH state established |
		awk '/^[0-9]/ { split($3, a, ":"); local = a[1] } /tcp-ulp-mptcp/ {
			match($0, /token:[0-9a-f]*\([^)]*\)\/[0-9a-f]*/); t = substr($0, RSTART, RLENGTH)
			sub(/.*\//, "", t); print t, local }'
}

# wait_joins N: until the MCPs have taken N joins between them (each held
# connection's second subflow; 10 s at most)
wait_joins() {
	local i n
	for i in $(seq "$(slow 100)"); do
		n=$(($(mib "${SO_MCP[1]}" MPTcpExtMPJoinAckRx) + $(mib "${SO_MCP[2]}" MPTcpExtMPJoinAckRx)))
		[ "$n" -ge "$1" ] && return 0
		sleep 0.1
	done
	echo "the MCPs took $n joins, not $1" >&2
	return 1
}

# one_box K: every MPTCP connection on MCP K has its first subflow on the
# anycast address and a join on K's own address, nowhere else; prints the count
one_box() {
	local k=$1 bad
	bad=$(subflows_by_token "$k" | sort -u | awk -v any="$SO_ANYCAST" -v own="10.71.1$k.2" '
		{ n[$1]++; if ($2 == any) a[$1] = 1; else if ($2 == own) o[$1] = 1; else x[$1] = 1 }
		END { for (t in n) if (n[t] != 2 || !a[t] || !o[t] || x[t]) print t }')
	[ -z "$bad" ] || { echo "MCP$k: connections with subflows elsewhere: $bad" >&2; subflows_by_token "$k" >&2; return 1; }
	subflows_by_token "$k" | awk '{ print $1 }' | sort -u | wc -l
}

@test "scaleout: 200 multipath connections over two anycast MCPs: intact, both carry a share, each connection's subflows on one box" {
	serve 200
	load_bg 200 load --gate "$GATE" --started "$STARTED"
	wait_for "$STARTED"
	# (uploads are held open by the gate: their subflows can be looked at)
	local n1 n2 c1 c2
	# (the uploads are past their first half at once: their joins may still be on the way)
	wait_joins 100
	n1=$(one_box 1)
	n2=$(one_box 2)
	echo "held open: $n1 on MCP1, $n2 on MCP2" >&2
	[ "$n1" -gt 0 ]
	[ "$n2" -gt 0 ]
	touch "$GATE"
	wait_job "$LOAD_PID"
	[ "$status" -eq 0 ] || cat "$BATS_TEST_TMPDIR/load.err" >&2
	assert_equal "$status" 0
	wait "$SERVE_PID"
	c1=$(conns 1) c2=$(conns 2)
	echo "connections: $c1 on MCP1, $c2 on MCP2" >&2
	assert_equal "$((c1 + c2))" 200
	# both carry a share, within 3x of each other
	[ "$c1" -le $((3 * c2)) ]
	[ "$c2" -le $((3 * c1)) ]
	# no join went to a box without the connection; the held ones (checked
	# above) each joined their own, the short ones may end before their join
	local k
	for k in 1 2; do
		assert_equal "$(mib "${SO_MCP[$k]}" MPTcpExtMPJoinNoTokenFound)" 0
		[ "$(mib "${SO_MCP[$k]}" MPTcpExtMPJoinAckRx)" -le "$(conns "$k")" ]
		# the C flag is set while the daemon runs (and restored after)
		run ip netns exec "${SO_MCP[$k]}" sysctl -n net.mptcp.allow_join_initial_addr_port
		assert_output 0
	done
	assert_equal "$(gw_stat "${SO_MCP[1]}" .anycast.announced)" true
}

@test "scaleout: drain: SIGTERM withdraws the address, new connections go to the other MCP, open ones finish, then it exits" {
	serve 140
	load_bg 100 held --up --gate "$GATE" --started "$STARTED"
	wait_for "$STARTED"
	local held1 t0 t1 before2
	wait_joins 100
	held1=$(conns 1)
	[ "$held1" -gt 0 ]
	t0=$(date +%s%N)
	kill -TERM "${MCP_PID[1]}"
	so_wait_paths 1
	t1=$(date +%s%N)
	echo "withdrawn at the router in $(((t1 - t0) / 1000000)) ms" >&2
	assert_equal "$(so_paths)" "via 10.71.12.2"
	grep -q "draining: shared addresses withdrawn" "$BATS_TEST_TMPDIR/${SO_MCP[1]}.log"
	assert_equal "$(gw_stat "${SO_MCP[1]}" .anycast.draining)" true
	# new connections meanwhile: all to MCP2
	before2=$(conns 2)
	run timeout "$(slow 60)" nsenter --net="/run/netns/$SO_CL" "$PY" "$PEER" load-send "$SO_SERVER" 8080 40 \
		--via "$SO_ANYCAST:9443" --sizes 1000:5000
	assert_success
	assert_equal "$(conns 1)" "$held1"
	assert_equal "$(conns 2)" "$((before2 + 40))"
	# the draining MCP's connections go on over their joins, to the end
	kill -0 "${MCP_PID[1]}"
	touch "$GATE"
	wait_job "$LOAD_PID"
	[ "$status" -eq 0 ] || cat "$BATS_TEST_TMPDIR/held.err" >&2
	assert_equal "$status" 0
	for _ in $(seq "$(slow 50)"); do kill -0 "${MCP_PID[1]}" 2>/dev/null || break; sleep 0.1; done
	run kill -0 "${MCP_PID[1]}"
	assert_failure
	grep -q "drained, 0 pairs still open" "$BATS_TEST_TMPDIR/${SO_MCP[1]}.log"
	MCP_PID[1]=
	# and it left nothing: the C flag is back, no local route for the address
	run ip netns exec "${SO_MCP[1]}" sysctl -n net.mptcp.allow_join_initial_addr_port
	assert_output 1
	run ip -n "${SO_MCP[1]}" route show table local "$SO_ANYCAST"
	assert_output ""
}

@test "scaleout: an MCP's xmcp killed (-9): its device goes, the address is withdrawn at once; its connections are lost, new ones succeed" {
	serve 100
	load_bg 60 held --up --gate "$GATE" --started "$STARTED"
	wait_for "$STARTED"
	local held1 t0 t1
	wait_joins 60
	held1=$(conns 1)
	t0=$(date +%s%N)
	kill -KILL "${MCP_PID[1]}"
	so_wait_paths 1
	t1=$(date +%s%N)
	echo "withdrawn at the router $(((t1 - t0) / 1000000)) ms after kill -9" >&2
	MCP_PID[1]=
	run timeout "$(slow 60)" nsenter --net="/run/netns/$SO_CL" "$PY" "$PEER" load-send "$SO_SERVER" 8080 40 \
		--via "$SO_ANYCAST:9443" --sizes 1000:5000
	assert_success
	touch "$GATE"
	wait_job "$LOAD_PID"
	# exactly the dead box's connections are lost
	local lost
	lost=$(grep -c -v ' ok$' "$BATS_TEST_TMPDIR/held.out")
	echo "lost $lost of 60 (MCP1 held $held1)" >&2
	assert_equal "$lost" "$held1"
}

# attempts SECS NAME: a new connection every 100 ms for SECS, in the
# background (ATTEMPTS_PID); "EPOCH_MS ok|fail" per attempt (its start) in NAME
attempts() {
	nsenter --net="/run/netns/$SO_CL" timeout "$(slow 60)" bash -c '
		end=$(($(date +%s%N) + $1 * 1000000000))
		while [ "$(date +%s%N)" -lt "$end" ]; do
			t=$(date +%s%N)
			if timeout 2 "$2" "$3" load-send "$4" 8080 1 --via "$5:9443" --sizes 100:100 --deadline 2 \
				>/dev/null 2>&1; then r=ok; else r=fail; fi
			echo "$((t / 1000000)) $r"
			sleep 0.1
		done' _ "$1" "$PY" "$PEER" "$SO_SERVER" "$SO_ANYCAST" > "$BATS_TEST_TMPDIR/$2" 3>&- &
	ATTEMPTS_PID=$!
}

@test "scaleout: an MCP box hangs (silent, link up): the router drops it when the BGP hold time (3 s) runs out; new connections succeed from then on" {
	serve 1000
	attempts 10 tries
	sleep 2
	local t0 t1 last_fail after
	t0=$(($(date +%s%N) / 1000000))
	so_hang 1
	so_wait_paths 1
	t1=$(($(date +%s%N) / 1000000))
	echo "the router dropped the hung MCP $((t1 - t0)) ms after it hung" >&2
	wait "$ATTEMPTS_PID"
	# every attempt over before the hang (they give up after 2 s) succeeded
	run awk -v t="$((t0 - 2000))" '$1 < t && $2 != "ok"' "$BATS_TEST_TMPDIR/tries"
	assert_output ""
	# after it, the last failed attempt started within the hold time and a second
	last_fail=$(awk -v t0="$t0" '$1 >= t0 && $2 == "fail" { l = $1 - t0 } END { print l + 0 }' "$BATS_TEST_TMPDIR/tries")
	after=$(awk -v t="$((t0 + last_fail))" '$1 > t && $2 == "ok"' "$BATS_TEST_TMPDIR/tries" | wc -l)
	echo "attempts failed until $last_fail ms after the hang; $after succeeded after that" >&2
	awk -v t0="$t0" '{ printf "%s%d %s", (NR > 1 ? ", " : "attempts (ms from the hang): "), $1 - t0, $2 } END { print "" }' \
		"$BATS_TEST_TMPDIR/tries" >&2
	[ "$last_fail" -le "$(slow 4000)" ]
	[ "$after" -ge 5 ]
}

@test "scaleout: an off-path HCPE toward the anycast MCPs: a dead first candidate is passed over, connections spread over both, intact" {
	# nothing routes to 10.71.99.1: the router answers unreachable
	so_hcpe "10.71.99.1:9443" "$SO_ANYCAST:9443"
	HCPE_PID=$(start_daemon "$SO_CL" "$BATS_TEST_TMPDIR/hcpe.json")
	serve 41
	# the first connection finds the first candidate dead; from then on it is passed over
	run timeout "$(slow 60)" nsenter --net="/run/netns/$SO_H" "$PY" "$PEER" load-send "$SO_SERVER" 8080 1
	assert_success
	run timeout "$(slow 60)" nsenter --net="/run/netns/$SO_H" "$PY" "$PEER" load-send "$SO_SERVER" 8080 40 \
		--sizes 20000:60000
	assert_success
	wait "$SERVE_PID"
	local c1 c2
	c1=$(conns 1) c2=$(conns 2)
	echo "connections: $c1 on MCP1, $c2 on MCP2" >&2
	assert_equal "$((c1 + c2))" 41
	[ "$c1" -gt 0 ]
	[ "$c2" -gt 0 ]
	# the HCPE's second subflows (its a2 endpoint) joined each box, and only
	# boxes that had the connection (a short one may end before its join)
	local k
	for k in 1 2; do
		assert_equal "$(mib "${SO_MCP[$k]}" MPTcpExtMPJoinNoTokenFound)" 0
		[ "$(mib "${SO_MCP[$k]}" MPTcpExtMPJoinAckRx)" -gt 0 ]
		[ "$(mib "${SO_MCP[$k]}" MPTcpExtMPJoinAckRx)" -le "$(conns "$k")" ]
	done
	stop_daemon "$HCPE_PID"
	HCPE_PID=
	run grep "^xmcp: MCP " "$BATS_TEST_TMPDIR/$SO_CL.log"
	assert_line "xmcp: MCP 10.71.99.1:9443: 1 tried, 0 connected, 1 failed"
	assert_line "xmcp: MCP $SO_ANYCAST:9443: 41 tried, 41 connected, 0 failed"
}

@test "scaleout: an MCP joins (plain ECMP reshuffles): the first subflows moved to it are reset, the multipath connections go on over their joins" {
	# only MCP2 serves at first
	stop_daemon "${MCP_PID[1]}"
	MCP_PID[1]=
	so_wait_paths 1
	serve 60
	load_bg 60 held --up --gate "$GATE" --started "$STARTED"
	wait_for "$STARTED"
	assert_equal "$(conns 2)" 60
	wait_joins 60
	local rst0
	rst0=$(mib "${SO_MCP[1]}" TcpOutRsts)
	MCP_PID[1]=$(start_daemon "${SO_MCP[1]}" "$BATS_TEST_TMPDIR/mcp1.json")
	so_wait_paths 2
	# the held connections' first subflows that now hash to MCP1 meet no socket there
	touch "$GATE"
	wait_job "$LOAD_PID"
	[ "$status" -eq 0 ] || cat "$BATS_TEST_TMPDIR/held.err" >&2
	assert_equal "$status" 0
	local moved=$(($(mib "${SO_MCP[1]}" TcpOutRsts) - rst0))
	echo "resets MCP1 sent to first subflows moved to it: $moved (60 connections, all intact)" >&2
	[ "$moved" -gt 0 ]
	assert_equal "$(conns 1)" 0
}
