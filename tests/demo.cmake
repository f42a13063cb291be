# demo/llm_server.py and demo/traffic.py (Python standard library, plus
# Debian's python3-requests / python3-httpx: scripts/apt/demo.txt).
# Included from tests/CMakeLists.txt.
foreach(suite llm_server llm_http clients)
  add_test(NAME demo_${suite}
    COMMAND ${TOKENRING_PYTHON3} test_${suite}.py -v
    WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR}/demo)
  set_tests_properties(demo_${suite} PROPERTIES LABELS "integration" TIMEOUT 120
    SKIP_RETURN_CODE ${TOKENRING_SKIP_CODE})
endforeach()

# The README's main command, minus install and build: the whole product on
# the real binaries; fails if any model's numbers differ from the client's.
add_test(NAME demo_end_to_end
  COMMAND ${PROJECT_SOURCE_DIR}/demo/run_demo.sh ${CMAKE_BINARY_DIR} --requests 80)
set_tests_properties(demo_end_to_end PROPERTIES LABELS "integration" TIMEOUT 120)
