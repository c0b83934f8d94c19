/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `xmcp flows`: the daemon's pairs with their MPTCP subflows, as the
 * control socket's "flows" answer (built in the daemon) and as text or
 * JSON on the command line.
 */
#ifndef XMCP_FLOWS_H
#define XMCP_FLOWS_H

#include <json-c/json.h>

#include "policy.h"
#include "relay.h"

/* Every pair of r, with addresses, age, bytes and the MPTCP leg's subflows. */
json_object *flows_json(struct relay *r, const struct policy *p);

int cmd_flows(int argc, char **argv);

#endif
