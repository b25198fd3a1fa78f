/* SPDX-License-Identifier: MIT */
/*
 * The one header generic code uses for CPU specifics. Implemented in
 * src/arch/x86_64/ and src/arch/aarch64/ (the Makefile builds one of them, from the
 * target triple); each has a defs.h with its constants (jump lengths, instruction bytes,
 * the caller-saved register set). No CPU #ifdef outside src/arch/.
 */
#ifndef HP_ARCH_H
#define HP_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <sys/user.h>

#if defined(__aarch64__) || defined(HP_ARCH_AARCH64)
#include "arch/aarch64/defs.h"
#else
#include "arch/x86_64/defs.h"
#endif

/* ---- jumps (jump.c) ---- */
/*
 * "rel32" is the near jump (x86_64: e9 rel32, 5 bytes, +-2 GiB; aarch64: B imm26, 4 bytes,
 * +-128 MiB), "abs" the far one that reaches anywhere (ARCH_JMP_REL32_LEN, ARCH_JMP_ABS_LEN),
 * "endbr" the landing pad kept at a function's entry (endbr64; BTI c/j/jc).
 */

/* True when code starts with a landing pad that stays in front of our jump (ARCH_ENDBR_LEN bytes). */
bool arch_is_endbr(const uint8_t *code, size_t len);
/* Near reach: can a near jump at 'from' (its first byte) reach 'to'? */
bool arch_rel32_reaches(uint64_t from, uint64_t to);
/* Encode the shortest jump from 'from' to 'to' into buf; returns its length. */
size_t arch_encode_jump(uint64_t from, uint64_t to, uint8_t *buf);
/* Encode the near jump only; returns its length, or 0 when out of reach. */
size_t arch_encode_jmp_rel32(uint64_t from, uint64_t to, uint8_t *buf);
/* Encode the far jump (ARCH_JMP_ABS_LEN bytes). Returns its length. */
size_t arch_encode_jmp_abs(uint64_t to, uint8_t *buf);
/*
 * An entry instruction that the jump replaces with a landing pad rather than keeps: aarch64's
 * PACIASP/PACIBSP becomes "BTI c" (kept, it would sign lr twice, since the replacement signs
 * it itself; dropped, an indirect call into a BTI-guarded page would find no landing pad).
 * 'code' holds the bytes the jump will overwrite. Writes the pad to buf and returns its length
 * (at most ARCH_ENDBR_LEN); 0 when there is none (x86_64: always; endbr64 is kept instead).
 */
size_t arch_entry_pad(const uint8_t *code, size_t len, uint8_t *buf);
/*
 * The sequence written at 'from', whose current bytes are 'code': a landing pad kept as it is
 * (arch_is_endbr) or replaced (arch_entry_pad), then the shortest jump to 'to' from the pad's
 * end. buf[0] is the byte at 'from'. Returns the length, at most ARCH_JUMP_MAX.
 */
size_t arch_encode_entry_jump(const uint8_t *code, size_t len, uint64_t from, uint64_t to,
			      uint8_t *buf);
/* True when every byte of [code, code+len) is alignment padding (nop forms, int3, 00 after ret). */
bool arch_is_padding(const uint8_t *code, size_t len);

/* ---- remote call frames (call.c) ---- */

/*
 * Prepare regs to call fn(a0..a5) in a stopped thread: rip = fn, the red zone
 * skipped, rsp 16-byte aligned with the fake return address 'ret' pushed,
 * orig_rax = -1 so the kernel does not restart an interrupted syscall on top
 * of our call, eflags.DF cleared, rax = 0 (no vector args to variadics).
 * 'stack_data' bytes (may be NULL) are placed below the red zone first and
 * their address returned in *data_addr; the caller writes them to memory.
 * Returns the new rsp; the caller writes the return address at regs->rsp.
 */
void arch_setup_call(struct user_regs_struct *regs, uint64_t fn, const uint64_t *args,
		     int nargs, uint64_t ret, size_t stack_data, uint64_t *data_addr);
uint64_t arch_call_result(const struct user_regs_struct *regs);
uint64_t arch_pc(const struct user_regs_struct *regs);
uint64_t arch_sp(const struct user_regs_struct *regs);
void arch_set_pc(struct user_regs_struct *regs, uint64_t pc);

