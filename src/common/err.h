/* SPDX-License-Identifier: MIT */
/* The per-thread error message behind hotpatch_errmsg(): how a failure is recorded, and how a probe is not. */
#ifndef HP_ERR_H
#define HP_ERR_H

#include <stdbool.h>

/*
 * The rule:
 *  1. A failure records its one-line message with hp_err(); the FIRST message
 *     recorded wins, so an undo step failing later cannot hide the real cause.
 *  2. A public entry point (hotpatch_*) starts with hp_err_clear(); nothing
 *     else clears, and no caller of the library clears before calling it.
 *  3. A probe, whose failure is an answer (is the file mapped? is there padding?
 *     does this object have the symbol?), runs in a quiet scope and records
 *     nothing; a catch scope also hands its first message to the caller, who
 *     may report it (as its own hp_err) or drop it.
 *  4. hp_err_force() replaces the recorded message only when it explains the
 *     very failure better: context added to it ("cannot wrap 'f': <why>"), or
 *     the target having exited meanwhile (patch_op_result).
 * Undo steps that may fail after the real failure need nothing (rule 1); code
 * that recovers from a failure it caused runs that step as a probe. Save and
 * restore is left only around undo steps that still call code which clears
 * (src/patch/safepoint.c, src/proc/remote.c: to be made probes).
 */

/*
 * Record the one-line message of a failure for hotpatch_errmsg() and return
 * -code. code is an errno value or a HOTPATCH_E_* value (positive).
 * Message style (git): lowercase, no trailing period, subjects quoted:
 *   hp_err(HOTPATCH_E_NOSYM, "pid %d: 'func' not found in %s", pid, path)
 */
int hp_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rule 4: replace the message just recorded (hotpatch_errmsg() may be an argument). */
int hp_err_force(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Rule 2: at the start of a public entry point only. */
void hp_err_clear(void);
bool hp_err_set(void);
/* Save and restore the whole message (kept for code that cannot yet be a probe). */
struct hp_err_saved {
	char msg[1024];
	bool set;
};
void hp_err_save(struct hp_err_saved *s);
void hp_err_restore(const struct hp_err_saved *s);

/*
 * Quiet scope (rule 3): nothing failing between hp_err_quiet_begin() and
 * hp_err_quiet_end() is recorded (only logged at debug level), so no clear is
 * needed after it, and a message recorded before it stays. Scopes nest.
 */
void hp_err_quiet_begin(void);
void hp_err_quiet_end(void);

/*
 * Catch scope (rule 3): like a quiet scope, but the first message recorded
 * inside it lands in c->msg (c->code its code, 0 if none), for the caller to
 * use. A quiet scope opened inside a catch scope stays quiet. Scopes nest.
 */
struct hp_err_catch {
	char msg[1024];
	int code;			/* negative, 0 = nothing failed */
	unsigned depth;			/* internal */
	struct hp_err_catch *outer;	/* internal */
};
void hp_err_catch_begin(struct hp_err_catch *c);
void hp_err_catch_end(struct hp_err_catch *c);

#endif
