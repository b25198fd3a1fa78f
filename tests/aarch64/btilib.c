/*
 * libbti.so of the guest's bti test: built with -mbranch-protection=standard and without the
 * start files (Debian's crti/crtbegin carry no BTI property), so the object is BTI-marked
 * (GNU property "AArch64 feature: BTI, PAC") and the loader maps its code with PROT_BTI on a CPU
 * with BTI. bti_pac starts with PACIASP (it calls), bti_leaf with BTI c (a leaf).
 * Originals: bti_pac(3) = 4, bti_leaf(3) = 7.
 */
volatile int bti_sink;

__attribute__((noinline, noipa)) static void bti_note(int x)
{
	bti_sink = x;
}

__attribute__((noinline)) int bti_pac(int x)
{
	bti_note(x);
	return x + 1 + (bti_sink & 0);
}

__attribute__((noinline)) int bti_leaf(int x)
{
	return 2 * x + 1 + (bti_sink & 0);
}
