/* SPDX-License-Identifier: MIT */
/*
 * x86-64 decoding with Zydis: what a function clobbers (for -fipa-ra
 * callers), relocation of the instructions a jump displaces (WRAP
 * trampolines), and the register-preserving island.
 *
 * Everything here is conservative in one direction: when unsure, report
 * more registers written, an indirect call, or stack arguments; refuse a
 * relocation rather than guess.
 */
#include <cpuid.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <Zydis/Zydis.h>

#include "arch/arch.h"
#include "common/common.h"

#define BIT(r) (1u << (r))
#define GPR_MASK (BIT(ARCH_REG_XMM0) - 1)
#define XMM_MASK (ARCH_REGS_CALLER_SAVED & ~GPR_MASK)

/* clang-format off */
static const char *const reg_names[ARCH_REG_NR] = {
	"rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
	"xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15",
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
			break; /* truncated: snprintf already terminated it */
		pos += (size_t)n;
	}
	return buf;
}

const char *arch_jump_desc(const uint8_t *jump, size_t len, char *buf, size_t size)
{
	if (len >= 2 && jump[0] == 0xff && jump[1] == 0x25)
		snprintf(buf, size, "ff25 abs64");
	else if (len >= 1 && jump[0] == 0xe9)
		snprintf(buf, size, "e9 rel32");
	else
		return NULL;
	return buf;
}

static void decoder_init(ZydisDecoder *d)
{
	ZydisDecoderInit(d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
}

static bool decode(const ZydisDecoder *d, const uint8_t *p, size_t n, ZydisDecodedInstruction *in,
		   ZydisDecodedOperand *ops)
{
	return ZYAN_SUCCESS(ZydisDecoderDecodeFull(d, p, n, in, ops));
}

/* Hardware number 0..15 of a 64-bit GPR (any width maps to its 64-bit register), else -1. */
static int gpr_num(ZydisRegister r)
{
	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_GPR8:
	case ZYDIS_REGCLASS_GPR16:
	case ZYDIS_REGCLASS_GPR32:
	case ZYDIS_REGCLASS_GPR64:
		return ZydisRegisterGetId(
		    ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r));
	default:
		return -1;
	}
}

/* Hardware GPR number -> enum arch_reg bit; callee-saved and rsp give 0. */
static uint32_t gpr_bit(int n)
{
	static const int8_t map[16] = {
	    ARCH_REG_RAX, ARCH_REG_RCX, ARCH_REG_RDX, -1,	   -1,		 -1,
	    ARCH_REG_RSI, ARCH_REG_RDI, ARCH_REG_R8,  ARCH_REG_R9, ARCH_REG_R10, ARCH_REG_R11,
	    -1,		  -1,		-1,	      -1,
	};
	return n >= 0 && n < 16 && map[n] >= 0 ? BIT(map[n]) : 0;
}

/*
 * The arch_reg bit of a register written. xmmN, ymmN and zmmN are one
 * register: a write to any part counts as clobbering xmmN. Registers outside
 * the set (xmm16-31, k0-7, x87/mmx, flags) are not tracked: the whole scheme
 * assumes callers never keep values there across a call.
 */
static uint32_t reg_bit(ZydisRegister r)
{
	int id;

	switch (ZydisRegisterGetClass(r)) {
	case ZYDIS_REGCLASS_XMM:
	case ZYDIS_REGCLASS_YMM:
	case ZYDIS_REGCLASS_ZMM:
		id = ZydisRegisterGetId(r);
		return id >= 0 && id < 16 ? BIT(ARCH_REG_XMM0 + id) : 0;
	default:
		return gpr_bit(gpr_num(r));
	}
}

