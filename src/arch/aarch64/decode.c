/* SPDX-License-Identifier: MIT */
/*
 * aarch64 decoding: what a function clobbers (capstone, for IPA-RA callers), relocation of
 * the instructions a jump displaces (WRAP trampolines: A64 PC-relative classes by their bit
 * patterns), and the register-preserving island.
 *
 * Conservative in one direction, as on x86_64: when unsure, report more registers written,
 * an indirect call, or stack arguments; refuse a relocation rather than guess.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <capstone/capstone.h>

#include "arch/arch.h"
#include "common/common.h"

#define BIT(r) (1u << (r))

/* clang-format off */
static const char *const reg_names[ARCH_REG_NR] = {
	"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
	"x14", "x15", "x16", "x17", "x18",
	"v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8-v31",
};
/* clang-format on */

const char *arch_reg_name(unsigned r)
{
	return r < ARCH_REG_NR ? reg_names[r] : NULL;
}

const char *arch_regs_str(uint32_t set, char *buf, size_t len)
{
	size_t pos = 0;

	if (!len)
		return buf;
	buf[0] = 0;
	for (int r = 0; r < ARCH_REG_NR; r++) {
		if (!(set & BIT(r)))
			continue;
		int n = snprintf(buf + pos, len - pos, "%s%s", pos ? "," : "", reg_names[r]);
		if (n < 0 || (size_t)n >= len - pos)
			break;
		pos += (size_t)n;
	}
	return buf;
}

static uint32_t word(const uint8_t *p)
{
	uint32_t w;
	memcpy(&w, p, 4);
	return w;
}

const char *arch_jump_desc(const uint8_t *jump, size_t len, char *buf, size_t size)
{
	const char *pad = "";
	if (len >= 4 && (word(jump) & 0xffffff3fu) == 0xd503241fu) {	/* BTI (c, j, jc) kept */
		pad = "bti + ";
		jump += 4;
		len -= 4;
	}
	if (len >= 4 && (word(jump) & 0xfc000000u) == 0x14000000u)
		snprintf(buf, size, "%sb imm26", pad);
	else if (len >= 8 && word(jump) == 0x58000050u && word(jump + 4) == 0xd61f0200u)
		snprintf(buf, size, "%sldr/br x16 abs64", pad);
	else
		return NULL;
	return buf;
}

/* ---- what a function writes (capstone) ---- */

/* The caller-saved bit of a capstone register (any width), 0 for the others. */
static uint32_t reg_bit(unsigned r)
{
	int n = -1;
	if (r >= ARM64_REG_X0 && r <= ARM64_REG_X28)
		n = (int)(r - ARM64_REG_X0);
	else if (r >= ARM64_REG_W0 && r <= ARM64_REG_W30)
		n = (int)(r - ARM64_REG_W0);
	if (n >= 0)
		return n <= 18 ? BIT(ARCH_REG_X0 + n) : 0;
	static const unsigned vbase[] = { ARM64_REG_V0, ARM64_REG_Q0, ARM64_REG_D0, ARM64_REG_S0,
					  ARM64_REG_H0, ARM64_REG_B0 };
	for (size_t i = 0; i < sizeof(vbase) / sizeof(vbase[0]); i++)
		if (r >= vbase[i] && r < vbase[i] + 32) {
			n = (int)(r - vbase[i]);
			return n <= 7 ? BIT(ARCH_REG_V0 + n) : BIT(ARCH_REG_VHI);
		}
	return 0;
}

static void add_callee(struct arch_func_info *out, uint64_t target)
{
	for (int i = 0; i < out->ncallees; i++)
		if (out->callees[i] == target)
			return;
	if (out->ncallees == (int)(sizeof(out->callees) / sizeof(out->callees[0]))) {
		out->callees_overflow = true;
		return;
	}
	out->callees[out->ncallees++] = target;
}

