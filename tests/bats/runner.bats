#!/usr/bin/env bats
# tests/run.sh itself: its summary counts every test that was to run.
load helpers

@test "runner: tests of a run that died before they reported count as failed" {
	# this kernel only: `make test` exports VMTEST_KERNEL, which would add a VM run of VM_TESTS
	VMTEST_KERNEL= run "$TOP/tests/run.sh" "$TOP/tests/fixtures/dies-midway.bats"
	assert_failure
	assert_output --partial "2 of 3 tests never reported a result"
	assert_line "1 passed, 2 failed, 0 skipped"
}
