#!/usr/bin/env bats
# Paths (draft-deng 6.3 e, 6.6 k; peirens Req6) in the hybrid-access lab:
# a backup path through the endpoint flag, rate shares through htb on each
# path's egress, and what `xmcp flows` says of them.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/lab
load ../lib/gateway

setup() {
	gateway_lab p
}

teardown() {
	gateways_down "${HCPE_PID:-}" "${HAG_PID:-}"
}

# with_paths ROLE 'JQ': the shipped policy of ROLE changed by JQ, into the test's directory
with_paths() {
	jq "$2" "$TOP/policies/$1.json" > "$BATS_TEST_TMPDIR/$1.json"
}

# class_sent NS DEV bytes|pkt: what xmcp's htb class on DEV sent (tc has no JSON for htb classes)
class_sent() {
	tc -n "$1" -s class show dev "$2" | awk -v w="$3" '
		/^class htb 786d:2 / { c = 1; next }
		c && $1 == "Sent" { print (w == "bytes" ? $2 : $4); exit }'
}

# class_quiet NS DEV: the packets xmcp's class on DEV sent, once the last
# connection's closing segments are out (no change over 0.3 s; 5 s at most)
class_quiet() {
	local a b i
	b=$(class_sent "$1" "$2" pkt)
	for i in $(seq 16); do
		a=$b
		sleep 0.3
		b=$(class_sent "$1" "$2" pkt)
		[ "$a" != "$b" ] || break
	done
	echo "$b"
}

# direct_sent NS DEV: packets DEV's htb sent outside any class
direct_sent() {
	tc -n "$1" -s -j qdisc show dev "$2" | jq '.[] | select(.kind == "htb") | .options.direct_packets_stat'
}

@test "paths: a backup path: the HAG's endpoint carries the flag, the join is a backup, the data stays on the primary" {
	with_paths hcpe .
	with_paths hag '.paths[1].priority = "backup"'
	start_both
	run ip -n "$LAB_HAG" mptcp endpoint show
	assert_output --partial "10.3.0.2 port 7011 id 200 signal backup dev lte"
	local l0
	l0=$(tx_bytes "$LAB_HCPE" lte)
	transfer 10.4.0.2 8300 20000000
	arrived_at_s "10.1.0.2"
	# the HAG's SYN+ACK to the join said backup; the HCPE took it so
	[ "$(mib "$LAB_HCPE" MPTcpExtMPJoinSynAckBackupRx)" -ge 1 ]
	[ "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" -ge 1 ]
	# of 20 MB up, the backup path carried next to nothing (acks, the join); unflagged it carries MBs
	local lte=$(( $(tx_bytes "$LAB_HCPE" lte) - l0 ))
	echo "HCPE sent $lte bytes over lte"
	[ "$lte" -lt 1000000 ]
}

@test "paths: a backup path over IPv6: the join to the HAG's IPv6 endpoint is a backup, the data stays on the primary" {
	with_paths hcpe .
	jq '.paths[1].priority = "backup" | .endpoints |= map(select(.address | contains(":")))' \
		"$TOP/policies/hag.json" > "$BATS_TEST_TMPDIR/hag.json"
	# an IPv6 announcement with a port fits only without TCP timestamps (docs/policy.md)
	ip netns exec "$LAB_HAG" sysctl -qw net.ipv4.tcp_timestamps=0
	start_both
	run ip -n "$LAB_HAG" mptcp endpoint show
	assert_output --regexp "fd03::2 port 7011 id [0-9]+ signal backup dev lte"
	local l0 lte
	l0=$(tx_bytes "$LAB_HCPE" lte)
	transfer fd04::2 8301 20000000
	arrived_at_s "fd01::2"
	[ "$(mib "$LAB_HCPE" MPTcpExtMPJoinSynAckBackupRx)" -ge 1 ]
	[ "$(mib "$LAB_HAG" MPTcpExtMPJoinAckRx)" -ge 1 ]
	lte=$(( $(tx_bytes "$LAB_HCPE" lte) - l0 ))
	echo "HCPE sent $lte bytes over lte"
	[ "$lte" -lt 1000000 ]
}

