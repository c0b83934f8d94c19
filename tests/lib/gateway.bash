# The daemon and peers of the namespace tests (hybrid.bats, mcp.bats): start
# and stop `xmcp run`, run tests/tools/peer.py in the lab's S and H, read
# counters. Needs helpers.bash and lab.bash loaded, and $PINS set: each
# daemon pins under "$PINS-<namespace>".

# mib NS COUNTER: an absolute nstat counter
mib() {
	ip netns exec "$1" nstat -az "$2" | awk -v c="$2" '$1 == c { print $2 }'
}

# stop_daemon PID: SIGTERM, then wait (10 s at most) for it to be gone.
# The daemons are not children of this shell, so `wait` can't be used.
stop_daemon() {
	local i
	# only a real pid: `kill 0` would signal the whole test run
	[[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -gt 1 ] || return 0
	kill -TERM "$1" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	return 1
}

# start_daemon NS POLICY: xmcp run in NS, its log in $BATS_TEST_TMPDIR/NS.log.
# With NETNS_EXEC=1, started by `ip netns exec` as an operator does by hand:
# a mount namespace of its own, with a fresh /sys (and a bpffs the daemon
# mounts there, which no other shell sees).
start_daemon() {
	local ns=$1 log="$BATS_TEST_TMPDIR/$1.log" i enter=(nsenter --net="/run/netns/$1")
	[ "${NETNS_EXEC:-}" != 1 ] || enter=(ip netns exec "$ns")
	# nsenter (or ip) itself, not the in_ns function: $! must be the daemon, not a
	# subshell; and 3>&-: a background process holding bats' fd 3 hangs the run
	XMCP_PIN_DIR="$PINS-$ns" "${enter[@]}" "$XMCP" -v run -c "$2" > "$log" 2>&1 3>&- &
	local pid=$!
	for i in $(seq 100); do
		grep -q "^xmcp: running as" "$log" && break
		# the log to stderr: stdout is the pid the caller keeps (and later kills)
		kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; return 1; }
		sleep 0.1
	done
	if ! grep -q "^xmcp: running as" "$log"; then
		echo "xmcp run did not start within 10 s:" >&2
		cat "$log" >&2
		kill -KILL "$pid"
		return 1
	fi
	echo "$pid"
}

# listen_port NS: the port the daemon started in NS listens on (its log says)
listen_port() {
	sed -n 's|^xmcp: running as .*, listening on 127.0.0.1/\[::1\] port \([0-9]*\)$|\1|p' \
		"$BATS_TEST_TMPDIR/$1.log"
}

# s_server PORT PEER_ARGS...: tests/tools/peer.py PEER_ARGS in S, once it
# listens; its output in $S_OUT, its pid in $S_PID. It gives up after 120 s
# (see slow), so a test that waits for it fails instead of hanging when the
# client's transfer (60 s at most) broke off.
s_server() {
	local port=$1 ready="$BATS_TEST_TMPDIR/ready-$1"
	shift
	S_OUT="$BATS_TEST_TMPDIR/s-$port.out"
	# a server on this port before left its file: only this one's may count
	rm -f "$ready"
	# nsenter itself, not in_ns: $! must be timeout (nsenter execs it), so
	# that `kill "$S_PID"` reaches the server through it, not only a subshell
	nsenter --net="/run/netns/$LAB_S" timeout "$(slow 120)" "$PY" "$PEER" "$@" --ready "$ready" > "$S_OUT" 3>&- &
	S_PID=$!
	wait_for "$ready"
}

# transfer SERVER_ADDR PORT BYTES [--mptcp]: H sends to S; S's output in $S_OUT
transfer() {
	s_server "$2" serve "$1" "$2" ${4:-}
	run timeout "$(slow 60)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send "$1" "$2" "$3" ${4:-}
	s_done
}

# s_done: wait for S's server; if it failed (or gave up), say what H's
# sender (the last `run`) reported, which a failed test would not show
s_done() {
	wait "$S_PID" && return 0
	local rc=$? ns
	echo "S's server ended with $rc; H's sender: status $status: $output" >&2
	# where the bytes stopped: each gateway's sockets (queues, windows, MPTCP state)
	for ns in "${LAB_HCPE:-}" "${LAB_HAG:-}"; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		echo "-- sockets in $ns:" >&2
		ip netns exec "$ns" ss -tanimM 2>&1 | head -n 60 >&2
	done
	return "$rc"
}

