/* SPDX-License-Identifier: MIT */
/*
 * Unwinder against a real child (tests/targets/unwind_child.c) whose threads
 * sit in known call chains, built with and without frame pointers. The test
 * is the tracer: it seizes and interrupts every thread, takes the registers,
 * and checks what unwind_thread finds by symbolizing the pcs with a separate
 * Dwfl.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <elfutils/libdwfl.h>

#include "common/common.h"
#include "unwind/unwind.h"

/* Threads of the child, in the order of its "pid t1 t2 t3 t4" line. */
enum { T_MAIN, T_BLK, T_SPIN, T_NOCFI, T_DEEP, T_COUNT };

struct child {
	pid_t pid;
	pid_t tid[T_COUNT];
	bool seized[T_COUNT];
	struct user_regs_struct regs[T_COUNT];
	Dwfl *sym; /* symbolizer, independent of the unwinder's Dwfl */
};

#define MAXF 64

static void child_cleanup(struct child *c)
{
	if (c->sym != NULL)
		dwfl_end(c->sym);
	for (int i = 0; i < T_COUNT; i++)
		if (c->seized[i])
			ptrace(PTRACE_DETACH, c->tid[i], NULL, NULL);
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, __WALL);
	}
	free(c);
}

static char *target_path(const char *name)
{
	static char path[PATH_MAX + 64];
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (len <= 0)
		return NULL;
	self[len] = 0;
	/* build/tests/unit/test_unwind -> build/tests/targets/NAME */
	slash = strrchr(self, '/');
	if (slash == NULL)
		return NULL;
	*slash = 0;
	if (snprintf(path, sizeof(path), "%s/../targets/%s", self, name) >= (int)sizeof(path))
		return NULL;
	return path;
}

static const Dwfl_Callbacks sym_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
};

