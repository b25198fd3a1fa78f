/* SPDX-License-Identifier: MIT */
/* x86_64 constants behind src/arch/arch.h: jump lengths, instruction bytes, caller-saved registers. */
#ifndef HP_ARCH_X86_64_DEFS_H
#define HP_ARCH_X86_64_DEFS_H

#define ARCH_JUMP_MAX 16	/* longest jump we write */
#define ARCH_RED_ZONE 128	/* SysV: 128 bytes below rsp belong to the interrupted leaf function */
#define ARCH_JMP_REL32_LEN 5	/* e9 rel32 */
#define ARCH_JMP_ABS_LEN 14	/* ff 25 00000000 + imm64: jmp *0(%rip), clobbers nothing */
#define ARCH_ENDBR_LEN 4

/* The signal return trampoline every x86_64 libc uses as sa_restorer: mov $15,%rax; syscall. */
#define ARCH_SIGRETURN_STUB "\x48\xc7\xc0\x0f\x00\x00\x00\x0f\x05"
#define ARCH_SIGRETURN_STUB_LEN 9
/* The syscall instruction bytes (0f 05). */
#define ARCH_SYSCALL_INSN "\x0f\x05"
#define ARCH_SYSCALL_INSN_LEN 2
#define ARCH_BREAKPOINT_INSN 0xcc
#define ARCH_BREAKPOINT_BYTES "\xcc"
#define ARCH_BREAKPOINT_LEN 1
/* How far past the breakpoint instruction the pc is when its trap is reported (int3: one byte). */
#define ARCH_BREAKPOINT_PC_ADJUST 1
/* The si_code of the SIGTRAP the breakpoint instruction raises (int3: SI_KERNEL). */
#define ARCH_BREAKPOINT_SI_CODE 0x80

/* Caller-saved registers, as a bit set. */
enum arch_reg {
	ARCH_REG_RAX, ARCH_REG_RCX, ARCH_REG_RDX, ARCH_REG_RSI, ARCH_REG_RDI,
	ARCH_REG_R8, ARCH_REG_R9, ARCH_REG_R10, ARCH_REG_R11,
	ARCH_REG_XMM0,	/* ..XMM15 (whole vector register incl. ymm/zmm upper parts) */
	ARCH_REG_XMM15 = ARCH_REG_XMM0 + 15,
	ARCH_REG_NR
};
#define ARCH_REGS_CALLER_SAVED ((1u << ARCH_REG_NR) - 1)	/* = "everything" */

/* DWARF (SysV psABI figure 3.36): rax..r15 and the return address column (rip). */
#define ARCH_DWARF_NREGS 17
/* A callee-saved register CFI carries and libdwfl's frame-pointer fallback does not. */
#define ARCH_DWARF_CFI_ONLY_REG 12	/* r12 */

#define ARCH_NAME "x86_64"
#define ARCH_AUDIT 0xc000003eu	/* AUDIT_ARCH_X86_64: seccomp_data.arch */
/* ELF: the machine, and the relocations a patch file's descriptors carry. */
#define ARCH_ELF_MACHINE 62	/* EM_X86_64 */
#define ARCH_R_NONE 0		/* R_X86_64_NONE */
#define ARCH_R_ABS64 1		/* R_X86_64_64 */
#define ARCH_R_RELATIVE 8	/* R_X86_64_RELATIVE */

/* orig_rax carries the number of the system call a thread is in for the whole call. */
#define ARCH_SYSCALL_NR_IN_REGS 1
/* The arguments stay in rdi..r9 when the call returns: the EINTR repair needs no snapshot. */
#define ARCH_SYSCALL_NEEDS_SNAPSHOT 0

/* glibc's jmp_buf and ucontext_t (context.c) */
#define ARCH_JMPBUF_WORDS 8		/* rbx rbp r12 r13 r14 r15 rsp pc */
#define ARCH_UCONTEXT_WORDS 29		/* the part read: flags .. uc_mcontext.fpregs */
#define ARCH_UCONTEXT_GREGS 40		/* offset of uc_mcontext.gregs */
#define ARCH_UCONTEXT_FPREGS 224	/* offset of uc_mcontext.fpregs */
#define ARCH_UCONTEXT_FPMEM 424		/* offset of __fpregs_mem, where getcontext points fpregs */
#define ARCH_JMPBUF_PC_WORD 7
#define ARCH_UCONTEXT_MARK_OFF ARCH_UCONTEXT_FPREGS
#define ARCH_UCONTEXT_MARK(at) ((at) + ARCH_UCONTEXT_FPMEM)

#endif
