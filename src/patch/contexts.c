/* SPDX-License-Identifier: MIT */
/* Execution contexts that are not threads (parked coroutines, ucontexts) and references into code, found in the target's memory. */
/*
 * A coroutine that yields saves its registers into memory and leaves its
 * stack behind: no thread shows it, so the thread-based consistency check
 * cannot see that it will come back into a function's body, or return into
 * a patch's code after the patch was unloaded (QEMU's block layer and QMP
 * dispatcher park this way for their whole life).
 *
 * Two answers, for two questions:
 *  - contexts_find/contexts_check, for apply: the contexts glibc's own
 *    context savers leave (sigsetjmp's jmp_buf, getcontext/swapcontext's
 *    ucontext_t; arch.h knows their layouts) are found by pattern in the
 *    writable memory, then unwound like threads. What is found is precise;
 *    what is not found (a hand-written switcher that keeps only a stack
 *    pointer) is not seen, which the README states.
 *  - contexts_references, for revert: before code is unmapped, no word of
 *    the target's writable memory but the threads' own stacks (the
 *    consistency check covered those), no register, may point into it as a
 *    return address (it follows a call), a function pointer (an entry), or
 *    a mangled saved pc. That needs no knowledge of how contexts are saved:
 *    whatever will return into the code keeps the address somewhere. A stale
 *    word only costs keeping the code mapped (reclaimed later); memory that
 *    could not be read makes the answer "unproven", never "free".
 *
 * Both read only backed pages (proc_pages_backed), smallest mappings first
 * (stacks and heaps before a VM's guest RAM), within a byte budget.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "patch/patch.h"
#include "arch/arch.h"
#include "unwind/unwind.h"

#define CHUNK (256u << 10)

/* arch_demangle, inline: the scans call it for every word of memory. */
static inline uint64_t demangle(uint64_t v, unsigned rot, uint64_t guard)
{
	return (rot ? (v >> rot) | (v << (64 - rot)) : v) ^ guard;
}

/* A read whose failure is an answer (unmapped meanwhile, not a context): records nothing. */
static bool peek(struct proc *p, uint64_t addr, void *buf, size_t len)
{
	hp_err_quiet_begin();
	int err = proc_read(p, addr, buf, len);
	hp_err_quiet_end();
	return err == 0;
}

