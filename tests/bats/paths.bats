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
	# plain traffic over the same device: not MPTCP, not shaped (three SYNs to a closed port)
	local i
	for i in 1 2 3; do in_ns "$LAB_HCPE" "$PY" "$PEER" probe 10.2.0.2 9; done
	local class direct
	class=$(class_sent "$LAB_HCPE" dsl bytes)
	direct=$(tc -n "$LAB_HCPE" -s -j qdisc show dev dsl | jq '.[] | select(.kind == "htb") | .options.direct_packets_stat')
	echo "HCPE dsl: $class bytes through the class, $direct packets direct"
	# most of the 3 MB went by dsl, every byte of it through the class
	[ "$class" -gt 1000000 ]
	[ "$direct" -ge 3 ]
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