/* Registers written that Zydis does not list as operands. */
static uint32_t implicit_writes(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_SYSCALL:
		/* the kernel returns in rax; rcx/r11 are listed by zydis */
		return BIT(ARCH_REG_RAX) | BIT(ARCH_REG_RCX) | BIT(ARCH_REG_R11);
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT1:
	case ZYDIS_MNEMONIC_INTO:
	case ZYDIS_MNEMONIC_SYSENTER:
		/* int $0x80 returns in rax and zeroed r8-r11 on kernels before 4.17 */
		return BIT(ARCH_REG_RAX) | BIT(ARCH_REG_RCX) | BIT(ARCH_REG_R8) | BIT(ARCH_REG_R9) |
		       BIT(ARCH_REG_R10) | BIT(ARCH_REG_R11);
	case ZYDIS_MNEMONIC_VZEROUPPER: /* zeroes the upper part of every vector register */
	case ZYDIS_MNEMONIC_VZEROALL:
	case ZYDIS_MNEMONIC_FXRSTOR: /* reload the whole vector state */
	case ZYDIS_MNEMONIC_FXRSTOR64:
	case ZYDIS_MNEMONIC_XRSTOR:
	case ZYDIS_MNEMONIC_XRSTOR64:
	case ZYDIS_MNEMONIC_XRSTORS:
	case ZYDIS_MNEMONIC_XRSTORS64:
		return XMM_MASK;
	default:
		return 0;
	}
}

/* Control flow of one instruction, for the stack-argument data flow. */
enum flow {
	FLOW_NEXT, /* falls through only (calls included) */
	FLOW_JCC,  /* falls through and may branch to target */
	FLOW_JMP,  /* goes to target only */
	FLOW_STOP, /* leaves the function or traps */
};

struct insn {
	uint32_t off;
	uint8_t len;
	uint8_t flow;
	bool indirect_jmp;
	int64_t target; /* offset of an in-function target, or -1 */
};

/* Where each tracked GPR points: entry rsp + k[r] when known[r] (rsp points at the return address).
 */
struct sp_state {
	uint16_t known;
	int64_t k[16];
};

#define GPR_RSP 4
#define GPR_RBP 5

struct analysis {
	const uint8_t *code;
	size_t len;
	ZydisDecoder dec;
	struct insn *insns;
	size_t n;
	int32_t *at; /* code offset -> instruction index, -1 inside an instruction */
	struct sp_state *in;
	bool *seen;
	size_t *work;
	size_t nwork;
};

static void add_callee(struct arch_func_info *out, uint64_t target)
{
	for (int i = 0; i < out->ncallees; i++)
		if (out->callees[i] == target)
			return;
	if (out->ncallees == (int)ARRAY_SIZE(out->callees)) {
		out->callees_overflow = true;
		return;
	}
	out->callees[out->ncallees++] = target;
}

/* True when the decoded instruction's first operand is a relative immediate (direct branch). */
static bool direct_branch(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	return in->operand_count_visible > 0 && ops[0].type == ZYDIS_OPERAND_TYPE_IMMEDIATE &&
	       ops[0].imm.is_relative;
}

/*
 * Pass 1: decode linearly, collect registers written, callees and indirect
 * transfers, and the control flow of each instruction.
 */
static void scan_linear(struct analysis *a, uint64_t addr, struct arch_func_info *out)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];

	for (size_t off = 0; off < a->len; off += in.length) {
		if (!decode(&a->dec, a->code + off, a->len - off, &in, ops)) {
			/* Linear decoding cannot resync reliably: stop, the caller assumes the
			 * worst. */
			out->undecodable = true;
			return;
		}
		struct insn *x = &a->insns[a->n];
		x->off = (uint32_t)off;
		x->len = in.length;
		x->flow = FLOW_NEXT;
		x->indirect_jmp = false;
		x->target = -1;
		a->at[off] = (int32_t)a->n++;

		for (int i = 0; i < in.operand_count; i++)
			if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
			    (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
				out->written |= reg_bit(ops[i].reg.value);
		out->written |= implicit_writes(in.mnemonic);

		uint64_t target = 0;
		bool direct =
		    direct_branch(&in, ops) &&
		    ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&in, &ops[0], addr + off, &target));
		bool inside = direct && target >= addr && target - addr < a->len;

		switch (in.meta.category) {
		case ZYDIS_CATEGORY_CALL:
			if (!direct)
				out->indirect_call = true;
			else if (!inside)
				add_callee(out, target);
			/* a call into the function itself is just more of its own code */
			break;
		case ZYDIS_CATEGORY_UNCOND_BR:
			x->flow = FLOW_STOP;
			if (!direct) {
				/*
				 * Jump tables and computed jumps: we cannot tell where they
				 * go, so assume anywhere.
				 */
				out->indirect_call = true;
				x->indirect_jmp = true;
			} else if (inside) {
				x->flow = FLOW_JMP;
				x->target = (int64_t)(target - addr);
			} else {
				add_callee(out, target); /* tail call */
			}
			break;
		case ZYDIS_CATEGORY_COND_BR: /* jcc, loop*, jrcxz, xbegin */
			if (!direct) {
				out->indirect_call = true;
			} else if (inside) {
				x->flow = FLOW_JCC;
				x->target = (int64_t)(target - addr);
			} else {
				add_callee(out, target); /* conditional tail call */
			}
			break;
		case ZYDIS_CATEGORY_RET:
			x->flow = FLOW_STOP;
			break;
		default:
			if (in.mnemonic == ZYDIS_MNEMONIC_UD2 ||
			    in.mnemonic == ZYDIS_MNEMONIC_HLT ||
			    in.mnemonic == ZYDIS_MNEMONIC_IRETQ ||
			    in.mnemonic == ZYDIS_MNEMONIC_SYSRET)
				x->flow = FLOW_STOP;
			break;
		}
	}
}

