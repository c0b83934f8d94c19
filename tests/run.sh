#!/usr/bin/env bash
# tests/run.sh [BATS_ARGS] [--- BATS_ARGS]...
# Runs the bats suite (all of tests/bats, or the files and options given)
# with TAP output, each result with its time (bats --timing). Several
# runs separated by `---` (say, one file whole and another filtered with
# -f) share one summary.
# With VMTEST_KERNEL set (`make test` sets it to Debian's kernel), it then
# boots that kernel with vmtest/run.sh and runs VM_TESTS there: the
# classifier's own tests with its differential fuzzer, paths and
# admission, the hybrid-access test of what once panicked Debian's 6.1,
# and the tests of what 6.1 lacks.
# Ends with bats' counts and the line "N passed, N failed, N skipped", over
# every run on every kernel.
set -uo pipefail
cd "$(dirname "$0")/.."

# The hybrid and admission tests VM_TESTS runs, by their exact names: each
# must match one test, or the run fails (a renamed test would otherwise leave
# a filter that matches nothing, and a VM part that passes with no test run).
VM_HYBRID=(
	"both paths carry a real share over two subflows"
	"a path fails and returns, servers reset, both daemons stop mid-transfer: the kernel survives"
	"downloads of 20 MB over IPv4 and IPv6 arrive intact at H, over both paths"
	"without TCP Fast Open on MPTCP, the SYN-data roles refuse to start and say why"
	"where native XDP has no room for metadata (TAP on 6.1), the daemon says so and names the modes that work"
)
# Admission in XDP on 6.1: the SYN rate, the join budget, the origin check
# (the sessions per address, and IPv6, are the same programs: host only)
VM_ADMISSION=(
	"a SYN flood from one subscriber address is held to its class's rate; another subscriber still gets through"
	"max_subflows 1: the join is dropped in XDP and the transfer goes on over one path; 2 after a reload lets it in"
	"origin_check on the HAG drops MPTCP SYNs from outside the subscriber prefixes in XDP"
)
# regex_quote STRING: STRING as a literal in an extended regex
regex_quote() {
	sed 's/[][\\.^$*+?(){}|/]/\\&/g' <<< "$1"
}
# names_filter PREFIX NAME...: a bats -f regex for exactly the tests "PREFIX: NAME"
names_filter() {
	local f="^$1: (" t
	shift
	for t in "$@"; do
		f+="$(regex_quote "$t")|"
	done
	echo "${f%|})\$"
}
vm_filter=$(names_filter hybrid "${VM_HYBRID[@]}")
vm_admission=$(names_filter admission "${VM_ADMISSION[@]}")
# (VM_HYBRID_FILE: another file to look in, for tests/bats/runner.bats)
VM_HYBRID_FILE=${VM_HYBRID_FILE:-tests/bats/hybrid.bats}
# The classifier in the guest: its "classify:" tests, the differential
# fuzzer among them (5000 frames of every class through the XDP and the tc
# program, against an independent reference), not each capture's test one
# by one, whose bats overhead alone is 3 of the VM's minutes under TCG.
VM_TESTS=(-f '^classify: ' tests/bats/classify.bats --- tests/bats/paths.bats ---
	-f "$vm_admission" tests/bats/admission.bats --- -f "$vm_filter" "$VM_HYBRID_FILE")
# What Debian's 6.1 (VMTEST_KERNEL=debian) lacks, for strict mode
# (tests/bats/helpers.bash): another guest kernel names its own in
# VMTEST_KERNEL_LACKS.
[ "${VMTEST_KERNEL:-}" != debian ] || : "${VMTEST_KERNEL_LACKS=mptcp_fastopen tap_xdp_meta}"
if [ -n "${VMTEST_KERNEL:-}" ] && [ -z "${VMTEST_KERNEL_LACKS+set}" ] && [ "${CI:-}" = true ]; then
	echo "tests/run.sh: strict mode, and VMTEST_KERNEL_LACKS does not say what kernel '$VMTEST_KERNEL' lacks: every feature probe must pass there" >&2
