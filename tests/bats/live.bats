#!/usr/bin/env bats
# Live tests: the classifier on a real veth, real SYNs from another namespace.
#
#   netns $CLI                         netns $GW
#   +---------------------+            +----------------------------------+
#   | veth $CLI_IF        |------------| veth $GW_IF                      |
#   | 10.77.0.1/24        |            | 10.77.0.2/24  XDP: xmcp_xdp       |
#   | fd77::1/64          |            | fd77::2/64    tc:  xmcp_tc_ingress|
#   +---------------------+            +----------------------------------+
#
# Counters live under a pin directory of this run's own, so concurrent
# runs and a real gateway on the same machine don't mix.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	local tag
	tag=$(unique_tag)
	CLI="xmcp-c-$tag" GW="xmcp-g-$tag"
	CLI_IF="xc$tag" GW_IF="xg$tag"
	export XMCP_PIN_DIR="/sys/fs/bpf/xmcp-test-$tag"
	ip netns add "$CLI"
	ip netns add "$GW"
	ip link add "$CLI_IF" netns "$CLI" type veth peer name "$GW_IF" netns "$GW"
	ip -n "$CLI" addr add 10.77.0.1/24 dev "$CLI_IF"
	ip -n "$GW" addr add 10.77.0.2/24 dev "$GW_IF"
	ip -n "$CLI" addr add fd77::1/64 dev "$CLI_IF" nodad
	ip -n "$GW" addr add fd77::2/64 dev "$GW_IF" nodad
	ip -n "$CLI" link set "$CLI_IF" up
	ip -n "$GW" link set "$GW_IF" up
	ip -n "$CLI" link set lo up
	ip -n "$GW" link set lo up
}

teardown() {
	# Whatever the test left: programs, pins, namespaces.
	in_ns "$GW" "$XMCP" detach --all >/dev/null 2>&1 || true
	ip netns del "$CLI" 2>/dev/null || true
	ip netns del "$GW" 2>/dev/null || true
	rm -rf "$XMCP_PIN_DIR"
}

gw() { in_ns "$GW" "$XMCP" "$@"; }

# count CLASS: packets XDP counted in that class
count() { stat_of "$GW" ".classes.$1.packets"; }
tc_count() { stat_of "$GW" ".classes.$1.tc"; }

# Three plain TCP SYNs, two MPTCP SYNs over IPv4 and one over IPv6,
# then crafted MP_CONVERT, invalid and malformed SYNs (each in 6 variants).
send_mix() {
	local i
	for i in 1 2 3; do
		in_ns "$CLI" "$PY" "$PEER" probe 10.77.0.2 5001
	done
	in_ns "$CLI" "$PY" "$PEER" probe 10.77.0.2 5001 --mptcp
	in_ns "$CLI" "$PY" "$PEER" probe 10.77.0.2 5002 --mptcp
	in_ns "$CLI" "$PY" "$PEER" probe fd77::2 5001 --mptcp
	ip netns exec "$CLI" "$PY" "$MKPCAP" --send "$CLI_IF" convert_v4_port invalid_dup_d option_len_1 join
}

check_mix() {
	assert_equal "$(count syn)" 3
	assert_equal "$(count syn_mp_capable)" 3
	assert_equal "$(count syn_mp_convert)" 6
	assert_equal "$(count syn_mp_convert_invalid)" 6
	assert_equal "$(count malformed)" 6
	assert_equal "$(count syn_mp_join)" 6
	assert_equal "$(stat_of "$GW" .malformed.tcp_opt)" 6
	# tc read the same verdicts from the XDP metadata
	local c
	for c in syn syn_mp_capable syn_mp_convert syn_mp_convert_invalid syn_mp_join; do
		assert_equal "$(tc_count $c)" "$(count $c)"
	done
}

@test "live: native XDP counts real SYNs by class, tc reads the class from metadata" {
	require_mptcp
	run gw attach "$GW_IF" --mode native
	assert_success
	assert_output --partial "attached to $GW_IF (classifier in native XDP: as asked"
	ip -n "$GW" link show "$GW_IF" | grep -q 'prog/xdp id [0-9]* name xmcp_xdp'
	# the cost auto avoids: the peer lost its segmentation offload
	in_ns "$CLI" ethtool -k "$CLI_IF" | grep -q '^tcp-segmentation-offload: off'
	send_mix
	check_mix
	# every frame reached tc carrying the metadata, VLAN-tagged ones too
	# (tc ingress runs before the kernel drops tags it has no device for)
	assert_equal "$(stat_of "$GW" .tc_no_meta)" 0
}

