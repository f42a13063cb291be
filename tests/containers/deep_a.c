/* deep_a.c - libtc_deep_a.so, opened by deep_main.c with RTLD_DEEPBIND:
 * asks which tc_who its scope binds to, and (tc_http.c, linked in) makes
 * HTTP exchanges with send/recv from inside the deep-bound library. */
const char *tc_who(void);
const char *tc_a_who(void);
const char *tc_a_who(void) { return tc_who(); }
