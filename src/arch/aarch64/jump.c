/* SPDX-License-Identifier: MIT */
/* aarch64 jump encodings written over function entries, and the landing pads kept in front. */
#include <string.h>

#include "arch/arch.h"

#define B_RANGE (128ll << 20)	/* B imm26: +-128 MiB, counted from the B itself */

static uint32_t word(const uint8_t *code)
{
	uint32_t w;
	memcpy(&w, code, 4);
	return w;
}

/*
 * BTI c/j/jc stay in front of the jump: an indirect call into a BTI-guarded page must land
 * on one. PACIASP/PACIBSP are landing pads too but are never kept: the replacement signs lr
 * itself, so the old entry's signature would be left on lr at its return: jumps_plan
 * replaces it with BTI c (arch_entry_pad).
 */
bool arch_is_endbr(const uint8_t *code, size_t len)
{
	if (len < ARCH_ENDBR_LEN)
		return false;
	uint32_t w = word(code);
	return w == A64_BTI_C || w == A64_BTI_J || w == A64_BTI_JC;
}

bool arch_rel32_reaches(uint64_t from, uint64_t to)
{
	int64_t rel = (int64_t)(to - from);
	return (from & 3) == 0 && (to & 3) == 0 && rel >= -B_RANGE && rel < B_RANGE;
}

size_t arch_encode_jmp_rel32(uint64_t from, uint64_t to, uint8_t *buf)
{
	if (!arch_rel32_reaches(from, to))
		return 0;
	int64_t rel = (int64_t)(to - from) >> 2;
	uint32_t w = 0x14000000u | ((uint32_t)rel & 0x03ffffffu);	/* B imm26 */
	memcpy(buf, &w, 4);
	return ARCH_JMP_REL32_LEN;
}

size_t arch_encode_jmp_abs(uint64_t to, uint8_t *buf)
{
	/*
	 * LDR x16, #8 ; BR x16 ; .quad to. x16 (IP0) is what the linker's veneers use: no
	 * caller keeps a value in it across a call. A BR through x16/x17 is accepted by a
	 * "BTI c" (and PACIASP) landing pad, so the target may sit in a BTI-guarded page.
	 * The literal is at entry + 8: 4-byte aligned, which user-space loads accept.
	 */
	const uint32_t insn[2] = { 0x58000050u, 0xd61f0200u };
	memcpy(buf, insn, 8);
	memcpy(buf + 8, &to, 8);
	return ARCH_JMP_ABS_LEN;
}

size_t arch_encode_jump(uint64_t from, uint64_t to, uint8_t *buf)
{
	size_t n = arch_encode_jmp_rel32(from, to, buf);
	return n ? n : arch_encode_jmp_abs(to, buf);
}

/* Padding between functions: NOP words and zero words (udf #0). Only whole words. */
bool arch_is_padding(const uint8_t *code, size_t len)
{
	if (len % 4)
		return false;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t w = word(code + i);
		if (w != A64_NOP && w != 0)
			return false;
	}
	return true;
}

/* PACIASP/PACIBSP: replaced by "BTI c" in front of the jump (arch.h says why). */
size_t arch_entry_pad(const uint8_t *code, size_t len, uint8_t *buf)
{
	if (len < 4 || (word(code) != A64_PACIASP && word(code) != A64_PACIBSP))
		return 0;
	const uint32_t bti = A64_BTI_C;
	memcpy(buf, &bti, 4);
	return 4;
}

/* A BTI landing pad is kept (written back as it is), PACIASP/PACIBSP becomes BTI c, then the jump. */
size_t arch_encode_entry_jump(const uint8_t *code, size_t len, uint64_t from, uint64_t to,
			      uint8_t *buf)
{
	size_t pad = 0;
	if (arch_is_endbr(code, len)) {
		memcpy(buf, code, 4);
		pad = 4;
	} else {
		pad = arch_entry_pad(code, len, buf);
	}
	return pad + arch_encode_jump(from + pad, to, buf + pad);
}