/* Direct branch target of a B/BL/B.cond/CBZ/CBNZ/TBZ/TBNZ word at pc; false for others. */
static bool branch_target(uint32_t w, uint64_t pc, uint64_t *target, bool *link, bool *cond)
{
	int64_t off;
	*link = *cond = false;
	if ((w & 0x7c000000u) == 0x14000000u) {		/* B, BL */
		off = (int64_t)((int32_t)(w << 6) >> 6) * 4;
		*link = w >> 31;
	} else if ((w & 0xff000010u) == 0x54000000u) {	/* B.cond */
		off = (int64_t)((int32_t)(w << 8) >> 13) * 4;
		*cond = ((w & 0xf) != 0xe);
	} else if ((w & 0x7e000000u) == 0x34000000u) {	/* CBZ, CBNZ */
		off = (int64_t)((int32_t)(w << 8) >> 13) * 4;
		*cond = true;
	} else if ((w & 0x7e000000u) == 0x36000000u) {	/* TBZ, TBNZ */
		off = (int64_t)((int32_t)(w << 13) >> 18) * 4;
		*cond = true;
	} else {
		return false;
	}
	*target = pc + (uint64_t)off;
	return true;
}

/*
 * Stack arguments: AAPCS64 passes the 9th and later integer arguments at [entry sp]. Loads
 * at or above the entry sp, through sp or through x29 set from sp, are such reads. sp is
 * followed linearly (sub/add immediate, pre/post-index writeback); after a block that ends
 * (ret, b out) the frame of the prologue is assumed again. Anything else done to sp or x29
 * makes the answer "yes".
 */
struct sp_track {
	int64_t sp;		/* sp - entry sp */
	int64_t frame;		/* sp after the prologue (the lowest seen) */
	int64_t fp;		/* x29 - entry sp, when known */
	bool fp_known;
	bool lost;
};

static void sp_insn(struct sp_track *s, csh h, const cs_insn *in)
{
	const cs_arm64 *d = &in->detail->arm64;
	bool writes_sp = false, writes_fp = false;
	cs_regs rr, ww;
	uint8_t nr = 0, nw = 0;

	if (cs_regs_access(h, in, rr, &nr, ww, &nw) == CS_ERR_OK)
		for (int i = 0; i < nw; i++) {
			writes_sp |= ww[i] == ARM64_REG_SP || ww[i] == ARM64_REG_WSP;
			writes_fp |= ww[i] == ARM64_REG_X29;
		}
	/* Memory operands: loads at or above the entry sp read the caller's frame. */
	for (int i = 0; i < d->op_count; i++) {
		const cs_arm64_op *op = &d->operands[i];
		if (op->type != ARM64_OP_MEM)
			continue;
		int64_t base;
		if (op->mem.base == ARM64_REG_SP)
			base = s->sp;
		else if (op->mem.base == ARM64_REG_X29 && s->fp_known)
			base = s->fp;
		else
			continue;
		/* post-index addresses the old base; pre-index and offset add disp */
		bool post = d->writeback && d->op_count > i + 1 && d->operands[i + 1].type == ARM64_OP_IMM;
		int64_t addr = base + (post ? 0 : op->mem.disp);
		bool load = in->id == ARM64_INS_LDR || in->id == ARM64_INS_LDP || in->id == ARM64_INS_LDRSW ||
			    in->id == ARM64_INS_LDUR || in->id == ARM64_INS_LDRB || in->id == ARM64_INS_LDRH ||
			    in->id == ARM64_INS_LDRSB || in->id == ARM64_INS_LDRSH || in->id == ARM64_INS_LDPSW;
		if (load && addr >= 0)
			s->lost = true;	/* reported as stack arguments */
		if (writes_sp && op->mem.base == ARM64_REG_SP && d->writeback) {
			int64_t disp = post ? d->operands[i + 1].imm : op->mem.disp;
			s->sp += disp;
			writes_sp = false;
		}
	}
	if (writes_sp) {
		/* sub/add sp, sp, #imm */
		if ((in->id == ARM64_INS_SUB || in->id == ARM64_INS_ADD) && d->op_count == 3 &&
		    d->operands[1].type == ARM64_OP_REG && d->operands[1].reg == ARM64_REG_SP &&
		    d->operands[2].type == ARM64_OP_IMM) {
			int64_t imm = d->operands[2].imm << (d->operands[2].shift.type == ARM64_SFT_LSL
								 ? d->operands[2].shift.value : 0);
			s->sp += in->id == ARM64_INS_SUB ? -imm : imm;
		} else if (in->id == ARM64_INS_MOV && d->op_count == 2 && d->operands[1].type == ARM64_OP_REG &&
			   d->operands[1].reg == ARM64_REG_X29 && s->fp_known) {
			s->sp = s->fp;
		} else {
			s->lost = true;
		}
	}
	if (writes_fp) {
		if (in->id == ARM64_INS_MOV && d->op_count == 2 && d->operands[1].type == ARM64_OP_REG &&
		    d->operands[1].reg == ARM64_REG_SP) {
			s->fp = s->sp;
			s->fp_known = true;
		} else if (in->id == ARM64_INS_ADD && d->op_count == 3 && d->operands[1].type == ARM64_OP_REG &&
			   d->operands[1].reg == ARM64_REG_SP && d->operands[2].type == ARM64_OP_IMM) {
			s->fp = s->sp + d->operands[2].imm;
			s->fp_known = true;
		} else {
			s->fp_known = false;	/* restored by an ldp in the epilogue, or used as a gpr */
		}
	}
	if (s->sp < s->frame)
		s->frame = s->sp;
}

