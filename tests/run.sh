#!/usr/bin/env bash
# Runs the bats suite (all of tests/bats, or the files given) with TAP
# output, then bats' summary and the line "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "tests/run.sh: the tests build namespaces and attach XDP: run as root" >&2
	exit 1
fi
export BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats}

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ $# -eq 0 ]; then
	set -- tests/bats
fi
bats --formatter tap "$@" | tee "$log"
rc=${PIPESTATUS[0]}

skipped=$(grep -cE '^ok [0-9]+ .*# skip' "$log")
ok=$(grep -cE '^ok [0-9]+' "$log")
failed=$(grep -cE '^not ok [0-9]+' "$log")
passed=$((ok - skipped))
echo
echo "$((ok + failed)) tests, $failed failures, $skipped skipped"
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "tests/run.sh: bats exited $rc without a failed test (a setup error?)" >&2
fi
exit "$rc"
