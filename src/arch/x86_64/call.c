/* SPDX-License-Identifier: MIT */
/* x86_64 SysV call frames, syscall registers of a stopped thread, its extended state, debug registers. */
#include <string.h>

#include "arch/arch.h"

#define EFLAGS_DF (1u << 10)
#define EFLAGS_TF (1u << 8)

void arch_setup_call(struct user_regs_struct *regs, uint64_t fn, const uint64_t *args,
		     int nargs, uint64_t ret, size_t stack_data, uint64_t *data_addr)
{
	uint64_t sp = regs->rsp - ARCH_RED_ZONE;

	if (stack_data) {
		sp = (sp - stack_data) & ~15ull;
		if (data_addr)
			*data_addr = sp;
	}
	/* At the callee's first instruction (rsp + 8) must be 16-byte aligned. */
	sp &= ~15ull;
	sp -= 8;			/* the fake return address lives here */
	regs->rsp = sp;
	regs->rip = fn;
	unsigned long long *slots[6] = { &regs->rdi, &regs->rsi, &regs->rdx, &regs->rcx, &regs->r8, &regs->r9 };
	for (int i = 0; i < nargs && i < 6; i++)
		*slots[i] = args[i];
	regs->rax = 0;			/* no vector registers for a variadic callee */
	/*
	 * orig_rax = -1: the thread may have been stopped inside a syscall; with
	 * -1 the kernel does not rewind rip to re-execute it on top of our call.
	 * The saved registers (with the original orig_rax) restore the restart.
	 */
	regs->orig_rax = (uint64_t)-1;
	regs->eflags &= ~(uint64_t)(EFLAGS_DF | EFLAGS_TF);
	(void)ret;
}

uint64_t arch_call_result(const struct user_regs_struct *regs)
{
	return regs->rax;
}

uint64_t arch_pc(const struct user_regs_struct *regs)
{
	return regs->rip;
}

uint64_t arch_sp(const struct user_regs_struct *regs)
{
	return regs->rsp;
}

uint64_t arch_tls_base(const struct user_regs_struct *regs)
{
	return regs->fs_base;
}

int arch_dwarf_regs(const struct user_regs_struct *r, uint64_t *dw)
{
	const uint64_t v[ARCH_DWARF_NREGS] = {
		r->rax, r->rdx, r->rcx, r->rbx, r->rsi, r->rdi, r->rbp, r->rsp, r->r8,
		r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15, r->rip,
	};
	memcpy(dw, v, sizeof(v));
	return ARCH_DWARF_NREGS;
}

void arch_set_pc(struct user_regs_struct *regs, uint64_t pc)
{
	regs->rip = pc;
}

void arch_setup_syscall(struct user_regs_struct *regs, uint64_t insn_addr, long nr,
			const uint64_t *args, int nargs)
{
	unsigned long long *slots[6] = { &regs->rdi, &regs->rsi, &regs->rdx, &regs->r10, &regs->r8, &regs->r9 };
	for (int i = 0; i < nargs && i < 6; i++)
		*slots[i] = args[i];
	regs->rax = (uint64_t)nr;
	regs->orig_rax = (uint64_t)-1;
	regs->rip = insn_addr;
	regs->eflags &= ~(uint64_t)EFLAGS_TF;
}

void arch_cancel_syscall(struct user_regs_struct *regs)
{
	regs->orig_rax = (uint64_t)-1;
}

void arch_set_syscall_arg(struct user_regs_struct *regs, int i, uint64_t v)
{
	unsigned long long *slots[6] = { &regs->rdi, &regs->rsi, &regs->rdx, &regs->r10, &regs->r8, &regs->r9 };
	if (i >= 0 && i < 6)
		*slots[i] = v;
}

uint64_t arch_syscall_arg(const struct user_regs_struct *regs, int i)
{
	const unsigned long long v[6] = { regs->rdi, regs->rsi, regs->rdx, regs->r10, regs->r8, regs->r9 };
	return i >= 0 && i < 6 ? v[i] : 0;
}