@test "live: attach puts the classifier at tc on a veth and where the driver has no XDP, and says why" {
	run gw attach "$GW_IF"
	assert_success
	assert_output --partial "attached to $GW_IF (classifier in tc: auto: veth, whose native XDP turns off TSO/GSO on its peer"
	# no XDP at all; the classifier is the tc ingress filter
	run ip -n "$GW" link show "$GW_IF"
	refute_output --partial xdp
	tc -n "$GW" filter show dev "$GW_IF" ingress | grep -q 'name xmcp_tc_class'
	# the peer keeps its segmentation offload
	in_ns "$CLI" ethtool -k "$CLI_IF" | grep -q '^tcp-segmentation-offload: on'
	# the classifier counts as it does in XDP, tc reading each class
	send_mix
	check_mix
	# a second attach is refused, as with XDP
	run gw attach "$GW_IF"
	assert_failure
	assert_output --partial "already has xmcp's tc program"
	# a bridge has no native XDP at all: auto takes tc there too
	ip -n "$GW" link add "n$GW_IF" type bridge
	run gw attach "n$GW_IF"
	assert_success
	assert_output --partial "attached to n$GW_IF (classifier in tc: auto: the driver has no native XDP"
	run ip -n "$GW" link show "n$GW_IF"
	refute_output --partial xdp
	# asked for native there, the attach fails and says what to do
	gw detach "n$GW_IF"
	run gw attach "n$GW_IF" --mode native
	assert_failure
	assert_output --partial "has no native XDP support; try generic mode (or auto)"
}

@test "live: generic XDP counts the same" {
	require_mptcp
	run gw attach "$GW_IF" --mode generic
	assert_success
	ip -n "$GW" link show "$GW_IF" | grep -q xdpgeneric
	send_mix
	check_mix
}

@test "live: MPTCP and TCP transfers pass through intact (verdict is XDP_PASS)" {
	require_mptcp
	gw attach "$GW_IF"
	local ready="$BATS_TEST_TMPDIR/ready"
	local out="$BATS_TEST_TMPDIR/serve.out"
	in_ns "$GW" "$PY" "$PEER" serve 10.77.0.2 6000 --mptcp --ready "$ready" > "$out" 3>&- &
	local server=$!
	wait_for "$ready"
	run in_ns "$CLI" "$PY" "$PEER" send 10.77.0.2 6000 4000000 --mptcp
	assert_success
	# the server got the same bytes, over MPTCP
	wait "$server"
	assert_equal "$(cat "$out")" "$output 10.77.0.1 mptcp"
	rm -f "$ready"
	in_ns "$GW" "$PY" "$PEER" serve fd77::2 6001 --ready "$ready" > "$out" 3>&- &
	server=$!
	wait_for "$ready"
	run in_ns "$CLI" "$PY" "$PEER" send fd77::2 6001 1000000
	assert_success
	wait "$server"
	assert_equal "$(cat "$out")" "$output fd77::1"
	assert_equal "$(count syn_mp_capable)" 1
	assert_equal "$(count syn)" 1
	# 5 MB of data segments crossed the classifier
	[ "$(stat_of "$GW" .classes.tcp.bytes)" -gt 5000000 ]
}

@test "live: detach leaves no XDP, tc filter, clsact qdisc or pins behind" {
	gw attach "$GW_IF"
	[ -e "$XMCP_PIN_DIR/xmcp_xdp_stats" ]
	run gw detach "$GW_IF"
	assert_success
	assert_output "xmcp: detached from $GW_IF"
	run ip -n "$GW" -d link show "$GW_IF"
	refute_output --partial "xdp"
	run tc -n "$GW" filter show dev "$GW_IF" ingress
	assert_output ""
	run tc -n "$GW" qdisc show dev "$GW_IF"
	refute_output --partial clsact
	[ ! -e "$XMCP_PIN_DIR" ]
}

@test "live: an existing clsact qdisc and its filters are kept on detach" {
	tc -n "$GW" qdisc add dev "$GW_IF" clsact
	tc -n "$GW" filter add dev "$GW_IF" ingress prio 9 u32 match u32 0 0
	gw attach "$GW_IF"
	gw detach "$GW_IF"
	run tc -n "$GW" filter show dev "$GW_IF" ingress
	assert_output --partial "pref 9 u32"
	refute_output --partial xmcp
}

@test "live: two devices share the counters; the last detach removes the pins" {
	ip -n "$GW" link add "d$GW_IF" type veth peer name "e$GW_IF"
	gw attach "$GW_IF"
	gw attach "d$GW_IF" --mode generic
	ip -n "$GW" link set "e$GW_IF" up
	ip -n "$GW" link set "d$GW_IF" up
	# a SYN on each device lands in the same counters
	in_ns "$CLI" "$PY" "$PEER" probe 10.77.0.2 5001
	ip netns exec "$GW" "$PY" "$MKPCAP" --send "e$GW_IF" syn_plain
	assert_equal "$(count syn)" 7
	gw detach "$GW_IF"
	[ -e "$XMCP_PIN_DIR/xmcp_xdp_stats" ]
	assert_equal "$(count syn)" 7
	gw detach "d$GW_IF"
	[ ! -e "$XMCP_PIN_DIR" ]
}

