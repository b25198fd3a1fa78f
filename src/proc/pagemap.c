/* SPDX-License-Identifier: MIT */
/* Which pages of the target hold data (/proc/PID/pagemap), so memory scans skip the untouched ones. */
/*
 * A page never touched reads as zeros, and reading it through /proc/PID/mem
 * would map the zero page into the target's page tables: a scan of a large,
 * sparse mapping (a VM's guest RAM, an allocator's reserve) would grow the
 * target's page tables and cost time for nothing. pagemap says per page
 * whether it is present or swapped (bits 63 and 62) without touching it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "proc/proc.h"

int proc_pages_backed(struct proc *p, uint64_t start, size_t npages, uint8_t *backed)
{
	char path[64];
	uint64_t ent[512];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", p->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < npages;) {
		size_t n = npages - i < 512 ? npages - i : 512;
		ssize_t r = pread(fd, ent, n * 8, (off_t)((start / 4096 + i) * 8));
		if (r <= 0) {
			int err = r < 0 ? -errno : -EIO;
			close(fd);
			return err;
		}
		n = (size_t)r / 8;
		for (size_t k = 0; k < n; k++)
			backed[i + k] = (ent[k] >> 62) != 0;
		i += n;
	}
	close(fd);
	return 0;
}
