#!/usr/bin/env bash
# make bench [QUICK=1]: the classifier's cost per packet against an empty
# XDP program measured in the same run. Results go to bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."

quick=0
[ "${1:-}" = "--quick" ] && quick=1
if [ "$quick" = 1 ]; then repeat=100000 rounds=3; else repeat=1000000 rounds=11; fi

out=bench/results
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

/usr/bin/python3 tests/tools/mkpcap.py "$tmp" bench_data bench_syn bench_syn_mp_capable bench_syn_mp_convert

{
	echo "## XDP classifier cost per packet"
	echo
	echo "$(date -u +%Y-%m-%d), kernel $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
	echo
	build/bench_xdp -r "$repeat" -n "$rounds" -c "$out/classifier.csv" \
		data_segment="$tmp/bench_data.pcap" \
		syn="$tmp/bench_syn.pcap" \
		syn_mp_capable="$tmp/bench_syn_mp_capable.pcap" \
		syn_mp_convert="$tmp/bench_syn_mp_convert.pcap"
	echo
	echo "Targets: data segment within 1.3x of the empty program, SYNs within 2x."
} | tee "$out/classifier.md"
