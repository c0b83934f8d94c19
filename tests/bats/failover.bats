#!/usr/bin/env bats
# Path failure in the hybrid-access lab (issue 17): a line that fails
# upstream of the modem (link up, nothing passes: a tbf at 8 bit/s with a
# 10-byte bucket on both ends), with the HCPE's "health"
# (policies/hcpe-failover.json) and the shipped HAG. New connections during
# the outage, a transfer in flight across it, failback once the line is back.
load helpers
bats_require_minimum_version 1.5.0
load ../lib/lab
load ../lib/gateway

setup() {
	gateway_lab f
	cp "$TOP/policies/hcpe-failover.json" "$BATS_TEST_TMPDIR/hcpe.json"
}

teardown() {
	gateways_down "${HCPE_PID:-}" "${HAG_PID:-}"
}

# path_state NAME: the HCPE's health of path NAME (xmcp stats -j)
path_state() {
	XMCP_PIN_DIR="$PINS-$LAB_HCPE" in_ns "$LAB_HCPE" "$XMCP" stats -j |
		jq -r --arg n "$1" '.paths[] | select(.path == $n) | .health.state'
}

# wait_state NAME STATE: until the HCPE says so (10 s at most, stretched)
wait_state() {
	local i s
	for i in $(seq "$(slow 100)"); do
		s=$(path_state "$1")
		[ "$s" = "$2" ] && return 0
		sleep 0.1
	done
	echo "path $1 stayed $s, not $2" >&2
	grep "path " "$BATS_TEST_TMPDIR/$LAB_HCPE.log" >&2
	return 1
}

# raced: connections whose SYN raced a second path, from the HCPE's summary line on exit
raced() {
	sed -n 's/^xmcp: \([0-9]*\) connections raced a second path.*/\1/p' "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
}

# by_arrival NS DEV: segments the HAG sent back by DEV, the line their flow arrived on
by_arrival() {
	XMCP_PIN_DIR="$PINS-$1" in_ns "$1" "$XMCP" stats -j | jq --arg d "$2" '.paths[$d].tx_by_arrival'
}

@test "failover: the HCPE's paths get a mark, a table and two rules each; all go when the daemon does" {
	start_both
	run ip -n "$LAB_HCPE" rule show
	assert_output --partial "101:	from all fwmark 0x786e lookup main suppress_prefixlength 0"
	assert_output --partial "102:	from all fwmark 0x786f lookup 30831"
	run ip -n "$LAB_HCPE" route show table 30830
	assert_output --partial "default via 10.2.0.2 dev dsl"
	run ip -n "$LAB_HCPE" -6 route show table 30831
	assert_output --partial "default via fd03::2 dev lte"
	wait_state fixed up
	wait_state mobile up
	stop_daemon "$HCPE_PID"
	HCPE_PID=
	run ip -n "$LAB_HCPE" rule show
	refute_output --partial "0x786e"
	refute_output --partial "0x786f"
	run ip -n "$LAB_HCPE" -6 route show table 30831
	assert_output ""
	run ip -n "$LAB_HCPE" route show table 30830
	assert_output ""
}

@test "failover: a line set down and up (the kernel flushes its path's route): the daemon puts the route back and the path comes up again" {
	start_both
	wait_state fixed up
	ip -n "$LAB_HCPE" link set dsl down
	run ip -n "$LAB_HCPE" route show table 30830
	assert_output ""
	wait_state fixed down
	ip -n "$LAB_HCPE" link set dsl up
	wait_state fixed up
	run ip -n "$LAB_HCPE" route show table 30830
	assert_output --partial "default via 10.2.0.2 dev dsl"
	grep -q "path fixed: its IPv4 default route was gone (dsl went down or lost its address): put back" \
		"$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	# and a new connection leaves by it again (the main table's default route
	# went too: the line's own configuration, DHCP or PPP, would put it back)
	ip -n "$LAB_HCPE" route replace default via 10.2.0.2
	transfer 10.4.0.2 8409 200000
	assert_success
}

