# Shared by the namespace benchmarks (relay.sh, ttfb.sh): the daemons they
# start and stop. Needs tests/lib/lab.bash loaded and $work set.

pids=()

# run_daemon NS POLICY NAME: `xmcp run` in NS, pins under
# /sys/fs/bpf/xmcp-bench-NAME, log in $work/NAME.log; returns once it runs
run_daemon() {
	XMCP_PIN_DIR=/sys/fs/bpf/xmcp-bench-$3 nsenter --net=/run/netns/$1 \
		build/xmcp run -c "$2" > "$work/$3.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do grep -q "^xmcp: running as" "$work/$3.log" && return 0; sleep 0.1; done
	echo "bench: xmcp run ($3) did not start:" >&2
	cat "$work/$3.log" >&2
	# what was in the way: endpoints and daemons left in that namespace
	ip -n "$1" mptcp endpoint show >&2
	ss -N "$1" -tanp >&2
	pgrep -a xmcp >&2
	exit 1
}

# stop: SIGTERM to every process in pids, then wait for them to be gone
stop() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$p" 2>/dev/null && echo "bench: pid $p still runs 10 s after SIGTERM" >&2
	done
	pids=()
}
