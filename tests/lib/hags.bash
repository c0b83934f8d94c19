# The sharded-HAG lab (docs/scale-out.md): two subscribers' HCPEs on shared
# access networks (a DSL and an LTE segment) with three HAGs: A serves
# subscriber prefix 1, B prefix 2, S stands by for both. Each HAG announces
# its prefixes over BGP (FRR) to the core router while its xmcp runs; S's
# announcements carry a longer AS path, so the router takes them only when
# the primary's are gone. Each HCPE has a path to its primary and to S on
# each line, and follows the HAG that answers its probes.
#
#   H1 -- C1 (HCPE) --+-- dsl segment --+-- A --+
#   H2 -- C2 (HCPE) --+-- lte segment --+-- B --+-- RT (server 10.72.30.1)
#                                       +-- S --+
#
#   Hk     lan 10.72.10k.2/24 (subscriber prefix k: 10.72.10k.0/24)
#   Ck     lan 10.72.10k.1, dsl 10.72.2.1k, lte 10.72.3.1k
#   A B S  dsl 10.72.2.{2,3,4}, lte 10.72.3.{2,3,4} (signal endpoint, port 7011),
#          wan 10.72.1{1,2,3}.2, AS 65200; announce.probe_port 712
#   RT     1{1,2,3}.1 toward each HAG, AS 65000; the server at 10.72.30.1 (lo)
#   AN     the two segments' bridges
#
# hs_up TAG makes the namespaces (HS_AN, HS_RT, HS_C[1,2], HS_H[1,2],
# HS_HAG[a,b,s]) and starts FRR in RT and each HAG; hs_down removes all.
# With HS_DELAY_A (ms), A's two segment links are delay lines of that
# one-way delay: its answers come after the standby's.
HS_SERVER=10.72.30.1
declare -gA HS_ID=([a]=2 [b]=3 [s]=4) HS_WAN=([a]=1 [b]=2 [s]=3)

# hs_seg NS DEV ADDR BRIDGE: NS's DEV on that access segment
hs_seg() {
	local peer="${1##*-}$2"
	ip link add "$2" netns "$1" type veth peer name "$peer" netns "$HS_AN"
	ip -n "$HS_AN" link set "$peer" master "$4" up
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$1" link set "$2" up
}

# hs_seg_delayed NS DEV ADDR BRIDGE MS: as hs_seg, by a delay line of MS
# milliseconds each way (lab.bash; this kernel has no netem)
hs_seg_delayed() {
	local peer="${1##*-}$2"
	lab_delay_line "$1:$2" "$HS_AN:$peer" -d "$5" || return 1
	ip -n "$HS_AN" link set "$peer" master "$4" up
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$1" link set "$2" up
}

# hs_rt_conf: the router's bgpd: each HAG a peer, hold time 3 s
hs_rt_conf() {
	local k
	printf 'router bgp 65000\n bgp router-id 10.72.30.1\n no bgp ebgp-requires-policy\n'
	printf ' neighbor HAG peer-group\n neighbor HAG remote-as 65200\n neighbor HAG timers 1 3\n'
	printf ' neighbor HAG timers connect 1\n neighbor HAG advertisement-interval 0\n'
	for k in a b s; do
		printf ' neighbor 10.72.1%d.2 peer-group HAG\n' "${HS_WAN[$k]}"
	done
	printf ' address-family ipv4 unicast\n  maximum-paths 8\n exit-address-family\n'
}

# hs_hag_conf K: HAG K's bgpd: the prefixes on xmcp's device (the standby's
# at a worse preference: its own AS twice more), and the access segments
hs_hag_conf() {
	local w=${HS_WAN[$1]}
	printf 'router bgp 65200\n bgp router-id 10.72.1%d.2\n no bgp ebgp-requires-policy\n' "$w"
	printf ' neighbor 10.72.1%d.1 remote-as 65000\n neighbor 10.72.1%d.1 timers 1 3\n' "$w" "$w"
	printf ' neighbor 10.72.1%d.1 timers connect 1\n neighbor 10.72.1%d.1 advertisement-interval 0\n' "$w" "$w"
	printf ' address-family ipv4 unicast\n  redistribute connected route-map ANNOUNCE\n exit-address-family\n'
	printf 'route-map ANNOUNCE permit 10\n match interface xmcp-announce\n'
	[ "$1" != s ] || printf ' set as-path prepend 65200 65200\n'
	printf 'route-map ANNOUNCE permit 20\n match interface dsl\n'
	printf 'route-map ANNOUNCE permit 30\n match interface lte\n'
}

# hs_hag_policy K FILE: HAG K's xmcp policy (A: prefix 1, B: prefix 2, S: both)
hs_hag_policy() {
	local prefixes
	case $1 in
	a) prefixes='["10.72.101.0/24"]' ;;
	b) prefixes='["10.72.102.0/24"]' ;;
	s) prefixes='["10.72.101.0/24", "10.72.102.0/24"]' ;;
	esac
	cat > "$2" <<-JSON
	{
	  "role": "hag",
	  "interfaces": { "access": ["dsl", "lte"], "wan": ["wan"] },
	  "subscribers": ["10.72.101.0/24", "10.72.102.0/24"],
	  "endpoints": [ { "address": "10.72.3.${HS_ID[$1]}", "interface": "lte", "flags": ["signal"], "port": 7011 } ],
	  "limits": { "subflows": 2, "add_addr_accepted": 0 },
	  "paths": [ { "name": "fixed", "interface": "dsl", "access": "dsl" },
	             { "name": "mobile", "interface": "lte", "access": "lte" } ],
	  "announce": { "prefixes": $prefixes, "probe_port": 712 }
	}
	JSON
}

