# tokenringd tests: config parsing and the HTTP request parser (unit,
# Criterion), and the daemon end to end (integration: ring_writer feeds a
# real ring, curl/promtool/Prometheus read the daemon).
add_executable(ring_writer ring_writer.c)
target_link_libraries(ring_writer PRIVATE tokenring_shm PkgConfig::CJSON tokenring_warnings)

foreach(t test_config test_httpd_parse)
  add_executable(${t} ${t}.c)
  target_link_libraries(${t} PRIVATE tokenringd_lib PkgConfig::CRITERION tokenring_warnings)
endforeach()
add_test(NAME daemon_config COMMAND test_config)
add_test(NAME daemon_httpd_parse COMMAND test_httpd_parse)
set_tests_properties(daemon_config daemon_httpd_parse PROPERTIES LABELS "unit")

# Integration: release builds only (the sanitizer builds run label unit).
if(NOT TOKENRING_SANITIZE)
  add_test(NAME daemon_integration
    COMMAND ${TOKENRING_PYTHON3} ${CMAKE_CURRENT_SOURCE_DIR}/test_daemon.py -v)
  set_tests_properties(daemon_integration PROPERTIES LABELS "integration" TIMEOUT 120
    SKIP_RETURN_CODE ${TOKENRING_SKIP_CODE}
    ENVIRONMENT "TOKENRINGD=$<TARGET_FILE:tokenringd>;RING_WRITER=$<TARGET_FILE:ring_writer>;TOKENRING_SHIM=$<TARGET_FILE:tokenring>;TOKENRING_SRC=${PROJECT_SOURCE_DIR}")
endif()