int arch_analyze_func(const uint8_t *code, size_t len, uint64_t addr, struct arch_func_info *out)
{
	csh h;
	struct sp_track sp = { 0 };

	memset(out, 0, sizeof(*out));
	if (!len)
		return 0;
	if (cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &h) != CS_ERR_OK)
		return hp_err(EINVAL, "capstone: cannot open the arm64 decoder");
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	cs_insn *in = cs_malloc(h);
	if (!in) {
		cs_close(&h);
		return hp_err(ENOMEM, "decoding function at 0x%" PRIx64 ": out of memory", addr);
	}
	for (size_t off = 0; off + 4 <= len; off += 4) {
		const uint8_t *p = code + off;
		size_t n = 4;
		uint64_t pc = addr + off;
		uint32_t w = word(p);
		if (!cs_disasm_iter(h, &p, &n, &pc, in)) {
			/* SVE/SME, PAC branches and newer encodings capstone 4 does not know: assume the worst. */
			out->undecodable = true;
			break;
		}
		cs_regs rr, ww;
		uint8_t nr = 0, nw = 0;
		if (cs_regs_access(h, in, rr, &nr, ww, &nw) == CS_ERR_OK)
			for (int i = 0; i < nw; i++)
				out->written |= reg_bit(ww[i]);
		if (in->id == ARM64_INS_SVC)
			out->written |= BIT(ARCH_REG_X0);
		sp_insn(&sp, h, in);

		uint64_t target;
		bool link, cond;
		if (branch_target(w, addr + off, &target, &link, &cond)) {
			bool inside = target >= addr && target - addr < len;
			if (!inside)
				add_callee(out, target);	/* call, tail call, conditional tail call */
			if (!link && !cond) {			/* b: the path ends here */
				sp.sp = sp.frame;
			}
			continue;
		}
		/* Branch (register) class, PAC forms included: br, blr, ret, braa, blraa, retaa... */
		if ((w & 0xfe000000u) == 0xd6000000u) {
			unsigned opc = (w >> 21) & 0xf;
			if (opc == 2) {
				sp.sp = sp.frame;	/* ret: the path ends */
			} else if (opc == 0 || opc == 1 || opc == 8 || opc == 9) {
				out->indirect_call = true;	/* jump tables, computed jumps, calls */
			}
		}
	}
	out->stack_args = sp.lost;
	cs_free(in, 1);
	cs_close(&h);
	return 0;
}

/* ---- relocation (WRAP trampolines) ---- */

struct emit {
	uint8_t *buf;
	size_t max, pos;
	uint64_t at;
	bool full;
};

static void put32(struct emit *e, uint32_t w)
{
	if (e->pos + 4 > e->max) {
		e->full = true;
		return;
	}
	memcpy(e->buf + e->pos, &w, 4);
	e->pos += 4;
}

