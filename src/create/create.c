/* SPDX-License-Identifier: MIT */
/*
 * The Creator's flow: two builds of the source (original, and with the fix)
 * through the compiler wrapper, a function-by-function comparison of their
 * objects, the fidelity checks against the running program's binary, the
 * refusals, then the generation of the patch (gen.c) and its report.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <elfutils/libdwfl.h>
#include <dwarf.h>

#include "common/common.h"
#include "create/create.h"
#include "create/gen.h"
#include "create/lines.h"
#include "create/objdiff.h"
#include "elf/elf.h"

const char *create_verdict_name(enum create_verdict v)
{
	static const char *const n[] = {"replaced", "new",	    "ignored",
					"refused",  "new-variable", "note"};
	return (unsigned)v < ARRAY_SIZE(n) ? n[v] : "?";
}

struct create_item *report_add(struct create_report *r, enum create_verdict v, const char *name,
			       const char *file, const char *fmt, ...)
{
	va_list ap;

	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 32;
		struct create_item *nv = realloc(r->v, nc * sizeof(*nv));
		if (!nv)
			return NULL;
		r->v = nv;
		r->cap = nc;
	}
	struct create_item *it = &r->v[r->n++];
	memset(it, 0, sizeof(*it));
	it->verdict = v;
	hp_strlcpy(it->name, name ? name : "", sizeof(it->name));
	hp_strlcpy(it->file, file ? file : "", sizeof(it->file));
	va_start(ap, fmt);
	vsnprintf(it->reason, sizeof(it->reason), fmt, ap);
	va_end(ap);
	if (v == CREATE_REFUSED)
		r->nrefused++;
	return it;
}

void create_report_release(struct create_report *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* ---- running things ---- */

