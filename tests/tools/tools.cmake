# Test tools shared by integration tests (built whenever tests are).
if(NOT TARGET ring_capture)
  add_executable(ring_capture ${CMAKE_CURRENT_LIST_DIR}/ring_capture.c)
  target_link_libraries(ring_capture PRIVATE tokenring_shm tokenring_warnings PkgConfig::CJSON)
endif()
# Not a test: tests/tools/shim_overhead.c measures what the shim adds per
# call and per request when run with and without LD_PRELOAD.
if(NOT TARGET shim_overhead)
  add_executable(shim_overhead ${CMAKE_CURRENT_LIST_DIR}/shim_overhead.c)
  target_link_libraries(shim_overhead PRIVATE tokenring_warnings Threads::Threads)
endif()
