/* SPDX-License-Identifier: MIT */
/* aarch64 (AAPCS64) call frames, syscall registers and restart rules for code run inside a stopped thread. */
#include <errno.h>
#include <string.h>

#include "arch/arch.h"

#define PSTATE_SS (1ull << 21)	/* software step pending */
#define PSTATE_BTYPE (3ull << 10)

/*
 * Linux/aarch64 has no red zone: the kernel's own signal frames go right below sp. We still
 * step 16 bytes down first, which keeps the frame 16-aligned and leaves a slot at the new sp
 * that a generic caller may fill with the return address (x86_64 pushes it; here it is lr).
 */
void arch_setup_call(struct user_regs_struct *regs, uint64_t fn, const uint64_t *args,
		     int nargs, uint64_t ret, size_t stack_data, uint64_t *data_addr)
{
	uint64_t sp = regs->sp & ~15ull;

	if (stack_data) {
		sp = (sp - stack_data) & ~15ull;
		if (data_addr)
			*data_addr = sp;
	}
	sp -= 16;
	regs->sp = sp;
	regs->pc = fn;
	for (int i = 0; i < nargs && i < 8; i++)
		regs->regs[i] = args[i];
	regs->regs[30] = ret;		/* lr: the callee returns to our trap address */
	/*
	 * No syscall restart to cancel: at a stop inside a syscall the kernel has already
	 * rewound (see arch_in_restartable_syscall). BTYPE cleared: the callee's first
	 * instruction must not be checked against a branch that never happened; no step pending.
	 */
	regs->pstate &= ~(PSTATE_SS | PSTATE_BTYPE);
}

uint64_t arch_call_result(const struct user_regs_struct *regs)
{
	return regs->regs[0];
}

uint64_t arch_pc(const struct user_regs_struct *regs)
{
	return regs->pc;
}

uint64_t arch_sp(const struct user_regs_struct *regs)
{
	return regs->sp;
}

int arch_dwarf_regs(const struct user_regs_struct *r, uint64_t *dw)
{
	for (int i = 0; i < 31; i++)
		dw[i] = r->regs[i];
	dw[31] = r->sp;
	return ARCH_DWARF_NREGS;
}

void arch_set_pc(struct user_regs_struct *regs, uint64_t pc)
{
	regs->pc = pc;
}

/*
 * The thread pointer lives in TPIDR_EL0 (NT_ARM_TLS), not in the general registers. 0 makes
 * the consistency check skip its quick stack scan (sp >= top) and unwind the thread instead.
 */
uint64_t arch_tls_base(const struct user_regs_struct *regs)
{
	(void)regs;
	return 0;
}

/* svc #0 with x8 = nr, x0-x5 = args; single-stepped by the caller at insn_addr. */
void arch_setup_syscall(struct user_regs_struct *regs, uint64_t insn_addr, long nr,
			const uint64_t *args, int nargs)
{
	for (int i = 0; i < nargs && i < 6; i++)
		regs->regs[i] = args[i];
	regs->regs[8] = (uint64_t)nr;
	regs->pc = insn_addr;
	regs->pstate &= ~(PSTATE_SS | PSTATE_BTYPE);
}

long arch_syscall_result(const struct user_regs_struct *regs)
{
	return (long)regs->regs[0];
}

/*
 * At a syscall-entry stop the number the kernel runs is not in the general registers:
 * skipping the call takes NT_ARM_SYSTEM_CALL = -1 (a regset write by the caller). x8 is set
 * to -1 too so a caller that only writes the general registers gets ENOSYS, not the call.
 */
void arch_cancel_syscall(struct user_regs_struct *regs)
{
	regs->regs[8] = (uint64_t)-1;
}

void arch_set_syscall_arg(struct user_regs_struct *regs, int i, uint64_t v)
{
	if (i >= 0 && i < 6)
		regs->regs[i] = v;
}