static int child_start(void **state, const char *name)
{
	struct child *c = calloc(1, sizeof(*c));
	char *path = target_path(name);
	char line[256] = "", fdarg[16];
	struct pollfd pfd;
	int p[2], st;
	size_t len = 0;

	if (c == NULL || path == NULL || pipe2(p, O_CLOEXEC))
		goto fail;
	if (access(path, X_OK)) {
		fprintf(stderr, "missing test target '%s'\n", path);
		goto fail;
	}
	c->pid = fork();
	if (c->pid < 0)
		goto fail;
	if (c->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = dup(p[1]); /* without O_CLOEXEC */
		snprintf(fdarg, sizeof(fdarg), "%d", fd);
		execl(path, path, fdarg, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	pfd = (struct pollfd){.fd = p[0], .events = POLLIN};
	while (!strchr(line, '\n')) {
		ssize_t r;
		if (poll(&pfd, 1, 10000) != 1)
			break;
		r = read(p[0], line + len, sizeof(line) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		line[len] = 0;
	}
	close(p[0]);
	if (sscanf(line, "%d %d %d %d %d", &c->tid[T_MAIN], &c->tid[T_BLK], &c->tid[T_SPIN],
		   &c->tid[T_NOCFI], &c->tid[T_DEEP]) != T_COUNT ||
	    c->tid[T_MAIN] != c->pid) {
		fprintf(stderr, "bad ready line from child: '%s'\n", line);
		goto fail;
	}
	for (int i = 0; i < T_COUNT; i++) {
		if (ptrace(PTRACE_SEIZE, c->tid[i], NULL, NULL)) {
			perror("PTRACE_SEIZE");
			goto fail;
		}
		c->seized[i] = true;
		if (ptrace(PTRACE_INTERRUPT, c->tid[i], NULL, NULL) ||
		    waitpid(c->tid[i], &st, __WALL) != c->tid[i] || !WIFSTOPPED(st) ||
		    ptrace(PTRACE_GETREGS, c->tid[i], NULL, &c->regs[i])) {
			fprintf(stderr, "cannot stop tid %d\n", c->tid[i]);
			goto fail;
		}
	}
	c->sym = dwfl_begin(&sym_callbacks);
	if (c->sym == NULL)
		goto fail;
	dwfl_report_begin(c->sym);
	if (dwfl_linux_proc_report(c->sym, c->pid) || dwfl_report_end(c->sym, NULL, NULL))
		goto fail;
	*state = c;
	return 0;
fail:
	if (c != NULL)
		child_cleanup(c);
	return -1;
}

static int setup_fp(void **state)
{
	return child_start(state, "unwind_child");
}

static int setup_nofp(void **state)
{
	return child_start(state, "unwind_child_nofp");
}

static int teardown(void **state)
{
	child_cleanup(*state);
	return 0;
}

/* Function containing pcs[i]: return addresses are looked up one byte back (inside the call). */
static const char *sym_name(struct child *c, const uint64_t *pcs, size_t i)
{
	Dwarf_Addr a = i ? pcs[i] - 1 : pcs[i];
	Dwfl_Module *mod = dwfl_addrmodule(c->sym, a);
	const char *name = mod ? dwfl_module_addrname(mod, a) : NULL;

	return name ? name : "??";
}

static void dump(struct child *c, const char *what, const uint64_t *pcs, size_t n, int complete)
{
	print_message("%s: %zu frames, complete %d\n", what, n, complete);
	for (size_t i = 0; i < n; i++)
		print_message("  #%zu 0x%" PRIx64 " %s\n", i, pcs[i], sym_name(c, pcs, i));
}

/*
 * expect[0] must be found among the first `within` frames and the others
 * must follow it immediately, in order. Returns the index of expect[0].
 */
static size_t expect_chain(struct child *c, const uint64_t *pcs, size_t n, size_t within,
			   const char *const *expect, size_t nexpect)
{
	size_t first = n;

	for (size_t i = 0; i < n && i < within; i++)
		if (!strcmp(sym_name(c, pcs, i), expect[0])) {
			first = i;
			break;
		}
	if (first == n)
		fail_msg("'%s' not in the first %zu frames", expect[0], within);
	assert_true(first + nexpect <= n);
	for (size_t k = 1; k < nexpect; k++)
		assert_string_equal(sym_name(c, pcs, first + k), expect[k]);
	return first;
}

static void walk(struct child *c, struct unwinder *uw, int t, const char *what, uint64_t *pcs,
		 size_t max, size_t *n, int *complete)
{
	assert_int_equal(unwind_thread(uw, c->tid[t], &c->regs[t], pcs, max, n, complete), 0);
	assert_true(*n >= 1 && *n <= max);
	assert_int_equal(pcs[0], c->regs[t].rip);
	dump(c, what, pcs, *n, *complete);
}

static void test_chains(void **state)
{
	static const char *const main_chain[] = {"chain_c", "chain_b", "chain_a", "main"};
	static const char *const blk_chain[] = {"blk_c", "blk_b", "blk_a", "blk_start"};
	static const char *const spin_chain[] = {"spin_leaf", "spin_start"};
	static const char *const deep_chain[] = {"deep_block", "deep5", "deep4",     "deep3",
						 "deep2",      "deep1", "deep_start"};
	struct child *c = *state;
	struct unwinder *uw;
	uint64_t pcs[MAXF];
	size_t n;
	int complete;

	assert_int_equal(unwind_begin(c->pid, &uw), 0);

	walk(c, uw, T_MAIN, "main", pcs, MAXF, &n, &complete);
	/* read() in libc, block_here, then chain_c */
	expect_chain(c, pcs, n, 6, main_chain, ARRAY_SIZE(main_chain));
	assert_int_equal(complete, 1);

	walk(c, uw, T_BLK, "blk", pcs, MAXF, &n, &complete);
	expect_chain(c, pcs, n, 6, blk_chain, ARRAY_SIZE(blk_chain));
	assert_int_equal(complete, 1); /* down to clone3, whose CFI ends the stack */

	walk(c, uw, T_SPIN, "spin", pcs, MAXF, &n, &complete);
	assert_int_equal(expect_chain(c, pcs, n, 1, spin_chain, ARRAY_SIZE(spin_chain)), 0);
	assert_int_equal(complete, 1);

	walk(c, uw, T_DEEP, "deep", pcs, MAXF, &n, &complete);
	expect_chain(c, pcs, n, 3, deep_chain, ARRAY_SIZE(deep_chain));
	assert_int_equal(complete, 1);

	/* Registers are the caller's: the main thread's tid with the deep thread's registers. */
	assert_int_equal(
	    unwind_thread(uw, c->tid[T_MAIN], &c->regs[T_DEEP], pcs, MAXF, &n, &complete), 0);
	expect_chain(c, pcs, n, 3, deep_chain, ARRAY_SIZE(deep_chain));
	assert_int_equal(complete, 1);

	unwind_end(uw);
}

/* A frame found by following %rbp, not by CFI, leaves the walk incomplete. */
static void test_cfi_gap(void **state)
{
	static const char *const chain[] = {"nocfi_c", "nocfi_tramp"};
	struct child *c = *state;
	struct unwinder *uw;
	uint64_t pcs[MAXF];
	size_t n;
	int complete;

	assert_int_equal(unwind_begin(c->pid, &uw), 0);
	walk(c, uw, T_NOCFI, "nocfi", pcs, MAXF, &n, &complete);
	expect_chain(c, pcs, n, 6, chain, ARRAY_SIZE(chain));
	assert_int_equal(complete, 0);
	unwind_end(uw);
}

static void test_garbage(void **state)
{
	struct child *c = *state;
	struct user_regs_struct r;
	struct unwinder *uw;
	uint64_t pcs[MAXF];
	size_t n;
	int complete;
	/* rsp/rip pairs: unmapped stack, non-canonical stack, stack pointing into code, no code */
	const struct {
		uint64_t rsp, rbp, rip;
	} cases[] = {
	    {0x10, 0x20, c->regs[T_BLK].rip},
	    {0x8000000000000000ull, 0xfffffffffffff000ull, c->regs[T_BLK].rip},
	    {c->regs[T_MAIN].rip & ~0xfffull, c->regs[T_MAIN].rip & ~0xfffull, c->regs[T_BLK].rip},
	    {c->regs[T_BLK].rsp + 24, 0x30, 0x1000},
	    {0x10, 0x10, 0},
	};

	assert_int_equal(unwind_begin(c->pid, &uw), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char what[32];

		r = c->regs[T_BLK];
		r.rsp = cases[i].rsp;
		r.rbp = cases[i].rbp;
		r.rip = cases[i].rip;
		snprintf(what, sizeof(what), "garbage %zu", i);
		assert_int_equal(unwind_thread(uw, c->tid[T_BLK], &r, pcs, MAXF, &n, &complete), 0);
		dump(c, what, pcs, n, complete);
		assert_true(n >= 1 && n <= MAXF);
		assert_int_equal(pcs[0], r.rip);
		assert_int_equal(complete, 0);
	}
	/* The unwinder is still usable afterwards. */
	walk(c, uw, T_BLK, "blk after garbage", pcs, MAXF, &n, &complete);
	assert_int_equal(complete, 1);
	unwind_end(uw);
}

static void test_max(void **state)
{
	struct child *c = *state;
	struct unwinder *uw;
	uint64_t full[MAXF], pcs[MAXF];
	size_t n, depth;
	int complete;

	assert_int_equal(unwind_begin(c->pid, &uw), 0);
	walk(c, uw, T_DEEP, "deep", full, MAXF, &depth, &complete);
	assert_int_equal(complete, 1);
	assert_true(depth >= 9);

	/* Exactly enough room: still complete. */
	assert_int_equal(
	    unwind_thread(uw, c->tid[T_DEEP], &c->regs[T_DEEP], pcs, depth, &n, &complete), 0);
	assert_int_equal(n, depth);
	assert_int_equal(complete, 1);
	assert_memory_equal(pcs, full, depth * sizeof(pcs[0]));

	/* One short: the caller must assume unknown frames. */
	pcs[depth - 1] = 0xdead;
	assert_int_equal(
	    unwind_thread(uw, c->tid[T_DEEP], &c->regs[T_DEEP], pcs, depth - 1, &n, &complete), 0);
	assert_int_equal(n, depth - 1);
	assert_int_equal(complete, 0);
	assert_memory_equal(pcs, full, (depth - 1) * sizeof(pcs[0]));
	assert_int_equal(pcs[depth - 1], 0xdead);

	assert_int_equal(unwind_thread(uw, c->tid[T_DEEP], &c->regs[T_DEEP], pcs, 1, &n, &complete),
			 0);
	assert_int_equal(n, 1);
	assert_int_equal(complete, 0);
	assert_int_equal(pcs[0], c->regs[T_DEEP].rip);

	assert_int_equal(unwind_thread(uw, c->tid[T_DEEP], &c->regs[T_DEEP], pcs, 0, &n, &complete),
			 -EINVAL);
	unwind_end(uw);
}

static void test_timing(void **state)
{
	struct child *c = *state;
	struct unwinder *uw;
	uint64_t pcs[MAXF];
	size_t n;
	int complete;
	const int iters = 2000;
	uint64_t t0, t1, t2, t3, t4;

	t0 = hp_now_ns();
	assert_int_equal(unwind_begin(c->pid, &uw), 0);
	t1 = hp_now_ns();
	assert_int_equal(
	    unwind_thread(uw, c->tid[T_DEEP], &c->regs[T_DEEP], pcs, MAXF, &n, &complete), 0);
	t2 = hp_now_ns();
	assert_int_equal(complete, 1);
	for (int i = 0; i < iters; i++) {
		assert_int_equal(
		    unwind_thread(uw, c->tid[T_DEEP], &c->regs[T_DEEP], pcs, MAXF, &n, &complete),
		    0);
		assert_int_equal(complete, 1);
	}
	t3 = hp_now_ns();
	/* Round robin over the threads, as the consistency check does. */
	for (int i = 0; i < iters; i++) {
		int t = i % T_COUNT;
		assert_int_equal(
		    unwind_thread(uw, c->tid[t], &c->regs[t], pcs, MAXF, &n, &complete), 0);
	}
	t4 = hp_now_ns();
	unwind_end(uw);
	print_message("timing: unwind_begin %.1f us, first unwind_thread %.1f us, "
		      "then %.2f us per %zu-frame unwind, %.2f us per thread round robin\n",
		      (t1 - t0) / 1e3, (t2 - t1) / 1e3, (t3 - t2) / 1e3 / iters, n,
		      (t4 - t3) / 1e3 / iters);
	/* Budget: well under 1 ms per thread while the whole target is stopped. */
	assert_true((t3 - t2) / iters < 1000000);
}

/* One test against one freshly started child; teardown kills it even after a failure. */
// clang-format off
#define CHILD_TEST(fn, variant) { #fn "_" #variant, fn, setup_##variant, teardown, NULL }
// clang-format on

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CHILD_TEST(test_chains, fp),  CHILD_TEST(test_chains, nofp),
	    CHILD_TEST(test_cfi_gap, fp), CHILD_TEST(test_cfi_gap, nofp),
	    CHILD_TEST(test_garbage, fp), CHILD_TEST(test_garbage, nofp),
	    CHILD_TEST(test_max, fp),	  CHILD_TEST(test_max, nofp),
	    CHILD_TEST(test_timing, fp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