@test "paths: rate shares: MPTCP subflows go through the path's htb class, other traffic does not; the daemon removes it" {
	local shape='.paths[0].rate_mbit = 30 | .paths[1].rate_mbit = 10'
	with_paths hcpe "$shape"
	with_paths hag "$shape"
	start_both
	run tc -n "$LAB_HCPE" class show dev dsl
	assert_output --regexp '^class htb 786d:2 root prio 0 rate 30Mbit ceil 30Mbit '
	run tc -n "$LAB_HCPE" class show dev lte
	assert_output --regexp '^class htb 786d:2 root prio 0 rate 10Mbit ceil 10Mbit ' 
	transfer 10.4.0.2 8310 3000000
	arrived_at_s "10.1.0.2"
	local class direct class1 direct1 i
	class=$(class_quiet "$LAB_HCPE" dsl)
	# most of the 3 MB went by dsl, every byte of it through the class
	[ "$(class_sent "$LAB_HCPE" dsl bytes)" -gt 1000000 ]
	# plain traffic over the same device: not MPTCP, not shaped. Three SYNs
	# to a closed port, counted against the htb's direct packets, which
	# count ARP and ND too: the neighbour is known (the transfer), so the
	# SYNs are what is new there; and the class sent not one of them
	direct=$(direct_sent "$LAB_HCPE" dsl)
	for i in 1 2 3; do in_ns "$LAB_HCPE" "$PY" "$PEER" probe 10.2.0.2 9; done
	class1=$(class_sent "$LAB_HCPE" dsl pkt) direct1=$(direct_sent "$LAB_HCPE" dsl)
	echo "HCPE dsl: the probes added $((class1 - class)) packets to the class, $((direct1 - direct)) direct"
	assert_equal "$class1" "$class"
	[ $((direct1 - direct)) -ge 3 ]
	# the HAG shapes its side too: its downstream acks went through its class
	[ "$(class_sent "$LAB_HAG" dsl pkt)" -gt 0 ]
	stop_daemon "$HCPE_PID"
	HCPE_PID=
	run tc -n "$LAB_HCPE" -j qdisc show dev dsl
	assert_equal "$(jq '[.[] | select(.kind == "htb")] | length' <<< "$output")" 0
	# a killed daemon's shaping goes with detach --all
	kill -KILL "$HAG_PID"
	HAG_PID=
	XMCP_PIN_DIR="$PINS-$LAB_HAG" in_ns "$LAB_HAG" "$XMCP" detach --all
	run tc -n "$LAB_HAG" -j qdisc show dev lte
	assert_equal "$(jq '[.[] | select(.kind == "htb" or .kind == "clsact")] | length' <<< "$output")" 0
}

@test "paths: a device with a root qdisc of its own is not shaped over: the daemon refuses and cleans up" {
	with_paths hcpe '.paths[0].rate_mbit = 30'
	tc -n "$LAB_HCPE" qdisc add dev dsl root tbf rate 100mbit burst 32kbit latency 50ms
	run start_daemon "$LAB_HCPE" "$BATS_TEST_TMPDIR/hcpe.json"
	assert_failure
	assert_output --partial "cannot shape path fixed: no htb root on dsl (a root qdisc there already?"
	# the operator's qdisc is untouched, and nothing of xmcp is left
	run tc -n "$LAB_HCPE" -j qdisc show dev dsl
	assert_equal "$(jq -r '.[0].kind' <<< "$output")" tbf
	assert_equal "$(ip -n "$LAB_HCPE" -j link show dsl | jq '.[0].xdp // empty | length')" ""
	run ls "$PINS-$LAB_HCPE"
	assert_failure
}