@test "failover: new connections while the primary is a black hole go through the secondary, IPv4 and IPv6" {
	start_both
	wait_state fixed up
	local l0 arr0
	l0=$(tx_bytes "$LAB_HCPE" lte)
	arr0=$(by_arrival "$LAB_HAG" lte)
	lab_black_hole dsl
	# at once, before any probe noticed: the SYN out of dsl goes unanswered, lte races it
	transfer 10.4.0.2 8400 1000000
	arrived_at_s "10.1.0.2"
	wait_state fixed down
	# once the HCPE knows: straight out of lte
	transfer fd04::2 8401 1000000
	arrived_at_s "fd01::2"
	# the bytes went by lte, and the HAG answered there though its route to the subscriber is dsl
	[ $(( $(tx_bytes "$LAB_HCPE" lte) - l0 )) -gt 2000000 ]
	[ $(( $(by_arrival "$LAB_HAG" lte) - arr0 )) -gt 0 ]
	run ip -n "$LAB_HAG" route get 10.1.0.2
	assert_output --partial "dev dsl"
	stop_daemon "$HCPE_PID"
	HCPE_PID=
	[ "$(raced)" -ge 1 ]
}

# shaped_start: dsl 40 and lte 20 Mbit/s (a download lasts through an outage), both
# daemons, the primary known up
shaped_start() {
	lab_line_rate dsl 40mbit
	lab_line_rate lte 20mbit
	start_both
	wait_state fixed up
}

# first_subflow_path NS: the path `xmcp flows` gives the subflow to or from S's address (the
# first: joins are to the HAG's own) of NS's one flow
first_subflow_path() {
	in_ns "$1" "$XMCP" flows -j |
		jq -r '[(.flows[0].subflows // [])[] | select((.remote + .local) | contains("10.4.0.2:"))][0].path'
}

# hag_sends_in_a_second DEV: the bytes the HAG sends by DEV in the next second (said on stderr too)
hag_sends_in_a_second() {
	local b0 b1
	b0=$(tx_bytes "$LAB_HAG" "$1")
	sleep 1
	b1=$(tx_bytes "$LAB_HAG" "$1")
	echo "the HAG sent $((b1 - b0)) bytes by $1 in a second" >&2
	echo $((b1 - b0))
}

# sink_bg PORT BYTES: S sends BYTES to H in the background (download); h_done ends it
sink_bg() {
	s_server "$1" source 10.4.0.2 "$1" "$2"
	H_OUT="$BATS_TEST_TMPDIR/h-$1.out"
	nsenter --net="/run/netns/$LAB_H" timeout "$(slow 60)" "$PY" "$PEER" sink 10.4.0.2 "$1" > "$H_OUT" 2>&1 3>&- &
	H_PID=$!
}

@test "failover: a transfer in flight crosses the primary's outage intact, carried by the secondary meanwhile" {
	shaped_start
	sink_bg 8410 30000000
	sleep 1
	lab_black_hole dsl
	wait_state fixed down
	[ "$(hag_sends_in_a_second lte)" -gt 1000000 ]
	lab_line_rate dsl 40mbit
	h_done
	arrived_at_s "10.1.0.2"
}

@test "failover: a download that began during the outage moves to the primary when it returns" {
	shaped_start
	lab_black_hole dsl
	wait_state fixed down
	# its first subflow, and its join, on lte: nothing of it was ever on dsl
	sink_bg 8411 40000000
	sleep 1
	assert_equal "$(first_subflow_path "$LAB_HCPE")" mobile
	assert_equal "$(first_subflow_path "$LAB_HAG")" mobile
	lab_line_rate dsl 40mbit
	wait_state fixed up
	# (40 Mbit/s is 5 MB a second; the probes alone are a few hundred bytes)
	[ "$(hag_sends_in_a_second dsl)" -gt 1000000 ]
	# what xmcp flows says: the first subflow (to S's address) on the primary at both ends
	assert_equal "$(first_subflow_path "$LAB_HCPE")" fixed
	assert_equal "$(first_subflow_path "$LAB_HAG")" fixed
	h_done
	arrived_at_s "10.1.0.2"
}

