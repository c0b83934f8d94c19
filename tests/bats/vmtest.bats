#!/usr/bin/env bats
# vmtest/run.sh itself: a real VM on Debian's kernel (fetched once into the
# cache), its exit status, its isolation from the host, its errors.
load helpers

VMTEST="$TOP/vmtest/run.sh"

setup() {
	[ -z "${VMTEST_GUEST:-}" ] || skip "inside a vmtest guest already (no VM in the VM)"
	command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing: scripts/install-deps.sh"
}

@test "vmtest: the guest runs Debian's kernel, its output streams back, its exit status is the run's" {
	run "$VMTEST" --kernel debian --exec 'echo "release $(uname -r)"; exit 3'
	assert_failure 3
	# Debian's flavour suffix: not the host's kernel
	assert_output --regexp $'(^|\n)release [0-9.]+-[0-9]+-amd64(\r)?($|\n)'
	refute_output --partial "release $(uname -r)"
}

@test "vmtest: what the guest writes stays in the guest; the host's /run is not the guest's" {
	local canary="$TOP/build/vmtest/canary-$(unique_tag)" ns="vmt$(unique_tag)"
	ip netns add "$ns"
	run "$VMTEST" --kernel debian --exec "touch '$canary' /etc/xmcp-vmtest-canary && ! ip netns list | grep -q '$ns'"
	ip netns del "$ns"
	assert_success
	[ ! -e "$canary" ]
	[ ! -e /etc/xmcp-vmtest-canary ]
	# nothing of the run is left in build/vmtest but the cached initramfs
	run find "$TOP/build/vmtest" -mindepth 1 -maxdepth 1 -name 'job.*'
	assert_output ""
}

@test "vmtest: bad arguments and missing kernels are refused by name" {
	run "$VMTEST" --exec true
	assert_failure 2
	assert_output --partial "Usage:"
	run "$VMTEST" --kernel debian --runner vbox
	assert_failure 1
	assert_output --partial "--runner is auto, vng or qemu, not 'vbox'"
	run "$VMTEST" --kernel /nonexistent/bzImage
	assert_failure 1
	assert_output --partial "/nonexistent/bzImage: no kernel image there"
	run "$VMTEST" --kernel /etc/passwd
	assert_failure 1
	assert_output --partial "/etc/passwd: not a bzImage"
	run "$VMTEST" --kernel 2.6
	assert_failure 1
	assert_output --partial "no kernel '2.6'"
}

@test "vmtest: --accel kvm without a working KVM falls back to TCG" {
	if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		skip "this host has a /dev/kvm: the test of a KVM that does not boot a guest covers its fallback"
	fi
	run "$VMTEST" --kernel debian --accel kvm --exec true
	assert_success
	assert_output --partial "the KVM guest did not come up; booting again under TCG"
}

@test "vmtest: a guest kernel crash ends the run at once, as a failure, with the kernel's trace" {
	# the sleep would hold a run that waited for the guest: it must not be waited out
	run timeout 300 "$VMTEST" --kernel debian --exec 'echo c > /proc/sysrq-trigger; sleep 600'
	assert_failure 1
	assert_output --partial "vmtest: the guest kernel crashed; its trace:"
	assert_output --partial "Kernel panic - not syncing: sysrq triggered crash"
	assert_output --partial "Call Trace:"
	assert_output --partial "crashed (the trace above); the suite did not finish"
}

@test "vmtest: a KVM that does not boot a guest is tried once per host kernel, then TCG at once" {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no usable /dev/kvm here (the test above covers that)"
	local cache="$BATS_TEST_TMPDIR/cache"
	mkdir -p "$cache"
	# the kernels where they are; a fresh cache for the note
	ln -s "${VMTEST_CACHE:-$HOME/.cache/xmcp-vmtest}"/6.* "$cache/" 2>/dev/null || true
	run env VMTEST_CACHE="$cache" "$VMTEST" --kernel debian --accel kvm --exec true
	assert_success
	if [[ "$output" == *"the KVM guest did not come up"* ]]; then
		ls "$cache"/kvm-fails-* >/dev/null
		run env VMTEST_CACHE="$cache" "$VMTEST" --kernel debian --exec true
		assert_success
		assert_output --partial "KVM failed to boot a guest on this host before"
		refute_output --partial "qemu with KVM"
	else
		assert_output --partial "qemu with KVM"
		run ls "$cache"
		refute_output --partial kvm-fails
	fi
}