/* Report a stack-argument access when a memory operand addresses entry rsp + 8 or above. */
static bool touches_caller_frame(const struct sp_state *s, const ZydisDecodedInstruction *in,
				 const ZydisDecodedOperand *ops)
{
	for (int i = 0; i < in->operand_count_visible; i++) {
		const ZydisDecodedOperand *o = &ops[i];
		if (o->type != ZYDIS_OPERAND_TYPE_MEMORY ||
		    ZydisRegisterGetClass(o->mem.base) != ZYDIS_REGCLASS_GPR64)
			continue;
		int b = gpr_num(o->mem.base);
		/*
		 * An index register is ignored: [rsp+rax*4+16] is usually a local
		 * array, and its disp alone decides.
		 */
		if ((s->known & (1u << b)) && s->k[b] + o->mem.disp.value >= 8)
			return true;
	}
	return false;
}

static bool imm_operand(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops, int i,
			int64_t *v)
{
	if (i >= in->operand_count_visible || ops[i].type != ZYDIS_OPERAND_TYPE_IMMEDIATE)
		return false;
	*v = ops[i].imm.value.s;
	return true;
}

static int reg64_operand(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops, int i)
{
	if (i >= in->operand_count_visible || ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    ZydisRegisterGetClass(ops[i].reg.value) != ZYDIS_REGCLASS_GPR64)
		return -1;
	return gpr_num(ops[i].reg.value);
}

/* Effect of one instruction on where the GPRs point. */
static void sp_transfer(struct sp_state *s, const ZydisDecodedInstruction *in,
			const ZydisDecodedOperand *ops)
{
	uint16_t done = 0; /* registers whose new value is computed below */
	int d = reg64_operand(in, ops, 0), src;
	int64_t imm;

#define KNOWN(r) (s->known & (1u << (r)))
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_PUSH:
	case ZYDIS_MNEMONIC_PUSHFQ:
		s->k[GPR_RSP] -= in->operand_width / 8;
		done = 1u << GPR_RSP;
		break;
	case ZYDIS_MNEMONIC_POP:
	case ZYDIS_MNEMONIC_POPFQ:
		s->k[GPR_RSP] += in->operand_width / 8;
		done = 1u << GPR_RSP;
		if (d >= 0)
			s->known &= (uint16_t) ~(1u << d); /* pop %rsp included */
		break;
	case ZYDIS_MNEMONIC_ADD:
	case ZYDIS_MNEMONIC_SUB:
		if (d >= 0 && KNOWN(d) && imm_operand(in, ops, 1, &imm)) {
			s->k[d] += in->mnemonic == ZYDIS_MNEMONIC_ADD ? imm : -imm;
			done = 1u << d;
		}
		break;
	case ZYDIS_MNEMONIC_MOV:
		src = reg64_operand(in, ops, 1);
		if (d >= 0 && src >= 0) {
			s->known = (uint16_t)((s->known & ~(1u << d)) | (KNOWN(src) ? 1u << d : 0));
			s->k[d] = s->k[src];
			done = 1u << d;
		}
		break;
	case ZYDIS_MNEMONIC_LEA:
		if (d >= 0 && ops[1].mem.index == ZYDIS_REGISTER_NONE &&
		    ZydisRegisterGetClass(ops[1].mem.base) == ZYDIS_REGCLASS_GPR64) {
			int b = gpr_num(ops[1].mem.base);
			s->known = (uint16_t)((s->known & ~(1u << d)) | (KNOWN(b) ? 1u << d : 0));
			s->k[d] = s->k[b] + ops[1].mem.disp.value;
			done = 1u << d;
		}
		break;
	case ZYDIS_MNEMONIC_LEAVE:
		/* mov %rbp,%rsp; pop %rbp */
		s->known = (uint16_t)((s->known & ~(1u << GPR_RSP)) |
				      (KNOWN(GPR_RBP) ? 1u << GPR_RSP : 0));
		s->k[GPR_RSP] = s->k[GPR_RBP] + 8;
		s->known &= (uint16_t) ~(1u << GPR_RBP);
		done = (1u << GPR_RSP) | (1u << GPR_RBP);
		break;
	case ZYDIS_MNEMONIC_CALL:
		/* the callee pops what the call pushed, and may clobber caller-saved GPRs */
		done = 1u << GPR_RSP;
		for (int r = 0; r < 16; r++)
			if (gpr_bit(r))
				s->known &= (uint16_t) ~(1u << r);
		break;
	default:
		break;
	}
