#!/usr/bin/env bats
# The command line itself: help, usage errors, exit codes.
load helpers

# Whatever a test that made a namespace left: programs, pins, the namespace.
teardown() {
	[ -n "${NS:-}" ] || return 0
	in_ns "$NS" "$XMCP" detach --all >/dev/null 2>&1 || true
	ip netns del "$NS" 2>/dev/null || true
	rm -rf "$XMCP_PIN_DIR"
}

@test "cli: --help lists the commands" {
	run "$XMCP" --help
	assert_success
	assert_output --partial "Usage: xmcp"
	local c
	for c in classify attach detach stats run check reload; do
		assert_output --regexp "  $c +"
	done
}

@test "cli: every command has --help" {
	local c
	for c in classify attach detach stats run check reload; do
		run "$XMCP" "$c" --help
		assert_success
		assert_output --partial "Usage: xmcp $c"
	done
}

@test "cli: unknown command or option is a usage error (exit 2)" {
	run "$XMCP" frobnicate
	assert_failure 2
	assert_output --partial "unknown command 'frobnicate'"
	run "$XMCP" --bogus
	assert_failure 2
	run "$XMCP" classify
	assert_failure 2
	assert_output --partial "Usage: xmcp classify"
	run "$XMCP" attach
	assert_failure 2
	run "$XMCP" attach eth0 --mode turbo
	assert_failure 2
	assert_output --partial "--mode must be auto, native, generic or tc"
	run "$XMCP"
	assert_failure 2
}

@test "cli: classify as a non-root user says why it can't" {
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$XMCP" classify /dev/null
	assert_failure 1
	assert_output "xmcp: this command loads BPF programs and must run as root"
}

@test "cli: attach loads the classifier and the tc metadata reader, not the steering or path programs; at tc the classifier alone" {
	local tag dev log="$BATS_TEST_TMPDIR/strace" xdp tc
	tag=$(unique_tag)
	NS="xmcp-l-$tag" dev="xl$tag"
	export XMCP_PIN_DIR="/sys/fs/bpf/xmcp-test-$tag"
	ip netns add "$NS"
	ip -n "$NS" link add "$dev" type veth peer name "p$dev"
	ip -n "$NS" link set "$dev" up
	ip -n "$NS" link set "p$dev" up
	run in_ns "$NS" strace -qq -e trace=bpf -e signal=none -o "$log" "$XMCP" attach "$dev" --mode native
	assert_success
	# every program the command loaded, attached or not
	assert_equal "$(prog_loads "$log" | tr '\n' ' ')" "xmcp_tc_ingress xmcp_xdp "
	# and what is loaded now: the two on the device, by the names bpftool lists
	xdp=$(in_ns "$NS" bpftool -j net show dev "$dev" | jq '.[0].xdp[0].id')
	tc=$(in_ns "$NS" bpftool -j net show dev "$dev" | jq '.[0].tc[0].id')
	assert_equal "$(bpftool -j prog show id "$xdp" | jq -r .name)" xmcp_xdp
	assert_equal "$(bpftool -j prog show id "$tc" | jq -r .name)" xmcp_tc_ingress
	# auto on a veth: the classifier at tc, which counts itself, and nothing else
	in_ns "$NS" "$XMCP" detach "$dev"
	run in_ns "$NS" strace -qq -e trace=bpf -e signal=none -o "$log" "$XMCP" attach "$dev"
	assert_success
	assert_equal "$(prog_loads "$log" | tr '\n' ' ')" "xmcp_tc_class "
	assert_equal "$(in_ns "$NS" bpftool -j net show dev "$dev" | jq '.[0].xdp | length')" 0
	tc=$(in_ns "$NS" bpftool -j net show dev "$dev" | jq '.[0].tc[0].id')
	assert_equal "$(bpftool -j prog show id "$tc" | jq -r .name)" xmcp_tc_class
}

@test "cli: -v shows libbpf's own messages, without it they stay quiet" {
	/usr/bin/python3 "$MKPCAP" "$BATS_TEST_TMPDIR" syn_plain
	run "$XMCP" classify "$BATS_TEST_TMPDIR/syn_plain.pcap"
	assert_success
	refute_output --partial "libbpf:"
	run "$XMCP" -v classify "$BATS_TEST_TMPDIR/syn_plain.pcap"
	assert_success
	assert_output --partial "libbpf:"
}

@test "cli: make install stages the binary, the unit and the policies; systemd accepts the unit" {
	local stage="$BATS_TEST_TMPDIR/stage"
	run make -C "$TOP" install DESTDIR="$stage" PREFIX=/usr/local
	assert_success
	[ -x "$stage/usr/local/sbin/xmcp" ]
	[ -s "$stage/usr/local/share/xmcp/policies/hag.json" ]
	# verify needs the binaries the unit names: point it at the staged one
	sed "s#/usr/local/sbin/xmcp#$stage/usr/local/sbin/xmcp#g" "$stage/etc/systemd/system/xmcp@.service" \
		> "$BATS_TEST_TMPDIR/xmcp@lab.service"
	run systemd-analyze verify "$BATS_TEST_TMPDIR/xmcp@lab.service"
	assert_success
	assert_output ""
	grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$stage/etc/systemd/system/xmcp@.service"
	grep -qx 'Type=notify' "$stage/etc/systemd/system/xmcp@.service"
	# the sandbox: systemd's own exposure score stays in its "OK" band (below 4.0)
	run systemd-analyze security --offline=true "$BATS_TEST_TMPDIR/xmcp@lab.service"
	assert_success
	assert_output --regexp 'Overall exposure level for xmcp@lab.service: [0-3]\.[0-9] OK'
	# an anycast MCP's drop-in (docs/scale-out.md) on top of it is a valid unit too
	cat "$BATS_TEST_TMPDIR/xmcp@lab.service" "$stage/usr/local/share/xmcp/contrib/xmcp-anycast.conf" \
		> "$BATS_TEST_TMPDIR/xmcp@any.service"
	run systemd-analyze verify "$BATS_TEST_TMPDIR/xmcp@any.service"
	assert_success
	assert_output ""
}
