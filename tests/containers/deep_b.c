/* deep_b.c - libtc_deep_b.so: a dependency of libtc_deep_a.so defining a
 * name the main program defines too (deep_main.c says why). */
const char *tc_who(void);
const char *tc_who(void) { return "b"; }
