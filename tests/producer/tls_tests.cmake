# TLS plaintext interposition (issue 8): real HTTPS clients and servers
# under LD_PRELOAD. tls_probe calls OpenSSL's API directly, so it needs
# libssl-dev (scripts/apt/tls.txt); the shim itself needs no TLS headers.
include(${PROJECT_SOURCE_DIR}/tests/tools/tools.cmake)

# The fd table's TLS entry points, linked directly (no LD_PRELOAD).
add_executable(tls_test_fdtable ${CMAKE_CURRENT_LIST_DIR}/tls_test_fdtable.c)
target_link_libraries(tls_test_fdtable PRIVATE tokenring_shim_core tokenring_warnings
  PkgConfig::CRITERION)
add_test(NAME tls_fdtable COMMAND tls_test_fdtable)
set_tests_properties(tls_fdtable PROPERTIES LABELS "unit")
# plain pthreads: also runs under ThreadSanitizer (Criterion cannot)
add_executable(tls_fdtable_stress ${CMAKE_CURRENT_LIST_DIR}/tls_fdtable_stress.c)
target_link_libraries(tls_fdtable_stress PRIVATE tokenring_shim_core tokenring_warnings
  Threads::Threads)
add_test(NAME tls_fdtable_stress COMMAND tls_fdtable_stress)
set_tests_properties(tls_fdtable_stress PROPERTIES LABELS "unit;tsan")

find_package(OpenSSL COMPONENTS SSL)
if(NOT OpenSSL_FOUND)
  message(FATAL_ERROR "OpenSSL headers not found (tls_probe calls its API): install Debian "
    "package libssl-dev (listed in scripts/apt/tls.txt; scripts/deps.sh installs every list)")
endif()
add_executable(tls_probe ${CMAKE_CURRENT_LIST_DIR}/tls_probe.c)
target_link_libraries(tls_probe PRIVATE OpenSSL::SSL tokenring_warnings)
target_compile_definitions(tls_probe PRIVATE _GNU_SOURCE)
target_link_libraries(tls_probe PRIVATE ${CMAKE_DL_LIBS})
# A stand-in "libssl" (OpenSSL's names, its own struct) and a module
# linked to it: two TLS libraries in one process (tls_probe PORT MODULE).
add_library(tls_twin_ssl SHARED ${CMAKE_CURRENT_LIST_DIR}/tls_twin_ssl.c)
target_link_libraries(tls_twin_ssl PRIVATE tokenring_warnings)
target_link_options(tls_twin_ssl PRIVATE
  -Wl,--version-script=${CMAKE_CURRENT_LIST_DIR}/tls_twin_ssl.map)
set_target_properties(tls_twin_ssl PROPERTIES
  LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/tls_twin_ssl.map)
add_library(tls_twin_client MODULE ${CMAKE_CURRENT_LIST_DIR}/tls_twin_client.c)
target_link_libraries(tls_twin_client PRIVATE tls_twin_ssl tokenring_warnings)
add_test(NAME tls_integration
  COMMAND ${TOKENRING_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/test_tls_integration.py
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(tls_integration PROPERTIES LABELS "integration" TIMEOUT 120
  SKIP_RETURN_CODE ${TOKENRING_SKIP_CODE}
  ENVIRONMENT "TOKENRING_SHIM=$<TARGET_FILE:tokenring>;TOKENRING_CAPTURE=$<TARGET_FILE:ring_capture>;TOKENRING_PROBE=$<TARGET_FILE:shim_probe>;TOKENRING_EARLY=$<TARGET_FILE:shim_early_ctor>;TOKENRING_TLS_PROBE=$<TARGET_FILE:tls_probe>;TOKENRING_TLS_TWIN=$<TARGET_FILE:tls_twin_client>;TOKENRING_SRC=${PROJECT_SOURCE_DIR}")