/* Run argv (cwd dir, stdout+stderr appended to logpath); returns the exit status or -errno. */
static int run(char *const argv[], const char *dir, const char *logpath, char *const envset[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -errno;
	if (!pid) {
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		for (size_t i = 0; envset && envset[i]; i += 2)
			setenv(envset[i], envset[i + 1], 1);
		if (dir && chdir(dir))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void rm_rf(const char *p)
{
	nftw(p, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

/* Remove every ELF file (objects, archives of them are rebuilt too) so the build redoes them. */
static int rm_elf(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	size_t l = strlen(p);
	bool ar = l > 2 && !strcmp(p + l - 2, ".a");
	char magic[8] = "";
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, magic, sizeof(magic));
	close(fd);
	if ((n >= 4 && !memcmp(magic, "\177ELF", 4)) ||
	    (ar && n == 8 && !memcmp(magic, "!<arch>\n", 8)))
		unlink(p);
	return 0;
}

/* One build: copy the tree to work/b, maybe patch it, build it, rename it to work/name. */
static int build_one(const struct create_opts *o, const char *work, const char *name, bool patched,
		     const char *self)
{
	char b[PATH_MAX], logdir[PATH_MAX], logpath[PATH_MAX], dst[PATH_MAX], hcc[PATH_MAX + 8],
	     hcxx[PATH_MAX + 8];
	char strip[16];
	int rc;

	snprintf(b, sizeof(b), "%s/b", work);
	snprintf(logdir, sizeof(logdir), "%s/log-%s", work, name);
	snprintf(logpath, sizeof(logpath), "%s/build-%s.log", work, name);
	snprintf(dst, sizeof(dst), "%s/%s", work, name);
	/*
	 * Our own inode, held open by this process: the builds keep working if
	 * the hotpatch file is replaced meanwhile (an upgrade, a rebuild).
	 */
	(void)self;
	snprintf(hcc, sizeof(hcc), "/proc/%d/exe cc", (int)getpid());
	snprintf(hcxx, sizeof(hcxx), "/proc/%d/exe c++", (int)getpid());
	if (mkdir(logdir, 0755) && errno != EEXIST)
		return hp_err(errno, "%s: %s", logdir, strerror(errno));

	char src[PATH_MAX + 4];
	snprintf(src, sizeof(src), "%s/.", o->source);
	char *cp[] = {"cp", "-a", src, b, NULL};
	rc = run(cp, NULL, logpath, NULL);
	if (rc)
		return hp_err(HOTPATCH_E_NOTSUP, "cannot copy %s (see %s)", o->source, logpath);
	nftw(b, rm_elf, 32, FTW_PHYS);
	if (patched) {
		snprintf(strip, sizeof(strip), "-p%d", o->strip);
		char *pa[] = {"patch", "--batch", "--forward",	   "--no-backup-if-mismatch",
			      strip,   "-i",	  (char *)o->diff, "-d",
			      b,       NULL};
		rc = run(pa, NULL, logpath, NULL);
		if (rc)
			return hp_err(HOTPATCH_E_NOTSUP, "%s does not apply to %s (see %s)",
				      o->diff, o->source, logpath);
	}
	const char *cmd = o->build ? o->build : "make CC=\"$HOTPATCH_CC\" CXX=\"$HOTPATCH_CXX\"";
	char *sh[] = {"sh", "-c", (char *)cmd, NULL};
	char *env[] = {"HOTPATCH_CC", hcc, "CC", hcc, "HOTPATCH_CXX", hcxx, "CXX", hcxx,
		       "HOTPATCH_CC_LOG", logdir, NULL};
	rc = run(sh, b, logpath, env);
	if (rc)
		return hp_err(HOTPATCH_E_NOTSUP, "the %s build failed (exit %d): see %s", name, rc,
			      logpath);
	if (rename(b, dst))
		return hp_err(errno, "%s: %s", dst, strerror(errno));
	return 0;
}

/* ---- DWARF producers ---- */

static const Dwfl_Callbacks dwfl_cb = {
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

static int module_cb(Dwfl_Module *m, void **ud, const char *n, Dwarf_Addr a, void *arg)
{
	(void)ud;
	(void)n;
	(void)a;
	*(Dwfl_Module **)arg = m;
	return DWARF_CB_ABORT;
}

/*
 * DW_AT_producer of the compile unit of source 'src' (matched by basename)
 * of file 'path' into buf; "" if the file has no DWARF or no such unit.
 * libdwfl applies the relocations of a relocatable object's DWARF.
 */
/*
 * The DWARF of file 'path' (an object or an executable) through libdwfl, which
 * applies a relocatable object's relocations; NULL if it has none. *d is to
 * be ended with dwfl_end (NULL when nothing was opened).
 */
static Dwarf *dwarf_offline(const char *path, Dwfl **d)
{
	Dwfl_Module *m = NULL;
	Dwarf_Addr bias;

	*d = dwfl_begin(&dwfl_cb);
	if (!*d)
		return NULL;
	if (!dwfl_report_offline(*d, "", path, -1)) {
		dwfl_end(*d);
		*d = NULL;
		return NULL;
	}
	dwfl_report_end(*d, NULL, NULL);
	dwfl_getmodules(*d, module_cb, &m, 0);
	return m ? dwfl_module_getdwarf(m, &bias) : NULL;
}

static void producer_of(const char *path, const char *src, char *buf, size_t size)
{
	Dwfl *d;
	const char *sb = strrchr(src, '/');

	buf[0] = 0;
	sb = sb ? sb + 1 : src;
	Dwarf *dw = dwarf_offline(path, &d);
	if (!d)
		return;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dw && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dw, off + hsize, &cu)) {
			const char *n = dwarf_diename(&cu);
			Dwarf_Attribute at;
			const char *prod = dwarf_formstring(dwarf_attr(&cu, DW_AT_producer, &at));
			const char *nb = n ? strrchr(n, '/') : NULL;
			nb = nb ? nb + 1 : n;
			if (nb && prod && !strcmp(nb, sb)) {
				hp_strlcpy(buf, prod, size);
				break;
			}
		}
		off = next;
	}
	dwfl_end(d);
}

/* ---- struct layouts ---- */

struct layouts {
	char **v; /* "struct name" then its "size:member@offset,..." signature, in pairs */
	size_t n, cap;
};

static void layouts_free(struct layouts *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* Size of the type of a DIE (its DW_AT_type), 0 for void or unknown. */
static Dwarf_Word type_size(Dwarf_Die *d)
{
	Dwarf_Attribute at;
	Dwarf_Die t;
	Dwarf_Word sz = 0;

	if (!dwarf_attr(d, DW_AT_type, &at) || !dwarf_formref_die(&at, &t) ||
	    dwarf_aggregate_size(&t, &sz))
		return 0;
	return sz;
}

/* Append the pair (name, sig) to l; nothing on memory exhaustion. */
static void layouts_push(struct layouts *l, const char *name, const char *sig)
{
	if (l->n + 2 > l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		char **nv = realloc(l->v, nc * sizeof(*nv));
		if (!nv)
			return;
		l->v = nv;
		l->cap = nc;
	}
	char *a = strdup(name), *b = strdup(sig);
	if (!a || !b) {
		free(a);
		free(b);
		return;
	}
	l->v[l->n++] = a;
	l->v[l->n++] = b;
}

static void layout_add(struct layouts *l, const char *name, Dwarf_Die *t)
{
	Dwarf_Die m;
	Dwarf_Word size = 0;
	Dwarf_Attribute at;
	char sig[4096];
	size_t n;

	if (dwarf_attr(t, DW_AT_declaration, &at))
		return; /* incomplete: no layout here */
	dwarf_formudata(dwarf_attr(t, DW_AT_byte_size, &at), &size);
	n = (size_t)snprintf(sig, sizeof(sig), "%llu:", (unsigned long long)size);
	if (dwarf_child(t, &m) == 0) {
		do {
			Dwarf_Word off = 0;
			if (dwarf_tag(&m) != DW_TAG_member)
				continue;
			dwarf_formudata(dwarf_attr(&m, DW_AT_data_member_location, &at), &off);
			const char *mn = dwarf_diename(&m);
			Dwarf_Word msz = type_size(&m);
			if (n < sizeof(sig))
				n += (size_t)snprintf(sig + n, sizeof(sig) - n, "%s@%llu/%llu,",
						      mn ? mn : "?", (unsigned long long)off,
						      (unsigned long long)msz);
		} while (dwarf_siblingof(&m, &m) == 0);
	}
	layouts_push(l, name, sig);
}

/* "ret/params": the return type's size, then each parameter's size (its ABI, roughly). */
static void signature_add(struct layouts *l, const char *name, Dwarf_Die *f)
{
	char sig[1024];
	size_t n = (size_t)snprintf(sig, sizeof(sig), "%llu(", (unsigned long long)type_size(f));
	Dwarf_Die c;

	if (dwarf_child(f, &c) == 0) {
		do {
			if (dwarf_tag(&c) == DW_TAG_formal_parameter && n < sizeof(sig))
				n += (size_t)snprintf(sig + n, sizeof(sig) - n, "%llu,",
						      (unsigned long long)type_size(&c));
			else if (dwarf_tag(&c) == DW_TAG_unspecified_parameters && n < sizeof(sig))
				n += (size_t)snprintf(sig + n, sizeof(sig) - n, "...");
		} while (dwarf_siblingof(&c, &c) == 0);
	}
	if (n < sizeof(sig))
		snprintf(sig + n, sizeof(sig) - n, ")");
	layouts_push(l, name, sig);
}

/*
 * Can code that is not in the patch call function i of the patched object?
 * Yes when it is global (another file, a library, dlsym), or when its
 * address is taken (a pointer in data, a lea): only direct calls and
 * tail-jumps from its own file's code are callers the comparison sees.
 */
static bool callable_from_outside(const struct obj *p, size_t fi)
{
	if (GELF_ST_BIND(p->sym[fi].s.st_info) != STB_LOCAL)
		return true;
	for (size_t si = 1; si < p->nsec; si++) {
		const struct osec *rs = &p->sec[si];
		if (rs->sh.sh_type != SHT_RELA || rs->sh.sh_info >= p->nsec || !rs->data ||
		    rs->sh.sh_link != p->symscn)
			continue;
		const struct osec *ts = &p->sec[rs->sh.sh_info];
		if (!(ts->sh.sh_flags & SHF_ALLOC) || ts->sh.sh_type == SHT_X86_64_UNWIND ||
		    !strcmp(ts->name, ".eh_frame"))
			continue; /* debug info, unwind tables: they describe it, never call it */
		size_t cnt = rs->data->d_size / sizeof(Elf64_Rela);
		for (size_t k = 0; k < cnt; k++) {
			GElf_Rela r;
			struct xrel x;
			if (!gelf_getrela(rs->data, (int)k, &r) ||
			    GELF_R_TYPE(r.r_info) == R_X86_64_NONE)
				continue;
			memset(&x, 0, sizeof(x));
			obj_target(p, &r, &x);
			if (x.tsym != fi)
				continue;
			const uint8_t *code = ts->data ? ts->data->d_buf : NULL;
			bool direct =
			    (ts->sh.sh_flags & SHF_EXECINSTR) && code && x.delta == -4 &&
			    r.r_offset >= 1 && r.r_offset < ts->data->d_size &&
			    (code[r.r_offset - 1] == 0xe8 || code[r.r_offset - 1] == 0xe9 ||
			     (r.r_offset >= 2 && code[r.r_offset - 2] == 0x0f &&
			      (code[r.r_offset - 1] & 0xf0) == 0x80)); /* call, jmp, jcc */
			if (!direct)
				return true;
		}
	}
	return false;
}

/* The named structs and unions of the compile units of a relocatable object (libdwfl relocates). */
static void layouts_of(const char *path, struct layouts *l)
{
	Dwfl *d;

	memset(l, 0, sizeof(*l));
	Dwarf *dw = dwarf_offline(path, &d);
	if (!d)
		return;
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dw && dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu, c;
		if (dwarf_offdie(dw, off + hsize, &cu) && dwarf_child(&cu, &c) == 0) {
			do {
				int tag = dwarf_tag(&c);
				char name[300];
				const char *n = dwarf_diename(&c);
				if ((tag == DW_TAG_structure_type || tag == DW_TAG_union_type) &&
				    n) {
					snprintf(name, sizeof(name), "%s %s",
						 tag == DW_TAG_union_type ? "union" : "struct", n);
					layout_add(l, name, &c);
				} else if (tag == DW_TAG_subprogram && n &&
					   !dwarf_hasattr(&c, DW_AT_declaration) &&
					   !dwarf_hasattr(&c, DW_AT_abstract_origin) &&
					   !dwarf_hasattr(&c, DW_AT_specification)) {
					/* the declared signature: the abstract DIE, not a concrete
					 * copy */
					snprintf(name, sizeof(name), "function %s", n);
					signature_add(l, name, &c);
				} else if (tag == DW_TAG_typedef && n) {
					/* typedef struct { ... } name; */
					Dwarf_Attribute at;
					Dwarf_Die t;
					if (dwarf_attr(&c, DW_AT_type, &at) &&
					    dwarf_formref_die(&at, &t) &&
					    (dwarf_tag(&t) == DW_TAG_structure_type ||
					     dwarf_tag(&t) == DW_TAG_union_type) &&
					    !dwarf_diename(&t)) {
						snprintf(name, sizeof(name), "%s", n);
						layout_add(l, name, &t);
					}
				}
			} while (dwarf_siblingof(&c, &c) == 0);
		}
		off = next;
	}
	dwfl_end(d);
}

/*
 * A struct the changed code uses (its compile unit's DWARF describes it)
 * must keep its layout: the running program's instances have the old one.
 */
static void check_layouts(struct unit *u, struct create_report *r)
{
	struct layouts a, b;

	layouts_of(u->o.path, &a);
	layouts_of(u->p.path, &b);
	for (size_t i = 0; i < b.n; i += 2) {
		for (size_t k = 0; k < a.n; k += 2) {
			if (strcmp(a.v[k], b.v[i]))
				continue;
			if (!strncmp(b.v[i], "function ", 9)) {
				size_t fi = obj_find(&u->p, b.v[i] + 9);
				if (strcmp(a.v[k + 1], b.v[i + 1]) && fi &&
				    (u->p.sym[fi].verdict == FS_CHANGED) &&
				    callable_from_outside(&u->p, fi))
					report_add(
					    r, CREATE_REFUSED, b.v[i] + 9, u->p.file,
					    "signature changed (return(params) sizes %s -> %s) and "
					    "code outside the patch can call it (global, or its "
					    "address is taken)",
					    a.v[k + 1], b.v[i + 1]);
				break;
			}
			if (strcmp(a.v[k + 1], b.v[i + 1]))
				report_add(r, CREATE_REFUSED, b.v[i], u->p.file,
					   "layout changed (size:member@offset/size: %.200s -> "
					   "%.200s): the program's instances keep the old one",
					   a.v[k + 1], b.v[i + 1]);
			break;
		}
	}
	layouts_free(&a);
	layouts_free(&b);
}

/* The producer without the flags the wrapper adds. */
static void producer_norm(char *p)
{
	static const char *const ours[] = {" -ffunction-sections", " -fdata-sections"};
	for (size_t i = 0; i < ARRAY_SIZE(ours); i++) {
		char *q;
		size_t l = strlen(ours[i]);
		while ((q = strstr(p, ours[i])) && (q[l] == ' ' || !q[l]))
			memmove(q, q + l, strlen(q + l) + 1);
	}
}

/* First token that differs between two producers, for the message. */
static void producer_diff(const char *a, const char *b, char *buf, size_t size)
{
	char *ca = strdup(a), *cb = strdup(b), *sa = NULL, *sb = NULL;
	char *ta = ca ? strtok_r(ca, " ", &sa) : NULL, *tb = cb ? strtok_r(cb, " ", &sb) : NULL;

	while (ta && tb && !strcmp(ta, tb)) {
		ta = strtok_r(NULL, " ", &sa);
		tb = strtok_r(NULL, " ", &sb);
	}
	snprintf(buf, size, "PROG has '%s', the rebuild '%s'", tb ? tb : "(end)",
		 ta ? ta : "(end)");
	free(ca);
	free(cb);
}

/* ---- which objects make the program ---- */

static bool member_of(const char *archive, const char *obj)
{
	int fd = open(archive, O_RDONLY | O_CLOEXEC);
	Elf *ar, *e;
	bool found = false;
	const char *ob = strrchr(obj, '/');

	ob = ob ? ob + 1 : obj;
	if (fd < 0)
		return false;
	ar = elf_begin(fd, ELF_C_READ, NULL);
	while (ar && !found && (e = elf_begin(fd, ELF_C_READ, ar))) {
		Elf_Arhdr *h = elf_getarhdr(e);
		if (h && h->ar_name && !strcmp(h->ar_name, ob))
			found = true;
		elf_next(e);
		elf_end(e);
	}
	elf_end(ar);
	close(fd);
	return found;
}

/* Is the object (of the patched build) linked into the program? */
static bool in_program(const struct cc_log *log, const char *prog_base, const char *obj)
{
	const struct cc_link *lk = NULL;

	for (size_t i = 0; i < log->nlink; i++) {
		const char *b = strrchr(log->link[i].out, '/');
		if (!strcmp(b ? b + 1 : log->link[i].out, prog_base))
			lk = &log->link[i];
	}
	if (!lk)
		return true; /* no link seen: every object counts */
	for (size_t k = 0; k < lk->nin; k++) {
		const char *in = lk->in[k];
		size_t l = strlen(in);
		if (!strcmp(in, obj))
			return true;
		if (l > 2 && !strcmp(in + l - 2, ".a") && member_of(in, obj))
			return true;
	}
	return false;
}

/* ---- classification ---- */

static bool is_func(const GElf_Sym *s)
{
	int t = GELF_ST_TYPE(s->st_info);
	return (t == STT_FUNC || t == STT_GNU_IFUNC) && s->st_shndx != SHN_UNDEF &&
	       s->st_shndx < SHN_LORESERVE;
}

static bool is_var(const GElf_Sym *s)
{
	int t = GELF_ST_TYPE(s->st_info);
	return (t == STT_OBJECT || t == STT_TLS) && s->st_shndx != SHN_UNDEF &&
	       s->st_shndx < SHN_LORESERVE;
}

static bool is_cold(const char *n)
{
	return strstr(n, ".cold") != NULL;
}

/* "calls.3" -> length of "calls", 0 when not a numbered static local. */
static size_t numbered_base(const char *n)
{
	const char *d = strrchr(n, '.');
	if (!d || !d[1] || d == n)
		return 0;
	for (const char *p = d + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return (size_t)(d - n);
}

/* The variable of the original object that 'name' of the patched object is. */
static size_t orig_var(const struct obj *o, const char *name)
{
	size_t i = obj_find(o, name), bl = numbered_base(name), found = 0, cnt = 0;
	if (i || !bl)
		return i;
	/* a static local renumbered by the fix: the one of that name, if unique */
	for (size_t k = 1; k < o->nsym; k++) {
		const char *n = o->sym[k].name;
		if (is_var(&o->sym[k].s) && numbered_base(n) == bl && !strncmp(n, name, bl)) {
			found = k;
			cnt++;
		}
	}
	return cnt == 1 ? found : 0;
}

static const char *const ctor_secs[] = {".init_array", ".fini_array", ".ctors", ".dtors",
					".preinit_array"};

/* Relocation targets of a whole section, as one string, to compare constructors. */
static void sec_targets(const struct obj *o, const char *name, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = 0;
	for (size_t i = 1; i < o->nsec; i++) {
		const struct osec *s = &o->sec[i];
		if (strncmp(s->name, name, strlen(name)) || !s->rela)
			continue;
		const struct osec *rs = &o->sec[s->rela];
		size_t cnt = rs->data ? rs->data->d_size / sizeof(Elf64_Rela) : 0;
		for (size_t k = 0; k < cnt; k++) {
			GElf_Rela r;
			if (!gelf_getrela(rs->data, (int)k, &r))
				break;
			size_t si = GELF_R_SYM(r.r_info);
			const GElf_Sym *y = si < o->nsym ? &o->sym[si].s : NULL;
			const char *nm =
			    !y ? "?"
			    : GELF_ST_TYPE(y->st_info) == STT_SECTION && y->st_shndx < o->nsec
				? o->sec[y->st_shndx].name
				: o->sym[si].name;
			n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s+%" PRId64 " ",
					      nm, (int64_t)r.r_addend);
			if (n >= size)
				return;
		}
	}
}

/*
 * Does the code differ only by values that are line numbers the diff moved
 * (__LINE__ in assert() or a log macro)? Every differing byte must lie in a
 * 4-byte little-endian value that is an old line outside the hunks in the
 * old object and that line's new number in the new one, and a line of the
 * function itself ([lo, hi] from the program's line table).
 */
static bool line_only(const struct obj *o, size_t oi, const struct obj *p, size_t pi,
		      const struct diffmap *dm, long lo, long hi, char *what, size_t wsz)
{
	const uint8_t *a = obj_bytes(o, oi), *b = obj_bytes(p, pi);
	uint64_t n = o->sym[oi].s.st_size;
	int found = 0;

	if (!a || !b || !dm)
		return false;
	for (uint64_t k = 0; k < n; k++) {
		bool ok = false;
		if (a[k] == b[k])
			continue;
		/* imm32 (mov $line, %edx), imm16, or imm8 (add $line, %eax) */
		for (unsigned w = 4; w && !ok; w /= 2) {
			for (uint64_t s = k >= w - 1 ? k - (w - 1) : 0; s <= k && s + w <= n; s++) {
				uint32_t va = 0, vb = 0;
				memcpy(&va, a + s, w);
				memcpy(&vb, b + s, w);
				/* __LINE__ of this function's own body */
				if (va == vb || (long)va < lo || (long)va > hi)
					continue;
				if (diffmap_line(dm, o->file, va) == (long)vb) {
					ok = true;
					if (!found++)
						snprintf(what, wsz, "line %u -> %u", va, vb);
					k = s + w - 1;
					break;
				}
			}
		}
		if (!ok)
			return false;
	}
	return found > 0;
}

/*
 * ... and was the function itself untouched by the diff? Its lines in the
 * program's line table must lie outside every hunk (a constant changed by
 * the fix inside the function could look like a moved line number): the span
 * of its own body and the span of each function inlined into it, each from
 * its declaration line (a helper inlined from the top of the file into a
 * function at its bottom does not make every line between them its own).
 */
static bool untouched(struct elf_file *prog, const char *prog_path, const struct obj *o, size_t oi,
		      const struct diffmap *dm, long *lo, long *hi)
{
	struct line_bodies lb;
	struct elf_sym ps;
	bool local = GELF_ST_BIND(o->sym[oi].s.st_info) == STB_LOCAL;

	hp_err_quiet_begin();	/* not in the program: not untouched, and no error */
	int err = elf_file_find(prog, o->sym[oi].name, local ? o->file : NULL, ELF_SYM_FUNC, &ps);
	hp_err_quiet_end();
	if (err)
		return false;
	if (prog_lines(prog_path, ps.value, ps.size, o->file, &lb))
		return false;
	*lo = lb.lo;
	*hi = lb.hi;
	return !diffmap_touches_bodies(dm, o->file, &lb);
}

/* A function the patch carries: changed or new. */
static bool carried(const struct osym *y)
{
	return is_func(&y->s) && (y->verdict == FS_CHANGED || y->verdict == FS_NEW);
}

static void classify(struct unit *u, struct create_report *r, const struct diffmap *dm,
		     struct elf_file *prog, const char *prog_path)
{
	struct obj *p = &u->p, *o = &u->o;
	const char *file = p->file;
	bool const_changed = false;
	char why[512];
	/*
	 * The diff touches neither this file nor anything a compile may include
	 * (only .c files, tests, docs): the unit was compiled from the same text
	 * twice, so whatever differs comes from the build itself (redis's
	 * release.h, generated with a timestamp), not from the fix.
	 */
	bool noise = dm && !diffmap_has(dm, file) && !diffmap_may_include(dm);

	if (p->lto || (o->elf && o->lto)) {
		report_add(r, CREATE_REFUSED, p->file, file,
			   "LTO object (%s): functions cannot be compared or extracted", p->path);
		return;
	}
	for (size_t i = 1; i < p->nsym; i++) {
		struct osym *y = &p->sym[i];
		if (is_func(&y->s)) {
			size_t oi = o->elf ? obj_find(o, y->name) : 0;
			if (!oi) {
				y->verdict = FS_NEW;
			} else if (obj_compare(o, oi, p, i, why, sizeof(why))) {
				char what[64];
				long lo, hi;
				y->verdict = FS_CHANGED;
				y->orig_name = o->sym[oi].name;
				free(y->why);
				y->why = strdup(why);
				if (noise) {
					y->verdict = FS_SAME;
					report_add(
					    r, CREATE_IGNORED, y->name, file,
					    "differs between two builds of the same text "
					    "(%s): the diff touches neither %s nor any file "
					    "it may include, so the build made the difference "
					    "(a generated file, a timestamp), not the fix",
					    why, file);
				} else if (!strncmp(why, "byte", 4) &&
					   untouched(prog, prog_path, o, oi, dm, &lo, &hi) &&
					   line_only(o, oi, p, i, dm, lo, hi, what, sizeof(what))) {
					y->verdict = FS_SAME;
					report_add(
					    r, CREATE_IGNORED, y->name, file,
					    "changed only by line numbers the diff moved (%s)",
					    what);
				}
			} else {
				y->verdict = FS_SAME;
			}
		} else if (is_var(&y->s)) {
			size_t oi = o->elf ? orig_var(o, y->name) : 0;
			if (!oi) {
				if (GELF_ST_TYPE(y->s.st_info) == STT_TLS) {
					report_add(r, CREATE_REFUSED, y->name, file,
						   "new thread-local variable: existing threads "
						   "have no storage for it");
					continue;
				}
				y->verdict = FS_NEWVAR;
				continue;
			}
			y->verdict = FS_OLDVAR;
			y->orig_name = o->sym[oi].name;
			if (noise)
				continue; /* the same text: the program's instance stands */
			if (GELF_ST_BIND(y->s.st_info) == STB_LOCAL && y->s.st_shndx < p->nsec &&
			    !(p->sec[y->s.st_shndx].sh.sh_flags & SHF_WRITE) &&
			    GELF_ST_TYPE(y->s.st_info) == STT_OBJECT &&
			    obj_compare(o, oi, p, i, why, sizeof(why))) {
				/*
				 * A static constant (a table, a switch table CSWTCH.N, __func__):
				 * nothing writes it, so the patch carries the new one and
				 * replaces every function of the file that reads it.
				 */
				y->verdict = FS_NEWVAR;
				y->orig_name = NULL;
				const_changed = true;
				continue;
			}
			char ka[64], kb[64];
			obj_sec_kind(o, oi, ka, sizeof(ka));
			obj_sec_kind(p, i, kb, sizeof(kb));
			if (o->sym[oi].s.st_size != y->s.st_size)
				report_add(r, CREATE_REFUSED, y->name, file,
					   "variable size changed (%" PRIu64 " -> %" PRIu64
					   " bytes)",
					   (uint64_t)o->sym[oi].s.st_size, (uint64_t)y->s.st_size);
			else if (strcmp(ka, kb))
				report_add(r, CREATE_REFUSED, y->name, file,
					   "variable moved from section %s to %s (its initial "
					   "value or constness changed)",
					   ka, kb);
			else if (obj_compare(o, oi, p, i, why, sizeof(why)))
				report_add(r, CREATE_REFUSED, y->name, file,
					   "initial value of the variable changed (%s): the "
					   "running program keeps the old one",
					   why);
		}
	}
	/* the readers of a changed static constant are changed */
	for (size_t i = 1; const_changed && i < p->nsym; i++) {
		struct osym *y = &p->sym[i];
		struct xrel *x = NULL;
		size_t nx = 0;
		if (!is_func(&y->s) || y->verdict != FS_SAME || obj_relocs(p, i, &x, &nx))
			continue;
		for (size_t k = 0; k < nx; k++) {
			const struct osym *t = x[k].tsym ? &p->sym[x[k].tsym] : NULL;
			if (t && t->verdict == FS_NEWVAR && is_var(&t->s) &&
			    GELF_ST_BIND(t->s.st_info) == STB_LOCAL) {
				size_t oi = obj_find(o, y->name);
				y->verdict = FS_CHANGED;
				y->orig_name = oi ? o->sym[oi].name : NULL;
				free(y->why);
				if (asprintf(&y->why, "reads the changed constant '%s'", t->name) <
				    0)
					y->why = NULL;
				break;
			}
		}
		free(x);
	}
	/* the .cold part of a function is reached only through it: a changed part changes it */
	for (size_t i = 1; i < p->nsym; i++) {
		struct osym *y = &p->sym[i];
		if (!is_func(&y->s) || !is_cold(y->name) ||
		    (y->verdict != FS_CHANGED && y->verdict != FS_NEW))
			continue;
		size_t bl = (size_t)(strstr(y->name, ".cold") - y->name);
		for (size_t k = 1; k < p->nsym; k++) {
			struct osym *z = &p->sym[k];
			if (is_func(&z->s) && strlen(z->name) == bl &&
			    !strncmp(z->name, y->name, bl) && z->verdict == FS_SAME) {
				z->verdict = FS_CHANGED;
				z->orig_name = o->sym[obj_find(o, z->name)].name;
			}
		}
	}
	if (o->elf) {
		for (size_t c = 0; c < ARRAY_SIZE(ctor_secs); c++) {
			char ta[2048], tb[2048];
			sec_targets(o, ctor_secs[c], ta, sizeof(ta));
			sec_targets(p, ctor_secs[c], tb, sizeof(tb));
			if (strcmp(ta, tb))
				report_add(r, CREATE_REFUSED, ctor_secs[c], file,
					   "constructors or destructors changed (%s): they ran at "
					   "startup already",
					   ctor_secs[c]);
		}
	}
	for (size_t i = 1; i < p->nsym; i++) {
		struct osym *y = &p->sym[i];
		if (carried(y)) {
			u->gen = true;
			if (u->is_asm) {
				report_add(r, CREATE_REFUSED, y->name, file,
					   "changed assembly source: not supported");
				return;
			}
		}
	}
}

/*
 * A function defined by several objects (a template instantiation or an
 * inline function of a header, each copy in its COMDAT group, the symbol
 * weak) is one function of PROG, the copy the linker kept; every copy
 * passed the fidelity check against it, and the patched copies come from
 * the same source. So the patch carries one, the first unit's: the other
 * copies (and their .cold parts) are that same function, not more of it.
 */
static void one_copy_each(struct unit *u, size_t nu)
{
	for (size_t i = 1; i < nu; i++) {
		struct obj *p = &u[i].p;
		bool dropped = false;
		for (size_t k = 1; k < p->nsym; k++) {
			struct osym *y = &p->sym[k];
			if (!carried(y) || GELF_ST_BIND(y->s.st_info) != STB_WEAK)
				continue;
			for (size_t j = 0; j < i; j++) {
				size_t x = obj_find(&u[j].p, y->name);
				if (x && carried(&u[j].p.sym[x]) &&
				    GELF_ST_BIND(u[j].p.sym[x].s.st_info) == STB_WEAK) {
					y->verdict = FS_SAME;
					dropped = true;
					break;
				}
			}
		}
		if (!dropped)
			continue;
		/* the .cold part of a dropped copy goes with it; the unit carries what is left */
		u[i].gen = false;
		for (size_t k = 1; k < p->nsym; k++) {
			struct osym *y = &p->sym[k];
			const char *c = is_cold(y->name) ? strstr(y->name, ".cold") : NULL;
			if (c && carried(y)) {
				char base[256];
				snprintf(base, sizeof(base), "%.*s", (int)(c - y->name), y->name);
				size_t b = obj_find(p, base);
				if (b && p->sym[b].verdict == FS_SAME)
					y->verdict = FS_SAME;
			}
		}
		for (size_t k = 1; k < p->nsym; k++)
			u[i].gen |= carried(&p->sym[k]);
	}
}

/*
 * Fidelity: the original build of a function to replace must be PROG's
 * function, byte for byte outside the relocated fields (and the opcode
 * bytes the linker may relax before a GOTPCRELX field).
 */
static int fidelity(struct unit *u, struct elf_file *prog, const char *prog_path,
		    struct create_report *r)
{
	struct obj *p = &u->p, *o = &u->o;

	for (size_t i = 1; i < p->nsym; i++) {
		struct osym *y = &p->sym[i];
		if (!is_func(&y->s) || y->verdict != FS_CHANGED || is_cold(y->name))
			continue;
		size_t oi = obj_find(o, y->name);
		const GElf_Sym *os = &o->sym[oi].s;
		bool local = GELF_ST_BIND(os->st_info) == STB_LOCAL;
		struct elf_sym ps;
		struct hp_err_catch c;	/* the lookup's failure is a verdict, not an error */
		hp_err_catch_begin(&c);
		int err = elf_file_find(prog, y->name, local ? o->file : NULL, ELF_SYM_FUNC, &ps);
		hp_err_catch_end(&c);
		if (err == -HOTPATCH_E_NOSYM) {
			y->verdict = FS_SAME;
			report_add(r, CREATE_IGNORED, y->name, o->file,
				   "changed, but not in %s (not linked in, or always inlined)",
				   prog_path);
			continue;
		}
		if (err) {
			report_add(r, CREATE_REFUSED, y->name, o->file, "%s", c.msg);
			continue;
		}
		if (ps.size != os->st_size) {
			report_add(r, CREATE_REFUSED, y->name, o->file,
				   "the original build does not reproduce %s: size %" PRIu64
				   " in the rebuild, %" PRIu64
				   " in PROG (different compiler, flags or source?)",
				   prog_path, (uint64_t)os->st_size, ps.size);
			continue;
		}
		uint8_t *buf = malloc(ps.size ? ps.size : 1), *mask = calloc(1, ps.size + 1);
		const uint8_t *ob = obj_bytes(o, oi);
		struct xrel *x = NULL;
		size_t nx = 0;
		if (!buf || !mask || !ob || obj_relocs(o, oi, &x, &nx) ||
		    elf_file_read(prog, ps.value, buf, ps.size)) {
			report_add(r, CREATE_REFUSED, y->name, o->file,
				   "cannot read its bytes in %s", prog_path);
			free(buf);
			free(mask);
			free(x);
			continue;
		}
		for (size_t k = 0; k < nx; k++) {
			uint64_t lo = x[k].off, hi = lo + reloc_size(x[k].type);
			if (x[k].type == R_X86_64_GOTPCRELX ||
			    x[k].type == R_X86_64_REX_GOTPCRELX || x[k].type == R_X86_64_GOTTPOFF)
				lo = lo >= 3 ? lo - 3 : 0;
			for (uint64_t b = lo; b < hi && b < ps.size; b++)
				mask[b] = 1;
		}
		for (uint64_t b = 0; b < ps.size; b++) {
			if (!mask[b] && buf[b] != ob[b]) {
				report_add(
				    r, CREATE_REFUSED, y->name, o->file,
				    "the original build does not reproduce %s: byte +0x%" PRIx64
				    " is %02x in PROG, %02x in the rebuild (different compiler, "
				    "flags or source?)",
				    prog_path, b, buf[b], ob[b]);
				break;
			}
		}
		free(buf);
		free(mask);
		free(x);
	}
	return 0;
}

static void check_producer(struct unit *u, const char *prog_path, struct create_report *r,
			   bool *prog_has_dwarf)
{
	char pp[2048], po[2048], d[600];

	producer_of(prog_path, u->o.file, pp, sizeof(pp));
	if (!pp[0]) {
		*prog_has_dwarf = false;
		return;
	}
	producer_of(u->o.path, u->o.file, po, sizeof(po));
	producer_norm(pp);
	producer_norm(po);
	if (!po[0] || !strcmp(pp, po))
		return;
	producer_diff(po, pp, d, sizeof(d));
	report_add(r, CREATE_REFUSED, u->o.file, u->o.file,
		   "compiler or flags differ from PROG's DW_AT_producer: %s", d);
}

/* ---- the whole run ---- */

/* ---- reuse of the original build (--workdir) ---- */

static uint64_t tree_hash;
static size_t tree_off;

static void fnv(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		tree_hash = (tree_hash ^ c[i]) * 0x100000001b3ull;
}

static int tree_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)flag;
	(void)ftw;
	fnv(p + tree_off, strlen(p + tree_off) + 1);
	fnv(&st->st_mode, sizeof(st->st_mode));
	if (!S_ISDIR(st->st_mode)) {
		fnv(&st->st_size, sizeof(st->st_size));
		fnv(&st->st_mtim, sizeof(st->st_mtim));
	}
	return 0;
}