#undef KNOWN
	for (int i = 0; i < in->operand_count; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER ||
		    !(ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE))
			continue;
		int r = gpr_num(ops[i].reg.value);
		if (r >= 0 && !(done & (1u << r)))
			s->known &= (uint16_t) ~(1u << r);
	}
}

/* Merge 'st' into the entry state of instruction i; queue it when that changed anything. */
static void sp_flow_to(struct analysis *a, size_t i, const struct sp_state *st)
{
	struct sp_state *in = &a->in[i];

	if (!a->seen[i]) {
		*in = *st;
		a->seen[i] = true;
	} else {
		uint16_t keep = in->known & st->known;
		for (int r = 0; r < 16; r++)
			if ((keep & (1u << r)) && in->k[r] != st->k[r])
				keep &= (uint16_t) ~(1u << r);
		if (keep == in->known)
			return;
		in->known = keep;
	}
	a->work[a->nwork++] = i; /* each index is queued at most 17 times: bounded below */
}

/*
 * Pass 2: does the function touch its caller's frame (stack-passed
 * arguments, or the va_list overflow area)? A forward data flow from the
 * entry tracks, per GPR, "entry rsp + k" through push/pop, add/sub imm, mov,
 * lea and leave; any other write forgets the register. An access through a
 * known register at entry rsp + 8 or above (lea included: va_start and
 * DRAP take the address of the argument area) counts. Code the flow does not
 * reach (jump-table cases) starts from the state at the function's first
 * indirect jmp, which is where switch dispatch happens, else from the
 * nearest earlier instruction. Conflicting states at a join forget the
 * register. Accesses through forgotten registers never count: a tail call
 * forwarding stack arguments is the callee's to report.
 */
static bool scan_stack_args(struct analysis *a)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct sp_state st = {.known = 1u << GPR_RSP};
	ssize_t dispatch = -1;
	size_t next_unseen = 0;

	if (!a->n)
		return false;
	sp_flow_to(a, 0, &st);
	for (;;) {
		while (a->nwork) {
			size_t i = a->work[--a->nwork];
			const struct insn *x = &a->insns[i];

			if (!decode(&a->dec, a->code + x->off, a->len - x->off, &in, ops))
				continue; /* cannot happen: pass 1 decoded it */
			if (touches_caller_frame(&a->in[i], &in, ops))
				return true;
			if (x->indirect_jmp && dispatch < 0)
				dispatch = (ssize_t)i;
			st = a->in[i];
			sp_transfer(&st, &in, ops);
			if ((x->flow == FLOW_NEXT || x->flow == FLOW_JCC) && i + 1 < a->n)
				sp_flow_to(a, i + 1, &st);
			if ((x->flow == FLOW_JCC || x->flow == FLOW_JMP) && a->at[x->target] >= 0)
				sp_flow_to(a, (size_t)a->at[x->target], &st);
		}
		while (next_unseen < a->n && a->seen[next_unseen])
			next_unseen++;
		if (next_unseen == a->n)
			return false;
		/* instruction 0 is always seen, so next_unseen - 1 is */
		st = a->in[dispatch >= 0 ? (size_t)dispatch : next_unseen - 1];
		sp_flow_to(a, next_unseen, &st);
	}
}