/* The mappings worth reading: private or anonymous writable memory, no device or shared file. */
static bool scannable(const struct map *m)
{
	if ((m->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
		return false;
	if (!strcmp(m->path, "[vvar]") || !strcmp(m->path, "[vsyscall]") ||
	    !strncmp(m->path, "/dev/", 5) || !strncmp(m->path, "anon_inode:", 11))
		return false;
	/* Shared file or memfd memory: a VM's guest RAM, a database's buffers; no stack lives there. */
	if (m->shared && m->path[0] && m->path[0] != '[')
		return false;
	return true;
}

/* A stack: [stack], or anonymous memory right above a PROT_NONE guard (pthread, QEMU coroutines). */
static bool stacklike(const struct proc *p, size_t i)
{
	const struct map *m = &p->maps[i];
	if (!strcmp(m->path, "[stack]"))
		return true;
	return !m->path[0] && i > 0 && p->maps[i - 1].end == m->start && !p->maps[i - 1].prot;
}

/* The lowest stack pointer of a stopped thread inside m, or 0. */
static uint64_t thread_sp_in(const struct proc *p, const struct map *m)
{
	uint64_t low = 0;
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct thread *t = p->threads[i];
		uint64_t sp = arch_sp(&t->regs);
		if (t->gone || !sp || sp < m->start || sp >= m->end)
			continue;
		if (!low || sp < low)
			low = sp;
	}
	return low;
}

struct span {
	uint64_t start, end;
};

static int cmp_span_size(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	uint64_t lx = x->end - x->start, ly = y->end - y->start;
	return (lx > ly) - (lx < ly);
}

typedef void (*visit_fn)(void *arg, uint64_t addr, const uint64_t *w, size_t n);

/* Where pagemap must be read page by page (no PAGEMAP_SCAN), a mapping this large is not. */
#define HUGE_SPAN (64ull << 30)

struct reader {
	struct proc *p;
	uint64_t budget;
	visit_fn visit;
	void *arg;
	uint64_t *scanned;
	bool *partial;
	uint64_t *buf;		/* CHUNK bytes */
	bool stop;		/* the budget is spent, or hotpatch was interrupted */
};

static bool rd_stop(struct reader *rd)
{
	if (!rd->stop && hp_interrupt_pending()) {
		*rd->partial = true;
		rd->stop = true;
	}
	return rd->stop;
}

/* Read [start, end), backed pages, CHUNK at a time, and visit them, within the budget. */
static void read_run(struct reader *rd, uint64_t start, uint64_t end)
{
	for (uint64_t a = start; a < end && !rd_stop(rd); a += CHUNK) {
		uint64_t len = end - a < CHUNK ? end - a : CHUNK;
		if (*rd->scanned + len > rd->budget) {
			*rd->partial = true;
			rd->stop = true;
			return;
		}
		/* A page unmapped or unreadable meanwhile: the answer cannot be complete. */
		if (!peek(rd->p, a, rd->buf, len)) {
			*rd->partial = true;
			continue;
		}
		*rd->scanned += len;
		rd->visit(rd->arg, a, rd->buf, len / 8);
	}
}

/*
 * Call visit for every backed run of the scannable memory, smallest mapping
 * first, until budget bytes were read. *partial: something was left unread.
 * A thread's stack is read from its stack pointer (less the red zone) up:
 * below it nothing is alive. With skip_thread_stacks, not at all: the
 * consistency check has unwound every thread (or read every word of its
 * stack when the unwind was incomplete), and the live part of a thread's
 * stack is full of stale words (slots no frame has written since), which
 * would keep code loaded for nothing.
 */
static int scan_memory(struct proc *p, const char *skip_path, bool skip_thread_stacks,
		       uint64_t budget, visit_fn visit, void *arg, uint64_t *scanned, bool *partial)
{
	int err = proc_maps_refresh(p);
	if (err)
		return err;
	struct span *v = calloc(p->nmaps + 1, sizeof(*v));
	uint64_t *buf = malloc(CHUNK);
	uint8_t *backed = malloc(CHUNK / 4096);
	size_t n = 0;
	if (!v || !buf || !backed) {
		free(v);
		free(buf);
		free(backed);
		return -ENOMEM;
	}
	for (size_t i = 0; i < p->nmaps; i++) {
		const struct map *m = &p->maps[i];
		if (!scannable(m) || (skip_path && !strcmp(m->path, skip_path)))
			continue;
		uint64_t start = m->start, sp = stacklike(p, i) ? thread_sp_in(p, m) : 0;
		if (sp && skip_thread_stacks)
			continue;
		if (sp)
			start = (sp - ARCH_RED_ZONE) & ~4095ull;
		if (start < m->start)
			start = m->start;
		v[n++] = (struct span){ start, m->end };
	}
	qsort(v, n, sizeof(*v), cmp_span_size);
	struct reader rd = { p, budget, visit, arg, scanned, partial, buf };
	for (size_t i = 0; i < n && !rd_stop(&rd); i++) {
		uint64_t runs[64][2], at = v[i].start, next;
		int nr = proc_backed_runs(p, at, v[i].end, runs, 64, &next);
		if (nr != -EOPNOTSUPP) {
			/* The kernel lists the backed runs: sparse mappings of any size cost nothing. */
			while (!rd_stop(&rd)) {
				if (nr < 0) {
					*partial = true;	/* cannot tell what is backed */
					break;
				}
				for (int k = 0; k < nr && !rd_stop(&rd); k++)
					read_run(&rd, runs[k][0], runs[k][1]);
				if (next >= v[i].end || next <= at)
					break;
				at = next;
				nr = proc_backed_runs(p, at, v[i].end, runs, 64, &next);
			}
			continue;
		}
		/*
		 * A word of pagemap per page: a mapping of terabytes (a sanitizer's shadow, a
		 * reserve) would take hours. Left unread: the answer is not a proof.
		 */
		if (v[i].end - v[i].start > HUGE_SPAN) {
			*partial = true;
			hp_debug("pid %d: %llu GiB at 0x%llx not scanned (no PAGEMAP_SCAN: pages one by one)",
				 p->pid, (unsigned long long)((v[i].end - v[i].start) >> 30),
				 (unsigned long long)v[i].start);
			continue;
		}
		for (uint64_t a = v[i].start; a < v[i].end && !rd_stop(&rd); a += CHUNK) {
			uint64_t len = v[i].end - a < CHUNK ? v[i].end - a : CHUNK;
			size_t np = len / 4096;
			if (proc_pages_backed(p, a, np, backed))
				memset(backed, 1, np);
			for (size_t k = 0; k < np && !rd_stop(&rd);) {
				if (!backed[k]) {
					k++;
					continue;
				}
				size_t e = k;
				while (e < np && backed[e])
					e++;
				read_run(&rd, a + k * 4096, a + e * 4096);
				k = e;
			}
		}
	}
	free(v);
	free(buf);
	free(backed);
	return 0;
}

/* ---- parked contexts ---- */

/*
 * libc's pointer guard: in the thread block (x86_64), or a global of the dynamic linker
 * (aarch64), read where the symbol says. Unknown: jmp_bufs are not searched.
 */
static bool guard_of(struct proc *p, struct objects *objs, uint64_t *guard)
{
	const char *sym = arch_pointer_guard_symbol();
	if (sym) {
		const struct object *ld = NULL;
		for (size_t i = 0; objs && i < objs->n && !ld; i++)
			if (objs->v[i].is_ld)
				ld = &objs->v[i];
		struct resolved r;
		hp_err_quiet_begin();
		bool ok = ld && !resolve_symbol(p, objs, ld->path, NULL, sym, ELF_SYM_OBJECT, &r) &&
			  peek(p, r.addr, guard, sizeof(*guard));
		hp_err_quiet_end();
		return ok;
	}
	bool attached = false;
	for (size_t i = 0; i < p->nthreads; i++) {
		const struct thread *t = p->threads[i];
		/* Registers read at an earlier stop (since released) still give its thread pointer. */
		uint64_t tls = t->gone ? 0 : arch_tls_base(&t->regs);
		attached |= t->attached && !t->gone;
		if (tls && peek(p, arch_pointer_guard_addr(tls), guard, sizeof(*guard)))
			return true;
	}
	if (attached)
		return false;
	/*
	 * No thread stopped yet (revert looks for contexts before its pause; apply has stopped the
	 * thread that ran dlopen by then): the main thread is
	 * stopped for the moment it takes to read its thread pointer, or jmp_bufs would go unseen
	 * and the proof would run outside the pause.
	 */
	struct thread *t;
	bool ok = false;
	hp_err_quiet_begin();
	if (!proc_hold_one(p, p->pid, &t)) {
		uint64_t tls = thread_get_regs(p, t) ? 0 : arch_tls_base(&t->regs);
		ok = tls && peek(p, arch_pointer_guard_addr(tls), guard, sizeof(*guard));
		proc_release_all(p, NULL);
	}
	hp_err_quiet_end();
	return ok;
}

static bool in_exec(const struct proc *p, uint64_t a)
{
	const struct map *m = proc_map_find(p, a);
	return m && (m->prot & PROT_EXEC);
}

static bool resumes_after_call(struct proc *p, uint64_t pc)
{
	uint8_t code[15];
	if (pc < sizeof(code) || !peek(p, pc - sizeof(code), code, sizeof(code)))
		return false;
	return arch_follows_call(code, sizeof(code));
}

/* Where a saved context really resumes, past a resume stub of libc's (arch_context_resume). */
static void resume_point(struct proc *p, struct user_regs_struct *r)
{
	uint8_t code[16];
	if (peek(p, arch_pc(r), code, sizeof(code)))
		arch_context_resume(code, sizeof(code), r);
}

/* A saved context is believed when it resumes after a call, on a writable stack no thread is on. */
static bool plausible(struct proc *p, const struct user_regs_struct *r)
{
	uint64_t pc = arch_pc(r), sp = arch_sp(r);
	if (sp & 7 || !in_exec(p, pc))
		return false;
	const struct map *m = proc_map_find(p, sp);
	if (!m || (m->prot & (PROT_READ | PROT_WRITE)) != (PROT_READ | PROT_WRITE))
		return false;
	/* A thread running on that stack: its own unwind covers it, the saved copy is stale. */
	if (thread_sp_in(p, m))
		return false;
	return resumes_after_call(p, pc);
}

/* Re-read a context where it was found; false when it is no longer there. */
static bool context_read(struct proc *p, uint64_t guard, uint64_t at, bool uc,
			 struct user_regs_struct *r)
{
	if (uc) {
		uint64_t w[ARCH_UCONTEXT_WORDS];
		if (!peek(p, at, w, sizeof(w)) || !arch_ucontext_valid(w, at))
			return false;
		arch_ucontext_regs(w, r);
		resume_point(p, r);
	} else {
		uint64_t w[ARCH_JMPBUF_WORDS];
		if (!peek(p, at, w, sizeof(w)))
			return false;
		arch_jmpbuf_regs(w, guard, r);
	}
	return plausible(p, r);
}

struct find {
	struct proc *p;
	struct pctxset *cs;
	uint64_t lo, hi;	/* bounds of the executable mappings */
};

/* A candidate at 'at': its words from the chunk when they are in it (w), else read. */
static void add_context(struct find *f, uint64_t at, bool uc, const uint64_t *w)
{
	struct pctxset *cs = f->cs;
	struct user_regs_struct r;
	if (w) {
		if (uc && !arch_ucontext_valid(w, at))
			return;
		if (uc) {
			arch_ucontext_regs(w, &r);
			resume_point(f->p, &r);
		} else {
			arch_jmpbuf_regs(w, cs->guard, &r);
		}
		if (!plausible(f->p, &r))
			return;
	} else if (!context_read(f->p, cs->guard, at, uc, &r)) {
		return;
	}
	for (size_t i = 0; i < cs->n; i++)	/* the same context copied elsewhere */
		if (arch_pc(&cs->v[i].regs) == arch_pc(&r) && arch_sp(&cs->v[i].regs) == arch_sp(&r))
			return;
	if (cs->n == cs->cap) {
		size_t cap = cs->cap ? 2 * cs->cap : 16;
		struct pctx *v = realloc(cs->v, cap * sizeof(*v));
		if (!v)
			return;
		cs->v = v;
		cs->cap = cap;
	}
	cs->v[cs->n++] = (struct pctx){ .at = at, .uc = uc, .regs = r };
}

/* Word i of a chunk of n is word k of a structure of len words: is all of it in the chunk? */
static inline bool in_chunk(size_t i, size_t k, size_t len, size_t n)
{
	return i >= k && i - k + len <= n;
}

static void find_visit(void *arg, uint64_t addr, const uint64_t *w, size_t n)
{
	struct find *f = arg;
	uint64_t guard = f->cs->guard, span = f->hi - f->lo;
	unsigned rot = arch_mangle_rotation();
	bool mangled = f->cs->guard_known;
	const size_t ucw = ARCH_UCONTEXT_MARK_OFF / 8, jbw = ARCH_JMPBUF_PC_WORD;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = addr + i * 8;
		/* ucontext_t: its mark (arch.h), at a fixed offset. */
		if (w[i] == ARCH_UCONTEXT_MARK(a - ARCH_UCONTEXT_MARK_OFF) && a >= ARCH_UCONTEXT_MARK_OFF)
			add_context(f, a - ARCH_UCONTEXT_MARK_OFF, true,
				    in_chunk(i, ucw, ARCH_UCONTEXT_WORDS, n) ? w + i - ucw : NULL);
		/* jmp_buf: its mangled pc; most words demangle far from any code. */
		if (mangled) {
			uint64_t pc = demangle(w[i], rot, guard);
			if (pc - f->lo < span && in_exec(f->p, pc) && a >= 8 * jbw)
				add_context(f, a - 8 * jbw, false,
					    in_chunk(i, jbw, ARCH_JMPBUF_WORDS, n) ? w + i - jbw : NULL);
		}
	}
}

