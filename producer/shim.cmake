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
  ${CMAKE_CURRENT_LIST_DIR}/fdtable.c
  ${CMAKE_CURRENT_LIST_DIR}/fdtable_opaque.c
  ${CMAKE_CURRENT_LIST_DIR}/fdtable_tls.c
  ${CMAKE_CURRENT_LIST_DIR}/dl_rebind.c
  ${CMAKE_CURRENT_LIST_DIR}/shim_cover.c
  ${PROJECT_SOURCE_DIR}/proto/tls_hello.c)
target_include_directories(tokenring_shim_core PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(tokenring_shim_core PUBLIC tokenring_identity tokenring_conn tokenring_shm
  PRIVATE tokenring_warnings)
set_target_properties(tokenring_shim_core PROPERTIES C_VISIBILITY_PRESET hidden)
target_compile_options(tokenring_shim_core PRIVATE -fno-plt
  -include ${CMAKE_CURRENT_LIST_DIR}/libc_compat.h)

add_library(tokenring SHARED
  ${CMAKE_CURRENT_LIST_DIR}/hooks_io.c
  ${CMAKE_CURRENT_LIST_DIR}/hooks_fd.c
  ${CMAKE_CURRENT_LIST_DIR}/hooks_dl.c
  ${CMAKE_CURRENT_LIST_DIR}/libc_compat.c)
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/hooks_dl.c PROPERTIES
  COMPILE_DEFINITIONS SHIM_DEFINES_DLOPEN)
target_link_libraries(tokenring PRIVATE tokenring_shim_core tokenring_warnings)
set_target_properties(tokenring PROPERTIES
  OUTPUT_NAME tokenring
  C_VISIBILITY_PRESET hidden
  LINK_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/libtokenring.map)
target_compile_options(tokenring PRIVATE -fno-plt
  -include ${CMAKE_CURRENT_LIST_DIR}/libc_compat.h)
# Installed where LD_PRELOAD=PREFIX/lib/libtokenring.so finds it (the
# container image's /opt/tokenring/lib; multiarch lib/ under /usr).
install(TARGETS tokenring LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
target_link_options(tokenring PRIVATE
  -Wl,--version-script=${CMAKE_CURRENT_LIST_DIR}/libtokenring.map
  -Wl,-z,now -Wl,-z,relro)
# Which C library: the two builds link differently (libc_compat.h says why).
include(CheckSymbolExists)
check_symbol_exists(__GLIBC__ features.h TOKENRING_GLIBC)
if(TOKENRING_GLIBC)
  # Every import resolved at link time; libdl.so.2 named as a dependency
  # so a glibc older than 2.34 finds the dl* calls' old versions there.
  target_link_options(tokenring PRIVATE -Wl,--no-undefined)
  target_link_libraries(tokenring PRIVATE
    -Wl,--push-state,--no-as-needed -l:libdl.so.2 -Wl,--pop-state)
else()
  # musl: no DT_NEEDED at all (musl's libc is always in the global scope;
  # a glibc loader given this build must not go looking for musl's
  # "libc.so"); libgcc only for __builtin_cpu_supports.
  target_link_options(tokenring PRIVATE -nodefaultlibs)
  set(CMAKE_C_STANDARD_LIBRARIES "-lgcc") # last on the line, after the archives
endif()
