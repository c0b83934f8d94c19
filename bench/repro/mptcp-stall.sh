#!/bin/bash
# MPTCP end to end stalls under a bbr sender: a reproducer with no xmcp in it,
# fit for an upstream report. Two network namespaces, one veth pair, iperf3
# under mptcpize; RUNS runs of SECS seconds per congestion control. For each
# run: the rate, the sender's MPTcpExtMPTCPRetrans and the receiver's
# MPTcpExtDuplicateData (equal when the stall is the one docs/kernels.md
# describes: the receiver had the data, the sender resent it on its MPTCP
# retransmission timer). With SNAP=1, every 100 ms of each congestion
# control's first run: the receiver's data subflow (its TCP queue) and the
# sender's MPTCP socket (bytes not acked at the data level).
#
# Usage: bench/repro/mptcp-stall.sh   (env: RUNS=6 SECS=2 CCS="bbr cubic reno"
#        WINDOW=  (iperf3 -w, e.g. 1M: stalls in nearly every bbr run) SNAP=0)
# Needs: iproute2, iperf3, mptcpize (mptcpd), jq; root.
set -u
A=mps-a-$$ B=mps-b-$$
cleanup() {
	ip netns pids "$B" 2>/dev/null | xargs -r kill 2>/dev/null
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -f "/tmp/mps-$A.nstat" "/tmp/mps-$B.nstat"
}
trap cleanup EXIT
ip netns add "$A"
ip netns add "$B"
ip link add va netns "$A" type veth peer name vb netns "$B"
ip -n "$A" addr add 10.66.0.1/24 dev va
ip -n "$B" addr add 10.66.0.2/24 dev vb
for n in "$A" "$B"; do
	ip -n "$n" link set lo up
	ip netns exec "$n" sysctl -qw net.mptcp.enabled=1
done
ip -n "$A" link set va up
ip -n "$B" link set vb up
ip netns exec "$B" mptcpize run iperf3 -s -D >/dev/null 2>&1
sleep 0.5
# mib NS NAME: a counter since the last nstat call in NS (0 if none); each
# namespace keeps its own history file (nstat's default one is per user)
mib() { NSTAT_HISTORY=/tmp/mps-$1.nstat ip netns exec "$1" nstat -z "$2" 2>/dev/null | awk -v n="$2" '$1 == n { print $2; f = 1 } END { if (!f) print 0 }'; }
# snap: the data connection now (the MPTCP socket with the most unacked at the
# sender): bytes the sender has not seen acked at the data level, whether the
# receiver's MPTCP socket has all of them (its rcv_nxt is the sender's
# write_seq), and what the receiver's subflows hold in their TCP queues
snap() {
	local best=0 ws="" seqs w u q
	for seqs in $(ss -N "$A" -MniH | grep -o 'write_seq:[0-9a-f]* snd_una:[0-9a-f]*' | tr ' ' ,); do
		w=${seqs#write_seq:} w=${w%%,*} u=${seqs##*snd_una:}
		if [ $(( 16#$w - 16#$u )) -gt "$best" ]; then best=$(( 16#$w - 16#$u )) ws=$w; fi
	done
	q=$(ss -N "$B" -tnH state established '( sport = :5201 )' | awk '{ s += $1 } END { print s + 0 }')
	echo "  sender: $best bytes unacked at the data level; receiver: has them all:" \
		"$(ss -N "$B" -MniH | grep -q "rcv_nxt:$ws" && [ -n "$ws" ] && echo yes || echo no)," \
		"$q bytes in its subflows' queues"
}
echo "kernel $(uname -r); window ${WINDOW:-autotuned}; $(( ${SECS:-2} ))-s runs"
for cc in ${CCS:-bbr cubic reno}; do
	for i in $(seq "${RUNS:-6}"); do
		NSTAT_HISTORY=/tmp/mps-$A.nstat ip netns exec "$A" nstat -n
		NSTAT_HISTORY=/tmp/mps-$B.nstat ip netns exec "$B" nstat -n
		if [ "${SNAP:-0}" = 1 ] && [ "$i" = 1 ]; then
			( for _ in $(seq $(( ${SECS:-2} * 10 ))); do
				sleep 0.1
				snap
			done ) &
		fi
		r=$(ip netns exec "$A" mptcpize run iperf3 -c 10.66.0.2 -t "${SECS:-2}" -C "$cc" \
			${WINDOW:+-w "$WINDOW"} -J 2>/dev/null | jq '.end.sum_received.bits_per_second / 1e9 * 100 | round / 100')
		wait
		echo "$cc run $i: $r Gbit/s  sender MPTCPRetrans $(mib "$A" MPTcpExtMPTCPRetrans)," \
			"receiver DuplicateData $(mib "$B" MPTcpExtDuplicateData)"
	done
done