int contexts_find(struct proc *p, struct objects *objs, struct pctxset *cs)
{
	struct find f = { .p = p, .cs = cs };
	int err = proc_maps_refresh(p);
	if (err)
		return err;
	cs->guard_known = guard_of(p, objs, &cs->guard);
	f.lo = UINT64_MAX;
	for (size_t i = 0; i < p->nmaps; i++) {
		if (!(p->maps[i].prot & PROT_EXEC))
			continue;
		if (p->maps[i].start < f.lo)
			f.lo = p->maps[i].start;
		if (p->maps[i].end > f.hi)
			f.hi = p->maps[i].end;
	}
	err = scan_memory(p, NULL, false, CONTEXT_SCAN_BUDGET, find_visit, &f, &cs->scanned,
			  &cs->partial);
	for (size_t i = 0; i < cs->n; i++)
		hp_debug("pid %d: parked %s at 0x%llx: pc 0x%llx sp 0x%llx", p->pid,
			 cs->v[i].uc ? "ucontext" : "jmp_buf", (unsigned long long)cs->v[i].at,
			 (unsigned long long)arch_pc(&cs->v[i].regs),
			 (unsigned long long)arch_sp(&cs->v[i].regs));
	hp_debug("pid %d: %zu parked contexts found in %llu KiB%s%s", p->pid, cs->n,
		 (unsigned long long)(cs->scanned >> 10), cs->partial ? " (not all memory read)" : "",
		 cs->guard_known ? "" : " (no pointer guard: jmp_bufs not searched)");
	return err;
}