# download SERVER_ADDR PORT BYTES: S sends BYTES to H; S's output in $S_OUT
# (its digest and H's address), H's digest in $output: arrived_at_s compares them
download() {
	s_server "$2" source "$1" "$2" "$3"
	run timeout "$(slow 60)" nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" sink "$1" "$2"
	s_done
}

# send_bg SERVER_ADDR PORT BYTES [--stall SECS]: S serves PORT (reading after
# SECS with --stall), and H sends it BYTES in the background; h_done ends it
send_bg() {
	s_server "$2" serve "$1" "$2" ${4:+"$4" "$5"}
	H_OUT="$BATS_TEST_TMPDIR/h-$2.out"
	nsenter --net="/run/netns/$LAB_H" timeout "$(slow 60)" "$PY" "$PEER" send "$1" "$2" "$3" \
		> "$H_OUT" 2>&1 3>&- &
	H_PID=$!
}

# h_done: wait for send_bg's sender and server; H's status and output become
# $status and $output, as `run` would leave them, for arrived_at_s
h_done() {
	wait_job "$H_PID"
	output=$(cat "$H_OUT")
	s_done
}

# flows_with NS N: `xmcp flows -j` of NS once its first pair has N subflows
# (the join takes a round trip or two; 10 s at most, stretched), printed;
# fails, saying what it saw, if that never came
flows_with() {
	local i flows
	for i in $(seq "$(slow 100)"); do
		flows=$(in_ns "$1" "$XMCP" flows -j)
		if [ "$(jq '.flows[0].subflows | length' <<< "$flows")" = "$2" ]; then
			echo "$flows"
			return 0
		fi
		sleep 0.1
	done
	echo "$1: no pair with $2 subflows within $(slow 10) s; the last look: $flows" >&2
	return 1
}

# assert_reset: the peer's output says its connection was reset. Where the
# reset found the client decides the error: in a read (ECONNRESET), in a write
# (EPIPE), or before its shutdown(), which then finds the socket closed (ENOTCONN)
assert_reset() {
	assert_output --regexp "^reset: (ConnectionResetError|BrokenPipeError|ENOTCONN)$"
}

# expect_reset PORT: S resets the connection after 100 kB; H's sender sees the reset
expect_reset() {
	s_server "$1" serve-reset 10.4.0.2 "$1"
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send-until-reset 10.4.0.2 "$1"
	assert_success
	assert_reset
}

# arrived_at_s 'WHAT': the last transfer (upload or download) succeeded, and S
# printed the same digest as H, then WHAT (the client's address, as S saw it)
arrived_at_s() {
	assert_success
	local digest=${output}
	run cat "$S_OUT"
	assert_output "$digest $1"
}

# stop_detach NS PID: a test's teardown of the daemon PID in NS (none: ""):
# SIGTERM, then `detach --all` for whatever a killed one left behind
stop_detach() {
	stop_daemon "$2"
	[ -e "/run/netns/${1:-none}" ] || return 0
	XMCP_PIN_DIR="$PINS-$1" in_ns "$1" "$XMCP" detach --all > /dev/null 2>&1
	return 0
}

# kill_device_gone NS PID DEV: kill -9 the daemon, and wait (5 s at most)
# for its device DEV to go with it; fails if it stays
kill_device_gone() {
	kill -KILL "$2"
	for _ in $(seq 50); do
		ip -n "$1" link show "$3" > /dev/null 2>&1 || return 0
		sleep 0.1
	done
	echo "$3 is still there 5 s after kill -9 of $2" >&2
	return 1
}

# gw_stat NS FILTER: a field of `xmcp stats -j` of the daemon in namespace NS
gw_stat() {
	XMCP_PIN_DIR="$PINS-$1" stat_of "$1" "$2"
}

# gw_stat_is NS FILTER VALUE: the daemon's counter comes to VALUE (it
# publishes its own counters each second: wait up to 3 s for that), and
# asserts it is VALUE then
gw_stat_is() {
	local i
	for i in $(seq 30); do
		[ "$(gw_stat "$1" "$2")" = "$3" ] && break
		sleep 0.1
	done
	assert_equal "$(gw_stat "$1" "$2")" "$3"
}

