/* SPDX-License-Identifier: MIT */
/*
 * Generation of the patch .so from the patched build's objects.
 *
 * Each object holding changed or new functions is copied and edited with
 * libelf: every relocation of the carried code (and of the strings, jump
 * tables and new variables it pulls in) that names a function or variable
 * of the running program is cut (R_X86_64_NONE) and becomes a descriptor:
 * PC32 for a PC-relative field (calls, `mov var+8(%rip)`), ABS64 for a
 * pointer in data. A GOT load (mov foo@GOTPCREL(%rip)) is relaxed to lea
 * first, as the linker would. objcopy then names the carried sections
 * (__hp_uN_sM symbols) so a generated assembly stub can point descriptors
 * at them, and `cc -shared --gc-sections` keeps only what the descriptors
 * reach: the program's own functions and variables are never copied.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "create/gen.h"
#include "elf/elf.h"
#include "hotpatch.h"

struct fixup {
	int kind; /* HOTPATCH_KIND_PC32 / ABS64 */
	size_t unit, sec;
	uint64_t off;
	int64_t addend;
	char name[256];
	char file[256];
};

struct repl {
	size_t unit, sec;
	uint64_t off;
	char name[256];
	char file[256];
};

struct gen {
	struct unit *u;
	size_t nu;
	struct elf_file *prog;
	const char *prog_path;
	struct create_report *r;
	struct fixup *fx;
	size_t nfx, capfx;
	struct repl *rp;
	size_t nrp, caprp;
};