/*
 * Prepare regs for a system call executed by single-stepping a syscall
 * instruction at insn_addr: rax = nr, args in rdi, rsi, rdx, r10, r8, r9.
 */
void arch_setup_syscall(struct user_regs_struct *regs, uint64_t insn_addr, long nr,
			const uint64_t *args, int nargs);
long arch_syscall_result(const struct user_regs_struct *regs);
/* At a syscall-entry stop: make the kernel skip the call (x86_64: orig_rax = -1). */
void arch_cancel_syscall(struct user_regs_struct *regs);
/* Set argument i (0-5) of the system call a thread is stopped at the entry of. */
void arch_set_syscall_arg(struct user_regs_struct *regs, int i, uint64_t v);
/* Argument i (0-5) of the system call the registers are set to make (before it, or rewound). */
uint64_t arch_syscall_arg(const struct user_regs_struct *regs, int i);
/* True when the thread was stopped inside a syscall the kernel would restart. */
bool arch_in_restartable_syscall(const struct user_regs_struct *regs);
/*
 * The number of the system call a stopped thread is in, at the entry or exit
 * of, or was interrupted in; -1 when none (x86_64: orig_rax, which the kernel
 * keeps for the whole call). A port whose general registers hold no such
 * copy says here where it reads it (aarch64: x8 holds the number the
 * instruction used; the kernel's own copy is the NT_ARM_SYSTEM_CALL regset).
 */
long arch_syscall_nr(const struct user_regs_struct *regs);
/* True when code[0..len) starts with the system call instruction (x86_64: 0f 05). */
bool arch_is_syscall_insn(const uint8_t *code, size_t len);
/*
 * What /proc/PID/task/TID/syscall showed of a thread blocked in a system call: its number, its
 * six arguments as the kernel keeps them for the whole call (aarch64: orig_x0 included), sp and
 * the pc after the instruction. Taken before our stop by ports whose registers lose an argument
 * when the call returns (ARCH_SYSCALL_NEEDS_SNAPSHOT in defs.h).
 */
struct arch_syscall_snap {
	long nr;
	uint64_t args[6];
	uint64_t sp, pc;
};

/*
 * A thread stopped just after a system call returned (an error it must not
 * see): pc back by ARCH_SYSCALL_INSN_LEN onto the instruction, the number and
 * the arguments back where the instruction reads them, so the call runs again
 * on resume. snap is the call as /proc showed it before the stop, or NULL: a
 * port whose registers keep everything (x86_64: rdi..r9, orig_rax) ignores it;
 * a port whose result overwrote an argument (aarch64: x0) needs it and checks
 * that regs are that very call returned (number, the other arguments, sp, pc).
 * False, regs unchanged, when the call cannot be run again exactly: the
 * caller then leaves the thread as it is.
 */
bool arch_rewind_syscall(struct user_regs_struct *regs, const struct arch_syscall_snap *snap);
/* The thread pointer (x86_64: fs_base; glibc puts its thread block at the top of the thread's stack). */
uint64_t arch_tls_base(const struct user_regs_struct *regs);

/* ---- extended register state ---- */
/* One register set saved and restored whole around injected code, beyond the general registers. */
struct arch_regset_desc {
	int type;		/* NT_* */
	const char *name;
	size_t max_size;	/* a buffer that holds its largest form; the kernel reports the real size */
	bool optional;		/* absent on CPUs without the feature (an error reading it): skipped */
	bool writable;		/* restored (aarch64's PAC mask is read-only) */
};
/* This architecture's sets, in the order they are restored (x86_64: NT_X86_XSTATE). */
const struct arch_regset_desc *arch_ext_regsets(int *n);
/*
 * State that injected code must not run under and that is not saved around it (aarch64 SME:
 * streaming SVE mode, ZA storage on): the sets whose first bytes say so (read by generic code
 * with PTRACE_GETREGSET; unreadable means a CPU without the feature), none on x86_64; and what
 * their first 'len' bytes say: a phrase naming the state, or NULL when it is off.
 */
