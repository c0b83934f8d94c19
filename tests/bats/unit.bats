#!/usr/bin/env bats
# C unit tests (tests/unit/, TAP): the MP_CONVERT codec and the shared
# option scanner, the policy check, the undo journal, the destination
# checks, the relay's state machine and a connect's outcome as the races
# read it. Each binary prints "ok N"/"not ok N" per check and the plan
# "1..N" last; run one alone as build/test_NAME.
load helpers

# unit NAME: build/test_NAME ran to its plan with no failed check
unit() {
	run "$TOP/build/test_$1"
	assert_success
	refute_output --partial "not ok"
	# the plan line proves the binary ran to the end
	assert_line --regexp '^1\.\.[0-9]+$'
}

@test "codec and option scanner unit tests pass" {
	unit mp_convert
}

@test "policy check unit tests pass: every bad value refused naming its field, the defaults, the examples" {
	unit policy
}

@test "undo journal unit tests pass: records, undo newest first, recovery from another pid, broken journals" {
	unit journal
}

@test "destination check unit tests pass: special blocks, IPv4-mapped as IPv4, forbidden prefixes, own addresses" {
	unit dest
}

@test "relay unit tests pass: bytes intact both ways, half-close, resets, refused and pending connects, timeouts, back-pressure" {
	unit relay
}
