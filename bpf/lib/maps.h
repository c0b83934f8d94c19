/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the programs share: the maps and the one load-time setting that
 * more than one program (in more than one file) reads, and the lookups
 * they make on them. Declared here, defined once in bpf/maps.bpf.c; the
 * BPF static linker (`bpftool gen object`) resolves each file's extern to
 * that one definition, so the linked object has one map of each name,
 * as before the split. A map only one file uses is defined in that file.
 *
 *   map                   classify  steer  path
 *   XMCP_MAP_STEER_IFS       r        r     r
 *   XMCP_MAP_SUBSCRIBERS     r        r     r
 *   XMCP_MAP_CLASSES         r              r
 *   XMCP_MAP_JOINS_NEW       rw             w
 *   XMCP_MAP_PATH_STATS               w     w
 *   XMCP_MAP_ARRIVAL                  w     r
 *   XMCP_MAP_TC_STATS        w        w
 *   cfg_admission            x              x
 *
 * Each map's type is a typedef so that the extern here and the definition
 * in maps.bpf.c are one declaration; the linker checks that an extern and
 * its definition agree on type, key, value and size anyway.
 */
#ifndef XMCP_BPF_MAPS_H
#define XMCP_BPF_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "xmcp_maps.h"

/* xmcp run: what the steering does on each device (XMCP_STEER_*), by ifindex. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, XMCP_MAX_IFACES);
	__type(key, __u32);
	__type(value, __u32);
} xmcp_steer_ifs_map;

/* xmcp run: the subscriber prefixes in canonical form; the value is the class. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct xmcp_prefix_key);
	__type(value, __u32);
} xmcp_subscribers_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, XMCP_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct xmcp_class_cfg);
} xmcp_classes_map;

/*
 * Join budgets by token (struct xmcp_join_budget). XMCP_MAP_JOINS_NEW gets
 * one from each MP_CAPABLE SYN+ACK of ours (path program, egress), for the
 * moments before the daemon accepts the connection: the peer's first join
 * can come that early. LRU, since a connection reset before it was accepted
 * leaves its entry behind. The daemon moves the entry to XMCP_MAP_JOINS at
 * accept and deletes it when the pair ends, so that established connections
 * never lose their budget to an eviction.
 */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, XMCP_MAX_JOIN_ENTRIES);
	__type(key, __u32);
	__type(value, struct xmcp_join_budget);
} xmcp_joins_new_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, XMCP_MAX_IFACES);
	__type(key, __u32);
	__type(value, struct xmcp_path_stats);
} xmcp_path_stats_map;

/*
 * HAG: the device each flow of ours last arrived by (xmcp_steer.h). One
 * entry in the object: the HAG's configure gives it XMCP_MAX_ARRIVALS
 * before load, so that no other role preallocates its ~30 MB.
 */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1);
	__type(key, struct xmcp_flow_key);
	__type(value, struct xmcp_arrival);
} xmcp_arrival_map;

/* What tc ingress read from the classifier: XDP's metadata or the tc classifier's cb. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xmcp_tc_stats);
} xmcp_tc_stats_map;

extern xmcp_tc_stats_map XMCP_MAP_TC_STATS SEC(".maps");
extern xmcp_steer_ifs_map XMCP_MAP_STEER_IFS SEC(".maps");
extern xmcp_subscribers_map XMCP_MAP_SUBSCRIBERS SEC(".maps");
extern xmcp_classes_map XMCP_MAP_CLASSES SEC(".maps");
extern xmcp_joins_new_map XMCP_MAP_JOINS_NEW SEC(".maps");
extern xmcp_arrival_map XMCP_MAP_ARRIVAL SEC(".maps");
extern xmcp_path_stats_map XMCP_MAP_PATH_STATS SEC(".maps");

/*
 * Set through the rodata by `xmcp run` on a HAG or MCP whose policy has
 * subscriber classes; elsewhere the verifier drops the admission code of
 * the XDP and path programs (the classifier's benchmark stays as it was).
 */
extern const volatile __u8 cfg_admission;

/* Is this address in a subscriber prefix? */
static __always_inline int subscriber_addr(const struct xmcp_addr *a)
{
	struct xmcp_prefix_key k;

	xmcp_prefix_key_set(&k, a, 128);
	return bpf_map_lookup_elem(&XMCP_MAP_SUBSCRIBERS, &k) != NULL;
}

/* The limits of the class of the subscriber prefix holding a, or NULL. */
static __always_inline struct xmcp_class_cfg *subscriber_class(const struct xmcp_addr *a)
{
	struct xmcp_prefix_key pk;
	__u32 *cls;

	xmcp_prefix_key_set(&pk, a, 128);
	cls = bpf_map_lookup_elem(&XMCP_MAP_SUBSCRIBERS, &pk);
	return cls ? bpf_map_lookup_elem(&XMCP_MAP_CLASSES, cls) : NULL;
}

/*
 * Count a frame of class cls (< XMCP_CLASS_MAX, checked by the caller). The
 * mask changes no such index; it shows the verifier the index stays inside
 * the value however the compiler arranged the check (6.1 lost it once).
 */
static __always_inline void count_class(struct xmcp_tc_stats *st, __u8 cls)
{
	_Static_assert(16 * sizeof(__u64) <= sizeof(struct xmcp_tc_stats), "a masked index stays in the value");
	((__u64 *)&st->meta)[cls & 15]++;
}

enum path_count { PATH_IN, PATH_OUT, PATH_BY_ARRIVAL /* out of the device its flow arrived by */ };

/* One MPTCP subflow segment of ours through an access device. */
static __always_inline void count_path(__u32 ifindex, __u32 len, enum path_count dir)
{
	struct xmcp_path_stats *ps = bpf_map_lookup_elem(&XMCP_MAP_PATH_STATS, &ifindex);

	if (!ps) {
		struct xmcp_path_stats zero = {};

		bpf_map_update_elem(&XMCP_MAP_PATH_STATS, &ifindex, &zero, BPF_NOEXIST);
		ps = bpf_map_lookup_elem(&XMCP_MAP_PATH_STATS, &ifindex);
		if (!ps)
			return;
	}
	if (dir == PATH_BY_ARRIVAL) {
		ps->tx_by_arrival++;
	} else if (dir == PATH_OUT) {
		ps->tx_packets++;
		ps->tx_bytes += len;
	} else {
		ps->rx_packets++;
		ps->rx_bytes += len;
	}
}

#endif
