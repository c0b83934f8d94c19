# FRR (Debian's frr package) in the test namespaces: one zebra and bgpd per
# namespace, each with its own configuration and run directory,
# started and stopped by the tests themselves (no systemd, no /etc/frr).
#
#   frr_up NS BGPD_CONF   start zebra and bgpd in NS, bgpd with that
#                         configuration (text); FRR_DIR is the test's place
#   frr_down NS...        stop them (kill -9 included), remove their files
#   frr_kill NS           kill -9 them, as when the box dies
#   frr_vtysh NS CMD      a vtysh command against NS's daemons

FRR_BIN=/usr/lib/frr

# frr_dir NS: NS's configuration, logs and run files (vtysh -N NS finds the
# daemons there); not under the test's directory, which user frr can't enter
frr_dir() {
	echo "/var/run/frr/$1"
}

frr_up() {
	local ns=$1 conf=$2 dir run d
	dir=$(frr_dir "$ns") run=$(frr_dir "$ns")
	mkdir -p "$dir"
	printf '%s\n' "$conf" > "$dir/bgpd.conf"
	: > "$dir/zebra.conf"
	chown -R frr:frr "$dir"
	# no bfdd: its echo socket (AF_PACKET, ETH_P_IP) makes the kernel clone every
	# IP packet after tc, which drops the listener bpf_sk_assign gave a SYN
	# (docs/scale-out.md); the sessions' short timers find a dead peer instead
	for d in zebra bgpd; do
		# -N: the daemons' own path space (vty sockets under $run); 3>&-: not bats' fd
		ip netns exec "$ns" "$FRR_BIN/$d" -d -N "$ns" -f "$dir/$d.conf" -i "$run/$d.pid" \
			--log "file:$dir/$d.log" 2>> "$dir/$d.log" 3>&- || return 1
	done
}

# frr_pids NS: the pids of NS's FRR daemons
frr_pids() {
	cat "/var/run/frr/$1"/*.pid 2>/dev/null
}

frr_kill() {
	frr_pids "$1" | xargs -r kill -KILL 2>/dev/null
	return 0
}

frr_down() {
	local ns f
	for ns in "$@"; do
		[ -n "$ns" ] || continue
		frr_kill "$ns"
		# the logs stay with the test's files, for a failure's report
		for f in "$(frr_dir "$ns")"/*.log; do
			[ -e "$f" ] && [ -n "${BATS_TEST_TMPDIR:-}" ] && cp "$f" "$BATS_TEST_TMPDIR/$ns-${f##*/}"
		done
		rm -rf "$(frr_dir "$ns")"
	done
	return 0
}

frr_vtysh() {
	local ns=$1
	shift
	vtysh -N "$ns" -c "$*" 2>/dev/null
}
