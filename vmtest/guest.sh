#!/bin/bash
# Runs the bats suite inside the vmtest VM, on the kernel under test.
#   guest.sh --pid1   PID 1 after vmtest/init (qemu runner): mounts the
#                     kernel filesystems, runs the job, reports its status
#                     to the host and powers off
#   guest.sh JOBDIR   under vng --exec: vng has mounted everything already
# The job directory holds `args` (the bats arguments, NUL-separated), `env`
# (variables to pass on), and optionally `exec` (a command to run instead of
# the suite) and `modules` (the module tree of the kernel under test when the
# host root does not have it).
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# tests/bats/vmtest.bats skips inside a guest: no VM in the VM
export VMTEST_GUEST=1
top=$(cd "$(dirname "$0")/.." && pwd)

mount_kernel_fs() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mkdir -p /dev/pts /dev/shm
	# devtmpfs has no /dev/fd: bash's process substitution needs it
	ln -sfn /proc/self/fd /dev/fd
	ln -sfn /proc/self/fd/0 /dev/stdin
	ln -sfn /proc/self/fd/1 /dev/stdout
	ln -sfn /proc/self/fd/2 /dev/stderr
	mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
	mount -t tmpfs -o mode=1777 shm /dev/shm
	mount -t bpf bpf /sys/fs/bpf
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
	mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
	hostname vmtest
	ip link set lo up
}

# The kernel's modules, where the host root has none for it (a cached
# Debian kernel): bind them where modprobe looks.
bind_modules() {
	local tree
	tree=$(cat "$1/modules" 2>/dev/null) || return 0
	mkdir -p "/lib/modules/$(uname -r)"
	mount --bind "$tree" "/lib/modules/$(uname -r)"
}

# devtmpfs shows a module's device only once the module is loaded; udev
# makes the static nodes modules declare (kmod static-nodes), so that
# opening /dev/net/tun loads tun. There is no udev here: make them.
static_nodes() {
	local type path mode devno
	kmod static-nodes --format=tmpfiles 2>/dev/null |
		while read -r type path mode _ _ _ devno; do
			[ -e "$path" ] && continue
			case $type in
			d*) mkdir -p -m "$mode" "$path" ;;
			[cb]*)
				mkdir -p "$(dirname "$path")"
				mknod -m "$mode" "$path" "${type:0:1}" "${devno%%:*}" "${devno##*:}"
				;;
			esac
		done
}

# A suite that prints nothing for VMTEST_STALL seconds (default 600) gets
# the guest's processes and sockets printed once: a hung test in a VM can't
# be looked at otherwise.
stall_report() {
	local log=$1 limit=${VMTEST_STALL:-600} last=0 size idle=0 ns
	while sleep 30; do
		size=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$size" != "$last" ]; then
			last=$size idle=0
			continue
		fi
		idle=$((idle + 30))
		[ "$idle" -eq "$limit" ] || continue
		echo "vmtest: no output for ${limit}s; processes and sockets:"
		ps -eo pid,ppid,stat,etime,args | grep -v ' \[' | cut -c1-200
		for ns in $(ip netns list | awk '{ print $1 }'); do
			echo "-- netns $ns"
			nsenter --net="/run/netns/$ns" ss -tanpM | cut -c1-200
		done
	done
}

run_job() {
	local jobdir=$1 args=()
	if [ -s "$jobdir/env" ]; then
		set -a
		. "$jobdir/env"
		set +a
	fi
	mapfile -d '' args <"$jobdir/args"
	: >"$jobdir/booted"
	cd "$top" || return 1
	if [ -s "$jobdir/exec" ]; then
		echo "vmtest: kernel $(uname -r), $(nproc) CPUs; $(cat "$jobdir/exec")"
		bash "$jobdir/exec"
	else
		echo "vmtest: kernel $(uname -r), $(nproc) CPUs; tests/run.sh ${args[*]}"
		stall_report /run/vmtest-suite.log &
		local watch=$! rc
		tests/run.sh "${args[@]}" | tee /run/vmtest-suite.log
		rc=${PIPESTATUS[0]}
		kill "$watch"
		return "$rc"
	fi
}

if [ "${1:-}" = --pid1 ]; then
	jobdir=/run/vmtest
	export HOME=/root TERM=${TERM:-dumb}
	# the console's \n stays \n on the host's terminal and in its logs
	stty -onlcr 2>/dev/null
	mount_kernel_fs
	bind_modules "$jobdir"
	static_nodes
	run_job "$jobdir"
	echo $? >"$jobdir/rc"
	sync
	dmesg -n 1
	echo o >/proc/sysrq-trigger
	sleep 30
	exit 1
fi

jobdir=${1:?usage: guest.sh --pid1 | guest.sh JOBDIR}
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
bind_modules "$jobdir"
run_job "$jobdir"