static int run_cmd(char *const argv[], const char *logpath)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (!pid) {
		FILE *f = freopen(logpath, "a", stdout);
		(void)f;
		dup2(1, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static int copy_file(const char *from, const char *to)
{
	FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
	char buf[65536];
	size_t n;
	int err = 0;

	if (!a || !b)
		err = -errno;
	while (!err && (n = fread(buf, 1, sizeof(buf), a)) > 0)
		if (fwrite(buf, 1, n, b) != n)
			err = -EIO;
	if (a)
		fclose(a);
	if (b && fclose(b) && !err)
		err = -EIO;
	return err;
}

/* Never carried: the constructors of the patched objects ran at startup of the program. */
static const char *const ctor_rm[] = {".init_array", ".fini_array", ".ctors", ".dtors",
				      ".preinit_array"};

static bool is_kept_sym(const struct osym *y)
{
	return y->verdict == FS_CHANGED || y->verdict == FS_NEW || y->verdict == FS_NEWVAR;
}

/* Is 'name' a global defined by code or data the patch carries (any unit)? */
static bool carried_global(const struct gen *g, const char *name)
{
	for (size_t k = 0; k < g->nu; k++) {
		const struct obj *p = &g->u[k].p;
		if (!g->u[k].gen)
			continue;
		for (size_t i = 1; i < p->nsym; i++) {
			const struct osym *y = &p->sym[i];
			if (GELF_ST_BIND(y->s.st_info) != STB_LOCAL && is_kept_sym(y) &&
			    !strcmp(y->name, name))
				return true;
		}
	}
	return false;
}

static int add_fixup(struct gen *g, int kind, size_t unit, size_t sec, uint64_t off, int64_t addend,
		     const char *name, const char *file)
{
	if (g->nfx == g->capfx) {
		size_t nc = g->capfx ? g->capfx * 2 : 32;
		struct fixup *nv = realloc(g->fx, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		g->fx = nv;
		g->capfx = nc;
	}
	struct fixup *f = &g->fx[g->nfx++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->unit = unit;
	f->sec = sec;
	f->off = off;
	f->addend = addend;
	hp_strlcpy(f->name, name, sizeof(f->name));
	hp_strlcpy(f->file, file ? file : "", sizeof(f->file));
	return 0;
}

/*
 * Relax a GOT load into a direct reference, as ld does for a local symbol:
 * mov foo@GOTPCREL(%rip),%reg -> lea foo(%rip),%reg; call/jmp *foo@GOTPCREL(%rip)
 * -> addr32 call foo / jmp foo; nop. Returns the place of the new rel32 field.
 */
static int relax_got(uint8_t *code, uint64_t size, uint64_t off, uint64_t *place)
{
	if (off < 2 || off + 4 > size)
		return -EINVAL;
	uint8_t *op = code + off - 2;
	if (op[0] == 0x8b) { /* mov r/m64, reg: modrm rip-relative */
		op[0] = 0x8d;
		*place = off;
		return 0;
	}
	if (op[0] == 0xff && op[1] == 0x15) { /* call *disp(%rip) */
		op[0] = 0x67;
		op[1] = 0xe8;
		*place = off;
		return 0;
	}
	if (op[0] == 0xff && op[1] == 0x25) { /* jmp *disp(%rip) */
		op[0] = 0xe9;
		memset(op + 1, 0, 4);
		op[5] = 0x90;
		*place = off - 1;
		return 0;
	}
	return -EINVAL;
}

/* The symbol of the program that x names, for a descriptor: its name and, if static, file. */
static void prog_name(const struct obj *o, const struct xrel *x, const char **name,
		      const char **file)
{
	const struct osym *y = x->tsym ? &o->sym[x->tsym] : NULL;
	*name = y && y->orig_name ? y->orig_name : y ? y->name : x->key;
	*file = x->local ? o->file : NULL;
}

/* Edit the copy of unit k: cut the references to the program, mark what is carried. */
static int edit_unit(struct gen *g, size_t k, struct obj *c)
{
	struct unit *u = &g->u[k];
	const struct obj *p = &u->p;
	bool again = true;
	int err = 0;

	for (size_t i = 1; i < p->nsym; i++) {
		const struct osym *y = &p->sym[i];
		if ((y->verdict == FS_CHANGED || y->verdict == FS_NEW) && y->s.st_shndx < c->nsec)
			c->sec[y->s.st_shndx].keep = true;
	}
	/* carried sections, until no reference adds one */
	while (again && !err) {
		again = false;
		for (size_t si = 1; si < c->nsec && !err; si++) {
			struct osec *s = &c->sec[si];
			if (!s->keep || !s->rela || s->anchor)
				continue;
			s->anchor = true; /* visited; every carried section gets a name */
			struct osec *rs = &c->sec[s->rela];
			size_t cnt = rs->data ? rs->data->d_size / sizeof(Elf64_Rela) : 0;
			for (size_t ri = 0; ri < cnt && !err; ri++) {
				GElf_Rela r;
				struct xrel x;
				if (!gelf_getrela(rs->data, (int)ri, &r) ||
				    GELF_R_TYPE(r.r_info) == R_X86_64_NONE)
					continue;
				memset(&x, 0, sizeof(x));
				obj_target(p, &r, &x);
				size_t ysi = GELF_R_SYM(r.r_info);
				const GElf_Sym *ys = ysi < p->nsym ? &p->sym[ysi].s : NULL;
				bool to_prog = false;
				if (ys && ys->st_shndx == SHN_UNDEF) {
					const char *n = p->sym[ysi].name;
					struct elf_sym es;
					if (!carried_global(g, n)) {
						hp_err_quiet_begin();	/* a probe */
						to_prog = !elf_file_find(g->prog, n, NULL,
									 ELF_SYM_ANY, &es);
						hp_err_quiet_end();
					}
					x.tsym = 0;
					x.local = false;
				} else if (x.tsym) {
					const struct osym *t = &p->sym[x.tsym];
					if (t->s.st_shndx >= c->nsec)
						continue;
					if (is_kept_sym(t)) {
						if (!c->sec[t->s.st_shndx].keep) {
							c->sec[t->s.st_shndx].keep = true;
							again = true;
						}
					} else {
						to_prog = true;
					}
				} else if (x.tsec && x.tsec < c->nsec) {
					/* strings, constants, jump tables: carried along */
					if (!c->sec[x.tsec].keep) {
						c->sec[x.tsec].keep = true;
						again = true;
					}
				}
				if (!to_prog)
					continue;
				const char *name, *file;
				prog_name(p, &x, &name, &file);
				if (x.tsym) {
					/* the program must have it: else the apply would fail later
					 */
					struct elf_sym es;
					struct hp_err_catch ec;	/* a refusal, not an error */
					hp_err_catch_begin(&ec);
					int ferr = elf_file_find(g->prog, name, file, ELF_SYM_ANY,
								 &es);
					hp_err_catch_end(&ec);
					if (ferr) {
						report_add(g->r, CREATE_REFUSED, name, p->file,
							   "used by the changed code, but not "
							   "found in %s: %s",
							   g->prog_path, ec.msg);
						continue;
					}
				}
				uint32_t type = GELF_R_TYPE(r.r_info);
				uint64_t place = r.r_offset;
				int kind;
				if (type == R_X86_64_PC32 || type == R_X86_64_PLT32) {
					kind = HOTPATCH_KIND_PC32;
				} else if (type == R_X86_64_GOTPCREL ||
					   type == R_X86_64_GOTPCRELX ||
					   type == R_X86_64_REX_GOTPCRELX) {
					kind = HOTPATCH_KIND_PC32;
					if (!s->data || !s->data->d_buf ||
					    relax_got(s->data->d_buf, s->data->d_size, r.r_offset,
						      &place)) {
						report_add(
						    g->r, CREATE_REFUSED, name, p->file,
						    "GOT reference at %s+0x%" PRIx64
						    " that cannot be turned into a direct one",
						    s->name, (uint64_t)r.r_offset);
						continue;
					}
					elf_flagdata(s->data, ELF_C_SET, ELF_F_DIRTY);
				} else if (type == R_X86_64_64) {
					kind = HOTPATCH_KIND_ABS64;
				} else {
					report_add(
					    g->r, CREATE_REFUSED, name, p->file,
					    "reference of relocation type %u at %s+0x%" PRIx64
					    " (thread-local or absolute 32-bit) is not supported",
					    type, s->name, (uint64_t)r.r_offset);
					continue;
				}
				/* the addend relative to the named symbol, as the program resolves
				 * it */
				int64_t addend = x.tsym ? x.delta : r.r_addend;
				err = add_fixup(g, kind, k, si, place, addend, name, file);
				r.r_info = GELF_R_INFO(0, R_X86_64_NONE);
				r.r_addend = 0;
				gelf_update_rela(rs->data, (int)ri, &r);
				elf_flagdata(rs->data, ELF_C_SET, ELF_F_DIRTY);
			}
		}
	}
	/* the replacements */
	for (size_t i = 1; i < p->nsym && !err; i++) {
		const struct osym *y = &p->sym[i];
		if (y->verdict != FS_CHANGED || strstr(y->name, ".cold"))
			continue;
		if (g->nrp == g->caprp) {
			size_t nc = g->caprp ? g->caprp * 2 : 16;
			struct repl *nv = realloc(g->rp, nc * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			g->rp = nv;
			g->caprp = nc;
		}
		struct repl *rp = &g->rp[g->nrp++];
		memset(rp, 0, sizeof(*rp));
		rp->unit = k;
		rp->sec = y->s.st_shndx;
		rp->off = y->s.st_value;
		c->sec[rp->sec].anchor = true;
		hp_strlcpy(rp->name, y->name, sizeof(rp->name));
		if (GELF_ST_BIND(y->s.st_info) == STB_LOCAL)
			hp_strlcpy(rp->file, p->file, sizeof(rp->file));
	}
	for (size_t i = 0; i < g->nfx; i++)
		if (g->fx[i].unit == k)
			c->sec[g->fx[i].sec].anchor = true;
	if (!err && elf_update(c->elf, ELF_C_WRITE) < 0)
		err = hp_err(HOTPATCH_E_NOTELF, "%s: cannot write: %s", c->path, elf_errmsg(-1));
	return err;
}

static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* One descriptor in the stub: strings are emitted inline into .rodata via a label. */
static void put_desc(FILE *f, unsigned *lbl, int kind, const char *obj, const char *file,
		     const char *sym, const char *addr, int64_t aux)
{
	unsigned ol = 0, fl = 0, sl = ++*lbl;
	fprintf(f, "\t.section .rodata.hotpatch_str,\"a\",@progbits\n");
	if (obj && *obj) {
		ol = ++*lbl;
		fprintf(f, ".Lhp%u:\t.asciz ", ol);
		put_str(f, obj);
		fputc('\n', f);
	}
	if (file && *file) {
		fl = ++*lbl;
		fprintf(f, ".Lhp%u:\t.asciz ", fl);
		put_str(f, file);
		fputc('\n', f);
	}
	fprintf(f, ".Lhp%u:\t.asciz ", sl);
	put_str(f, sym);
	fputc('\n', f);
	fprintf(f, "\t.section %s,\"awR\",@progbits\n\t.balign 8\n", HOTPATCH_SECTION);
	fprintf(f, "\t.long 0x%08x\n\t.short %d, %d\n", HOTPATCH_DESC_MAGIC, HOTPATCH_DESC_VERSION,
		kind);
	if (ol)
		fprintf(f, "\t.quad .Lhp%u\n", ol);
	else
		fprintf(f, "\t.quad 0\n");
	if (fl)
		fprintf(f, "\t.quad .Lhp%u\n", fl);
	else
		fprintf(f, "\t.quad 0\n");
	fprintf(f, "\t.quad .Lhp%u\n\t.quad %s\n\t.quad %" PRId64 "\n", sl, addr ? addr : "0", aux);
}

int gen_patch(struct unit *u, size_t nu, struct elf_file *prog, const char *prog_path,
	      const char *work, const char *out, struct create_report *r)
{
	struct gen g = {.u = u, .nu = nu, .prog = prog, .prog_path = prog_path, .r = r};
	char dir[PATH_MAX], path[PATH_MAX + 64], logpath[PATH_MAX + 16], stub[PATH_MAX + 16];
	char **objs = calloc(nu + 1, sizeof(*objs));
	size_t nobjs = 0;
	int err = 0;

	if (!objs)
		return -ENOMEM;
	snprintf(dir, sizeof(dir), "%s/gen", work);
	snprintf(logpath, sizeof(logpath), "%s/gen.log", work);
	if (mkdir(dir, 0755) && errno != EEXIST)
		return hp_err(errno, "%s: %s", dir, strerror(errno));

	for (size_t k = 0; k < nu && !err; k++) {
		struct obj c;
		if (!u[k].gen)
			continue;
		snprintf(path, sizeof(path), "%s/u%zu.o", dir, k);
		err = copy_file(u[k].p.path, path);
		if (err) {
			err = hp_err(-err, "%s: cannot copy", path);
			break;
		}
		err = obj_open(path, true, &c);
		if (err)
			break;
		elf_flagelf(c.elf, ELF_C_SET, ELF_F_LAYOUT);
		err = edit_unit(&g, k, &c);
		/* name the anchored sections: objcopy --add-symbol needs unique section names */
		char **av = calloc(2 * c.nsec + 16, sizeof(*av));
		size_t n = 0;
		if (!err && !av)
			err = -ENOMEM;
		if (!err) {
			av[n++] = "objcopy";
			av[n++] = "--strip-debug";
			for (size_t ci = 0; ci < ARRAY_SIZE(ctor_rm); ci++) {
				av[n++] = "--remove-section";
				av[n++] = (char *)ctor_rm[ci];
			}
		}
		for (size_t si = 1; !err && si < c.nsec; si++) {
			if (!c.sec[si].anchor || !c.sec[si].keep)
				continue;
			for (size_t sj = 1; sj < c.nsec; sj++)
				if (sj != si && !strcmp(c.sec[sj].name, c.sec[si].name))
					err = hp_err(
					    HOTPATCH_E_NOTSUP,
					    "%s: two sections named %s: cannot name them apart",
					    u[k].p.path, c.sec[si].name);
			char *a = NULL;
			if (!err && asprintf(&a, "--add-symbol=__hp_u%zu_s%zu=%s:0,global", k, si,
					     c.sec[si].name) < 0)
				err = -ENOMEM;
			if (!err) {
				av[n++] = a;
			}
		}
		if (!err) {
			av[n++] = path;
			av[n] = NULL;
		}
		obj_close(&c);
		if (!err && run_cmd(av, logpath))
			err = hp_err(HOTPATCH_E_NOTSUP, "objcopy failed on %s (see %s)", path,
				     logpath);
		for (size_t i = 0; av && i < n; i++)
			if (!strncmp(av[i], "--add-symbol=", 13))
				free(av[i]);
		free(av);
		if (!err && !(objs[nobjs++] = strdup(path)))
			err = -ENOMEM;
	}
	if (!err && r->nrefused)
		err = hp_err(HOTPATCH_E_NOTSUP, "refused: %u reason%s, no patch written",
			     r->nrefused, r->nrefused == 1 ? "" : "s");
	if (err)
		goto out;

	/* the descriptors */
	snprintf(stub, sizeof(stub), "%s/stub.s", dir);
	FILE *f = fopen(stub, "w");
	unsigned lbl = 0;
	char addr[128];
	if (!f) {
		err = hp_err(errno, "%s: %s", stub, strerror(errno));
		goto out;
	}
	/* a shared library: every descriptor names it (its soname, else its file name) */
	const char *lib = r->object[0] ? r->object : NULL;
	fprintf(f, "# generated by hotpatch create for %s\n", prog_path);
	put_desc(f, &lbl, HOTPATCH_KIND_BUILD_ID, lib, NULL, r->build_id, NULL, 0);
	for (size_t i = 0; i < g.nrp; i++) {
		snprintf(addr, sizeof(addr), "__hp_u%zu_s%zu + %" PRIu64, g.rp[i].unit, g.rp[i].sec,
			 g.rp[i].off);
		put_desc(f, &lbl, HOTPATCH_KIND_REPLACE, lib, g.rp[i].file, g.rp[i].name, addr, 0);
		const struct obj *po = &u[g.rp[i].unit].p;
		size_t si = obj_find(po, g.rp[i].name);
		const char *why = si && po->sym[si].why ? po->sym[si].why : NULL;
		report_add(r, CREATE_REPLACED, g.rp[i].name, po->file, "code changed%s%s%s",
			   why ? " (" : "", why ? why : "", why ? ")" : "");
	}
	for (size_t i = 0; i < g.nfx; i++) {
		snprintf(addr, sizeof(addr), "__hp_u%zu_s%zu + %" PRIu64, g.fx[i].unit, g.fx[i].sec,
			 g.fx[i].off);
		put_desc(f, &lbl, g.fx[i].kind, lib, g.fx[i].file, g.fx[i].name, addr,
			 g.fx[i].addend);
	}
	r->nfixups = (unsigned)g.nfx;
	for (size_t k = 0; k < nu; k++)
		for (size_t i = 1; u[k].gen && i < u[k].p.nsym; i++) {
			const struct osym *y = &u[k].p.sym[i];
			if (y->verdict == FS_NEW && !strstr(y->name, ".cold"))
				report_add(r, CREATE_NEW, y->name, u[k].p.file, "new function");
			else if (y->verdict == FS_NEWVAR)
				report_add(
				    r, CREATE_NEWVAR, y->name, u[k].p.file,
				    u[k].o.elf && obj_find(&u[k].o, y->name)
					? "changed static constant, the patch carries the new one"
					: "new variable, in the patch");
		}
	if (fclose(f)) {
		err = hp_err(EIO, "%s: cannot write", stub);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/stub.o", dir);
	char *as[] = {"cc", "-c", "-o", path, stub, NULL};
	if (run_cmd(as, logpath)) {
		err = hp_err(HOTPATCH_E_NOTSUP, "cannot assemble %s (see %s)", stub, logpath);
		goto out;
	}
	char vs[PATH_MAX + 16];
	snprintf(vs, sizeof(vs), "%s/local.map", dir);
	f = fopen(vs, "w");
	if (!f || fputs("{ local: *; };\n", f) < 0 || fclose(f)) {
		err = hp_err(EIO, "%s: cannot write", vs);
		goto out;
	}
	char vsopt[PATH_MAX + 40];
	snprintf(vsopt, sizeof(vsopt), "-Wl,--version-script=%s", vs);
	char **ld = calloc(nobjs + 16, sizeof(*ld));
	size_t n = 0;
	if (!ld) {
		err = -ENOMEM;
		goto out;
	}
	ld[n++] = "cc";
	ld[n++] = "-shared";
	ld[n++] = "-o";
	ld[n++] = (char *)out;
	for (size_t i = 0; i < nobjs; i++)
		ld[n++] = objs[i];
	ld[n++] = path;
	ld[n++] = "-Wl,--gc-sections";
	ld[n++] = vsopt;
	ld[n++] = "-Wl,-z,noexecstack";
	ld[n++] = "-Wl,--build-id";
	ld[n] = NULL;
	if (run_cmd(ld, logpath))
		err = hp_err(HOTPATCH_E_NOTSUP, "linking %s failed (see %s)", out, logpath);
	free(ld);
	if (!err)
		chmod(out, 0644);
out:
	for (size_t i = 0; i < nobjs; i++)
		free(objs[i]);
	free(objs);
	free(g.fx);
	free(g.rp);
	return err;
}
