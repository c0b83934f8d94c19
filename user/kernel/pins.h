/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pin directory under bpffs: where xmcp's maps live between commands.
 * Changes happen under an flock on the directory, and new pins appear by
 * rename() from a temporary name, so no reader ever sees half a state.
 */
#ifndef XMCP_PINS_H
#define XMCP_PINS_H

#include <stdbool.h>

struct bpf_object;

struct xmcp_pins {
	const char *dir;
	int dir_fd;
};

/* Open (creating it when `create`) and lock the directory; -ENOENT if absent. */
int pins_lock(struct xmcp_pins *p, const char *dir, bool create);
void pins_unlock(struct xmcp_pins *p);

/* Before load: make the object use the maps already pinned in the directory. */
int pins_reuse_maps(struct xmcp_pins *p, struct bpf_object *obj);
/* After load: pin the maps that were created fresh. */
int pins_publish_maps(struct xmcp_pins *p, struct bpf_object *obj);
/* Remove every pin xmcp made and the directory itself. */
int pins_remove_all(struct xmcp_pins *p);

/* Open one pinned map by name; a negative errno (with a message) if absent. */
int pins_open_map(const char *dir, const char *name);

/* The same without a word when it is not there. */
int pins_open_map_quiet(const char *dir, const char *name);

#endif