static void put64(struct emit *e, uint64_t v)
{
	put32(e, (uint32_t)v);
	put32(e, (uint32_t)(v >> 32));
}

/* LDR Xd, #8 ; B #12 ; .quad v  (Xd = v, 16 bytes) */
static void emit_load(struct emit *e, unsigned rd, uint64_t v)
{
	put32(e, 0x58000040u | rd);
	put32(e, 0x14000003u);
	put64(e, v);
}

/* LDR x16, #8 ; BR x16 ; .quad to */
static void emit_jmp(struct emit *e, uint64_t to)
{
	uint8_t b[ARCH_JMP_ABS_LEN];
	if (e->pos + ARCH_JMP_ABS_LEN > e->max) {
		e->full = true;
		return;
	}
	arch_encode_jmp_abs(to, b);
	memcpy(e->buf + e->pos, b, sizeof(b));
	e->pos += sizeof(b);
}

static int noreloc(uint64_t addr, const char *why)
{
	return hp_err(HOTPATCH_E_NORELOC, "cannot relocate the instruction at 0x%" PRIx64 ": %s", addr, why);
}

static int relocate_insn(struct emit *e, uint32_t w, uint64_t src)
{
	uint64_t target;
	bool link, cond;

	if (branch_target(w, src, &target, &link, &cond)) {
		if ((w & 0x7c000000u) == 0x14000000u) {
			if (link) {	/* BL: ldr x16; b over; .quad; blr x16 */
				emit_load(e, 16, target);
				put32(e, 0xd63f0200u);
			} else {
				emit_jmp(e, target);
			}
		} else {
			/* cond: branch +8 to the far jump, else skip it (B +20) */
			uint32_t mask = (w & 0x7e000000u) == 0x36000000u ? 0xfff8001fu : 0xff00001fu;
			put32(e, (w & mask) | (2u << 5));
			put32(e, 0x14000005u);
			emit_jmp(e, target);
		}
		return 0;
	}
	if ((w & 0x1f000000u) == 0x10000000u) {		/* ADR, ADRP */
		int64_t imm = (int64_t)((int32_t)(((w >> 5) & 0x7ffff) << 13) >> 11) | ((w >> 29) & 3);
		uint64_t v = (w >> 31) ? (src & ~0xfffull) + (uint64_t)(imm << 12) : src + (uint64_t)imm;
		emit_load(e, w & 0x1f, v);
		return 0;
	}
	if ((w & 0x3b000000u) == 0x18000000u) {		/* LDR (literal) family */
		unsigned opc = w >> 30, rt = w & 0x1f;
		uint64_t a = src + (uint64_t)((int64_t)((int32_t)(w << 8) >> 13) * 4);
		if (w & (1u << 26))
			return noreloc(src, "LDR (literal) of a SIMD register");
		if (opc == 3)
			return noreloc(src, "PRFM (literal)");
		emit_load(e, 16, a);
		put32(e, (opc == 0 ? 0xb9400200u : opc == 1 ? 0xf9400200u : 0xb9800200u) | rt);
		return 0;
	}
	put32(e, w);
	return 0;
}

int arch_build_trampoline(const uint8_t *code, size_t code_len, uint64_t from, size_t min_len,
			  uint64_t func_start, uint64_t func_end, uint64_t to, uint8_t *out,
			  size_t out_max, size_t *out_len, size_t *consumed)
{
	struct emit e = { .buf = out, .max = out_max, .at = to };
	size_t start, used, scan_len;

	if (from < func_start || from - func_start >= code_len || func_end < func_start || (from & 3))
		return hp_err(EINVAL, "trampoline: 0x%" PRIx64 " outside the function bytes at 0x%" PRIx64,
			      from, func_start);
	start = from - func_start;
	used = (min_len + 3) & ~(size_t)3;
	if (start + used > code_len)
		return hp_err(HOTPATCH_E_NORELOC,
			      "cannot relocate 0x%" PRIx64 ": function bytes end before %zu bytes", from, min_len);
	/* Nothing may branch into the displaced words (the entry itself is fine). */
	scan_len = func_end - func_start < code_len ? func_end - func_start : code_len;
	for (size_t off = 0; off + 4 <= scan_len; off += 4) {
		uint64_t target;
		bool link, cond;
		if (branch_target(word(code + off), func_start + off, &target, &link, &cond) &&
		    target > from && target < from + used)
			return hp_err(HOTPATCH_E_NORELOC,
				      "cannot relocate 0x%" PRIx64 ": the branch at 0x%" PRIx64
				      " targets the displaced bytes at 0x%" PRIx64, from, func_start + off, target);
	}
	for (size_t off = 0; off < used; off += 4) {
		int err = relocate_insn(&e, word(code + start + off), from + off);
		if (err)
			return err;
	}
	emit_jmp(&e, from + used);
	if (e.full)
		return hp_err(ENOSPC, "trampoline for 0x%" PRIx64 " needs more than %zu bytes", from, out_max);
	*out_len = e.pos;
	*consumed = used;
	return 0;
}

