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

bool arch_eintr_rewind(struct user_regs_struct *regs, uint32_t insn_before_pc, uint64_t arg0)
{
	uint32_t svc;
	memcpy(&svc, ARCH_SYSCALL_INSN, 4);
	if ((long)regs->regs[0] != -EINTR || insn_before_pc != svc)
		return false;
	regs->pc -= ARCH_SYSCALL_INSN_LEN;
	regs->regs[0] = arg0;		/* x8 still holds the number: the call runs again */
	return true;
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
 * x0 holds the result, not the first argument, which the registers no longer have: the call
 * cannot be run again from them. False, regs unchanged (only arch_eintr_rewind, given the
 * argument from /proc/PID/task/TID/syscall, can).
 */
bool arch_rewind_syscall(struct user_regs_struct *regs)
{
	(void)regs;
	return false;
}