const int *arch_live_state_regsets(int *n);
const char *arch_live_state(int type, const void *head, size_t len);

/* ---- unwinding ---- */
/*
 * The first registers of the psABI's DWARF numbering from regs, where libdwfl starts a walk
 * (x86_64: rax..r15, rip; aarch64: x0-x30, sp). Returns how many (ARCH_DWARF_NREGS at most).
 */
int arch_dwarf_regs(const struct user_regs_struct *regs, uint64_t *dw);
/*
 * The bits of a code address read from a stack or a register that are not the address: the PAC
 * field of a return address signed by pac-ret code (aarch64: the insn_mask of NT_ARM_PAC_MASK,
 * read by generic code with PTRACE_GETREGSET from a stopped thread). False where there are none
 * (x86_64, an aarch64 CPU without pointer authentication: the set cannot be read).
 */
bool arch_code_mask_regset(int *type, size_t *size, size_t *offset);
/* The DWARF register that holds the return address at a function's entry (aarch64: x30), or -1. */
int arch_dwarf_ra_reg(void);

/* ---- hardware breakpoints: one execute breakpoint in debug slot 0 ---- */
/*
 * The port encodes, src/proc/runto.c does the ptrace (there is no ptrace outside src/proc).
 * A tracer reaches a thread's debug registers either as words of struct user
 * (PTRACE_POKEUSER/PEEKUSER: x86_64's DR0-DR7, with DR6 saying which slot hit) or as a
 * register set written with PTRACE_SETREGSET (aarch64's NT_ARM_HW_BREAK: struct
 * user_hwdebug_state, a header then (addr, ctrl) per slot), which has no status register:
 * there the SIGTRAP itself says so (si_code TRAP_HWBKPT).
 */
#define ARCH_HWBP_MAX_WORDS 3
struct arch_hwbp_write {
	int regset;		/* 0: the 'nwords' words of struct user, in this order (a failure stops
				   the sequence); else the NT_* set written with the 'len' bytes of buf */
	int nwords;
	struct {
		size_t off;
		uint64_t val;
	} word[ARCH_HWBP_MAX_WORDS];
	size_t len;
	uint8_t buf[32];
};
/* What puts an execute breakpoint at addr into slot 0. */
void arch_hwbp_arm(uint64_t addr, struct arch_hwbp_write *w);
/* What empties slot 0 (and its hit status) again. */
void arch_hwbp_disarm(struct arch_hwbp_write *w);
/* The word of struct user that says which slot hit (x86_64: DR6); false when there is none. */
bool arch_hwbp_status_word(size_t *off);
/*
 * Did slot 0 raise this SIGTRAP? 'status' is the status word's value where there is one
 * (arch_hwbp_status_word), 'si' the signal's siginfo where there is not.
 */
bool arch_hwbp_hit(uint64_t status, const siginfo_t *si);

/* ---- decoding (decode.c, zydis) ---- */

/* Comma-separated register names of a set ("rcx,rdx,xmm3"); returns buf. */
const char *arch_regs_str(uint32_t set, char *buf, size_t len);
/* The name of register bit r of a set ("xmm3", "x9"), NULL past ARCH_REG_NR. */
const char *arch_reg_name(unsigned r);
/*
 * What the jump bytes written over an entry are, for people ("e9 rel32", "b", "ldr/br x16"),
 * in buf; NULL when they are none of this port's forms.
 */
const char *arch_jump_desc(const uint8_t *jump, size_t len, char *buf, size_t size);

/* What a function's own code does, from decoding its bytes. */
struct arch_func_info {
	uint32_t written;	/* caller-saved registers written (bit per enum arch_reg) */
	bool indirect_call;	/* call through register/memory, or a jump out of the function not to a known function: clobbers everything */
	bool undecodable;	/* an instruction could not be decoded */
	bool stack_args;	/* reads the caller's stack above the return address (stack-passed arguments) */
	int ncallees;
	uint64_t callees[64];	/* targets of direct calls (and tail jumps) leaving the function */
	bool callees_overflow;
};

/*
 * Decode [code, code+len) located at address addr. Any indirect jmp (jump
 * tables included) sets indirect_call. Decoding stops at the first
 * undecodable byte: treat undecodable as "everything clobbered".
 */
