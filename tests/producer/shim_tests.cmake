# Tests of the interposition layer and of libtokenring.so as a whole.
#   unit:        identity rules (Criterion)
#   integration: real clients and servers under LD_PRELOAD, records read
#                back from a ring with tests/tools/ring_capture
include(${PROJECT_SOURCE_DIR}/tests/tools/tools.cmake)

add_executable(test_shim_identity ${CMAKE_CURRENT_LIST_DIR}/test_shim_identity.c)
target_link_libraries(test_shim_identity PRIVATE tokenring_identity tokenring_warnings
  PkgConfig::CRITERION)
add_test(NAME shim_identity COMMAND test_shim_identity)
set_tests_properties(shim_identity PROPERTIES LABELS "unit")

add_executable(test_shim_fdtable ${CMAKE_CURRENT_LIST_DIR}/test_shim_fdtable.c)
target_link_libraries(test_shim_fdtable PRIVATE tokenring_shim_core tokenring_warnings
  PkgConfig::CRITERION Threads::Threads)
add_test(NAME shim_fdtable COMMAND test_shim_fdtable)
set_tests_properties(shim_fdtable PROPERTIES LABELS "unit")
# plain pthreads: also runs under ThreadSanitizer (Criterion cannot)
add_executable(shim_fdtable_stress ${CMAKE_CURRENT_LIST_DIR}/shim_fdtable_stress.c)
target_link_libraries(shim_fdtable_stress PRIVATE tokenring_shim_core tokenring_warnings
  Threads::Threads)
add_test(NAME shim_fdtable_stress COMMAND shim_fdtable_stress)
set_tests_properties(shim_fdtable_stress PROPERTIES LABELS "unit;tsan")

add_executable(shim_probe ${CMAKE_CURRENT_LIST_DIR}/shim_probe.c)
target_link_libraries(shim_probe PRIVATE tokenring_warnings)
add_library(shim_early_ctor MODULE ${CMAKE_CURRENT_LIST_DIR}/shim_early_ctor.c)
target_link_libraries(shim_early_ctor PRIVATE tokenring_warnings)
# One driver (Python unittest) runs every integration case; each case
# starts its own ring and servers on free ports.
add_test(NAME shim_integration
  COMMAND ${TOKENRING_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/test_shim_integration.py
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(shim_integration PROPERTIES LABELS "integration" TIMEOUT 120
  SKIP_RETURN_CODE ${TOKENRING_SKIP_CODE}
  ENVIRONMENT "TOKENRING_SHIM=$<TARGET_FILE:tokenring>;TOKENRING_CAPTURE=$<TARGET_FILE:ring_capture>;TOKENRING_PROBE=$<TARGET_FILE:shim_probe>;TOKENRING_EARLY=$<TARGET_FILE:shim_early_ctor>;TOKENRING_SRC=${PROJECT_SOURCE_DIR}")
