/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The JSON policy of `xmcp run` (docs/policy.md). Loading validates all of
 * it without touching the system; the first problem is reported as
 * "FILE: field.path: what is wrong".
 */
#ifndef XMCP_POLICY_H
#define XMCP_POLICY_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>

#include "xmcp_admission.h"
#include "xmcp_modes.h"

#define POL_MAX_IFS 8
#define POL_MAX_PREFIXES 64
#define POL_IFNAMSIZ 16
#define POL_CC_NAME 16 /* the kernel's TCP_CA_NAME_MAX */
#define POL_DEFAULT_MPTCP_CC "reno"

/* "xdp_mode": auto (per device, kernel/datapath.c), native, generic or tc; the order of the words */
enum pol_xdp { POL_XDP_AUTO, POL_XDP_NATIVE, POL_XDP_GENERIC, POL_XDP_TC };

/* Also the order of the words in the policy's "role". */
enum pol_role { POL_ROLE_HCPE, POL_ROLE_HAG, POL_ROLE_MCP };

struct pol_prefix {
	int family; /* AF_INET or AF_INET6 */
	__u8 addr[16];
	__u8 len;
};

struct pol_ifs {
	unsigned int n;
	char name[POL_MAX_IFS][POL_IFNAMSIZ];
};

#define POL_MAX_ENDPOINTS 8
#define POL_MAX_MCPS 8

#define POL_MAX_MCP_MATCH 8

/*
 * An MCP candidate of the HCPE's off-path downstream mode, for the
 * connections whose destination lies in one of its prefixes and whose
 * port is one of its ports (no prefixes, no ports: any).
 */
struct pol_mcp {
	struct sockaddr_storage sa;
	socklen_t len;
	char text[64]; /* as the policy wrote it, for logs */
	unsigned int n_prefixes, n_ports;
	struct pol_prefix prefixes[POL_MAX_MCP_MATCH];
	__u16 ports[POL_MAX_MCP_MATCH];
};

/*
 * A subscriber class (draft-deng 6.3): the limits of the subscriber
 * prefixes that name it. Class 0 is "default", the class of prefixes that
 * name none; a limit of 0 means none.
 */
#define POL_MAX_CLASSES XMCP_MAX_CLASSES /* the datapath's class table (xmcp_admission.h) */
#define POL_CLASS_NAME 32
struct pol_class {
	char name[POL_CLASS_NAME];
	__u32 max_sessions; /* concurrent M-sessions per subscriber address */
	__u32 max_subflows; /* subflows per M-session, the first included */
	__u32 syn_rate;	    /* SYNs per second per subscriber address */
	__u32 syn_burst;
};

/*
 * The HAG's modes by destination (draft-deng 3.4, enum xmcp_mode in
 * xmcp_modes.h): a rule applies to the connections whose destination lies
 * in one of its prefixes and whose port is one of its ports (no prefixes,
 * no ports: any).
 */
#define POL_MAX_MODE_RULES 16
#define POL_MAX_RULE_MATCH 8
struct pol_mode_rule {
	unsigned int n_prefixes, n_ports;
	struct pol_prefix prefixes[POL_MAX_RULE_MATCH];
	__u16 ports[POL_MAX_RULE_MATCH];
	enum xmcp_mode mode;
};

/*
 * An access network (draft-deng 6.3 e, 6.6 k; peirens Req6): a name, the
 * access device, its type, whether it is a backup, and the rate MPTCP's
 * subflows leaving by it are shaped to (0: not shaped).
 */
#define POL_MAX_PATHS 8
#define POL_PATH_NAME 32
struct pol_path {
	char name[POL_PATH_NAME];
	char ifname[POL_IFNAMSIZ];
	char access[16]; /* dsl, lte, 5g, wlan, fiber, cable, satellite, ethernet */
	bool backup;
	__u32 rate_mbit;
	/* HCPE with "health": the next hop of this line, at most one per family */
	unsigned int n_via;
	struct pol_prefix via[2];
	/*
	 * HCPE with several HAGs: the HAG this path leads to (a line to each
	 * HAG is a path of its own) and its rank, 0 for the first named
	 */
	char hag[POL_PATH_NAME];
	unsigned int hag_rank;
};

/*
 * The HCPE's path health (policy "health"): probes and thresholds that
 * rank the paths, and how long a new connection's SYN waits on one path
 * before the next path races it (user/daemon/health.h, user/roles/race.h).
 */
#define POL_MAX_PROBES 4
struct pol_health {
	bool on;
	unsigned int n_probes;
	struct pol_mcp probes[POL_MAX_PROBES]; /* TCP SYN targets: a SYN+ACK or a RST is an answer */
	unsigned int interval_ms, timeout_ms;  /* a probe per path each interval; unanswered by timeout: lost */
	unsigned int down_after, up_after;     /* lost in a row: down; answered in a row: up again */
	unsigned int max_loss, max_rtt_ms;     /* over the last probes: demoted above these (0: no limit) */
	unsigned int failover_ms;	       /* a SYN unanswered this long: the next path races it */
	__u16 hag_port;			       /* paths naming HAGs: each probes its via at this port, a SYN+ACK answers */
};

/*
 * What the daemon announces to the operator's routing (docs/scale-out.md)
 * as addresses of a device only it holds (user/daemon/announce.h), so
 * that the announcement lives exactly as long as the daemon:
 *   - MCP, policy "anycast": service addresses several MCPs share behind
 *     ECMP, host addresses the host takes as its own;
 *   - HAG, policy "announce": subscriber prefixes, so that servers' replies
 *     to a subscriber come back to the HAG that holds its connections;
 *     routed through the access side, never the host's own.
 */