@test "failover: the secondary's outage leaves new connections on the primary, without racing" {
	start_both
	wait_state mobile up
	lab_black_hole lte
	wait_state mobile down
	assert_equal "$(path_state fixed)" up
	transfer 10.4.0.2 8420 1000000
	arrived_at_s "10.1.0.2"
	stop_daemon "$HCPE_PID"
	HCPE_PID=
	assert_equal "$(raced)" 0
}

@test "failover: segments spoofed onto the other line with a flow's addresses and ports do not move its answers there" {
	shaped_start
	sink_bg 8430 30000000
	sleep 1
	local port mac b0 b1 d0 d1
	# the download's first subflow at the HAG: S's address and port, H's port
	port=$(ip netns exec "$LAB_HAG" ss -Htn state established "( sport = :8430 )" dst 10.1.0.2 |
		awk '{ n = split($4, a, ":"); print a[n]; exit }')
	[ -n "$port" ]
	mac=$(ip -n "$LAB_HAG" -j link show lte | jq -r '.[0].address')
	b0=$(by_arrival "$LAB_HAG" lte)
	d0=$(tx_bytes "$LAB_HAG" dsl)
	# 300 segments from the lte side with the flow's addresses and ports, as a
	# spoofer who knows them but not where the flow's sequence space stands
	in_ns "$LAB_HCPE" "$PY" - lte "$mac" "$port" <<-'PY'
		import logging, random, sys
		logging.getLogger("scapy").setLevel(logging.ERROR)
		from scapy.all import Ether, IP, TCP, sendp
		dev, mac, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
		frames = [Ether(dst=mac) / IP(src="10.1.0.2", dst="10.4.0.2") /
		          TCP(sport=port, dport=8430, flags="A", seq=random.getrandbits(32), ack=random.getrandbits(32))
		          for _ in range(300)]
		sendp(frames, iface=dev, verbose=False)
	PY
	sleep 1
	b1=$(by_arrival "$LAB_HAG" lte)
	d1=$(tx_bytes "$LAB_HAG" dsl)
	echo "after the spoofed segments: $((b1 - b0)) segments sent back by lte, $((d1 - d0)) bytes by dsl"
	assert_equal "$b1" "$b0"
	[ $((d1 - d0)) -gt 1000000 ]
	h_done
	arrived_at_s "10.1.0.2"
}

@test "failover: a line slower than max_rtt_ms is demoted: new connections start on the other" {
	# dsl through a delay line, 60 ms each way; the policy demotes lines over 40 ms
	lab_down
	LAB_DSL_DELAY=60 lab_up "$TAG"
	lab_line_rate lte 20mbit
	jq '.health.max_rtt_ms = 40' "$TOP/policies/hcpe-failover.json" > "$BATS_TEST_TMPDIR/hcpe.json"
	start_both
	wait_state fixed demoted
	assert_equal "$(path_state mobile)" up
	run grep "path fixed: up -> demoted (loss 0%, RTT" "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	assert_success
	sink_bg 8440 20000000
	sleep 1
	# the new connection's first subflow left by lte, the better line
	assert_equal "$(first_subflow_path "$LAB_HCPE")" mobile
	h_done
	arrived_at_s "10.1.0.2"
}

