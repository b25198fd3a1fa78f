/*
 * The guest's ptrace driver over the aarch64 backend (src/arch/aarch64, linked in): seize a
 * sleeping target, save every register set the backend names, make it dlopen a patch and
 * dlsym the replacements by remote calls (arch_setup_call: x0-x7, lr = 0 as the trap),
 * write the entry sequences (arch_encode_entry_jump: BTI kept, PACIASP -> BTI c) through
 * /proc/PID/mem, restore everything, detach. Also the breakpoint modes (NT_ARM_HW_BREAK,
 * BRK) and a register-set round trip.
 *
 *   inject PID PATCH.so far|island ADDR...   (ADDR:NAME pairs: entry address, replacement symbol)
 *   inject PID hwbp ADDR | brk ADDR | regs | clean   (clean: no hw breakpoint enabled in any
 *   thread, the executable's code as in its file)
 */
#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/arch.h"

#ifndef NT_ARM_HW_BREAK
#define NT_ARM_HW_BREAK 0x402
#endif
#ifndef NT_ARM_SYSTEM_CALL
#define NT_ARM_SYSTEM_CALL 0x404
#endif

/* The NT_ARM_HW_BREAK layout (asm/ptrace.h's user_hwdebug_state, which clashes with sys/user.h). */
struct user_hwdebug_state {
	uint32_t dbg_info;
	uint32_t pad;
	struct {
		uint64_t addr;
		uint32_t ctrl;
		uint32_t pad;
	} dbg_regs[16];
};

static pid_t pid;
static int memfd;

#define DIE(...) do { fprintf(stderr, "inject: " __VA_ARGS__); fprintf(stderr, "\n"); exit(1); } while (0)

static void getregs(struct user_regs_struct *r)
{
	struct iovec iov = { r, sizeof(*r) };
	if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov))
		DIE("GETREGSET NT_PRSTATUS: %s", strerror(errno));
}

static void setregs(const struct user_regs_struct *r)
{
	struct iovec iov = { (void *)r, sizeof(*r) };
	if (ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &iov))
		DIE("SETREGSET NT_PRSTATUS: %s", strerror(errno));
}

struct saved { void *buf; size_t len; bool have; };

static void save_ext(struct saved *s)
{
	int n;
	const struct arch_regset_desc *d = arch_ext_regsets(&n);
	for (int i = 0; i < n; i++) {
		s[i].buf = calloc(1, d[i].max_size);
		struct iovec iov = { s[i].buf, d[i].max_size };
		if (ptrace(PTRACE_GETREGSET, pid, d[i].type, &iov)) {
			if (!d[i].optional)
				DIE("GETREGSET %s: %s", d[i].name, strerror(errno));
			printf("regset %s: absent (%s)\n", d[i].name, strerror(errno));
			continue;
		}
		s[i].len = iov.iov_len;
		s[i].have = true;
		printf("regset %s: %zu bytes\n", d[i].name, s[i].len);
	}
}

static void restore_ext(struct saved *s)
{
	int n;
	const struct arch_regset_desc *d = arch_ext_regsets(&n);
	for (int i = 0; i < n; i++) {
		if (!s[i].have || !d[i].writable)
			continue;
		struct iovec iov = { s[i].buf, s[i].len };
		if (ptrace(PTRACE_SETREGSET, pid, d[i].type, &iov))
			DIE("SETREGSET %s: %s", d[i].name, strerror(errno));
	}
}

/* Compare the current register sets with s: every byte the kernel reports must match. */
static int compare_ext(struct saved *s)
{
	int n, bad = 0;
	const struct arch_regset_desc *d = arch_ext_regsets(&n);
	for (int i = 0; i < n; i++) {
		if (!s[i].have)
			continue;
		void *now = calloc(1, d[i].max_size);
		struct iovec iov = { now, d[i].max_size };
		if (ptrace(PTRACE_GETREGSET, pid, d[i].type, &iov) || iov.iov_len != s[i].len ||
		    memcmp(now, s[i].buf, s[i].len)) {
			printf("regset %s differs after restore\n", d[i].name);
			bad = 1;
		}
		free(now);
	}
	return bad;
}

static void wait_stop(int *sig, int *event)
{
	int st;
	if (waitpid(pid, &st, __WALL) != pid)
		DIE("waitpid: %s", strerror(errno));
	if (!WIFSTOPPED(st))
		DIE("target ended (status 0x%x)", st);
	*sig = WSTOPSIG(st);
	*event = st >> 16;
}

static void writemem(uint64_t addr, const void *p, size_t n)
{
	if (pwrite(memfd, p, n, (off_t)addr) != (ssize_t)n)
		DIE("write 0x%" PRIx64 ": %s", addr, strerror(errno));
}

