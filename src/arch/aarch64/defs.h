/* SPDX-License-Identifier: MIT */
/* aarch64 constants behind src/arch/arch.h: jump lengths, instruction words, caller-saved registers. */
#ifndef HP_ARCH_AARCH64_DEFS_H
#define HP_ARCH_AARCH64_DEFS_H

#define ARCH_JUMP_MAX 20	/* longest sequence we write: BTI c + far jump */
#define ARCH_RED_ZONE 0	/* AAPCS64 on Linux: nothing below sp is kept (signals write there) */
#define ARCH_JMP_REL32_LEN 4	/* B imm26: +-128 MiB */
#define ARCH_JMP_ABS_LEN 16	/* LDR x16, #8; BR x16; .quad target (x16 = IP0: veneers may clobber it) */
#define ARCH_ENDBR_LEN 4	/* BTI c / j / jc, kept in front of the jump */
#define ARCH_INSN_LEN 4

/* The signal return trampoline (glibc's __default_rt_sa_restorer, the vDSO's): mov x8, #139; svc #0. */
#define ARCH_SIGRETURN_STUB "\x68\x11\x80\xd2\x01\x00\x00\xd4"
#define ARCH_SIGRETURN_STUB_LEN 8
/* svc #0 */
#define ARCH_SYSCALL_INSN "\x01\x00\x00\xd4"
#define ARCH_SYSCALL_INSN_LEN 4
/* brk #0: unlike int3 the reported pc is the BRK itself. */
#define ARCH_BREAKPOINT_INSN_WORD 0xd4200000u
#define ARCH_BREAKPOINT_BYTES "\x00\x00\x20\xd4"
#define ARCH_BREAKPOINT_LEN 4
#define ARCH_BREAKPOINT_PC_ADJUST 0
/* The si_code of the SIGTRAP the breakpoint instruction raises (BRK: TRAP_BRKPT, not x86's SI_KERNEL). */
#define ARCH_BREAKPOINT_SI_CODE 1

/* A64 instruction words the backend and its tests name. */
#define A64_NOP 0xd503201fu
#define A64_BTI_C 0xd503245fu
#define A64_BTI_J 0xd503249fu
#define A64_BTI_JC 0xd50324dfu
#define A64_PACIASP 0xd503233fu
#define A64_PACIBSP 0xd503237fu
#define A64_RET 0xd65f03c0u

/*
 * The registers a caller may rely on across a call when IPA-RA saw the callee leave them
 * alone (AAPCS64 caller-saved): x0-x18 (x16/x17 are IP0/IP1, x18 the platform register,
 * kept out of the analysis' promises: a veneer may clobber IP0/IP1 anyway), and v0-v7,
 * v16-v31 whole (v8-v15: only the upper 64 bits are caller-saved; counted whole).
 */
enum arch_reg {
	ARCH_REG_X0,		/* ..X17: bit n is xn */
	ARCH_REG_X15 = ARCH_REG_X0 + 15,
	ARCH_REG_X16, ARCH_REG_X17, ARCH_REG_X18,
	ARCH_REG_V0,		/* ..V31 would not fit 32 bits: v0-v7 and v16-v23 individually, */
	ARCH_REG_V7 = ARCH_REG_V0 + 7,
	ARCH_REG_VHI,		/* v8-v31 as one (upper halves of v8-v15, v16-v31 whole) */
	ARCH_REG_NR
};
#define ARCH_REGS_CALLER_SAVED ((1u << ARCH_REG_NR) - 1)	/* = "everything" */

/* DWARF (AAPCS64 DWARF ABI): x0-x30 are 0-30, sp is 31; the pc is set apart. */
#define ARCH_DWARF_NREGS 32
/* A callee-saved register CFI carries and libdwfl's frame-pointer fallback does not. */
#define ARCH_DWARF_CFI_ONLY_REG 19	/* x19 */

/*
 * The registers hold no "inside a system call" mark at an interrupt stop (the kernel has
 * rewound and forgotten the call): generic code tells by the instruction at pc (svc).
 */
#define ARCH_SYSCALL_NR_IN_REGS 0

/* NT_ARM_HW_BREAK control word of an execute breakpoint at EL0 on a 4-byte A64 instruction. */
uint32_t arch_hwbp_exec_ctrl(void);

/*
 * The EINTR repair (stop.c) needs x0 as it was when the call was made: the result overwrote
 * it, the kernel's copy (orig_x0) is in no register set (NT_PRSTATUS is x0-x30, sp, pc,
 * pstate; NT_ARM_SYSTEM_CALL is the number only), and at our stop the kernel has forgotten
 * the call (do_signal: syscallno = -1, so /proc/TID/syscall says -1 then). It is read from
 * /proc/PID/task/TID/syscall before the stop (generic code, when this is 1); the restart
 * rules as a whole are in call.c and docs/aarch64.md.
 */
#define ARCH_SYSCALL_NEEDS_SNAPSHOT 1

#define ARCH_NAME "aarch64"
#define ARCH_AUDIT 0xc00000b7u	/* AUDIT_ARCH_AARCH64: seccomp_data.arch */
/* ELF: the machine, and the relocations a patch file's descriptors carry. */
#define ARCH_ELF_MACHINE 183	/* EM_AARCH64 */
#define ARCH_R_NONE 0		/* R_AARCH64_NONE */
#define ARCH_R_ABS64 257	/* R_AARCH64_ABS64 */
#define ARCH_R_RELATIVE 1027	/* R_AARCH64_RELATIVE */

/*
 * glibc's jmp_buf and ucontext_t (context.c). jmp_buf: x19-x28, x29, lr (mangled), -, sp
 * (mangled). ucontext_t: its mcontext has no fpregs pointer (the FP state is a record inside
 * uc_mcontext.__reserved, at offset 464); getcontext/swapcontext write the FPSIMD record there,
 * whose header word (FPSIMD_MAGIC 0x46508001, size 528) is the mark, followed by a zero
 * terminator header at 464 + 528 (arch_ucontext_valid checks both).
 */
#define ARCH_JMPBUF_WORDS 14
#define ARCH_JMPBUF_PC_WORD 11
#define ARCH_UCONTEXT_WORDS 125		/* uc_flags .. the terminator header after the FPSIMD record */
#define ARCH_UCONTEXT_GREGS 184		/* offset of uc_mcontext.regs */
#define ARCH_UCONTEXT_MARK_OFF 464	/* uc_mcontext.__reserved */
#define ARCH_UCONTEXT_MARK(at) 0x0000021046508001ull
#define ARCH_UCONTEXT_END_OFF (464 + 528)

#endif
