/* SPDX-License-Identifier: MIT */
/*
 * Stacks of threads that the caller has already stopped with ptrace, via
 * libdw's dwfl (CFI from .eh_frame/.debug_frame). Memory is read through
 * /proc/PID/mem and registers come from the caller: this layer never calls
 * ptrace itself.
 */
#ifndef HP_UNWIND_H
#define HP_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

struct unwinder;

/* One dwfl session for process pid (reports its modules from /proc/PID/maps). */
int unwind_begin(pid_t pid, struct unwinder **out);
void unwind_end(struct unwinder *uw);
/* Report the modules mapped since unwind_begin (a dlopen); known ones are kept, not re-read. */
int unwind_refresh(struct unwinder *uw);

/*
 * The bits to strip from every return address read (proc_code_mask: aarch64's PAC field of
 * pac-ret code; 0, the default, strips nothing).
 */
void unwind_set_code_mask(struct unwinder *uw, uint64_t mask);

/*
 * Unwind thread tid whose general registers are *regs. pcs[0] is regs->rip,
 * pcs[1..] are return addresses (as found on the stack, not adjusted).
 * *complete is set when the unwind reached the outermost frame (no CFI gap,
 * no read error); when it is false the caller must assume unknown frames.
 * Returns 0 or -errno; *n is the number of pcs filled (<= max).
 */
int unwind_thread(struct unwinder *uw, pid_t tid, const struct user_regs_struct *regs,
		  uint64_t *pcs, size_t max, size_t *n, int *complete);
/*
 * The same, also telling which frames are activations (act[i], may be NULL):
 * pcs[0], and the interrupted context below each signal frame. An
 * activation's pc is where it stood, not a return address; the frame just
 * before one (i - 1) is the signal trampoline.
 */
int unwind_thread_act(struct unwinder *uw, pid_t tid, const struct user_regs_struct *regs,
		      uint64_t *pcs, bool *act, size_t max, size_t *n, int *complete);

#endif
