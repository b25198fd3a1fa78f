/* SPDX-License-Identifier: MIT */
/* Jump encodings written over function entries. */
#include <string.h>

#include "arch/arch.h"

bool arch_is_endbr(const uint8_t *code, size_t len)
{
	static const uint8_t endbr64[ARCH_ENDBR_LEN] = { 0xf3, 0x0f, 0x1e, 0xfa };
	return len >= ARCH_ENDBR_LEN && !memcmp(code, endbr64, ARCH_ENDBR_LEN);
}

/* No entry instruction is replaced by a pad of ours: endbr64 is kept (arch_is_endbr). */
size_t arch_entry_pad(const uint8_t *code, size_t len, uint8_t *buf)
{
	(void)code;
	(void)len;
	(void)buf;
	return 0;
}

size_t arch_encode_entry_jump(const uint8_t *code, size_t len, uint64_t from, uint64_t to,
			      uint8_t *buf)
{
	size_t pad = 0;
	if (arch_is_endbr(code, len)) {
		memcpy(buf, code, ARCH_ENDBR_LEN);
		pad = ARCH_ENDBR_LEN;
	}
	return pad + arch_encode_jump(from + pad, to, buf + pad);
}

bool arch_rel32_reaches(uint64_t from, uint64_t to)
{
	/* rel32 is relative to the end of the 5-byte instruction. */
	int64_t rel = (int64_t)(to - (from + ARCH_JMP_REL32_LEN));
	return rel >= INT32_MIN && rel <= INT32_MAX;
}

size_t arch_encode_jmp_rel32(uint64_t from, uint64_t to, uint8_t *buf)
{
	if (!arch_rel32_reaches(from, to))
		return 0;
	int32_t rel = (int32_t)(int64_t)(to - (from + ARCH_JMP_REL32_LEN));
	buf[0] = 0xe9;			/* jmp rel32 */
	memcpy(buf + 1, &rel, 4);
	return ARCH_JMP_REL32_LEN;
}

size_t arch_encode_jmp_abs(uint64_t to, uint8_t *buf)
{
	/*
	 * jmp *0(%rip) followed by the 8-byte target: clobbers no register.
	 * Never "movabs $to,%rax; jmp *%rax": %al carries the number of vector
	 * registers into variadic functions.
	 */
	static const uint8_t insn[6] = { 0xff, 0x25, 0, 0, 0, 0 };
	memcpy(buf, insn, sizeof(insn));
	memcpy(buf + 6, &to, 8);
	return ARCH_JMP_ABS_LEN;
}

size_t arch_encode_jump(uint64_t from, uint64_t to, uint8_t *buf)
{
	size_t n = arch_encode_jmp_rel32(from, to, buf);
	return n ? n : arch_encode_jmp_abs(to, buf);
}

/*
 * Alignment padding emitted by GNU as / GCC between functions: single-byte
 * nop (90), int3 (cc), the multi-byte nop forms (0f 1f /0, 66 0f 1f ..,
 * 66 2e 0f 1f 84 ..), "data16" prefixes (66) before them, and zero bytes.
 * We accept any sequence made only of those bytes' decodings; being
 * conservative here only means refusing to patch a tiny function.
 */
bool arch_is_padding(const uint8_t *code, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t b = code[i];
		if (b == 0x90 || b == 0xcc || b == 0x00) {
			i++;
			continue;
		}
		/* Multi-byte nop: [66]* [2e] 0f 1f modrm [sib] [disp8|disp32] */
		size_t j = i;
		while (j < len && code[j] == 0x66)
			j++;
		if (j < len && code[j] == 0x2e)
			j++;
		if (j + 2 > len || code[j] != 0x0f || code[j + 1] != 0x1f)
			return false;
		j += 2;
		if (j >= len)
			return false;
		uint8_t modrm = code[j++];
		unsigned mod = modrm >> 6, rm = modrm & 7;
		if (((modrm >> 3) & 7) != 0)
			return false;
		if (mod != 3 && rm == 4)
			j++;			/* SIB */
		if (mod == 1)
			j += 1;
		else if (mod == 2 || (mod == 0 && rm == 5))
			j += 4;
		if (j > len)
			return false;
		i = j;
	}
	return true;
}