@test "failover: a line whose RTT balloons is demoted for new connections, and promoted back once it recovers" {
	jq '.health += {"max_rtt_ms": 100, "interval_ms": 200, "timeout_ms": 2000}' \
		"$TOP/policies/hcpe-failover.json" > "$BATS_TEST_TMPDIR/hcpe.json"
	# dsl upstream 5 Mbit/s with a deep buffer (a bloated modem), and a bulk
	# upload into it that fills the buffer (reno: loss-based, unlike the lab's bbr)
	tc -n "$LAB_HCPE" qdisc replace dev dsl root tbf rate 5mbit burst 32kbit latency 600ms
	start_both
	wait_state fixed up
	ip netns exec "$LAB_HCPE" sysctl -qw net.ipv4.tcp_congestion_control=reno
	in_ns "$LAB_HAG" timeout 60 "$PY" "$PEER" serve 10.2.0.2 9100 --ready "$BATS_TEST_TMPDIR/bulk" >/dev/null 3>&- &
	wait_for "$BATS_TEST_TMPDIR/bulk"
	# (nsenter execs timeout: $! is what a kill reaches, and timeout passes it on)
	nsenter --net="/run/netns/$LAB_HCPE" timeout 60 "$PY" "$PEER" send 10.2.0.2 9100 100000000 \
		>/dev/null 2>&1 3>&- &
	local bulk=$!
	wait_state fixed demoted
	run grep -E "path fixed: up -> demoted \(loss [0-9]+%, RTT [0-9]+ ms\)" "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	assert_success
	# a new connection starts on lte, the better line now
	lab_line_rate lte 20mbit
	sink_bg 8450 5000000
	sleep 0.5
	assert_equal "$(first_subflow_path "$LAB_HCPE")" mobile
	h_done
	arrived_at_s "10.1.0.2"
	# the upload ends, the buffer drains, the line is promoted back
	kill "$bulk" 2>/dev/null || true
	wait_state fixed up
	run grep "path fixed: demoted -> up" "$BATS_TEST_TMPDIR/$LAB_HCPE.log"
	assert_success
}

@test "failover: both lines out while a connection's SYNs go unanswered, back within seconds: the next connections are still MPTCP (the kernel's blackhole detection is off on an HCPE, as it was again after)" {
	local bh=/proc/sys/net/mptcp/blackhole_timeout before="" steered0
	# (a kernel without the sysctl, before 6.12, has no such detection: the rest holds there too)
	[ ! -e "$bh" ] || before=$(in_ns "$LAB_HCPE" cat "$bh")
	start_both
	wait_state fixed up
	wait_state mobile up
	[ -z "$before" ] || assert_equal "$(in_ns "$LAB_HCPE" cat "$bh")" 0
	lab_black_hole dsl
	lab_black_hole lte
	# a connection whose MPTCP legs' SYNs are lost: the kernel retries each twice
	# with MP_CAPABLE (1 s, then 3 s), the third time without
	s_server 8430 serve 10.4.0.2 8430
	nsenter --net="/run/netns/$LAB_H" timeout "$(slow 30)" "$PY" "$PEER" send 10.4.0.2 8430 100000 \
		> "$BATS_TEST_TMPDIR/first.out" 2>&1 3>&- &
	local first=$!
	sleep 2
	# the lines back before that third SYN: it is answered (the kernel's sign of a
	# firewall that drops MPTCP options)
	lab_line_rate dsl 1gbit
	lab_line_rate lte 1gbit
	wait "$first" || true
	wait "$S_PID" || true
	wait_state fixed up
	# the next connection: MPTCP from the HCPE, terminated by the HAG
	steered0=$(gw_stat "$LAB_HAG" .steered)
	transfer 10.4.0.2 8431 1000000
	arrived_at_s "10.1.0.2"
	assert_equal "$(gw_stat "$LAB_HAG" .steered)" $((steered0 + 1))
	[ -z "$before" ] || assert_equal "$(mib "$LAB_HCPE" MPTcpExtMPCapableSYNTXDisabled)" 0
	stop_daemon "$HCPE_PID"
	HCPE_PID=
	[ -z "$before" ] || assert_equal "$(in_ns "$LAB_HCPE" cat "$bh")" "$before"
}
