/* SPDX-License-Identifier: MIT */
/* aarch64 register sets saved and restored around injected code, and the hardware breakpoint encoding. */
#include <asm/ptrace.h>
#include <elf.h>
#include <signal.h>
#include <string.h>

#include "arch/arch.h"

#ifndef NT_ARM_HW_BREAK
#define NT_ARM_HW_BREAK 0x402
#endif
#ifndef TRAP_HWBKPT
#define TRAP_HWBKPT 4
#endif
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
#ifndef NT_ARM_SSVE
#define NT_ARM_SSVE 0x40b
#endif
#ifndef NT_ARM_ZA
#define NT_ARM_ZA 0x40c
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
 * SME. A thread in streaming SVE mode (PSTATE.SM) runs only SME-aware code: ordinary code (a
 * dlopen) faults there (SIGILL on many NEON and SVE instructions), and neither the streaming
 * registers nor ZA are in the sets saved around injected code. System calls leave streaming
 * mode, so a thread blocked in one is never in it. ZA storage (PSTATE.ZA) may stay on across a
 * system call; injected code could commit a lazy ZA save that restoring TPIDR2 (NT_ARM_TLS)
 * would then contradict. Such threads are not borrowed. The sets' headers: NT_ARM_SSVE is a
 * struct user_sve_header whose flags say SVE_PT_REGS_SVE (1) while streaming, FPSIMD (0)
 * otherwise; NT_ARM_ZA's struct user_za_header has size 16 (the header alone) while ZA is off.
 * Neither CPU model of the guest rig has SME (docs/aarch64.md): unreadable sets mean no SME.
 */
static const int live_sets[] = { NT_ARM_SSVE, NT_ARM_ZA };

const int *arch_live_state_regsets(int *n)
{
	*n = (int)(sizeof(live_sets) / sizeof(live_sets[0]));
	return live_sets;
}

const char *arch_live_state(int type, const void *head, size_t len)
{
	uint32_t size;
	uint16_t flags;
	if (len < 16)
		return NULL;
	memcpy(&size, head, 4);
	memcpy(&flags, (const uint8_t *)head + 12, 2);
	if (type == NT_ARM_SSVE && (flags & 1))
		return "streaming SVE mode (SME)";
	if (type == NT_ARM_ZA && size > 16)
		return "ZA storage on (SME)";
	return NULL;
}

/* struct user_pac_mask: data_mask, then insn_mask (both 0 bits where the address is). */
bool arch_code_mask_regset(int *type, size_t *size, size_t *offset)
{
	*type = NT_ARM_PAC_MASK;
	*size = 16;
	*offset = 8;
	return true;
}

int arch_dwarf_ra_reg(void)
{
	return 30;
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
 * NT_ARM_HW_BREAK (asm/ptrace.h's struct user_hwdebug_state): dbg_info (u32: the slot count
 * in its low byte), pad (u32), then per slot addr (u64), ctrl (u32), pad (u32). A write of
 * the header and one slot sets slot 0 only (the kernel reads the slots the length covers,
 * the header is ignored). There is no status register: a hit is a SIGTRAP whose si_code is
 * TRAP_HWBKPT (ptrace_hbptriggered), si_addr the breakpoint's address. The kernel does not
 * step over a ptrace breakpoint: the thread traps again at once unless the slot is disarmed
 * before it resumes (run-to disarms it at the hit).
 */
#define HWBP_HDR 8
#define HWBP_SLOT 16

static void hwbp_slot0(uint64_t addr, uint32_t ctrl, struct arch_hwbp_write *w)
{
	*w = (struct arch_hwbp_write){ .regset = NT_ARM_HW_BREAK, .len = HWBP_HDR + HWBP_SLOT };
	memcpy(w->buf + HWBP_HDR, &addr, 8);
	memcpy(w->buf + HWBP_HDR + 8, &ctrl, 4);
}

void arch_hwbp_arm(uint64_t addr, struct arch_hwbp_write *w)
{
	hwbp_slot0(addr, arch_hwbp_exec_ctrl(), w);
}

void arch_hwbp_disarm(struct arch_hwbp_write *w)
{
	hwbp_slot0(0, 0, w);
}

bool arch_hwbp_status_word(size_t *off)
{
	*off = 0;
	return false;
}

bool arch_hwbp_hit(uint64_t status, const siginfo_t *si)
{
	(void)status;
	return si->si_signo == SIGTRAP && si->si_code == TRAP_HWBKPT;
}