void contexts_release(struct pctxset *cs)
{
	free(cs->v);
	memset(cs, 0, sizeof(*cs));
}

static const struct range *range_of(const struct range *r, size_t n, uint64_t a)
{
	for (size_t i = 0; i < n; i++)
		if (a >= r[i].start && a < r[i].end)
			return &r[i];
	return NULL;
}

int contexts_check(struct proc *p, struct objects *objs, const struct pctxset *cs,
		   const struct range *inside, size_t ninside, const struct range *win, size_t nwin)
{
	struct unwinder *uw;
	uint64_t pcs[128];
	size_t n;
	int complete, err;

	if (!cs->n)
		return 0;
	err = objects_unwinder(objs, &uw);
	if (err)
		return err;
	for (size_t c = 0; c < cs->n; c++) {
		struct user_regs_struct r;
		/* It may have run since it was found: only its current saved state counts. */
		if (!context_read(p, cs->guard, cs->v[c].at, cs->v[c].uc, &r))
			continue;
		/* The unwinder takes any id; the pid is never a thread of ours while we walk a context. */
		unwind_set_code_mask(uw, proc_code_mask(p));
		err = unwind_thread(uw, p->pid, &r, pcs, 128, &n, &complete);
		if (err)
			return err;
		for (size_t f = 0; f < n; f++) {
			/* Frame 0 resumes at its pc; the others return to theirs. */
			uint64_t a = pcs[f];
			const struct range *hit = range_of(win, nwin, a);
			if (hit)
				return hp_err(HOTPATCH_E_BUSY,
					      "pid %d: a parked %s (saved at 0x%llx, stack 0x%llx) would resume inside the jump written over '%s'",
					      p->pid, cs->v[c].uc ? "ucontext" : "coroutine",
					      (unsigned long long)cs->v[c].at,
					      (unsigned long long)arch_sp(&r), hit->what);
			hit = range_of(inside, ninside, f ? a - 1 : a);
			if (hit)
				return hp_err(HOTPATCH_E_BUSY,
					      "pid %d: a parked %s (saved at 0x%llx, stack 0x%llx) is inside '%s' (frame #%zu): it leaves only when the program resumes it, and would finish the old code",
					      p->pid, cs->v[c].uc ? "ucontext" : "coroutine",
					      (unsigned long long)cs->v[c].at,
					      (unsigned long long)arch_sp(&r), hit->what, f);
		}
	}
	return 0;
}

