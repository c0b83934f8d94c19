# The scale-out lab (docs/scale-out.md): multipath clients behind a router
# that spreads connections over two MCPs sharing an anycast address by ECMP,
# learnt over BGP (FRR; short timers find a dead MCP: no bfdd, see
# docs/scale-out.md).
#
#   CL a1 ---- RT ---- m1/acc  MCP1  wan ---- S
#      a2 ----    ---- m2/acc  MCP2  wan ----
#
#   CL    a1 10.71.1.2/24  (default via RT)   a2 10.71.2.2/24 (subflow endpoint)
#   RT    a1 10.71.1.1     a2 10.71.2.1       mK 10.71.1K.1/24   AS 65000
#   MCPK  acc 10.71.1K.2/24 (its own address: joins)   wan 10.71.2K.2/24   AS 65100
#         anycast 10.71.100.1 (announced while xmcp serves it)
#   S     wK 10.71.2K.1/24, the server at 10.71.30.1 (lo)
#
# so_hcpe MCP...: an off-path HCPE in CL toward those MCP candidates
# ("ADDR:PORT"), with a LAN host H (SO_H, 10.71.40.2, behind CL's lan
# 10.71.40.1): H's plain TCP becomes the HCPE's MPTCP with an MP_CONVERT.
#
# so_up TAG N makes namespaces TAG-cl, -rt, -s, -mcp1..N (SO_CL, SO_RT, SO_S,
# SO_MCP[1..N]) and starts FRR in RT and each MCP; so_down removes all.
SO_ANYCAST=10.71.100.1
SO_SERVER=10.71.30.1

so_link() {
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	ip -n "$1" addr add "$3/24" dev "$2"
	ip -n "$4" addr add "$6/24" dev "$5"
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}

so_ns() {
	ip netns add "$1"
	ip -n "$1" link set lo up
	ip netns exec "$1" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0
}

# so_rt_conf N: the router's bgpd: every MCP a peer, ECMP over up to 8, hold time 3 s
so_rt_conf() {
	local k
	printf 'router bgp 65000\n bgp router-id 10.71.1.1\n no bgp ebgp-requires-policy\n'
	printf ' neighbor MCP peer-group\n neighbor MCP remote-as 65100\n neighbor MCP timers 1 3\n'
	printf ' neighbor MCP timers connect 1\n neighbor MCP advertisement-interval 0\n'
	for k in $(seq "$1"); do
		printf ' neighbor 10.71.1%d.2 peer-group MCP\n' "$k"
	done
	printf ' address-family ipv4 unicast\n  maximum-paths 8\n exit-address-family\n'
}

# so_mcp_conf K: MCP K's bgpd: it announces the addresses of xmcp's device only
so_mcp_conf() {
	printf 'router bgp 65100\n bgp router-id 10.71.1%d.2\n no bgp ebgp-requires-policy\n' "$1"
	printf ' neighbor 10.71.1%d.1 remote-as 65000\n neighbor 10.71.1%d.1 timers 1 3\n' "$1" "$1"
	printf ' neighbor 10.71.1%d.1 timers connect 1\n neighbor 10.71.1%d.1 advertisement-interval 0\n' "$1" "$1"
	printf ' address-family ipv4 unicast\n  redistribute connected route-map ANYCAST\n exit-address-family\n'
	printf 'route-map ANYCAST permit 10\n match interface xmcp-anycast\n'
}

# so_policy K FILE: MCP K's xmcp policy
so_policy() {
	cat > "$2" <<-JSON
	{
	  "role": "mcp",
	  "interfaces": { "access": ["acc"], "wan": ["wan"] },
	  "subscribers": ["10.71.1.0/24", "10.71.2.0/24"],
	  "endpoints": [ { "address": "10.71.1$1.2", "interface": "acc", "flags": ["signal"], "port": 7011 } ],
	  "limits": { "subflows": 4, "add_addr_accepted": 0 },
	  "anycast": { "addresses": ["$SO_ANYCAST"], "drain_min": 1, "drain_timeout": 60 }
	}
	JSON
}

