/* SPDX-License-Identifier: MIT */
/*
 * Stack walking of threads the caller has already stopped, with libdwfl.
 *
 * One Dwfl per unwinder: modules are reported once from /proc/PID/maps and
 * libdwfl keeps every opened ELF, its .eh_frame and the address-to-module
 * table for the life of the unwinder, so only the first walk pays for them
 * (and unwind_begin warms them up front). The thread callbacks are ours:
 * registers come from the caller, memory from one /proc/PID/mem descriptor,
 * and this layer never calls ptrace (the caller is the tracer).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>

#include "common/common.h"
#include "unwind/unwind.h"

#include "arch/arch.h"

/*
 * Stack reads come in runs of neighbouring words; one pread of an aligned
 * block serves a whole frame or several. A block never crosses a page, so it
 * is readable exactly when the word is.
 */
#define UW_BLOCK 512

struct unwinder {
	pid_t pid;
	int mem_fd;
	Dwfl *dwfl;
	/* The one thread unwind_thread is walking: get_thread serves only it. */
	pid_t tid;
	const struct user_regs_struct *regs;
	uint64_t code_mask;	/* unwind_set_code_mask */
	bool block_valid;
	uint64_t block_addr;
	uint8_t block[UW_BLOCK] __attribute__((aligned(8)));
};

/*
 * No separate debuginfo: on x86_64 every loaded object carries .eh_frame, and
 * a .debug_frame inside the main file is still found without this callback.
 * dwfl_standard_find_debuginfo would also ask debuginfod servers (Debian sets
 * DEBUGINFOD_URLS system-wide): a network round trip while every thread of a
 * production process is stopped. A frame left without CFI makes the walk
 * incomplete, which is the safe answer.
 */
static int uw_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
			     Dwarf_Addr base, const char *file_name, const char *debuglink_file,
			     GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	(void)mod, (void)userdata, (void)modname, (void)base, (void)file_name;
	(void)debuglink_file, (void)debuglink_crc, (void)debuginfo_file_name;
	return -1;
}

static const Dwfl_Callbacks uw_proc_callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = uw_find_debuginfo,
};

static pid_t uw_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct unwinder *uw = arg;

	(void)dwfl;
	/* Only emulates get_thread if libdwfl ever enumerates: one thread, once. */
	if (*thread_argp != NULL || uw->regs == NULL)
		return 0;
	*thread_argp = uw;
	return uw->tid;
}

static bool uw_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct unwinder *uw = arg;

	(void)dwfl;
	if (uw->regs == NULL || tid != uw->tid)
		return false;
	*thread_argp = uw;
	return true;
}

static bool uw_read_word(struct unwinder *uw, uint64_t addr, uint64_t *val)
{
	uint64_t base = addr & ~(uint64_t)(UW_BLOCK - 1);

	if (addr - base > UW_BLOCK - sizeof(*val))
		return pread(uw->mem_fd, val, sizeof(*val), (off_t)addr) == sizeof(*val);
	if (!uw->block_valid || uw->block_addr != base) {
		uw->block_valid = false;
		if (pread(uw->mem_fd, uw->block, UW_BLOCK, (off_t)base) != UW_BLOCK)
			return false;
		uw->block_addr = base;
		uw->block_valid = true;
	}
	memcpy(val, uw->block + (addr - base), sizeof(*val));
	return true;
}

static bool uw_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	uint64_t val;

	(void)dwfl;
	/* Addresses with the top bit set are not user space: pread's offset is signed. */
	if (addr > INT64_MAX - UW_BLOCK || !uw_read_word(arg, addr, &val))
		return false;
	/*
	 * libdwfl 0.188 takes a pac-ret return address as it was saved, signed (it skips
	 * DW_CFA_AARCH64_negate_ra_state), finds no module at it and ends the walk: every saved
	 * word is stripped. The mask covers only bits no user address has (aarch64: 54 down to
	 * the VA size; MTE tags are above), so a stack or data pointer read here is unchanged.
	 */
	*result = val & ~((struct unwinder *)arg)->code_mask;
	return true;
}

static bool uw_set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct user_regs_struct *r = ((struct unwinder *)thread_arg)->regs;
	uint64_t regs[ARCH_DWARF_NREGS];
	Dwarf_Word dw[ARCH_DWARF_NREGS];
	int n = arch_dwarf_regs(r, regs);

	for (int i = 0; i < n; i++)
		dw[i] = regs[i];
	/* A leaf that signed its return address and keeps it in the link register. */
	int ra = arch_dwarf_ra_reg();
	if (ra >= 0 && ra < n)
		dw[ra] &= ~((struct unwinder *)thread_arg)->code_mask;
	if (!dwfl_thread_state_registers(thread, 0, (unsigned)n, dw))
		return false;
	dwfl_thread_state_register_pc(thread, arch_pc(r));
	return true;
}

