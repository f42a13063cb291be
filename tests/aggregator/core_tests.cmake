# Unit tests of the aggregation core (Criterion; label unit, also run under
# ASan+UBSan), and the promtool check (label integration; promtool is
# Debian's prometheus package, scripts/apt/core.txt). The core's fuzz
# target is tests/fuzz/fuzz_core.c.
foreach(t series hist expo alog summary agg mcp)
  add_executable(test_${t} ${CMAKE_CURRENT_LIST_DIR}/test_${t}.c)
  target_link_libraries(test_${t} PRIVATE tokenring_core PkgConfig::CRITERION m
    PkgConfig::CJSON tokenring_warnings)
  target_compile_definitions(test_${t} PRIVATE CORE_TEST_DIR="${CMAKE_CURRENT_LIST_DIR}")
  add_test(NAME core_${t} COMMAND test_${t})
  set_tests_properties(core_${t} PROPERTIES LABELS "unit")
endforeach()

# Render a known set of records in every family and lint it with promtool.
add_executable(test_expo_render ${CMAKE_CURRENT_LIST_DIR}/test_expo_render.c)
target_link_libraries(test_expo_render PRIVATE tokenring_core tokenring_warnings)
add_test(NAME core_promtool
  COMMAND ${CMAKE_CURRENT_LIST_DIR}/test_promtool.sh $<TARGET_FILE:test_expo_render>)
set_tests_properties(core_promtool PROPERTIES LABELS "integration")
