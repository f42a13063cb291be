# tokenringd tests: config parsing and the HTTP request parser (unit,
# Criterion), and the daemon end to end (integration: ring_writer feeds a
# real ring, curl/promtool/Prometheus read the daemon).
add_executable(ring_writer ring_writer.c)
target_link_libraries(ring_writer PRIVATE tokenring_shm PkgConfig::CJSON tokenring_warnings)

if(TARGET tokenringd_lib AND CRITERION_FOUND)
  foreach(t test_config test_httpd_parse)
    add_executable(${t} ${t}.c)
    target_link_libraries(${t} PRIVATE tokenringd_lib PkgConfig::CRITERION tokenring_warnings)
  endforeach()
  add_test(NAME daemon_config COMMAND test_config)
  add_test(NAME daemon_httpd_parse COMMAND test_httpd_parse)
  set_tests_properties(daemon_config daemon_httpd_parse PROPERTIES LABELS "unit")
endif()

if(TARGET tokenringd AND NOT TOKENRING_SANITIZE)
  find_package(Python3 COMPONENTS Interpreter)
  set(_py /usr/bin/python3)
  if(NOT EXISTS ${_py})
    set(_py ${Python3_EXECUTABLE})
  endif()
  add_test(NAME daemon_integration
    COMMAND ${_py} ${CMAKE_CURRENT_SOURCE_DIR}/test_daemon.py -v)
  set(_env "TOKENRINGD=$<TARGET_FILE:tokenringd>;RING_WRITER=$<TARGET_FILE:ring_writer>"
    "TOKENRING_SRC=${PROJECT_SOURCE_DIR}")
  if(TARGET tokenring) # the shim: the end-to-end case runs curl under it
    list(APPEND _env "TOKENRING_SHIM=$<TARGET_FILE:tokenring>")
  endif()
  set_tests_properties(daemon_integration PROPERTIES LABELS "integration" TIMEOUT 120
    ENVIRONMENT "${_env}")
endif()
