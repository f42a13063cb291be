# Every libFuzzer target (tests/fuzz/CMakeLists.txt), built by a sub-build
# of this source tree with clang, whatever compiler builds the rest, into
# ${CMAKE_BINARY_DIR}/fuzz; each target then runs as a test for a bounded
# time over a copy of its committed corpus (label fuzz). Campaigns:
# tests/fuzz/run.sh -c (docs/reliability.md). Included from
# tests/CMakeLists.txt when TOKENRING_FUZZ is on.
find_program(TOKENRING_CLANG NAMES clang clang-14)
if(NOT TOKENRING_CLANG)
  message(FATAL_ERROR "TOKENRING_FUZZ needs clang (libFuzzer): install Debian package clang "
    "(listed in scripts/apt/base.txt; scripts/deps.sh installs every list), or configure "
    "with -DTOKENRING_FUZZ=OFF")
endif()
set(TOKENRING_FUZZERS fuzz_http fuzz_llm fuzz_conn fuzz_ring fuzz_core fuzz_httpd_parse
  fuzz_config fuzz_body fuzz_evstream)
# These two runs also write rows of docs/reliability.md (run_fuzz.sh).
set(_recorded fuzz_httpd_parse fuzz_config)
set(_bin ${CMAKE_BINARY_DIR}/fuzz/tests/fuzz)

include(ExternalProject)
ExternalProject_Add(tokenring_fuzzers
  SOURCE_DIR ${PROJECT_SOURCE_DIR}
  BINARY_DIR ${CMAKE_BINARY_DIR}/fuzz
  CMAKE_ARGS -DCMAKE_C_COMPILER=${TOKENRING_CLANG} -DTOKENRING_FUZZ_BUILD=ON
    -DBUILD_TESTING=OFF -DTOKENRING_FUZZ=OFF -DCMAKE_BUILD_TYPE=Fuzz
    "-DCMAKE_C_FLAGS_FUZZ=-g -O1" -DTOKENRING_SANITIZE=fuzzer-no-link,address,undefined
  INSTALL_COMMAND ""
  BUILD_ALWAYS ON)

foreach(t ${TOKENRING_FUZZERS})
  if(t IN_LIST _recorded)
    add_test(NAME ${t} COMMAND ${PROJECT_SOURCE_DIR}/tests/reliability/run_fuzz.sh
      ${_bin} ${t} 10 ${REL_RESULTS}/${t}.json)
    set_tests_properties(${t} PROPERTIES FIXTURES_SETUP reliability_fuzz_results)
  else()
    add_test(NAME ${t} COMMAND ${CMAKE_CURRENT_LIST_DIR}/run.sh -s 10 ${_bin} ${t})
  endif()
  set_tests_properties(${t} PROPERTIES LABELS "fuzz" TIMEOUT 300)
endforeach()
