/* SPDX-License-Identifier: MIT */
/*
 * The patch directory (hotpatch install/uninstall/installed/status, hotpatchd):
 * patches registered for the binary they target, keyed by that binary's GNU
 * build-id, applied in install order.
 *
 *	DIR/                       root-owned, 0755 (default /var/lib/hotpatch)
 *	DIR/<target build-id>/     one directory per target binary, 0755
 *	DIR/<target build-id>/<seq>-<name>.so   the registered copy, root-owned, 0644
 *
 * <seq> (4+ decimal digits) orders the patches of one binary; a patch is
 * named by its own build-id (its "id"). Files are written atomically (temp
 * file + rename), so a reader (the daemon) never sees a partial patch.
 */
#ifndef HP_CLI_REGISTRY_H
#define HP_CLI_REGISTRY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "libhotpatch.h"

#define REG_DEFAULT_DIR "/var/lib/hotpatch"
#define REG_DIR_ENV "HOTPATCH_DIR"

struct reg_entry {
	char target[HOTPATCH_BUILD_ID_MAX];	/* build-id of the binary the patch is for */
	unsigned seq;				/* install order within target */
	char path[PATH_MAX];			/* the registered copy */
	char build_id[HOTPATCH_BUILD_ID_MAX];	/* of the patch ("" when unreadable) */
	char pin[HOTPATCH_BUILD_ID_MAX];	/* HOTPATCH_BUILD_ID pin of the patch, "" if none */
	unsigned nfuncs;
	int err;				/* why hotpatch_info failed on the copy, 0 */
};

struct reg {
	struct reg_entry *v;	/* sorted by target, then seq */
	size_t n;
};

/* The directory: opt if given, else $HOTPATCH_DIR if set and not empty, else the default. */
const char *reg_dir(const char *opt);

/*
 * Read every entry of dir. A directory that does not exist is an empty
 * registry. Returns 0 or -errno with a one-line reason in msg.
 */
int reg_load(const char *dir, struct reg *r, char *msg, size_t msgsz);
void reg_release(struct reg *r);

/*
 * Is dir safe to load patches from: owned by root (or by us) and writable by
 * nobody else, like each directory of the registry? 0, or -HOTPATCH_E_FILEPERM
 * / -errno with the reason in msg.
 */
int reg_check_perms(const char *dir, char *msg, size_t msgsz);

/*
 * Register patch (an existing file, already read by hotpatch_info into *info)
 * for the binary with build-id target. When the same patch (same build-id)
 * is already registered for target, nothing is written and *already is set.
 * out receives the entry. Returns 0 or -errno with a reason in msg.
 */
int reg_install(const char *dir, const char *patch, const struct hotpatch_patch *info,
		const char *target, struct reg_entry *out, bool *already, char *msg, size_t msgsz);

/* Remove one entry's file (and its target directory once empty). */
int reg_remove(const char *dir, const struct reg_entry *e, char *msg, size_t msgsz);

/*
 * Does entry e match 'what': a patch build-id or a unique prefix of one
 * (8+ hex digits), or the path of the registered copy?
 */
bool reg_match(const struct reg_entry *e, const char *what);

/* GNU build-id of an ELF file; -ENOENT if it has none, -errno / -HOTPATCH_E_* otherwise. */
int reg_file_build_id(const char *path, char hex[HOTPATCH_BUILD_ID_MAX]);

/*
 * Build-id of the executable of pid, through /proc/PID/exe (the very file
 * mapped, even if replaced on disk), with a cache by device and inode.
 */
struct reg_bid_cache {
	struct reg_bid_ent *v;
	size_t n, cap;
};
int reg_pid_build_id(struct reg_bid_cache *c, pid_t pid, const char **hex);
void reg_bid_cache_release(struct reg_bid_cache *c);

#endif
