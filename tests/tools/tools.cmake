# Test tools shared by integration tests (built whenever tests are;
# included from several test folders).
include_guard(GLOBAL)
add_executable(ring_capture ${CMAKE_CURRENT_LIST_DIR}/ring_capture.c)
target_link_libraries(ring_capture PRIVATE tokenring_shm tokenring_warnings PkgConfig::CJSON)
# Not a test: tests/tools/shim_overhead.c measures what the shim adds per
# call and per request when run with and without LD_PRELOAD.
add_executable(shim_overhead ${CMAKE_CURRENT_LIST_DIR}/shim_overhead.c)
target_link_libraries(shim_overhead PRIVATE tokenring_warnings Threads::Threads)
