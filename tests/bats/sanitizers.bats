#!/usr/bin/env bats
# The daemon's C under the sanitizers, on real traffic: the unit tests and a
# build of xmcp with AddressSanitizer and UBSan (build/san, `make`), running
# the relay (HCPE, HAG) and the MCP's heads through what the hostile suite
# throws at them; and the daemon once under valgrind's memcheck. Any report
# fails the test.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/lab
load ../lib/gateway

XMCP="$TOP/build/san/xmcp"
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

setup() {
	gateway_lab z
}

teardown() {
	gateways_down "${HCPE_PID:-}" "${HAG_PID:-}" "${MCP_PID:-}"
}

# no_reports: neither daemon's log has a sanitizer's report, and each ended cleanly
no_reports() {
	local f
	for f in "$BATS_TEST_TMPDIR"/*.log; do
		run grep -E 'AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$f"
		if [ "$status" -eq 0 ]; then
			cat "$f"
			fail "a sanitizer reported in $f"
		fi
	done
}

@test "sanitizers: the C unit tests under ASan and UBSan" {
	local t
	for t in mp_convert policy journal dest relay; do
		run "$TOP/build/san/test_$t"
		assert_success
		refute_output --partial "not ok"
		assert_line --regexp '^1\.\.[0-9]+$'
	done
}

@test "sanitizers: HCPE and HAG under ASan and UBSan: up, down, resets, a server's last bytes, reload, control clients, SIGTERM" {
	start_both
	transfer 10.4.0.2 8400 3000000
	arrived_at_s "10.1.0.2"
	# down: S sends, H reads
	download 10.4.0.2 8401 3000000
	arrived_at_s "10.1.0.2"
	expect_reset 8402
	in_ns "$LAB_S" timeout 60 "$PY" "$PEER" serve-then-reset 10.4.0.2 8403 1000000 \
		--ready "$BATS_TEST_TMPDIR/r8403" >/dev/null 3>&- &
	wait_for "$BATS_TEST_TMPDIR/r8403"
	run timeout 60 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" recv-late 10.4.0.2 8403 1
	assert_output "received 1000000 reset"
	run timeout 10 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" send-reset 10.4.0.2 8404 100000
	in_ns "$LAB_HAG" "$XMCP" flows -j >/dev/null
	gw_stat "$LAB_HAG" . >/dev/null
	in_ns "$LAB_HAG" "$XMCP" reload
	for _ in $(seq 50); do grep -q '^xmcp: reloaded' "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break; sleep 0.1; done
	transfer 10.4.0.2 8405 500000
	arrived_at_s "10.1.0.2"
	stop_daemon "$HCPE_PID"
	stop_daemon "$HAG_PID"
	HCPE_PID= HAG_PID=
	grep -q "shutting down" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	no_reports
}

@test "sanitizers: the HCPE's path health under ASan and UBSan: probes, a race across lines, failback, reload, flows, SIGTERM" {
	cp "$TOP/policies/hcpe-failover.json" "$BATS_TEST_TMPDIR/hcpe.json"
	start_both
	lab_black_hole dsl
	# the first SYN into the dead line, the second raced out of lte
	transfer 10.4.0.2 8410 1000000
	arrived_at_s "10.1.0.2"
	for _ in $(seq 100); do grep -q "path fixed: up -> down" "$BATS_TEST_TMPDIR/$LAB_HCPE.log" && break; sleep 0.1; done
	lab_line_rate dsl 1gbit
	for _ in $(seq 100); do grep -q "path fixed: down -> up" "$BATS_TEST_TMPDIR/$LAB_HCPE.log" && break; sleep 0.1; done
	grep -q "path fixed: down -> up" "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	# a reload swaps the policy the probes read (it once kept the freed one)
	in_ns "$LAB_HCPE" "$XMCP" reload
	sleep 1.5
	in_ns "$LAB_HCPE" "$XMCP" flows -j >/dev/null
	gw_stat "$LAB_HCPE" . >/dev/null
	transfer 10.4.0.2 8411 500000
	arrived_at_s "10.1.0.2"
	stop_daemon "$HCPE_PID"
	stop_daemon "$HAG_PID"
	HCPE_PID= HAG_PID=
	grep -q "connections raced a second path" "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	no_reports
}

@test "sanitizers: the MCP under ASan and UBSan: heads whole, partial, broken and late, refused destinations, SIGTERM" {
	require_mptcp_fastopen
	jq '.head_timeout = 2' "$TOP/policies/mcp.json" >"$BATS_TEST_TMPDIR/mcp.json"
	MCP_PID=$(start_daemon "$LAB_HAG" "$BATS_TEST_TMPDIR/mcp.json")
	s_server 8410 serve 10.4.0.2 8410
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send 10.2.0.2 9443 10.4.0.2 8410 1000000
	s_done
	arrived_at_s "10.4.0.1"
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send 10.2.0.2 9443 10.4.0.2 8411 1000 --late
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" partial-heads 10.2.0.2 9443 4 --hold 5
	assert_output --regexp "^ended 4 of 4"
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" partial-heads 10.2.0.2 9443 2 --fin --hold 5
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send 10.2.0.2 9443 10.4.0.1 8412 1000
	run timeout 30 nsenter --net="/run/netns/$LAB_H" "$PY" "$PEER" convert-send 10.2.0.2 9443 ::ffff:127.0.0.1 8412 1000
	stop_daemon "$MCP_PID"
	MCP_PID=
	grep -q "shutting down" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	no_reports
}

@test "valgrind: the HAG under memcheck: a transfer, a reset, a reload and SIGTERM, no error" {
	command -v valgrind >/dev/null || fail "valgrind missing: scripts/install-deps.sh"
	HCPE_PID=$(start_daemon "$LAB_HCPE" "$BATS_TEST_TMPDIR/hcpe.json")
	local log="$BATS_TEST_TMPDIR/valgrind.log" i
	XMCP_PIN_DIR="$PINS-$LAB_HAG" nsenter --net="/run/netns/$LAB_HAG" valgrind --error-exitcode=99 \
		--suppressions="$TOP/tests/valgrind.supp" --log-file="$log" \
		"$TOP/build/xmcp" -v run -c "$BATS_TEST_TMPDIR/hag.json" \
		>"$BATS_TEST_TMPDIR/$LAB_HAG.log" 2>&1 3>&- &
	HAG_PID=$!
	for i in $(seq "$(slow 300)"); do
		grep -q "^xmcp: running as" "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break
		sleep 0.1
	done
	grep -q "^xmcp: running as" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
	transfer 10.4.0.2 8420 1000000
	arrived_at_s "10.1.0.2"
	expect_reset 8421
	kill -HUP "$HAG_PID"
	for _ in $(seq 100); do grep -q '^xmcp: reloaded' "$BATS_TEST_TMPDIR/$LAB_HAG.log" && break; sleep 0.1; done
	kill -TERM "$HAG_PID"
	local rc=0
	wait "$HAG_PID" || rc=$?
	HAG_PID=
	# (valgrind names the bpf() commands it has no model of: not errors)
	grep -v "unhandled eBPF command" "$log"
	echo "exit status $rc"
	[ "$rc" -eq 0 ]
	grep -q "ERROR SUMMARY: 0 errors" "$log"
	grep -q "shutting down" "$BATS_TEST_TMPDIR/$LAB_HAG.log"
}
