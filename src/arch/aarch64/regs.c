/* SPDX-License-Identifier: MIT */
/* aarch64 register sets saved and restored around injected code, and the hardware breakpoint encoding. */
#include <asm/ptrace.h>
#include <elf.h>

#include "arch/arch.h"

#ifndef NT_ARM_TLS
#define NT_ARM_TLS 0x401
#endif
#ifndef NT_ARM_SVE
#define NT_ARM_SVE 0x405
#endif
#ifndef NT_ARM_PAC_MASK
#define NT_ARM_PAC_MASK 0x406
#endif
#ifndef NT_ARM_TAGGED_ADDR_CTRL
#define NT_ARM_TAGGED_ADDR_CTRL 0x409
#endif
#ifndef NT_ARM_PAC_ENABLED_KEYS
#define NT_ARM_PAC_ENABLED_KEYS 0x40a
#endif

/*
 * Restored in this order. NT_PRFPREG first, NT_ARM_SVE after it: writing the FP/SIMD set
 * alone drops a thread out of SVE mode (the upper Z bits and the P registers zeroed), the SVE
 * set then puts the full vector length state back. The SVE buffer holds the largest vector
 * length the ABI allows; the kernel reports the real size (its header's vl is restored too).
 * PAC: the keys do not change under injected code (only prctl does); the enabled-keys mask
 * does, so it is restored; the PAC mask is read for reporting only. MTE: the tag check mode
 * (NT_ARM_TAGGED_ADDR_CTRL).
 */
static const struct arch_regset_desc sets[] = {
	{ NT_PRFPREG, "NT_PRFPREG", sizeof(struct user_fpsimd_state), false, true },
	{ NT_ARM_SVE, "NT_ARM_SVE", SVE_PT_SIZE(__SVE_VQ_MAX, SVE_PT_REGS_SVE), true, true },
	{ NT_ARM_TLS, "NT_ARM_TLS", 16, false, true },
	{ NT_ARM_PAC_MASK, "NT_ARM_PAC_MASK", 16, true, false },
	{ NT_ARM_PAC_ENABLED_KEYS, "NT_ARM_PAC_ENABLED_KEYS", 8, true, true },
	{ NT_ARM_TAGGED_ADDR_CTRL, "NT_ARM_TAGGED_ADDR_CTRL", 8, true, true },
};

const struct arch_regset_desc *arch_ext_regsets(int *n)
{
	*n = (int)(sizeof(sets) / sizeof(sets[0]));
	return sets;
}

/*
 * DBGBCR: E (bit 0) = 1, PMC (bits 2:1) = 0b10 (EL0), BAS (bits 8:5) = 0b1111 (the whole
 * 4-byte A64 instruction), no linking, address match.
 */
uint32_t arch_hwbp_exec_ctrl(void)
{
	return (0xfu << 5) | (2u << 1) | 1u;
}

/*
 * The x86 debug-register interface of arch.h (PTRACE_POKEUSER at DR offsets) has no aarch64
 * counterpart: arm64 refuses PTRACE_POKEUSER, so run-to-address sees no hardware breakpoint
 * fire and uses BRK. NT_ARM_HW_BREAK (arch_hwbp_exec_ctrl) is not wired into runto.c yet.
 */
size_t arch_debugreg_offset(int n)
{
	(void)n;
	return (size_t)-8;
}

uint64_t arch_dr7_exec_slot0(void)
{
	return 0;
}

bool arch_dr6_hit_slot0(uint64_t dr6)
{
	(void)dr6;
	return false;
}
