#!/usr/bin/env bats
# A smoke run of the benchmark harness so it cannot rot: one round, no
# thresholds (speed is judged by `make bench`, never by a test).
load helpers

@test "bench: the harness runs and reports every packet with a ratio" {
	export BENCH_OUT="$BATS_TEST_TMPDIR/results"
	run "$TOP/bench/run.sh" --smoke
	assert_success
	local p
	for p in data_segment syn syn_mp_capable syn_mp_convert; do
		assert_line --regexp "^\| $p \| [0-9]+ \| [0-9]+ \([0-9]+-[0-9]+\) \| [0-9]+ \([0-9]+-[0-9]+\) \| [0-9]+\.[0-9]+x \|$"
	done
	[ -s "$BENCH_OUT/classifier.md" ]
	assert_equal "$(wc -l < "$BENCH_OUT/classifier.csv")" 5
	# the tc programs on live packets: each gateway, each way, steering and path
	# accounting, with as many runs of the empty program as of xmcp's
	for p in "hcpe \| up \| steering" "hag \| down \| path accounting"; do
		assert_line --regexp "^\| $p \| [1-9][0-9]* \| [0-9]+\.[0-9] \| [0-9]+\.[0-9] \| [0-9]+\.[0-9]{2}x \|$"
	done
	assert_equal "$(wc -l < "$BENCH_OUT/tc.csv")" 9
	# the relay table: the baselines, then by conversion xmcp's relay modes and its
	# peers, each way with a ratio to the group's baseline, and the relays' CPU per GB
	for p in "direct \| baseline" "direct_mptcp \| baseline" \
		"tcp-tcp_xmcp_splice \| tcp-tcp" "tcp-tcp_haproxy \| tcp-tcp" \
		"tcp-mptcp_xmcp_copy \| tcp-mptcp" "tcp-mptcp_socat \| tcp-mptcp" \
		"mptcp-tcp_xmcp_splice \| mptcp-tcp" "mptcp-tcp_haproxy \| mptcp-tcp" \
		"chain_xmcp_splice \| chain" "chain_xmcp_native \| chain"; do
		assert_line --regexp "^\| $p \| [0-9.]+ \([0-9.]+-[0-9.]+\) \| [0-9.]+x \| [0-9.]+ \([0-9.]+-[0-9.]+\) \| [0-9.]+x \| direct(_mptcp)? \| ([0-9]+\.[0-9]+|-) \|$"
	done
	assert_equal "$(wc -l < "$BENCH_OUT/relay.csv")" 18
	# time to first byte: the four paths, each with the added RTTs
	for p in direct socks xmcp_offpath xmcp_hybrid; do
		assert_line --regexp "^\| $p \| [0-9]+\.[0-9]+ \([0-9.]+-[0-9.]+\) \| -?[0-9]+\.[0-9]+ ms \| -?[0-9]+\.[0-9]+ \|$"
	done
	assert_equal "$(wc -l < "$BENCH_OUT/ttfb.csv")" 5
	# path shares: three rate splits, both directions, configured against measured
	assert_line --regexp '^\| 30:10 \| up \| 0\.750 \| [01]\.[0-9]{3} \| [0-9.]+ \([0-9.]+x\) \|$'
	assert_equal "$(wc -l < "$BENCH_OUT/paths.csv")" 7
	# bonding: single path, native MPTCP and xmcp, clean and with loss on lte
	for p in single native xmcp; do
		assert_line --regexp "^\| (clean|lte_loss) \| $p \| [0-9.]+ \([0-9.]+-[0-9.]+\) \| [0-9.]+ \| [0-9.]+x \|$"
	done
	assert_equal "$(wc -l < "$BENCH_OUT/bonding.csv")" 7
	# the chart of both
	assert_equal "$(head -c 4 "$BENCH_OUT/bench.png" | tail -c 3)" PNG
	# connections: rate and idle memory for the baseline, xmcp and its peers
	for p in direct xmcp tcp_relay socat haproxy; do
		assert_line --regexp "^\| $p \| [1-9][0-9]* \([0-9]+-[0-9]+\) \| [0-9.]+x \| ([0-9]+\.[0-9]|-) \| [1-9][0-9]* \([1-9][0-9]*\) \| (-?[0-9]+ B|-) \| -?[0-9]+ B \|$"
	done
	assert_equal "$(wc -l < "$BENCH_OUT/conns.csv")" 6
}