fi

# Strict mode under CI: a feature probe that fails fails its test, unless
# XMCP_KERNEL_LACKS names the feature (helpers.bash). XMCP_STRICT=0 turns it off.
if [ "${CI:-}" = true ]; then
	export XMCP_STRICT=${XMCP_STRICT:-1}
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: the tests build namespaces and attach XDP: run as root" >&2
	exit 1
fi
export BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# Tests that should report a result, counted before each run (bats
# --count): a run that dies (a guest kernel that crashed, a timeout) leaves
# some unreported, and those count as failures.
expected=0

# count_runs ARGS...: the tests of the runs ARGS (separated by ---) would run
count_runs() {
	local a args=() n=0
	for a in "$@" ---; do
		if [ "$a" = --- ]; then
			[ "${#args[@]}" -gt 0 ] || args=(tests/bats)
			n=$((n + $(bats --count "${args[@]}")))
			args=()
		else
			args+=("$a")
		fi
	done
	echo "$n"
}

# One bats run; its TAP goes to the terminal and the log.
run_bats() {
	[ $# -gt 0 ] || set -- tests/bats
	bats --formatter tap --timing "$@" | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
}

# names_there LIST WANT FILTER FILE: the run stops unless FILTER matches WANT tests of FILE
names_there() {
	local n
	n=$(bats --count -f "$3" "$4")
	if ! [[ "$n" =~ ^[0-9]+$ ]] || [ "$n" -ne "$2" ]; then
		echo "tests/run.sh: $1 names $2 tests, $n of them found in $4 (renamed?): fix $1" >&2
		exit 1
	fi
}

# Before anything runs: every test VM_HYBRID and VM_ADMISSION name is there
if [ -n "${VMTEST_KERNEL:-}" ]; then
	names_there VM_HYBRID "${#VM_HYBRID[@]}" "$vm_filter" "$VM_HYBRID_FILE"
	names_there VM_ADMISSION "${#VM_ADMISSION[@]}" "$vm_admission" tests/bats/admission.bats
fi

expected=$(count_runs "$@")
args=()
for a in "$@" ---; do
	if [ "$a" = --- ]; then
		run_bats "${args[@]}"
		args=()
	else
		args+=("$a")
	fi
done

if [ -n "${VMTEST_KERNEL:-}" ]; then
	expected=$((expected + $(count_runs "${VM_TESTS[@]}")))
	echo "# the same build under kernel '$VMTEST_KERNEL' (vmtest/run.sh): ${VM_TESTS[*]}" | tee -a "$log"
	XMCP_KERNEL_LACKS=${VMTEST_KERNEL_LACKS:-} vmtest/run.sh --kernel "$VMTEST_KERNEL" -- "${VM_TESTS[@]}" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

# The guest prints its own summary; these lines count results only.
skipped=$(grep -cE '^ok [0-9]+ .*# skip' "$log")
ok=$(grep -cE '^ok [0-9]+' "$log")
failed=$(grep -cE '^not ok [0-9]+' "$log")
passed=$((ok - skipped))
# Tests announced: what bats counted before each run, or what the plans
# (1..N) of the runs that printed one say, whichever is more.
planned=$(tr -d '\r' < "$log" | sed -n 's/^1\.\.\([0-9][0-9]*\)$/\1/p' | awk '{ n += $1 } END { print n + 0 }')
[ "$planned" -le "$expected" ] || expected=$planned
missing=$((expected - ok - failed))
echo
if [ "$missing" -gt 0 ]; then
	echo "tests/run.sh: $missing of $expected tests never reported a result (a run died: see above); counted as failed"
	failed=$((failed + missing))
	status=1
fi
echo "$((passed + skipped + failed)) tests, $failed failures, $skipped skipped"
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "tests/run.sh: a run exited non-zero without a failed test (a setup error?)" >&2
fi
exit "$status"