static void readmem(uint64_t addr, void *p, size_t n)
{
	if (pread(memfd, p, n, (off_t)addr) != (ssize_t)n)
		DIE("read 0x%" PRIx64 ": %s", addr, strerror(errno));
}

/* Call fn(args) in the stopped target; 'data' is copied below its sp and passed as args[darg]. */
static uint64_t remote_call(const struct user_regs_struct *base, uint64_t fn, uint64_t *args, int n,
			    const void *data, size_t len, int darg)
{
	struct user_regs_struct r = *base;
	uint64_t data_addr = 0;
	int sig, ev;

	arch_setup_call(&r, fn, args, n, 0, len, &data_addr);
	if (data) {
		writemem(data_addr, data, len);
		r.regs[darg] = data_addr;
	}
	if ((r.sp & 15) || r.regs[30] != 0 || r.pc != fn)
		DIE("bad call frame: sp 0x%llx lr 0x%llx", r.sp, r.regs[30]);
	setregs(&r);
	for (;;) {
		if (ptrace(PTRACE_CONT, pid, 0, 0))
			DIE("CONT: %s", strerror(errno));
		wait_stop(&sig, &ev);
		if (sig == SIGSEGV)
			break;
		if (ev == PTRACE_EVENT_STOP)
			continue;
		DIE("unexpected signal %d during the remote call", sig);
	}
	getregs(&r);
	if (r.pc != 0)
		DIE("remote call faulted at pc 0x%llx (not our trap)", r.pc);
	return arch_call_result(&r);
}

static uint64_t lib_base(pid_t p, const char *name)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p);
	FILE *f = fopen(path, "r");
	uint64_t lo, off;
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, name) && sscanf(line, "%" SCNx64 "-%*x %*s %" SCNx64, &lo, &off) == 2 && off == 0) {
			fclose(f);
			return lo;
		}
	DIE("no %s in /proc/%d/maps", name, (int)p);
}

/* The target's address of a libc function: same libc file, our offset + its base. */
static uint64_t target_libc(const char *sym)
{
	void *a = dlsym(RTLD_DEFAULT, sym);
	if (!a)
		DIE("dlsym %s", sym);
	return (uint64_t)a - lib_base(getpid(), "libc.so.6") + lib_base(pid, "libc.so.6");
}

static void attach(void)
{
	int sig, ev;
	if (ptrace(PTRACE_SEIZE, pid, 0, 0) || ptrace(PTRACE_INTERRUPT, pid, 0, 0))
		DIE("seize %d: %s", (int)pid, strerror(errno));
	wait_stop(&sig, &ev);
	if (ev != PTRACE_EVENT_STOP)
		DIE("expected the interrupt stop, got signal %d", sig);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	memfd = open(path, O_RDWR);
	if (memfd < 0)
		DIE("%s: %s", path, strerror(errno));
}

static void report_syscall(void)
{
	int32_t nr = 0;
	struct iovec iov = { &nr, sizeof(nr) };
	if (!ptrace(PTRACE_GETREGSET, pid, NT_ARM_SYSTEM_CALL, &iov))
		printf("NT_ARM_SYSTEM_CALL at the interrupt stop: %d\n", nr);
}

