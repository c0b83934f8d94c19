// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kernel/pins.h"
#include "lib/util.h"

/* bpffs refuses names with a dot */
#define TMP_SUFFIX "_tmp"

int pins_lock(struct xmcp_pins *p, const char *dir, bool create)
{
	p->dir = dir;
	p->dir_fd = -1;
	if (create && mkdir(dir, 0700) && errno != EEXIST) {
		int err = -errno;

		xmcp_err("cannot create %s: %s", dir, strerror(-err));
		return err;
	}
	p->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->dir_fd < 0)
		return -errno;
	if (flock(p->dir_fd, LOCK_EX)) {
		int err = -errno;

		close(p->dir_fd);
		p->dir_fd = -1;
		return err;
	}
	return 0;
}

void pins_unlock(struct xmcp_pins *p)
{
	if (p->dir_fd >= 0)
		close(p->dir_fd); /* drops the flock */
	p->dir_fd = -1;
}

static void pin_path(const struct xmcp_pins *p, const char *name, const char *suffix, char *buf,
		     size_t size)
{
	snprintf(buf, size, "%s/%s%s", p->dir, name, suffix);
}

/*
 * Maps that are never shared through the pin directory: the internal ones,
 * and the tc classifier's program array, which names the process's own
 * steering program (shared, another process's attach or run would take
 * its frames; the kernel empties it when its process exits, so a dead
 * daemon's classifier stops handing frames on).
 */
static bool process_own(const struct bpf_map *map)
{
	return bpf_map__is_internal(map) || bpf_map__type(map) == BPF_MAP_TYPE_PROG_ARRAY;
}

int pins_reuse_maps(struct xmcp_pins *p, struct bpf_object *obj)
{
	struct bpf_map *map;
	char path[512];
	int fd, err;

	bpf_object__for_each_map(map, obj) {
		if (process_own(map))
			continue;
		pin_path(p, bpf_map__name(map), "", path, sizeof(path));
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue; /* not pinned yet: load creates it */
		err = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (err) {
			xmcp_err("%s does not match this xmcp's map layout (%s); "
				 "'xmcp detach --all' removes the old state",
				 path, strerror(-err));
			return err;
		}
	}
	return 0;
}

int pins_publish_maps(struct xmcp_pins *p, struct bpf_object *obj)
{
	char path[512], tmp[512];
	struct bpf_map *map;
	int err;

	bpf_object__for_each_map(map, obj) {
		if (process_own(map))
			continue;
		pin_path(p, bpf_map__name(map), "", path, sizeof(path));
		if (access(path, F_OK) == 0)
			continue; /* reused, already there */
		pin_path(p, bpf_map__name(map), TMP_SUFFIX, tmp, sizeof(tmp));
		unlink(tmp);
		if (bpf_obj_pin(bpf_map__fd(map), tmp) || rename(tmp, path)) {
			err = -errno;
			xmcp_err("cannot pin %s: %s", path, strerror(-err));
			unlink(tmp);
			return err;
		}
	}
	return 0;
}

/*
 * Removes the pins named xmcp_* (maps and leftover temporary pins), then the
 * directory if that left it empty: a --pin-dir pointed at a shared
 * directory by mistake loses nothing that is not xmcp's.
 */
int pins_remove_all(struct xmcp_pins *p)
{
	struct dirent *de;
	DIR *d;
	int dfd, err = 0;

	dfd = openat(p->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "xmcp_", 5))
			continue;
		if (unlinkat(p->dir_fd, de->d_name, 0) && !err)
			err = -errno;
	}
	closedir(d);
	if (rmdir(p->dir) && errno != ENOTEMPTY && errno != EBUSY && !err)
		err = -errno;
	if (err)
		xmcp_err("could not remove all of %s: %s", p->dir, strerror(-err));
	return err;
}

int pins_open_map(const char *dir, const char *name)
{
	int fd = pins_open_map_quiet(dir, name);

	if (fd == -ENOENT)
		xmcp_err("xmcp is not attached anywhere (no %s/%s); 'xmcp attach DEV' first", dir, name);
	else if (fd < 0)
		xmcp_err("cannot open %s/%s: %s", dir, name, strerror(-fd));
	return fd;
}

int pins_open_map_quiet(const char *dir, const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}
