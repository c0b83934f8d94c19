#!/usr/bin/env bats
# How many flows move when a fourth MCP joins three behind one anycast
# address (docs/scale-out.md), with the router's route to it through a plain
# (hash-threshold) next-hop group or a resilient one. Real namespaces: a
# client, a router that spreads flows by their addresses and ports, and four
# boxes that each hold the address and a server for it. A flow that moves
# lands on a box that never saw it and is reset: the lost connections are the
# moved flows.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/scaleout

ANY=10.72.100.1

setup() {
	TAG="ec$(unique_tag)"
	EC_CL="$TAG-cl" EC_RT="$TAG-rt" EC_BOX=() SRV_PID=()
	so_ns "$EC_CL"
	so_ns "$EC_RT"
	so_link "$EC_CL" a1 10.72.1.2 "$EC_RT" a1 10.72.1.1
	ip -n "$EC_CL" route add default via 10.72.1.1
	ip netns exec "$EC_RT" sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	local k
	for k in 1 2 3 4; do
		EC_BOX[$k]="$TAG-box$k"
		so_ns "${EC_BOX[$k]}"
		so_link "$EC_RT" "m$k" "10.72.1$k.1" "${EC_BOX[$k]}" acc "10.72.1$k.2"
		ip -n "${EC_BOX[$k]}" addr add "$ANY/32" dev lo
		ip -n "${EC_BOX[$k]}" route add default via "10.72.1$k.1"
		ip -n "$EC_RT" nexthop add id "$k" via "10.72.1$k.2" dev "m$k"
		nsenter --net="/run/netns/${EC_BOX[$k]}" timeout "$(slow 120)" "$PY" "$PEER" hold-serve "$ANY" 9443 \
			--ready "$BATS_TEST_TMPDIR/ready$k" > "$BATS_TEST_TMPDIR/box$k.out" 3>&- &
		SRV_PID[$k]=$!
		wait_for "$BATS_TEST_TMPDIR/ready$k"
	done
}

teardown() {
	local p ns
	for p in "${SRV_PID[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for ns in "${EC_CL:-}" "${EC_RT:-}" "${EC_BOX[@]}"; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		ip netns pids "$ns" | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns"
	done
	return 0
}

# add_fourth GROUP_ARGS...: 300 busy flows over boxes 1-3, then box 4 joins
# the group; MOVED: the flows lost, NEW4: of 100 new flows after, those box 4 took
add_fourth() {
	ip -n "$EC_RT" nexthop add id 100 group 1/2/3 "$@"
	ip -n "$EC_RT" route add "$ANY/32" nhid 100
	nsenter --net="/run/netns/$EC_CL" timeout "$(slow 60)" "$PY" "$PEER" keep-n "$ANY" 9443 300 8 \
		--ready "$BATS_TEST_TMPDIR/kept" > "$BATS_TEST_TMPDIR/keep.out" 3>&- &
	local keep=$! before4
	wait_for "$BATS_TEST_TMPDIR/kept"
	# (longer than the resilient group's idle timer: buckets no flow uses are idle by now)
	sleep 3
	ip -n "$EC_RT" nexthop replace id 100 group 1/2/3/4 "$@"
	wait "$keep"
	MOVED=$(sed -n 's/^kept [0-9]* of 300, lost \([0-9]*\)$/\1/p' "$BATS_TEST_TMPDIR/keep.out")
	[ -n "$MOVED" ] || { cat "$BATS_TEST_TMPDIR/keep.out" >&2; return 1; }
	before4=$(grep -c "connection from" "$BATS_TEST_TMPDIR/box4.out" || true)
	nsenter --net="/run/netns/$EC_CL" timeout "$(slow 60)" "$PY" "$PEER" keep-n "$ANY" 9443 100 1 > /dev/null
	NEW4=$(($(grep -c "connection from" "$BATS_TEST_TMPDIR/box4.out" || true) - before4))
}

@test "ecmp: plain ECMP (hash-threshold): a fourth box moves about half of the busy flows off their box" {
	add_fourth
	echo "plain: $MOVED of 300 busy flows moved (reset); box 4 took $NEW4 of 100 new flows" >&2
	# hash-threshold: regions shift, about 1/2 of the flows move (1/4 would be the least any scheme could)
	[ "$MOVED" -ge 90 ]
	[ "$NEW4" -gt 0 ]
}

@test "ecmp: resilient group: a fourth box moves no busy flow; new flows reach it through the idle buckets" {
	add_fourth type resilient buckets 128 idle_timer 2 unbalanced_timer 0
	echo "resilient: $MOVED of 300 busy flows moved (reset); box 4 took $NEW4 of 100 new flows" >&2
	ip -n "$EC_RT" nexthop bucket show id 100 | awk '{ print $NF }' | sort | uniq -c >&2 || true
	assert_equal "$MOVED" 0
	[ "$NEW4" -gt 0 ]
}
