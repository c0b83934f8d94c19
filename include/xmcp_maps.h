/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The names that cross the kernel/user boundary: every map and program of
 * xmcp's BPF object and the pin directory. Each name is given once here;
 * the BPF side declares its maps and programs with these macros, userspace
 * reaches them through the skeleton by the same macros and derives the pin
 * file names from them.
 *
 * What the maps hold is one header per concern, included below so that
 * this one header still gives a user of the object everything:
 *   xmcp_meta.h       the XDP -> tc metadata
 *   xmcp_stats.h      counters (XDP, tc, paths, the daemon)
 *   xmcp_steer.h      what the steering does on each device
 *   xmcp_addr.h       addresses and prefixes in canonical form
 *   xmcp_admission.h  subscriber classes, SYN buckets, join budgets
 *   xmcp_modes.h      the HAG's modes by destination, learned servers
 *   xmcp_ifaces.h     the registry of attached devices, tc filter identity
 */
#ifndef XMCP_MAPS_H
#define XMCP_MAPS_H

#include "xmcp_addr.h"
#include "xmcp_admission.h"
#include "xmcp_class.h"
#include "xmcp_ifaces.h"
#include "xmcp_meta.h"
#include "xmcp_modes.h"
#include "xmcp_stats.h"
#include "xmcp_steer.h"

#define XMCP_STR_(x) #x
#define XMCP_STR(x) XMCP_STR_(x)

#define XMCP_PIN_DIR_DEFAULT "/sys/fs/bpf/xmcp"

/* Programs (bpf/: classify.bpf.c, steer.bpf.c, path.bpf.c). */
#define XMCP_PROG_XDP xmcp_xdp	       /* XDP: classify, drop what admission refuses */
#define XMCP_PROG_TC xmcp_tc_ingress   /* tc ingress of `xmcp attach`: counts the metadata */
#define XMCP_PROG_STEER xmcp_tc_steer  /* tc ingress of `xmcp run`: steering, behind XDP */
#define XMCP_PROG_STEER_CB xmcp_steer_cb /* the same, tail-called by XMCP_PROG_TC_CLASSIFY */
#define XMCP_PROG_PATH xmcp_tc_path    /* tc egress of `xmcp run`'s access devices */
#define XMCP_PROG_TC_CLASSIFY xmcp_tc_class /* tc ingress: classify where XDP does not (xdp_mode auto), then XMCP_MAP_TC_NEXT */

/* Counters (xmcp_stats.h). */
#define XMCP_MAP_XDP_STATS xmcp_xdp_stats
#define XMCP_MAP_TC_STATS xmcp_tc_stats
#define XMCP_MAP_PATH_STATS xmcp_path_stats
#define XMCP_MAP_DAEMON_STATS xmcp_daemon
/* The program XMCP_PROG_TC_CLASSIFY hands a frame on to: steering or the reader. */
#define XMCP_MAP_TC_NEXT xmcp_tc_next
/* Steering (xmcp_steer.h): the mode of each device, the subscriber prefixes. */
#define XMCP_MAP_STEER_IFS xmcp_steer_ifs
#define XMCP_MAP_SUBSCRIBERS xmcp_subscr
#define XMCP_MAP_ARRIVAL xmcp_arrival
/* Admission (xmcp_admission.h). */
#define XMCP_MAP_CLASSES xmcp_classes
#define XMCP_MAP_SYN_BUCKETS xmcp_syn_bkt
#define XMCP_MAP_JOINS xmcp_joins
#define XMCP_MAP_JOINS_NEW xmcp_joins_new
#define XMCP_MAP_SESSIONS xmcp_sessions
/* Modes (xmcp_modes.h). */
#define XMCP_MAP_MODES xmcp_modes
#define XMCP_MAP_MODES_ON xmcp_modes_on
#define XMCP_MAP_LEARNED xmcp_learned
/* The registry (xmcp_ifaces.h). */
#define XMCP_MAP_IFACES xmcp_ifaces

#endif
