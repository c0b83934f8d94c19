# The hybrid-access lab, for the tests and the demo.
#
#   H --lan-- HCPE ==dsl (primary)=== HAG --wan-- S
#                  ==lte (secondary)==
#
#   H     lan  10.1.0.2/24   fd01::2/64   default via HCPE
#   HCPE  lan  10.1.0.1/24   fd01::1/64
#         dsl  10.2.0.1/24   fd02::1/64   default via HAG's dsl
#         lte  10.3.0.1/24   fd03::1/64
#   HAG   dsl  10.2.0.2/24   fd02::2/64   H's prefix via HCPE's dsl
#         lte  10.3.0.2/24   fd03::2/64
#         wan  10.4.0.1/24   fd04::1/64
#   S     wan  10.4.0.2/24   fd04::2/64   default via HAG
#
# lab_up TAG creates namespaces ${TAG}-h, -hcpe, -hag, -s (LAB_H, LAB_HCPE,
# LAB_HAG, LAB_S) and the devices lan/dsl/lte/wan on each side; lab_down
# removes them. Links are veth pairs, except that with LAB_DSL_DELAY or
# LAB_LTE_DELAY set (one-way milliseconds) that access link is a delay line
# (build/delayline: two TAP devices and a forwarding process, since this
# kernel has no netem); LAB_LOSS (percent) adds random loss to those,
# LAB_DSL_LOSS or LAB_LTE_LOSS to one of them.

lab_up() {
	local t=$1
	LAB_H="$t-h" LAB_HCPE="$t-hcpe" LAB_HAG="$t-hag" LAB_S="$t-s"
	local ns
	for ns in "$LAB_H" "$LAB_HCPE" "$LAB_HAG" "$LAB_S"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		# no DAD, link-local addresses included: a tentative link-local holds
		# back neighbour discovery, and so the first IPv6 packets, for a second
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
			net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
	done
	lab_link "$LAB_H" lan 10.1.0.2 fd01::2 "$LAB_HCPE" lan 10.1.0.1 fd01::1
	LAB_DELAY=${LAB_DSL_DELAY:-} LAB_LINK_LOSS=${LAB_DSL_LOSS:-${LAB_LOSS:-0}} \
		lab_link "$LAB_HCPE" dsl 10.2.0.1 fd02::1 "$LAB_HAG" dsl 10.2.0.2 fd02::2
	LAB_DELAY=${LAB_LTE_DELAY:-} LAB_LINK_LOSS=${LAB_LTE_LOSS:-${LAB_LOSS:-0}} \
		lab_link "$LAB_HCPE" lte 10.3.0.1 fd03::1 "$LAB_HAG" lte 10.3.0.2 fd03::2
	lab_link "$LAB_HAG" wan 10.4.0.1 fd04::1 "$LAB_S" wan 10.4.0.2 fd04::2
	ip -n "$LAB_H" route add default via 10.1.0.1
	ip -n "$LAB_H" -6 route add default via fd01::1
	ip -n "$LAB_HCPE" route add default via 10.2.0.2
	ip -n "$LAB_HCPE" -6 route add default via fd02::2
	ip -n "$LAB_HAG" route add 10.1.0.0/24 via 10.2.0.1
	ip -n "$LAB_HAG" -6 route add fd01::/64 via fd02::1
	ip -n "$LAB_S" route add default via 10.4.0.1
	ip -n "$LAB_S" -6 route add default via fd04::1
}

# lab_link NS1 DEV1 V4 V6 NS2 DEV2 V4 V6: a veth pair with /24 and /64 addresses,
# or with LAB_DELAY (ms) a delay line
lab_link() {
	if [ -n "${LAB_DELAY:-}" ]; then
		lab_delay_line "$1:$2" "$5:$6" -d "$LAB_DELAY" -l "${LAB_LINK_LOSS:-${LAB_LOSS:-0}}" || return 1
	else
		ip link add "$2" netns "$1" type veth peer name "$6" netns "$5"
	fi
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$1" addr add "$4/64" dev "$2" nodad
	ip -n "$5" addr add "$7/24" dev "$6"
	ip -n "$5" addr add "$8/64" dev "$6" nodad
	ip -n "$1" link set "$2" up
	ip -n "$5" link set "$6" up
}

# lab_delay_line NS1:DEV1 NS2:DEV2 OPTIONS...: start build/delayline, wait until
# both TAP devices are up. It ends by itself when either namespace goes.
LAB_PIDS=()
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
lab_delay_line() {
	local a=$1 b=$2 ready
	shift 2
	ready=$(mktemp -u /tmp/xmcp-delayline.XXXXXX)
	"$LAB_DIR/build/delayline" -R "$ready" "$@" "$a" "$b" 3>&- &
	LAB_PIDS+=($!)
	for _ in $(seq 50); do
		[ -e "$ready" ] && { rm -f "$ready"; return 0; }
		kill -0 "${LAB_PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "lab: the delay line $a -- $b did not start" >&2
	return 1
}

# shape_paths RATE: each direction of dsl and lte limited to RATE (tbf). A
# test that wants both paths to carry a share limits them: on unshaped veth
# one path carries everything, and the scheduler rightly leaves the other idle
shape_paths() {
	local ns dev
	for ns in "$LAB_HCPE" "$LAB_HAG"; do
		for dev in dsl lte; do
			tc -n "$ns" qdisc add dev "$dev" root tbf rate "$1" burst 32kbit latency 100ms
		done
	done
}

# lab_black_hole DEV: nothing passes DEV either way, its link left up (a line
# that failed upstream of its modem): a tbf at 8 bit/s with a 10-byte bucket
# on both gateways, since this kernel has no netem or gact
lab_black_hole() {
	lab_line_rate "$1" 8bit 10
}

# lab_line_rate DEV RATE [BURST]: DEV carries RATE each way again (tbf on both
# gateways, replacing whatever root qdisc lab_black_hole or this put there)
lab_line_rate() {
	local ns
	for ns in "$LAB_HCPE" "$LAB_HAG"; do
		if [ -n "${3:-}" ]; then
			tc -n "$ns" qdisc replace dev "$1" root tbf rate "$2" burst "$3" latency 1ms
		else
			tc -n "$ns" qdisc replace dev "$1" root tbf rate "$2" burst 32kbit latency 100ms
		fi
	done
}

lab_down() {
	local ns p
	for p in "${LAB_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	LAB_PIDS=()
	for ns in "$LAB_H" "$LAB_HCPE" "$LAB_HAG" "$LAB_S"; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		# a peer a failed test left running would outlive its namespace
		ip netns pids "$ns" | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}
