/*
 * llm_json_index_avx2.c - the skip of llm_json_index.c with a block's
 * bits made 32 bytes an instruction: this file is compiled with -mavx2,
 * and llm_json_index.c calls it only on CPUs that have AVX2.
 */
#define JIDX_SKIP jidx_skip_avx2
#include "llm_json_index_walk.h"
