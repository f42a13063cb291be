# libFuzzer targets for the daemon's parsers of untrusted input: the HTTP
# request-head parser (any client of the metrics port) and the config
# parsers (JSON file and command line). Built with clang (ASan + UBSan) as
# tests/shm/fuzz.cmake does, run for a bounded time as tests (label fuzz)
# over a copy of the committed seeds; each run records its figures.
find_program(TOKENRING_CLANG NAMES clang clang-14)
if(TOKENRING_CLANG AND NOT TOKENRING_SANITIZE)
  set(_agg ${PROJECT_SOURCE_DIR}/aggregator)
  set(_shm ${PROJECT_SOURCE_DIR}/shm)
  set(_flags -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
    -D_GNU_SOURCE -DTOKENRING_VERSION="${PROJECT_VERSION}" -I${_agg} -I${_shm})
  set(_core ${_agg}/strbuf.c ${_agg}/esc.c ${_agg}/hist.c ${_agg}/series.c ${_agg}/agg.c
    ${_agg}/expo.c ${_agg}/expo_tokenring.c ${_agg}/expo_gen_ai.c ${_agg}/expo_asm.c
    ${_agg}/expo_istio.c ${_agg}/expo_kgateway.c ${_agg}/expo_self.c ${_agg}/expo_pb.c
    ${_agg}/cover.c ${_agg}/expo_cover.c
    ${_agg}/pb.c ${_agg}/otlp_json.c ${_agg}/alog.c
    ${_agg}/summary.c ${_shm}/record.c ${_shm}/ring_file.c ${_shm}/ring_queue.c
    ${_shm}/ring_producers.c ${_shm}/ring_checksum.c)
  set(_fuzz_httpd_parse_srcs ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_httpd_parse.c
    ${_agg}/httpd_parse.c ${_agg}/strbuf.c)
  set(_fuzz_config_srcs ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_config.c ${_agg}/config.c
    ${_agg}/otlp_export.c ${_core})
  set(_avx2 ${CMAKE_CURRENT_BINARY_DIR}/rel_fuzz_avx2.o)
  add_custom_command(OUTPUT ${_avx2}
    COMMAND ${TOKENRING_CLANG} ${_flags} -mavx2 -c ${_shm}/ring_checksum_avx2.c -o ${_avx2}
    DEPENDS ${_shm}/ring_checksum_avx2.c)
  add_custom_target(rel_fuzz_avx2 DEPENDS ${_avx2}) # one owner of the object
  set(_fuzz_httpd_parse_extra "")
  set(_fuzz_config_extra ${_avx2} -lcjson -lm -lz -lpthread)
  foreach(t fuzz_httpd_parse fuzz_config)
    add_custom_command(OUTPUT ${t}
      COMMAND ${TOKENRING_CLANG} ${_flags} ${_${t}_srcs} ${_${t}_extra} -o ${t}
      DEPENDS ${_${t}_srcs} ${_avx2} ${_agg}/httpd.h ${_agg}/config.h ${_agg}/agg.h
      COMMENT "Building ${t} with clang")
    add_custom_target(${t}_bin ALL DEPENDS ${t})
    add_dependencies(${t}_bin rel_fuzz_avx2)
    add_test(NAME reliability_${t} COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/run_fuzz.sh
      ${CMAKE_CURRENT_BINARY_DIR}/${t} ${CMAKE_CURRENT_SOURCE_DIR}/${t}_corpus 10
      ${REL_RESULTS}/${t}.json)
  endforeach()
endif()
