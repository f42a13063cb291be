# libtokenring.so: the LD_PRELOAD shim. The interposition layer (this
# file's sources) + the HTTP/LLM parser (tokenring_parse, parse.cmake) +
# the ring (tokenring_shm), linked into one library that depends on libc
# alone and exports only the interposed calls (libtokenring.map).
# The identity rules as a unit-testable object of their own.
add_library(tokenring_identity STATIC ${CMAKE_CURRENT_LIST_DIR}/identity.c)
target_include_directories(tokenring_identity PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(tokenring_identity PRIVATE tokenring_warnings)

if(NOT TARGET tokenring_parse)
  message(STATUS "libtokenring: tokenring_parse not in this tree yet, shim not built")
  return()
endif()

add_library(tokenring SHARED
  ${CMAKE_CURRENT_LIST_DIR}/shim.c
  ${CMAKE_CURRENT_LIST_DIR}/shim_real.c
  ${CMAKE_CURRENT_LIST_DIR}/shim_ring.c
  ${CMAKE_CURRENT_LIST_DIR}/fdtable.c
  ${CMAKE_CURRENT_LIST_DIR}/identity.c
  ${CMAKE_CURRENT_LIST_DIR}/hooks_io.c
  ${CMAKE_CURRENT_LIST_DIR}/hooks_fd.c)
target_include_directories(tokenring PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(tokenring PRIVATE tokenring_parse tokenring_shm tokenring_warnings)
set_target_properties(tokenring PROPERTIES
  OUTPUT_NAME tokenring
  C_VISIBILITY_PRESET hidden
  LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/libtokenring.map)
target_compile_options(tokenring PRIVATE -O2 -fno-plt)
target_link_options(tokenring PRIVATE
  -Wl,--version-script=${CMAKE_CURRENT_LIST_DIR}/libtokenring.map
  -Wl,--no-undefined -Wl,-z,now -Wl,-z,relro)
