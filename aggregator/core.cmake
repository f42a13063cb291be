# The aggregation core: pure code (no I/O), linked by tokenringd and tests.
add_library(tokenring_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/strbuf.c
  ${CMAKE_CURRENT_LIST_DIR}/esc.c
  ${CMAKE_CURRENT_LIST_DIR}/hist.c
  ${CMAKE_CURRENT_LIST_DIR}/series.c
  ${CMAKE_CURRENT_LIST_DIR}/agg.c
  ${CMAKE_CURRENT_LIST_DIR}/agg_tuple.c
  ${CMAKE_CURRENT_LIST_DIR}/agg_ingest.c
  ${CMAKE_CURRENT_LIST_DIR}/mcp.c
  ${CMAKE_CURRENT_LIST_DIR}/expo.c
  ${CMAKE_CURRENT_LIST_DIR}/expo_tokenring.c
  ${CMAKE_CURRENT_LIST_DIR}/expo_gen_ai.c
  ${CMAKE_CURRENT_LIST_DIR}/expo_asm.c
  ${CMAKE_CURRENT_LIST_DIR}/expo_istio.c
  ${CMAKE_CURRENT_LIST_DIR}/expo_kgateway.c
  ${CMAKE_CURRENT_LIST_DIR}/expo_self.c
  ${CMAKE_CURRENT_LIST_DIR}/cover.c
  ${CMAKE_CURRENT_LIST_DIR}/expo_cover.c
  ${CMAKE_CURRENT_LIST_DIR}/expo_pb.c
  ${CMAKE_CURRENT_LIST_DIR}/pb.c
  ${CMAKE_CURRENT_LIST_DIR}/otlp_json.c
  ${CMAKE_CURRENT_LIST_DIR}/otlp_delta.c
  ${CMAKE_CURRENT_LIST_DIR}/alog.c
  ${CMAKE_CURRENT_LIST_DIR}/summary.c)
target_include_directories(tokenring_core PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(tokenring_core PUBLIC tokenring_shm PkgConfig::CJSON
  PRIVATE tokenring_warnings)
# xxHash is inlined (XXH_INLINE_ALL): libxxhash-dev's header only.
