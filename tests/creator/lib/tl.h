/* tl.h - the interface of the test library libtl.so.1. */
int tl_value(int n);
int tl_calls(void);
const char *tl_stamp(void);