/* ---- preserving island ---- */

/*
 * Entered by a B from the old entry (lr = the caller's return address):
 *   stp x29, x30, [sp, #-16]! ; mov x29, sp ; save 'keep' ; ldr x16, =target ; blr x16 ;
 *   restore 'keep' ; ldp x29, x30, [sp], #16 ; ret
 * General registers in pairs (stp/ldp), vector registers whole (q, 128 bits; the SVE upper
 * bits are caller-saved under AAPCS64 anyway).
 */
int arch_build_preserving_island(uint32_t keep, uint64_t at, uint64_t target, uint8_t *out,
				 size_t out_max)
{
	struct emit e = { .buf = out, .max = out_max, .at = at };
	int g[20], ng = 0, v[32], nv = 0;

	for (int r = 0; r <= 18; r++)
		if (keep & BIT(ARCH_REG_X0 + r))
			g[ng++] = r;
	for (int r = 0; r < 8; r++)
		if (keep & BIT(ARCH_REG_V0 + r))
			v[nv++] = r;
	if (keep & BIT(ARCH_REG_VHI))
		for (int r = 8; r < 32; r++)
			v[nv++] = r;

	put32(&e, 0xa9bf7bfdu);				/* stp x29, x30, [sp, #-16]! */
	put32(&e, 0x910003fdu);				/* mov x29, sp */
	for (int i = 0; i < ng; i += 2)
		if (i + 1 < ng)
			put32(&e, 0xa9bf03e0u | ((uint32_t)g[i + 1] << 10) | (uint32_t)g[i]);
		else
			put32(&e, 0xf81f0fe0u | (uint32_t)g[i]);	/* str xN, [sp, #-16]! */
	for (int i = 0; i < nv; i += 2)
		if (i + 1 < nv)
			put32(&e, 0xadbf03e0u | ((uint32_t)v[i + 1] << 10) | (uint32_t)v[i]);
		else
			put32(&e, 0x3c9f0fe0u | (uint32_t)v[i]);	/* str qN, [sp, #-16]! */
	put32(&e, 0x58000070u);				/* ldr x16, #12 (the literal below) */
	put32(&e, 0xd63f0200u);				/* blr x16 */
	put32(&e, 0x14000003u);				/* b over the literal */
	put64(&e, target);
	for (int i = (nv - 1) & ~1; i >= 0; i -= 2)
		if (i + 1 < nv)
			put32(&e, 0xacc103e0u | ((uint32_t)v[i + 1] << 10) | (uint32_t)v[i]);
		else
			put32(&e, 0x3cc107e0u | (uint32_t)v[i]);	/* ldr qN, [sp], #16 */
	for (int i = (ng - 1) & ~1; i >= 0; i -= 2)
		if (i + 1 < ng)
			put32(&e, 0xa8c103e0u | ((uint32_t)g[i + 1] << 10) | (uint32_t)g[i]);
		else
			put32(&e, 0xf84107e0u | (uint32_t)g[i]);	/* ldr xN, [sp], #16 */
	put32(&e, 0xa8c17bfdu);				/* ldp x29, x30, [sp], #16 */
	put32(&e, A64_RET);
	if (e.full)
		return -ENOSPC;
	return (int)e.pos;
}
