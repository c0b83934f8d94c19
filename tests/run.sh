#!/usr/bin/env bash
# tests/run.sh [BATS_ARGS] [--- BATS_ARGS]...
# Runs the bats suite (all of tests/bats, or the files and options given)
# with TAP output, each result with its time (bats --timing). Several
# runs separated by `---` (say, one file whole and another filtered with
# -f) share one summary.
# With VMTEST_KERNEL set (`make test` sets it to Debian's kernel), it then
# boots that kernel with vmtest/run.sh and runs VM_TESTS there: the
# packet-level classifier tests, paths and admission, the hybrid-access test
# of what once panicked Debian's 6.1, and the tests of what 6.1 lacks.
# Ends with bats' counts and the line "N passed, N failed, N skipped", over
# every run on every kernel.
set -uo pipefail
cd "$(dirname "$0")/.."

VM_TESTS=(tests/bats/classify.bats tests/bats/paths.bats tests/bats/admission.bats ---
	-f '^hybrid: (both paths carry a real share|a path fails and returns|without TCP Fast Open on MPTCP|where native XDP has no room)'
	tests/bats/hybrid.bats)

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
	vmtest/run.sh --kernel "$VMTEST_KERNEL" -- "${VM_TESTS[@]}" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
fi

# The guest prints its own summary; these lines count results only.
skipped=$(grep -cE '^ok [0-9]+ .*# skip' "$log")
ok=$(grep -cE '^ok [0-9]+' "$log")
failed=$(grep -cE '^not ok [0-9]+' "$log")
passed=$((ok - skipped))
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