int arch_analyze_func(const uint8_t *code, size_t len, uint64_t addr, struct arch_func_info *out)
{
	struct analysis a = {.code = code, .len = len};
	int err = 0;

	memset(out, 0, sizeof(*out));
	if (!len)
		return 0;
	if (len > INT32_MAX)
		return hp_err(EFBIG, "function at 0x%" PRIx64 " too large to decode (%zu bytes)",
			      addr, len);
	decoder_init(&a.dec);
	a.insns = calloc(len, sizeof(*a.insns));
	a.at = calloc(len, sizeof(*a.at));
	if (!a.insns || !a.at) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		a.at[i] = -1;
	scan_linear(&a, addr, out);

	/*
	 * A branch into the middle of a decoded instruction means the linear
	 * decode missed code. Targets past an undecodable byte are dropped.
	 */
	size_t decoded = a.n ? a.insns[a.n - 1].off + a.insns[a.n - 1].len : 0;
	for (size_t i = 0; i < a.n; i++) {
		struct insn *x = &a.insns[i];
		if (x->target < 0 || a.at[x->target] >= 0)
			continue;
		if ((size_t)x->target < decoded)
			out->undecodable = true;
		x->target = -1;
		if (x->flow == FLOW_JMP)
			x->flow = FLOW_STOP;
	}

	a.in = calloc(a.n ? a.n : 1, sizeof(*a.in));
	a.seen = calloc(a.n ? a.n : 1, sizeof(*a.seen));
	/* 16 registers can each be forgotten once per instruction, plus the first visit. */
	a.work = calloc(a.n ? a.n * 17 : 1, sizeof(*a.work));
	if (!a.in || !a.seen || !a.work) {
		err = -ENOMEM;
		goto out;
	}
	out->stack_args = scan_stack_args(&a);
out:
	if (err)
		err = hp_err(-err, "decoding function at 0x%" PRIx64 ": out of memory", addr);
	free(a.work);
	free(a.seen);
	free(a.in);
	free(a.at);
	free(a.insns);
	return err;
}

/* ---- relocation ---- */

struct emit {
	uint8_t *buf;
	size_t max;
	size_t pos;
	uint64_t at; /* address of buf[0] when it runs */
	bool full;
};

static void put(struct emit *e, const void *p, size_t n)
{
	if (e->pos + n > e->max) {
		e->full = true;
		e->pos += n; /* keep counting so lengths stay right for the next check */
		return;
	}
	memcpy(e->buf + e->pos, p, n);
	e->pos += n;
}

static void put8(struct emit *e, uint8_t b)
{
	put(e, &b, 1);
}

static void put32(struct emit *e, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	put(e, b, 4);
}

static void put64(struct emit *e, uint64_t v)
{
	put32(e, (uint32_t)v);
	put32(e, (uint32_t)(v >> 32));
}

static uint64_t here(const struct emit *e)
{
	return e->at + e->pos;
}

/* Can a rel32 field whose instruction ends at 'next' reach 'to'? */
static bool rel32_fits(uint64_t next, uint64_t to, int32_t *rel)
{
	int64_t d = (int64_t)(to - next);
	if (d < INT32_MIN || d > INT32_MAX)
		return false;
	if (rel)
		*rel = (int32_t)d;
	return true;
}

/* jmp to 'to': e9 rel32 when it reaches, else jmp *0(%rip) + imm64 (clobbers nothing). */
static void emit_jmp(struct emit *e, uint64_t to)
{
	int32_t rel;

	if (rel32_fits(here(e) + 5, to, &rel)) {
		put8(e, 0xe9);
		put32(e, (uint32_t)rel);
		return;
	}
	put(e, "\xff\x25\x00\x00\x00\x00", 6);
	put64(e, to);
}

/* Length of the jmp emit_jmp writes at address 'at'. */
static size_t jmp_len(uint64_t at, uint64_t to)
{
	return rel32_fits(at + 5, to, NULL) ? 5 : 14;
}

static void emit_call(struct emit *e, uint64_t to)
{
	int32_t rel;

	if (rel32_fits(here(e) + 5, to, &rel)) {
		put8(e, 0xe8);
		put32(e, (uint32_t)rel);
		return;
	}
	/* call *2(%rip); jmp over the literal; .quad to: returns to the jmp */
	put(e, "\xff\x15\x02\x00\x00\x00\xeb\x08", 8);
	put64(e, to);
}

