#!/usr/bin/env bats
# C unit tests of the MP_CONVERT codec and the shared option scanner.
load helpers

@test "codec and option scanner unit tests pass" {
	run "$TOP/build/test_mp_convert"
	assert_success
	refute_output --partial "not ok"
	# the plan line proves the binary ran to the end
	assert_line --regexp '^1\.\.[0-9]+$'
}
