#!/bin/bash
# Usage: vmtest/run.sh --kernel PATH_OR_VERSION [options] [-- BATS_ARGS...]
# Runs the bats suite (tests/run.sh BATS_ARGS, all of tests/bats by default)
# as root inside a VM booted on another kernel, on a copy-on-write view of
# this machine's root filesystem: the same build, tools and packages, the
# kernel under test. Exits with the suite's status; the guest's console
# streams to stdout.
#
#   --kernel K    a kernel image, a kernel build tree, a release or its
#                 prefix, or `debian` (Debian's linux-image-amd64, fetched
#                 into a cache, not installed): see vmtest/kernel.sh
#   --runner R    auto (vng when installed, else qemu), vng or qemu
#   --accel A     auto (KVM when /dev/kvm works, else TCG), kvm or tcg
#   --cpus N      virtual CPUs (default: this machine's count)
#   --memory M    guest memory for qemu (default 3G)
#   --exec CMD    run the shell command CMD (from the repository's top)
#                 instead of the suite: a look at the kernel by hand
# A guest kernel oops, BUG, panic or hung task ends the run at once as a
# failure, with the kernel's trace printed again at the end.
# Environment: VMTEST_CACHE (kernels, and a note that KVM failed here,
# default ~/.cache/xmcp-vmtest),
# VMTEST_MODULES (module base for a kernel built here), VMTEST_TIMEOUT
# (seconds, default 3600), VMTEST_BOOT_TIMEOUT (seconds for a KVM guest to
# come up before falling back to TCG, default 60), VMTEST_STALL (seconds of
# silence after which the guest prints its processes and sockets, 600).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

kernel= exec_cmd= runner=auto accel=auto cpus=$(nproc) memory=3G
TIMEOUT=${VMTEST_TIMEOUT:-3600}
BOOT_TIMEOUT=${VMTEST_BOOT_TIMEOUT:-60}
# Variables the suite reads that the guest should see as the host does.
PASS_ENV=(CI FUZZ_SECS BATS_LIB_PATH XMCP_TEST_SLOW VMTEST_STALL XMCP_STRICT XMCP_KERNEL_LACKS)

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

die() {
	echo "vmtest: $*" >&2
	exit 1
}

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?--kernel needs a value}; shift 2 ;;
	--runner) runner=${2:?--runner needs a value}; shift 2 ;;
	--accel) accel=${2:?--accel needs a value}; shift 2 ;;
	--cpus) cpus=${2:?--cpus needs a value}; shift 2 ;;
	--memory) memory=${2:?--memory needs a value}; shift 2 ;;
	--exec) exec_cmd=${2:?--exec needs a command}; shift 2 ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) echo "vmtest: unknown argument '$1'" >&2; usage ;;
	esac
done
[ -n "$kernel" ] || usage
case $runner in auto | vng | qemu) ;; *) die "--runner is auto, vng or qemu, not '$runner'" ;; esac
case $accel in auto | kvm | tcg) ;; *) die "--accel is auto, kvm or tcg, not '$accel'" ;; esac
[ "$(id -u)" -eq 0 ] || die "the suite runs as root in the guest and qemu shares / as root: run as root"
[ -x "$top/build/xmcp" ] || die "build/xmcp is missing: run make first (the guest uses this build)"

mapfile -t k < <("$here/kernel.sh" "$kernel") && [ "${#k[@]}" -ge 2 ] || exit 1
image=${k[0]} release=${k[1]} modbase=${k[2]:-}

# The job directory, under build/ rather than /tmp (vng mounts a fresh /tmp
# in the guest): the arguments, variables to pass on, where the kernel's
# modules are, and, from the qemu guest, its exit status.
mkdir -p "$top/build/vmtest"
job=$(mktemp -d "$top/build/vmtest/job.XXXXXX")
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$job"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

write_job() {
	local v
	[ $# -gt 0 ] && printf '%s\0' "$@" >"$job/args" || : >"$job/args"
	for v in "${PASS_ENV[@]}"; do
		[ -n "${!v+set}" ] && printf '%s=%q\n' "$v" "${!v}"
	done >"$job/env"
	# The host root has modules for this kernel already: nothing to bind.
	[ -n "$modbase" ] && [ "$modbase" != / ] && echo "$modbase/lib/modules/$release" >"$job/modules"
	echo "$top" >"$job/top"
	[ -z "$exec_cmd" ] || printf '%s\n' "$exec_cmd" >"$job/exec"
}

# Under TCG the guest runs several times slower: the tests' hang guards
# (tests/bats/helpers.bash: slow) stretch by this factor.
slow_factor() {
	[ "$1" = tcg ] && echo "XMCP_TEST_SLOW=${XMCP_TEST_SLOW:-4}" >>"$job/env"
	return 0
}

# On some hosts /dev/kvm exists but no guest ever comes up (docs/kernels.md):
# the first failure is remembered for this host kernel and qemu, so later
# runs go straight to TCG instead of waiting out the boot deadline again.
# `--accel kvm` tries KVM regardless (and clears the note when it works).
CACHE=${VMTEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/xmcp-vmtest}
kvm_note() {
	echo "$CACHE/kvm-fails-$(uname -r)-$(qemu-system-x86_64 --version 2>/dev/null | head -n1 | tr -c 'a-zA-Z0-9.\n' _)"
}

kvm_usable() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	if [ -e "$(kvm_note)" ]; then
		echo "vmtest: KVM failed to boot a guest on this host before ($(kvm_note)): TCG"
		return 1
	fi
}