/* ---- references into code about to be unmapped ---- */

#define MAX_HITS 256

struct refs {
	struct proc *p;
	const struct range *r;
	size_t nr;
	uint64_t lo, hi;
	uint64_t guard;
	bool guard_known;
	uint64_t code_mask;	/* proc_code_mask: a pac-ret return address is signed */
	struct ref hits[MAX_HITS];
	size_t nhits;
	bool overflow;
	/* Dead parts of makecontext stacks: [base, parked sp - red zone) of each parked ucontext. */
	struct span dead[64];
	size_t ndead;
};

/* A word pointing into the code: a return address, an entry, or (mangled) a saved pc. */
static bool is_reference(struct refs *x, uint64_t v)
{
	if (v < x->lo || v >= x->hi || !range_of(x->r, x->nr, v))
		return false;
	uint8_t code[15];
	/* A function entry: 16-byte aligned as GCC places them, or an endbr64 landing pad. */
	if (!(v & 15))
		return true;
	if (peek(x->p, v, code, 4) && arch_is_endbr(code, 4))
		return true;
	return resumes_after_call(x->p, v);
}

/*
 * A parked ucontext whose stack is known (uc_stack holds its sp): below
 * its sp nothing on that stack is alive, so stale return addresses there
 * (the patch's, from calls that have returned) do not keep the code.
 * swapcontext is a switch and nothing else, so its sp is where the parked
 * context's live frames begin. (A jmp_buf may be a live setjmp of an outer
 * frame rather than the switch: no such bound is taken from one.)
 */