so_up() {
	local t=$1 n=$2 k
	SO_CL="$t-cl" SO_RT="$t-rt" SO_S="$t-s" SO_MCP=()
	so_ns "$SO_CL"
	so_ns "$SO_RT"
	so_ns "$SO_S"
	so_link "$SO_CL" a1 10.71.1.2 "$SO_RT" a1 10.71.1.1
	so_link "$SO_CL" a2 10.71.2.2 "$SO_RT" a2 10.71.2.1
	ip -n "$SO_CL" route add default via 10.71.1.1 dev a1
	ip -n "$SO_CL" route add default via 10.71.2.1 dev a2 metric 100
	ip -n "$SO_CL" mptcp limits set subflows 4 add_addr_accepted 4
	ip -n "$SO_CL" mptcp endpoint add 10.71.2.2 dev a2 subflow
	# the flows spread by their ports too (layer 4 hash), as on an operator's router
	ip netns exec "$SO_RT" sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	ip -n "$SO_S" addr add "$SO_SERVER/32" dev lo
	for k in $(seq "$n"); do
		SO_MCP[$k]="$t-mcp$k"
		so_ns "${SO_MCP[$k]}"
		so_link "$SO_RT" "m$k" "10.71.1$k.1" "${SO_MCP[$k]}" acc "10.71.1$k.2"
		so_link "$SO_S" "w$k" "10.71.2$k.1" "${SO_MCP[$k]}" wan "10.71.2$k.2"
		ip -n "${SO_MCP[$k]}" route add default via "10.71.1$k.1"
		ip -n "${SO_MCP[$k]}" route add "$SO_SERVER/32" via "10.71.2$k.1"
		frr_up "${SO_MCP[$k]}" "$(so_mcp_conf "$k")" || return 1
	done
	frr_up "$SO_RT" "$(so_rt_conf "$n")"
}

# so_paths: the router's next hops toward the anycast address, one per line
so_paths() {
	ip -n "$SO_RT" route show "$SO_ANYCAST" | grep -o 'via [0-9.]*' | sort -u
}

# so_wait_paths N: until the router has N next hops for the anycast address (15 s at most)
so_wait_paths() {
	local i
	for i in $(seq "$(slow 150)"); do
		[ "$(so_paths | wc -l)" -eq "$1" ] && return 0
		sleep 0.1
	done
	echo "the router has $(so_paths | wc -l) paths to $SO_ANYCAST, not $1:" >&2
	ip -n "$SO_RT" route show "$SO_ANYCAST" >&2
	return 1
}

so_hcpe() {
	local mcps
	SO_H="${SO_CL%-cl}-h"
	so_ns "$SO_H"
	so_link "$SO_H" lan 10.71.40.2 "$SO_CL" lan 10.71.40.1
	ip -n "$SO_H" route add default via 10.71.40.1
	mcps=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
	cat > "$BATS_TEST_TMPDIR/hcpe.json" <<-JSON
	{
	  "role": "hcpe",
	  "interfaces": { "lan": ["lan"], "access": ["a1", "a2"] },
	  "limits": { "subflows": 4, "add_addr_accepted": 4 },
	  "downstream": { "mode": "off-path", "mcps": $mcps, "connect_timeout_ms": 500, "retry_after": 30 }
	}
	JSON
}

# ns_gone NS...: whatever still runs in them killed, the namespaces deleted ("" and missing ones skipped)
ns_gone() {
	local ns
	for ns in "$@"; do
		[ -n "$ns" ] && [ -e "/run/netns/$ns" ] || continue
		ip netns pids "$ns" | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	return 0
}

so_down() {
	frr_down "${SO_RT:-}" "${SO_MCP[@]}"
	ns_gone "${SO_H:-}" "${SO_CL:-}" "${SO_RT:-}" "${SO_S:-}" "${SO_MCP[@]}"
}

# so_hang K: MCP K's box stops answering, its link left up (a hung machine):
# nothing passes between it and the router either way (tbf at 8 bit/s, since
# this kernel has no netem or gact), so only the BGP hold time finds it dead
so_hang() {
	tc -n "${SO_MCP[$1]}" qdisc replace dev acc root tbf rate 8bit burst 10 latency 1ms
	tc -n "$SO_RT" qdisc replace dev "m$1" root tbf rate 8bit burst 10 latency 1ms
}