static const Dwfl_Thread_Callbacks uw_thread_callbacks = {
    .next_thread = uw_next_thread,
    .get_thread = uw_get_thread,
    .memory_read = uw_memory_read,
    .set_initial_registers = uw_set_initial_registers,
};

static int uw_warm_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start,
			  void *arg)
{
	Dwarf_Addr bias;

	(void)userdata, (void)name, (void)start, (void)arg;
	/* Opens the file and indexes .eh_frame_hdr; a module without CFI is fine here. */
	dwfl_module_eh_cfi(mod, &bias);
	return DWARF_CB_OK;
}

int unwind_begin(pid_t pid, struct unwinder **out)
{
	struct unwinder *uw;
	char path[64];
	int err;

	*out = NULL;
	uw = calloc(1, sizeof(*uw));
	if (uw == NULL)
		return hp_err(ENOMEM, "pid %d: out of memory for unwinder", pid);
	uw->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	uw->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (uw->mem_fd < 0) {
		err = hp_err(errno, "pid %d: cannot open '%s': %s", pid, path, strerror(errno));
		free(uw);
		return err;
	}
	uw->dwfl = dwfl_begin(&uw_proc_callbacks);
	if (uw->dwfl == NULL) {
		err = hp_err(ENOMEM, "pid %d: dwfl_begin: %s", pid, dwfl_errmsg(-1));
		goto fail;
	}
	dwfl_report_begin(uw->dwfl);
	err = dwfl_linux_proc_report(uw->dwfl, pid);
	if (err != 0) {
		/* > 0 is an errno (maps unreadable), < 0 a libdwfl error */
		if (err > 0)
			err = hp_err(err, "pid %d: cannot read '/proc/%d/maps': %s", pid, pid,
				     strerror(err));
		else
			err =
			    hp_err(EIO, "pid %d: cannot report modules: %s", pid, dwfl_errmsg(-1));
		goto fail;
	}
	if (dwfl_report_end(uw->dwfl, NULL, NULL) != 0) {
		err = hp_err(EIO, "pid %d: cannot report modules: %s", pid, dwfl_errmsg(-1));
		goto fail;
	}
	/* NULL Elf: libdwfl takes the architecture from the first module it can open. */
	if (!dwfl_attach_state(uw->dwfl, NULL, pid, &uw_thread_callbacks, uw)) {
		err = hp_err(EIO, "pid %d: cannot attach unwinder: %s", pid, dwfl_errmsg(-1));
		goto fail;
	}
	/* Pay for opening files now rather than in the first walk. */
	dwfl_getmodules(uw->dwfl, uw_warm_module, NULL, 0);
	*out = uw;
	return 0;
fail:
	unwind_end(uw);
	return err;
}

int unwind_refresh(struct unwinder *uw)
{
	int err;

	/* _add: modules reported again at the same place are kept with their open ELF and CFI. */
	dwfl_report_begin_add(uw->dwfl);
	err = dwfl_linux_proc_report(uw->dwfl, uw->pid);
	if (dwfl_report_end(uw->dwfl, NULL, NULL) != 0 && err == 0)
		err = -1;
	if (err != 0)
		return hp_err(EIO, "pid %d: cannot report modules again: %s", uw->pid,
			      err > 0 ? strerror(err) : dwfl_errmsg(-1));
	dwfl_getmodules(uw->dwfl, uw_warm_module, NULL, 0);
	return 0;
}

void unwind_set_code_mask(struct unwinder *uw, uint64_t mask)
{
	uw->code_mask = mask;
}

void unwind_end(struct unwinder *uw)
{
	if (uw == NULL)
		return;
	if (uw->dwfl != NULL)
		dwfl_end(uw->dwfl);
	if (uw->mem_fd >= 0)
		close(uw->mem_fd);
	free(uw);
}

struct uw_walk {
	uint64_t *pcs;
	bool *act;
	size_t max;
	size_t n;
	bool gap;	    /* a frame was not found through CFI, or its pc was unknown */
	bool truncated;	    /* more frames than max */
	Dwarf_Addr last_pc; /* address whose CFI unwinds the last frame */
};

