#!/usr/bin/env bats
# A short libFuzzer run of the MP_CONVERT decoder from the seed corpus, with
# ASan and UBSan: the invariants are in tests/fuzz/fuzz_mp_convert.c. A crash
# or a broken invariant aborts and leaves the input in the output. Longer
# runs: make fuzz FUZZ_SECS=...
load helpers

@test "fuzz: the MP_CONVERT decoder holds its invariants under libFuzzer (15 s)" {
	local corpus="$BATS_TEST_TMPDIR/corpus"
	mkdir -p "$corpus"
	cp "$TOP"/tests/fuzz/corpus/* "$corpus/"
	run "$TOP/build/fuzz_mp_convert" -max_total_time=15 -artifact_prefix="$BATS_TEST_TMPDIR/" "$corpus"
	assert_success
	assert_output --regexp "Done [0-9]+ runs in"
	# it ran on the seeds and found more
	[ "$(ls "$corpus" | wc -l)" -gt "$(ls "$TOP/tests/fuzz/corpus" | wc -l)" ]
}