long arch_syscall_result(const struct user_regs_struct *regs)
{
	return (long)regs->rax;
}

bool arch_in_restartable_syscall(const struct user_regs_struct *regs)
{
	long rax = (long)regs->rax;
	/* -ERESTARTSYS, -ERESTARTNOINTR, -ERESTARTNOHAND, -ERESTART_RESTARTBLOCK */
	return (long)regs->orig_rax >= 0 && (rax == -512 || rax == -513 || rax == -514 || rax == -516);
}

long arch_syscall_nr(const struct user_regs_struct *regs)
{
	/* The kernel keeps the number in orig_rax for the whole call; rax becomes the result. */
	return (long)regs->orig_rax < 0 ? -1 : (long)regs->orig_rax;
}

bool arch_is_syscall_insn(const uint8_t *code, size_t len)
{
	return len >= ARCH_SYSCALL_INSN_LEN && memcmp(code, ARCH_SYSCALL_INSN, ARCH_SYSCALL_INSN_LEN) == 0;
}

bool arch_rewind_syscall(struct user_regs_struct *regs, const struct arch_syscall_snap *snap)
{
	(void)snap;				/* the registers say it all */
	regs->rip -= ARCH_SYSCALL_INSN_LEN;	/* back onto the syscall instruction */
	regs->rax = regs->orig_rax;		/* with its number: it runs again on resume */
	return true;				/* the arguments are untouched in rdi..r9 */
}

/* ---- extended register state ---- */
#include <elf.h>
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

/* The whole xstate (x87, SSE, AVX, AVX-512, AMX): the kernel shortens it to the real size (11008 bytes with AVX-512 + AMX). */
static const struct arch_regset_desc x86_sets[] = {
	{ NT_X86_XSTATE, "NT_X86_XSTATE", 64 * 1024, false, true },
};

const struct arch_regset_desc *arch_ext_regsets(int *n)
{
	*n = 1;
	return x86_sets;
}

/* No CPU state beyond the xstate, which is saved whole. */
const int *arch_live_state_regsets(int *n)
{
	*n = 0;
	return NULL;
}

const char *arch_live_state(int type, const void *head, size_t len)
{
	(void)type;
	(void)head;
	(void)len;
	return NULL;
}

/* Return addresses are plain: no PAC field (CET's shadow stack keeps copies, not signatures). */
bool arch_code_mask_regset(int *type, size_t *size, size_t *offset)
{
	(void)type;
	(void)size;
	(void)offset;
	return false;
}

int arch_dwarf_ra_reg(void)
{
	return -1;
}


/* ---- debug registers: DR0-DR7 as words of struct user ---- */
#include <stddef.h>

static size_t dr_off(int n)
{
	return offsetof(struct user, u_debugreg) + (size_t)n * sizeof(unsigned long);
}

void arch_hwbp_arm(uint64_t addr, struct arch_hwbp_write *w)
{
	/* DR0 = addr, then DR7: L0 = 1, RW0 = 00 (execute), LEN0 = 00 (1 byte, as execute requires). */
	*w = (struct arch_hwbp_write){ .nwords = 2 };
	w->word[0].off = dr_off(0);
	w->word[0].val = addr;
	w->word[1].off = dr_off(7);
	w->word[1].val = 1;
}

void arch_hwbp_disarm(struct arch_hwbp_write *w)
{
	/* DR7 first (nothing enabled), then the status DR6 and the address DR0. */
	*w = (struct arch_hwbp_write){ .nwords = 3 };
	w->word[0].off = dr_off(7);
	w->word[1].off = dr_off(6);
	w->word[2].off = dr_off(0);
}

bool arch_hwbp_status_word(size_t *off)
{
	*off = dr_off(6);
	return true;
}

bool arch_hwbp_hit(uint64_t status, const siginfo_t *si)
{
	(void)si;
	return status & 1;	/* DR6.B0 */
}
