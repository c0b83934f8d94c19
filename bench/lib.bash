# Shared by the benchmarks: the header every results file carries (bench_header),
# and for the namespace benchmarks the lab they run in, the daemons they start
# and stop, and what they count. The lab functions need tests/lib/lab.bash loaded.

# bench_header CSV CC RUNS FIGURES: the provenance every results file opens with,
# below its title: when, at which commit ("-dirty": with uncommitted changes outside
# bench/results and README.md, which a bench run itself rewrites), on which kernel and
# machine, under which congestion control (CC: the one the lab's sockets used), how
# many runs (RUNS, a number) and what each figure is of them (FIGURES, from
# bench_figures). "key: value" lines that bench/table.py reads back. The same fields
# go into provenance.csv beside CSV, a line per results file, so that the CSVs stay
# plain tables.
bench_header() {
	local csv=$1 cc=$2 runs=$3 figures=$4 date commit kernel machine
	date=$(date -u +%Y-%m-%d)
	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	git diff --quiet HEAD -- . ':!bench/results' ':!README.md' 2>/dev/null || commit+=-dirty
	kernel=$(uname -r)
	machine="$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
	printf -- '- %s: %s\n' date "$date" commit "$commit" kernel "$kernel" machine "$machine" \
		"congestion control" "$cc" runs "$runs" figures "$figures"
	bench_provenance "$csv" "$date" "$commit" "$kernel" "$machine" "$cc" "$runs" "$figures"
}

