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
# removes them.

lab_up() {
	local t=$1
	LAB_H="$t-h" LAB_HCPE="$t-hcpe" LAB_HAG="$t-hag" LAB_S="$t-s"
	local ns
	for ns in "$LAB_H" "$LAB_HCPE" "$LAB_HAG" "$LAB_S"; do
		ip netns add "$ns"
		ip -n "$ns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	done
	lab_link "$LAB_H" lan 10.1.0.2 fd01::2 "$LAB_HCPE" lan 10.1.0.1 fd01::1
	lab_link "$LAB_HCPE" dsl 10.2.0.1 fd02::1 "$LAB_HAG" dsl 10.2.0.2 fd02::2
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

# lab_link NS1 DEV1 V4 V6 NS2 DEV2 V4 V6: a veth pair with /24 and /64 addresses
lab_link() {
	ip link add "$2" netns "$1" type veth peer name "$6" netns "$5"
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$1" addr add "$4/64" dev "$2" nodad
	ip -n "$5" addr add "$7/24" dev "$6"
	ip -n "$5" addr add "$8/64" dev "$6" nodad
	ip -n "$1" link set "$2" up
	ip -n "$5" link set "$6" up
}

lab_down() {
	local ns
	for ns in "$LAB_H" "$LAB_HCPE" "$LAB_HAG" "$LAB_S"; do
		[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
	done
	return 0
}