uint64_t arch_syscall_arg(const struct user_regs_struct *regs, int i)
{
	return i >= 0 && i < 6 ? regs->regs[i] : 0;
}

/*
 * Nothing in the registers says "stopped inside a restartable syscall" on aarch64: the kernel
 * has rewound pc onto the svc and restored x0 before the stop (defs.h). Restoring the saved
 * registers is the restart; there is never one to cancel under injected code. False always.
 */
bool arch_in_restartable_syscall(const struct user_regs_struct *regs)
{
	(void)regs;
	return false;
}

/*
 * The syscall interface generic code asks (src/proc's EINTR repair, the safe point). The number
 * of the call a thread is in is not in its registers at an interrupt stop (ARCH_SYSCALL_NR_IN_REGS
 * is 0): -1, and generic code looks at the instruction at pc instead.
 */
long arch_syscall_nr(const struct user_regs_struct *regs)
{
	(void)regs;
	return -1;
}

bool arch_is_syscall_insn(const uint8_t *code, size_t len)
{
	return len >= ARCH_SYSCALL_INSN_LEN && !memcmp(code, ARCH_SYSCALL_INSN, ARCH_SYSCALL_INSN_LEN);
}

/*
 * The restart rules, from arch/arm64/kernel/signal.c (do_signal) as they meet our stops:
 *
 *  - A stop inside a system call is reached through do_signal, which first forgets the call
 *    (syscallno = -1: NT_ARM_SYSTEM_CALL and /proc/TID/syscall then say -1) and, for
 *    -ERESTARTSYS/-ERESTARTNOINTR/-ERESTARTNOHAND/-ERESTART_RESTARTBLOCK, puts pc back on the
 *    svc and x0 back to orig_x0, all before the stop. x8 still holds the number (the kernel
 *    never writes it back). So a thread left alone restarts by itself, and restoring the
 *    registers saved at the stop restarts it too: arch_in_restartable_syscall is false.
 *  - -ERESTART_RESTARTBLOCK (a relative nanosleep/clock_nanosleep, poll) is turned into
 *    restart_syscall (x8 = 128) only after the stop, when pc is still the svc: a thread that
 *    is merely released gets it. A thread borrowed for injected code is resumed from another
 *    stop with the registers saved at the first, so it runs the original call again: a
 *    relative sleep starts over with its full length (longer than asked, never shorter; x86
 *    restarts through restart_syscall there). Its number is not in the registers at the stop
 *    (x0 is orig_x0 again), so this cannot be told apart from -ERESTARTNOHAND & co.
 *  - -EINTR is not rewound: the thread is past its svc with x0 = -EINTR. Running the call
 *    again needs pc - 4 and the original x0, which only /proc/PID/task/TID/syscall, read while
 *    the thread was blocked in the call, still had (snap). x1-x5 and x8 survive the call, so
 *    they and sp/pc prove regs are that call returned; a call re-entered from the same svc with
 *    the same x1-x5 but another x0 is ruled out by generic code (its voluntary context switch
 *    count, stop.c).
 *  - The rewind is written at our interrupt stop, i.e. inside do_signal after get_signal:
 *    pc then equals its restart_addr but its retval is -EINTR, so it adds nothing
 *    (no restart_syscall); or at a later stop of a borrowed thread, where do_signal has no
 *    system call to look at.
 */
bool arch_rewind_syscall(struct user_regs_struct *regs, const struct arch_syscall_snap *snap)
{
	if (!snap || snap->nr < 0 || (long)regs->regs[0] != -EINTR ||
	    regs->regs[8] != (uint64_t)snap->nr || regs->sp != snap->sp || regs->pc != snap->pc ||
	    regs->pc < ARCH_SYSCALL_INSN_LEN)
		return false;
	for (int i = 1; i < 6; i++)
		if (regs->regs[i] != snap->args[i])
			return false;
	regs->pc -= ARCH_SYSCALL_INSN_LEN;
	regs->regs[0] = snap->args[0];
	return true;
}