static void note_ucontext(struct refs *x, uint64_t at, const uint64_t *w)
{
	uint64_t buf[ARCH_UCONTEXT_WORDS], base, size;
	struct user_regs_struct r;
	if (!w) {
		if (!peek(x->p, at, buf, sizeof(buf)))
			return;
		w = buf;
	}
	if (!arch_ucontext_valid(w, at) || x->ndead == ARRAY_SIZE(x->dead))
		return;
	arch_ucontext_regs(w, &r);
	resume_point(x->p, &r);
	uint64_t sp = arch_sp(&r);
	if (!arch_ucontext_stack(w, &base, &size) || sp < base || sp > base + size ||
	    !plausible(x->p, &r))
		return;
	/*
	 * No red zone: the context was saved by a call (swapcontext), whose
	 * caller keeps nothing below its sp across it.
	 */
	x->dead[x->ndead++] = (struct span){ base, sp };
}

/*
 * The inner loop of the proof, run inside the pause over every word: three
 * compares and a rotate for a word that is nothing (about 0.3 ms per MiB
 * here, most of it the copy); the rest only for the rare candidate.
 */
static void refs_visit(void *arg, uint64_t addr, const uint64_t *w, size_t n)
{
	struct refs *x = arg;
	const size_t ucw = ARCH_UCONTEXT_MARK_OFF / 8;
	const uint64_t lo = x->lo, span = x->hi - x->lo, guard = x->guard;
	const unsigned rot = arch_mangle_rotation();
	const bool guard_known = x->guard_known;
	const uint64_t cmask = x->code_mask;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = addr + i * 8, v = proc_code_addr(cmask, w[i]);
		bool mangled = false;
		if (__builtin_expect(w[i] == ARCH_UCONTEXT_MARK(a - ARCH_UCONTEXT_MARK_OFF), 0) &&
		    a >= ARCH_UCONTEXT_MARK_OFF)
			note_ucontext(x, a - ARCH_UCONTEXT_MARK_OFF,
				      in_chunk(i, ucw, ARCH_UCONTEXT_WORDS, n) ? w + i - ucw : NULL);
		if (__builtin_expect(v - lo < span, 0) && is_reference(x, v)) {
			/* a plain reference */
		} else {
			if (!guard_known)
				continue;
			v = demangle(w[i], rot, guard);
			if (__builtin_expect(v - lo >= span, 1) || !range_of(x->r, x->nr, v))
				continue;
			mangled = true;
		}
		if (x->nhits == MAX_HITS) {
			x->overflow = true;
			continue;
		}
		struct ref *h = &x->hits[x->nhits++];
		h->at = a;
		h->value = v;
		h->mangled = mangled;
		const struct map *m = proc_map_find(x->p, a);
		snprintf(h->where, sizeof(h->where), "%.95s",
			 m && m->path[0] ? m->path : "anonymous memory");
	}
}