@test "live: attaching twice, or over another XDP program, is refused" {
	gw attach "$GW_IF" --mode generic
	run gw attach "$GW_IF"
	assert_failure 1
	assert_output --partial "already has xmcp's XDP program"
	gw detach "$GW_IF"
	ip -n "$GW" link set dev "$GW_IF" xdpgeneric obj "$TOP/build/xdp_empty.bpf.o" sec xdp
	run gw attach "$GW_IF" --mode generic
	assert_failure 1
	assert_output --partial "already has another XDP program"
	# and detach leaves the other program where it is
	run gw detach --all
	ip -n "$GW" link show "$GW_IF" | grep -q 'name xmcp_empty\b'
	run gw detach "$GW_IF"
	assert_failure 1
	ip -n "$GW" link set dev "$GW_IF" xdpgeneric off
	[ ! -e "$XMCP_PIN_DIR" ]
}

@test "live: detach --all cleans up after wiped pins" {
	gw attach "$GW_IF"
	rm -rf "$XMCP_PIN_DIR"
	run gw detach --all
	assert_success
	assert_output --partial "detached from $GW_IF"
	run ip -n "$GW" -d link show "$GW_IF"
	refute_output --partial "xdp"
	run tc -n "$GW" filter show dev "$GW_IF" ingress
	assert_output ""
}

# bpftool_map NS NAME: the id of the map NAME of the XDP program on NS's
# device, found as docs tell an operator to: `bpftool net show`, then
# `bpftool prog show id` for its maps
bpftool_map() {
	local prog id
	# the classifier: XDP, or at tc ingress where the mode put it there
	prog=$(ip netns exec "$1" bpftool -j net show |
		jq '[.[0].xdp[].id] + [.[0].tc[] | select(.name | startswith("xmcp_tc_class")) | .id] | .[0]')
	for id in $(ip netns exec "$1" bpftool -j prog show id "$prog" | jq '.map_ids[]'); do
		if [ "$(bpftool -j map show id "$id" | jq -r .name)" = "$2" ]; then
			echo "$id"
			return
		fi
	done
	return 1
}

@test "live: attach, stats and detach each from its own ip netns exec shell: stats finds the counters through the devices, bpftool by id" {
	require_mptcp
	# ip netns exec gives each command a mount namespace of its own with a
	# fresh /sys: the pins attach makes there are gone when it exits
	run ip netns exec "$GW" "$XMCP" attach "$GW_IF"
	assert_success
	[ ! -e "$XMCP_PIN_DIR" ]
	send_mix
	# from another shell, and from this one, where the pins are not either
	run --separate-stderr ip netns exec "$GW" "$XMCP" stats -j
	assert_success
	assert_equal "$(jq .classes.syn_mp_capable.packets <<<"$output")" 3
	check_mix
	# what bpftool sees: the same counters, by id
	local id
	id=$(bpftool_map "$GW" xmcp_xdp_stats)
	run bpftool -j map dump id "$id"
	assert_success
	assert_equal "$(jq '[.[0].formatted.values[].value.packets.syn_mp_capable] | add' <<<"$output")" 3
	run ip netns exec "$GW" "$XMCP" detach --all
	assert_success
	assert_output --partial "detached from $GW_IF"
	run ip -n "$GW" -d link show "$GW_IF"
	refute_output --partial "xdp"
	run ip netns exec "$GW" "$XMCP" stats
	assert_failure 1
	assert_output --partial "xmcp is not attached anywhere"
}

@test "live: one pin directory serves one network namespace" {
	gw attach "$GW_IF"
	run in_ns "$CLI" "$XMCP" attach "$CLI_IF"
	assert_failure 1
	assert_output --partial "in use by another network namespace"
	run ip -n "$CLI" -d link show "$CLI_IF"
	refute_output --partial "xdp"
}

@test "live: stats reads no other namespace's pins, and no map of another layout" {
	gw attach "$GW_IF"
	send_mix
	# the same pin directory seen from a namespace where xmcp is not attached
	# (nsenter --net shares this mount namespace): its records name GW's
	run in_ns "$CLI" "$XMCP" stats -j
	assert_failure 1
	assert_output --partial "xmcp is not attached anywhere in this network namespace"
	# a map of another layout under xmcp's name is refused, not read
	gw detach --all
	mkdir -p "$XMCP_PIN_DIR"
	bpftool map create "$XMCP_PIN_DIR/xmcp_xdp_stats" type percpu_array key 4 value 8 entries 1 name xmcp_xdp_stats
	run gw stats
	assert_failure 1
	assert_output --partial "xmcp_xdp_stats does not have this xmcp's layout (key 4, value 8 bytes"
}

@test "live: errors are plain words" {
	run gw detach "$GW_IF"
	assert_failure 1
	assert_output "xmcp: xmcp is not attached to $GW_IF"
	run gw attach nosuchdev0
	assert_failure 1
	assert_output "xmcp: no such network device: nosuchdev0"
	run gw stats
	assert_failure 1
	assert_output --partial "xmcp is not attached anywhere"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$XMCP" attach "$GW_IF"
	assert_failure 1
	assert_output "xmcp: this command loads BPF programs and must run as root"
}