/* jcc with condition code cc (0..15) to 'to'. */
static void emit_jcc(struct emit *e, unsigned cc, uint64_t to)
{
	int32_t rel;

	if (rel32_fits(here(e) + 6, to, &rel)) {
		put8(e, 0x0f);
		put8(e, (uint8_t)(0x80 | cc));
		put32(e, (uint32_t)rel);
		return;
	}
	/* inverted condition skips the 14-byte absolute jump */
	put8(e, (uint8_t)(0x70 | (cc ^ 1)));
	put8(e, 14);
	put(e, "\xff\x25\x00\x00\x00\x00", 6);
	put64(e, to);
}

static int noreloc(const ZydisDecodedInstruction *in, uint64_t addr, const char *why)
{
	return hp_err(HOTPATCH_E_NORELOC, "cannot relocate '%s' at 0x%" PRIx64 ": %s",
		      ZydisMnemonicGetString(in->mnemonic), addr, why);
}

/* Copy one instruction from 'src' to the current position of e, fixing what is relative. */
static int relocate_insn(struct emit *e, const uint8_t *bytes, uint64_t src,
			 const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	uint8_t b[ZYDIS_MAX_INSTRUCTION_LENGTH];
	uint64_t target;
	int32_t rel;

	memcpy(b, bytes, in->length);
	for (int i = 0; i < in->operand_count_visible; i++) {
		const ZydisDecodedOperand *o = &ops[i];

		if (o->type == ZYDIS_OPERAND_TYPE_MEMORY && o->mem.base == ZYDIS_REGISTER_RIP) {
			if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(in, o, src, &target)) ||
			    in->raw.disp.size != 32)
				return noreloc(in, src, "unexpected rip-relative form");
			if (!rel32_fits(here(e) + in->length, target, &rel))
				return noreloc(in, src, "rip-relative operand out of reach");
			memcpy(b + in->raw.disp.offset, &rel, 4);
			put(e, b, in->length);
			return 0;
		}
		if (o->type != ZYDIS_OPERAND_TYPE_IMMEDIATE || !o->imm.is_relative)
			continue;

		if (!ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(in, o, src, &target)))
			return noreloc(in, src, "bad branch target");
		if (in->raw.imm[0].size == 16)
			return noreloc(in, src, "16-bit branch");
		if (in->opcode_map == ZYDIS_OPCODE_MAP_DEFAULT) {
			switch (in->opcode) {
			case 0xe8:
				emit_call(e, target);
				return 0;
			case 0xe9:
			case 0xeb:
				emit_jmp(e, target);
				return 0;
			case 0x70 ... 0x7f:
				emit_jcc(e, in->opcode & 15, target);
				return 0;
			case 0xe0 ... 0xe3: {
				/* loop/jrcxz have rel8 only: branch over a short jmp to a long one
				 */
				b[in->raw.imm[0].offset] = 2;
				put(e, b, in->length);
				put8(e, 0xeb);
				put8(e, (uint8_t)jmp_len(here(e) + 1, target));
				emit_jmp(e, target);
				return 0;
			}
			default:
				break;
			}
		} else if (in->opcode_map == ZYDIS_OPCODE_MAP_0F && (in->opcode & 0xf0) == 0x80) {
			emit_jcc(e, in->opcode & 15, target);
			return 0;
		}
		/* xbegin and anything else with a rel32 field: retarget in place */
		if (in->raw.imm[0].size != 32 || !in->raw.imm[0].is_relative)
			return noreloc(in, src, "short relative operand");
		if (!rel32_fits(here(e) + in->length, target, &rel))
			return noreloc(in, src, "branch target out of reach");
		memcpy(b + in->raw.imm[0].offset, &rel, 4);
		put(e, b, in->length);
		return 0;
	}
	put(e, b, in->length);
	return 0;
}

/*
 * code holds the bytes of [func_start, func_start + code_len): the whole
 * function (to find branches into the displaced bytes) and, when the function
 * is shorter than min_len, the padding after it.
 */