static int uw_frame(Dwfl_Frame *frame, void *arg)
{
	struct uw_walk *w = arg;
	Dwarf_Addr pc;
	Dwarf_Word val;
	bool activation;

	/* Called for frame max only if it exists: a stack of exactly max frames is complete. */
	if (w->n == w->max) {
		w->truncated = true;
		return DWARF_CB_ABORT;
	}
	/*
	 * Asking isactivation unwinds the next frame now; libdwfl keeps it, so
	 * the walk does not repeat the work.
	 */
	if (!dwfl_frame_pc(frame, &pc, &activation)) {
		w->gap = true;
		return DWARF_CB_ABORT;
	}
	/*
	 * When a pc has no CFI libdwfl falls back to following the frame pointer,
	 * which silently skips frames of code built without frame pointers. That
	 * fallback restores only the frame pointer, sp and the pc, while CFI carries the
	 * callee-saved registers ("same value" unless saved; 0.188 drops %rbx
	 * there, so %r12 it is; x19 on aarch64: ARCH_DWARF_CFI_ONLY_REG). So that register,
	 * known in the first frame, stays known exactly as long as every step used CFI and
	 * every saved copy was read.
	 */
	if (dwfl_frame_reg(frame, ARCH_DWARF_CFI_ONLY_REG, &val) != 0)
		w->gap = true;
	/* A return address is looked up inside its call instruction. */
	w->last_pc = activation ? pc : pc - 1;
	if (w->act)
		w->act[w->n] = activation || w->n == 0;
	w->pcs[w->n++] = pc;
	return DWARF_CB_OK;
}

/*
 * libdwfl also ends a walk without error when it cannot read a return
 * address (it takes an unreadable one for "end of stack"), so a walk is only
 * known to be whole when the CFI at the last pc explicitly marks the return
 * address undefined, as glibc's _start and clone3 do.
 */
static bool uw_outermost(struct unwinder *uw, Dwarf_Addr pc)
{
	Dwfl_Module *mod = dwfl_addrmodule(uw->dwfl, pc);
	Dwarf_Op ops_mem[3], *ops;
	Dwarf_Frame *frame;
	Dwarf_Addr bias, start, end;
	Dwarf_CFI *cfi;
	size_t nops;
	bool signal, undefined = false;
	int ra;

	if (mod == NULL)
		return false;
	/* Same order as libdwfl: .eh_frame, then a .debug_frame in the file itself. */
	cfi = dwfl_module_eh_cfi(mod, &bias);
	if (cfi == NULL || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0) {
		cfi = dwfl_module_dwarf_cfi(mod, &bias);
		if (cfi == NULL || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0)
			return false;
	}
	ra = dwarf_frame_info(frame, &start, &end, &signal);
	if (ra >= 0 && dwarf_frame_register(frame, ra, ops_mem, &ops, &nops) == 0)
		undefined = nops == 0 && ops == ops_mem;
	free(frame);
	return undefined;
}

int unwind_thread(struct unwinder *uw, pid_t tid, const struct user_regs_struct *regs,
		  uint64_t *pcs, size_t max, size_t *n, int *complete)
{
	return unwind_thread_act(uw, tid, regs, pcs, NULL, max, n, complete);
}

int unwind_thread_act(struct unwinder *uw, pid_t tid, const struct user_regs_struct *regs,
		      uint64_t *pcs, bool *act, size_t max, size_t *n, int *complete)
{
	struct uw_walk w = {.pcs = pcs, .act = act, .max = max};
	int ret;

	*n = 0;
	*complete = 0;
	if (max == 0)
		return hp_err(EINVAL, "pid %d: tid %d: no room for frames", uw->pid, tid);
	uw->tid = tid;
	uw->regs = regs;
	/* The threads may have run since the last walk. */
	uw->block_valid = false;
	ret = dwfl_getthread_frames(uw->dwfl, tid, uw_frame, &w);
	uw->regs = NULL;
	if (w.n == 0) {
		/* Only the initial frame can fail this way: report the pc, nothing more. */
		hp_debug("pid %d: tid %d: no frame unwound: %s", uw->pid, tid, dwfl_errmsg(-1));
		pcs[0] = arch_pc(regs);
		if (act)
			act[0] = true;
		*n = 1;
		return 0;
	}
	*n = w.n;
	/*
	 * 0: libdwfl found no further frame (see uw_outermost); -1: a read error
	 * or a pc outside every module; DWARF_CB_ABORT: ours.
	 */
	*complete = ret == 0 && !w.gap && !w.truncated && uw_outermost(uw, w.last_pc);
	if (ret != 0 && !w.truncated)
		hp_debug("pid %d: tid %d: unwind stopped after %zu frames: %s", uw->pid, tid, w.n,
			 dwfl_errmsg(-1));
	return 0;
}