#define POL_MAX_ANNOUNCE 16
struct pol_announce {
	unsigned int n;				  /* 0: nothing announced */
	bool prefixes;				  /* HAG: subscriber prefixes, not addresses of this host */
	struct pol_prefix addr[POL_MAX_ANNOUNCE]; /* host prefixes (MCP), subscriber prefixes (HAG) */
	char device[POL_IFNAMSIZ];		  /* the announcing device */
	unsigned int drain_min;			  /* MCP: seconds SIGTERM serves at least (routers converging) */
	unsigned int drain_timeout;		  /* MCP: seconds SIGTERM waits for open pairs at most */
	__u16 probe_port;			  /* HAG: the HCPEs' probes get a SYN+ACK here while it serves */
};

/* An MPTCP endpoint the daemon adds (and removes on exit). */
struct pol_endpoint {
	struct pol_prefix addr; /* len is the full length */
	char ifname[POL_IFNAMSIZ]; /* empty: any */
	__u32 flags;		   /* MPTCP_PM_ADDR_FLAG_* */
	__u16 port;		   /* signal endpoints: the kernel listens there for joins */
	__u8 id;
};

struct policy {
	enum pol_role role;
	__u16 listen_port;
	unsigned int workers;	/* relay worker threads; 0: one per CPU the daemon may run on */
	__u32 fwmark;
	__u32 table;
	enum pol_xdp xdp_mode;
	bool marker;	 /* "marker": "mp_convert" */
	bool relay_copy; /* "relay": "copy" (default "splice") */
	/*
	 * "mptcp_congestion": the congestion control of the daemon's MPTCP legs
	 * (all their subflows); its TCP legs keep the namespace's. Default
	 * "reno": bbr and cubic senders stall MPTCP on 6.18 (docs/kernels.md).
	 */
	char mptcp_cc[POL_CC_NAME];
	bool mptcp_cc_default; /* not given: a kernel without the option runs with its own */
	bool terminate_tcp; /* HAG: subscribers' plain TCP SYNs too */
	bool origin_check;  /* HAG: drop MPTCP SYNs from non-subscribers on the access side (always on an MCP) */
	unsigned int idle_timeout; /* seconds */
	unsigned int connect_timeout; /* seconds a server leg may take to connect */
	unsigned int head_timeout; /* seconds an MP_CONVERT head may take to arrive */
	gid_t control_gid;	   /* may use the control socket besides root; (gid_t)-1: none */
	struct pol_ifs lan, access, wan;
	unsigned int n_subscribers;
	struct pol_prefix subscribers[POL_MAX_PREFIXES];
	__u8 subscriber_class[POL_MAX_PREFIXES]; /* index into classes[] */
	unsigned int n_classes; /* HAG, MCP: 1 ("default") + those the policy names; 0 without "classes" */
	struct pol_class classes[POL_MAX_CLASSES];
	unsigned int n_forbidden; /* MCP: destinations refused besides the built-in ones */
	struct pol_prefix forbidden[POL_MAX_PREFIXES];
	unsigned int n_transparent; /* MCP: subscriber prefixes whose source MP_CONVERT is honoured */
	struct pol_prefix transparent[POL_MAX_PREFIXES];
	unsigned int n_endpoints;
	struct pol_endpoint endpoints[POL_MAX_ENDPOINTS];
	bool off_path; /* HCPE: "downstream": {"mode": "off-path", ...} */
	unsigned int n_mcps;
	struct pol_mcp mcps[POL_MAX_MCPS];
	unsigned int connect_timeout_ms, retry_after;
	unsigned int n_paths;
	struct pol_path paths[POL_MAX_PATHS];
	unsigned int n_hags; /* HCPE: HAGs the paths name (0: none named, one HAG) */
	struct pol_health health; /* HCPE */
	struct pol_announce announce; /* MCP "anycast", HAG "announce" */
	bool has_modes; /* HAG: "modes" given */
	enum xmcp_mode default_mode;
	unsigned int learned_lifetime; /* seconds a server learned MPTCP-capable stays so */
	unsigned int n_mode_rules;
	struct pol_mode_rule mode_rules[POL_MAX_MODE_RULES];
	bool has_metrics; /* "metrics": "ADDR:PORT" on loopback, for GET /metrics */
	struct pol_mcp metrics; /* (only its address is used) */
	bool set_limits; /* "limits" given: set them, restore the old ones on exit */
	__u32 add_addr_accepted, subflows;
};

/* 0, or -1 after printing the first problem. */
int policy_load(const char *path, struct policy *p);

const char *policy_role_name(enum pol_role r);

/*
 * The first field (as the policy names it) that differs between a and b
 * and that a running daemon can't change (`xmcp reload` refuses it; a
 * restart can), or NULL.
 */
const char *policy_fixed_field(const struct policy *a, const struct policy *b);

/* "a.b.c.d/n", "x::y/n" (or an address alone: a host prefix); 0 or -1. */
int policy_parse_prefix(const char *s, struct pol_prefix *p);
/* The class of a subscriber address (network order, by family), or -1 if none. */
int policy_subscriber_class(const struct policy *p, int family, const void *addr);
/* The path whose access device is ifname, or NULL. */
const struct pol_path *policy_path_of(const struct policy *p, const char *ifname);
/* The mode of a destination (address in network order, port in host order). */
enum xmcp_mode policy_mode_for(const struct policy *p, int family, const void *addr, __u16 port);
/* Whether addr (network order, 4 or 16 bytes by family) lies in p. */
bool pol_prefix_contains(const struct pol_prefix *p, int family, const void *addr);

#endif
