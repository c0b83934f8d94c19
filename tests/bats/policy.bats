#!/usr/bin/env bats
# Policy validation: a bad policy is refused with the field that is wrong,
# before anything on the system is touched.
load helpers

# bad_policy 'JSON' 'expected message': xmcp run refuses it with that message
bad_policy() {
	local f="$BATS_TEST_TMPDIR/p.json"
	printf '%s\n' "$1" > "$f"
	run "$XMCP" check -c "$f"
	assert_failure 1
	assert_output "$f: $2"
	# and run refuses it the same way, before touching anything
	run "$XMCP" run -c "$f"
	assert_failure 1
	assert_output "$f: $2"
}

@test "policy: each mistake is named by its field" {
	bad_policy '{}' 'role: missing (hcpe, hag or mcp)'
	bad_policy '{"role":"cpe"}' "role: must be hcpe, hag or mcp, not 'cpe'"
	bad_policy '{"role":"hcpe","colour":1}' 'colour: unknown key'
	bad_policy '{"role":"hcpe"}' 'interfaces: missing'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"]}}' 'interfaces.access: at least one access interface is needed'
	bad_policy '{"role":"hcpe","interfaces":{"access":["a"]}}' 'interfaces.lan: an HCPE needs its LAN interface'
	bad_policy '{"role":"hag","interfaces":{"access":["a"]}}' 'interfaces.wan: a HAG or MCP needs its interface toward the servers'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]}}' 'subscribers: a HAG or MCP serves only subscriber prefixes: list them'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"],"dmz":[]}}' 'interfaces.dmz: unknown key'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a-very-long-interface"],"access":["b"]}}' "interfaces.lan[0]: 'a-very-long-interface' is longer than 15 characters"
	bad_policy '{"role":"hcpe","interfaces":{"lan":[3],"access":["b"]}}' 'interfaces.lan[0]: must be an interface name'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/33"]}' "subscribers[0]: '10.0.0.0/33' is not an IPv4 or IPv6 prefix"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"listen_port":65536}' 'listen_port: must be between 0 and 65535, not 65536'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"listen_port":"80"}' 'listen_port: must be an integer'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"table":254}' 'table: 254 is a table the kernel uses (default, main, local)'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"connect_timeout":0}' 'connect_timeout: must be between 1 and 300, not 0'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"connect_timeout":301}' 'connect_timeout: must be between 1 and 300, not 301'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"xdp_mode":"fast"}' "xdp_mode: must be auto, native, generic or tc, not 'fast'"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"limits":{"subflows":9}}' 'limits.subflows: must be between 0 and 8, not 9'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"endpoints":[{"address":"10.0.0.0/8"}]}' 'endpoints[0].address: needs an IPv4 or IPv6 address'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"endpoints":[{"address":"10.0.0.1","flags":["turbo"]}]}' "endpoints[0].flags: 'turbo' is not one of signal, subflow, backup, fullmesh"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"endpoints":[{"address":"10.0.0.1","port":80}]}' 'endpoints[0].port: only a signal endpoint takes a port'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"endpoints":[{"address":"10.0.0.1","flags":["signal"],"port":0}]}' 'endpoints[0].port: must be between 1 and 65535, not 0'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"endpoints":[{"address":"10.0.0.1","id":256}]}' 'endpoints[0].id: must be between 1 and 255, not 256'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"endpoints":[{"address":"10.0.0.1","interface":"a-very-long-interface"}]}' "endpoints[0].interface: 'a-very-long-interface' is longer than 15 characters"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"endpoints":{}}' 'endpoints: must be a list of endpoints'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":"10.0.0.0/8"}' 'subscribers: must be a list of prefixes'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"marker":"yes"}' "marker: must be none or mp_convert, not 'yes'"
	bad_policy '{"role":"mcp","interfaces":{"access":["a"]}}' 'interfaces.wan: a HAG or MCP needs its interface toward the servers'
	bad_policy '{"role":"mcp","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"forbidden":["x"]}' "forbidden[0]: 'x' is not an IPv4 or IPv6 prefix"
	# a list longer than the daemon holds is an error, never silently cut
	local many
	many=$(jq -cn '[range(65) | "10.9.\(.).0/24"]')
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"forbidden":'"$many"'}' 'forbidden: at most 64 prefixes'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"downstream":{"mode":"off-path"}}' 'downstream.mcps: off-path mode needs at least one MCP'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"downstream":{"mode":"off-path","mcps":["10.0.0.1"]}}' "downstream.mcps[0]: '10.0.0.1' is not ADDRESS:PORT or [IPV6]:PORT"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"downstream":{"mode":"off-path","mcps":["2001:db8::1:443"]}}' "downstream.mcps[0]: '2001:db8::1:443' is not ADDRESS:PORT or [IPV6]:PORT"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"downstream":{"mode":"sideways"}}' "downstream.mode: must be on-path or off-path, not 'sideways'"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"downstream":{"mode":"off-path","mcps":["10.0.0.1:1"],"connect_timeout_ms":5}}' 'downstream.connect_timeout_ms: must be between 10 and 60000, not 5'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"downstream":{}}' 'downstream: only an HCPE has a downstream MCP'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"downstream":{"mode":"off-path","mcps":[{"ports":[1]}]}}' 'downstream.mcps[0]: needs "mcp": "ADDRESS:PORT"'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"downstream":{"mode":"off-path","mcps":[{"mcp":"10.0.0.1:1","ports":[0]}]}}' 'downstream.mcps[0].ports: must be a list of ports (1..65535)'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"downstream":{"mode":"off-path","mcps":[{"mcp":"10.0.0.1:1","destinations":["x"]}]}}' "downstream.mcps[0].destinations[0]: 'x' is not an IPv4 or IPv6 prefix"
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"transparent_source":["10.0.0.0/8"]}' 'transparent_source: only an MCP takes a source from MP_CONVERT'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"relay":"zerocopy"}' "relay: must be splice or copy, not 'zerocopy'"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"tcp_pairs":"kernel"}' "tcp_pairs: must be relay or sockmap, not 'kernel'"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"terminate_tcp":true}' 'terminate_tcp: only a HAG terminates plain TCP'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"terminate_tcp":1}' 'terminate_tcp: must be true or false'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"tcp_pairs":"sockmap","xdp_mode":"generic"}' 'tcp_pairs: sockmap is refused on this kernel: unbounded without a userspace takeover, and the takeover duplicated bytes (see docs/policy.md); use relay'
	# subscriber classes (admission control)
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"classes":{}}' 'classes: only a HAG or MCP admits subscribers'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":[{"prefix":"10.0.0.0/8","class":"gold"}]}' "subscribers[0].class: 'gold' is not a class of \"classes\""
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"classes":{"gold":{"max_subflows":0}},"subscribers":["10.0.0.0/8"]}' 'classes.gold.max_subflows: must be between 1 and 9, not 0'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"classes":{"gold":{"syn_burst":5}},"subscribers":["10.0.0.0/8"]}' 'classes.gold: syn_burst without syn_rate'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"classes":{"gold":{"speed":5}},"subscribers":["10.0.0.0/8"]}' 'classes.gold.speed: unknown key'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"classes":{"gold":{}},"subscribers":[{"prefix":"10.0.0.0/8","class":"gold"},{"cidr":"x"}]}' 'subscribers[1].cidr: unknown key'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"classes":{"gold":{}},"subscribers":[{"prefix":"10.0.0.300","class":"gold"}]}' "subscribers[0].prefix: '10.0.0.300' is not an IPv4 or IPv6 prefix"
	# the HAG's modes by destination
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"modes":{}}' 'modes: only a HAG chooses a mode by destination'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"modes":{"default":"bypass"}}' "modes.default: must be take_over, transparent or hybrid, not 'bypass'"
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"modes":{"rules":[{"ports":[443]}]}}' 'modes.rules[0]: needs "mode": take_over, transparent or hybrid'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"modes":{"rules":[{"mode":"hybrid","ports":[0]}]}}' 'modes.rules[0].ports: must be a list of ports (1..65535)'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"modes":{"rules":[{"destinations":["10.0.0.0/8","10.1.0.0/16","10.2.0.0/16","10.3.0.0/16","10.4.0.0/16","10.5.0.0/16","10.6.0.0/16","10.7.0.0/16"],"ports":[1,2,3,4,5,6,7,8],"mode":"hybrid"},{"mode":"hybrid"}]}}' 'modes.rules: 65 destination x port combinations, at most 64'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"modes":{"learned_lifetime":0}}' 'modes.learned_lifetime: must be between 1 and 2592000, not 0'
	# paths
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"paths":[{"name":"x","interface":"wan0","access":"dsl"}]}' "paths[0].interface: 'wan0' is not one of interfaces.access"
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"paths":[{"name":"x","interface":"dsl","access":"adsl"}]}' "paths[0].access: must be dsl, lte, 5g, wlan, fiber, cable, satellite or ethernet, not 'adsl'"
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"paths":[{"interface":"dsl","access":"dsl"}]}' 'paths[0].name: needs a name of 1 to 31 characters'
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"paths":[{"name":"x","interface":"lte","access":"lte","priority":"backup"}]}' 'paths[0]: a backup path needs an endpoint on lte to carry the flag (the subflows of an HCPE follow the HAG'"'"'s flag)'
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"paths":[{"name":"x","interface":"lte","access":"lte"},{"name":"x","interface":"dsl","access":"dsl"}]}' 'paths[1]: paths[0] has the same name or interface'
	local two='"paths":[{"name":"f","interface":"dsl","access":"dsl","via":["10.2.0.2"]},{"name":"m","interface":"lte","access":"lte"}]'
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"paths":[{"name":"x","interface":"dsl","access":"dsl","via":["10.2.0.1"]}]}' 'paths[0].via: only an HCPE routes by path (a HAG answers on the path a SYN came by)'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},"paths":[{"name":"x","interface":"dsl","access":"dsl","via":["10.2.0.1/24"]}]}' "paths[0].via: '10.2.0.1/24' is not an address"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},"paths":[{"name":"x","interface":"dsl","access":"dsl","via":["10.2.0.1","10.2.0.3"]}]}' 'paths[0].via: one address per family (IPv4, IPv6)'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},"paths":[{"name":"x","interface":"dsl","access":"dsl"}],"health":{}}' 'health: ranks the paths: list two or more in "paths"'
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"health":{}}' 'health: only an HCPE chooses the path of a new connection'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},'"$two"',"health":{"probes":["10.4.0.1"]}}' "health.probes: '10.4.0.1' is not ADDRESS:PORT or [IPV6]:PORT"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},'"$two"',"health":{"failover_ms":10}}' 'health.failover_ms: must be between 50 and 60000, not 10'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},'"$two"',"health":{"max_loss_percent":101}}' 'health.max_loss_percent: must be between 0 and 100, not 101'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},'"$two"',"health":{"hold":1}}' 'health.hold: unknown key'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},'"$two"',"health":{}}' 'health.probes: name at least one target (ADDRESS:PORT) the lines can reach'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},'"$two"',"downstream":{"mode":"off-path","mcps":["10.9.0.1:7000"]},"health":{"probes":["10.4.0.1:9"]}}' 'health: the off-path HCPE does not choose its lines yet (its MCP legs follow the routing table)'
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["dsl","lte"]},'"$two"',"table":252,"health":{}}' 'table: the paths'"'"' tables (table + 1 ... + 2) would take 253, the kernel'"'"'s'
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"paths":[{"name":"x","interface":"lte","access":"lte","rate_mbit":0}]}' 'paths[0].rate_mbit: must be between 1 and 100000, not 0'
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"metrics":"10.0.0.1:9786"}' "metrics: '10.0.0.1:9786' is not a loopback address (127.0.0.0/8 or [::1])"
	bad_policy '{"role":"hag","interfaces":{"access":["dsl","lte"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"metrics":"127.0.0.1"}' "metrics: '127.0.0.1' is not ADDRESS:PORT or [IPV6]:PORT"
	bad_policy '{"role":"hcpe","interfaces":{"lan":["a"],"access":["b"]},"origin_check":true}' 'origin_check: only a HAG has it to choose (an MCP always checks)'
}

