# Unit tests of the aggregation core (Criterion; label unit, also run under
# ASan+UBSan), and the promtool check (label integration).
foreach(t series hist expo alog summary agg)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
    add_executable(test_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
    target_link_libraries(test_${t} PRIVATE tokenring_core PkgConfig::CRITERION m
      PkgConfig::CJSON tokenring_warnings)
    target_compile_definitions(test_${t} PRIVATE CORE_TEST_DIR="${CMAKE_CURRENT_LIST_DIR}")
    add_test(NAME core_${t} COMMAND test_${t})
    set_tests_properties(core_${t} PROPERTIES LABELS "unit")
  endif()
endforeach()

# Render a known set of records in every family and lint it with promtool.
add_executable(test_expo_render ${CMAKE_CURRENT_LIST_DIR}/test_expo_render.c)
target_link_libraries(test_expo_render PRIVATE tokenring_core tokenring_warnings)
find_program(PROMTOOL promtool)
add_test(NAME core_promtool
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_promtool.sh $<TARGET_FILE:test_expo_render>)
set_tests_properties(core_promtool PROPERTIES LABELS "integration")

# libFuzzer target over the whole core (records of any bytes in, every
# output checked), built with clang whatever compiles the rest, run for a
# bounded time as a test (label fuzz). Seeds in test_fuzz_core_corpus/.
find_program(TOKENRING_CLANG NAMES clang clang-14)
get_target_property(_core_srcs tokenring_core SOURCES)
if(TOKENRING_CLANG AND NOT TOKENRING_SANITIZE)
  set(_core_fuzz_srcs ${CMAKE_CURRENT_LIST_DIR}/test_fuzz_core.c ${_core_srcs}
    ${PROJECT_SOURCE_DIR}/shm/record.c)
  add_custom_command(OUTPUT fuzz_core
    COMMAND ${TOKENRING_CLANG} -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE
      -I${PROJECT_SOURCE_DIR}/aggregator -I${PROJECT_SOURCE_DIR}/shm ${_core_fuzz_srcs}
      -lcjson -o fuzz_core
    DEPENDS ${_core_fuzz_srcs}
    COMMENT "Building the aggregation core fuzzer with clang")
  add_custom_target(fuzz_core_bin ALL DEPENDS fuzz_core)
  add_test(NAME core_fuzz COMMAND ${PROJECT_SOURCE_DIR}/tests/shm/run_fuzzer.sh
    ${CMAKE_CURRENT_BINARY_DIR}/fuzz_core ${CMAKE_CURRENT_LIST_DIR}/test_fuzz_core_corpus 15)
  set_tests_properties(core_fuzz PROPERTIES LABELS "fuzz" TIMEOUT 120)
endif()