int arch_build_trampoline(const uint8_t *code, size_t code_len, uint64_t from, size_t min_len,
			  uint64_t func_start, uint64_t func_end, uint64_t to, uint8_t *out,
			  size_t out_max, size_t *out_len, size_t *consumed)
{
	ZydisDecoder dec;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct emit e = {.buf = out, .max = out_max, .at = to};
	size_t start, used = 0, scan_len;
	int err;

	if (from < func_start || from - func_start >= code_len || func_end < func_start)
		return hp_err(EINVAL,
			      "trampoline: 0x%" PRIx64 " outside the function bytes at 0x%" PRIx64,
			      from, func_start);
	decoder_init(&dec);
	start = from - func_start;

	/* Which whole instructions does the jump displace? */
	while (used < min_len) {
		if (start + used >= code_len)
			return hp_err(HOTPATCH_E_NORELOC,
				      "cannot relocate 0x%" PRIx64
				      ": function bytes end before %zu bytes",
				      from, min_len);
		if (!decode(&dec, code + start + used, code_len - start - used, &in, ops))
			return hp_err(HOTPATCH_E_NORELOC,
				      "cannot relocate 0x%" PRIx64 ": undecodable instruction",
				      from + used);
		used += in.length;
	}

	/*
	 * Nothing may branch into the middle of the displaced bytes: they are
	 * overwritten by the jump. Decode the whole function linearly; skip a
	 * byte on garbage so data between code still cannot hide a branch
	 * (garbage that looks like a branch only makes us refuse more).
	 * Indirect branches (jump tables) are not seen: a switch case at the
	 * entry's first bytes does not occur in compiled code.
	 */
	scan_len = func_end - func_start < code_len ? func_end - func_start : code_len;
	for (size_t off = 0; off < scan_len;) {
		uint64_t target;
		if (!decode(&dec, code + off, scan_len - off, &in, ops)) {
			off++;
			continue;
		}
		if (direct_branch(&in, ops) &&
		    ZYAN_SUCCESS(
			ZydisCalcAbsoluteAddress(&in, &ops[0], func_start + off, &target)) &&
		    target > from && target < from + used)
			return hp_err(HOTPATCH_E_NORELOC,
				      "cannot relocate 0x%" PRIx64 ": '%s' at 0x%" PRIx64
				      " branches into the displaced bytes at 0x%" PRIx64,
				      from, ZydisMnemonicGetString(in.mnemonic), func_start + off,
				      target);
		off += in.length;
	}

	for (size_t off = 0; off < used; off += in.length) {
		decode(&dec, code + start + off, code_len - start - off, &in, ops);
		err = relocate_insn(&e, code + start + off, from + off, &in, ops);
		if (err)
			return err;
	}
	emit_jmp(&e, from + used);
	if (e.full)
		return hp_err(ENOSPC, "trampoline for 0x%" PRIx64 " needs %zu bytes, have %zu",
			      from, e.pos, out_max);
	*out_len = e.pos;
	*consumed = used;
	return 0;
}

/* ---- preserving island ---- */

/*
 * Bytes per saved vector register: the full register the OS lets this CPU
 * use (XCR0), so callers' ymm/zmm values survive. The island runs on the
 * machine that builds it. Tests may force 16, 32 or 64.
 */
int arch_x86_island_vec_bytes;

static int vec_bytes(void)
{
	unsigned a, b, c, d;
	uint32_t xcr0_lo, xcr0_hi;

	if (arch_x86_island_vec_bytes)
		return arch_x86_island_vec_bytes;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE) || !(c & bit_AVX))
		return 16;
	__asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
	if ((xcr0_lo & 0x6) != 0x6) /* SSE + AVX state enabled */
		return 16;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX512F) &&
	    (xcr0_lo & 0xe0) == 0xe0) /* opmask, ZMM_Hi256, Hi16_ZMM */
		return 64;
	return 32;
}

/* Store (store=true) or load vector register n (0..15) at [rsp + disp]. */
static void emit_vec(struct emit *e, int width, bool store, int n, uint32_t disp)
{
	uint8_t modrm = (uint8_t)(0x84 | ((n & 7) << 3)); /* mod=10 [sib+disp32] */

	switch (width) {
	case 64: /* vmovdqu64 zmm: EVEX.512.F3.0F.W1 6f/7f */
		put8(e, 0x62);
		put8(e, n >= 8 ? 0x71 : 0xf1); /* ~R ~X ~B ~R' 00 mm=01 */
		put8(e, 0xfe);		       /* W=1 ~vvvv=1111 1 pp=10 */
		put8(e, 0x48);		       /* z=0 L'L=10 b=0 ~V'=1 aaa=000 */
		put8(e, store ? 0x7f : 0x6f);
		break;
	case 32: /* vmovdqu ymm: VEX.256.F3.0F 6f/7f */
		put8(e, 0xc5);
		put8(e, n >= 8 ? 0x7e : 0xfe); /* ~R ~vvvv=1111 L=1 pp=10 */
		put8(e, store ? 0x7f : 0x6f);
		break;
	default: /* movups xmm: works on every x86-64 */
		if (n >= 8)
			put8(e, 0x44); /* REX.R */
		put8(e, 0x0f);
		put8(e, store ? 0x11 : 0x10);
		break;
	}
	put8(e, modrm);
	put8(e, 0x24); /* sib: base rsp, no index */
	put32(e, disp);
}

