# Unit tests of proto/ and the connection tracker (tokenring_conn): the
# corpus replays, framer and extractor edge cases, garbage input, and the
# cJSON differential oracle. Their fuzz targets live in tests/fuzz.
set(_pt ${CMAKE_CURRENT_LIST_DIR})
add_library(tokenring_parse_testsupport STATIC ${_pt}/test_support.c)
target_link_libraries(tokenring_parse_testsupport PUBLIC tokenring_conn tokenring_shm
  PRIVATE tokenring_warnings)
foreach(t corpus conn conn_emit conn_quiet garbage llm_json llm_json_index llm_route llm_shape)
  add_executable(test_${t} ${_pt}/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE tokenring_parse_testsupport tokenring_conn
    tokenring_shm tokenring_warnings PkgConfig::CRITERION PkgConfig::CJSON)
  target_compile_definitions(test_${t} PRIVATE CORPUS_DIR="${_pt}/corpus")
  add_test(NAME parse_${t} COMMAND test_${t})
  set_tests_properties(parse_${t} PROPERTIES LABELS "unit")
endforeach()

# The same scanner and index tests on the block index's portable loop
# (JIDX_SCALAR: what a build without SSE2 runs), so that it cannot rot: the
# scanner's two files compiled into the test, before the library's copies.
set(_proto ${PROJECT_SOURCE_DIR}/proto)
foreach(t llm_json llm_json_index)
  add_executable(test_${t}_scalar ${_pt}/test_${t}.c ${_proto}/llm_json.c
    ${_proto}/llm_json_index.c)
  target_link_libraries(test_${t}_scalar PRIVATE tokenring_parse_testsupport tokenring_conn
    tokenring_shm tokenring_warnings PkgConfig::CRITERION PkgConfig::CJSON)
  target_compile_definitions(test_${t}_scalar PRIVATE JIDX_SCALAR=1)
  add_test(NAME parse_${t}_scalar COMMAND test_${t}_scalar)
  set_tests_properties(parse_${t}_scalar PROPERTIES LABELS "unit")
endforeach()

# The index tests once more with the block bits made by AVX2 (the
# header's inline functions compiled with -mavx2; the library's AVX2 skip,
# llm_json_index_avx2.c, is crossed by every build's skip tests through
# jidx_variant). Its main runs them only where the CPU has AVX2, and
# elsewhere exits 77 with the reason: CTest shows the test skipped.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  add_library(test_llm_json_index_avx2_main OBJECT ${_pt}/test_llm_json_index_avx2_main.c)
  target_link_libraries(test_llm_json_index_avx2_main PRIVATE PkgConfig::CRITERION
    tokenring_warnings)
  add_executable(test_llm_json_index_avx2 ${_pt}/test_llm_json_index.c
    $<TARGET_OBJECTS:test_llm_json_index_avx2_main>)
  target_link_libraries(test_llm_json_index_avx2 PRIVATE tokenring_parse_testsupport
    tokenring_conn tokenring_shm tokenring_warnings PkgConfig::CRITERION PkgConfig::CJSON)
  target_compile_definitions(test_llm_json_index_avx2 PRIVATE JIDX_TEST_AVX2=1)
  target_compile_options(test_llm_json_index_avx2 PRIVATE -mavx2)
  add_test(NAME parse_llm_json_index_avx2 COMMAND test_llm_json_index_avx2)
  set_tests_properties(parse_llm_json_index_avx2 PROPERTIES LABELS "unit"
    SKIP_RETURN_CODE 77)
endif()

# Differential framing test against Debian's libhttp-parser (test-only
# oracle): required, so the framer is never left unchecked quietly.
find_library(HTTP_PARSER_LIB http_parser)
find_path(HTTP_PARSER_INCLUDE http_parser.h)
if(NOT HTTP_PARSER_LIB OR NOT HTTP_PARSER_INCLUDE)
  message(FATAL_ERROR "libhttp-parser not found (the framer's differential test oracle): "
    "install Debian package libhttp-parser-dev (listed in scripts/apt/parse.txt; "
    "scripts/deps.sh installs every list)")
endif()
add_executable(test_http_oracle ${_pt}/test_http_oracle.c ${_pt}/test_http_oracle_lib.c)
target_include_directories(test_http_oracle PRIVATE ${HTTP_PARSER_INCLUDE})
target_link_libraries(test_http_oracle PRIVATE tokenring_parse_testsupport tokenring_conn
  tokenring_shm tokenring_warnings PkgConfig::CRITERION ${HTTP_PARSER_LIB})
add_test(NAME parse_http_oracle COMMAND test_http_oracle)
set_tests_properties(parse_http_oracle PROPERTIES LABELS "unit")

# The scanner's lazily built key index, raced by threads from a fresh
# process (plain pthreads: also run under ThreadSanitizer).
add_executable(jscan_key_race ${_pt}/jscan_key_race.c)
target_link_libraries(jscan_key_race PRIVATE tokenring_conn tokenring_warnings Threads::Threads)
add_test(NAME parse_jscan_key_race COMMAND jscan_key_race)
set_tests_properties(parse_jscan_key_race PROPERTIES LABELS "unit;tsan")
