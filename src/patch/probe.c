/* SPDX-License-Identifier: MIT */
/* hotpatch_probe: what this machine gives the mechanisms that depend on it. */
#include <string.h>

#include "libhotpatch.h"
#include "proc/proc.h"

int hotpatch_probe(struct hotpatch_probe *out)
{
	hp_err_clear();
	memset(out, 0, sizeof(*out));
	out->hw_breakpoints = proc_hw_breakpoints_fire(&out->hw_reason);
	out->breakpoints = proc_bp_mechanism(&out->breakpoints_reason) == PROC_BP_HW ? "hardware"
										      : "software";
	return 0;
}
