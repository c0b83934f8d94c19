// SPDX-License-Identifier: GPL-2.0
/*
 * The one definition of each map (and load-time setting) that programs in
 * more than one file share (declared in lib/maps.h), and of the maps no
 * program touches but userspace keeps in the object so that they are
 * pinned and found beside the others. No programs here: this file is a
 * part of build/xmcp.bpf.o, linked with classify, steer and path.
 */
#include "lib/maps.h"

char LICENSE[] SEC("license") = "GPL";

xmcp_tc_stats_map XMCP_MAP_TC_STATS SEC(".maps");
xmcp_steer_ifs_map XMCP_MAP_STEER_IFS SEC(".maps");
xmcp_subscribers_map XMCP_MAP_SUBSCRIBERS SEC(".maps");
xmcp_classes_map XMCP_MAP_CLASSES SEC(".maps");
xmcp_joins_new_map XMCP_MAP_JOINS_NEW SEC(".maps");
xmcp_path_stats_map XMCP_MAP_PATH_STATS SEC(".maps");
xmcp_arrival_map XMCP_MAP_ARRIVAL SEC(".maps");

const volatile __u8 cfg_admission = 0;

/* Not used by the programs: userspace's record of where xmcp is attached. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XMCP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct xmcp_iface);
} XMCP_MAP_IFACES SEC(".maps");

/* Not used by the programs: the daemon's count of sessions per subscriber address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XMCP_SYN_BUCKETS);
	__type(key, struct xmcp_addr);
	__type(value, __u32);
} XMCP_MAP_SESSIONS SEC(".maps");

/* Not used by the programs: the daemon's own counters, for `xmcp stats`; a slot per relay worker. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XMCP_MAX_WORKERS);
	__type(key, __u32);
	__type(value, struct xmcp_daemon_stats);
} XMCP_MAP_DAEMON_STATS SEC(".maps");
