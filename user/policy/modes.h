/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The HAG's modes by destination into the datapath (XMCP_MAP_MODES): the
 * policy's rules, expanded to one entry per destination prefix and port.
 */
#ifndef XMCP_MODES_H
#define XMCP_MODES_H

#include "policy/policy.h"

/* Write p's rule set into the idle slot of modes_fd, then make it live (on_fd); 0 or -1. */
int modes_load(const struct policy *p, int modes_fd, int on_fd);

#endif
