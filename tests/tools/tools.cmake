# Test tools shared by integration tests (built whenever tests are).
if(NOT TARGET ring_capture)
  add_executable(ring_capture ${CMAKE_CURRENT_LIST_DIR}/ring_capture.c)
  target_link_libraries(ring_capture PRIVATE tokenring_shm tokenring_warnings PkgConfig::CJSON)
endif()