# vng gets the tree itself when given one: it finds the modules there.
# The repository is an overlay in the guest: nothing written reaches the host.
run_vng() {
	local what=$image
	[ -d "$kernel" ] && what=$kernel
	local opts=(--run "$what" --user root --cpus "$cpus" --memory "$memory" --cwd "$top"
		--overlay-rwdir "$top")
	if [ "$accel" = tcg ]; then
		opts+=(--disable-kvm)
		slow_factor tcg
	fi
	echo "vmtest: vng, kernel $release ($image)"
	vng "${opts[@]}" --exec "$here/guest.sh $job"
}

# The initramfs depends on the kernel's modules only: one per release,
# rebuilt when vmtest/init, its builder or the modules (depmod) change.
initramfs_for() {
	local img="$top/build/vmtest/initramfs-$release.img" f stale=
	[ -s "$img" ] || stale=1
	for f in "$here/init" "$here/initramfs.sh" "${modbase:-/}/lib/modules/$release/modules.dep"; do
		[ "$f" -nt "$img" ] && stale=1
	done
	if [ -n "$stale" ]; then
		"$here/initramfs.sh" "$release" "${modbase:-/}" "$img" >&2 || return 1
	fi
	echo "$img"
}

# One boot with accelerator $1. With KVM, a guest that has not started
# guest.sh (which writes `booted`) within BOOT_TIMEOUT is killed and the
# caller falls back to TCG: on some hosts /dev/kvm exists but a stock kernel
# hangs at boot (docs/kernels.md). Returns 75 for that case.
boot_qemu() {
	local acc=$1 initrd=$2 cpu=max waited=0
	[ "$acc" = kvm ] && cpu=host
	rm -f "$job/rc" "$job/booted"
	slow_factor "$acc"
	timeout -k 10 "$TIMEOUT" qemu-system-x86_64 \
		-nodefaults -no-user-config -nographic -no-reboot -bios qboot.rom \
		-accel "$acc" -cpu "$cpu" -smp "$cpus" -m "$memory" \
		-chardev stdio,id=console,signal=off -serial chardev:console \
		-device virtio-rng-pci \
		-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
		-fsdev local,id=vmtest,path="$job",security_model=none,multidevs=remap \
		-device virtio-9p-pci,fsdev=vmtest,mount_tag=vmtest \
		-kernel "$image" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 oops=panic softlockup_panic=1 hung_task_panic=1 quiet loglevel=4" \
		</dev/null > >(tee "$job/console") &
	qemu_pid=$!
	if [ "$acc" = kvm ]; then
		while [ ! -e "$job/booted" ] && kill -0 "$qemu_pid" 2>/dev/null; do
			if [ "$waited" -ge "$BOOT_TIMEOUT" ]; then
				kill "$qemu_pid" 2>/dev/null
				wait "$qemu_pid" 2>/dev/null
				qemu_pid=
				return 75
			fi
			sleep 1
			waited=$((waited + 1))
		done
	fi
	local rc=0
	wait "$qemu_pid" || rc=$?
	qemu_pid=
	report_crash
	[ "$rc" -ne 124 ] || die "the guest ran past VMTEST_TIMEOUT=${TIMEOUT}s and was killed"
	if [ "$acc" = kvm ] && [ ! -e "$job/booted" ]; then
		return 75
	fi
	[ -s "$job/rc" ] || die "the guest stopped without reporting the suite's status (qemu exit $rc)"
	return "$(cat "$job/rc")"
}

# The kernel's own words when it oopsed (BUG, Oops, panic, hung task; the
# kernel panics on each, see the command line): the trace again, after the
# suite's output, and a failure. Warnings are printed, not failed.
report_crash() {
	local con="$job/console"
	sleep 0.2 # the tee behind the console catches up
	[ -s "$con" ] || return 0
	local first
	first=$(grep -n -m1 -E 'BUG: |Oops: |Kernel panic|general protection fault|kernel BUG at|blocked for more than|soft lockup' "$con" | cut -d: -f1) || true
	if [ -n "$first" ]; then
		echo "vmtest: the guest kernel crashed; its trace:"
		tail -n "+$first" "$con" | head -n 120
		die "guest kernel $release crashed (the trace above); the suite did not finish"
	fi
	if grep -q 'WARNING: CPU' "$con"; then
		echo "vmtest: note: the guest kernel warned:"
		grep -A12 'WARNING: CPU' "$con" | head -n 60
	fi
}

run_qemu() {
	local initrd rc=0
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 is missing (Debian package qemu-system-x86; scripts/install-deps.sh)"
	initrd=$(initramfs_for) || die "cannot build the initramfs for $release"
	if [ "$accel" = kvm ] || { [ "$accel" = auto ] && kvm_usable; }; then
		echo "vmtest: qemu with KVM, kernel $release ($image)"
		boot_qemu kvm "$initrd" || rc=$?
		if [ "$rc" -ne 75 ]; then
			rm -f "$(kvm_note)"
			return "$rc"
		fi
		mkdir -p "$CACHE" && : >"$(kvm_note)"
		echo "vmtest: the KVM guest did not come up; booting again under TCG (remembered in $(kvm_note))"
	fi
	echo "vmtest: qemu with TCG, kernel $release ($image)"
	boot_qemu tcg "$initrd"
}

write_job "$@"
if [ "$runner" = vng ] || { [ "$runner" = auto ] && command -v vng >/dev/null && [ ! -e "$job/modules" ]; }; then
	command -v vng >/dev/null || die "--runner vng: vng (virtme-ng) is not installed"
	[ ! -e "$job/modules" ] || die "--runner vng: vng finds modules in /lib/modules/$release or a kernel tree only; $release's are in $modbase (use --runner qemu)"
	run_vng
else
	run_qemu
fi