@test "policy: anycast: each mistake is named by its field" {
	local mcp='"role":"mcp","interfaces":{"access":["acc"],"wan":["wan"]},"subscribers":["10.0.0.0/8"]'
	local own='"endpoints":[{"address":"192.0.2.11","interface":"acc","flags":["signal"],"port":7011}]'
	bad_policy '{"role":"hag","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"anycast":{"addresses":["192.0.2.1"]}}' "anycast: only an MCP serves a shared address (a HAG keeps the subscriber's)"
	bad_policy '{'"$mcp"','"$own"',"anycast":["192.0.2.1"]}' 'anycast: must be an object with addresses, device, drain_min, drain_timeout'
	bad_policy '{'"$mcp"','"$own"',"anycast":{}}' 'anycast.addresses: name the service address(es) the MCPs share'
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["192.0.2.0/24"]}}' 'anycast.addresses[0]: must be one address (/32 or /128), not a prefix'
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["224.0.0.1"]}}' 'anycast.addresses[0]: is a special address (unspecified, loopback, link-local, multicast or broadcast)'
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["::ffff:127.0.0.1"]}}' 'anycast.addresses[0]: is a special address (unspecified, loopback, link-local, multicast or broadcast)'
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["192.0.2.1"],"device":"a-very-long-interface"}}' "anycast.device: 'a-very-long-interface' is longer than 15 characters"
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["192.0.2.1"],"drain_timeout":86401}}' 'anycast.drain_timeout: must be between 0 and 86400, not 86401'
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["192.0.2.1"],"weight":1}}' 'anycast.weight: unknown key'
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["192.0.2.1","::ffff:192.0.2.1"]}}' 'anycast.addresses[1]: is addresses[0] again'
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["192.0.2.1"],"drain_timeout":10,"drain_min":11}}' 'anycast.drain_min: is longer than drain_timeout (10 s)'
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["192.0.2.1"],"device":"acc"}}' "anycast.device: 'acc' must be a name of its own (no % or /, none of the interfaces)"
	bad_policy '{'"$mcp"','"$own"',"anycast":{"addresses":["192.0.2.1"],"device":"any%d"}}' "anycast.device: 'any%d' must be a name of its own (no % or /, none of the interfaces)"
	bad_policy '{'"$mcp"',"anycast":{"addresses":["192.0.2.1"]}}' 'endpoints: an anycast MCP needs a signal endpoint with an address of its own: joins go there, never to the shared address'
	bad_policy '{'"$mcp"',"endpoints":[{"address":"192.0.2.1","flags":["signal"]}],"anycast":{"addresses":["192.0.2.1"]}}' 'endpoints[0]: is a shared (anycast) address: a join to it may be routed to another MCP'
	# and a good one passes
	printf '%s\n' '{'"$mcp"','"$own"',"anycast":{"addresses":["192.0.2.1","2001:db8::1"]}}' > "$BATS_TEST_TMPDIR/ok.json"
	run "$XMCP" check -c "$BATS_TEST_TMPDIR/ok.json"
	assert_success
}