/*
 * What the original build depends on: the source tree (every name, size and
 * mtime), the build command, and this hotpatch binary (the wrapper's flags).
 */
static void orig_key(const struct create_opts *o, const char *self, char *buf, size_t size)
{
	struct stat st = {0};

	tree_hash = 0xcbf29ce484222325ull;
	tree_off = strlen(o->source);
	nftw(o->source, tree_one, 32, FTW_PHYS);
	if (stat("/proc/self/exe", &st)) /* the running file, even if replaced since */
		stat(self, &st);
	snprintf(buf, size, "source %s\nbuild %s\nhotpatch %s %lld %lld.%09ld\ntree %016llx\n",
		 o->source, o->build ? o->build : "", self, (long long)st.st_size,
		 (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (unsigned long long)tree_hash);
}

/* Does WORK/orig.key say that WORK/orig is the original build of this key? */
static bool orig_reusable(const char *work, const char *key)
{
	char path[PATH_MAX + 16], buf[2 * PATH_MAX + 512];
	struct stat st;
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/orig.key", work);
	FILE *f = fopen(path, "re");
	if (f) {
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
	}
	buf[n] = 0;
	snprintf(path, sizeof(path), "%s/orig", work);
	return n && !strcmp(buf, key) && !stat(path, &st) && S_ISDIR(st.st_mode);
}

static int make_workdir(const struct create_opts *o, struct create_report *r, bool keep_orig)
{
	if (o->workdir) {
		if (mkdir(o->workdir, 0700) && errno != EEXIST)
			return hp_err(errno, "%s: %s", o->workdir, strerror(errno));
		if (!realpath(o->workdir, r->workdir))
			return hp_err(errno, "%s: %s", o->workdir, strerror(errno));
		char b[PATH_MAX + 16];
		/* a previous run's directories */
		static const char *const sub[] = {"b",	      "orig",	     "patched",
						  "log-orig", "log-patched", "gen"};
		for (size_t i = 0; i < ARRAY_SIZE(sub); i++) {
			if (keep_orig && (!strcmp(sub[i], "orig") || !strcmp(sub[i], "log-orig")))
				continue;
			snprintf(b, sizeof(b), "%s/%s", r->workdir, sub[i]);
			rm_rf(b);
		}
		return 0;
	}
	const char *t = getenv("TMPDIR");
	snprintf(r->workdir, sizeof(r->workdir), "%s/hotpatch-create.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(r->workdir))
		return hp_err(errno, "%s: %s", r->workdir, strerror(errno));
	return 0;
}

static int open_units(const struct cc_log *lo, const struct cc_log *lp, const char *prog_base,
		      struct unit **units, size_t *nunits)
{
	struct unit *v = calloc(lp->nrec + 1, sizeof(*v));
	size_t n = 0;
	int err = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < lp->nrec && !err; i++) {
		const struct cc_rec *rp = &lp->rec[i];
		if (!in_program(lp, prog_base, rp->obj))
			continue;
		if (i && !strcmp(rp->key, lp->rec[i - 1].key))
			continue; /* compiled twice: the last record wins the same object */
		struct unit *u = &v[n];
		err = obj_open(rp->obj, false, &u->p);
		if (err)
			break;
		u->is_asm = rp->is_asm;
		for (size_t k = 0; k < lo->nrec; k++) {
			if (!strcmp(lo->rec[k].key, rp->key)) {
				err = obj_open(lo->rec[k].obj, false, &u->o);
				break;
			}
		}
		if (err) {
			obj_close(&u->p);
			break;
		}
		n++;
	}
	*units = v;
	*nunits = n;
	return err;
}

/*
 * A shared library has no main() to probe for a symbol table: its first
 * static function (in the original build's objects) must be found in it,
 * else it is stripped and its statics cannot be located.
 */
static int probe_symtab(const struct unit *u, size_t nu, struct elf_file *prog,
			const char *prog_path)
{
	const char *first = NULL, *ffile = NULL;
	unsigned tried = 0;

	for (size_t k = 0; k < nu && tried < 8; k++)
		for (size_t i = 1; u[k].o.elf && i < u[k].o.nsym && tried < 8; i++) {
			const struct osym *y = &u[k].o.sym[i];
			struct elf_sym es;
			if (!is_func(&y->s) || GELF_ST_BIND(y->s.st_info) != STB_LOCAL ||
			    strchr(y->name, '.'))
				continue;
			hp_err_quiet_begin();
			int e = elf_file_find(prog, y->name, u[k].o.file, ELF_SYM_FUNC, &es);
			hp_err_quiet_end();
			if (e != -HOTPATCH_E_NOSYM)
				return 0; /* found (or several: a symbol table all the same) */
			if (!tried++) {
				first = y->name;
				ffile = u[k].o.file;
			}
		}
	if (!tried)
		return 0;
	return hp_err(HOTPATCH_E_NOTSUP,
		      "%s: its static functions (%s of %s, ...) are not in its symbol table "
		      "(stripped?): the functions cannot be located; install its debug symbols "
		      "(/usr/lib/debug, or HOTPATCH_DEBUG_ROOT)",
		      prog_path, first, ffile);
}

int create_run(const struct create_opts *o, struct create_report *r)
{
	struct elf_file *prog = NULL;
	struct cc_log lo = {0}, lp = {0};
	struct unit *units = NULL;
	struct diffmap *dm = NULL;
	bool keep_dir = false;
	size_t nunits = 0;
	char self[PATH_MAX], work_b[PATH_MAX + 8], d_orig[PATH_MAX + 8], d_pat[PATH_MAX + 16];
	char prog_path[PATH_MAX], diff_abs[PATH_MAX], src_abs[PATH_MAX];
	struct stat st;
	int err;
	ssize_t sl;

	memset(r, 0, sizeof(*r));
	hp_err_clear();
	if (!realpath(o->source, src_abs) || stat(src_abs, &st) || !S_ISDIR(st.st_mode))
		return hp_err(ENOENT, "%s: not a directory", o->source);
	if (!realpath(o->diff, diff_abs) || access(diff_abs, R_OK))
		return hp_err(ENOENT, "%s: no such file", o->diff);
	if (!realpath(o->binary, prog_path))
		return hp_err(ENOENT, "%s: no such file", o->binary);
	err = elf_file_open(prog_path, NULL, &prog);
	if (err)
		return err;
	if (elf_file_build_id(prog, r->build_id)) {
		elf_file_free(prog);
		return hp_err(HOTPATCH_E_NOTSUP,
			      "%s: no GNU build-id: the patch could not be pinned to it",
			      prog_path);
	}
	/*
	 * A shared library (it has a DT_SONAME): every descriptor names it
	 * and the pin is its build-id. Every executable has a main(), in .symtab
	 * or its debuginfo: none means stripped. A library's symbol table is
	 * probed later, with a static function of its objects (probe_symtab).
	 */
	{
		struct elf_sym ms;
		const char *so = elf_file_soname(prog);
		hp_err_quiet_begin();
		bool has_main = !elf_file_find(prog, "main", NULL, ELF_SYM_FUNC, &ms);
		hp_err_quiet_end();
		if (so) {
			hp_strlcpy(r->object, so, sizeof(r->object));
		} else if (!has_main) {
			elf_file_free(prog);
			return hp_err(HOTPATCH_E_NOTSUP,
				      "%s: no symbol table and no debuginfo found (stripped?): the "
				      "functions cannot be located; install its debug symbols "
				      "(/usr/lib/debug, or HOTPATCH_DEBUG_ROOT)",
				      prog_path);
		}
	}
	sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (sl <= 0) {
		elf_file_free(prog);
		return hp_err(errno, "cannot find the hotpatch executable: %s", strerror(errno));
	}
	self[sl] = 0;

	struct create_opts oo = *o;
	oo.source = src_abs;
	oo.diff = diff_abs;
	char key[2 * PATH_MAX + 512], wd[PATH_MAX];
	bool reuse = false;
	orig_key(&oo, self, key, sizeof(key));
	if (o->workdir && realpath(o->workdir, wd))
		reuse = orig_reusable(wd, key);
	err = make_workdir(o, r, reuse);
	if (err)
		goto out;
	snprintf(work_b, sizeof(work_b), "%s/b", r->workdir);
	snprintf(d_orig, sizeof(d_orig), "%s/orig", r->workdir);
	snprintf(d_pat, sizeof(d_pat), "%s/patched", r->workdir);
	if (reuse) {
		hp_info("reusing the original build in %s", r->workdir);
		report_add(r, CREATE_NOTE, "", "",
			   "the original build of %s/orig was reused (same source tree, build "
			   "command and hotpatch)",
			   r->workdir);
	} else {
		char kp[PATH_MAX + 16];
		snprintf(kp, sizeof(kp), "%s/orig.key", r->workdir);
		unlink(kp);
		hp_info("building the original in %s", r->workdir);
		err = build_one(&oo, r->workdir, "orig", false, self);
		FILE *kf = err ? NULL : fopen(kp, "we");
		if (kf && (fputs(key, kf) < 0) + fclose(kf))
			unlink(kp);
	}
	if (!err) {
		hp_info("building the patched source");
		err = build_one(&oo, r->workdir, "patched", true, self);
	}
	keep_dir = err != 0; /* its logs say why */
	if (!err) {
		char lg[PATH_MAX + 16];
		snprintf(lg, sizeof(lg), "%s/log-orig", r->workdir);
		err = cc_log_read(lg, work_b, d_orig, &lo);
		snprintf(lg, sizeof(lg), "%s/log-patched", r->workdir);
		if (!err)
			err = cc_log_read(lg, work_b, d_pat, &lp);
	}
	if (!err && !lp.nrec)
		err = hp_err(HOTPATCH_E_NOTSUP,
			     "the build compiled nothing through 'hotpatch cc' (does it use $CC?)");
	if (err)
		goto out;
	const char *pb = strrchr(prog_path, '/');
	const char *ob = strrchr(o->binary, '/');
	/* the link output named like the binary given (it may be a symlink to the real file) */
	err = open_units(&lo, &lp, ob ? ob + 1 : o->binary, &units, &nunits);
	(void)pb;
	if (err)
		goto out;

	if (r->object[0]) {
		err = probe_symtab(units, nunits, prog, prog_path);
		if (err)
			goto out;
	}
	err = diffmap_read(diff_abs, &dm);
	if (err)
		goto out;
	bool has_dwarf = true;
	size_t nchanged = 0;
	for (size_t i = 0; i < nunits; i++) {
		classify(&units[i], r, dm, prog, prog_path);
		if (units[i].o.elf)
			fidelity(&units[i], prog, prog_path, r);
	}
	one_copy_each(units, nunits);
	for (size_t i = 0; i < nunits; i++) {
		bool any = false;
		for (size_t k = 1; k < units[i].p.nsym; k++) {
			int v = units[i].p.sym[k].verdict;
			if (v == FS_CHANGED && !is_cold(units[i].p.sym[k].name))
				any = true;
			if (v == FS_CHANGED || v == FS_NEW)
				nchanged++;
		}
		if (any)
			check_producer(&units[i], prog_path, r, &has_dwarf);
		if (units[i].gen && units[i].o.elf)
			check_layouts(&units[i], r);
	}
	if (!has_dwarf)
		report_add(r, CREATE_NOTE, "", "",
			   "%s has no DWARF: the compiler flags were not compared (the bytes were)",
			   prog_path);
	if (r->nrefused) {
		err = hp_err(HOTPATCH_E_NOTSUP, "refused: %u reason%s, no patch written",
			     r->nrefused, r->nrefused == 1 ? "" : "s");
		goto out;
	}
	if (!nchanged) {
		err = hp_err(HOTPATCH_E_NOTSUP,
			     "the fix changes no function of %s: nothing to patch", prog_path);
		goto out;
	}
	if (o->out)
		hp_strlcpy(r->out, o->out, sizeof(r->out));
	else {
		const char *db = strrchr(diff_abs, '/');
		db = db ? db + 1 : diff_abs;
		size_t l = strlen(db);
		if (l > 6 && !strcmp(db + l - 6, ".patch"))
			l -= 6;
		else if (l > 5 && !strcmp(db + l - 5, ".diff"))
			l -= 5;
		snprintf(r->out, sizeof(r->out), "%.*s.so", (int)l, db);
	}
	err = gen_patch(units, nunits, prog, prog_path, r->workdir, r->out, r);
	if (err) {
		unlink(r->out);
		r->out[0] = 0;
		goto out;
	}
	struct patch_file pf;
	err = patch_file_read(r->out, &pf);
	if (err) {
		unlink(r->out);
		r->out[0] = 0;
		goto out;
	}
	patch_file_release(&pf);
out:
	for (size_t i = 0; i < nunits; i++) {
		obj_close(&units[i].o);
		obj_close(&units[i].p);
	}
	free(units);
	diffmap_free(dm);
	cc_log_release(&lo);
	cc_log_release(&lp);
	elf_file_free(prog);
	if (!o->keep && !o->workdir && r->workdir[0] && !keep_dir) {
		rm_rf(r->workdir);
		r->workdir[0] = 0;
	}
	return err;
}