# cpu_ticks PID: clock ticks (1/100 s) the process has run, user and system
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# assert_rise_at_most COUNTER PID SECS MAX: COUNTER PID (a function printing a
# running total) rose by at most MAX over the next SECS seconds
assert_rise_at_most() {
	local v0 v1
	v0=$("$1" "$2")
	sleep "$3"
	v1=$("$1" "$2")
	echo "$1 of pid $2 rose by $((v1 - v0)) in $3 s (at most $4 allowed)"
	[ $((v1 - v0)) -le "$4" ]
}

# assert_idle_cpu PID SECS: the process used at most 5% of one core over the
# next SECS seconds. A daemon spinning on a socket it ignores uses ~100%: this
# is a correctness check of a loop that must sleep, not a speed measurement.
assert_idle_cpu() {
	assert_rise_at_most cpu_ticks "$1" "$2" $(($2 * 5))
}

# wakeups PID: how often the process has been switched out so far (voluntary
# and not): a loop that sleeps in epoll_wait counts one per wakeup
wakeups() {
	awk '/ctxt_switches/ { n += $2 } END { print n }' "/proc/$1/status"
}

# assert_few_wakeups PID SECS MAX: the process woke at most MAX times over the
# next SECS seconds: one that polls every few milliseconds wakes hundreds of
# times a second, however little each wakeup costs
assert_few_wakeups() {
	assert_rise_at_most wakeups "$1" "$2" "$3"
}

# control_path NS: the control socket of the daemon in namespace NS
control_path() {
	echo "/run/xmcp/control-$(stat -L -c %i "/run/netns/$1").sock"
}

# nothing_left NS: no trace of xmcp in namespace NS: no XDP, clsact, fwmark rule,
# local route, endpoint, pins, or undo journal
nothing_left() {
	local ns=$1
	run ip -n "$ns" -d link show
	refute_output --partial "xdp"
	run tc -n "$ns" qdisc show
	refute_output --partial clsact
	run ip -n "$ns" rule show
	refute_output --partial fwmark
	run ip -n "$ns" -6 rule show
	refute_output --partial fwmark
	run ip -n "$ns" route show table all
	refute_output --partial "table 30829"
	run ip -n "$ns" -6 route show table all
	refute_output --partial "table 30829"
	run ip -n "$ns" mptcp endpoint show
	assert_output ""
	[ ! -e "$PINS-$ns" ]
	[ ! -e "/run/xmcp/run-$(stat -L -c %i "/run/netns/$ns").json" ]
}

# gateways_down PID...: stop those daemons, then whatever a killed one left
# in the gateway namespaces, then the lab and the pins
gateways_down() {
	local pid ns
	for pid in "$@"; do
		stop_daemon "$pid"
	done
	for ns in "$LAB_HCPE" "$LAB_HAG"; do
		[ -e "/run/netns/$ns" ] && XMCP_PIN_DIR="$PINS-$ns" in_ns "$ns" "$XMCP" detach --all >/dev/null 2>&1
	done
	lab_down
	# unset when setup skipped before making a lab: never `rm -rf -*`
	[ -z "${PINS:-}" ] || rm -rf "$PINS"-*
}

# gateway_lab LETTER: a fresh lab (tests/lib/lab.bash) tagged LETTER + random, and
# the pin directory prefix of its daemons; the shipped HCPE and HAG policies,
# written for this lab, copied to the test's directory
gateway_lab() {
	require_mptcp
	TAG="$1$(unique_tag)"
	lab_up "$TAG"
	PINS="/sys/fs/bpf/xmcp-test-$TAG"
	cp "$TOP/policies/hcpe.json" "$TOP/policies/hag.json" "$BATS_TEST_TMPDIR/"
}

# start_both: xmcp run as HCPE and as HAG, from the policies in the test's directory
start_both() {
	HCPE_PID=$(start_daemon "$LAB_HCPE" "$BATS_TEST_TMPDIR/hcpe.json")
	HAG_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/hag.json")
}

# tx_bytes NS DEV: bytes DEV has sent
tx_bytes() {
	ip -n "$1" -s -j link show "$2" | jq '.[0].stats64.tx.bytes'
}