static int do_inject(const char *patch, bool island, int nfn, char **fns)
{
	struct user_regs_struct saved;
	struct saved ext[16] = { 0 };

	getregs(&saved);
	report_syscall();
	printf("stopped at pc 0x%llx sp 0x%llx\n", saved.pc, saved.sp);
	save_ext(ext);
	uint64_t args[6] = { 0, RTLD_NOW };
	uint64_t h = remote_call(&saved, target_libc("dlopen"), args, 2, patch, strlen(patch) + 1, 0);
	if (!h)
		DIE("remote dlopen(%s) returned NULL", patch);
	printf("dlopen handle 0x%" PRIx64 "\n", h);
	for (int i = 0; i < nfn; i++) {
		uint64_t entry = strtoull(fns[i], NULL, 0);
		const char *name = strchr(fns[i], ':');
		if (!name)
			DIE("want ADDR:NAME, got %s", fns[i]);
		name++;
		uint64_t a2[6] = { h, 0 };
		uint64_t to = remote_call(&saved, target_libc("dlsym"), a2, 2, name, strlen(name) + 1, 1);
		if (!to)
			DIE("dlsym %s: NULL", name);

		uint8_t cur[ARCH_JUMP_MAX], seq[ARCH_JUMP_MAX + ARCH_JMP_ABS_LEN];
		readmem(entry, cur, sizeof(cur));
		size_t len;
		uint64_t dest = to;
		if (island) {
			/* An island within B reach: mmap'ed next to the code, holding the far jump. */
			uint64_t hint = (entry & ~0xfffull) - (16ull << 20) - (uint64_t)i * 4096;
			uint64_t ma[6] = { hint, 4096, PROT_READ | PROT_EXEC,
					   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0 };
			uint64_t isl = remote_call(&saved, target_libc("mmap"), ma, 6, NULL, 0, 0);
			if (isl != hint)
				DIE("island mmap at 0x%" PRIx64 ": got 0x%" PRIx64, hint, isl);
			uint8_t far[ARCH_JMP_ABS_LEN];
			arch_encode_jmp_abs(to, far);
			writemem(isl, far, sizeof(far));
			dest = isl;
			printf("island at 0x%" PRIx64 "\n", isl);
		}
		len = arch_encode_entry_jump(cur, sizeof(cur), entry, dest, seq);
		writemem(entry, seq, len);
		uint8_t back[ARCH_JUMP_MAX];
		readmem(entry, back, len);
		if (memcmp(back, seq, len))
			DIE("entry 0x%" PRIx64 " reads back different bytes", entry);
		printf("%s: 0x%" PRIx64 " -> 0x%" PRIx64 " (%zu bytes, first word %08x -> %08x)\n", name, entry,
		       to, len, *(uint32_t *)cur, *(uint32_t *)seq);
	}
	setregs(&saved);
	restore_ext(ext);
	struct user_regs_struct now;
	getregs(&now);
	if (memcmp(&now, &saved, sizeof(now))) {
		printf("general registers differ after restore\n");
		return 1;
	}
	if (compare_ext(ext))
		return 1;
	if (ptrace(PTRACE_DETACH, pid, 0, 0))
		DIE("detach: %s", strerror(errno));
	printf("INJECT OK\n");
	return 0;
}

/* Run the target until its trap at addr: a hardware breakpoint or a BRK. pc must be addr. */
static int do_bp(uint64_t addr, bool hw)
{
	struct user_regs_struct r;
	uint32_t orig = 0, brk = ARCH_BREAKPOINT_INSN_WORD;
	int sig, ev;

	if (hw) {
		struct user_hwdebug_state dbg;
		memset(&dbg, 0, sizeof(dbg));
		struct iovec iov = { &dbg, sizeof(dbg) };
		if (ptrace(PTRACE_GETREGSET, pid, NT_ARM_HW_BREAK, &iov))
			DIE("GETREGSET NT_ARM_HW_BREAK: %s", strerror(errno));
		int slots = dbg.dbg_info & 0xff;
		printf("hardware breakpoint slots: %d\n", slots);
		if (!slots)
			return 77;
		dbg.dbg_regs[0].addr = addr;
		dbg.dbg_regs[0].ctrl = arch_hwbp_exec_ctrl();
		iov.iov_len = offsetof(struct user_hwdebug_state, dbg_regs) + sizeof(dbg.dbg_regs[0]);
		if (ptrace(PTRACE_SETREGSET, pid, NT_ARM_HW_BREAK, &iov))
			DIE("SETREGSET NT_ARM_HW_BREAK: %s", strerror(errno));
	} else {
		readmem(addr, &orig, 4);
		writemem(addr, &brk, 4);
	}
	for (;;) {
		if (ptrace(PTRACE_CONT, pid, 0, 0))
			DIE("CONT");
		wait_stop(&sig, &ev);
		if (sig == SIGTRAP)
			break;
		if (ev != PTRACE_EVENT_STOP)
			DIE("unexpected signal %d", sig);
	}
	getregs(&r);
	siginfo_t si;
	ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
	printf("%s trap: pc 0x%llx (breakpoint 0x%" PRIx64 "), si_code %d\n", hw ? "hardware" : "brk", r.pc,
	       addr, si.si_code);
	if (r.pc - ARCH_BREAKPOINT_PC_ADJUST != addr)
		return 1;
	if (hw) {
		struct user_hwdebug_state dbg;
		memset(&dbg, 0, sizeof(dbg));
		struct iovec iov = { &dbg, offsetof(struct user_hwdebug_state, dbg_regs) + sizeof(dbg.dbg_regs[0]) };
		ptrace(PTRACE_SETREGSET, pid, NT_ARM_HW_BREAK, &iov);
	} else {
		writemem(addr, &orig, 4);
	}
	/* The trap is ours: the target must not see SIGTRAP. */
	if (ptrace(PTRACE_DETACH, pid, 0, 0))
		DIE("detach");
	printf("BP OK\n");
	return 0;
}