static bool dead_word(const struct refs *x, uint64_t a)
{
	for (size_t i = 0; i < x->ndead; i++)
		if (a >= x->dead[i].start && a < x->dead[i].end)
			return true;
	return false;
}

int contexts_references(struct proc *p, struct objects *objs, const char *own_path, const struct range *r, size_t nr,
			uint64_t budget, struct ref *hit, bool *unproven)
{
	struct refs *x = calloc(1, sizeof(*x));
	uint64_t scanned = 0, t0 = hp_now_ns();
	int found = 0;

	*unproven = false;
	memset(hit, 0, sizeof(*hit));
	if (!nr) {
		free(x);
		return 0;
	}
	if (!x)
		return -ENOMEM;
	x->p = p;
	x->r = r;
	x->nr = nr;
	x->lo = UINT64_MAX;
	for (size_t i = 0; i < nr; i++) {
		if (r[i].start < x->lo)
			x->lo = r[i].start;
		if (r[i].end > x->hi)
			x->hi = r[i].end;
	}
	x->guard_known = guard_of(p, objs, &x->guard);
	x->code_mask = proc_code_mask(p);
	/* Registers first: a function pointer about to be called, a pc, a signed link register. */
	for (size_t i = 0; i < p->nthreads && !found; i++) {
		const struct thread *t = p->threads[i];
		if (t->gone || !t->regs_valid)
			continue;
		const uint64_t *g = (const uint64_t *)&t->regs;
		for (size_t k = 0; k < sizeof(t->regs) / 8 && !found; k++) {
			uint64_t v = proc_code_addr(x->code_mask, g[k]);
			if (!is_reference(x, v))
				continue;
			found = 1;
			hit->value = v;
			snprintf(hit->where, sizeof(hit->where), "a register of thread %d", t->tid);
		}
	}
	if (!found) {
		int err = scan_memory(p, own_path, true, budget, refs_visit, x,
				      &scanned, unproven);
		if (err) {
			free(x);
			return err;
		}
		size_t live = 0;
		for (size_t i = 0; i < x->nhits; i++) {
			if (dead_word(x, x->hits[i].at))
				continue;
			if (!live++)
				*hit = x->hits[i];
			if (live <= 8)
				hp_debug("pid %d: reference 0x%llx%s at 0x%llx (%s)", p->pid,
					 (unsigned long long)x->hits[i].value,
					 x->hits[i].mangled ? " (mangled)" : "",
					 (unsigned long long)x->hits[i].at, x->hits[i].where);
		}
		found = live > 0 || x->overflow;
		if (x->overflow && !live)
			*hit = x->hits[0];
		hp_debug("pid %d: references into %zu ranges: %zu live, %zu below a parked stack pointer%s, after %llu KiB in %llu us%s",
			 p->pid, nr, live, x->nhits - live, x->overflow ? " (and more)" : "",
			 (unsigned long long)(scanned >> 10),
			 (unsigned long long)((hp_now_ns() - t0) / 1000),
			 *unproven ? " (not all memory read)" : "");
	}
	free(x);
	return found;
}