/* Hardware number of each caller-saved GPR in enum arch_reg order. */
static const uint8_t gpr_hw[ARCH_REG_XMM0] = {0, 1, 2, 6, 7, 8, 9, 10, 11};

static void emit_pushpop(struct emit *e, bool push, int hw)
{
	if (hw >= 8)
		put8(e, 0x41); /* REX.B */
	put8(e, (uint8_t)((push ? 0x50 : 0x58) | (hw & 7)));
}

/*
 * Entered by a jmp from the old function's entry: [rsp] is the caller's
 * return address, rsp = 8 mod 16. Pushing does not change a register, so
 * arguments (and %al, the vector count of a variadic call) reach the target
 * untouched. Layout:
 *   push gprs; sub $S,%rsp; v(movdqu) vecs -> [rsp+i*W]; call target;
 *   vecs <- [rsp+i*W]; add $S,%rsp; pop gprs; ret; [.quad target]
 * with S padding rsp to 16 at the call as the ABI requires.
 */
int arch_build_preserving_island(uint32_t keep, uint64_t at, uint64_t target, uint8_t *out,
				 size_t out_max)
{
	struct emit e = {.buf = out, .max = out_max, .at = at};
	int width = vec_bytes(), ngpr = 0, nvec = 0;
	size_t call_pos = 0;
	bool far;
	uint32_t frame;

	/*
	 * Every register asked for is kept, return registers included: the
	 * caller only asks for registers the old function never writes, and a
	 * function that never writes rax (rdx, xmm0, xmm1) returns nothing there.
	 */
	keep &= ARCH_REGS_CALLER_SAVED;
	for (int r = 0; r < ARCH_REG_XMM0; r++) {
		if (keep & BIT(r)) {
			emit_pushpop(&e, true, gpr_hw[r]);
			ngpr++;
		}
	}
	for (int r = ARCH_REG_XMM0; r < ARCH_REG_NR; r++)
		nvec += !!(keep & BIT(r));
	/* entry rsp = 8 mod 16; each push adds 8 */
	frame = (uint32_t)(nvec * width + (ngpr % 2 == 0 ? 8 : 0));
	if (frame) {
		put(&e, "\x48\x81\xec", 3); /* sub $imm32,%rsp */
		put32(&e, frame);
	}
	for (int r = ARCH_REG_XMM0, i = 0; r < ARCH_REG_NR; r++)
		if (keep & BIT(r))
			emit_vec(&e, width, true, r - ARCH_REG_XMM0, (uint32_t)(i++ * width));

	far = !rel32_fits(here(&e) + 5, target, NULL);
	if (far) {
		call_pos = e.pos;
		put(&e, "\xff\x15\x00\x00\x00\x00", 6); /* call *lit(%rip), fixed below */
	} else {
		emit_call(&e, target);
	}

	for (int r = ARCH_REG_XMM0, i = 0; r < ARCH_REG_NR; r++)
		if (keep & BIT(r))
			emit_vec(&e, width, false, r - ARCH_REG_XMM0, (uint32_t)(i++ * width));
	if (frame) {
		put(&e, "\x48\x81\xc4", 3); /* add $imm32,%rsp */
		put32(&e, frame);
	}
	for (int r = ARCH_REG_XMM0 - 1; r >= 0; r--)
		if (keep & BIT(r))
			emit_pushpop(&e, false, gpr_hw[r]);
	put8(&e, 0xc3);

	if (far) {
		while (e.pos % 8)
			put8(&e, 0xcc); /* never executed: after ret */
		uint32_t rel = (uint32_t)(e.pos - (call_pos + 6));
		if (!e.full)
			memcpy(e.buf + call_pos + 2, &rel, 4);
		put64(&e, target);
	}
	if (e.full)
		return hp_err(ENOSPC, "preserving island needs %zu bytes, have %zu", e.pos,
			      out_max);
	return (int)e.pos;
}
