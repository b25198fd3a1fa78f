/* SPDX-License-Identifier: MIT */
/* Which pages of the target hold data (/proc/PID/pagemap), so memory scans skip the untouched ones. */
/*
 * A page never touched reads as zeros, and reading it through /proc/PID/mem
 * would map the zero page into the target's page tables: a scan of a large,
 * sparse mapping (a VM's guest RAM, an allocator's reserve) would grow the
 * target's page tables and cost time for nothing. pagemap says per page
 * whether it is present or swapped (bits 63 and 62) without touching it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "proc/proc.h"

static int pagemap_fd(struct proc *p)
{
	char path[64];

	if (p->pagemap_fd >= 0)
		return p->pagemap_fd;
	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->pid);
	p->pagemap_fd = open(path, O_RDONLY | O_CLOEXEC);
	return p->pagemap_fd >= 0 ? p->pagemap_fd : -errno;
}

int proc_pages_backed(struct proc *p, uint64_t start, size_t npages, uint8_t *backed)
{
	uint64_t ent[512];
	int fd = pagemap_fd(p);

	if (fd < 0)
		return fd;
	for (size_t i = 0; i < npages;) {
		size_t n = npages - i < 512 ? npages - i : 512;
		ssize_t r = pread(fd, ent, n * 8, (off_t)((start / 4096 + i) * 8));
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		n = (size_t)r / 8;
		for (size_t k = 0; k < n; k++)
			backed[i + k] = (ent[k] >> 62) != 0;
		i += n;
	}
	return 0;
}

/* linux/fs.h of Linux 6.7 (PAGEMAP_SCAN), not in older headers. */
struct hp_page_region {
	uint64_t start, end, categories;
};
struct hp_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define HP_PAGEMAP_SCAN _IOWR('f', 16, struct hp_pm_scan_arg)
#define HP_PAGE_IS_PRESENT (1u << 3)
#define HP_PAGE_IS_SWAPPED (1u << 4)

int proc_backed_runs(struct proc *p, uint64_t start, uint64_t end, uint64_t (*out)[2], size_t max,
		     uint64_t *next)
{
	struct hp_page_region reg[64];
	int fd;

	if (p->pagemap_scan_absent)
		return -EOPNOTSUPP;
	if ((fd = pagemap_fd(p)) < 0)
		return fd;
	if (max > sizeof(reg) / sizeof(reg[0]))
		max = sizeof(reg) / sizeof(reg[0]);
	struct hp_pm_scan_arg a = {
		.size = sizeof(a),
		.start = start,
		.end = end,
		.vec = (uint64_t)(uintptr_t)reg,
		.vec_len = max,
		.category_anyof_mask = HP_PAGE_IS_PRESENT | HP_PAGE_IS_SWAPPED,
		.return_mask = HP_PAGE_IS_PRESENT | HP_PAGE_IS_SWAPPED,
	};
	int n = ioctl(fd, HP_PAGEMAP_SCAN, &a);
	if (n < 0) {
		int err = errno;
		/* ENOTTY: no such ioctl; EINVAL: a kernel that knows it but not this form. */
		if (err == ENOTTY || err == EINVAL) {
			p->pagemap_scan_absent = true;
			return -EOPNOTSUPP;
		}
		return -err;
	}
	for (int i = 0; i < n; i++) {
		out[i][0] = reg[i].start;
		out[i][1] = reg[i].end;
	}
	*next = a.walk_end ? a.walk_end : end;
	return n;
}
