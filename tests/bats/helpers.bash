# Shared by every bats file: paths, assertions, and namespace plumbing.
bats_load_library bats-support
bats_load_library bats-assert

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
XMCP="$TOP/build/xmcp"
# Debian's python, which sees python3-scapy (a pyenv python3 may come first on PATH)
PY=/usr/bin/python3
MKPCAP="$TOP/tests/tools/mkpcap.py"
PEER="$TOP/tests/tools/peer.py"

# A short random tag for names that concurrent runs must not share.
unique_tag() {
	printf '%04x%04x' "$RANDOM" "$RANDOM"
}

# slow SECONDS: a hang guard's limit, stretched by XMCP_TEST_SLOW on a slow
# machine (vmtest sets 4 under TCG, where everything runs several times
# slower). Limits that stop a hang only: no test measures speed this way.
slow() {
	echo $(($1 * ${XMCP_TEST_SLOW:-1}))
}

# wait_for FILE: until a background helper creates FILE (its "ready"), up to
# $(slow 30) seconds; a helper that never gets there is an error that says so,
# not a test that goes on against a server not yet listening
wait_for() {
	local i
	for i in $(seq $(($(slow 30) * 10))); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	echo "$1 did not appear within $(slow 30) s" >&2
	return 1
}

# wait_job PID: wait for this shell's background job PID, its exit status
# in $status as `run` leaves it. (`run wait PID` cannot: run's subshell has
# no such child, so it fails whatever the job did.)
wait_job() {
	status=0
	wait "$1" || status=$?
}

# Run in a namespace without `ip netns exec`, which remounts /sys and would
# hide the bpffs pins (docs/kernels.md).
in_ns() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@"
}

# Features a test needs and a kernel may lack. Outside strict mode a test
# skips, naming the feature. In strict mode (XMCP_STRICT=1, which
# tests/run.sh sets under CI) the kernel under test is expected to have
# every feature not named in XMCP_KERNEL_LACKS (space-separated, e.g.
# "mptcp_fastopen tap_xdp_meta" for 6.1): a probe that finds one missing
# fails, so a host with MPTCP turned off cannot go green by skipping; and a
# test of what a kernel lacks fails where that kernel is expected to lack it
# but does not.
kernel_lacks() {
	[[ " ${XMCP_KERNEL_LACKS:-} " == *" $1 "* ]]
}

strict() {
	[ "${XMCP_STRICT:-0}" = 1 ]
}

# lacking FEATURE WHY: this test needs FEATURE, which the kernel lacks
lacking() {
	if strict && ! kernel_lacks "$1"; then
		echo "strict mode: $2, though this kernel is expected to have $1 (XMCP_KERNEL_LACKS)" >&2
		return 1
	fi
	skip "$2"
}

# having FEATURE WHY: this test is of a kernel without FEATURE, and this one has it
having() {
	if strict && kernel_lacks "$1"; then
		echo "strict mode: $2, though this kernel is expected to lack $1 (XMCP_KERNEL_LACKS)" >&2
		return 1
	fi
	skip "$2"
}

require_mptcp() {
	[ "$(sysctl -n net.mptcp.enabled 2>/dev/null)" = 1 ] || lacking mptcp "kernel without MPTCP (net.mptcp.enabled)"
}

# TCP Fast Open on MPTCP sockets (Linux 6.2): MP_CONVERT heads and the
# marker ride in SYN data. Probed as the daemon does, on a socket.
mptcp_has_fastopen() {
	"$PY" -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.setsockopt(socket.IPPROTO_TCP, 34, 1)  # TCP_FASTOPEN_NO_COOKIE' 2>/dev/null
}

require_mptcp_fastopen() {
	mptcp_has_fastopen ||
		lacking mptcp_fastopen "kernel without TCP Fast Open on MPTCP sockets (TCP_FASTOPEN_NO_COOKIE refused)"
}

# prog_loads LOG: the xmcp programs a command run under
# `strace -e trace=bpf -o LOG` loaded into the kernel (each BPF_PROG_LOAD that
# succeeded), by name, sorted, one a line. A program a command loads but does
# not attach is gone when the command ends, so bpftool cannot list it
# afterwards: the system call is where its loading shows.
prog_loads() {
	grep 'bpf(BPF_PROG_LOAD' "$1" | grep -E '\) = [0-9]+$' | grep -o 'prog_name="xmcp[a-z_]*"' |
		sed 's/^prog_name="\(.*\)"$/\1/' | sort
}

# `xmcp stats -j` inside namespace $1, reduced by the jq filter $2.
stat_of() {
	in_ns "$1" "$XMCP" stats -j | jq -r "$2"
}