@test "policy: a HAG's announce: each mistake is named by its field" {
	local hag='"role":"hag","interfaces":{"access":["acc"],"wan":["wan"]},"subscribers":["10.1.0.0/16","2001:db8:1::/48"]'
	bad_policy '{"role":"mcp","interfaces":{"access":["a"],"wan":["b"]},"subscribers":["10.0.0.0/8"],"announce":{"prefixes":["10.0.0.0/8"]}}' 'announce: only a HAG announces subscriber prefixes (an MCP shares addresses: "anycast")'
	bad_policy '{'"$hag"',"announce":["10.1.0.0/24"]}' 'announce: must be an object with prefixes, device, probe_port'
	bad_policy '{'"$hag"',"announce":{}}' 'announce.prefixes: name the subscriber prefixes this HAG serves'
	bad_policy '{'"$hag"',"announce":{"prefixes":["10.2.0.0/24"]}}' 'announce.prefixes[0]: is not inside any of subscribers: servers'"'"' replies to it have no connection here'
	bad_policy '{'"$hag"',"announce":{"prefixes":["10.0.0.0/8"]}}' 'announce.prefixes[0]: is not inside any of subscribers: servers'"'"' replies to it have no connection here'
	bad_policy '{'"$hag"',"announce":{"prefixes":["10.1.0.0/24","10.1.0.128/25"]}}' 'announce.prefixes[1]: overlaps prefixes[0]'
	bad_policy '{'"$hag"',"announce":{"prefixes":["10.1.0.0/24"],"device":"wan"}}' "announce.device: 'wan' must be a name of its own (no % or /, none of the interfaces)"
	bad_policy '{'"$hag"',"announce":{"prefixes":["10.1.0.0/24"],"drain_timeout":5}}' 'announce.drain_timeout: unknown key'
	printf '%s\n' '{'"$hag"',"announce":{"prefixes":["10.1.0.0/24","10.1.1.0/24","2001:db8:1:1::/64"]}}' > "$BATS_TEST_TMPDIR/ok.json"
	run "$XMCP" check -c "$BATS_TEST_TMPDIR/ok.json"
	assert_success
}

