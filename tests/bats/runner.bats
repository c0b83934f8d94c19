#!/usr/bin/env bats
# tests/run.sh itself: its summary counts every test that was to run, strict
# mode turns a missing feature into a failure, and the VM part's named tests
# must exist.
load helpers

setup() {
	NS="xmcp-runner-$(unique_tag)"
}

teardown() {
	ip netns del "$NS" 2>/dev/null || true
}

@test "runner: tests of a run that died before they reported count as failed" {
	# this kernel only: `make test` exports VMTEST_KERNEL, which would add a VM run of VM_TESTS
	VMTEST_KERNEL= run "$TOP/tests/run.sh" "$TOP/tests/fixtures/dies-midway.bats"
	assert_failure
	assert_output --partial "2 of 3 tests never reported a result"
	assert_line "1 passed, 2 failed, 0 skipped"
}

@test "runner: in strict mode (CI) a missing kernel feature fails its test; outside it, or when the kernel is known to lack it, skips" {
	ip netns add "$NS"
	ip netns exec "$NS" sysctl -qw net.mptcp.enabled=0
	local run_in_ns=(env VMTEST_KERNEL= nsenter --net="/run/netns/$NS" "$TOP/tests/run.sh" "$TOP/tests/fixtures/needs-mptcp.bats")
	CI=true XMCP_STRICT= XMCP_KERNEL_LACKS= run "${run_in_ns[@]}"
	assert_failure
	assert_output --partial "strict mode: kernel without MPTCP (net.mptcp.enabled), though this kernel is expected to have mptcp"
	assert_line "0 passed, 1 failed, 0 skipped"
	CI= XMCP_STRICT= XMCP_KERNEL_LACKS= run "${run_in_ns[@]}"
	assert_success
	assert_line "0 passed, 0 failed, 1 skipped"
	CI=true XMCP_STRICT= XMCP_KERNEL_LACKS="mptcp" run "${run_in_ns[@]}"
	assert_success
	assert_line "0 passed, 0 failed, 1 skipped"
}

@test "runner: a test the VM part names that is not there stops the run before anything runs" {
	VMTEST_KERNEL=debian VM_HYBRID_FILE="$TOP/tests/fixtures/renamed.bats" run "$TOP/tests/run.sh" \
		"$TOP/tests/fixtures/needs-mptcp.bats"
	assert_failure
	assert_output --regexp "tests/run.sh: VM_HYBRID names [0-9]+ tests, 0 of them found in $TOP/tests/fixtures/renamed.bats \(renamed\?\)"
	refute_output --partial "fixture: needs MPTCP"
}
