# libtokenring.so: the LD_PRELOAD shim. The interposition layer (this
# file's sources) + the connection tracker (tokenring_conn, conn.cmake) over proto/ +
# the ring (tokenring_shm), linked into one library that depends on libc
# alone and exports only the interposed calls (libtokenring.map).
# The identity rules as a unit-testable object of their own.
add_library(tokenring_identity STATIC ${CMAKE_CURRENT_LIST_DIR}/identity.c)
target_include_directories(tokenring_identity PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(tokenring_identity PRIVATE tokenring_warnings)
set_target_properties(tokenring_identity PROPERTIES C_VISIBILITY_PRESET hidden)

# Everything but the exported hooks: linked into the library, and into the
# fd-table unit test (which calls it directly, without interposing).
add_library(tokenring_shim_core STATIC
  ${CMAKE_CURRENT_LIST_DIR}/shim.c
  ${CMAKE_CURRENT_LIST_DIR}/shim_real.c
  ${CMAKE_CURRENT_LIST_DIR}/shim_ring.c
  ${CMAKE_CURRENT_LIST_DIR}/fdtable.c)
target_include_directories(tokenring_shim_core PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(tokenring_shim_core PUBLIC tokenring_identity tokenring_conn tokenring_shm
  PRIVATE tokenring_warnings)
set_target_properties(tokenring_shim_core PROPERTIES C_VISIBILITY_PRESET hidden)
target_compile_options(tokenring_shim_core PRIVATE -fno-plt)

add_library(tokenring SHARED
  ${CMAKE_CURRENT_LIST_DIR}/hooks_io.c
  ${CMAKE_CURRENT_LIST_DIR}/hooks_fd.c)
target_link_libraries(tokenring PRIVATE tokenring_shim_core tokenring_warnings)
set_target_properties(tokenring PROPERTIES
  OUTPUT_NAME tokenring
  C_VISIBILITY_PRESET hidden
  LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/libtokenring.map)
target_compile_options(tokenring PRIVATE -fno-plt)
# Installed where LD_PRELOAD=PREFIX/lib/libtokenring.so finds it (the
# container image's /opt/tokenring/lib; multiarch lib/ under /usr).
install(TARGETS tokenring LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
target_link_options(tokenring PRIVATE
  -Wl,--version-script=${CMAKE_CURRENT_LIST_DIR}/libtokenring.map
  -Wl,--no-undefined -Wl,-z,now -Wl,-z,relro)
