#!/usr/bin/env bash
# make bench [QUICK=1]: the classifier's cost per packet against an empty
# XDP program, the tc programs' against an empty tc program, the relay's
# throughput against plain forwarding and its peers, the plain mode's time
# to first byte against a direct connection and a SOCKS5 proxy, the share
# each path gets against its configured rate share, bonding against native
# MPTCP, connection rate and memory per idle pair, failover of a black-holed
# line against native MPTCP (each baseline measured in the same run).
# Results go to bench/results/, and from them README's table
# (bench/table.py).
#
#   bench/run.sh            11 rounds of 1,000,000 runs per packet
#   bench/run.sh --quick    3 rounds of 100,000
#   bench/run.sh --smoke    1 round of 1,000, results to $BENCH_OUT (the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.bash

out=${BENCH_OUT:-bench/results}
case "${1:-}" in
--quick) repeat=100000 rounds=3 relay_secs=1 relay_runs=1 ttfb_runs=10 tc_secs=2 paths_secs=3 bond_secs=5 bond_runs=1 conn_secs=2 conn_runs=1 conn_n=1000 fo_runs=1 ;;
--smoke) repeat=1000 rounds=1 relay_secs=1 relay_runs=1 ttfb_runs=2 tc_secs=1 paths_secs=1 bond_secs=2 bond_runs=1 conn_secs=1 conn_runs=1 conn_n=100 fo_runs=1 ;;
"") repeat=1000000 rounds=11 relay_secs=3 relay_runs=5 ttfb_runs=50 tc_secs=5 paths_secs=10 bond_secs=10 bond_runs=3 conn_secs=3 conn_runs=3 conn_n=9900 fo_runs=5 ;;
*) echo "usage: bench/run.sh [--quick|--smoke]" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

/usr/bin/python3 tests/tools/mkpcap.py "$tmp" bench_data bench_syn bench_syn_mp_capable bench_syn_mp_convert

{
	echo "## XDP classifier cost per packet"
	echo
	bench_header "$out/classifier.csv" "none (BPF_PROG_TEST_RUN on fixed frames, no TCP connection)" \
		"$rounds" "$(bench_figures "$rounds" round "of $repeat runs")"
	echo
	build/bench_xdp -r "$repeat" -n "$rounds" -c "$out/classifier.csv" \
		data_segment="$tmp/bench_data.pcap" \
		syn="$tmp/bench_syn.pcap" \
		syn_mp_capable="$tmp/bench_syn_mp_capable.pcap" \
		syn_mp_convert="$tmp/bench_syn_mp_convert.pcap"
	echo
	echo "Frames: a 1400-byte data segment with timestamps; a Linux SYN (MSS, SACK,"
	echo "timestamps, window scale); the same with MP_CAPABLE; and with an MP_CONVERT"
	echo "(IPv6 + port) and 16 bytes of SYN data in the payload."
	echo "Targets: data segment within 1.3x of the empty program, SYNs within 2x."
} | tee "$out/classifier.md"

echo
bench/tcprogs.sh "$tc_secs" "$out/tc.md" "$out/tc.csv"

echo
bench/relay.sh "$relay_secs" "$relay_runs" "$out/relay.md" "$out/relay.csv"

echo
bench/ttfb.sh "$ttfb_runs" 10 "$out/ttfb.md" "$out/ttfb.csv"

echo
bench/paths.sh "$paths_secs" "$out/paths.md" "$out/paths.csv"

echo
bench/bonding.sh "$bond_secs" "$bond_runs" "$out/bonding.md" "$out/bonding.csv"

echo
bench/conns.sh "$conn_secs" "$conn_runs" "$conn_n" "$out/conns.md" "$out/conns.csv"

echo
bench/failover.sh "$fo_runs" "$out/failover.md" "$out/failover.csv"

gnuplot -e "csv='$out/relay.csv'; bond='$out/bonding.csv'; out='$out/bench.png'" bench/chart.gp

# README's table and the figures it quotes, from these results; results written
# elsewhere (the smoke run's) get the table beside them and leave README alone
if [ "$(realpath "$out")" = "$(realpath bench/results)" ]; then
	/usr/bin/python3 bench/table.py
else
	/usr/bin/python3 bench/table.py --results "$out" --print > "$out/table.md"
fi