# bench_provenance CSV FIELD...: CSV's line in provenance.csv beside it, replaced
bench_provenance() {
	local csv=$1 f line
	f="$(dirname "$csv")/provenance.csv"
	shift
	line="$(basename "$csv")$(printf ',"%s"' "${@//\"/\"\"}")"
	{
		echo "file,date,commit,kernel,machine,congestion_control,runs,figures"
		[ -f "$f" ] && tail -n +2 "$f" | { grep -v "^$(basename "$csv")," || true; }
		echo "$line"
	} > "$f.new"
	mv "$f.new" "$f"
}

# bench_figures N NOUN [REST]: what a figure is of N runs, for bench_header: "each the
# median of 3 runs of 3 s each way, with min-max" (NOUN run, REST "of 3 s each way");
# of a single run, that it is one
bench_figures() {
	local n=$1 noun=$2 rest=${3:+ $3}
	if [ "$n" -ge 3 ]; then
		echo "each the median of $n ${noun}s$rest, with min-max"
	elif [ "$n" -eq 2 ]; then
		echo "each the lower of 2 ${noun}s$rest, with min-max (no median)"
	else
		echo "each from 1 $noun$rest: a single measurement, no median, no spread"
	fi
}

pids=()
# This run's pin directories (one per daemon: $BENCH_PINS-NAME), by pid so
# that two runs at once (a test's smoke run beside `make bench`) never share
# or remove each other's
BENCH_PINS=${BENCH_PINS:-/sys/fs/bpf/xmcp-bench-$$}

# run_daemon NS POLICY NAME: `xmcp run` in NS, pins under
# $BENCH_PINS-NAME, log in $work/NAME.log; returns once it runs
run_daemon() {
	XMCP_PIN_DIR=$BENCH_PINS-$3 nsenter --net=/run/netns/$1 \
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

# cpu_ticks PID...: user + system clock ticks of the processes and their reaped
# children (socat's forks); processes gone meanwhile count nothing
cpu_ticks() {
	[ $# -gt 0 ] || { echo 0; return; }
	printf '/proc/%s/stat\n' "$@" | xargs cat 2>/dev/null | awk '{ t += $14 + $15 + $16 + $17 } END { print t + 0 }'
}

# ns_pids NS...: the processes in those namespaces
ns_pids() {
	local ns
	for ns in "$@"; do ip netns pids "$ns"; done
}

# bench_cc: with BENCH_CC set (e.g. cubic), every lab namespace's default TCP
# congestion control. A namespace may only choose an algorithm the host
# allows (net.ipv4.tcp_allowed_congestion_control, global): one that is
# available but not allowed is allowed for the run and the list put back.
bench_cc() {
	local f=/proc/sys/net/ipv4/tcp_allowed_congestion_control ns
	[ -n "${BENCH_CC:-}" ] || return 0
	if ! grep -qw -- "$BENCH_CC" /proc/sys/net/ipv4/tcp_available_congestion_control; then
		echo "bench: BENCH_CC=$BENCH_CC is not available here ($(cat /proc/sys/net/ipv4/tcp_available_congestion_control))" >&2
		exit 1
	fi
	if ! grep -qw -- "$BENCH_CC" $f; then
		bench_allowed_cc=$(cat $f)
		echo "$bench_allowed_cc $BENCH_CC" > $f
	fi
	for ns in "$LAB_H" "$LAB_HCPE" "$LAB_HAG" "$LAB_S"; do
		ip netns exec "$ns" sysctl -qw net.ipv4.tcp_congestion_control="$BENCH_CC"
	done
}

# The congestion control the lab's sockets use, for the tables
bench_cc_name() { ip netns exec "$LAB_S" sysctl -n net.ipv4.tcp_congestion_control; }

# bpf_stats_on: the kernel's BPF run-time statistics on until bench_cleanup, so that
# bpf_ns can count xmcp's XDP and tc programs. A global switch: every program run
# on the machine then reads the clock twice more, xmcp's included (in its figures).
bpf_stats_on() {
	bench_bpf_stats=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
}

# bpf_ns NS...: nanoseconds the XDP and tc programs attached in those namespaces
# (xmcp's: nothing else in the lab attaches any) have run so far, each program
# counted once however many devices it is on. Most of it is softirq time, which
# no process's CPU time holds.
bpf_ns() {
	local ns
	for ns in "$@"; do ip netns exec "$ns" bpftool -j net show; done |
		jq -r '.[] | (.xdp // [])[], (.tc // [])[], (.tcx // [])[] | .id' | sort -u |
		xargs -r -n1 bpftool -j prog show id 2>/dev/null | jq -s 'map(.run_time_ns // 0) | add // 0'
}

# sock_mem_bytes NS...: the kernel's memory charged to the TCP and MPTCP sockets in
# those namespaces (skmem r + w + f + o: receive and send queues, forward
# allocation, option memory), from ss; the socket structures themselves are not in it
sock_mem_bytes() {
	local ns
	for ns in "$@"; do ss -N "$ns" -tanm; ss -N "$ns" -Manm; done 2>/dev/null |
		grep -o 'skmem:([^)]*)' | awk -F'[(),]' '{
			for (i = 2; i < NF; i++) {
				k = $i; sub(/[0-9]+$/, "", k)
				if (k == "r" || k == "w" || k == "f" || k == "o") t += substr($i, length(k) + 1)
			}
		} END { printf "%d\n", t }'
}

# bench_lab PREFIX: a lab tagged PREFIX + random, $work, an iperf3 server on
# S (10.4.0.2), and an EXIT trap that takes all of it down again
bench_lab() {
	work=$(mktemp -d)
	trap bench_cleanup EXIT
	lab_up "$1$(printf '%04x' $RANDOM)"
	bench_cc
	nsenter --net=/run/netns/$LAB_S iperf3 -s -B 10.4.0.2 -D --pidfile "$work/iperf.pid"
	sleep 0.5
}

bench_cleanup() {
	set +e
	stop
	[ -s "$work/iperf.pid" ] && kill "$(cat "$work/iperf.pid")" 2>/dev/null
	lab_down
	rm -rf "$work" "$BENCH_PINS"-*
	[ -n "${bench_allowed_cc:-}" ] && echo "$bench_allowed_cc" > /proc/sys/net/ipv4/tcp_allowed_congestion_control
	[ -n "${bench_bpf_stats:-}" ] && sysctl -qw kernel.bpf_stats_enabled="$bench_bpf_stats"
}