/*
 * After hotpatch is gone: every thread's NT_ARM_HW_BREAK slots read back disabled (each
 * thread seized and interrupted in turn), and the executable's code in memory is its file's
 * (no BRK or jump left behind). Prints what it read; 0 when clean.
 */
static int do_clean(void)
{
	char path[300], line[512];
	int bad = 0, nthreads = 0, slots = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	if (!(d = opendir(path)))
		DIE("%s: %s", path, strerror(errno));
	for (struct dirent *e; (e = readdir(d));) {
		pid_t tid = atoi(e->d_name);
		int st;
		if (tid <= 0)
			continue;
		if (ptrace(PTRACE_SEIZE, tid, 0, 0) || ptrace(PTRACE_INTERRUPT, tid, 0, 0) ||
		    waitpid(tid, &st, __WALL) != tid)
			DIE("seize thread %d: %s", (int)tid, strerror(errno));
		struct user_hwdebug_state dbg;
		memset(&dbg, 0, sizeof(dbg));
		struct iovec iov = { &dbg, sizeof(dbg) };
		if (ptrace(PTRACE_GETREGSET, tid, NT_ARM_HW_BREAK, &iov))
			DIE("GETREGSET NT_ARM_HW_BREAK of %d: %s", (int)tid, strerror(errno));
		slots = dbg.dbg_info & 0xff;
		for (int i = 0; i < slots && i < 16; i++)
			if (dbg.dbg_regs[i].ctrl & 1) {
				printf("thread %d: slot %d enabled: addr 0x%llx ctrl 0x%x\n", (int)tid, i,
				       (unsigned long long)dbg.dbg_regs[i].addr, dbg.dbg_regs[i].ctrl);
				bad = 1;
			}
		ptrace(PTRACE_DETACH, tid, 0, 0);
		nthreads++;
	}
	closedir(d);
	printf("hardware breakpoints: %d threads, %d slots each, %s\n", nthreads, slots,
	       bad ? "SOME ENABLED" : "none enabled");

	/* The executable's r-x mappings against its file. */
	char exe[256];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		DIE("readlink %s", path);
	exe[n] = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int mfd = open(path, O_RDONLY), ffd = open(exe, O_RDONLY);
	if (!f || mfd < 0 || ffd < 0)
		DIE("open maps/mem/%s: %s", exe, strerror(errno));
	size_t compared = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, hi, off;
		char perms[8], file[256] = "";
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %255s", &lo, &hi, perms, &off, file) < 4 ||
		    strcmp(file, exe) || perms[2] != 'x')
			continue;
		static uint8_t a[1 << 16], b[1 << 16];
		for (unsigned long long at = lo; at < hi; at += sizeof(a)) {
			size_t len = hi - at < sizeof(a) ? hi - at : sizeof(a);
			ssize_t ra = pread(mfd, a, len, (off_t)at);
			ssize_t rb = pread(ffd, b, len, (off_t)(off + (at - lo)));
			if (ra <= 0 || rb <= 0)
				break;
			size_t m = (size_t)(ra < rb ? ra : rb);
			for (size_t i = 0; i + 4 <= m; i += 4)
				if (memcmp(a + i, b + i, 4)) {
					uint32_t wa, wb;
					memcpy(&wa, a + i, 4);
					memcpy(&wb, b + i, 4);
					printf("code at 0x%llx: 0x%08x in memory, 0x%08x in %s\n", at + i, wa, wb, exe);
					bad = 1;
				}
			compared += m;
		}
	}
	fclose(f);
	printf("code of %s: %zu bytes compared, %s\n", exe, compared, bad ? "DIFFERENT" : "as in the file");
	return bad || !compared;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		DIE("usage: inject PID PATCH.so far|island ADDR:NAME... | PID hwbp|brk ADDR | PID regs");
	pid = atoi(argv[1]);
	if (!strcmp(argv[2], "clean"))
		return do_clean();
	attach();
	if (!strcmp(argv[2], "hwbp") || !strcmp(argv[2], "brk"))
		return do_bp(strtoull(argv[3], NULL, 0), argv[2][0] == 'h');
	if (!strcmp(argv[2], "regs")) {
		struct saved ext[16] = { 0 };
		save_ext(ext);
		restore_ext(ext);
		int bad = compare_ext(ext);
		ptrace(PTRACE_DETACH, pid, 0, 0);
		printf(bad ? "REGS DIFFER\n" : "REGS OK\n");
		return bad;
	}
	if (argc < 4)
		DIE("usage: inject PID PATCH.so far|island [ADDR:NAME...]");
	return do_inject(argv[2], !strcmp(argv[3], "island"), argc - 4, argv + 4);
}