@test "policy: an HCPE's paths to several HAGs: each mistake is named by its field" {
	local base='"role":"hcpe","interfaces":{"lan":["lan"],"access":["dsl","lte"]}'
	local pa='{"name":"fa","interface":"dsl","access":"dsl","hag":"a","via":["10.2.0.2"]}'
	local ps='{"name":"fs","interface":"dsl","access":"dsl","hag":"s","via":["10.2.0.3"]}'
	local h='"health":{"hag_port":712}'
	bad_policy '{'"$base"',"paths":['"$pa"',{"name":"fs","interface":"dsl","access":"dsl","via":["10.2.0.3"]}],'"$h"'}' 'paths[1].hag: name the HAG of every path or of none (paths[0] names one)'
	bad_policy '{'"$base"',"paths":['"$pa"',{"name":"fs","interface":"dsl","access":"dsl","hag":"a","via":["10.2.0.3"]}],'"$h"'}' 'paths[1]: paths[0] has the same interface and HAG'
	bad_policy '{'"$base"',"paths":['"$pa"',{"name":"fs","interface":"dsl","access":"dsl","hag":"s"}],'"$h"'}' "paths[1]: shares dsl with paths[0]: each needs its HAG's next hop (\"via\")"
	bad_policy '{'"$base"',"paths":['"$pa"',{"name":"fs","interface":"dsl","access":"dsl","hag":"s","via":["10.2.0.3"],"rate_mbit":10}],'"$h"'}' 'paths[1]: shares dsl with paths[0]: give both the same rate_mbit (one shaper per device)'
	bad_policy '{'"$base"',"paths":['"$pa"',{"name":"fs","interface":"dsl","access":"dsl","hag":"s","via":["10.2.0.2"]}],'"$h"'}' 'paths[1]: has the next hop of paths[0]: each HAG is reached by its own address'
	bad_policy '{'"$base"',"paths":['"$pa"','"$ps"']}' 'health: missing: the paths name HAGs, and probes tell which one answers'
	bad_policy '{'"$base"',"paths":['"$pa"','"$ps"'],"health":{}}' 'health.hag_port: missing: the paths name HAGs; each probes its HAG at this port (the HAG'"'"'s announce.probe_port)'
	bad_policy '{'"$base"',"paths":['"$pa"','"$ps"'],"health":{"hag_port":712,"probes":["10.4.0.1:9"]}}' 'health.probes: with HAGs named, each path probes its own HAG (via, hag_port): leave probes out'
	bad_policy '{'"$base"',"paths":[{"name":"f","interface":"dsl","access":"dsl"},{"name":"m","interface":"lte","access":"lte"}],"health":{"hag_port":712,"probes":["10.4.0.1:9"]}}' 'health.hag_port: only with paths that name their "hag"'
	bad_policy '{'"$base"',"paths":['"$pa"',{"name":"m","interface":"lte","access":"lte","hag":"s"}],'"$h"'}' "paths[1].via: missing: the HAG's address on lte (its probes go there)"
	bad_policy '{"role":"hag","interfaces":{"access":["dsl"],"wan":["wan"]},"subscribers":["10.1.0.0/24"],"paths":[{"name":"f","interface":"dsl","access":"dsl","hag":"a"}]}' 'paths[0].hag: only an HCPE chooses its HAG'
	bad_policy '{"role":"hag","interfaces":{"access":["dsl"],"wan":["wan"]},"subscribers":["10.1.0.0/24"],"announce":{"prefixes":["10.1.0.0/24"],"probe_port":7012}}' 'announce.probe_port: must be between 0 and 1023, not 7012'
	printf '%s\n' '{'"$base"',"paths":['"$pa"','"$ps"'],'"$h"'}' > "$BATS_TEST_TMPDIR/ok.json"
	run "$XMCP" check -c "$BATS_TEST_TMPDIR/ok.json"
	assert_success
}

@test "policy: unreadable or broken JSON is a plain error" {
	run "$XMCP" run -c "$BATS_TEST_TMPDIR/none.json"
	assert_failure 1
	assert_output --partial "none.json"
	printf '{"role": "hcpe",' > "$BATS_TEST_TMPDIR/broken.json"
	run "$XMCP" run -c "$BATS_TEST_TMPDIR/broken.json"
	assert_failure 1
	assert_output --partial "broken.json"
}

@test "policy: the shipped examples are valid" {
	local f
	for f in "$TOP"/policies/*.json; do
		run "$XMCP" check -c "$f"
		assert_success
		assert_output --regexp "^$f: a valid (hcpe|hag|mcp) policy$"
	done
}
