#!/usr/bin/env bash
# Install everything xmcp needs to build, test and benchmark, from Debian 12's
# own package archive. Idempotent: packages already present are left alone, and
# `apt-get update` runs only when something is missing.
set -euo pipefail

PKGS=(
	# build
	make gcc clang llvm pkg-config bpftool
	libbpf-dev libxdp-dev xdp-tools libjson-c-dev libpcap-dev libmnl-dev libelf-dev zlib1g-dev
	libmicrohttpd-dev libcap-dev libsystemd-dev
	libclang-rt-14-dev
	# tests
	bats bats-support bats-assert python3-scapy jq iperf3 iproute2 tcpdump util-linux procps
	# whether a device keeps its segmentation offload (the XDP mode tests)
	ethtool
	# which BPF programs a command loads (tests/bats/helpers.bash: prog_loads)
	strace
	# the unit file check (systemd-analyze verify)
	systemd
	# vmtest: the suite on another kernel under qemu (busybox and the
	# modules' tools build its initramfs; Debian's kernel comes unpacked
	# from apt-get download, so dpkg-deb and depmod)
	qemu-system-x86 busybox-static cpio kmod
	# benchmarks: the SOCKS5 baseline of bench/ttfb.sh, the relay peers, the charts
	microsocks mptcpize socat haproxy gnuplot-nox
	# the OpenMPTCProuter-style peer of the chain: a shadowsocks tunnel over MPTCP
	shadowsocks-libev
	# scale-out tests: BGP routers (zebra, bgpd) in namespaces (tests/bats/scaleout.bats)
	frr
)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all ${#PKGS[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages (${missing[*]}); run as root" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