# hs_hcpe_policy K PRIMARY FILE: HCPE K's policy: both lines to its primary, then to S
hs_hcpe_policy() {
	local p=${HS_ID[$2]} s=${HS_ID[s]}
	cat > "$3" <<-JSON
	{
	  "role": "hcpe",
	  "interfaces": { "lan": ["lan"], "access": ["dsl", "lte"] },
	  "limits": { "subflows": 2, "add_addr_accepted": 2 },
	  "paths": [
	    { "name": "fixed-$2", "interface": "dsl", "access": "dsl", "hag": "$2", "via": ["10.72.2.$p"] },
	    { "name": "mobile-$2", "interface": "lte", "access": "lte", "hag": "$2", "via": ["10.72.3.$p"] },
	    { "name": "fixed-s", "interface": "dsl", "access": "dsl", "hag": "s", "via": ["10.72.2.$s"] },
	    { "name": "mobile-s", "interface": "lte", "access": "lte", "hag": "s", "via": ["10.72.3.$s"] }
	  ],
	  "health": { "hag_port": 712 }
	}
	JSON
}

# hs_hag_routes K: HAG K's static routes (again after its links were down)
hs_hag_routes() {
	local ns=${HS_HAG[$1]}
	ip -n "$ns" route replace default via "10.72.1${HS_WAN[$1]}.1"
	# each subscriber prefix behind its HCPE (the HAG routes what it does not terminate)
	ip -n "$ns" route replace 10.72.101.0/24 via 10.72.2.11
	ip -n "$ns" route replace 10.72.102.0/24 via 10.72.2.12
}

hs_up() {
	local t=$1 k
	HS_AN="$t-an" HS_RT="$t-rt"
	declare -gA HS_HAG=() HS_C=() HS_H=()
	so_ns "$HS_AN"
	so_ns "$HS_RT"
	ip -n "$HS_AN" link add bd type bridge
	ip -n "$HS_AN" link add bl type bridge
	ip -n "$HS_AN" link set bd up
	ip -n "$HS_AN" link set bl up
	ip -n "$HS_RT" addr add "$HS_SERVER/32" dev lo
	for k in a b s; do
		HS_HAG[$k]="$t-$k"
		so_ns "${HS_HAG[$k]}"
		if [ "$k" = a ] && [ -n "${HS_DELAY_A:-}" ]; then
			hs_seg_delayed "${HS_HAG[$k]}" dsl "10.72.2.${HS_ID[$k]}" bd "$HS_DELAY_A" || return 1
			hs_seg_delayed "${HS_HAG[$k]}" lte "10.72.3.${HS_ID[$k]}" bl "$HS_DELAY_A" || return 1
		else
			hs_seg "${HS_HAG[$k]}" dsl "10.72.2.${HS_ID[$k]}" bd
			hs_seg "${HS_HAG[$k]}" lte "10.72.3.${HS_ID[$k]}" bl
		fi
		so_link "${HS_HAG[$k]}" wan "10.72.1${HS_WAN[$k]}.2" "$HS_RT" "r$k" "10.72.1${HS_WAN[$k]}.1"
		hs_hag_routes "$k"
		frr_up "${HS_HAG[$k]}" "$(hs_hag_conf "$k")" || return 1
	done
	for k in 1 2; do
		HS_C[$k]="$t-c$k" HS_H[$k]="$t-h$k"
		so_ns "${HS_C[$k]}"
		so_ns "${HS_H[$k]}"
		hs_seg "${HS_C[$k]}" dsl "10.72.2.1$k" bd
		hs_seg "${HS_C[$k]}" lte "10.72.3.1$k" bl
		so_link "${HS_H[$k]}" lan "10.72.10$k.2" "${HS_C[$k]}" lan "10.72.10$k.1"
		ip -n "${HS_H[$k]}" route add default via "10.72.10$k.1"
		ip -n "${HS_C[$k]}" route add default via "10.72.2.${HS_ID[$([ "$k" = 1 ] && echo a || echo b)]}"
	done
	frr_up "$HS_RT" "$(hs_rt_conf)"
}

# hs_via PREFIX: the router's next hop(s) for PREFIX, space-separated
hs_via() {
	ip -n "$HS_RT" route show "$1" | grep -o 'via [0-9.]*' | awk '{ print $2 }' | sort -u | xargs
}

# hs_wait_via PREFIX NEXTHOP: until the router sends PREFIX to NEXTHOP alone (15 s at most)
hs_wait_via() {
	local i
	for i in $(seq "$(slow 150)"); do
		[ "$(hs_via "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "the router sends $1 to '$(hs_via "$1")', not $2" >&2
	return 1
}

hs_down() {
	frr_down "${HS_RT:-}" "${HS_HAG[@]}"
	ns_gone "${HS_H[@]}" "${HS_C[@]}" "${HS_HAG[@]}" "${HS_RT:-}" "${HS_AN:-}"
}