int arch_analyze_func(const uint8_t *code, size_t len, uint64_t addr, struct arch_func_info *out);

/*
 * Build a trampoline at address 'to' that executes the instructions displaced
 * from the function entry at 'from' (at least 'min_len' bytes, whole
 * instructions) then jumps back to from + consumed. 'code' holds the bytes at
 * func_start (not at 'from'): the whole function [func_start, func_end), and
 * beyond it the padding when the displaced bytes run past func_end.
 * rip-relative operands and relative branches are relocated. Fails with -HOTPATCH_E_NORELOC and an
 * hp_err message naming the instruction when an instruction cannot be moved,
 * or when a branch inside [func_start, func_end) targets the displaced bytes
 * (other than the entry itself).
 */
int arch_build_trampoline(const uint8_t *code, size_t code_len, uint64_t from, size_t min_len,
			  uint64_t func_start, uint64_t func_end, uint64_t to, uint8_t *out,
			  size_t out_max, size_t *out_len, size_t *consumed);

/*
 * Encode a preserving island at address 'at': save the registers of 'keep',
 * call 'target', restore them, return. Returns its length or -ENOSPC.
 */
int arch_build_preserving_island(uint32_t keep, uint64_t at, uint64_t target, uint8_t *out,
				 size_t out_max);

/* ---- saved user-level contexts (context.c): glibc's jmp_buf and ucontext_t ---- */

/*
 * The layouts, in each defs.h: ARCH_JMPBUF_WORDS (the words read) and ARCH_JMPBUF_PC_WORD (the
 * mangled pc); ARCH_UCONTEXT_WORDS (the words read), ARCH_UCONTEXT_GREGS, and the word a scan
 * recognises a ucontext_t by: the one at offset ARCH_UCONTEXT_MARK_OFF equals
 * ARCH_UCONTEXT_MARK(at) for a ucontext at 'at' (x86_64: uc_mcontext.fpregs pointing at the
 * context's own __fpregs_mem; aarch64: the FPSIMD record's header in uc_mcontext.__reserved).
 */
/*
 * Where a thread's libc keeps the pointer-mangling guard, from its thread pointer; 0 where the
 * guard is a global (then arch_pointer_guard_symbol names it).
 */
uint64_t arch_pointer_guard_addr(uint64_t tls_base);
/* The dynamic linker's symbol holding the guard (aarch64: __pointer_chk_guard), or NULL. */
const char *arch_pointer_guard_symbol(void);
/* A candidate found by its mark (at: its address, uc: ARCH_UCONTEXT_WORDS words) is one. */
bool arch_ucontext_valid(const uint64_t uc[ARCH_UCONTEXT_WORDS], uint64_t at);
/* glibc's PTR_DEMANGLE. */
uint64_t arch_demangle(uint64_t v, uint64_t guard);
/* Its rotation (x86_64: 17; 0 where PTR_MANGLE only xors): lets a scan demangle inline. */
unsigned arch_mangle_rotation(void);
/* The registers a jmp_buf saved (the rest zero). */
void arch_jmpbuf_regs(const uint64_t jb[ARCH_JMPBUF_WORDS], uint64_t guard,
		      struct user_regs_struct *r);
/* The stack a ucontext_t was made for (uc_stack, set by makecontext's caller); false if none. */
bool arch_ucontext_stack(const uint64_t uc[ARCH_UCONTEXT_WORDS], uint64_t *base, uint64_t *size);
/* The registers a ucontext_t saved. */
void arch_ucontext_regs(const uint64_t uc[ARCH_UCONTEXT_WORDS], struct user_regs_struct *r);
/*
 * A saved context whose pc is a resume stub of libc's own rather than its caller's return
 * address (aarch64 glibc's swapcontext saves pc = a "mov x30, x1; ret" after itself, the real
 * return address in x1): given the code at the pc, move r to where the stub returns and say so.
 */
bool arch_context_resume(const uint8_t *code, size_t len, struct user_regs_struct *r);
/* True when the len bytes at code end with a call instruction (the next address is a return address). */
bool arch_follows_call(const uint8_t *code, size_t len);

#endif
