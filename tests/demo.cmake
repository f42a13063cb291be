# demo/llm_server.py and demo/traffic.py (Python standard library, plus
# Debian's python3-requests / python3-httpx where installed).
# Included from tests/CMakeLists.txt: include(${CMAKE_CURRENT_SOURCE_DIR}/demo.cmake)
find_program(TOKENRING_PYTHON3 NAMES python3 PATHS /usr/bin NO_DEFAULT_PATH)
if(NOT TOKENRING_PYTHON3)
  find_program(TOKENRING_PYTHON3 NAMES python3)
endif()
if(TOKENRING_PYTHON3)
  foreach(suite llm_server llm_http clients)
    add_test(NAME demo_${suite}
      COMMAND ${TOKENRING_PYTHON3} -m unittest -v test_${suite}
      WORKING_DIRECTORY ${CMAKE_CURRENT_LIST_DIR}/demo)
    set_tests_properties(demo_${suite} PROPERTIES LABELS "integration" TIMEOUT 120)
  endforeach()
endif()

# The README's main command, minus install and build: the whole product on
# the real binaries; fails if any model's numbers differ from the client's.
if(TOKENRING_PYTHON3 AND TARGET tokenringd)
  add_test(NAME demo_end_to_end
    COMMAND ${PROJECT_SOURCE_DIR}/demo/run_demo.sh ${CMAKE_BINARY_DIR} --requests 80)
  set_tests_properties(demo_end_to_end PROPERTIES LABELS "integration" TIMEOUT 120)
endif()
